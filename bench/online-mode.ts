/**
 * The online mode's costs, measured in one run:
 * - scale: one shared model, 1 / 100 / 10,000 series (by default): samples/s while learning in
 *   the background, and memory per series (growth of the process's heap and array buffers per
 *   series added, after warm-up, with a breakdown of what the engine allocates per series);
 * - learning cost: the same model and stream scored with learning off and with learning on
 *   (background updates every `updateEvery` admitted windows), in alternating rounds; the ratio
 *   of median windows/s is the price of learning (the issue asks for at least 0.5).
 * Figures are medians of one run on a shared machine: ratios within the run are what compare.
 */
import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { loadNab } from '../src/ingest/nab.js';
import { OnlineDetector, type OnlineDetectorOptions } from '../src/online/index.js';
import { median } from '../src/stats/quantile.js';

export interface OnlineModeBenchOptions {
  /** Series counts of the scale test. Default [1, 100, 10000]. */
  series?: number[];
  /** Model kind. Default deepant. */
  kind?: OnlineDetectorOptions['kind'];
  /** Window. Default 32. */
  window?: number;
  /** Samples scored per series count in the scale test (spread over its series). Default 100,000. */
  samples?: number;
  /** Rounds of the learning-cost comparison (each: one frozen pass, one learning pass). Default 3. */
  rounds?: number;
  /** Samples per pass of the learning-cost comparison (long enough for several updates per pass). Default 200,000. */
  passSamples?: number;
  /** A NAB root: also stream its 58 files through the engine (a fresh detector per file, blocking learning, default policy) and time it. */
  nab?: string;
  log?: (line: string) => void;
}

export interface ScaleRow {
  series: number;
  /** Samples pushed and scored in the timed phase. */
  samples: number;
  samplesPerSec: number;
  /** Growth of heap + external memory per series (bytes): (engine with n series - engine with 1) / (n - 1), after the timed phase; NaN for 1. */
  bytesPerSeries: number;
  updates: number;
}

export interface OnlineModeBenchResult {
  kind: string;
  window: number;
  machine: { cpus: number; loadAvg1m: number };
  scale: ScaleRow[];
  /** What the engine allocates per series, by part (bytes): the measured figure also holds JS objects. */
  perSeriesAllocations: Record<string, number>;
  learning: { frozenWindowsPerSec: number; learningWindowsPerSec: number; ratio: number; updates: number; rounds: number };
  /** With `nab`: wall time of the whole corpus through the engine. */
  nab?: {
    files: number;
    points: number;
    seconds: number;
    /** CPU time of the whole process (every thread: scoring, inference and fine-tuning workers), user + system. */
    cpuSeconds: number;
    pointsPerSec: number;
    updates: number;
    /** Samples skipped for a timestamp not after the previous one (NAB has one such file). */
    disordered: number;
    learning: string;
  };
  protocol: string;
}

/** Deterministic test signal: a daily-like period with noise, per series a phase. */
function sample(series: number, t: number): number {
  const x = Math.sin((2 * Math.PI * (t + 7 * series)) / 48) + 0.3 * Math.sin((2 * Math.PI * t) / 11);
  const h = Math.sin(series * 12.9898 + t * 78.233) * 43758.5453;
  return x + 0.05 * (h - Math.floor(h) - 0.5);
}

/** A full garbage collection (the flag can be set at run time; the function comes from a fresh context). */
const collect: () => void = (() => {
  v8.setFlagsFromString('--expose-gc');
  return vm.runInNewContext('gc') as () => void;
})();

function memory(): number {
  collect();
  const m = process.memoryUsage();
  // `external` holds array buffers and native allocations reported to V8 (the ring arena).
  return m.heapUsed + m.external;
}

