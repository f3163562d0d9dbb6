/**
 * CSV ingest in the DC-VAE convention: a header line, the timestamp in the first column, one
 * numeric column per channel. Parsing streams (papaparse chunk mode over a read stream) into
 * growing typed arrays, so a large file never exists as an array of row objects. Every problem is
 * a {@link SeismoError} that names the file, the 1-based line and the 1-based column.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';
import { open, stat } from 'node:fs/promises';
import Papa from 'papaparse';
import { fileError, SeismoError } from '../errors.js';

/** A multichannel series as read from (or written to) a CSV file. */
export interface SeriesTable {
  /** Timestamps exactly as written in the file (echoed back in outputs). */
  timestamps: string[];
  /**
   * Timestamps as numbers: epoch milliseconds for dates (ISO-8601 or 'YYYY-MM-DD HH:MM:SS'), the
   * value itself for numeric timestamps. Dates without a zone designator are read as UTC, so the
   * numbers do not depend on the machine's time zone.
   */
  time: Float64Array;
  /** Channel names from the header, in column order. */
  channels: string[];
  /** Values, row-major [length, channels.length]. */
  frames: Float32Array;
  /** Number of rows (time steps). */
  length: number;
}

/** Options for {@link readSeriesCsv} and {@link parseSeriesCsv}. */
export interface ReadSeriesOptions {
  /**
   * What to do with NaN and ±Infinity cells (written `NaN`, `nan`, `Infinity`, `-inf`, ..., or a
   * number outside the float32 range): `'error'` throws ERR_NON_FINITE naming line and column;
   * `'keep'` stores them as NaN / ±Infinity for a later stage to impute. Empty cells are always
   * an ERR_CSV_PARSE error: they are more often a broken export than a deliberate gap.
   * Default `'error'`.
   */
  nonFinite?: 'error' | 'keep';
  /** Field delimiter. Default `','`. */
  delimiter?: string;
  /**
   * How timestamps must progress: `'strict'` (each after the previous; a repeat or a step back is
   * ERR_TIMESTAMP_ORDER), `'nondecreasing'` (repeats allowed), or `'any'` (rows kept in file
   * order whatever their times, for benchmark files whose rows are the ground truth, e.g. NAB
   * files with daylight-saving repeats). Default `'strict'`.
   */
  timestampOrder?: 'strict' | 'nondecreasing' | 'any';
}

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

/** Spellings of non-finite values that common writers (pandas, numpy, R, JS) produce. */
const NON_FINITE_WORDS = new Map<string, number>([
  ['nan', NaN], ['+nan', NaN], ['-nan', NaN], ['na', NaN], ['n/a', NaN], ['null', NaN],
  ['inf', Infinity], ['+inf', Infinity], ['infinity', Infinity], ['+infinity', Infinity],
  ['-inf', -Infinity], ['-infinity', -Infinity],
]);

const FLOAT32_MAX = 3.4028234663852886e38;

/** Read chunk size for files: large enough that papaparse's per-chunk overhead vanishes. */
const READ_CHUNK_BYTES = 1 << 20;

/** Longest piece of a cell or name quoted in an error message, in characters. */
const QUOTE_MAX = 64;

/**
 * A cell or name quoted for an error message, cut to {@link QUOTE_MAX} characters with its full
 * length said: a message must stay readable (and small) whatever the file holds, e.g. a 600 MB
 * line of one cell.
 */
export function quoteClipped(text: string): string {
  return text.length <= QUOTE_MAX ? JSON.stringify(text) : `${JSON.stringify(text.slice(0, QUOTE_MAX))}... (${text.length} characters)`;
}

/** The first few of `names`, quoted and clipped, then how many more: bounded whatever the count. */
export function listClipped(names: readonly string[], first = 5): string {
  const shown = names.slice(0, first).map(quoteClipped).join(', ');
  return names.length > first ? `${shown} and ${names.length - first} more` : shown;
}

/** How one table's cells are checked: numbers for series, 0/1 for label files. */
type CellKind = 'series' | 'labels';

