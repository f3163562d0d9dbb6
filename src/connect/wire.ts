/**
 * The entry format on the wire (see README "Scale-out"): what producers write into a partition
 * stream and what the consumer writes into the output stream. Field values are bytes, so the
 * binary form carries samples without a text round trip.
 *
 * Input entry: `series` (id, UTF-8) and either
 * - `t`: JSON array of numeric timestamps, `x`: JSON array of rows (one number per channel), or
 * - `t64`: float64 little-endian timestamps, `f32`: float32 little-endian values, row-major.
 *
 * Output entry (one per scored window): `src` (the input entry id that completed the window),
 * `series`, `t` (the window's last timestamp), `score`, `threshold`, `anomaly` (0/1), and `nscore`
 * (the normalised score) when the consumer normalises.
 */
import { SeismoError } from '../errors.js';

/** One decoded input entry: samples of one series. */
export interface SeriesBatch {
  seriesId: string;
  /** `[n]` timestamps, strictly increasing. */
  timestamps: Float64Array;
  /** `[n, channels]` row-major. */
  frames: Float32Array;
}

/** Field values as a broker returns them: a flat `[name, value, name, value, ...]` list. */
export type RawFields = readonly (Buffer | string)[];

const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function bad(message: string, details: Record<string, unknown> = {}): never {
  throw new SeismoError('ERR_BAD_ENTRY', message, details);
}

function text(v: Buffer | string): string {
  return typeof v === 'string' ? v : v.toString('utf8');
}

function bytes(v: Buffer | string): Buffer {
  return typeof v === 'string' ? Buffer.from(v, 'latin1') : v;
}

/**
 * Decodes one input entry for a model of `channels` channels.
 * @throws SeismoError `ERR_BAD_ENTRY` (missing or unparseable fields), `ERR_BAD_SHAPE` (rows of the
 *   wrong width, lengths that disagree), `ERR_NON_FINITE` (NaN, ±Infinity or null values or
 *   timestamps), `ERR_TIMESTAMP_ORDER` (timestamps not strictly increasing within the entry).
 */
export function decodeEntry(fields: RawFields, channels: number): SeriesBatch {
  let series: string | undefined;
  let t: Buffer | string | undefined;
  let x: Buffer | string | undefined;
  let t64: Buffer | string | undefined;
  let f32: Buffer | string | undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) {
    switch (text(fields[i]!)) {
      case 'series':
        series = text(fields[i + 1]!);
        break;
      case 't':
        t = fields[i + 1];
        break;
      case 'x':
        x = fields[i + 1];
        break;
      case 't64':
        t64 = fields[i + 1];
        break;
      case 'f32':
        f32 = fields[i + 1];
        break;
      default:
      // Unknown fields are the producer's business (trace ids, ...): ignored.
    }
  }
  if (!series) bad('entry has no `series` field');
  let batch: SeriesBatch;
  if (t64 !== undefined || f32 !== undefined) {
    if (t64 === undefined || f32 === undefined) bad(`series '${series}': binary entries need both \`t64\` and \`f32\``, { seriesId: series });
    batch = decodeBinary(series, bytes(t64), bytes(f32), channels);
  } else {
    if (t === undefined || x === undefined) bad(`series '${series}': entry needs \`t\` and \`x\` (JSON) or \`t64\` and \`f32\` (binary)`, { seriesId: series });
    batch = decodeJson(series, text(t), text(x), channels);
  }
  checkBatch(batch, channels);
  return batch;
}

function decodeJson(seriesId: string, tText: string, xText: string, channels: number): SeriesBatch {
  let tJson: unknown;
  let xJson: unknown;
  try {
    tJson = JSON.parse(tText);
    xJson = JSON.parse(xText);
  } catch (err) {
    bad(`series '${seriesId}': \`t\`/\`x\` are not JSON (${(err as Error).message})`, { seriesId });
  }
  if (!Array.isArray(tJson) || !Array.isArray(xJson)) bad(`series '${seriesId}': \`t\` and \`x\` must be JSON arrays`, { seriesId });
  const n = tJson.length;
  if (xJson.length !== n) {
    throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': ${n} timestamps but ${xJson.length} rows`, { seriesId });
  }
  const timestamps = new Float64Array(n);
  const frames = new Float32Array(n * channels);
  for (let i = 0; i < n; i++) {
    const ts = tJson[i];
    // null stands for a missing value in JSON (which has no NaN): checked as non-finite below.
    timestamps[i] = typeof ts === 'number' ? ts : ts === null ? NaN : bad(`series '${seriesId}': timestamp ${i} is not a number`, { seriesId, row: i });
    const row = xJson[i];
    if (!Array.isArray(row)) bad(`series '${seriesId}': row ${i} of \`x\` is not an array`, { seriesId, row: i });
    if (row.length !== channels) {
      throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': row ${i} has ${row.length} values, the model takes ${channels}`, { seriesId, row: i });
    }
    for (let c = 0; c < channels; c++) {
      const v = row[c];
      frames[i * channels + c] = typeof v === 'number' ? v : v === null ? NaN : bad(`series '${seriesId}': row ${i} holds a non-number`, { seriesId, row: i });
    }
  }
  return { seriesId, timestamps, frames };
}

