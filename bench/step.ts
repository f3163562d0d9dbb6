/**
 * Stride-1 scoring through the step graph against the window graph, in one run so that the ratio
 * is fair on a shared machine: for each series count, two Detectors on the same model directory
 * (one with `stepGraph: false`) stream the same series, one new point per series per tick, and
 * report scored points per second. Rounds alternate between the two; each figure is the median
 * over rounds. Series continue from round to round, so every round after the first measures warm
 * states (the window path has no state to warm).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../src/detector/index.js';
import { stepSizes } from '../src/infer/step-state.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { median } from '../src/stats/quantile.js';
import { trainToDir } from '../training/train-to-dir.js';

export interface StepBenchOptions {
  /** Model directory with a step graph; default: the reference model of `kind`, trained 1 epoch. */
  model?: string;
  /**
   * Kind of the reference model trained when `model` is not given: 'dc-vae' (default; window 64,
   * depth 5, 8 channels) or 'deepant' (its defaults: window 48, kernel 2, pool 2, filters
   * [32, 32], hidden 40; 8 channels).
   */
  kind?: StepBenchKind;
  /** Series counts. Default 1, 100, 10000. */
  series?: number[];
  /** Windows per inference call of the window path. Default 64 (the Detector's default). */
  batchSize?: number;
  /**
   * Windows per inference call of the step path. Default 4096: a step call advances each series
   * of the batch by all its frames in the batch (T), so larger batches share a call's fixed cost
   * (its operators, the message to and from the worker) among more points: at 100 series a batch
   * of 4096 windows is ~41 frames per series per call, against ~10 at 1024 (the scorer alone:
   * 1.3-2.4x the frames per second).
   */
  stepBatchSize?: number;
  /** Measurement rounds per path and series count. Default 5. */
  rounds?: number;
  /** Seconds per round. Default 2. */
  seconds?: number;
  log?: (line: string) => void;
}

export interface StepBenchRow {
  series: number;
  /** Median points scored per second through the step graph. */
  stepPointsPerSec: number;
  /** The same through the window graph. */
  windowPointsPerSec: number;
  /** Ratio of the medians. */
  ratio: number;
  /** Median of the per-round ratios (step round over the window round right after it): steadier when the machine's load changes between rounds. */
  roundRatio: number;
  /** Share of the step detector's windows that the step graph scored (the others went through the window graph). */
  steppedShare: number;
  rounds: { step: number[]; window: number[] };
}

export interface StepBenchResult {
  model: { dir: string | null; kind: string; window: number; channels: number; hyperParameters: Record<string, unknown> };
  batchSize: number;
  stepBatchSize: number;
  /** Bytes of step state per series (per-layer rings of (k-1)d+1 columns), and the least any cache of the dilated layers needs ((k-1)d columns). */
  stateBytesPerSeries: number;
  minimalStateBytesPerSeries: number;
  rows: StepBenchRow[];
  machine: { cpus: number; cpuModel: string; node: string; loadAvg1m: number };
}

/** Kinds with a step graph that the bench can train a reference model of. */
export type StepBenchKind = 'dc-vae' | 'deepant';

/** Kinds accepted by {@link StepBenchOptions.kind}. */
export const STEP_BENCH_KINDS: readonly StepBenchKind[] = ['dc-vae', 'deepant'];

/**
 * The bench's reference model of a kind: a DC-VAE whose window (64) covers its network (depth 5:
 * 63 frames), so it has a step graph; or a DeepAnT with the defaults (no attention).
 */
export async function trainStepReferenceModel(dir: string, log: (line: string) => void, kind: StepBenchKind = 'dc-vae'): Promise<void> {
  const data = generateSeries({ length: 1024, channels: 8, seed: 1, anomalies: [] });
  if (kind === 'deepant') {
    log('training the reference DeepAnT (window 48, kernel 2, pool 2, filters [32, 32], hidden 40, 8 channels) for 1 epoch: its weights only need to exist');
    await trainToDir('deepant', data.table.frames, data.table.channels, dir, { config: { epochs: 1, validationSplit: 0 }, stride: 1 });
    return;
  }
  log('training the reference DC-VAE (window 64, depth 5, filters 32, latent 4, 8 channels) for 1 epoch: its weights only need to exist');
  await trainToDir('dc-vae', data.table.frames, data.table.channels, dir, {
    config: { window: 64, depth: 5, epochs: 1, validationSplit: 0 },
    stride: 1,
  });
}

