/**
 * Rows of a CSV that arrives piece by piece (standard input, a file that grows): the header names
 * the columns; each later line is one sample. Nothing waits for the end of the input, so scores
 * can be written while it still flows.
 */
import { SeismoError } from '../errors.js';
import { parseTimestampMs } from '../ingest/csv.js';

/** Options of {@link CsvRowStream}. */
export interface CsvRowStreamOptions {
  /** Column that names each row's series (many series in one stream); default: none, every row is `defaultSeries`. */
  seriesColumn?: string;
  /** Series id of rows without a series column. */
  defaultSeries: string;
  /** Names the input in error messages. */
  source: string;
}

/** Called for each data row; `values` is reused between calls (copy what you keep); NaN where a cell is empty or a missing-value word. */
export type RowHandler = (seriesId: string, timestamp: number, values: Float64Array, line: number) => void;

const MISSING = new Set(['', 'nan', '+nan', '-nan', 'na', 'n/a', 'null', 'none']);

/**
 * Incremental CSV reader: first column (or the one named `timestamp`) the time, as a number or a
 * date (`YYYY-MM-DD[ HH:MM[:SS[.fff]]]`, read as UTC, in epoch ms); an optional series column;
 * every other column a channel. Quoted cells are not supported (numeric streams do not need them).
 */
export class CsvRowStream {
  /** Channel names, known once the header has been read. */
  channels: string[] | undefined;
  /** True when timestamps are dates (then they are epoch ms). */
  dates: boolean | undefined;
  /** Data rows read. */
  rows = 0;
  private readonly options: CsvRowStreamOptions;
  private rest = '';
  private line = 0;
  private timeColumn = 0;
  private seriesColumn = -1;
  private channelColumns: number[] = [];
  private values = new Float64Array(0);

  constructor(options: CsvRowStreamOptions) {
    this.options = options;
  }

  /** Feeds a piece of text; complete lines are parsed and handed to `onRow`, a partial last line waits for the next piece. */
  feed(text: string, onRow: RowHandler): void {
    const all = this.rest + text;
    let from = 0;
    for (;;) {
      const nl = all.indexOf('\n', from);
      if (nl < 0) break;
      this.parseLine(all.slice(from, nl), onRow);
      from = nl + 1;
    }
    this.rest = all.slice(from);
  }

  /** The input ended: parses a last line without a newline. */
  end(onRow: RowHandler): void {
    if (this.rest.length > 0) this.parseLine(this.rest, onRow);
    this.rest = '';
  }

  private parseLine(raw: string, onRow: RowHandler): void {
    this.line++;
    const text = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    if (text.trim().length === 0) return;
    const cells = text.split(',');
    if (this.channels === undefined) {
      this.header(cells.map((c) => c.trim()));
      return;
    }
    const need = 1 + this.channelColumns.length + (this.seriesColumn >= 0 ? 1 : 0);
    if (cells.length !== need) {
      throw new SeismoError('ERR_CSV_PARSE', `${this.options.source}:${this.line}: ${cells.length} cells, the header has ${need}`, { line: this.line });
    }
    const tCell = cells[this.timeColumn]!.trim();
    let t = Number(tCell);
    if (this.dates === undefined) this.dates = !(tCell.length > 0 && Number.isFinite(t));
    if (this.dates) t = parseTimestampMs(tCell);
    if (!Number.isFinite(t)) {
      throw new SeismoError('ERR_CSV_PARSE', `${this.options.source}:${this.line}: timestamp '${tCell}' is not ${this.dates ? 'a date (YYYY-MM-DD[ HH:MM[:SS]])' : 'a number'}`, { line: this.line });
    }
    for (let c = 0; c < this.channelColumns.length; c++) {
      const cell = cells[this.channelColumns[c]!]!.trim();
      const v = Number(cell);
      if (cell.length > 0 && !Number.isNaN(v)) this.values[c] = v;
      else if (MISSING.has(cell.toLowerCase())) this.values[c] = NaN;
      else throw new SeismoError('ERR_CSV_PARSE', `${this.options.source}:${this.line}: '${cell}' in column '${this.channels[c]}' is not a number (empty and NaN/NA/null mean missing)`, { line: this.line });
    }
    this.rows++;
    onRow(this.seriesColumn >= 0 ? cells[this.seriesColumn]!.trim() : this.options.defaultSeries, t, this.values, this.line);
  }

  private header(names: string[]): void {
    const source = this.options.source;
    const timeAt = names.findIndex((n) => n.toLowerCase() === 'timestamp');
    this.timeColumn = timeAt >= 0 ? timeAt : 0;
    if (this.options.seriesColumn !== undefined) {
      this.seriesColumn = names.indexOf(this.options.seriesColumn);
      if (this.seriesColumn < 0) throw new SeismoError('ERR_CSV_PARSE', `${source}: no column '${this.options.seriesColumn}' (the header has ${names.join(', ')})`);
    }
    this.channelColumns = names.map((_, i) => i).filter((i) => i !== this.timeColumn && i !== this.seriesColumn);
    if (this.channelColumns.length === 0) throw new SeismoError('ERR_CSV_PARSE', `${source}: the header names no channel column besides the timestamp`);
    this.channels = this.channelColumns.map((i) => names[i]!);
    this.values = new Float64Array(this.channels.length);
  }
}
