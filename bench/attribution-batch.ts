/**
 * The main thread's channel attribution of a stride-1 batch, measured alone: the addon's batch call
 * (native/log_terms_attribution.h) against the TypeScript loop it replaces, on what a DC-VAE step
 * batch hands the detector (8 channels, `e_c = channel_score^2` with a running mean of weight 0.2
 * per series, the worker's `channel_activity`, the attribution memory, ~1 window in 20 flagged),
 * 100 series round robin in batches of 1,024 windows. Rounds alternate between the two paths on
 * the same state (the statistics keep tracking); each figure is the median over rounds, in
 * nanoseconds of CPU per window. Both paths give the same bits (test/native/attribution-batch.test.ts).
 *
 *   node dist/bench/attribution-batch.js [--series 100] [--batch 1024] [--channels 8] [--rounds 7] [--ms 300]
 *     [--shape step|per-record]
 *   node dist/bench/attribution-batch.js --stream [--model DIR] [--series 100] [--rounds 5] [--seconds 2]
 *
 * (From dist/, after `npm run build`: under tsx the TypeScript loop measured twice as slow.)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../src/detector/index.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { ChannelAttribution, FLAGGED_WINDOW, LEARN_WINDOW, nativeAttributionBatchCount, useNativeAttribution } from '../src/score/attribution.js';
import { channelLogTerms, fitActivityCalibration, fitChannelCalibration } from '../src/score/channel-terms.js';
import { AttributionMemory } from '../src/score/top-channels.js';
import { Random } from '../src/stats/random.js';
import { median } from '../src/stats/quantile.js';
import { trainStepReferenceModel } from './step.js';
import { scriptFlags } from './script-flags.js';

export interface AttributionBatchBenchOptions {
  /** Series, each window's slot in turn. Default 100. */
  series?: number;
  /** Windows per batch. Default 1024. */
  batch?: number;
  /** Channels. Default 8. */
  channels?: number;
  /** Rounds per path (alternating). Default 7. */
  rounds?: number;
  /** Milliseconds per round. Default 300. */
  ms?: number;
  /**
   * `step` (default): a DC-VAE step batch as above. `per-record`: what a window-1 kind hands the
   * detector (`e_c = channel_score`, no running mean, so the worker's `ln e_c` are read in place;
   * no activity), e.g. with `--channels 38 --series 1`.
   */
  shape?: 'step' | 'per-record';
}

export interface AttributionBatchBenchResult {
  /** Median CPU nanoseconds per window of the addon's batch call. */
  nativeNsPerWindow: number;
  /** Median CPU nanoseconds per window of the TypeScript loop. */
  typescriptNsPerWindow: number;
  /** typescript / native. */
  speedup: number;
  rounds: { native: number[]; typescript: number[] };
}

export function runAttributionBatchBench(o: AttributionBatchBenchOptions = {}): AttributionBatchBenchResult {
  const S = o.series ?? 100;
  const B = o.batch ?? 1024;
  const C = o.channels ?? 8;
  const rounds = o.rounds ?? 7;
  const ms = o.ms ?? 300;
  const rng = new Random(3);
  // A DC-VAE's outputs: channel_score a standardised residual |x - mu| / sigma / C, score their sum.
  const batches = 8;
  const cs = new Float32Array(batches * B * C);
  const scores = new Float32Array(batches * B);
  const activity = new Float32Array(batches * B * C);
  for (let n = 0; n < batches * B; n++) {
    let total = 0;
    for (let c = 0; c < C; c++) {
      const v = Math.abs(rng.normal()) / C;
      cs[n * C + c] = v;
      total += v;
      activity[n * C + c] = Math.exp(-1 + 0.3 * rng.normal());
    }
    scores[n] = total;
  }
  const perRecord = o.shape === 'per-record';
  const term = perRecord ? 'channel-score' : 'channel-score-squared';
  const average = perRecord ? 1 : 0.2;
  const calibration = fitChannelCalibration(cs, scores, C, term, average)!;
  if (!perRecord) calibration.activity = fitActivityCalibration(activity, C);
  const state = new ChannelAttribution(C, calibration, { term, average }, S);
  // The worker's ln e_c, computed beforehand as it does (no running mean: the state has a log spec).
  const logTerms = perRecord ? new Float64Array(batches * B * C) : undefined;
  if (logTerms) channelLogTerms(state.logSpec!, cs, scores, batches * B, C, logTerms);
  const memory = new AttributionMemory(S, C, 0.3);
  const decisions = new Uint8Array(B);
  const slots = new Int32Array(B);
  for (let i = 0; i < B; i++) {
    decisions[i] = rng.uniform(0, 1) < 0.05 ? FLAGGED_WINDOW : LEARN_WINDOW;
    slots[i] = i % S;
  }
  const out = new Float32Array(B * C);
  let k = 0;
  const round = (native: boolean): number => {
    useNativeAttribution(native);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    let windows = 0;
    while (performance.now() - t0 < ms) {
      const b = k++ % batches;
      state.attributeAndLearnBatch(cs.subarray(b * B * C, (b + 1) * B * C), scores.subarray(b * B, (b + 1) * B), perRecord ? undefined : activity.subarray(b * B * C, (b + 1) * B * C), B, decisions, slots, out, logTerms?.subarray(b * B * C, (b + 1) * B * C), memory);
      windows += B;
    }
    // CPU time, not wall time: the machine is shared, and what is measured here is one thread's work.
    const cpu = process.cpuUsage(cpu0);
    return ((cpu.user + cpu.system) * 1000) / windows;
  };
  const before = nativeAttributionBatchCount();
  round(true);
  round(false);
  const native: number[] = [];
  const typescript: number[] = [];
  for (let r = 0; r < rounds; r++) {
    if (r % 2 === 0) {
      native.push(round(true));
      typescript.push(round(false));
    } else {
      typescript.push(round(false));
      native.push(round(true));
    }
  }
  useNativeAttribution(true);
  if (nativeAttributionBatchCount() === before) throw new Error('the addon took no batch (is it built and loadable?)');
  const nativeNsPerWindow = median(native);
  const typescriptNsPerWindow = median(typescript);
  return { nativeNsPerWindow, typescriptNsPerWindow, speedup: typescriptNsPerWindow / nativeNsPerWindow, rounds: { native, typescript } };
}