export async function runStepBench(options: StepBenchOptions = {}): Promise<StepBenchResult> {
  const log = options.log ?? (() => {});
  const batchSize = options.batchSize ?? 64;
  const stepBatchSize = options.stepBatchSize ?? 4096;
  const rounds = options.rounds ?? 5;
  const seconds = options.seconds ?? 2;
  const counts = options.series ?? [1, 100, 10_000];
  let dir = options.model;
  let tmp: string | undefined;
  if (!dir) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-bench-step-'));
    dir = tmp;
    await trainStepReferenceModel(dir, log, options.kind ?? 'dc-vae');
  }
  try {
    const model = readModelDir(dir);
    if (!model.step) {
      throw new Error(`${dir} has no step graph (model.step.onnx): its kind has none, or its window does not cover its receptive field`);
    }
    const W = model.manifest.window;
    const C = model.manifest.channels.length;
    const sizes = stepSizes(model.step.layout);
    const minimal = model.step.layout.layers.reduce((sum, l) => sum + (l.kernel - 1) * l.dilation * l.in, 0);
    const stream = generateSeries({ length: 4096, channels: C, seed: 2, anomalies: [] }).table.frames;
    const rows: StepBenchRow[] = [];
    for (const S of counts) {
      // Rings of two windows per series, or of a window and three step batches' share of a series
      // (so that two batches in flight do not fill them): the stream is written tick by tick and
      // drained, so no series runs far ahead; larger rings would only cost memory at 10,000 series.
      const common = { stride: 1, maxSeries: S, capacity: Math.max(2 * W, W + 3 * Math.ceil(stepBatchSize / S)) };
      const detectors = { step: await Detector.load(dir, { ...common, batchSize: stepBatchSize }), window: await Detector.load(dir, { ...common, batchSize, stepGraph: false }) };
      const ticks = { step: 0, window: 0 };
      const ids = Array.from({ length: S }, (_, i) => `s${i}`);
      const round = async (which: 'step' | 'window'): Promise<number> => {
        const d = detectors[which];
        const before = d.stats().windowsScored;
        const t0 = performance.now();
        // Backlog bounded to a few batches (or ticks): what is pending when the time is up is
        // scored within the round (flush), so an unbounded backlog would only make rounds long.
        const lag = Math.max(4 * d.batchSize, 2 * S);
        let pushed = d.stats().framesPushed;
        while (performance.now() - t0 < seconds * 1000) {
          const t = ticks[which]++;
          const row = (t % 4096) * C;
          const frame = stream.subarray(row, row + C);
          for (let i = 0; i < S; i++) d.push(ids[i]!, t, frame);
          pushed += S;
          await d.drain();
          if (pushed - S * (W - 1) - d.stats().windowsScored > lag) await d.flush();
        }
        await d.flush();
        return (d.stats().windowsScored - before) / ((performance.now() - t0) / 1000);
      };
      const rates = { step: [] as number[], window: [] as number[] };
      try {
        // Warm-up: fills every series' first window (and the step states), sessions, JIT.
        for (const which of ['step', 'window'] as const) {
          while (ticks[which] < W) {
            for (let i = 0; i < S; i++) detectors[which].push(ids[i]!, ticks[which], stream.subarray((ticks[which] % 4096) * C, (ticks[which] % 4096 + 1) * C));
            ticks[which]++;
            await detectors[which].drain();
          }
          await detectors[which].flush();
        }
        for (let r = 0; r < rounds; r++) {
          rates.step.push(await round('step'));
          rates.window.push(await round('window'));
          log(`${S} series, round ${r + 1}/${rounds}: step ${rates.step.at(-1)!.toFixed(0)} points/s, window ${rates.window.at(-1)!.toFixed(0)} points/s`);
        }
        const stats = detectors.step.stats();
        const step = median(rates.step);
        const win = median(rates.window);
        const roundRatio = median(rates.step.map((x, k) => x / rates.window[k]!));
        rows.push({ series: S, stepPointsPerSec: step, windowPointsPerSec: win, ratio: step / win, roundRatio, steppedShare: stats.windowsStepped / Math.max(1, stats.windowsScored), rounds: rates });
      } finally {
        await detectors.step.close();
        await detectors.window.close();
      }
    }
    return {
      model: { dir: options.model ?? null, kind: model.manifest.kind, window: W, channels: C, hyperParameters: model.manifest.hyperParameters },
      batchSize,
      stepBatchSize,
      stateBytesPerSeries: 4 * sizes.state,
      minimalStateBytesPerSeries: 4 * minimal,
      rows,
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAvg1m: os.loadavg()[0]! },
    };
  } finally {
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
