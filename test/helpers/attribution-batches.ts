// Batches of windows through ChannelAttribution.attributeAndLearnBatch, every state the batch path
// touches read back afterwards: what test/native/attribution-batch.test.ts compares between the
// addon's path and the TypeScript loop (in this process, and in one without the addon).
import { ChannelAttribution, FLAGGED_WINDOW, LEARN_WINDOW, SKIP_WINDOW, type ChannelAttributionOptions } from '../../src/score/attribution.js';
import { AttributionMemory } from '../../src/score/top-channels.js';
import { channelLogTermsJs, fitActivityCalibration, fitChannelCalibration, type ChannelTerm } from '../../src/score/channel-terms.js';
import { Random } from '../../src/stats/random.js';

export interface BatchCase {
  term: ChannelTerm;
  /** Running-mean weight of e_c (1: none). */
  average: number;
  activity: ChannelAttributionOptions['activity'] | 'absent';
  memory: boolean;
  /** Logarithms computed beforehand (as the worker does) when the state has a log spec. */
  precomputed: boolean;
  /** Statistics fitted beforehand; else learnt online (the TypeScript loop until they are ready). */
  calibrated: boolean;
  rate?: number;
  margin?: number;
  /** Statistics with non-finite entries (a center of Infinity and NaN, a scale of Infinity): d NaN and infinite in the tracking. */
  oddStats?: boolean;
}

export interface BatchResult {
  rows: Float32Array;
  stats: ReturnType<ChannelAttribution['snapshot']>;
  memoryState: Float32Array | undefined;
  memorySeen: Uint8Array | undefined;
  running: Float64Array | undefined;
  started: Uint8Array | undefined;
}

export const C = 7;
const N = 900;
/** Channels and windows of {@link caseWindows}. */
export const BATCH_SHAPE = { C, N } as const;
const SLOTS = 4;

/**
 * Skewed per-channel errors with a level shift, flat stretches of activity, and values of every
 * kind the graph can hand out: NaN, +-Infinity, 0, negatives, the float32 extremes.
 */
export function caseWindows(seed: number): { cs: Float32Array; scores: Float32Array; activity: Float32Array } {
  const rng = new Random(seed);
  const cs = new Float32Array(N * C);
  const scores = new Float32Array(N);
  const activity = new Float32Array(N * C);
  for (let n = 0; n < N; n++) {
    let total = 0;
    for (let c = 0; c < C; c++) {
      const shift = n >= 450 && c === 2 ? 3 : 0;
      cs[n * C + c] = Math.exp(-3 + c * 0.4 + shift + rng.normal());
      total += cs[n * C + c]!;
      activity[n * C + c] = n % 97 < 5 && c === 1 ? 0 : Math.exp(-1 + 0.3 * rng.normal());
    }
    scores[n] = total;
  }
  const odd = [NaN, Infinity, -Infinity, 0, -0, -2.5, 3.4e38, 1e-45, 1e-30];
  for (let k = 0; k < 60; k++) {
    const n = (k * 131 + 17) % N;
    const c = (k * 5) % C;
    cs[n * C + c] = odd[k % odd.length]!;
    if (k % 4 === 0) activity[((n + 3) % N) * C + c] = odd[(k + 1) % odd.length]!;
    if (k % 7 === 0) scores[(n + 11) % N] = odd[(k + 2) % odd.length]!;
  }
  return { cs, scores, activity };
}

