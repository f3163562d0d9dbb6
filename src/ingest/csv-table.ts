/**
 * The table a CSV file is read into, and the builder that fills it row by row from papaparse's
 * chunks, checking every cell (header, widths, numbers, 0/1 labels, timestamp order) and naming
 * file, line and column in every error.
 */
import { SeismoError } from '../errors.js';
import { FLOAT32_MAX, listClipped, parseNumberCell, parseSimpleDecimal, parseTimestampMs, QUOTE_MAX, quoteClipped } from './csv-cells.js';

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

/** Options for `readSeriesCsv` and `parseSeriesCsv`. */
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

/** How one table's cells are checked: numbers for series, 0/1 for label files. */
export type CellKind = 'series' | 'labels';

/** Builds a table row by row from papaparse's chunks; tracks line numbers for messages. */
export class TableBuilder {
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
