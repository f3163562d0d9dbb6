/**
 * Evaluation of files: a scores CSV (as `seismo detect --out` writes it) joined with a labels CSV
 * on the timestamp text, judged under one label rule, with every metric and, when the labels carry
 * per-channel columns, HitRate. `seismo eval` and the dashboard's evaluation view both call it.
 */
import { readFileSync } from 'node:fs';
import Papa from 'papaparse';
import { fileError, SeismoError } from '../errors.js';
import { evaluate, type EvaluationResult } from './index.js';
import { hitRate, type HitRateResult } from './hitrate.js';
import { labelSpans, parseLabelRule, withMissedAnomalies, type LabelRule, type SpanLabels } from './inputs.js';
import type { EvalPlotData } from '../report/plots.js';

/**
 * A CSV read strictly: header names and the rows as strings. Not the ingest stage's reader on
 * purpose: that one stores float32 frames, and metrics must see the scores' full float64 values
 * (a rounding to float32 can reorder near-ties and move AUC and best-F1 off the reference).
 */
interface CsvTable {
  path: string;
  header: string[];
  rows: string[][];
}

function readCsv(path: string): CsvTable {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    throw fileError(path, cause);
  }
  const parsed = Papa.parse<string[]>(text, { skipEmptyLines: true });
  if (parsed.errors.length > 0) {
    const e = parsed.errors[0];
    throw new SeismoError('ERR_CSV_PARSE', `${path}: line ${(e.row ?? 0) + 1}: ${e.message}`, { path });
  }
  const [header, ...rows] = parsed.data;
  if (!header) throw new SeismoError('ERR_CSV_PARSE', `${path} is empty; expected a header line`, { path });
  const names = header.map((h) => h.trim());
  rows.forEach((r, i) => {
    if (r.length !== names.length) {
      throw new SeismoError('ERR_CSV_PARSE', `${path}: line ${i + 2} has ${r.length} cells, the header has ${names.length}`, { path, line: i + 2 });
    }
  });
  return { path, header: names, rows };
}

function column(t: CsvTable, name: string, required: true): number;
function column(t: CsvTable, name: string, required: false): number | undefined;
function column(t: CsvTable, name: string, required: boolean): number | undefined {
  const i = t.header.indexOf(name);
  if (i < 0 && required) {
    throw new SeismoError('ERR_CSV_PARSE', `${t.path}: no '${name}' column (header: ${t.header.join(',')})`, { path: t.path });
  }
  return i < 0 ? undefined : i;
}

function numberCell(t: CsvTable, row: number, col: number): number {
  const cell = t.rows[row][col].trim();
  const v = cell === '' ? NaN : Number(cell);
  if (!Number.isFinite(v)) {
    throw new SeismoError('ERR_CSV_PARSE', `${t.path}: line ${row + 2}: '${t.header[col]}' is '${cell}', not a finite number`, {
      path: t.path,
      line: row + 2,
    });
  }
  return v;
}

function thresholdCell(t: CsvTable, row: number, col: number): number {
  const cell = t.rows[row]![col]!.trim();
  const v = cell === '' ? NaN : Number(cell);
  if (Number.isNaN(v) && cell !== 'NaN') {
    throw new SeismoError('ERR_CSV_PARSE', `${t.path}: line ${row + 2}: '${t.header[col]}' is '${cell}', not a number`, { path: t.path, line: row + 2 });
  }
  return v;
}


/** Where the threshold metrics' decisions came from. */
type ThresholdSource = 'option' | 'anomaly-column' | 'threshold-column' | 'best-f1';

/** Options of {@link evaluateCsvFiles}. */
export interface EvaluateCsvOptions {
  /** Threshold for the threshold metrics (`score >= threshold`); default: see {@link evaluateCsvFiles}. */
  threshold?: number;
  /** VUS buffer width in points. */
  slidingWindow?: number;
  /** Which label a score row is judged against (see {@link LabelRule}); default `any`. */
  labelRule?: LabelRule;
  /**
   * Label rows each score row covers, ending at its own timestamp, when the scores CSV has no
   * `window` column (e.g. the model's window). Default 1: a score covers its own row only.
   */
  window?: number;
}

/** How the labelled rows were judged, beside the metrics. */
export interface LabelAccounting {
  labelRule: LabelRule;
  /** What a score row covers: `window column`, or `window of <n> label rows`. */
  covers: string;
  /** Score rows judged (joined to a label). */
  points: number;
  /** Score rows whose timestamp is not in the labels (skipped). */
  unlabelled: number;
  /** Label rows no score row was judged on (see {@link SpanLabels.unscoredRows}). */
  unscoredRows: number;
  /** Anomalous rows among them, counted as missed anomalies in every metric. */
  unscoredAnomalies: number;
}

