/**
 * KDD Cup 1999 loader (`kddcup.data_10_percent.gz` or the plain CSV): 41 connection features and
 * a label per line, no header. The streaming-autoencoder literature uses the `smtp` and `http`
 * services with numeric features only, and SMTP followed by HTTP as a concept drift; this loader
 * produces exactly those streams.
 *
 * Features: the three symbolic columns (`protocol_type`, `service`, `flag`) are dropped and the
 * other 38 kept as float32, in file order. Why drop instead of one-hot: after the service filter
 * `service` is constant and `protocol_type` is `tcp` for every smtp/http row, so their one-hot
 * columns carry nothing; `flag` (11 connection states) would add 11 sparse 0/1 columns whose
 * scale dominates a reconstruction loss next to standardised counts, and the published SMTP/HTTP
 * baselines use numeric features only. The four 0/1 features UCI calls symbolic (`land`,
 * `logged_in`, `is_host_login`, `is_guest_login`) are numbers and are kept. Note that some kept
 * features are constant on a subset (`num_outbound_cmds` is 0 everywhere): scalers must guard
 * against a zero standard deviation.
 */
import { createReadStream } from 'node:fs';
import { open, readFile } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { SeismoError } from '../errors.js';
import { checkReadable, readError, streamCsvRows, type SeriesTable } from './csv.js';

/** The 41 feature names and `label`, in file order (as in kddcup.names). */
export const KDD99_COLUMNS: readonly string[] = [
  'duration', 'protocol_type', 'service', 'flag', 'src_bytes', 'dst_bytes', 'land', 'wrong_fragment', 'urgent',
  'hot', 'num_failed_logins', 'logged_in', 'num_compromised', 'root_shell', 'su_attempted', 'num_root',
  'num_file_creations', 'num_shells', 'num_access_files', 'num_outbound_cmds', 'is_host_login', 'is_guest_login',
  'count', 'srv_count', 'serror_rate', 'srv_serror_rate', 'rerror_rate', 'srv_rerror_rate', 'same_srv_rate',
  'diff_srv_rate', 'srv_diff_host_rate', 'dst_host_count', 'dst_host_srv_count', 'dst_host_same_srv_rate',
  'dst_host_diff_srv_rate', 'dst_host_same_src_port_rate', 'dst_host_srv_diff_host_rate', 'dst_host_serror_rate',
  'dst_host_srv_serror_rate', 'dst_host_rerror_rate', 'dst_host_srv_rerror_rate', 'label',
];

/** Columns that hold words, not numbers; dropped from the features. */
export const KDD99_SYMBOLIC: readonly string[] = ['protocol_type', 'service', 'flag'];

/** Options for {@link loadKdd99}. */
export interface Kdd99Options {
  /**
   * Column names file: either one CSV header line (as shipped here) or the UCI `kddcup.names`
   * layout (`name: continuous.` per line). Default: the built-in {@link KDD99_COLUMNS}.
   */
  namesPath?: string;
  /**
   * Keep only these services, concatenated in this order (rows keep file order within a
   * service): `['smtp', 'http']` is the SMTP-then-HTTP concept-drift stream. Default: every row,
   * in file order.
   */
  services?: string[];
  /** Numeric features to keep, by name, in this order. Default: all 38 numeric features. */
  features?: string[];
}

/** Result of {@link loadKdd99}. */
export interface Kdd99Data {
  /**
   * The features: `channels` are the feature names, `frames` row-major `[length, channels]`.
   * KDD rows have no time, so `time` is the row index (0, 1, ...) and `timestamps` its string.
   */
  table: SeriesTable;
  /** Per row: 0 for `normal.`, 1 for any attack. */
  labels: Uint8Array;
  /** Per row: `normal` or the attack name, without the trailing dot. */
  attacks: string[];
  /** 1-based line of each row in the source file, to trace a row back. */
  sourceLine: Uint32Array;
  /** One entry per service in `services` (or one `'*'` entry): rows [start, end) of that part. */
  segments: { service: string; start: number; end: number; attacks: number }[];
}

