/**
 * The Numenta Anomaly Benchmark (NAB v1.1) scorer: per-file raw scores and the normalised corpus
 * score (null detector 0, perfect detector 100). Written from NAB's documentation and a reading of its scoring rules:
 *
 * - Each file's first `min(floor(0.15·n), 0.15·5000)` rows are probationary: not scored at all.
 * - A labelled window [L, R] (row indices) is a true positive if any row in it is detected; it
 *   earns `tpWeight · σ(pos) / σ(-1)` for its earliest detection, where
 *   `σ(x) = 2/(1+e^{5x}) - 1` (−1 for x ≥ 3) and `pos = -(R - i + 1)/(R - L + 1)`, so a detection
 *   at the window's left edge earns exactly `tpWeight` and later ones less. Further detections in
 *   the same window add nothing. A window with no detection costs `fnWeight`.
 * - A detection outside every window is a false positive worth `fpWeight · σ(pos)` with
 *   `pos = |R_prev - i| / (W_prev - 1)` relative to the last window that ended before it
 *   (right after a window the penalty is mild, far after it is `-fpWeight`), and `-fpWeight` when
 *   no window came before.
 * - A detection is `anomaly_score >= threshold`.
 * - Normalised score = `100 · (raw - null) / (perfect - null)` with the raw scores summed over
 *   the corpus, `null` = the score of a detector that never fires (−fnWeight per window) and
 *   `perfect` = `tpWeight` per window.
 *
 * The threshold search NAB runs for a new detector, and the end-to-end run over a corpus, are in
 * `nab-run.ts`.
 */
import { SeismoError } from '../errors.js';
import { toScores, type ScoreArray } from './inputs.js';

/** A NAB cost matrix (the `CostMatrix` of one profile in `config/profiles.json`). */
export interface NabCostMatrix {
  tpWeight: number;
  fpWeight: number;
  fnWeight: number;
  /** Present in NAB's profiles, unused by its scoring. */
  tnWeight?: number;
}

/** NAB's three application profiles, under the names NAB uses. */
export type NabProfiles = Record<string, NabCostMatrix>;

/** One anomaly window: [first, last] timestamp, both inclusive and present in the file. */
export type NabLabelWindow = readonly [string | number, string | number];

/** One scored data file: a detector's anomaly score per row. */
export interface NabDataFile {
  /** Corpus-relative path, e.g. `realKnownCause/nyc_taxi.csv` (the key in the label file). */
  path: string;
  /** Row timestamps: strings `YYYY-MM-DD HH:MM:SS[.ffffff]` (read as UTC) or epoch milliseconds. */
  timestamps: ReadonlyArray<string | number>;
  /** Anomaly score per row, same length as `timestamps`; NAB's detectors emit [0, 1]. */
  scores: ScoreArray;
}

/** Options of {@link prepareNabFile}. */
export interface NabScoringOptions {
  /** Share of each file that is probationary. NAB: 0.15. */
  probationPercent?: number;
}

/**
 * A file ready for scoring: rows reduced to what the score needs. Windows are row-index
 * ranges; `unweighted[i]` is σ of the row's position (before the cost weights).
 */
export interface NabPreparedFile {
  path: string;
  length: number;
  probationaryLength: number;
  scores: Float64Array;
  /** Window index of each row, -1 outside windows. */
  windowOf: Int32Array;
  /** σ(position) of each row, relative to its window (inside) or the previous window (outside). */
  unweighted: Float64Array;
  /** Row-index ranges of the windows, in order. */
  windows: Array<{ start: number; end: number }>;
  /** Whether each window has at least one row after the probationary period (only those count). */
  windowScored: boolean[];
}

/** Counts of rows after the probationary period, as NAB reports them. */
export interface NabCounts {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  /** Rows of the file(s), probationary ones included (NAB's `Total_Count`). */
  total: number;
}

/** The raw NAB score of one file at a threshold. */
export interface NabFileScore extends NabCounts {
  path: string;
  threshold: number;
  score: number;
}