function decodeBinary(seriesId: string, t64: Buffer, f32: Buffer, channels: number): SeriesBatch {
  if (t64.length % 8 !== 0) bad(`series '${seriesId}': \`t64\` has ${t64.length} bytes, not a multiple of 8`, { seriesId });
  const n = t64.length / 8;
  if (f32.length !== n * channels * 4) {
    throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': \`f32\` has ${f32.length} bytes; ${n} rows of ${channels} float32 need ${n * channels * 4}`, { seriesId });
  }
  // Copy into aligned arrays: a Buffer from a socket may start at any byte offset.
  const timestamps = new Float64Array(n);
  const frames = new Float32Array(n * channels);
  if (LITTLE_ENDIAN) {
    t64.copy(new Uint8Array(timestamps.buffer));
    f32.copy(new Uint8Array(frames.buffer));
  } else {
    for (let i = 0; i < n; i++) timestamps[i] = t64.readDoubleLE(i * 8);
    for (let i = 0; i < frames.length; i++) frames[i] = f32.readFloatLE(i * 4);
  }
  return { seriesId, timestamps, frames };
}

function checkBatch(b: SeriesBatch, channels: number): void {
  const n = b.timestamps.length;
  if (n === 0) bad(`series '${b.seriesId}': entry holds no samples`, { seriesId: b.seriesId });
  for (let i = 0; i < n; i++) {
    const ts = b.timestamps[i]!;
    if (!Number.isFinite(ts)) throw new SeismoError('ERR_NON_FINITE', `series '${b.seriesId}': timestamp of row ${i} is ${ts}`, { seriesId: b.seriesId, row: i });
    if (i > 0 && !(ts > b.timestamps[i - 1]!)) {
      throw new SeismoError('ERR_TIMESTAMP_ORDER', `series '${b.seriesId}': timestamp ${ts} (row ${i}) is not after ${b.timestamps[i - 1]}`, { seriesId: b.seriesId, row: i });
    }
  }
  for (let i = 0; i < b.frames.length; i++) {
    if (!Number.isFinite(b.frames[i]!)) {
      const row = Math.floor(i / channels);
      throw new SeismoError('ERR_NON_FINITE', `series '${b.seriesId}' at ${b.timestamps[row]}: channel ${i % channels} is ${b.frames[i]}; clean or impute it before producing`, { seriesId: b.seriesId, row });
    }
  }
}

/** Encodes samples as input entry fields. `binary` (default true) writes `t64`/`f32`, else `t`/`x` JSON. */
export function encodeEntry(seriesId: string, timestamps: ArrayLike<number>, frames: ArrayLike<number>, channels: number, binary = true): (string | Buffer)[] {
  const n = timestamps.length;
  if (frames.length !== n * channels) {
    throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': ${frames.length} values for ${n} timestamps of ${channels} channels`, { seriesId });
  }
  if (binary) {
    const t = Float64Array.from(timestamps);
    const x = frames instanceof Float32Array ? frames : Float32Array.from(frames);
    if (!LITTLE_ENDIAN) throw new SeismoError('ERR_INVALID_OPTION', 'binary entries are little-endian; use JSON entries on this machine');
    return ['series', seriesId, 't64', Buffer.from(t.buffer, t.byteOffset, t.byteLength), 'f32', Buffer.from(x.buffer, x.byteOffset, x.byteLength)];
  }
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push(Array.from({ length: channels }, (_, c) => frames[i * channels + c]!));
  return ['series', seriesId, 't', JSON.stringify(Array.from(timestamps)), 'x', JSON.stringify(rows)];
}

/** One output entry: a scored window. */
export interface WindowResult {
  /** The input entry id that completed the window. */
  src: string;
  seriesId: string;
  /** The window's last timestamp. */
  timestamp: number;
  score: number;
  threshold: number;
  anomaly: boolean;
  /** The normalised score in [0, 1], when the consumer normalises (NaN otherwise). */
  normalized: number;
}

/** Output entry fields as strings. Numbers are written at full precision (a float32 score round-trips exactly). */
export function resultFields(r: WindowResult): string[] {
  const f = ['src', r.src, 'series', r.seriesId, 't', String(r.timestamp), 'score', String(r.score), 'threshold', String(r.threshold), 'anomaly', r.anomaly ? '1' : '0'];
  if (!Number.isNaN(r.normalized)) f.push('nscore', String(r.normalized));
  return f;
}

/** Parses output entry fields (for consumers of the output stream, and tests). */
export function parseResult(fields: RawFields): WindowResult {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < fields.length; i += 2) m.set(text(fields[i]!), text(fields[i + 1]!));
  return {
    src: m.get('src') ?? '',
    seriesId: m.get('series') ?? '',
    timestamp: Number(m.get('t')),
    score: Number(m.get('score')),
    threshold: Number(m.get('threshold')),
    anomaly: m.get('anomaly') === '1',
    normalized: m.has('nscore') ? Number(m.get('nscore')) : NaN,
  };
}
