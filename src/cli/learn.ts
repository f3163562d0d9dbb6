/**
 * `seismo learn`: streams a CSV through a model with the online framework attached: questions to
 * an expert, update buffers, fine-tuning in a worker, checked versions hot-swapped in. Versions
 * (each a model directory with its weights, so `seismo detect` and a later `seismo learn` can use
 * it) and the label queue go to `--work`.
 *
 * The expert: with `--labels`, a simulated one answers from the labels, within `--budget` answers
 * per `--period` windows and `--delay` windows late (the benchmarks' protocol on your data);
 * without, a person answers with `seismo label --dir <work>` while it runs (answers are imported
 * after every chunk; unanswered questions stay in the queue).
 *
 * Window labels follow `seismo calibrate` and `seismo eval`: a window is reported at, and labelled
 * by, its last frame.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Detector } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import { alignLabels, formatFloat32, readLabelsCsv, readSeriesCsv } from '../ingest/csv.js';
import { readJsonFile } from '../ingest/json-file.js';
import { ExpertSimulator } from '../learn/expert.js';
import { describeUpdate, OnlineLearner, type OnlineLearnerOptions } from '../learn/online.js';
import { answersFromFiles, replayOnline, replayRocAuc } from '../learn/replay.js';
import { alignChannels } from './detect.js';
import { action, checkOutputDir, checkOutputFile, Progress, say, type CommonOptions } from './output.js';
import { intOption, PROVIDER_HELP, providerOption } from './options.js';

interface LearnOptions extends CommonOptions {
  model: string;
  data: string;
  work: string;
  labels?: string;
  anchor?: string;
  budget: string;
  period: string;
  delay: string;
  options?: string;
  out?: string;
  provider: string;
  batchSize?: string;
  series?: string;
  verbose?: boolean;
}

/** Learner options a JSON file may set (`--options`): everything but callbacks and what the command sets itself. */
type FileOptions = Omit<OnlineLearnerOptions, 'workDir' | 'weights' | 'anchor' | 'calibration' | 'onUpdate' | 'onDrift' | 'onQuery' | 'onLabel' | 'onRejectedAnswer'>;

const FILE_OPTION_KEYS = [
  'normalBuffer', 'anomalyBuffer', 'replay', 'replayBelow', 'anchorWindows', 'calibrationWindows', 'minCalibrationWindows', 'heldOut', 'heldOutEvery',
  'keepAlarms', 'uncertainBand', 'queue', 'queriesPerBatch', 'committee', 'fineTune', 'minUpdateWindows', 'regressionTolerance', 'parityTolerance',
  'minAnomaliesToTune', 'thresholdQuantile', 'drift', 'recalibrationSigmas', 'driftCooldown', 'recentScores', 'backend',
] as const satisfies readonly (keyof FileOptions)[];
// Fails to compile when OnlineLearnerOptions gains an option this list does not name.
const everyOptionListed: Exclude<keyof FileOptions, (typeof FILE_OPTION_KEYS)[number]> extends never ? true : never = true;
void everyOptionListed;

function readOptionsFile(file: string | undefined): FileOptions {
  if (!file) return {};
  const raw = readJsonFile(file, 'check --options');
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) throw new SeismoError('ERR_INVALID_OPTION', `--options ${file} must hold a JSON object of OnlineLearner options`);
  for (const key of Object.keys(raw)) {
    if (['workDir', 'weights', 'anchor', 'calibration'].includes(key)) {
      throw new SeismoError('ERR_INVALID_OPTION', `--options ${file}: '${key}' is set by the command (--work, the model directory, --anchor)`);
    }
    if (!(FILE_OPTION_KEYS as readonly string[]).includes(key)) {
      throw new SeismoError('ERR_INVALID_OPTION', `--options ${file}: unknown OnlineLearner option '${key}' (known: ${FILE_OPTION_KEYS.join(', ')})`);
    }
  }
  return raw as FileOptions;
}