/**
 * Joins a scores CSV (`timestamp,score[,threshold][,anomaly][,window]...`) with a labels CSV
 * (`timestamp,label`) on the timestamp text and evaluates every metric.
 *
 * Each score row covers the label rows up to its `timestamp`, in the labels file's order: its
 * `window` cell of them (as `seismo detect --out` writes it), else `options.window` (default 1,
 * its own row). It is judged under `labelRule` (default `any`: anomalous when any covered row is). Labelled rows that no score row is judged on are counted;
 * the anomalous ones enter every metric as missed (lowest score, predicted normal).
 *
 * Threshold metrics use, in order: `threshold` if given; else the scores CSV's `anomaly` column;
 * else `score >= threshold` with its per-row `threshold` column; else the best-F1 threshold
 * (optimistic: it is tuned on the labels).
 */
export function evaluateCsvFiles(
  scoresPath: string,
  labelsPath: string,
  options: EvaluateCsvOptions = {},
): { metrics: EvaluationResult & LabelAccounting & { thresholdSource: ThresholdSource; hitRate?: EvalHitRate }; joined: EvalPlotData } {
  const rule = parseLabelRule(options.labelRule);
  const window = options.window ?? 1;
  if (!Number.isInteger(window) || window < 1) throw new SeismoError('ERR_INVALID_OPTION', `--window must be an integer >= 1, got ${window}`);
  const st = readCsv(scoresPath);
  const lt = readCsv(labelsPath);
  const sTime = column(st, 'timestamp', true);
  const sWindow = column(st, 'window', false);
  const sScore = column(st, 'score', true);
  const sThr = column(st, 'threshold', false);
  const sAnom = column(st, 'anomaly', false);
  const lTime = column(lt, 'timestamp', true);
  const lLabel = column(lt, 'label', true);
  const perChannel = channelLabelColumns(st, lt, lTime, lLabel);

  // Label rows in file order (the series' order), and each timestamp's row.
  const rowOf = new Map<string, number>();
  const rowLabels = new Uint8Array(lt.rows.length);
  lt.rows.forEach((r, i) => {
    const v = numberCell(lt, i, lLabel);
    if (v !== 0 && v !== 1) throw new SeismoError('ERR_CSV_PARSE', `${labelsPath}: line ${i + 2}: label must be 0 or 1, got ${v}`);
    const t = r[lTime].trim();
    if (rowOf.has(t)) throw new SeismoError('ERR_CSV_PARSE', `${labelsPath}: line ${i + 2}: timestamp ${t} repeats`);
    rowOf.set(t, i);
    rowLabels[i] = v;
  });

  // `score_<channel>` columns (written by `seismo detect --out`) feed the per-channel plot.
  const channelCols = st.header.flatMap((h, i) => (h.startsWith('score_') ? [{ name: h.slice('score_'.length), col: i }] : []));
  const channelValues: number[][] = channelCols.map(() => []);
  const times: string[] = [];
  const firstRows: number[] = [];
  const lastRows: number[] = [];
  const scores: number[] = [];
  const anomalies: number[] = [];
  const rowThresholds: number[] = [];
  let unlabelled = 0;
  st.rows.forEach((r, i) => {
    const last = rowOf.get(r[sTime].trim());
    if (last === undefined) {
      unlabelled++;
      return;
    }
    let covers = window;
    if (sWindow !== undefined) {
      covers = numberCell(st, i, sWindow);
      if (!Number.isInteger(covers) || covers < 1) throw new SeismoError('ERR_CSV_PARSE', `${scoresPath}: line ${i + 2}: window must be an integer >= 1, got ${covers}`);
    }
    // A window that begins before the labels do is judged on the labelled part of it.
    firstRows.push(Math.max(0, last - covers + 1));
    lastRows.push(last);
    times.push(r[sTime].trim());
    channelCols.forEach((c, k) => channelValues[k]!.push(numberCell(st, i, c.col)));
    scores.push(numberCell(st, i, sScore));
    if (sAnom !== undefined) anomalies.push(numberCell(st, i, sAnom) >= 1 ? 1 : 0);
    // A threshold cell may be NaN or Infinity: rules without a single score threshold, or a
    // streaming rule still calibrating, write those (`seismo detect --out`).
    if (sThr !== undefined) rowThresholds.push(thresholdCell(st, i, sThr));
    // Channels are ranked for the row the window is reported at (its last), against that row's channel labels.
    perChannel?.add(i, last);
  });
  if (lastRows.length === 0) {
    throw new SeismoError('ERR_EVAL', `no timestamp of ${scoresPath} occurs in ${labelsPath}; check that both use the same timestamp text`);
  }
  const judged = labelSpans(rowLabels, firstRows, lastRows, rule);
  const labels = judged.labels;

  let source: ThresholdSource;
  let predictions: number[] | undefined;
  if (options.threshold !== undefined) source = 'option';
  else if (sAnom !== undefined) {
    source = 'anomaly-column';
    predictions = anomalies;
  } else if (sThr !== undefined) {
    source = 'threshold-column';
    predictions = scores.map((s, i) => (s >= rowThresholds[i] ? 1 : 0));
  } else source = 'best-f1';

  // Anomalous rows that no score row was judged on enter as missed, not dropped.
  const all = withMissedAnomalies(labels, scores, judged.unscoredAnomalies, predictions);
  const metrics = evaluate(all.labels, all.scores, { threshold: options.threshold, predictions: all.predictions, slidingWindow: options.slidingWindow });
  // The decisions the threshold metrics used, and the one threshold behind them when there is one.
  let threshold: number | null = metrics.threshold;
  if (source === 'threshold-column' || source === 'anomaly-column') {
    threshold = sThr !== undefined && rowThresholds.every((t) => t === rowThresholds[0]) ? rowThresholds[0]! : null;
  }
  const decided = predictions ?? scores.map((v) => (v >= metrics.threshold! ? 1 : 0));
  const joined: EvalPlotData = {
    timestamps: times,
    labels,
    scores: Float64Array.from(scores),
    predictions: Uint8Array.from(decided),
    threshold,
    channels: channelCols.map((c, k) => ({ name: c.name, values: Float64Array.from(channelValues[k]!) })),
  };
  const accounting: LabelAccounting = {
    labelRule: rule,
    covers: sWindow !== undefined ? 'window column' : `window of ${window} label row${window === 1 ? '' : 's'}`,
    points: labels.length,
    unlabelled,
    unscoredRows: judged.unscoredRows,
    unscoredAnomalies: judged.unscoredAnomalies,
  };
  const hit = perChannel?.result();
  return { metrics: { ...metrics, ...accounting, thresholdSource: source, ...(hit ? { hitRate: hit } : {}) }, joined };
}

