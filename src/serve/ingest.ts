/**
 * Request bodies of the ingestion route, parsed into one series' samples: `timestamps` `[n]` and
 * `frames` `[n, channels]` row-major, in the model's channel order. Every check the Detector
 * makes on a write is made here first, with the same error codes (`ERR_BAD_SHAPE`,
 * `ERR_NON_FINITE`, `ERR_TIMESTAMP_ORDER`, `ERR_CSV_PARSE`) and the offending row in
 * `details.row`, so that a bad batch is refused whole (400) before anything of it is stored:
 * a batch is kept entirely or not at all.
 *
 * Three encodings (chosen by Content-Type):
 * - `application/json`: an array of rows, each `[timestamp, v1, ..., vC]` or
 *   `{ "timestamp": t, "values": [v1, ..., vC] }`.
 * - `text/csv`: a header `timestamp,<channel>,...` naming the model's channels (any order), then
 *   one row per sample; timestamps are numbers or dates (read by the CSV loader of `seismo detect`).
 * - `application/octet-stream`: little-endian, `n` float64 timestamps followed by `n * C` float32
 *   values (row-major); `n` is the body length divided by `8 + 4 C`. No header, no text to parse:
 *   the two parts are copied out of the body as bytes.
 */
import { SeismoError } from '../errors.js';
import { parseSeriesCsv } from '../ingest/csv.js';
import { alignChannels } from '../cli/detect.js';

/** One series' samples from a request body. */
export interface ParsedBatch {
  /** `[n]` strictly increasing. */
  timestamps: Float64Array;
  /** `[n, channels]` row-major, model channel order. */
  frames: Float32Array;
}

/** Series ids: what a URL path segment carries without escaping surprises, and a bounded length. */
const SERIES_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** @throws SeismoError `ERR_INVALID_OPTION` for an id outside `[A-Za-z0-9_.:-]{1,128}`. */
export function checkSeriesId(id: string): string {
  if (!SERIES_ID.test(id)) {
    throw new SeismoError('ERR_INVALID_OPTION', `series id '${id.slice(0, 140)}' must be 1-128 characters of A-Z a-z 0-9 _ . : -`, { seriesId: id.slice(0, 140) });
  }
  return id;
}

/**
 * Checks what `Detector.write` checks, before anything is stored: finite values, strictly
 * increasing timestamps, after `lastTimestamp` (the series' last accepted sample).
 */
export function checkBatch(batch: ParsedBatch, channelNames: readonly string[], lastTimestamp: number, seriesId: string): ParsedBatch {
  const C = channelNames.length;
  const n = batch.timestamps.length;
  if (n === 0) throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': the batch holds no samples`, { seriesId });
  if (batch.frames.length !== n * C) {
    throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': ${batch.frames.length} values for ${n} timestamps of ${C} channels`, { seriesId });
  }
  let last = lastTimestamp;
  for (let i = 0; i < n; i++) {
    const t = batch.timestamps[i]!;
    if (!Number.isFinite(t)) throw new SeismoError('ERR_NON_FINITE', `series '${seriesId}': timestamp of row ${i} is ${t}; nothing of this batch was stored`, { seriesId, row: i });
    if (!(t > last)) {
      throw new SeismoError('ERR_TIMESTAMP_ORDER', `series '${seriesId}': timestamp ${t} (row ${i}) is not after ${last}; nothing of this batch was stored`, { seriesId, row: i });
    }
    last = t;
  }
  const f = batch.frames;
  for (let i = 0; i < f.length; i++) {
    if (!Number.isFinite(f[i]!)) {
      const row = Math.floor(i / C);
      throw new SeismoError('ERR_NON_FINITE', `series '${seriesId}' row ${row}: channel '${channelNames[i % C]}' is ${f[i]}; nothing of this batch was stored`, { seriesId, row });
    }
  }
  return batch;
}