/** Runs one case in batches of uneven sizes with series slots reused (reset) now and then. */
export function runBatchCase(k: BatchCase): BatchResult {
  const { cs, scores, activity } = caseWindows(7);
  const act = k.activity === 'absent' ? undefined : activity;
  const options: ChannelAttributionOptions = { term: k.term, average: k.average, warmup: 40, ...(k.activity !== 'absent' ? { activity: k.activity } : {}), ...(k.rate !== undefined ? { rate: k.rate } : {}), ...(k.margin !== undefined ? { activityMargin: k.margin } : {}) };
  let calibration;
  if (k.calibrated) {
    const fit = caseWindows(8);
    calibration = fitChannelCalibration(fit.cs, fit.scores, C, k.term, k.average);
    if (calibration && act) calibration.activity = fitActivityCalibration(fit.activity, C);
    if (calibration && k.oddStats) {
      calibration.center[1] = Infinity;
      calibration.center[3] = NaN;
      calibration.scale[2] = Infinity;
      if (calibration.activity) {
        calibration.activity.center[0] = -Infinity;
        calibration.activity.scale[3] = NaN;
      }
    }
  }
  const state = new ChannelAttribution(C, calibration, options, SLOTS);
  const memory = k.memory ? new AttributionMemory(SLOTS, C, 0.3) : undefined;
  const rows = new Float32Array(N * C).fill(NaN);
  const rng = new Random(11);
  const decisions = new Uint8Array(N);
  const slots = new Int32Array(N);
  let first = 0;
  let batch = 0;
  while (first < N) {
    const n = Math.min(N - first, 1 + Math.floor(rng.uniform(0, 90)));
    for (let i = 0; i < n; i++) {
      const u = rng.uniform(0, 1);
      decisions[i] = u < 1 / 30 ? SKIP_WINDOW : u < 1 / 10 ? FLAGGED_WINDOW : LEARN_WINDOW;
      slots[i] = Math.floor(rng.uniform(0, SLOTS));
    }
    // A series replaced by another in its slot: its running means and memory forgotten.
    if (batch % 5 === 4) {
      const slot = batch % SLOTS;
      state.reset(slot);
      memory?.reset(slot);
    }
    const bcs = cs.subarray(first * C, (first + n) * C);
    const bscores = scores.subarray(first, first + n);
    const bact = act?.subarray(first * C, (first + n) * C);
    let logTerms: Float64Array | undefined;
    if (k.precomputed && state.logSpec) {
      logTerms = new Float64Array(n * C);
      channelLogTermsJs(state.logSpec, bcs, bscores, n, C, logTerms);
    }
    state.attributeAndLearnBatch(bcs, bscores, bact, n, decisions, slots, rows.subarray(first * C, (first + n) * C), logTerms, memory);
    first += n;
    batch++;
  }
  const inner = state as unknown as { running?: Float64Array; started?: Uint8Array };
  return { rows, stats: state.snapshot(N), memoryState: memory?.state, memorySeen: memory?.seen, running: inner.running, started: inner.started };
}

/** Every case the tests run: each term, activity mode, running mean or not, memory or not. */
export function batchCases(): BatchCase[] {
  const out: BatchCase[] = [];
  for (const term of ['channel-score', 'channel-score-squared', 'channel-score-times-score'] as ChannelTerm[]) {
    for (const activity of ['two-sided', 'low', 'none', 'absent'] as const) {
      for (const average of [0.2, 1]) {
        for (const memory of [true, false]) {
          out.push({ term, average, activity, memory, precomputed: average === 1 && memory, calibrated: !(activity === 'low' && !memory), ...(activity === 'low' ? { margin: 1, rate: 0.01 } : {}), ...(activity === 'none' && !memory ? { rate: 0 } : {}) });
        }
      }
    }
  }
  out.push({ term: 'channel-score-squared', average: 0.2, activity: 'two-sided', memory: true, precomputed: false, calibrated: true, oddStats: true });
  out.push({ term: 'channel-score', average: 1, activity: 'low', memory: false, precomputed: true, calibrated: true, oddStats: true });
  return out;
}

/** A result as plain JSON (every float by its bits), to send from a child process. */
export function resultBits(r: BatchResult): string {
  const hex = (a: ArrayBufferView | undefined) => (a ? Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex') : null);
  const f64 = (v: number[] | undefined) => (v ? hex(Float64Array.from(v)) : null);
  return JSON.stringify({
    rows: hex(r.rows),
    center: f64(r.stats?.center),
    scale: f64(r.stats?.scale),
    activityCenter: f64(r.stats?.activity?.center),
    activityScale: f64(r.stats?.activity?.scale),
    memoryState: hex(r.memoryState),
    memorySeen: hex(r.memorySeen),
    running: hex(r.running),
    started: hex(r.started),
  });
}
