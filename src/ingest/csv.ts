/**
 * CSV ingest in the DC-VAE convention: a header line, the timestamp in the first column, one
 * numeric column per channel. Parsing streams (papaparse chunk mode over a read stream) into
 * growing typed arrays, so a large file never exists as an array of row objects. Every problem is
 * a {@link SeismoError} that names the file, the 1-based line and the 1-based column.
 */
import { open } from 'node:fs/promises';
import { fileError, SeismoError } from '../errors.js';
import { parseFile, parseText, READ_CHUNK_BYTES } from './csv-read.js';
import type { ReadSeriesOptions, SeriesTable } from './csv-table.js';

// CSV reading is done in parts (`csv-cells.ts` cells, `csv-table.ts` the table and its checks,
// `csv-read.ts` text and streams); this file is the way in for everything outside them.
export { listClipped, parseTimestampMs, quoteClipped } from './csv-cells.js';
export { checkReadable, readError, streamCsvRows } from './csv-read.js';
export type { ReadSeriesOptions, SeriesTable } from './csv-table.js';

/** Labels read from a CSV file with columns `timestamp,label[,<channel>...]`. */
export interface LabelTable {
  /** Timestamps exactly as written in the file. */
  timestamps: string[];
  /** Parsed timestamps, same rules as {@link SeriesTable.time}. */
  time: Float64Array;
  /** The `label` column: 1 = anomalous, 0 = normal. Length = number of rows. */
  label: Uint8Array;
  /** Every other column after the timestamp, in file order: per-channel 0/1 labels. */
  channelLabels: { name: string; values: Uint8Array }[];
}

/**
 * Parses CSV text already in memory (DC-VAE convention) into a {@link SeriesTable}.
 *
 * @param text the whole file's contents.
 * @param options `source` names the text in error messages (default `'<csv>'`).
 * @throws SeismoError ERR_CSV_PARSE (missing header, < 2 columns, ragged row, empty or
 *   non-numeric cell, unparseable timestamp), ERR_NON_FINITE (NaN/Infinity with
 *   `nonFinite: 'error'`), ERR_TIMESTAMP_ORDER (a timestamp not after the previous one).
 */
export function parseSeriesCsv(text: string, options: ReadSeriesOptions & { source?: string } = {}): SeriesTable {
  return parseText(text, options.source ?? '<csv>', 'series', options);
}

/**
 * Reads a CSV file (DC-VAE convention: header, timestamp first, one numeric column per channel)
 * by streaming it through papaparse into growing typed arrays.
 *
 * @param path file to read (UTF-8).
 * @returns the table; `frames` is row-major `[length, channels.length]` float32.
 * @throws SeismoError ERR_CSV_PARSE (also for a missing or unreadable file), ERR_NON_FINITE,
 *   ERR_TIMESTAMP_ORDER; see {@link parseSeriesCsv}.
 */
export function readSeriesCsv(path: string, options: ReadSeriesOptions = {}): Promise<SeriesTable> {
  return parseFile(path, 'series', options);
}

/**
 * Reads a labels file: header `timestamp,label` and optionally more 0/1 columns, one per channel
 * (named like the series' channels). Cells must be exactly 0 or 1 (`1.0` is accepted).
 *
 * @throws SeismoError ERR_CSV_PARSE (no `label` column, a cell other than 0/1, and every
 *   {@link readSeriesCsv} error), ERR_TIMESTAMP_ORDER.
 */
export async function readLabelsCsv(path: string): Promise<LabelTable> {
  return toLabelTable(await parseFile(path, 'labels', {}));
}

/** In-memory twin of {@link readLabelsCsv}, for tests and labels that did not come from a file. */
export function parseLabelsCsv(text: string, options: { source?: string; delimiter?: string } = {}): LabelTable {
  return toLabelTable(parseText(text, options.source ?? '<labels csv>', 'labels', options));
}

function toLabelTable(t: SeriesTable): LabelTable {
  const cols = t.channels.length;
  const columns = t.channels.map((name, c) => {
    const values = new Uint8Array(t.length);
    for (let r = 0; r < t.length; r++) values[r] = t.frames[r * cols + c]!;
    return { name, values };
  });
  const labelIdx = t.channels.indexOf('label');
  return {
    timestamps: t.timestamps,
    time: t.time,
    label: columns[labelIdx]!.values,
    channelLabels: columns.filter((_, i) => i !== labelIdx),
  };
}

