import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { Detector } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import { writeSeriesCsv } from '../ingest/csv.js';
import { writeScoresCsv } from './detect.js';
import { evaluate } from '../evaluate/index.js';
import { windowLabels } from '../evaluate/inputs.js';
import { generateSeries, type PlantedAnomaly } from '../ingest/synthetic.js';
import { type ProviderRequest } from '../infer/providers.js';
import type { SeriesTable } from '../ingest/csv.js';
import { OnlineDetector } from '../online/online-detector.js';
import { scoreTable } from '../score/score-table.js';
import { action, Progress, say, type CommonOptions } from './output.js';
import { trainWithProgress } from './train.js';
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
    `seismo eval --scores ${dir}/scores.csv --labels ${dir}/labels.csv --plots ${dir}/plots   # every metric, and the charts`,
    `seismo serve --model ${dir} --work ${dir}/learn --replay synthetic   # live dashboard on http://127.0.0.1:8080/`,
    `seismo detect --online --data your.csv --out scores.csv   # your own CSV (timestamp, then one column per channel), no training`,
    `seismo train --kind lstm-ae --data your-normal.csv --out model/ && seismo detect --model model/ --data your.csv --out scores.csv`,
    `(this model reads ${channels.length} channels: ${channels.join(', ')}; seismo detect --model ${dir} --data ${dir}/series.csv scores the demo series again)`,
  ];
}

/** A run of consecutive anomalous windows, reported as one finding. */
interface Finding {
  from: string;
  to: string;
  peakScore: number;
  channels: string[];
  matches: string | null;
}

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description('generate a labelled multichannel series, train an LSTM autoencoder on its normal part, stream the rest and report what it finds')
    .option('--seed <n>', 'seed of the data and the model', '7')
    .option('--epochs <n>', 'maximum training epochs', '30')
    .option('--provider <name>', PROVIDER_HELP, 'auto')
    .option('--out <dir>', 'folder for the model, the series, its labels, the scores (created if missing)', DEFAULT_OUT)
    .option('--json', 'print {"metrics": {...}, ...} on stdout')
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
          const scored = await scoreTable(detector, testTime, testFrames, { chunk: 256, onProgress: (n) => progress.update(n) });
          progress.stop();
          const seconds = (performance.now() - t0) / 1000;

          // The one label rule (src/evaluate/inputs.ts), default 'any': a window is anomalous when
          // any of its frames is, as `seismo eval` and `calibrate` judge it.
          const judged = windowLabels(labels.subarray(split), scored.endRows, DEMO.window, 'any');
          const m = evaluate(judged.labels, scored.scores, { predictions: scored.anomalies, slidingWindow: DEMO.window });
          const findings = groupFindings(scored, table.timestamps, split, detector.channels, anomalies, DEMO.window);
          const found = new Set(findings.map((f) => f.matches).filter((x): x is string => x !== null));
          say(opts, `streamed ${scored.scores.length} windows in ${seconds.toFixed(2)} s on onnxruntime '${detector.provider.provider}'; threshold ${detector.threshold.toPrecision(4)} (0.995 quantile of validation scores)`);
          say(opts, 'findings:');
          for (const f of findings) say(opts, `  ${f.from} .. ${f.to}  peak ${f.peakScore.toPrecision(4)}  channels ${f.channels.join(', ')}  ${f.matches ? `<- planted ${f.matches}` : '(false alarm)'}`);
          say(opts, 'planted:');
          for (const a of anomalies) say(opts, `  ${label(a, table.timestamps)}  channels ${a.channels.map((c) => table.channels[c]).join(', ')}  ${found.has(label(a, table.timestamps)) ? 'found' : 'missed'}`);
          say(opts, `window-level: ROC AUC ${m.rocAuc.toFixed(3)}, PR AUC ${m.prAuc.toFixed(3)}, precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)}, F1 ${m.f1.toFixed(3)} at the stored threshold`);
          const live = { ...table, timestamps: table.timestamps.slice(split) };
          await put('scores.csv', (f) => writeScoresCsv(f, live, detector.channels, scored, detector.window))();
          say(opts, `wrote to ${dir}/: the model (model.json, model.onnx), ${written.map((f) => path.basename(f)).join(', ')}`);
          const online = await onlineDemo(table, labels, seed, provider, (line) => say(opts, line));
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
            findings,
            training: summary,
            provider: detector.provider,
            streamSeconds: seconds,
            modelDir: dir,
            files: written,
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

