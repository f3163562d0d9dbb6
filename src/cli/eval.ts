/**
 * `seismo eval`: scores a detector's output against labels.
 *
 *   seismo eval --scores <csv> --labels <csv> [--label-rule any|last] [--window <n>] [--threshold <x>] [--sliding-window <n>] [--json]
 *   seismo eval nab --nab <root> [--results <dir>] --detector <name> [--json]
 */
import { join } from 'node:path';
import type { Command } from 'commander';
import { SeismoError } from '../errors.js';
import type { EvaluationResult } from '../evaluate/index.js';
import { evaluateCsvFiles } from '../evaluate/csv-files.js';
import { parseLabelRule } from '../evaluate/inputs.js';
import { NAB_PROFILE_KEYS, runNab, type NabProfileResult, type NabSearch } from '../evaluate/nab-run.js';
import { loadNabProfiles, loadNabResults, loadNabThresholds } from '../evaluate/nab-corpus.js';
import { readNabWindows } from '../ingest/nab.js';
import { writeEvalPlots } from '../report/plots.js';
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

function parseNumberOption(name: string, raw: string | undefined, integer: boolean): number | undefined {
  if (raw === undefined) return undefined;
  const v = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(v) || (integer && (!Number.isInteger(v) || v < 0))) {
    throw new SeismoError('ERR_INVALID_OPTION', `--${name} must be ${integer ? 'a non-negative integer' : 'a finite number'}, got '${raw}'`);
  }
  return v;
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
    .option('--json', 'print {"ok": true, "command": "eval", "result": {"metrics": {...}}} on stdout (and "plots": [files] in result with --plots)')
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
    .option('--json', 'print {"ok": true, "command": "eval nab", "result": {"standard": x, "rewardLowFP": y, "rewardLowFN": z, "thresholds": {...}, "search": {...}}} on stdout')
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