/**
 * Reads a KDD Cup 99 names file in either layout (see {@link Kdd99Options.namesPath}).
 *
 * @returns the 42 column names (41 features and `label`).
 * @throws SeismoError ERR_IO when the file cannot be read, ERR_CSV_PARSE when it does not list the KDD columns.
 */
export async function readKdd99Names(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw readError(path, err);
  }
  const lines = text.split(/\r?\n/).map((l) => l.trim()).filter((l) => l !== '');
  let names: string[];
  if (lines.some((l) => /^[A-Za-z_]+:\s*(continuous|symbolic)\.?$/.test(l))) {
    // UCI layout: the first line lists the attack types, then "name: type." per feature.
    names = lines.filter((l) => l.includes(':')).map((l) => l.slice(0, l.indexOf(':')).trim());
    names.push('label');
  } else {
    names = (lines[0] ?? '').split(',').map((n) => n.trim());
  }
  if (names.length !== KDD99_COLUMNS.length || !KDD99_SYMBOLIC.every((n) => names.includes(n)) || names[names.length - 1] !== 'label') {
    throw new SeismoError('ERR_CSV_PARSE',
      `${path}: expected ${KDD99_COLUMNS.length - 1} KDD99 feature names and "label" (found ${names.length} names)`, { file: path });
  }
  return names;
}

/**
 * Loads KDD Cup 99 records (gzip or plain text, detected from the content) by streaming.
 *
 * @param dataPath `kddcup.data_10_percent.gz` or an uncompressed equivalent.
 * @throws SeismoError ERR_CSV_PARSE (missing file, corrupt gzip, wrong column count, non-numeric
 *   feature: the message names file, line and column), ERR_NON_FINITE, ERR_INVALID_OPTION
 *   (unknown feature name, a service with no rows).
 */
export async function loadKdd99(dataPath: string, options: Kdd99Options = {}): Promise<Kdd99Data> {
  const names = options.namesPath === undefined ? [...KDD99_COLUMNS] : await readKdd99Names(options.namesPath);
  const width = names.length;
  const numeric = names.slice(0, -1).filter((n) => !KDD99_SYMBOLIC.includes(n));
  const features = options.features ?? numeric;
  const featureCols = features.map((f) => {
    const i = names.indexOf(f);
    if (i < 0 || !numeric.includes(f)) {
      throw new SeismoError('ERR_INVALID_OPTION', `KDD99: ${JSON.stringify(f)} is not a numeric feature; choose from ${numeric.join(', ')}`, { feature: f });
    }
    return i;
  });
  const serviceCol = names.indexOf('service');
  const labelCol = width - 1;
  const services = options.services;
  const groups = (services ?? ['*']).map((service) => new Group(service, features.length));
  const groupOf = new Map(groups.map((g) => [g.service, g]));

  await checkReadable(dataPath);
  const stream = await openText(dataPath);
  let line = 0;
  const fail = (code: 'ERR_CSV_PARSE' | 'ERR_NON_FINITE', column: number | undefined, what: string): never => {
    const where = column === undefined ? `line ${line}` : `line ${line}, column ${column} (${JSON.stringify(names[column - 1])})`;
    throw new SeismoError(code, `${dataPath} ${where}: ${what}`, { file: dataPath, line, column });
  };
  await streamCsvRows(stream, dataPath, (rows) => {
    for (const row of rows) {
      line++;
      if (row.length === 1 && row[0]!.trim() === '') continue;
      if (row.length !== width) fail('ERR_CSV_PARSE', undefined, `expected ${width} columns, found ${row.length}`);
      const group = services === undefined ? groups[0]! : groupOf.get(row[serviceCol]!);
      if (group === undefined) continue;
      const base = group.reserve();
      for (let k = 0; k < featureCols.length; k++) {
        const col = featureCols[k]!;
        const cell = row[col]!;
        const v = +cell;
        if (cell.trim() === '' || Number.isNaN(v)) fail('ERR_CSV_PARSE', col + 1, `non-numeric value ${JSON.stringify(cell)}`);
        if (!Number.isFinite(Math.fround(v))) fail('ERR_NON_FINITE', col + 1, `non-finite value ${JSON.stringify(cell)}`);
        group.frames[base + k] = v;
      }
      let label = row[labelCol]!.trim();
      if (label.endsWith('.')) label = label.slice(0, -1);
      if (label === '') fail('ERR_CSV_PARSE', labelCol + 1, 'empty label');
      group.commit(label, line);
    }
  });

  for (const g of groups) {
    if (services !== undefined && g.length === 0) {
      throw new SeismoError('ERR_INVALID_OPTION', `KDD99: no rows with service ${JSON.stringify(g.service)} in ${dataPath}`, { service: g.service });
    }
  }
  return concatGroups(groups, features);
}