/** The NAB score of a corpus for one profile. */
export interface NabCorpusScore {
  threshold: number;
  /** Sum of the per-file raw scores. */
  rawScore: number;
  /** Raw score of a detector that never fires: −fnWeight per scored window. */
  nullScore: number;
  /** Raw score of the perfect detector: tpWeight per window. */
  perfectScore: number;
  /** `100 · (raw − null) / (perfect − null)`: the number NAB publishes. */
  normalized: number;
  counts: NabCounts;
  files: NabFileScore[];
}

/** NAB's scaled sigmoid: 2·sigmoid(−5x) − 1, and −1 from x = 3 on. */
export function nabScaledSigmoid(x: number): number {
  if (x >= 3) return -1;
  return 2 / (1 + Math.exp(5 * x)) - 1;
}

const MAX_TP = nabScaledSigmoid(-1);

/**
 * Timestamp to a comparable number: epoch milliseconds as UTC, fractional seconds kept, so
 * that `2014-04-10 07:15:00.000000` (label file) matches `2014-04-10 07:15:00` (data file).
 */
export function nabTimestampKey(t: string | number): number {
  if (typeof t === 'number') return t;
  const m = /^(\d{4})-(\d{2})-(\d{2})(?:[ T](\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?Z?$/.exec(t.trim());
  if (!m) throw new SeismoError('ERR_CSV_PARSE', `cannot read timestamp '${t}'; expected YYYY-MM-DD HH:MM:SS[.ffffff]`, { timestamp: t });
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] ?? 0), +(m[5] ?? 0), +(m[6] ?? 0));
  return ms + (m[7] ? Number(m[7]) * 1000 : 0);
}

/** Probationary rows of a file of n rows: `min(floor(p·n), p·5000)`. */
export function nabProbationaryLength(n: number, probationPercent = 0.15): number {
  return Math.min(Math.floor(probationPercent * n), probationPercent * 5000);
}

/**
 * Locates the windows in the file and computes each row's unweighted position score.
 *
 * @param file the detector's scores for one data file
 * @param windows the file's label windows (timestamps that must occur in the file)
 * @throws SeismoError ERR_BAD_SHAPE on a length mismatch, ERR_EVAL when a window timestamp is not
 *   a row of the file or windows overlap, ERR_NON_FINITE on NaN scores
 */
export function prepareNabFile(file: NabDataFile, windows: ReadonlyArray<NabLabelWindow>, options: NabScoringOptions = {}): NabPreparedFile {
  const n = file.timestamps.length;
  if (file.scores.length !== n) {
    throw new SeismoError('ERR_BAD_SHAPE', `${file.path}: ${n} timestamps but ${file.scores.length} scores`, { path: file.path });
  }
  const scores = toScores(file.scores);
  const keys = file.timestamps.map(nabTimestampKey);
  const rowOf = new Map<number, number>();
  for (let i = n - 1; i >= 0; i--) rowOf.set(keys[i], i); // first occurrence wins, as NAB's list.index
  const ranges = windows
    .map(([a, b]) => {
      const start = rowOf.get(nabTimestampKey(a));
      const end = rowOf.get(nabTimestampKey(b));
      if (start === undefined || end === undefined) {
        throw new SeismoError('ERR_EVAL', `${file.path}: window [${a}, ${b}] does not start and end on timestamps of the file`, {
          path: file.path,
        });
      }
      if (end < start) throw new SeismoError('ERR_EVAL', `${file.path}: window [${a}, ${b}] ends before it starts`, { path: file.path });
      return { start, end };
    })
    .sort((p, q) => p.start - q.start);
  for (let k = 1; k < ranges.length; k++) {
    if (ranges[k].start <= ranges[k - 1].end) throw new SeismoError('ERR_EVAL', `${file.path}: windows overlap`, { path: file.path });
  }

  const probationaryLength = nabProbationaryLength(n, options.probationPercent ?? 0.15);
  const windowOf = new Int32Array(n).fill(-1);
  const unweighted = new Float64Array(n);
  let w = 0;
  let prevEnd = -1;
  let prevWidth = 0;
  for (let i = 0; i < n; i++) {
    while (w < ranges.length && ranges[w].end < i) {
      prevEnd = ranges[w].end;
      prevWidth = ranges[w].end - ranges[w].start + 1;
      w++;
    }
    if (w < ranges.length && ranges[w].start <= i) {
      const width = ranges[w].end - ranges[w].start + 1;
      windowOf[i] = w;
      unweighted[i] = nabScaledSigmoid(-(ranges[w].end - i + 1) / width);
    } else if (prevEnd < 0) {
      unweighted[i] = nabScaledSigmoid(3); // no window yet: full false-positive penalty
    } else {
      // NAB divides by (width - 1), which is 0 for a one-row window (NAB would crash there);
      // use 1 so such a window still ramps the penalty up over the following rows.
      unweighted[i] = nabScaledSigmoid(Math.abs(prevEnd - i) / Math.max(prevWidth - 1, 1));
    }
  }
  const windowScored = ranges.map((r) => r.end >= probationaryLength);
  return { path: file.path, length: n, probationaryLength, scores, windowOf, unweighted, windows: ranges, windowScored };
}