/**
 * Per-row labels for a series: a join of both tables on the parsed time (so
 * `2024-01-01 00:00:00` matches `2024-01-01T00:00:00Z`). A series row with no label row gets 0
 * (labels files often list only the anomalous stretch or end early); label rows at times the
 * series does not have are ignored. Series rows that share a time (read with
 * `timestampOrder: 'nondecreasing' | 'any'`) all get that time's label.
 *
 * @returns Uint8Array of length `series.length`, 1 = anomalous.
 * @throws SeismoError ERR_EVAL when the labels have rows but none of them matches a series row:
 *   that is a mismatch of files or time zones, not "no anomalies", and an all-zero result would
 *   hide it.
 */
export function alignLabels(series: SeriesTable, labels: LabelTable): Uint8Array {
  // A hash join rather than a merge: series read with timestampOrder 'any' need not be sorted.
  const byTime = new Map<number, number>();
  for (let j = 0; j < labels.time.length; j++) byTime.set(labels.time[j]!, labels.label[j]!);
  const out = new Uint8Array(series.length);
  let matched = 0;
  for (let i = 0; i < series.length; i++) {
    const v = byTime.get(series.time[i]!);
    if (v !== undefined) {
      out[i] = v;
      matched++;
    }
  }
  if (matched === 0 && labels.time.length > 0 && series.length > 0) {
    throw new SeismoError('ERR_EVAL',
      `no label timestamp matches a series timestamp (series starts at "${series.timestamps[0]}", labels at "${labels.timestamps[0]}"); check the files and their time zones`,
      { seriesStart: series.timestamps[0], labelsStart: labels.timestamps[0] });
  }
  return out;
}

/**
 * Writes a table as CSV (DC-VAE convention). Values are written with at most 9 significant digits, chosen to
 * read back to the same float32, so write-then-read is lossless; NaN and ±Infinity are written
 * `NaN` / `Infinity` / `-Infinity` (read them back with `nonFinite: 'keep'`).
 *
 * @throws SeismoError ERR_BAD_SHAPE when `frames`, `timestamps` and `length` disagree;
 *   ERR_CSV_PARSE when the file cannot be written (message names the path).
 */
export async function writeSeriesCsv(path: string, table: SeriesTable): Promise<void> {
  const { length, channels, frames, timestamps } = table;
  const cols = channels.length;
  if (cols < 1) throw new SeismoError('ERR_BAD_SHAPE', `cannot write ${path}: the table has no channels`, { file: path });
  if (timestamps.length !== length || frames.length !== length * cols) {
    throw new SeismoError('ERR_BAD_SHAPE',
      `cannot write ${path}: length ${length}, ${timestamps.length} timestamps and ${frames.length} values do not fit [length, ${cols} channels]`,
      { file: path, length, timestamps: timestamps.length, values: frames.length, channels: cols });
  }
  let handle;
  try {
    handle = await open(path, 'w');
  } catch (err) {
    throw fileError(path, err, 'write');
  }
  try {
    let buf = ['timestamp', ...channels].map(csvField).join(',') + '\n';
    for (let r = 0; r < length; r++) {
      let line = csvField(timestamps[r]!);
      const base = r * cols;
      for (let c = 0; c < cols; c++) line += ',' + formatFloat32(frames[base + c]!);
      buf += line + '\n';
      // Flush in ~1 MB pieces: bounded memory for long tables, few syscalls.
      if (buf.length >= READ_CHUNK_BYTES) {
        await handle.write(buf);
        buf = '';
      }
    }
    if (buf.length > 0) await handle.write(buf);
  } catch (err) {
    throw fileError(path, err, 'write');
  } finally {
    await handle.close();
  }
}

/**
 * A short decimal that reads back (through Math.fround) to exactly the same float32: at most 9
 * significant digits, trailing zeros dropped (`0.1`, not `0.100000001`).
 */
export function formatFloat32(v: number): string {
  if (!Number.isFinite(v)) return v !== v ? 'NaN' : v > 0 ? 'Infinity' : '-Infinity';
  if (Number.isInteger(v) && Math.abs(v) < 2 ** 24) return String(v);
  // Start at 6 digits (float32 guarantees 6 round-trip the other way) rather than 1: each try is a
  // toPrecision call, and starting low made writing 5x slower. Number() then String() drops the
  // padding zeros, so values with fewer digits still come out short.
  for (let p = 6; p < 9; p++) {
    const s = Number(v.toPrecision(p));
    if (Math.fround(s) === v) return String(s);
  }
  // 9 significant digits always round-trip a float32.
  return String(Number(v.toPrecision(9)));
}

function csvField(s: string): string {
  return /[",\r\n]/.test(s) ? '"' + s.replace(/"/g, '""') + '"' : s;
}
