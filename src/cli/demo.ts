import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Detector } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import { writeSeriesCsv } from '../ingest/csv.js';
import { describeInterval, intervalRows, writeIntervalsCsv, writeScoresCsv, type IntervalRow } from './detect.js';
import { IntervalMerger, type AnomalyInterval } from '../score/intervals.js';
import { writeEvalPlots, type EvalPlotData } from '../report/plots.js';
import { evaluate } from '../evaluate/index.js';
import { windowLabels } from '../evaluate/inputs.js';
import { generateSeries, type PlantedAnomaly } from '../ingest/synthetic.js';
import { type ProviderRequest } from '../infer/providers.js';
import type { SeriesTable } from '../ingest/csv.js';
import { OnlineDetector } from '../online/online-detector.js';
import { ensembleScorer } from '../online/normalizer.js';
import { ONLINE_SCORERS } from './detect-online.js';
import { scoreTable } from '../score/score-table.js';
import { action, Progress, say, type CommonOptions } from './output.js';
import { trainWithProgress } from './train.js';
import { describeRuntime } from '../infer/runtime.js';
import { intOption, PROVIDER_HELP, providerOption } from './options.js';

interface DemoOptions extends CommonOptions {
  seed: string;
  epochs: string;
  provider: string;
  out?: string;
}

/** The demo's fixed recipe: small enough to train in well under a minute on two cores. */
const DEMO = {
  length: 6144,
  channels: 6,
  window: 32,
  encoderUnits: [32],
  decoderUnits: [16],
  /** Faster than Adam's usual 1e-3, so that the demo converges in a few dozen epochs. */
  learningRate: 3e-3,
  /** Training windows start every 2 frames (half the work, same coverage); scoring uses every frame. */
  trainStride: 2,
};

/** Where the demo writes when `--out` is not given: a folder in the working directory. */
const DEFAULT_OUT = 'seismo-demo';

/**
 * Creates the output folder, or reuses one that is empty or holds an earlier demo's model; any
 * other folder is refused, so that the demo never writes its files among someone's own.
 */