export function registerLearn(program: Command): void {
  program
    .command('learn')
    .description('stream a CSV through a model with online learning: expert labels, fine-tuning, hot-swapped versions')
    .requiredOption('--model <dir>', 'the starting model directory (with the weights `seismo train` saves)')
    .requiredOption('--data <csv>', "the stream: first column timestamp, then the model's channels")
    .requiredOption('--work <dir>', 'where versions (v*/ model directories) and the label queue go')
    .option('--labels <csv>', 'timestamp,label: a simulated expert answers from these (else a person, via `seismo label --dir <work>`)')
    .option('--anchor <csv>', "normal data the model was trained on (e.g. train's --data): replayed in every update")
    .option('--budget <n>', 'questions per period', '16')
    .option('--period <n>', 'windows per labelling period', '256')
    .option('--delay <n>', 'simulated expert: windows between a question and its answer', '32')
    .option('--options <json>', 'a JSON file of further OnlineLearner options (buffers, fine-tuning, drift; see the API docs)')
    .option('--out <csv>', 'write one row per window: timestamp,score,normalized,anomaly,version (the version that scored it)')
    .option('--series <id>', "the stream's series id, the first part of a question's key (seriesId@start); default: the data file's name")
    .option('--provider <name>', PROVIDER_HELP, 'auto')
    .option('--batch-size <n>', 'windows per inference call (the mini-batch the learner sees)', '64')
    .option('--verbose', 'print every question, answer and label taken up on stderr')
    .option('--json', 'print a JSON summary on stdout')
    .action(
      action<LearnOptions, []>(async (opts) => {
        const provider = providerOption(opts.provider);
        const budget = intOption('--budget', opts.budget)!;
        const period = intOption('--period', opts.period)!;
        const delay = intOption('--delay', opts.delay)!;
        if (budget < 0 || period <= 0 || delay < 0) throw new SeismoError('ERR_INVALID_OPTION', '--budget and --delay must be >= 0 and --period > 0');
        const fileOptions = readOptionsFile(opts.options);
        if (opts.out) checkOutputFile(opts.out, '--out');
        checkOutputDir(opts.work, '--work');
        const table = await readSeriesCsv(opts.data);
        const rowLabels = opts.labels ? alignLabels(table, await readLabelsCsv(opts.labels)) : undefined;
        const detector = await Detector.load(opts.model, { provider, batchSize: intOption('--batch-size', opts.batchSize) });
        let learner: OnlineLearner | undefined;
        try {
          const frames = alignChannels(table, detector.channels);
          const { window: W, stride } = detector;
          if (table.length < W) throw new SeismoError('ERR_BAD_SHAPE', `${opts.data} has ${table.length} rows, fewer than one window of the model (${W}): nothing to score or learn from`);
          const C = detector.channels.length;
          let anchor: Float32Array | undefined;
          if (opts.anchor) {
            // Non-overlapping windows of the anchor series: each of its frames in one window.
            const a = alignChannels(await readSeriesCsv(opts.anchor), detector.channels);
            const n = Math.floor(a.length / C / W);
            if (n === 0) throw new SeismoError('ERR_BAD_SHAPE', `--anchor ${opts.anchor} is shorter than one window (${W} rows)`);
            anchor = a.subarray(0, n * W * C);
          }
          const seriesId = opts.series ?? path.basename(opts.data, path.extname(opts.data));
          // A window is labelled by its last frame (as calibrate and eval do); windows start at frame k * stride.
          const windowLabel = (start: number): boolean => rowLabels![start + W - 1] === 1;
          const expert = rowLabels ? new ExpertSimulator({ truth: (ref) => windowLabel(ref.start), budget, period, delay }) : answersFromFiles();
          fs.mkdirSync(opts.work, { recursive: true });
          const verbose = (line: string): void => {
            if (opts.verbose) process.stderr.write(`${line}\n`);
          };
          learner = await OnlineLearner.attach(detector, {
            queriesPerBatch: Math.max(1, Math.ceil((budget * detector.batchSize) / period)),
            ...fileOptions,
            queue: { budget, period, persist: true, ...fileOptions.queue },
            workDir: opts.work,
            anchor,
            onQuery: (item) => {
              verbose(`question ${item.key} (${item.reason})`);
              if (expert instanceof ExpertSimulator) expert.ask(item);
            },
            onLabel: (key, anomaly, outcome) => verbose(`answer ${key} ${anomaly ? 'anomaly' : 'normal'} -> ${outcome}`),
            onRejectedAnswer: (a) => process.stderr.write(`skipped answer: ${a.reason}: ${a.line}\n`),
            onUpdate: (u) => process.stderr.write(`${describeUpdate(u)}\n`),
            onDrift: (d) => process.stderr.write(`drift on ${d.on} at window ${d.at} (${d.signal.direction}): ${d.action}\n`),
          });
          const restored = learner.restoredLabels();
          if (restored.length > 0) process.stderr.write(`took up ${restored.length} labels of an earlier run from ${opts.work} (not yet used by an update)\n`);
          for (const key of restored) verbose(`restored ${key}`);
          const pending = learner.queue.pending();
          // Questions an earlier run left unanswered: the simulated expert answers them too (from this run's labels: the same stream).
          if (expert instanceof ExpertSimulator) for (const item of pending) expert.resume(item);
          if (pending.length > 0) process.stderr.write(`${pending.length} questions of an earlier run still pending\n`);
          process.stderr.write(`learning on ${table.length} rows from ${learner.versionName()}; ${rowLabels ? `simulated expert from ${opts.labels}` : `answer with \`seismo label --dir ${opts.work}\``}; versions in ${opts.work}\n`);
          const t0 = performance.now();
          const progress = new Progress('learn', table.length);
          let r;
          try {
            r = await replayOnline(detector, learner, expert, table.time, frames, { seriesId, onProgress: (rows) => progress.update(rows, `${learner!.versionName()}, ${learner!.stats().updates} updates`) });
          } finally {
            progress.stop();
          }
          const seconds = (performance.now() - t0) / 1000;
          const stats = learner.stats();
          if (opts.out) {
            const lines = ['timestamp,score,normalized,anomaly,version'];
            for (let w = 0; w < r.scores.length; w++) {
              lines.push([table.timestamps[w * stride + W - 1], formatFloat32(r.scores[w]!), formatFloat32(r.normalized[w]!), r.alarms[w], learner.versionName(r.versions[w])].join(','));
            }
            fs.writeFileSync(opts.out, `${lines.join('\n')}\n`);
          }
          let figures: { rocAuc: number; rocAucNormalized: number | null; anomalousWindows: number } | undefined;
          if (rowLabels) {
            const y = Uint8Array.from({ length: r.scores.length }, (_, w) => (windowLabel(w * stride) ? 1 : 0));
            const anomalous = y.reduce((a, b) => a + b, 0);
            if (anomalous > 0 && anomalous < y.length) {
              // The normalised figure needs every version calibrated (models from `seismo train` are; older directories may not be).
              const auc = replayRocAuc(y, r);
              figures = { rocAuc: auc.raw, rocAucNormalized: auc.normalized, anomalousWindows: anomalous };
            }
          }
          const live = detector.modelDir;
          say(opts, `${r.scores.length} windows in ${seconds.toFixed(1)} s; ${stats.updates} updates (${stats.rejectedUpdates} rejected, ${stats.recalibrations} recalibrations), ${stats.labels} labels of ${stats.asked} questions; live version ${learner.versionName()}: ${live}`);
          if (figures) {
            const normalized = figures.rocAucNormalized === null ? 'no normalised figure: a version has no calibration' : `normalised scale ${figures.rocAucNormalized.toFixed(4)}`;
            say(opts, `ROC AUC of the online scores ${figures.rocAuc.toFixed(4)} (${normalized}) over ${r.scores.length} windows, ${figures.anomalousWindows} anomalous`);
          }
          if (!rowLabels && learner.queue.size > 0) say(opts, `${learner.queue.size} questions still pending: \`seismo label --dir ${opts.work}\``);
          return {
            model: opts.model,
            work: path.resolve(opts.work),
            rows: table.length,
            windows: r.scores.length,
            seconds,
            liveVersion: learner.versionName(),
            liveModel: path.resolve(live),
            scored: stats.windows,
            asked: stats.asked,
            labels: stats.labels,
            unknownLabels: stats.unknownLabels,
            restoredLabels: stats.restoredLabels,
            rejectedAnswers: stats.rejectedAnswers,
            updates: stats.updates,
            rejectedUpdates: stats.rejectedUpdates,
            recalibrations: stats.recalibrations,
            drifts: stats.drifts,
            pending: learner.queue.size,
            figures: figures ?? null,
            history: learner.history,
            out: opts.out ?? null,
          };
        } finally {
          await learner?.close();
          await detector.close();
        }
      }),
    );
}