/**
 * Raw NAB score of one prepared file at `threshold` for one cost matrix.
 *
 * @param threshold detections are rows with `score >= threshold`
 */
export function scoreNabFile(file: NabPreparedFile, cost: NabCostMatrix, threshold: number): NabFileScore {
  const best = file.windows.map(() => -Infinity);
  let fpScore = 0;
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < file.length; i++) {
    if (i < file.probationaryLength) continue;
    const w = file.windowOf[i];
    const detected = file.scores[i] >= threshold;
    if (w >= 0) {
      if (detected) {
        tp++;
        const s = (file.unweighted[i] * cost.tpWeight) / MAX_TP;
        if (s > best[w]) best[w] = s;
      } else fn++;
    } else if (detected) {
      fp++;
      fpScore += file.unweighted[i] * cost.fpWeight;
    } else tn++;
  }
  let score = fpScore;
  for (let w = 0; w < best.length; w++) {
    if (!file.windowScored[w]) continue;
    score += best[w] === -Infinity ? -cost.fnWeight : best[w];
  }
  return { path: file.path, threshold, score, tp, fp, tn, fn, total: file.length };
}

function sumCounts(rows: NabCounts[]): NabCounts {
  const c = { tp: 0, fp: 0, tn: 0, fn: 0, total: 0 };
  for (const r of rows) {
    c.tp += r.tp;
    c.fp += r.fp;
    c.tn += r.tn;
    c.fn += r.fn;
    c.total += r.total;
  }
  return c;
}

/** Null and perfect raw scores of a corpus, the two ends of NAB's normalisation. */
export function nabBounds(files: ReadonlyArray<NabPreparedFile>, cost: NabCostMatrix): { nullScore: number; perfectScore: number } {
  let scored = 0;
  let all = 0;
  for (const f of files) {
    all += f.windows.length;
    for (const s of f.windowScored) if (s) scored++;
  }
  // NAB normalises with tpWeight × (number of windows in the label file), probation or not.
  return { nullScore: -cost.fnWeight * scored, perfectScore: cost.tpWeight * all };
}

/**
 * Scores a corpus at one threshold: per-file raw scores, their sum and NAB's normalised score.
 *
 * @param files prepared files (see {@link prepareNabFile})
 * @param cost the profile's cost matrix
 * @param threshold detections are rows with `score >= threshold`
 */
export function scoreNabCorpus(files: ReadonlyArray<NabPreparedFile>, cost: NabCostMatrix, threshold: number): NabCorpusScore {
  const perFile = files.map((f) => scoreNabFile(f, cost, threshold));
  let raw = 0;
  for (const f of perFile) raw += f.score;
  const { nullScore, perfectScore } = nabBounds(files, cost);
  return {
    threshold,
    rawScore: raw,
    nullScore,
    perfectScore,
    normalized: normalizeNab(raw, nullScore, perfectScore),
    counts: sumCounts(perFile),
    files: perFile,
  };
}

/** `100 · (raw − null) / (perfect − null)`. */
export function normalizeNab(raw: number, nullScore: number, perfectScore: number): number {
  if (perfectScore === nullScore) throw new SeismoError('ERR_EVAL', 'NAB normalisation is undefined: the corpus has no label window');
  return (100 * (raw - nullScore)) / (perfectScore - nullScore);
}
