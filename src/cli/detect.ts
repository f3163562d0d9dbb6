import fs from 'node:fs';
import type { Command } from 'commander';
import { Detector } from '../detector/index.js';
import { fileError, SeismoError } from '../errors.js';
import { formatFloat32, readSeriesCsv, type SeriesTable } from '../ingest/csv.js';
import { scoreTable, type TableScores } from '../score/score-table.js';
import { IntervalMerger, type AnomalyInterval } from '../score/intervals.js';
import { action, checkOutputFile, Progress, say, type CommonOptions } from './output.js';
import { detectOnline, type OnlineDetectOptions } from './detect-online.js';
import { describeRuntime } from '../infer/runtime.js';
import { intOption, PROVIDER_HELP, providerOption, RUNTIME_HELP, runtimeOption } from './options.js';

interface DetectOptions extends CommonOptions, Omit<OnlineDetectOptions, 'json'> {
  model?: string;
  online?: boolean;
  data: string;
  provider: string;
  runtime: string;
  out?: string;
  batchSize?: string;
  threshold?: string;
  stride?: string;
  events?: string;
  gap?: string;
}

/**
 * Puts a table's columns in the model's channel order.
 * @throws SeismoError `ERR_BAD_SHAPE` when the CSV's channels are not the model's.
 */
export function alignChannels(table: SeriesTable, channels: readonly string[]): Float32Array {
  const index = channels.map((name) => table.channels.indexOf(name));
  if (table.channels.length !== channels.length || index.some((i) => i < 0)) {
    throw new SeismoError(
      'ERR_BAD_SHAPE',
      `the data has channels [${table.channels.join(', ')}], the model was trained on [${channels.join(', ')}]; ` +
        'give a CSV with the same channel columns (any order)',
    );
  }
  if (index.every((i, c) => i === c)) return table.frames;
  const C = channels.length;
  const out = new Float32Array(table.frames.length);
  for (let r = 0; r < table.length; r++) for (let c = 0; c < C; c++) out[r * C + c] = table.frames[r * C + index[c]!]!;
  return out;
}

/**
 * Writes one row per scored window: `timestamp,score,threshold,anomaly,score_<channel>...,attr_<channel>...,window`.
 * `timestamp` is the window's last row (where it is reported), `window` the number of rows it
 * covers up to there: what `seismo eval` judges against the labels (its label rule). `score_` is
 * the raw `channel_score`, `attr_` each channel's attribution (what `seismo eval` ranks channels
 * by for HitRate). Every cell but the timestamp is numeric, so the file reads back as a series CSV.
 */
export function writeScoresCsv(file: string, table: SeriesTable, channels: readonly string[], s: TableScores, window: number): void {
  const C = channels.length;
  const lines = [['timestamp', 'score', 'threshold', 'anomaly', ...channels.map((c) => `score_${c}`), ...channels.map((c) => `attr_${c}`), 'window'].join(',')];
  for (let w = 0; w < s.scores.length; w++) {
    const cells = [csvCell(table.timestamps[s.endRows[w]!]!), formatFloat32(s.scores[w]!), formatFloat32(s.thresholds[w]!), s.anomalies[w] ? '1' : '0'];
    for (let c = 0; c < C; c++) cells.push(formatFloat32(s.channelScores[w * C + c]!));
    for (let c = 0; c < C; c++) cells.push(formatFloat32(s.attribution[w * C + c]!));
    cells.push(String(window));
    lines.push(cells.join(','));
  }
  try {
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
  } catch (err) {
    throw fileError(file, err, 'write');
  }
}

/** An interval with its timestamps as the CSV's text. */
export interface IntervalRow extends Omit<AnomalyInterval, 'start' | 'end' | 'peakTimestamp'> {
  start: string;
  end: string;
  peakTimestamp: string;
}

/** Puts an interval's timestamps back into the input's text (they are the rows' parsed times). */
export function intervalRows(intervals: readonly AnomalyInterval[], table: Pick<SeriesTable, 'time' | 'timestamps'>): IntervalRow[] {
  const text = new Map<number, string>();
  for (let r = 0; r < table.time.length; r++) text.set(table.time[r]!, table.timestamps[r]!);
  const at = (t: number) => text.get(t) ?? String(t);
  return intervals.map((i) => ({ ...i, start: at(i.start), end: at(i.end), peakTimestamp: at(i.peakTimestamp) }));
}