/**
 * Parses a timestamp string to epoch milliseconds: `YYYY-MM-DD`, `YYYY-MM-DD[T ]HH:MM`,
 * `...:SS`, `...:SS.fff` (any number of fraction digits), optionally followed by `Z` or an offset
 * `±HH:MM` / `±HHMM` / `±HH`. Without a zone the time is read as UTC. Returns NaN when the string
 * is not such a date or names an impossible one (month 13, 31 April, hour 24).
 */
export function parseTimestampMs(text: string): number {
  // Fast path for the common fixed layout 'YYYY-MM-DD HH:MM:SS' (or with 'T'): consecutive rows
  // share the date, so reuse the day's epoch and read only the clock digits. Date.UTC and the
  // regex cost more per row than everything else in a timestamp column.
  if (text.length === 19 && dayCacheKey.length === 10 && text.startsWith(dayCacheKey)) {
    const sep = text.charCodeAt(10);
    if ((sep === 32 || sep === 84) && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
      const hour = twoDigits(text, 11);
      const minute = twoDigits(text, 14);
      const second = twoDigits(text, 17);
      // NaN (a non-digit) fails these comparisons too, as the slow path would.
      return hour <= 23 && minute <= 59 && second <= 59 ? dayCacheMs + ((hour * 60 + minute) * 60 + second) * 1000 : NaN;
    }
  }
  const ms = parseTimestampSlow(text);
  if (ms === ms && text.length === 19 && text.charCodeAt(13) === 58 && text.charCodeAt(16) === 58) {
    const year = +text.slice(0, 4);
    if (year >= 100) {
      dayCacheKey = text.slice(0, 10);
      dayCacheMs = Date.UTC(year, +text.slice(5, 7) - 1, +text.slice(8, 10));
    }
  }
  return ms;
}

/** Date prefix ('YYYY-MM-DD') of the last 19-character timestamp parsed, and its UTC midnight. */
let dayCacheKey = '';
let dayCacheMs = 0;

/** Two ASCII digits at `i` as a number, NaN if either is not a digit. */
function twoDigits(s: string, i: number): number {
  const a = s.charCodeAt(i) - 48;
  const b = s.charCodeAt(i + 1) - 48;
  return a >= 0 && a <= 9 && b >= 0 && b <= 9 ? a * 10 + b : NaN;
}

function parseTimestampSlow(text: string): number {
  const m = DATE_RE.exec(text);
  if (m === null) return NaN;
  const year = +m[1]!;
  const month = +m[2]!;
  const day = +m[3]!;
  const hour = m[4] === undefined ? 0 : +m[4];
  const minute = m[5] === undefined ? 0 : +m[5];
  const second = m[6] === undefined ? 0 : +m[6];
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month)) return NaN;
  if (hour > 23 || minute > 59 || second > 59) return NaN;
  let ms = Date.UTC(year, month - 1, day, hour, minute, second);
  // Date.UTC maps years 0..99 to 1900..1999; a four-digit year in a file means what it says.
  if (year < 100) ms = new Date(ms).setUTCFullYear(year);
  if (m[7] !== undefined) ms += +('0.' + m[7]) * 1000;
  const zone = m[8];
  if (zone !== undefined && zone !== 'Z' && zone !== 'z') {
    const sign = zone.charCodeAt(0) === 45 ? -1 : 1;
    const digits = zone.slice(1).replace(':', '');
    const offH = +digits.slice(0, 2);
    const offM = digits.length > 2 ? +digits.slice(2) : 0;
    if (offH > 23 || offM > 59) return NaN;
    ms -= sign * (offH * 60 + offM) * 60_000;
  }
  return ms;
}