function prepareOut(dir: string): string {
  if (fs.existsSync(dir)) {
    if (!fs.statSync(dir).isDirectory()) throw new SeismoError('ERR_INVALID_OPTION', `--out ${dir} is a file; give a folder`);
    const entries = fs.readdirSync(dir);
    if (entries.length > 0 && !entries.includes('model.json')) {
      throw new SeismoError('ERR_INVALID_OPTION', `--out ${dir} holds files that are not an earlier demo's; give another folder with --out`);
    }
  }
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

/** Commands to try after the demo, with the folder it wrote. */
function nextCommands(dir: string, channels: readonly string[]): string[] {
  return [
    `npx seismo eval --scores ${dir}/scores.csv --labels ${dir}/labels.csv --plots ${dir}/plots   # every metric, and the charts`,
    `npx seismo serve --model ${dir} --work ${dir}/learn --replay synthetic   # live dashboard on http://127.0.0.1:8080/`,
    `npx seismo detect --online --data your.csv --out scores.csv   # your own CSV (timestamp, then one column per channel), no training`,
    `npx seismo train --kind lstm-ae --data your-normal.csv --out model/ && npx seismo detect --model model/ --data your.csv --out scores.csv`,
    `(this model reads ${channels.length} channels: ${channels.join(', ')}; npx seismo detect --model ${dir} --data ${dir}/series.csv scores the demo series again)`,
  ];
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('generate a labelled multichannel series, train an LSTM autoencoder on its normal part, stream the rest and report what it finds')
    .option('--seed <n>', 'seed of the data and the model', '7')
    .option('--epochs <n>', 'maximum training epochs', '30')
    .option('--provider <name>', PROVIDER_HELP, 'auto')
    .option('--out <dir>', 'folder for the model, the series (series.csv, labels.csv), the scores (scores.csv), the anomaly intervals (events.csv) and the plots (plots/); created if missing', DEFAULT_OUT)
    .option('--json', 'print {"ok": true, "command": "demo", "result": {"metrics": {...}, ...}} on stdout')
    .action(
      action<DemoOptions, []>(async (opts) => {
        const seed = intOption('--seed', opts.seed)!;
        const provider = providerOption(opts.provider);
        const series = generateSeries({ length: DEMO.length, channels: DEMO.channels, seed, normalPrefix: 0.5 });
        const { table, labels, anomalies } = series;
        const C = table.channels.length;
        const split = Math.floor(table.length / 2);
        say(opts, `seismo demo: ${table.length} rows x ${C} channels (${table.channels.join(', ')}), ${anomalies.length} planted anomalies after row ${split}`);

        const dir = prepareOut(opts.out ?? DEFAULT_OUT);
        const written: string[] = [];
        const put = (name: string, write: (file: string) => void | Promise<void>) => async () => {
          const file = path.join(dir, name);
          await write(file);
          written.push(file);
        };
        await put('series.csv', (f) => writeSeriesCsv(f, table))();
        await put('labels.csv', (f) => fs.writeFileSync(f, `timestamp,label\n${table.timestamps.map((t, i) => `${t},${labels[i]}`).join('\n')}\n`))();
        const { summary } = await trainWithProgress('lstm-ae', table.frames.subarray(0, split * C), table.channels, dir, {
          config: { window: DEMO.window, encoderUnits: DEMO.encoderUnits, decoderUnits: DEMO.decoderUnits, learningRate: DEMO.learningRate, epochs: intOption('--epochs', opts.epochs), patience: 4 },
          stride: DEMO.trainStride,
          seed,
        });
        say(opts, `trained lstm-ae (window ${DEMO.window}, encoder ${DEMO.encoderUnits}, decoder ${DEMO.decoderUnits}) on tfjs '${summary.backend}': ${summary.epochs} epochs, ${summary.seconds.toFixed(1)} s`);

        const detector = await Detector.load(dir, { provider, stride: 1 });
        try {
          const testTime = table.time.subarray(split);
          const testFrames = table.frames.subarray(split * C);
          const progress = new Progress('stream', testTime.length);
          const t0 = performance.now();
          // Anomalous windows merge into intervals as they are scored, as `seismo detect` does.
          const merger = IntervalMerger.attach(detector);
          const intervals: AnomalyInterval[] = [];
          merger.on('interval', (i) => intervals.push(i));
          const scored = await scoreTable(detector, testTime, testFrames, { chunk: 256, onProgress: (n) => progress.update(n) });
          merger.flush();
          merger.detach();
          progress.stop();
          const seconds = (performance.now() - t0) / 1000;

          // The one label rule (src/evaluate/inputs.ts), default 'any': a window is anomalous when
          // any of its frames is, as `seismo eval` and `calibrate` judge it.
          const judged = windowLabels(labels.subarray(split), scored.endRows, DEMO.window, 'any');
          const m = evaluate(judged.labels, scored.scores, { predictions: scored.anomalies, slidingWindow: DEMO.window });
          const rows = intervalRows(intervals, table);
          const findings = matchPlanted(intervals, rows, table.time, anomalies, table.timestamps, DEMO.window);
          const found = new Set(findings.map((f) => f.matches).filter((x): x is string => x !== null));
          say(opts, `streamed ${scored.scores.length} windows in ${seconds.toFixed(2)} s on ${describeRuntime(detector.runtime, detector.provider.provider)}; threshold ${detector.threshold.toPrecision(4)} (0.995 quantile of validation scores)`);
          say(opts, `anomaly intervals (${scored.anomalies.reduce((a, b) => a + b, 0)} anomalous windows merged; a gap of up to one window's length of normal windows stays inside one interval):`);
          for (const f of findings) say(opts, `  ${describeInterval(f.interval)}  ${f.matches ? `<- planted ${f.matches}` : '(false alarm)'}`);
          say(opts, 'planted:');
          for (const a of anomalies) say(opts, `  ${label(a, table.timestamps)}  channels ${a.channels.map((c) => table.channels[c]).join(', ')}  ${found.has(label(a, table.timestamps)) ? 'found' : 'missed'}`);
          say(opts, `window-level: ROC AUC ${m.rocAuc.toFixed(3)}, PR AUC ${m.prAuc.toFixed(3)}, precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)}, F1 ${m.f1.toFixed(3)} at the stored threshold`);
          const live = { ...table, timestamps: table.timestamps.slice(split) };
          await put('scores.csv', (f) => writeScoresCsv(f, live, detector.channels, scored, detector.window))();
          await put('events.csv', (f) => writeIntervalsCsv(f, rows))();
          const plotData: EvalPlotData = {
            timestamps: Array.from(scored.endRows, (r) => live.timestamps[r]!),
            labels: judged.labels,
            scores: Float64Array.from(scored.scores),
            predictions: scored.anomalies,
            threshold: detector.threshold,
            channels: detector.channels.map((name, c) => ({ name, values: Float64Array.from(scored.endRows, (_, w) => scored.channelScores[w * C + c]!) })),
          };
          const plots = writeEvalPlots(path.join(dir, 'plots'), plotData);
          written.push(path.join(dir, 'plots'));
          say(opts, `wrote to ${dir}/: the model (model.json, model.onnx), ${written.map((f) => path.basename(f)).join(', ')}`);
          const online = await onlineDemo(table, labels, anomalies, seed, provider, (line) => say(opts, line));
          const next = nextCommands(dir, table.channels);
          say(opts, 'next:');
          for (const line of next) say(opts, `  ${line}`);
          return {
            metrics: {
              rocAuc: m.rocAuc, prAuc: m.prAuc, vusRoc: m.vusRoc, vusPr: m.vusPr,
              precision: m.precision, recall: m.recall, f1: m.f1, f2: m.f2,
              rangePrecision: m.rangePrecision, rangeRecall: m.rangeRecall, rangeF1: m.rangeF1,
              bestF1: m.bestF1, threshold: detector.threshold,
            },
            labelRule: 'any',
            labelLevel: 'window (anomalous when any of its frames is labelled)',
            windows: scored.scores.length,
            anomalousWindows: judged.labels.reduce((a, b) => a + b, 0),
            planted: anomalies.map((a) => ({ kind: a.kind, from: table.timestamps[a.start], to: table.timestamps[a.end - 1], channels: a.channels.map((c) => table.channels[c]), found: found.has(label(a, table.timestamps)) })),
            findings: findings.map((f) => ({ ...f.interval, matches: f.matches })),
            training: summary,
            provider: detector.provider,
            streamSeconds: seconds,
            modelDir: dir,
            files: written.filter((f) => !f.endsWith('plots')),
            plots,
            next,
            online,
          };
        } finally {
          await detector.close();
        }
      }),
    );
}

function label(a: PlantedAnomaly, timestamps: string[]): string {
  return `${a.kind} ${timestamps[a.start]} .. ${timestamps[a.end - 1]}`;
}

/**
 * Matches each interval to the planted anomaly it overlaps: an interval's windows cover the rows
 * from `window - 1` rows before its first window's last row to its last window's last row.
 */
function matchPlanted(intervals: AnomalyInterval[], rows: IntervalRow[], time: Float64Array, anomalies: PlantedAnomaly[], timestamps: string[], window: number): { interval: IntervalRow; matches: string | null }[] {
  const rowOf = new Map<number, number>();
  for (let r = 0; r < time.length; r++) rowOf.set(time[r]!, r);
  return intervals.map((iv, k) => {
    const firstRow = rowOf.get(iv.start)! - window + 1;
    const lastRow = rowOf.get(iv.end)!;
    const hit = anomalies.find((a) => a.start <= lastRow && a.end - 1 >= firstRow);
    return { interval: rows[k]!, matches: hit ? label(hit, timestamps) : null };
  });
}

/** The online mode's recipe in the demo: small and deterministic (blocking updates), a few seconds on two cores. */
const ONLINE_DEMO = { window: 32, warmup: 512, config: { filters: [16, 16], hidden: 32 }, updateEvery: 512, initialEpochs: 15, epochs: 2 };

/** One online run of the demo, judged like the trained model above. */
interface OnlineDemoRun {
  scorer: string;
  metrics: { rocAuc: number; prAuc: number; precision: number; recall: number; f1: number; bestF1: number };
  alarms: number;
  /** Planted anomalies with an alarm on a sample whose window covers one of their rows. */
  found: number;
  /** Runs of alarms outside every planted anomaly's windows (a gap of up to one window stays one run). */
  falseAlarmRuns: number;
  scored: number;
  updates: number;
  seconds: number;
}

/**
 * The same series streamed from its first row through the online mode, as `seismo detect --online`
 * runs it: no training file, a DeepAnT that fits itself on the warm-up and keeps learning
 * (guarded) as the stream goes; once with each scorer (`--scorer likelihood`, the default, and
 * `--scorer ensemble`), so that the demo shows what each finds on the same stream.
 */
async function onlineDemo(table: SeriesTable, labels: Uint8Array, anomalies: readonly PlantedAnomaly[], seed: number, provider: ProviderRequest, say: (line: string) => void): Promise<Record<string, unknown>> {
  const C = table.channels.length;
  const W = ONLINE_DEMO.window;
  const from = ONLINE_DEMO.warmup;
  const runs: OnlineDemoRun[] = [];
  for (const scorer of ONLINE_SCORERS) {
    const d = await OnlineDetector.create({
      kind: 'deepant',
      channels: table.channels,
      window: W,
      config: ONLINE_DEMO.config,
      provider,
      policy: { warmup: from, learning: 'blocking', updateEvery: ONLINE_DEMO.updateEvery, initialEpochs: ONLINE_DEMO.initialEpochs, epochs: ONLINE_DEMO.epochs, seed },
      // As `--scorer ensemble` without --scorer-config (src/cli/detect-online.ts).
      scorer: scorer === 'ensemble' ? ensembleScorer(C, { deep: null }, from) : undefined,
    });
    try {
      const normalized = new Float32Array(table.length).fill(NaN);
      const alarms = new Uint8Array(table.length);
      const row = new Map<number, number>(Array.from(table.time, (t, r) => [t, r]));
      d.on('batch', (b) => {
        for (let i = 0; i < b.size; i++) {
          const r = row.get(b.timestamps[i]!)!;
          normalized[r] = b.normalized[i]!;
          alarms[r] = b.anomalies[i]!;
        }
      });
      const t0 = performance.now();
      await d.write('demo', table.time, table.frames);
      await d.flush();
      const seconds = (performance.now() - t0) / 1000;
      // Per scored sample: anomalous when any frame of its window is labelled, as above.
      const y = windowLabels(labels, Int32Array.from({ length: table.length - from }, (_, k) => from + k), W, 'any').labels;
      const m = evaluate(y, normalized.subarray(from), { predictions: alarms.subarray(from), slidingWindow: W });
      const st = d.stats();
      runs.push({
        scorer,
        metrics: { rocAuc: m.rocAuc, prAuc: m.prAuc, precision: m.precision, recall: m.recall, f1: m.f1, bestF1: m.bestF1 },
        alarms: st.alarms,
        ...plantedFound(alarms, anomalies, W),
        scored: st.scored,
        updates: st.updates,
        seconds,
      });
    } finally {
      await d.close();
    }
  }
  const first = runs[0]!;
  say(`online mode (no training file, \`seismo detect --online\`): deepant learning from row 0, scoring from row ${from} (warm-up), ${first.scored} samples, ${first.updates} model versions learnt, alarms at 5 per 10,000 expected by chance; per --scorer:`);
  for (const r of runs) {
    say(
      `  ${r.scorer.padEnd(10)} planted found ${r.found} of ${anomalies.length}, ${r.alarms} alarms, ${r.falseAlarmRuns} runs of false alarms (${r.seconds.toFixed(1)} s)`,
    );
  }
  say('  likelihood judges the deep model\'s forecast error, ensemble each channel\'s value levels and their succession; both learn from a 512-row warm-up what the trained model above learnt from 3072 clean rows (--json has ROC and PR AUC of each)');
  return { kind: 'deepant', window: W, warmup: from, runs };
}

/** Planted anomalies hit by an alarm, and runs of alarms outside them; `alarms[r]` is 1 when the window ending at row r alarmed. */
function plantedFound(alarms: Uint8Array, anomalies: readonly PlantedAnomaly[], window: number): { found: number; falseAlarmRuns: number } {
  // A window ending at row r covers rows r - window + 1 .. r: it overlaps an anomaly [start, end) when start <= r < end + window - 1.
  const covers = (a: PlantedAnomaly, r: number): boolean => r >= a.start && r < a.end + window - 1;
  const found = anomalies.filter((a) => alarms.some((x, r) => x === 1 && covers(a, r))).length;
  let falseAlarmRuns = 0;
  let last = -Infinity;
  for (let r = 0; r < alarms.length; r++) {
    if (alarms[r] !== 1 || anomalies.some((a) => covers(a, r))) continue;
    if (r - last > window) falseAlarmRuns++;
    last = r;
  }
  return { found, falseAlarmRuns };
}
