/**
 * `seismo eval`: scores a detector's output against labels.
 *
 *   seismo eval --scores <csv> --labels <csv> [--label-rule any|last] [--window <n>] [--threshold <x>] [--sliding-window <n>] [--json]
 *   seismo eval nab --nab <root> [--results <dir>] --detector <name> [--json]
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Command } from 'commander';
import Papa from 'papaparse';
import { fileError, SeismoError } from '../errors.js';
import { evaluate, type EvaluationResult } from '../evaluate/index.js';
import { hitRate, type HitRateResult } from '../evaluate/hitrate.js';
import { labelSpans, parseLabelRule, withMissedAnomalies, type LabelRule, type SpanLabels } from '../evaluate/inputs.js';
import { NAB_PROFILE_KEYS, runNab, type NabProfileResult, type NabSearch } from '../evaluate/nab-run.js';
import { loadNabProfiles, loadNabResults, loadNabThresholds } from '../evaluate/nab-corpus.js';
import { readNabWindows } from '../ingest/nab.js';
import { writeEvalPlots, type EvalPlotData } from '../report/plots.js';
import { action } from './output.js';

interface EvalOptions {
  scores?: string;
  labels?: string;
  threshold?: string;
  slidingWindow?: string;
  labelRule?: string;
  window?: string;
  plots?: string;
  json?: boolean;
}

interface NabScoringOptions {
  nab: string;
  results?: string;
  detector: string;
  search: string;
  optimize?: boolean;
  json?: boolean;
}

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

function parseNumberOption(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (integer && (!Number.isInteger(v) || v < 0))) {
    throw new SeismoError('ERR_INVALID_OPTION', `--${name} must be ${integer ? 'a non-negative integer' : 'a finite number'}, got '${raw}'`);
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

/** The label rule as `--help` and the README state it. */
export const LABEL_RULE_HELP =
  "which label a score is judged against: any (default; anomalous when any row of its window is labelled 1) | last (its last row's label: forecasters, per-row scores)";

const ROWS: Array<[keyof EvaluationResult, string]> = [
  ['rocAuc', 'ROC AUC'],
  ['prAuc', 'PR AUC (average precision)'],
  ['vusRoc', 'VUS-ROC'],
  ['vusPr', 'VUS-PR'],
  ['precision', 'precision'],
  ['recall', 'recall'],
  ['f1', 'F1'],
  ['f2', 'F2'],
  ['f05', 'F0.5'],
  ['paPrecision', 'point-adjusted precision'],
  ['paRecall', 'point-adjusted recall'],
  ['paF1', 'point-adjusted F1 (optimistic)'],
  ['rangePrecision', 'range precision'],
  ['rangeRecall', 'range recall'],
  ['rangeF1', 'range F1'],
  ['affiliationPrecision', 'affiliation precision'],
  ['affiliationRecall', 'affiliation recall'],
  ['bestF1', 'best F1'],
  ['bestF1Threshold', 'best-F1 threshold'],
];

function fmt(v: unknown): string {
  if (typeof v !== 'number') return String(v);
  return Number.isInteger(v) ? String(v) : v.toFixed(6);
}

/** Prints a command's text (or only its JSON with `--json`, through {@link action}). */
function run<O extends { json?: boolean }>(work: (opts: O) => { json: unknown; text: string[] }) {
  return action<O, []>(async (opts) => {
    const out = work(opts);
    if (!opts.json) process.stdout.write(`${out.text.join('\n')}\n`);
    return out.json as Record<string, unknown>;
  });
}

const SEARCH_NAMES: Record<string, string> = {
  given: 'given: config/thresholds.json',
  local: "local: NAB v1.0's hill-climb from 0.5, as the published scores",
  exact: 'exact: the global optimum over every distinct score',
};

function nabTable(detector: string, results: Record<string, NabProfileResult>): string[] {
  const lines = [`NAB scores of ${detector} (null detector 0, perfect 100)`, ''];
  const sources = [...new Set(Object.values(results).map((r) => r.thresholdSource))];
  lines.splice(1, 0, `thresholds: ${sources.map((s) => SEARCH_NAMES[s] ?? s).join('; ')}`);
  lines.push(`${'profile'.padEnd(20)} ${'score'.padStart(9)} ${'raw'.padStart(10)} ${'threshold'.padStart(20)}  source     TP     FP      FN`);
  for (const r of Object.values(results)) {
    lines.push(
      `${r.profile.padEnd(20)} ${r.normalized.toFixed(3).padStart(9)} ${r.rawScore.toFixed(3).padStart(10)} ${String(r.threshold).padStart(20)}  ${r.thresholdSource.padEnd(9)} ${String(r.counts.tp).padStart(5)} ${String(r.counts.fp).padStart(6)} ${String(r.counts.fn).padStart(7)}`,
    );
  }
  return lines;
}

/**
 * Adds `seismo eval` (and `seismo eval nab`) to a commander program.
 *
 * `eval` prints a table of every metric, or with `--json` exactly `{"metrics": {...}}`.
 * `eval nab` prints NAB's normalised score per profile, or with `--json`
 * `{"standard": x, "rewardLowFP": y, "rewardLowFN": z, "thresholds": {...}, "search": {...}}`; it
 * uses the detector's thresholds from config/thresholds.json when listed there (unless
 * `--optimize`), else searches them: NAB v1.0's local search by default (what the published
 * leaderboard used, for comparability), the exact global optimum with `--search exact`.
 * Errors go to stderr as `seismo: ERR_CODE: message`, with exit code 1.
 */
