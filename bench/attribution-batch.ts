/**
 * The main thread's channel attribution of a stride-1 batch, measured alone: the addon's batch call
 * (native/log_terms_attribution.h) against the TypeScript loop it replaces, on what a DC-VAE step
 * batch hands the detector (8 channels, `e_c = channel_score^2` with a running mean of weight 0.2
 * per series, the worker's `channel_activity`, the attribution memory, ~1 window in 20 flagged),
 * 100 series round robin in batches of 1,024 windows. Rounds alternate between the two paths on
 * the same state (the statistics keep tracking); each figure is the median over rounds, in
 * nanoseconds of CPU per window. Both paths give the same bits (test/native/attribution-batch.test.ts).
 *
 *   npx tsx bench/attribution-batch.ts [--series 100] [--batch 1024] [--channels 8] [--rounds 7] [--ms 300]
 */
import { ChannelAttribution, FLAGGED_WINDOW, LEARN_WINDOW, nativeAttributionBatchCount, useNativeAttribution } from '../src/score/attribution.js';
import { fitActivityCalibration, fitChannelCalibration } from '../src/score/channel-terms.js';
import { AttributionMemory } from '../src/score/top-channels.js';
import { Random } from '../src/stats/random.js';
import { median } from '../src/stats/quantile.js';

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
  const calibration = fitChannelCalibration(cs, scores, C, 'channel-score-squared', 0.2)!;
  calibration.activity = fitActivityCalibration(activity, C);
  const state = new ChannelAttribution(C, calibration, { term: 'channel-score-squared', average: 0.2 }, S);
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
      state.attributeAndLearnBatch(cs.subarray(b * B * C, (b + 1) * B * C), scores.subarray(b * B, (b + 1) * B), activity.subarray(b * B * C, (b + 1) * B * C), B, decisions, slots, out, undefined, memory);
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

if (require.main === module) {
  const arg = (name: string): number | undefined => {
    const i = process.argv.indexOf(`--${name}`);
    return i > 0 ? Number(process.argv[i + 1]) : undefined;
  };
  const r = runAttributionBatchBench({ series: arg('series'), batch: arg('batch'), channels: arg('channels'), rounds: arg('rounds'), ms: arg('ms') });
  console.log(JSON.stringify(r));
  console.log(`attribution, CPU per window: addon ${r.nativeNsPerWindow.toFixed(0)} ns, TypeScript ${r.typescriptNsPerWindow.toFixed(0)} ns (${r.speedup.toFixed(1)}x)`);
}