export async function runOnlineModeBench(o: OnlineModeBenchOptions = {}): Promise<OnlineModeBenchResult> {
  const log = o.log ?? (() => {});
  const kind = o.kind ?? 'deepant';
  const window = o.window ?? 32;
  const counts = o.series ?? [1, 100, 10000];
  const total = o.samples ?? 100_000;
  const warmup = 2 * window;
  const scale: ScaleRow[] = [];
  let perSeriesAllocations: Record<string, number> = {};
  let baseline = NaN;
  // One engine first, closed: tfjs, onnxruntime and the workers' code are loaded once, outside the measurements.
  await (await OnlineDetector.create({ kind, channels: 1, window })).close();
  for (const n of counts) {
    const start = memory();
    // settle 0: every scored window reaches the normaliser and the alarm rule, whose per-series state is then part of the memory figure.
    const d = await OnlineDetector.create({ kind, channels: 1, window, maxSeries: Math.max(n, 1), policy: { warmup, settle: 0, learning: 'background', initialEpochs: 10 } });
    try {
      // Warm every series up (not timed): its scaler and the model's first fit.
      for (let s = 0; s < n; s++) {
        const id = `s${s}`;
        for (let t = 0; t < warmup; t++) d.push(id, t, [sample(s, t)]);
        if (s % 256 === 255) await d.drain(1 << 16);
      }
      await d.flush();
      const each = Math.max(1, Math.floor(total / n));
      const t0 = performance.now();
      for (let t = warmup; t < warmup + each; t++) {
        for (let s = 0; s < n; s++) d.push(`s${s}`, t, [sample(s, t)]);
        if (n * (t - warmup) % 4096 < n) await d.drain(1 << 15);
      }
      await d.flush();
      const seconds = (performance.now() - t0) / 1000;
      // After scoring: every series' normaliser and threshold state exist by now.
      const used = memory() - start;
      if (n === 1) baseline = used;
      const perSeries = n > 1 && Number.isFinite(baseline) ? (used - baseline) / (n - 1) : NaN;
      const row: ScaleRow = { series: n, samples: each * n, samplesPerSec: (each * n) / seconds, bytesPerSeries: perSeries, updates: d.stats().updates };
      scale.push(row);
      log(`online-mode scale: ${n} series, ${row.samples} samples in ${seconds.toFixed(1)} s = ${row.samplesPerSec.toFixed(0)} samples/s, ${Number.isNaN(perSeries) ? 'n/a' : (perSeries / 1024).toFixed(1)} KiB/series, ${row.updates} updates`);
      const capacity = d.detector().capacity;
      perSeriesAllocations = {
        'rings (frames, mirrored)': capacity * 1 * 4 * 2,
        'ring timestamps': capacity * 8,
        'series state (scaler, tail of window - 1 samples, queues)': 3 * 8 + 4 + (window - 1) * (8 + 4) + 16 * (8 + 4) + 4 * (Math.ceil(window / 4) + 1),
        'alarm-rate threshold state (calibration 1000 + peaks 1000, float64)': 2000 * 8,
        'normaliser (short window of 10 raw scores)': 10 * 8,
      };
    } finally {
      await d.close();
    }
  }

  // Learning cost: two engines on the same model settings and stream, passes alternating.
  const rounds = o.rounds ?? 3;
  const pass = o.passSamples ?? 200_000;
  const seriesN = 16;
  const make = (learning: 'off' | 'background'): Promise<OnlineDetector> =>
    OnlineDetector.create({ kind, channels: 1, window, policy: { warmup: 256, learning, updateEvery: 128, initialEpochs: 10 } });
  const frozen = await make('off');
  const learning = await make('background');
  const frozenRates: number[] = [];
  const learningRates: number[] = [];
  let updates = 0;
  try {
    const clock = new Map<OnlineDetector, number>([[frozen, 0], [learning, 0]]);
    const run = async (d: OnlineDetector): Promise<number> => {
      const from = clock.get(d)!;
      const each = Math.floor(pass / seriesN);
      const before = d.stats().scored;
      const u0 = d.stats().updates;
      const t0 = performance.now();
      for (let t = from; t < from + each; t++) {
        for (let s = 0; s < seriesN; s++) d.push(`s${s}`, t, [sample(s, t)]);
        if (t % 256 === 0) await d.drain(1 << 14);
      }
      await d.flush();
      const seconds = (performance.now() - t0) / 1000;
      clock.set(d, from + each);
      if (d === learning) updates += d.stats().updates - u0;
      return (d.stats().scored - before) / seconds;
    };
    // One untimed pass each: warm-up and the first fit.
    await run(frozen);
    await run(learning);
    for (let r = 0; r < rounds; r++) {
      frozenRates.push(await run(frozen));
      learningRates.push(await run(learning));
      log(`online-mode learning cost, round ${r + 1}: frozen ${frozenRates.at(-1)!.toFixed(0)} windows/s, learning ${learningRates.at(-1)!.toFixed(0)} windows/s (${updates} updates so far)`);
    }
  } finally {
    await frozen.close();
    await learning.close();
  }
  const f = median(frozenRates);
  const l = median(learningRates);
  return {
    kind,
    window,
    machine: { cpus: os.cpus().length, loadAvg1m: os.loadavg()[0]! },
    scale,
    perSeriesAllocations,
    learning: { frozenWindowsPerSec: f, learningWindowsPerSec: l, ratio: l / f, updates, rounds },
    nab: o.nab ? await nabThrough(o.nab, kind, log) : undefined,
    protocol:
      `${kind} window ${window}, 1 channel, one shared model; scale: warm-up ${warmup} samples per series (untimed), then ${total} samples round-robin over the series, learning in the background; ` +
      `memory per series = (heap + external memory of an engine with n series after the timed phase - the same with 1) / (n - 1); learning cost: ${seriesN} series, ${pass} samples per pass, learning off vs background updates every 128 admitted windows (learningShare 0.5), ${rounds} alternating rounds, medians`,
  };
}

/** Streams every NAB file through a fresh online detector (blocking learning: updates at fixed positions) and times the whole. */
async function nabThrough(root: string, kind: OnlineDetectorOptions['kind'], log: (line: string) => void): Promise<NonNullable<OnlineModeBenchResult['nab']>> {
  const corpus = await loadNab(root);
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  let points = 0;
  let updates = 0;
  let disordered = 0;
  for (const [i, series] of corpus.entries()) {
    // NAB has a file with a repeated timestamp: skipped and counted (`disorder`).
    const d = await OnlineDetector.create({ kind, channels: 1, policy: { learning: 'blocking', disorder: 'skip' } });
    try {
      await d.write(series.name, series.table.time, series.table.frames);
      await d.flush();
      points += series.table.length;
      updates += d.stats().updates;
      disordered += d.stats().disordered;
    } finally {
      await d.close();
    }
    log(`online-mode nab: ${i + 1}/${corpus.length} ${series.key} (${series.table.length} points), ${((performance.now() - t0) / 1000).toFixed(0)} s so far`);
  }
  const seconds = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  return { files: corpus.length, points, seconds, cpuSeconds: (cpu.user + cpu.system) / 1e6, pointsPerSec: points / seconds, updates, disordered, learning: "blocking, default policy (disorder: 'skip'), a fresh detector per file" };
}