/** Merges runs of anomalous windows and matches them to planted anomalies. */
function groupFindings(
  scored: { endRows: Int32Array; scores: Float32Array; channelScores: Float32Array; anomalies: Uint8Array },
  timestamps: string[],
  offset: number,
  channels: readonly string[],
  anomalies: PlantedAnomaly[],
  window: number,
): Finding[] {
  const C = channels.length;
  const findings: Finding[] = [];
  let w = 0;
  while (w < scored.scores.length) {
    if (!scored.anomalies[w]) {
      w++;
      continue;
    }
    let peak = w;
    let end = w;
    while (end + 1 < scored.scores.length && scored.anomalies[end + 1]) {
      end++;
      if (scored.scores[end]! > scored.scores[peak]!) peak = end;
    }
    const firstRow = offset + scored.endRows[w]! - window + 1;
    const lastRow = offset + scored.endRows[end]!;
    const cs = scored.channelScores.subarray(peak * C, (peak + 1) * C);
    const top = Array.from(cs.keys()).sort((a, b) => cs[b]! - cs[a]!).slice(0, 3).map((c) => channels[c]!);
    const hit = anomalies.find((a) => a.start <= lastRow && a.end - 1 >= firstRow);
    findings.push({
      from: timestamps[offset + scored.endRows[w]!]!,
      to: timestamps[lastRow]!,
      peakScore: scored.scores[peak]!,
      channels: top,
      matches: hit ? label(hit, timestamps) : null,
    });
    w = end + 1;
  }
  return findings;
}

/** The online mode's recipe in the demo: small and deterministic (blocking updates), a few seconds on two cores. */
const ONLINE_DEMO = { window: 32, warmup: 512, config: { filters: [16, 16], hidden: 32 }, updateEvery: 512, initialEpochs: 15, epochs: 2 };

/**
 * The same series streamed from its first row through the online mode: no training file, a
 * DeepAnT that fits itself on the warm-up and keeps learning (guarded) as the stream goes.
 */
async function onlineDemo(table: SeriesTable, labels: Uint8Array, seed: number, provider: ProviderRequest, say: (line: string) => void): Promise<Record<string, unknown>> {
  const C = table.channels.length;
  const W = ONLINE_DEMO.window;
  const d = await OnlineDetector.create({
    kind: 'deepant',
    channels: table.channels,
    window: W,
    config: ONLINE_DEMO.config,
    provider,
    policy: { warmup: ONLINE_DEMO.warmup, learning: 'blocking', updateEvery: ONLINE_DEMO.updateEvery, initialEpochs: ONLINE_DEMO.initialEpochs, epochs: ONLINE_DEMO.epochs, seed },
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
    const from = ONLINE_DEMO.warmup;
    // Per scored sample: anomalous when any frame of its window is labelled, as above.
    const y = windowLabels(labels, Int32Array.from({ length: table.length - from }, (_, k) => from + k), W, 'any').labels;
    const m = evaluate(y, normalized.subarray(from), { predictions: alarms.subarray(from), slidingWindow: W });
    const st = d.stats();
    say(`online mode (no training file): deepant learning from row 0, scoring from row ${from} (warm-up), ${st.scored} samples in ${seconds.toFixed(1)} s, ${st.updates} model versions learnt, ${st.alarms} alarms (${d.policy.alarmsPer10k} per 10,000 expected by chance)`);
    say(`  ROC AUC ${m.rocAuc.toFixed(3)}, PR AUC ${m.prAuc.toFixed(3)}, precision ${m.precision.toFixed(3)}, recall ${m.recall.toFixed(3)} of its normalised scores and alarms (try: seismo detect --online --data <csv>)`);
    return {
      metrics: { rocAuc: m.rocAuc, prAuc: m.prAuc, precision: m.precision, recall: m.recall, f1: m.f1, bestF1: m.bestF1 },
      kind: 'deepant', window: W, warmup: from, scored: st.scored, alarms: st.alarms, updates: st.updates, seconds,
    };
  } finally {
    await d.close();
  }
}