/** Opens the file as a UTF-8 text stream, through gunzip when it starts with the gzip magic. */
async function openText(path: string): Promise<NodeJS.ReadableStream & { destroy(): void }> {
  const fh = await open(path, 'r').catch((err: unknown) => {
    throw readError(path, err);
  });
  const magic = Buffer.alloc(2);
  try {
    await fh.read(magic, 0, 2, 0);
  } finally {
    await fh.close();
  }
  const raw = createReadStream(path, { highWaterMark: 1 << 20 });
  if (magic[0] !== 0x1f || magic[1] !== 0x8b) return raw.setEncoding('utf8');
  const gunzip = createGunzip();
  // A read error on the file must reach the parser too; pipe() does not forward errors.
  raw.on('error', (err) => gunzip.destroy(err));
  gunzip.on('error', () => raw.destroy());
  return raw.pipe(gunzip).setEncoding('utf8');
}

/** Rows of one service, in growing typed arrays. */
class Group {
  frames: Float32Array;
  length = 0;
  private capacity = 4096;
  readonly attacks: string[] = [];
  lines = new Uint32Array(4096);

  constructor(readonly service: string, private readonly width: number) {
    this.frames = new Float32Array(this.capacity * width);
  }

  /** Makes room for one more row; returns its offset in `frames`. */
  reserve(): number {
    if (this.length === this.capacity) {
      this.capacity *= 2;
      const frames = new Float32Array(this.capacity * this.width);
      frames.set(this.frames);
      this.frames = frames;
      const lines = new Uint32Array(this.capacity);
      lines.set(this.lines);
      this.lines = lines;
    }
    return this.length * this.width;
  }

  commit(attack: string, line: number): void {
    this.attacks.push(attack);
    this.lines[this.length] = line;
    this.length++;
  }
}

function concatGroups(groups: Group[], features: string[]): Kdd99Data {
  const n = groups.reduce((s, g) => s + g.length, 0);
  const C = features.length;
  const frames = new Float32Array(n * C);
  const labels = new Uint8Array(n);
  const sourceLine = new Uint32Array(n);
  const attacks: string[] = [];
  const segments: Kdd99Data['segments'] = [];
  let at = 0;
  for (const g of groups) {
    frames.set(g.frames.subarray(0, g.length * C), at * C);
    sourceLine.set(g.lines.subarray(0, g.length), at);
    let count = 0;
    for (let i = 0; i < g.length; i++) {
      const a = g.attacks[i]!;
      attacks.push(a);
      if (a !== 'normal') {
        labels[at + i] = 1;
        count++;
      }
    }
    segments.push({ service: g.service, start: at, end: at + g.length, attacks: count });
    at += g.length;
  }
  const time = new Float64Array(n);
  const timestamps = new Array<string>(n);
  for (let i = 0; i < n; i++) {
    time[i] = i;
    timestamps[i] = String(i);
  }
  return { table: { timestamps, time, channels: [...features], frames, length: n }, labels, attacks, sourceLine, segments };
}