/** Parses a JSON body (already `JSON.parse`d by the server): rows as arrays or `{timestamp, values}` objects. */
export function parseJsonRows(body: unknown, channels: number): ParsedBatch {
  if (!Array.isArray(body)) {
    throw new SeismoError('ERR_BAD_SHAPE', 'a JSON batch is an array of rows: [timestamp, v1, ..., vC] or {"timestamp": t, "values": [...]}');
  }
  const n = body.length;
  const timestamps = new Float64Array(n);
  const frames = new Float32Array(n * channels);
  for (let r = 0; r < n; r++) {
    const row = body[r] as unknown;
    let t: unknown;
    let values: unknown[];
    let offset: number;
    if (Array.isArray(row)) {
      t = row[0];
      values = row;
      offset = 1;
    } else if (row !== null && typeof row === 'object' && Array.isArray((row as { values?: unknown }).values)) {
      t = (row as { timestamp?: unknown }).timestamp;
      values = (row as { values: unknown[] }).values;
      offset = 0;
    } else {
      throw new SeismoError('ERR_BAD_SHAPE', `row ${r} is neither [timestamp, v1, ..., vC] nor {"timestamp": t, "values": [...]}`, { row: r });
    }
    if (values.length - offset !== channels) {
      throw new SeismoError('ERR_BAD_SHAPE', `row ${r} has ${values.length - offset} values, the model takes ${channels}`, { row: r });
    }
    if (typeof t !== 'number') throw new SeismoError('ERR_BAD_SHAPE', `row ${r}: the timestamp must be a number (epoch ms by convention), got ${JSON.stringify(t)}`, { row: r });
    timestamps[r] = t;
    for (let c = 0; c < channels; c++) {
      const v = values[offset + c];
      // JSON has no NaN or Infinity: null (what JSON.stringify writes for them) is a missing value.
      if (typeof v !== 'number') throw new SeismoError('ERR_NON_FINITE', `row ${r}: value ${c} is ${JSON.stringify(v)}, not a finite number; clean or impute it before sending`, { row: r });
      frames[r * channels + c] = v;
    }
  }
  return { timestamps, frames };
}

/** Parses a CSV body with a header (`timestamp,<channels...>`), channels matched to the model's by name. */
export function parseCsvRows(text: string, channelNames: readonly string[]): ParsedBatch {
  const table = parseSeriesCsv(text, { source: 'request body' });
  return { timestamps: table.time, frames: alignChannels(table, channelNames) };
}

/** Parses a binary body: `n` float64 timestamps, then `n * channels` float32 values, little-endian. */
export function parseBinaryBatch(body: Buffer, channels: number): ParsedBatch {
  const rowBytes = 8 + 4 * channels;
  if (body.byteLength % rowBytes !== 0) {
    throw new SeismoError(
      'ERR_BAD_SHAPE',
      `a binary batch is n float64 timestamps then n*${channels} float32 values (${rowBytes} bytes a sample); ${body.byteLength} bytes is not a multiple of that`,
    );
  }
  const n = body.byteLength / rowBytes;
  const timestamps = new Float64Array(n);
  const frames = new Float32Array(n * channels);
  // Copied out of the request buffer (which Node may pool and reuse) into arrays the detector
  // can keep until its write completes; on little-endian hosts this is two memcpy-like loops.
  if (isLittleEndian) {
    new Uint8Array(timestamps.buffer).set(body.subarray(0, 8 * n));
    new Uint8Array(frames.buffer).set(body.subarray(8 * n));
  } else {
    for (let i = 0; i < n; i++) timestamps[i] = body.readDoubleLE(8 * i);
    for (let i = 0; i < n * channels; i++) frames[i] = body.readFloatLE(8 * n + 4 * i);
  }
  return { timestamps, frames };
}

const isLittleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Encodes samples the way {@link parseBinaryBatch} reads them (for clients written in TypeScript). */
export function encodeBinaryBatch(timestamps: ArrayLike<number>, frames: Float32Array): Buffer {
  const n = timestamps.length;
  const out = Buffer.allocUnsafe(8 * n + 4 * frames.length);
  for (let i = 0; i < n; i++) out.writeDoubleLE(timestamps[i]!, 8 * i);
  for (let i = 0; i < frames.length; i++) out.writeFloatLE(frames[i]!, 8 * n + 4 * i);
  return out;
}