export interface AttributionStreamBenchOptions {
  /** Model directory with a step graph; default: bench/step.ts's reference DC-VAE, trained 1 epoch into a temporary directory. */
  model?: string;
  /** Series. Default 100. */
  series?: number;
  /** Rounds per path (alternating). Default 5. */
  rounds?: number;
  /** Seconds per round. Default 2. */
  seconds?: number;
}

/**
 * The same comparison end to end: a stride-1 Detector on the step graph (one new point per series
 * per tick, batches of 4,096, as the step bench's step side), its attribution switched between
 * the addon and the TypeScript loop in alternating rounds of one process. CPU per scored point
 * (both threads), medians over rounds.
 */
export async function runAttributionStreamBench(o: AttributionStreamBenchOptions = {}): Promise<{ nativeCpuUsPerPoint: number; typescriptCpuUsPerPoint: number; rounds: { native: number[]; typescript: number[] } }> {
  const S = o.series ?? 100;
  const rounds = o.rounds ?? 5;
  const seconds = o.seconds ?? 2;
  let dir = o.model;
  let tmp: string | undefined;
  if (dir === undefined) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-attribution-stream-'));
    dir = tmp;
    await trainStepReferenceModel(dir, (line) => console.error(line));
  }
  const W = readModelDir(dir).manifest.window;
  const C = 8;
  const batchSize = 4096;
  const stream = generateSeries({ length: 4096, channels: C, seed: 2, anomalies: [] }).table.frames;
  const detector = await Detector.load(dir, { stride: 1, maxSeries: S, capacity: Math.max(2 * W, W + 3 * Math.ceil(batchSize / S)), batchSize });
  const ids = Array.from({ length: S }, (_, i) => `s${i}`);
  let t = 0;
  let pushed = 0;
  const round = async (native: boolean): Promise<number> => {
    useNativeAttribution(native);
    const t0 = performance.now();
    const cpu0 = process.cpuUsage();
    const before = detector.stats().windowsScored;
    while (performance.now() - t0 < seconds * 1000) {
      const row = (t % 4096) * C;
      const frame = stream.subarray(row, row + C);
      for (let i = 0; i < S; i++) detector.push(ids[i]!, t, frame);
      t++;
      pushed += S;
      await detector.drain();
      if (pushed - S * (W - 1) - detector.stats().windowsScored > Math.max(4 * batchSize, 2 * S)) await detector.flush();
    }
    await detector.flush();
    const cpu = process.cpuUsage(cpu0);
    return (cpu.user + cpu.system) / (detector.stats().windowsScored - before);
  };
  try {
    await round(true);
    await round(false);
    const native: number[] = [];
    const typescript: number[] = [];
    for (let r = 0; r < rounds; r++) {
      for (const path of r % 2 === 0 ? [true, false] : [false, true]) (path ? native : typescript).push(await round(path));
    }
    return { nativeCpuUsPerPoint: median(native), typescriptCpuUsPerPoint: median(typescript), rounds: { native, typescript } };
  } finally {
    useNativeAttribution(true);
    await detector.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const flags = scriptFlags({ booleans: ['stream'], strings: ['model', 'shape'], numbers: ['series', 'batch', 'channels', 'rounds', 'ms', 'seconds'] });
  if (flags.stream) {
    void runAttributionStreamBench({ model: flags.model, series: flags.series, rounds: flags.rounds, seconds: flags.seconds }).then((r) => {
      console.log(JSON.stringify(r));
      console.log(`stride-1 stream, CPU per point: addon ${r.nativeCpuUsPerPoint.toFixed(3)} us, TypeScript ${r.typescriptCpuUsPerPoint.toFixed(3)} us`);
    });
  } else {
    const shape = flags.shape;
    if (shape !== undefined && shape !== 'step' && shape !== 'per-record') throw new Error(`--shape ${shape}: expected step or per-record`);
    const r = runAttributionBatchBench({ series: flags.series, batch: flags.batch, channels: flags.channels, rounds: flags.rounds, ms: flags.ms, shape });
    console.log(JSON.stringify(r));
    console.log(`attribution, CPU per window: addon ${r.nativeNsPerWindow.toFixed(0)} ns, TypeScript ${r.typescriptNsPerWindow.toFixed(0)} ns (${r.speedup.toFixed(1)}x)`);
  }
}