export function registerEval(program: Command): void {
  const cmd = program
    .command('eval')
    .description('evaluate anomaly scores against labels (ROC/PR AUC, VUS, point, point-adjusted, range, affiliation, best F1)')
    .option('--scores <csv>', 'scores CSV: timestamp,score[,threshold][,anomaly][,window],...')
    .option('--labels <csv>', 'labels CSV: timestamp,label (0/1)[,<channel> (0/1)...]; joined on the timestamp text; channel columns add HitRate@100%/@150%')
    .option('--threshold <x>', 'threshold for the threshold metrics (score >= x); default: the anomaly or threshold column, else best F1')
    .option('--sliding-window <n>', 'VUS buffer width in points (TSB-AD slidingWindow)', '100')
    .option('--label-rule <rule>', LABEL_RULE_HELP, 'any')
    .option('--window <n>', "label rows each score covers, ending at its timestamp, when the scores CSV has no window column (default 1; seismo detect --out writes it)")
    .option('--plots <dir>', 'write PNG and SVG plots there: score histogram, ROC, PR, score timeline, channel contributions of the strongest event')
    .option('--json', 'print {"metrics": {...}} on stdout (and "plots": [files] with --plots)')
    .action(
      run<EvalOptions>((opts) => {
        if (!opts.scores || !opts.labels) {
          throw new SeismoError('ERR_INVALID_OPTION', 'give both --scores <csv> and --labels <csv> (or use `seismo eval nab`)');
        }
        const result = evaluateCsvFiles(opts.scores, opts.labels, {
          threshold: parseNumberOption('threshold', opts.threshold, false),
          slidingWindow: parseNumberOption('sliding-window', opts.slidingWindow, true),
          labelRule: parseLabelRule(opts.labelRule, '--label-rule'),
          window: parseNumberOption('window', opts.window, true),
        });
        const m = result.metrics;
        const text = [
          `${m.points} labelled points: scores judged by label rule '${m.labelRule}' over the rows each covers (${m.covers}); ${m.unlabelled} score rows without a label skipped`,
          `${m.unscoredRows} labelled rows no score covers` +
            (m.unscoredAnomalies > 0 ? `, ${m.unscoredAnomalies} of them anomalous: counted as missed anomalies (recall)` : ''),
          `threshold metrics from ${m.thresholdSource}` + (m.threshold === null ? '' : ` at ${m.threshold}`) + `; VUS window ${m.slidingWindow}`,
          `confusion: TP ${m.tp}  FP ${m.fp}  TN ${m.tn}  FN ${m.fn}`,
          '',
          ...ROWS.map(([k, name]) => `${name.padEnd(32)} ${fmt(m[k])}`),
        ];
        if (m.hitRate) {
          text.push(
            '',
            `channel attribution (ranked by ${m.hitRate.rankedBy}_<channel> at each window's last row, ${m.hitRate.rows} rows with labelled channels: ${m.hitRate.channels.join(', ')})`,
            `${'HitRate@100%'.padEnd(32)} ${fmt(m.hitRate.hitRate100)}`,
            `${'HitRate@150%'.padEnd(32)} ${fmt(m.hitRate.hitRate150)}`,
            `${'top-1 channel labelled'.padEnd(32)} ${fmt(m.hitRate.top1)}`,
          );
        }
        if (opts.plots) {
          const files = writeEvalPlots(opts.plots, result.joined);
          text.push('', `plots: ${files.filter((f) => f.endsWith('.png')).length} charts (PNG and SVG) in ${opts.plots}`);
          if (result.joined.channels.length === 0) text.push('  (no score_<channel> columns: no channel-contribution plot; write scores with `seismo detect --out`)');
          return { json: { metrics: result.metrics, plots: files }, text };
        }
        return { json: { metrics: result.metrics }, text };
      }),
    );

  cmd
    .command('nab')
    .description("score a detector's NAB results like NAB does (normalised: null detector 0, perfect 100)")
    .requiredOption('--nab <root>', 'NAB checkout: labels/combined_windows.json, config/profiles.json, config/thresholds.json')
    .option('--results <dir>', "results folder holding <detector>/<category>/<detector>_<file>.csv (default: <root>/results)")
    .requiredOption('--detector <name>', 'detector name (folder and file prefix)')
    .option('--search <how>', "threshold search for profiles without a listed threshold: local (NAB v1.0's hill-climb, as published) | exact (global optimum)", 'local')
    .option('--optimize', 'ignore config/thresholds.json and search every profile')
    .option('--json', 'print {"standard": x, "rewardLowFP": y, "rewardLowFN": z, "thresholds": {...}, "search": {...}} on stdout')
    .action(
      run<NabScoringOptions>((opts) => {
        if (opts.search !== 'local' && opts.search !== 'exact') {
          throw new SeismoError('ERR_INVALID_OPTION', `--search must be local or exact, got '${opts.search}'`);
        }
        const files = loadNabResults(opts.results ?? join(opts.nab, 'results'), opts.detector);
        const given = opts.optimize ? {} : (loadNabThresholds(opts.nab, opts.detector) ?? {});
        const results = runNab(files, readNabWindows(opts.nab), loadNabProfiles(opts.nab), given, { search: opts.search as NabSearch });
        const json: Record<string, unknown> = {};
        const thresholds: Record<string, number> = {};
        const search: Record<string, string> = {};
        for (const [profile, r] of Object.entries(results)) {
          const key = (NAB_PROFILE_KEYS as Record<string, string>)[profile] ?? profile;
          json[key] = r.normalized;
          thresholds[key] = r.threshold;
          search[key] = r.thresholdSource;
        }
        json.thresholds = thresholds;
        json.search = search;
        return { json, text: nabTable(opts.detector, results) };
      }),
    );
}
