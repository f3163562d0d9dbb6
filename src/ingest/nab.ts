/**
 * Numenta Anomaly Benchmark loader. A NAB root holds `data/<category>/<name>.csv` (columns
 * `timestamp,value`) and `labels/combined_windows.json` (for each file, anomaly windows as
 * `[start, end]` timestamps). The JSON's keys are the canonical list of series: a key whose CSV is
 * missing is an error, a CSV without a key is not a NAB series and is not loaded.
 */
import { join } from 'node:path';
import { SeismoError } from '../errors.js';
import { checkReadable, parseTimestampMs, readSeriesCsv, type SeriesTable } from './csv.js';
import { readJsonFile } from './json-file.js';

/** One anomaly window of a NAB series. */
export interface NabWindow {
  /** Window start and end as written in combined_windows.json (e.g. `2014-04-10 07:15:00.000000`). */
  start: string;
  end: string;
  /** The same as epoch ms (UTC). */
  startTime: number;
  endTime: number;
  /**
   * Rows spanned by the window: from the first row inside it to one past the last row inside it
   * (`startIndex === endIndex` when no row falls inside).
   */
  startIndex: number;
  endIndex: number;
}

/** One NAB series with its labels. */
export interface NabSeries {
  /** Key in combined_windows.json, e.g. `realKnownCause/nyc_taxi.csv`. */
  key: string;
  /** File name without category and extension, e.g. `nyc_taxi`. */
  name: string;
  /** Category folder, e.g. `realKnownCause`. */
  category: string;
  /** Path of the CSV that was read. */
  file: string;
  /** The series: one channel, `value`. */
  table: SeriesTable;
  /** Per row: 1 when the row's time lies inside a window (both ends inclusive, as NAB scores). */
  labels: Uint8Array;
  /** The windows, in file order. */
  windows: NabWindow[];
}

/** Options for {@link loadNab}. */
export interface NabOptions {
  /** Only these categories (folder names). Default: all. */
  categories?: string[];
  /** Only these series, by `name` (`nyc_taxi`) or `key` (`realKnownCause/nyc_taxi.csv`). Default: all. */
  names?: string[];
}

/**
 * Reads `labels/combined_windows.json` under a NAB root: the one reader of NAB's label windows,
 * for the loader here and for the NAB scorer (`seismo eval --nab`, the NAB benchmarks).
 *
 * @returns key (`category/name.csv`) -> windows as `[start, end]` timestamp strings.
 * @throws SeismoError ERR_IO when the file cannot be read (is `root` a NAB checkout?),
 *   ERR_JSON_PARSE when it is not JSON or not of that shape.
 */
export function readNabWindows(root: string): Record<string, [string, string][]> {
  const path = join(root, 'labels', 'combined_windows.json');
  const json = readJsonFile(path, `is ${root} the root of a NAB checkout (data/, labels/)?`);
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new SeismoError('ERR_JSON_PARSE', `${path}: expected an object mapping "category/name.csv" to windows`, { file: path });
  }
  const out: Record<string, [string, string][]> = {};
  for (const [key, windows] of Object.entries(json as Record<string, unknown>)) {
    const ok = Array.isArray(windows) && windows.every((w) => Array.isArray(w) && w.length === 2 && typeof w[0] === 'string' && typeof w[1] === 'string');
    if (!ok) {
      throw new SeismoError('ERR_JSON_PARSE', `${path}: entry ${JSON.stringify(key)} must be a list of [start, end] timestamp pairs`, { file: path, key });
    }
    out[key] = windows as [string, string][];
  }
  return out;
}

/**
 * Loads NAB series with per-row labels from the combined windows.
 *
 * @param root the NAB folder (holding `data/` and `labels/`).
 * @returns series sorted by key.
 * @throws SeismoError ERR_IO (missing files), ERR_JSON_PARSE (bad JSON, unparseable window
 *   timestamps, a window whose end precedes its start), ERR_CSV_PARSE (bad CSV),
 *   ERR_TIMESTAMP_ORDER, ERR_NON_FINITE;
 *   ERR_INVALID_OPTION when a requested name or category matches nothing.
 */
export async function loadNab(root: string, options: NabOptions = {}): Promise<NabSeries[]> {
  const windowsByKey = readNabWindows(root);
  const keys = Object.keys(windowsByKey).sort();
  const wanted = keys.filter((key) => {
    const { category, name } = splitKey(key);
    if (options.categories !== undefined && !options.categories.includes(category)) return false;
    if (options.names !== undefined && !options.names.includes(name) && !options.names.includes(key)) return false;
    return true;
  });
  // A typo in a filter should not quietly give an empty benchmark.
  for (const n of options.names ?? []) {
    if (!keys.some((k) => k === n || splitKey(k).name === n)) {
      throw new SeismoError('ERR_INVALID_OPTION', `NAB: no series named ${JSON.stringify(n)} in ${root}`, { name: n });
    }
  }
  for (const c of options.categories ?? []) {
    if (!keys.some((k) => splitKey(k).category === c)) {
      throw new SeismoError('ERR_INVALID_OPTION', `NAB: no category ${JSON.stringify(c)} in ${root}`, { category: c });
    }
  }

  const out: NabSeries[] = [];
  for (const key of wanted) {
    const { category, name } = splitKey(key);
    const file = join(root, 'data', key);
    await checkReadable(file);
    // NAB's rows are the ground truth (its scorer and published results index by row), and a few
    // files repeat timestamps (daylight saving) or step back once (machine_temperature): keep
    // them as written.
    const table = await readSeriesCsv(file, { timestampOrder: 'any' });
    const windows = windowsByKey[key]!.map(([start, end], i) => toWindow(table, start, end, key, i));
    const labels = new Uint8Array(table.length);
    // Per row, as NAB's own labeller does (start <= time <= end), which stays right where the
    // times are not monotone.
    for (const w of windows) {
      for (let r = w.startIndex; r < w.endIndex; r++) {
        const t = table.time[r]!;
        if (t >= w.startTime && t <= w.endTime) labels[r] = 1;
      }
    }
    out.push({ key, name, category, file, table, labels, windows });
  }
  return out;
}

function splitKey(key: string): { category: string; name: string } {
  const slash = key.lastIndexOf('/');
  return { category: slash < 0 ? '' : key.slice(0, slash), name: key.slice(slash + 1).replace(/\.csv$/, '') };
}

function toWindow(table: SeriesTable, start: string, end: string, key: string, i: number): NabWindow {
  const startTime = parseTimestampMs(start);
  const endTime = parseTimestampMs(end);
  if (Number.isNaN(startTime) || Number.isNaN(endTime) || endTime < startTime) {
    throw new SeismoError('ERR_JSON_PARSE', `combined_windows.json: window ${i} of ${key} is not a valid [start, end] pair: ${JSON.stringify([start, end])}`, { key, window: i });
  }
  let startIndex = -1;
  let endIndex = -1;
  // A linear scan, not a binary search: a NAB file's times may repeat or step back.
  for (let r = 0; r < table.length; r++) {
    const t = table.time[r]!;
    if (t >= startTime && t <= endTime) {
      if (startIndex < 0) startIndex = r;
      endIndex = r + 1;
    }
  }
  if (startIndex < 0) startIndex = endIndex = 0;
  return { start, end, startTime, endTime, startIndex, endIndex };
}