const DATE_RE =
  /^\s*(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?\s*$/;

function daysInMonth(year: number, month: number): number {
  if (month === 2) return (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0 ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/**
 * Strict number parse for one cell. `+cell` alone would accept `''` and `'  '` as 0 and `'0x1f'`
 * as 31; those are rejected here. Returns the number (possibly NaN/±Infinity for the recognised
 * non-finite spellings) or `undefined` when the cell is not a number at all.
 */
function parseNumberCell(cell: string): number | undefined {
  const v = +cell;
  if (v !== v) return NON_FINITE_WORDS.get(cell.trim().toLowerCase());
  if (v === 0 && cell.trim().length === 0) return undefined;
  // Hex/octal/binary literals: Number() takes them, a data file never means them.
  if (cell.length > 1 && cell.charCodeAt(0) === 48) {
    const c1 = cell.charCodeAt(1) | 32;
    if (c1 === 120 || c1 === 111 || c1 === 98) return undefined;
  }
  return v;
}

const POW10 = Array.from({ length: 23 }, (_, i) => 10 ** i);

/**
 * Fast path for the cells nearly every file consists of: `-?digits[.digits]` with at most 15
 * significant digits. The digits form an integer below 2^53 and 10^k (k <= 22) is exact, so one
 * IEEE division gives the correctly rounded double, identical to `Number(cell)`, at a fraction of
 * its cost. Returns NaN for anything else (exponents, spaces, words), which the caller hands to
 * the strict slow path. Leading zeros are fine here ("007" is 7; hex needs an 'x').
 */
function parseSimpleDecimal(s: string): number {
  const n = s.length;
  let i = 0;
  let neg = false;
  if (n > 0 && s.charCodeAt(0) === 45) {
    neg = true;
    i = 1;
  }
  let mant = 0;
  let digits = 0;
  let scale = -1;
  for (; i < n; i++) {
    const d = s.charCodeAt(i) - 48;
    if (d >= 0 && d <= 9) {
      mant = mant * 10 + d;
      if (mant !== 0) digits++;
      if (scale >= 0) scale++;
    } else if (d === -2 && scale < 0) {
      scale = 0;
    } else {
      return NaN;
    }
  }
  // Needs at least one digit; "-" or "." alone fall through to the slow path's error.
  if (digits > 15 || scale > 22 || n - (neg ? 1 : 0) - (scale >= 0 ? 1 : 0) === 0) return NaN;
  const v = scale > 0 ? mant / POW10[scale]! : mant;
  return neg ? -v : v;
}

/** Builds a table row by row from papaparse's chunks; tracks line numbers for messages. */
class TableBuilder {
  private header: string[] | null = null;
  /** 1-based line number of the last row consumed. */
  private line = 0;
  private width = 0;
  private channelCount = 0;
  private capacity = 0;
  private rows = 0;
  private timestamps: string[] = [];
  private time = new Float64Array(0);
  private frames = new Float32Array(0);
  /** Decided from the first data row: numeric timestamps or dates; then enforced on every row. */
  private timeKind: 'number' | 'date' | undefined;
  private prevTime = -Infinity;
  private prevLine = 0;

  constructor(
    private readonly source: string,
    private readonly kind: CellKind,
    private readonly keepNonFinite: boolean,
    private readonly order: 'strict' | 'nondecreasing' | 'any' = 'strict',
  ) {}

  /** Consumes one papaparse chunk of rows (arrays of cell strings). */
  push(data: string[][]): void {
    for (let r = 0; r < data.length; r++) {
      const row = data[r]!;
      this.line++;
      // A blank line parses as one empty cell; skip it but keep counting lines so that later
      // messages still point at the right line. (A quoted cell spanning lines would shift the
      // count; time-series exports do not write those.)
      if (row.length === 1 && row[0]!.trim() === '') continue;
      if (this.header === null) this.setHeader(row);
      else this.addRow(row);
    }
  }

  private fail(code: 'ERR_CSV_PARSE' | 'ERR_NON_FINITE' | 'ERR_TIMESTAMP_ORDER', column: number | undefined, what: string, value?: string): never {
    const colName = column === undefined ? undefined : column === 1 ? (this.header?.[0] ?? 'timestamp') : this.header?.[column - 1];
    const where = column === undefined
      ? `${this.source} line ${this.line}`
      : `${this.source} line ${this.line}, column ${column}${colName !== undefined ? ` (${quoteClipped(colName)})` : ''}`;
    // Details are kept as small as the message: a cell can be megabytes long.
    const clip = (t: string | undefined): string | undefined => (t !== undefined && t.length > QUOTE_MAX * 4 ? t.slice(0, QUOTE_MAX * 4) : t);
    throw new SeismoError(code, `${where}: ${what}`, {
      file: this.source, line: this.line, column, columnName: clip(colName), value: clip(value),
    });
  }

  private setHeader(row: string[]): void {
    const names = row.map((c, i) => (i === 0 ? c.replace(/^\uFEFF/, '') : c).trim());
    if (names.length < 2) {
      this.fail('ERR_CSV_PARSE', undefined, `expected a header with a timestamp column and at least one ${this.kind === 'labels' ? 'label' : 'channel'} column, found ${names.length}`);
    }
    // A first line made only of numbers is data: the header is missing, and taking the numbers
    // as channel names would silently drop the first sample. Only when the first cell also reads
    // as a timestamp: "time,0,1" is a header with numbered channels.
    const looksLikeStamp = (s: string): boolean => {
      const v = parseNumberCell(s);
      return (v !== undefined && Number.isFinite(v)) || !Number.isNaN(parseTimestampMs(s));
    };
    if (looksLikeStamp(names[0]!) && names.slice(1).every((n) => { const v = parseNumberCell(n); return v !== undefined && Number.isFinite(v); })) {
      this.fail('ERR_CSV_PARSE', undefined, `missing header: the first line holds numbers (${row.slice(0, 3).map(quoteClipped).join(',')}...), expected column names such as "timestamp,value"`);
    }
    const seen = new Map<string, number>();
    for (let i = 0; i < names.length; i++) {
      const name = names[i]!;
      if (i > 0 && name === '') this.fail('ERR_CSV_PARSE', i + 1, 'empty column name in the header');
      const first = seen.get(name);
      if (first !== undefined) this.fail('ERR_CSV_PARSE', i + 1, `duplicate column name ${quoteClipped(name)} (also column ${first})`);
      seen.set(name, i + 1);
    }
    if (this.kind === 'labels' && !names.slice(1).includes('label')) {
      this.fail('ERR_CSV_PARSE', undefined, `a labels file needs a "label" column after the timestamp; the header has ${names.length} columns: ${listClipped(names)}`);
    }
    this.header = names;
    this.width = names.length;
    this.channelCount = names.length - 1;
    this.grow(1024);
  }

  private grow(minRows: number): void {
    const cap = Math.max(this.capacity * 2, minRows);
    const time = new Float64Array(cap);
    time.set(this.time.subarray(0, this.rows));
    const frames = new Float32Array(cap * this.channelCount);
    frames.set(this.frames.subarray(0, this.rows * this.channelCount));
    this.time = time;
    this.frames = frames;
    this.capacity = cap;
  }

  private addRow(row: string[]): void {
    if (row.length !== this.width) {
      // Name the first column that is missing or extra, so the message points somewhere.
      const col = Math.min(row.length, this.width) + 1;
      this.fail('ERR_CSV_PARSE', undefined, `column ${col}: expected ${this.width} columns as in the header, found ${row.length} (${row.length > this.width ? 'extra cells' : 'missing cells'})`);
    }
    if (this.rows === this.capacity) this.grow(this.rows + 1);

    const stamp = row[0]!;
    let t: number;
    if (this.timeKind === undefined) {
      const n = parseNumberCell(stamp);
      this.timeKind = n !== undefined && Number.isFinite(n) ? 'number' : 'date';
    }
    if (this.timeKind === 'number') {
      const n = parseNumberCell(stamp);
      if (n === undefined || !Number.isFinite(n)) {
        this.fail('ERR_CSV_PARSE', 1, `timestamp ${quoteClipped(stamp)} is not a finite number like the earlier numeric timestamps`, stamp);
      }
      t = n;
    } else {
      t = parseTimestampMs(stamp);
      if (t !== t) {
        this.fail('ERR_CSV_PARSE', 1, `cannot parse timestamp ${quoteClipped(stamp)}: expected ISO-8601 (2024-01-31T12:00:00Z), 'YYYY-MM-DD HH:MM:SS' or a number`, stamp);
      }
    }
    if (t <= this.prevTime && this.order !== 'any' && (t < this.prevTime || this.order === 'strict')) {
      this.fail('ERR_TIMESTAMP_ORDER', 1, `timestamp ${quoteClipped(stamp)} ${t === this.prevTime ? 'repeats' : 'goes backwards from'} the timestamp on line ${this.prevLine} (${quoteClipped(this.timestamps[this.rows - 1]!)}); timestamps must ${this.order === 'strict' ? 'strictly increase' : 'not decrease'} (see the timestampOrder option)`, stamp);
    }

    const base = this.rows * this.channelCount;
    const frames = this.frames;
    for (let c = 1; c < this.width; c++) {
      const cell = row[c]!;
      let v = parseSimpleDecimal(cell);
      if (v !== v) v = this.slowCell(cell, c + 1);
      if (this.kind === 'labels' && v !== 0 && v !== 1) {
        this.fail('ERR_CSV_PARSE', c + 1, `label must be 0 or 1, found ${quoteClipped(cell)}`, cell);
      }
      frames[base + c - 1] = v;
    }
    this.timestamps.push(stamp);
    this.time[this.rows] = t;
    this.prevTime = t;
    this.prevLine = this.line;
    this.rows++;
  }

  /** Cells the fast path did not take: zeros, empties, non-finite spellings, junk, overflow. */
  private slowCell(cell: string, column: number): number {
    const v = parseNumberCell(cell);
    if (v === undefined) {
      if (cell.trim() === '') this.fail('ERR_CSV_PARSE', column, 'empty cell', cell);
      this.fail('ERR_CSV_PARSE', column, `non-numeric value ${quoteClipped(cell)}`, cell);
    }
    const finite32 = Number.isFinite(v) && v <= FLOAT32_MAX && v >= -FLOAT32_MAX;
    if (!finite32 && (!this.keepNonFinite || this.kind === 'labels')) {
      const what = Number.isFinite(v) ? `value ${quoteClipped(cell)} overflows float32` : `non-finite value ${quoteClipped(cell)}`;
      this.fail('ERR_NON_FINITE', column, `${what} (pass nonFinite: 'keep' to read it as NaN/Infinity)`, cell);
    }
    return v;
  }

  finish(): SeriesTable {
    if (this.header === null) {
      this.line = Math.max(this.line, 1);
      this.fail('ERR_CSV_PARSE', undefined, 'empty file: missing header (expected e.g. "timestamp,value")');
    }
    const n = this.rows;
    return {
      timestamps: this.timestamps,
      time: n === this.capacity ? this.time : this.time.slice(0, n),
      channels: this.header.slice(1),
      frames: n === this.capacity ? this.frames : this.frames.slice(0, n * this.channelCount),
      length: n,
    };
  }
}

function papaConfig(delimiter: string | undefined) {
  return {
    delimiter: delimiter ?? ',',
    header: false,
    dynamicTyping: false,
    // Keep blank lines so that line numbers in messages stay exact; TableBuilder skips them.
    skipEmptyLines: false,
  } as const;
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

function parseText(text: string, source: string, kind: CellKind, options: ReadSeriesOptions): SeriesTable {
  const builder = new TableBuilder(source, kind, options.nonFinite === 'keep', options.timestampOrder);
  let error: unknown;
  // One pass over the whole string, a row at a time. papaparse's chunked string mode re-parses
  // the unfinished line of every chunk from its start, which made a line spanning many chunks
  // quadratic in its length; `step` parses the string once and never holds all rows.
  // papaparse calls `step` synchronously for string input; an exception thrown inside would be
  // swallowed by it, so catch it here, abort, and rethrow after parse() returns.
  const one: string[][] = [[]];
  Papa.parse<string[]>(text, {
    ...papaConfig(options.delimiter),
    step: (results: Papa.ParseStepResult<string[]>, parser: Papa.Parser) => {
      if (error !== undefined) return;
      try {
        one[0] = results.data;
        builder.push(one);
      } catch (err) {
        error = err;
        parser.abort();
      }
    },
    complete: () => undefined,
  });
  if (error !== undefined) throw error;
  return builder.finish();
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

async function parseFile(path: string, kind: CellKind, options: ReadSeriesOptions): Promise<SeriesTable> {
  await checkReadable(path);
  const builder = new TableBuilder(path, kind, options.nonFinite === 'keep', options.timestampOrder);
  // 'utf8' encoding makes the stream decode across chunk boundaries; papaparse's own
  // Buffer.toString per chunk would split multi-byte characters.
  const stream = createReadStream(path, { encoding: 'utf8', highWaterMark: READ_CHUNK_BYTES });
  await streamCsvRows(stream, path, (rows) => builder.push(rows), options.delimiter);
  return builder.finish();
}

/**
 * Feeds a text stream through papaparse in chunk mode: `onRows` gets arrays of rows (arrays of
 * cell strings) in file order, blank lines included as `['']` so that the caller can count lines.
 * Resolves when the stream ends; rejects with the first error `onRows` throws (the stream is then
 * destroyed) or with ERR_CSV_PARSE for a stream error (unreadable file, corrupt gzip, ...).
 *
 * @param stream a readable stream that emits strings (call `setEncoding('utf8')` on byte streams).
 * @param source names the input in error messages.
 */
export function streamCsvRows(
  stream: NodeJS.ReadableStream & { destroy?: (err?: Error) => unknown },
  source: string,
  onRows: (rows: string[][]) => void,
  delimiter?: string,
): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    let settled = false;
    const settle = (err?: unknown): void => {
      if (settled) return;
      settled = true;
      if (err === undefined) resolve();
      else {
        stream.destroy?.();
        reject(err);
      }
    };
    Papa.parse<string[]>(wholeLines(stream), {
      ...papaConfig(delimiter),
      chunk: (results: Papa.ParseResult<string[]>, parser: Papa.Parser) => {
        if (settled) return;
        try {
          onRows(results.data);
        } catch (err) {
          // Settle first: abort() calls `complete` synchronously, which would resolve.
          settle(err);
          parser.abort();
        }
      },
      complete: () => settle(),
      error: (err: Error) => settle(readError(source, err)),
    });
  });
}

/**
 * Re-chunks a text stream so that every chunk ends at a line break (or is the stream's last).
 * papaparse keeps the unfinished last line of a chunk and parses it again from its start with the
 * next chunk, so a line spanning k chunks cost O(k^2) (a 600 MB line took minutes); handed whole
 * lines, it parses each character once. Pieces of a long line are joined once, at its end.
 * Errors of the source stream pass through (papaparse reports them); destroying the returned
 * stream destroys the source.
 */
function wholeLines(source: NodeJS.ReadableStream & { destroy?: (err?: Error) => unknown }): Readable {
  async function* lines(): AsyncGenerator<string> {
    const pending: string[] = [];
    for await (const chunk of source as AsyncIterable<string | Buffer>) {
      const text = typeof chunk === 'string' ? chunk : chunk.toString('utf8');
      // '\r' too: old Mac files have no '\n', and a cut between '\r' and '\n' is only an
      // unfinished line break, which papaparse completes from the next chunk.
      const cut = Math.max(text.lastIndexOf('\n'), text.lastIndexOf('\r'));
      if (cut < 0) {
        pending.push(text);
        continue;
      }
      pending.push(text.slice(0, cut + 1));
      yield pending.length === 1 ? pending[0]! : pending.join('');
      pending.length = 0;
      if (cut + 1 < text.length) pending.push(text.slice(cut + 1));
    }
    if (pending.length > 0) yield pending.join('');
  }
  const out = Readable.from(lines(), { objectMode: true });
  out.once('close', () => source.destroy?.());
  return out;
}

/** Throws ERR_IO (not found, not a file, permission denied) before a stream is opened. */
export async function checkReadable(path: string): Promise<void> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    throw fileError(path, err);
  }
  if (!info.isFile()) throw new SeismoError('ERR_IO', `cannot read ${path}: not a file`, { file: path });
}

/**
 * A failed read of `path`: ERR_IO / ERR_RESOURCE for the file system's errors (see
 * {@link fileError}), ERR_CSV_PARSE for the rest (a corrupt gzip stream is broken content).
 */
export function readError(path: string, err: unknown): SeismoError {
  if (err instanceof SeismoError) return err;
  if (typeof (err as NodeJS.ErrnoException | undefined)?.syscall === 'string') return fileError(path, err);
  return new SeismoError('ERR_CSV_PARSE', `${path}: cannot read (${String((err as Error)?.message ?? err)})`, { file: path }, { cause: err });
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