/** HitRate of `seismo eval`: what it ranked by, and the figures (src/evaluate/hitrate.ts). */
export interface EvalHitRate extends HitRateResult {
  /** Columns of the scores file the channels were ranked by: `attr_<channel>` (attribution) or `score_<channel>` (raw shares, older files). */
  rankedBy: 'attr' | 'score';
  /** Channels labelled in the labels file and ranked in the scores file. */
  channels: string[];
}

/**
 * The per-channel label columns of a labels file (every column but timestamp and label) matched
 * with the scores file's `attr_<channel>` columns (else `score_<channel>`): undefined when the
 * labels have no channel column, or none of them is a channel of the scores file.
 */
function channelLabelColumns(st: CsvTable, lt: CsvTable, lTime: number, lLabel: number): { add(scoreRow: number, labelRow: number): void; result(): EvalHitRate } | undefined {
  const labelled = lt.header.flatMap((name, col) => (col === lTime || col === lLabel ? [] : [{ name, col }]));
  if (labelled.length === 0) return undefined;
  const prefix = st.header.some((h) => h.startsWith('attr_')) ? 'attr' : 'score';
  const ranked = st.header.flatMap((h, col) => (h.startsWith(`${prefix}_`) ? [{ name: h.slice(prefix.length + 1), col }] : []));
  const labelCol = ranked.map((r) => labelled.find((l) => l.name === r.name)?.col);
  if (labelCol.every((c) => c === undefined)) return undefined;
  const C = ranked.length;
  const attribution: number[] = [];
  const channelLabels: number[] = [];
  return {
    add(scoreRow, labelRow) {
      for (let c = 0; c < C; c++) {
        const cell = st.rows[scoreRow]![ranked[c]!.col]!.trim();
        attribution.push(cell === '' ? NaN : Number(cell));
        const lc = labelCol[c];
        const y = lc === undefined ? 0 : numberCell(lt, labelRow, lc);
        if (y !== 0 && y !== 1) throw new SeismoError('ERR_CSV_PARSE', `${lt.path}: line ${labelRow + 2}: '${lt.header[lc!]}' must be 0 or 1, got ${y}`);
        channelLabels.push(y);
      }
    },
    result() {
      return { ...hitRate({ attribution, channelLabels, channels: C }), rankedBy: prefix, channels: ranked.filter((_, c) => labelCol[c] !== undefined).map((r) => r.name) };
    },
  };
}