/**
 * Writes one row per anomaly interval:
 * `start,end,peak_timestamp,peak_score,severity,windows,channels` (channels `name:share;...`,
 * largest share first; severity empty when the rule has no single threshold).
 */
export function writeIntervalsCsv(file: string, rows: readonly IntervalRow[]): void {
  const lines = ['start,end,peak_timestamp,peak_score,severity,windows,channels'];
  for (const i of rows) {
    const channels = i.channels.map((c) => `${c.name}:${c.share.toFixed(3)}`).join(';');
    lines.push([csvCell(i.start), csvCell(i.end), csvCell(i.peakTimestamp), formatFloat32(i.peakScore), i.severity === null ? '' : i.severity.toFixed(3), String(i.windows), csvCell(channels)].join(','));
  }
  try {
    fs.writeFileSync(file, `${lines.join('\n')}\n`);
  } catch (err) {
    throw fileError(file, err, 'write');
  }
}

/** One line of text per interval. */
export function describeInterval(i: IntervalRow): string {
  const sev = i.severity === null ? '' : `  severity ${i.severity.toFixed(2)}x`;
  return `${i.start} .. ${i.end}  peak ${i.peakScore.toPrecision(4)} at ${i.peakTimestamp}${sev}  ${i.windows} windows  ${i.channels.map((c) => `${c.name} ${(100 * c.share).toFixed(0)}%`).join(', ')}`;
}

function csvCell(text: string): string {
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function registerDetect(program: Command): void {
  program
    .command('detect')
    .description('score every window of a CSV with a trained model, streaming it through the detector; or, with --online, a raw stream with a model that learns as it goes')
    .option('--model <dir>', 'model directory (model.onnx + model.json); not with --online')
    .requiredOption('--data <csv>', 'series to score: first column timestamp, then the model\'s channels; with --online also - (standard input)')
    .option('--provider <name>', PROVIDER_HELP, 'auto')
    .option('--runtime <name>', RUNTIME_HELP, 'auto')
    .option('--out <csv>', 'write one row per window: timestamp (its last row),score,threshold,anomaly,score_<channel>...,attr_<channel>...,window (rows it covers, up to its timestamp)')
    .option('--batch-size <n>', 'windows per inference call', '64')
    .option('--threshold <x>', 'override the model\'s threshold')
    .option('--stride <n>', 'frames between window starts (default: the model\'s stride)')
    .option('--events <csv>', 'write one row per anomaly interval: start,end,peak_timestamp,peak_score,severity,windows,channels')
    .option('--gap <n>', 'normal windows allowed inside one interval (default: one window\'s length, ceil(window / stride))')
    .option('--json', 'print a JSON summary on stdout')
    .option('--online', 'no model directory: learn from the stream while scoring it (see --kind and the online options)')
    .option('--kind <kind>', 'online: model kind, deepant|dc-vae|lstm-ae|dense-ae', 'deepant')
    .option('--follow', 'online: keep reading what is appended to --data (stop with Ctrl-C, or --idle-exit)')
    .option('--idle-exit <s>', 'online, with --follow: stop once the file has not grown for this many seconds')
    .option('--series <id>', 'online: series id of the rows (default: the file name, or stdin)')
    .option('--series-column <name>', 'online: column that names each row\'s series (many series in one stream)')
    .option('--window <n>', 'online: frames per window (default: the kind\'s)')
    .option('--warmup <n>', 'online: samples per series before it is scored (default: max(4 * window, 256))')
    .option('--learning <mode>', 'online: background|blocking|off (default background)')
    .option('--scorer <name>', 'online: what judges each sample: likelihood (the deep model\'s score as an anomaly likelihood, default) or ensemble (each channel\'s value levels and their succession learnt online, NAB\'s cross-validated setting without the deep score; see docs/benchmarks.md)')
    .option('--scorer-config <json>', 'online, with --scorer ensemble: its options as a JSON file (EnsembleOptions of src/score/ensemble.ts), e.g. {"deep": {"gate": 0.7}} to let the deep model\'s score count')
    .option('--alarms-per-10k <r>', 'online: expected false alarms per 10,000 samples of a series (default 5)')
    .option('--missing <policy>', 'online: missing values: hold|skip|error (default hold)')
    .option('--gaps <policy>', 'online: time gaps: ignore|hold|error (default ignore)')
    .option('--config <json>', 'online: kind hyper-parameters (JSON file)')
    .option('--max-series <n>', 'online: most series of the shared model (default 1024)')
    .option('--save <dir>', 'online: save the detector there at the end (resume with --resume)')
    .option('--resume <dir>', 'online: continue a detector saved with --save')
    .action(
      action<DetectOptions, []>(async (opts) => {
        if (opts.online) {
          if (opts.model) throw new SeismoError('ERR_INVALID_OPTION', '--online learns its own model: drop --model (or drop --online to score with a trained model)');
          return detectOnline(opts);
        }
        if (!opts.model) throw new SeismoError('ERR_INVALID_OPTION', '--model <dir> is required (or --online, to learn from the stream itself)');
        const modelDir = opts.model;
        const provider = providerOption(opts.provider);
        const threshold = opts.threshold === undefined ? undefined : Number(opts.threshold);
        if (threshold !== undefined && !Number.isFinite(threshold)) throw new SeismoError('ERR_INVALID_OPTION', `--threshold must be a number, got '${opts.threshold}'`);
        if (opts.out) checkOutputFile(opts.out, '--out');
        if (opts.events) checkOutputFile(opts.events, '--events');
        const gap = intOption('--gap', opts.gap);
        const events: { timestamp: string; score: number; channels: string[] }[] = [];
        const detector = await Detector.load(modelDir, { provider, runtime: runtimeOption(opts.runtime), batchSize: intOption('--batch-size', opts.batchSize), threshold, stride: intOption('--stride', opts.stride) });
        try {
          const p = detector.provider;
          // Why a provider was skipped is noise on every run of a CPU machine (no CUDA EP): --verbose shows it.
          if (opts.verbose) for (const f of p.fallbacks) process.stderr.write(`provider ${f.provider} not used: ${f.reason}\n`);
          const runtime = detector.runtime;
          process.stderr.write(`scoring on ${describeRuntime(runtime, p.provider)}\n`);
          if (opts.verbose && runtime.reason) process.stderr.write(`native scorer not used: ${runtime.reason}\n`);
          const table = await readSeriesCsv(opts.data);
          const frames = alignChannels(table, detector.channels);
          const progress = new Progress('detect', table.length);
          const t0 = performance.now();
          let scores: TableScores;
          // Anomalous windows merge into intervals as they are scored (the library's merger).
          const merger = IntervalMerger.attach(detector, { maxGap: gap });
          const intervals: AnomalyInterval[] = [];
          merger.on('interval', (i) => intervals.push(i));
          try {
            scores = await scoreTable(detector, table.time, frames, { onProgress: (rows) => progress.update(rows) });
            merger.flush();
          } finally {
            merger.detach();
            progress.stop();
          }
          const rows = intervalRows(intervals, table);
          const seconds = (performance.now() - t0) / 1000;
          const C = detector.channels.length;
          for (let w = 0; w < scores.scores.length; w++) {
            if (!scores.anomalies[w]) continue;
            const cs = scores.attribution.subarray(w * C, (w + 1) * C);
            const top = Array.from(cs.keys()).sort((a, b) => cs[b]! - cs[a]!).slice(0, 3).map((c) => detector.channels[c]!);
            events.push({ timestamp: table.timestamps[scores.endRows[w]!]!, score: scores.scores[w]!, channels: top });
          }
          if (opts.out) writeScoresCsv(opts.out, table, detector.channels, scores, detector.window);
          if (opts.events) writeIntervalsCsv(opts.events, rows);
          say(opts, `${scores.scores.length} windows scored in ${seconds.toFixed(2)} s on ${p.provider}; ${events.length} anomalous (threshold ${detector.thresholdRule.method} ${detector.threshold.toPrecision(4)}) in ${rows.length} intervals:`);
          for (const r of rows.slice(0, 20)) say(opts, `  ${describeInterval(r)}`);
          if (rows.length > 20) say(opts, `  ... ${rows.length - 20} more${opts.events ? ` (all in ${opts.events})` : ' (all with --events <csv>)'}`);
          return {
            model: modelDir,
            provider: p,
            rows: table.length,
            windows: scores.scores.length,
            anomalies: events.length,
            threshold: detector.thresholdRule.toJSON(),
            seconds,
            windowsPerSec: scores.scores.length / seconds,
            out: opts.out ?? null,
            events: events.slice(0, 100),
            intervalCount: rows.length,
            intervals: rows.slice(0, 100),
            eventsFile: opts.events ?? null,
          };
        } finally {
          await detector.close();
        }
      }),
    );
}
