/**
 * Channel attribution: which channels an anomalous window is about, each channel measured against
 * its own normal errors.
 *
 * Every graph outputs `channel_score` `[N, C]`, each channel's part of the window's score. Ranked
 * as they are, those raw parts favour the channels whose error is large in normal times (a noisy
 * or hard-to-model channel), so a quiet channel that breaks ranks below a noisy one that is merely
 * noisy. Attribution compares each channel with itself instead. With `e_c` the channel's error
 * term (below), and `center_c`, `scale_c` the median and robust spread of `ln e_c` over normal
 * windows (fitted at training on the validation windows, like the score calibration, and stored
 * with it in `calibration.json`):
 *
 *     z_c   = (ln max(e_c, 1e-12) - center_c) / scale_c            (the channel's robust z)
 *     share_c = max(z_c, 0) / sum_k max(z_k, 0)                    (1/C each when no z_k > 0)
 *
 * Beside the error, each channel's activity `a_c` (the graph's model-free `channel_activity`,
 * the mean absolute step over the window in scaled units) is compared with its own normal activity
 * the same way, and a channel's evidence is the larger of the two:
 *
 *     z_c = max(z_err_c, |z_act_c|)
 *
 * which is what names a stuck sensor (a flat line is easy for every model to reconstruct or
 * forecast, so its error stays normal; its activity drops to nothing) and a changed frequency.
 * Each series then keeps a running average of its windows' z (`AttributionMemory`).
 *
 * Channels are ranked by `z_c`; an anomaly event lists the top ones with their `share_c`. The log
 * scale is the score calibration's (src/score/calibration.ts): squared or absolute errors are
 * skewed, their logarithms nearly symmetric, so median and MAD describe them and a z of 3 means
 * about the same on every channel. `scale_c` is 1.4826 * MAD (the mean absolute deviation * 1.2533
 * when more than half the values are equal), floored at `MIN_CHANNEL_SCALE`.
 *
 * The error term `e_c` is the channel's squared error as the kind's graph sees it, read from its
 * outputs as the calibration's `term` says (so the detector needs no knowledge of kinds):
 * `channel_score[c]` for the kinds whose score is a sum of per-channel window errors
 * (reconstruction MSE, ...); `channel_score[c]^2` for DC-VAE, whose `channel_score` is the
 * standardised residual `|x - mu| / sigma / C` of the last frame; `channel_score[c] * score` for
 * DeepAnT, whose `channel_score` is a share of a Euclidean norm (`sq_c / ||e||`, which shrinks every
 * channel when one of them breaks) and so recovers the channel's squared forecast error.
 *
 * Where the graph scores one frame per window (DC-VAE, DeepAnT), `e_c` is one draw of a skewed
 * distribution whose log is noisy, and a channel that is somewhat off for many frames (a broken
 * correlation, a shift the model half follows) hardly stands out in any one window. For those
 * kinds each series keeps a running mean of `e_c` over its windows before the logarithm,
 *
 *     e_c <- e_c                               (the series' first window)
 *     e_c <- ebar_c + average * (e_c - ebar_c) (later windows; ebar_c the series' mean so far)
 *
 * with `average` (0.2, ~9 windows; `termAverageOf`) stored with the statistics, which are fitted
 * on the running means of the reference windows in time order. The kinds whose `e_c` is already a
 * mean over the window's frames use none (`average` 1).
 *
 * Kept current online: a detector tracks each channel's center and scale on the windows its rule
 * did not flag (a sign-step quantile tracker for the median, an exponential average of absolute
 * deviations for the spread), so a version fine-tuned online, or a slow change in a channel's
 * noise, moves the reference with it. A model trained before seismo stored channel statistics
 * starts from raw shares (`source: 'raw-share'`) and switches to `channel-z` once it has seen
 * {@link ChannelAttributionOptions.warmup} unflagged windows.
 *
 * Why one file of ~640 lines: `ChannelAttribution` keeps its reference path (`attribute`, then
 * `update`) beside the one-pass hot path (`attributeAndLearn`) that must equal it bit for bit
 * (test/score/attribution-hot-path.test.ts); a change to one has to be made to the other in view.
 * Once the statistics are ready, a batch goes to the addon instead (`attributeBatch`,
 * native/log_terms_attribution.cc, the same arithmetic line by line; test/native/attribution-batch.test.ts
 * compares it with the TypeScript loop here, which serves without the addon): a change to the
 * formulas is made there too.
 * The error terms and their fitting live in ./channel-terms.ts, what an event names in
 * ./top-channels.ts.
 */
import { SeismoError } from '../errors.js';
import type { NativeKernels } from '../native.js';
import type { AttributionMemory } from './top-channels.js';
import { ACTIVITY_FLOOR, LOG_FLOOR, MIN_CHANNEL_SCALE, TERM_CODES, channelTermOf, logActivity, logOf, nativeLogTerms, robustCenterScale, termValue, windowLogTerms, type ChannelTerm, type ChannelCalibration, type ChannelLogSpec } from './channel-terms.js';

/** Where a window's attribution came from. */
export type AttributionSource =
  /** Each channel's robust z against its own normal errors (the definition above). */
  | 'channel-z'
  /** The raw `channel_score` shares: no channel statistics yet (a model from before they were stored, still warming up). */
  | 'raw-share';

/** Options of `ChannelAttribution`. */
export interface ChannelAttributionOptions {
  /**
   * Step of the online tracking, as a fraction of the channel's scale per unflagged window: the
   * median moves by `rate * scale` towards each new value, the spread by `rate` of the gap. 0 keeps
   * the trained statistics fixed. Default 0.002 (a shift of one scale is followed in ~500 windows;
   * an unflagged anomaly of 60 windows moves the reference by at most 0.12 scale).
   */
  rate?: number;
  /** Unflagged windows seen before statistics are fitted when the model has none. Default 64. */
  warmup?: number;
  /** The error term when the model has no statistics (see `channelTermOf`). Default `channel-score`. */
  term?: ChannelTerm;
  /**
   * Weight of the newest window in each series' running mean of `e_c` when the model has no
   * statistics (see `termAverageOf`; statistics carry the weight they were fitted with, which then
   * wins). Default 1 (none).
   */
  average?: number;
  /**
   * How the activity term joins the error term (benchmarks; the default is what docs/benchmarks.md
   * measured best): `two-sided` `max(z_err, |z_act|)`, `low` `max(z_err, -z_act)` (only a channel
   * quieter than usual counts), `none` (error term only). Default `two-sided`.
   */
  activity?: 'two-sided' | 'low' | 'none';
  /**
   * The activity term counts only beyond this many robust z: `|z_act| - margin` (benchmarks: 0,
   * 2 and 4 were measured; 2 and 4 cost DeepAnT frequency changes more than they gained on broken
   * correlations, see docs/benchmarks.md). Default 0.
   */
  activityMargin?: number;
  /**
   * Weight of the newest window in each series' running average of the attribution (see
   * `AttributionMemory`); 1 ranks every window on its own. Default 0.3 (benchmarks: 1, 0.5,
   * 0.3 and 0.1, and a max of the window and the average, were measured; 0.3 ranked best, see
   * docs/benchmarks.md).
   */
  memory?: number;
}

/**
 * Checks attribution options up front (a detector refuses them at load, not at its first batch).
 * @throws SeismoError `ERR_INVALID_OPTION` naming the field.
 */
export function checkAttributionOptions(o: ChannelAttributionOptions | undefined): void {
  if (o === undefined) return;
  const bad = (field: string, value: unknown, expected: string): never => {
    throw new SeismoError('ERR_INVALID_OPTION', `attribution.${field} is ${JSON.stringify(value)}, expected ${expected}`, { option: `attribution.${field}` });
  };
  if (o.rate !== undefined && !(o.rate >= 0 && o.rate <= 1)) bad('rate', o.rate, 'a number in [0, 1]');
  if (o.warmup !== undefined && !(Number.isInteger(o.warmup) && o.warmup >= 2)) bad('warmup', o.warmup, 'an integer >= 2');
  if (o.memory !== undefined && !(o.memory > 0 && o.memory <= 1)) bad('memory', o.memory, 'a number in (0, 1]');
  if (o.activityMargin !== undefined && !(o.activityMargin >= 0 && Number.isFinite(o.activityMargin))) bad('activityMargin', o.activityMargin, 'a finite number >= 0');
  if (o.activity !== undefined && !['two-sided', 'low', 'none'].includes(o.activity)) bad('activity', o.activity, "'two-sided', 'low' or 'none'");
  if (o.average !== undefined && !(o.average > 0 && o.average <= 1)) bad('average', o.average, 'a number in (0, 1]');
  if (o.term !== undefined && !['channel-score', 'channel-score-squared', 'channel-score-times-score'].includes(o.term)) {
    bad('term', o.term, "'channel-score', 'channel-score-squared' or 'channel-score-times-score'");
  }
}

/** {@link ChannelAttribution.attributeAndLearnBatch}: a window not scored (its row is left as it is). */
export const SKIP_WINDOW = 0;
/** {@link ChannelAttribution.attributeAndLearnBatch}: a window the rule did not flag (attributed, then learnt from). */
export const LEARN_WINDOW = 1;
/** {@link ChannelAttribution.attributeAndLearnBatch}: a window the rule flagged (attributed only). */
export const FLAGGED_WINDOW = 2;

/** The addon's activity modes (native/log_terms_attribution.h). */
const ACTIVITY_CODES: Readonly<Record<NonNullable<ChannelAttributionOptions['activity']>, number>> = { 'two-sided': 0, low: 1, none: 2 };

/** Whether {@link ChannelAttribution.attributeAndLearnBatch} may use the addon (tests turn it off to compare). */
let nativeAllowed = true;

/**
 * Lets (`true`, the default) or keeps (`false`) the addon from taking attribution batches in this
 * thread: tests compare the two paths bit for bit, benchmarks measure both.
 * @internal
 */
export function useNativeAttribution(allowed: boolean): void {
  nativeAllowed = allowed;
}

/** Batches the addon took in this thread. */
let nativeAttributionBatches = 0;

/** How many batches the addon took in this thread (tests check that the path they compare was taken). @internal */
export function nativeAttributionBatchCount(): number {
  return nativeAttributionBatches;
}

function nativeAttribution(): NativeKernels | undefined {
  return nativeAllowed ? nativeLogTerms() : undefined;
}

/** `Math.sign` of a non-zero, non-NaN number, indexed by `+(d > 0)`. */
const SIGN = Float64Array.of(-1, 1);

/** Median and robust spread of one log statistic per channel, learnt from stored values or online. */
class ChannelTracker {
  readonly center: Float64Array;
  readonly scale: Float64Array;
  ready: boolean;
  private warm: Float64Array | undefined;
  private seen = 0;

  /** @param storage `[2, C]` where the center and then the scale live (the addon's batch reads and updates them there). */
  constructor(
    private readonly C: number,
    private readonly warmup: number,
    stored: { center: readonly number[]; scale: readonly number[] } | undefined,
    storage: Float64Array,
  ) {
    this.center = storage.subarray(0, C);
    this.scale = storage.subarray(C, 2 * C).fill(1);
    this.ready = Boolean(stored && stored.center.length === C && stored.scale.length === C);
    if (this.ready) {
      this.center.set(stored!.center);
      this.scale.set(stored!.scale);
    }
  }

  z(c: number, v: number): number {
    return (v - this.center[c]!) / this.scale[c]!;
  }

  /** Learns one window's values `values[offset .. offset + C)` (already logs). */
  update(values: Float64Array, rate: number): void {
    const C = this.C;
    if (!this.ready) {
      this.warm ??= new Float64Array(this.warmup * C);
      this.warm.set(values.subarray(0, C), this.seen * C);
      if (++this.seen === this.warmup) this.fitWarm();
      return;
    }
    if (rate <= 0) return;
    for (let c = 0; c < C; c++) {
      const v = values[c]!;
      const m = this.center[c]!;
      const s = this.scale[c]!;
      this.center[c] = m + rate * s * Math.sign(v - m);
      // E|x - median| = scale / 1.2533 for a normal: track that, in scale units.
      this.scale[c] = Math.max(MIN_CHANNEL_SCALE, s + rate * (1.2533 * Math.abs(v - m) - s));
    }
  }

  private fitWarm(): void {
    const column = new Array<number>(this.warmup);
    for (let c = 0; c < this.C; c++) {
      for (let i = 0; i < this.warmup; i++) column[i] = this.warm![i * this.C + c]!;
      const [m, s] = robustCenterScale(column);
      this.center[c] = m;
      this.scale[c] = s;
    }
    this.warm = undefined;
    this.ready = true;
  }
}

/**
 * One model version's attribution state: the channel statistics (from its calibration, or learnt
 * from its first unflagged windows) and their online tracking. Allocates nothing per window.
 */
export class ChannelAttribution {
  readonly channels: number;
  private readonly err: ChannelTracker;
  private readonly act: ChannelTracker;
  private readonly term: ChannelTerm;
  /** Weight of the newest window in the running mean of `e_c` (1: none). */
  private readonly average: number;

  /** `[slots, C]` each series' running mean of `e_c`, when `average` < 1. */
  private readonly running: Float64Array | undefined;
  private readonly started: Uint8Array | undefined;
  private readonly rate: number;
  private readonly activityMode: 'two-sided' | 'low' | 'none';
  private readonly margin: number;
  private readonly scratch: Float64Array;
  /** `[C]` the window's `ln e_c` and `ln a_c` in {@link attributeAndLearn}. */
  private readonly logErr: Float64Array;
  private readonly logAct: Float64Array;
  /** `[4, C]` the error center and scale, then the activity's: the trackers' storage, one array for the addon. */
  private readonly stats: Float64Array;
  /** The addon's `attributeBatch` settings of this state (native.ts): fixed for its life. */
  private readonly settings: Float64Array;

  /**
   * @param slots series slots (the detector's ring slots): each keeps its own running mean of `e_c`.
   */
  constructor(channels: number, calibration?: ChannelCalibration, options: ChannelAttributionOptions = {}, slots = 1) {
    this.channels = channels;
    this.rate = options.rate ?? 0.002;
    const warmup = Math.max(2, options.warmup ?? 64);
    const usable = calibration && calibration.center.length === channels && calibration.scale.length === channels ? calibration : undefined;
    this.term = usable ? usable.term : (options.term ?? 'channel-score');
    this.average = usable ? (usable.average ?? 1) : (options.average ?? 1);

    if (this.average < 1) {
      this.running = new Float64Array(slots * channels);
      this.started = new Uint8Array(slots * channels);
    }
    this.stats = new Float64Array(4 * channels);
    this.err = new ChannelTracker(channels, warmup, usable, this.stats.subarray(0, 2 * channels));
    this.act = new ChannelTracker(channels, warmup, usable?.activity, this.stats.subarray(2 * channels));
    this.activityMode = options.activity ?? 'two-sided';
    this.margin = options.activityMargin ?? 0;
    this.settings = Float64Array.of(TERM_CODES[this.term], this.average, this.rate, ACTIVITY_CODES[this.activityMode], this.margin, LOG_FLOOR, ACTIVITY_FLOOR, MIN_CHANNEL_SCALE);
    this.scratch = new Float64Array(channels);
    this.logErr = new Float64Array(channels);
    this.logAct = new Float64Array(channels);
    // A running mean of e_c needs each series' state, which only this object has: no spec then.
    this.logSpec = this.running ? undefined : Object.freeze({ term: this.term });
  }

  /**
   * How to compute this state's `ln e_c` elsewhere (`channelLogTerms` (./channel-terms.ts)); the same object for
   * the state's life. Undefined with a running mean of `e_c` (per-series state: only here).
   */
  readonly logSpec: ChannelLogSpec | undefined;

  /** `channel-z` once error statistics exist, else `raw-share`. */
  get source(): AttributionSource {
    return this.err.ready ? 'channel-z' : 'raw-share';
  }

  /**
   * Writes window `n`'s attribution of its C channels into `out[outOffset .. outOffset + C)`: each
   * channel's evidence `max(z_err, |z_act|)` (see the module comment), or the raw `channel_score`
   * while there are no statistics.
   * @param channelScores `[N, C]` `channel_score`; @param scores `[N]` `score`;
   * @param activity `[N, C]` `channel_activity` when the graph has it.
   */
  attribute(channelScores: ArrayLike<number>, scores: ArrayLike<number>, activity: ArrayLike<number> | undefined, n: number, out: Float32Array | Float64Array, outOffset: number, slot = 0): void {
    const C = this.channels;
    if (this.running) this.fold(channelScores, scores, n, slot);
    if (!this.err.ready) {
      for (let c = 0; c < C; c++) out[outOffset + c] = channelScores[n * C + c]!;
      return;
    }
    for (let c = 0; c < C; c++) out[outOffset + c] = this.err.z(c, this.logTermAt(channelScores, scores, n, c, slot));
    if (activity === undefined || !this.act.ready || this.activityMode === 'none') return;
    for (let c = 0; c < C; c++) {
      const za = this.act.z(c, logActivity(activity[n * C + c]!));
      const evidence = (this.activityMode === 'two-sided' ? Math.abs(za) : -za) - this.margin;
      if (evidence > out[outOffset + c]!) out[outOffset + c] = evidence;
    }
  }

  /**
   * {@link attribute} of window `n`, then, when `learn` (the rule did not flag it), {@link update}
   * from it: the same values as the two calls, with each channel's logarithms computed once
   * instead of twice. The pipeline's per-window path (at window 1 a window is a record, and these
   * logarithms were most of the main thread's work); typed arrays only, so that it stays
   * monomorphic. `slot` is the window's series (its running mean of `e_c`).
   * @param logTerms `[N, C]` the windows' `ln e_c` when they were computed already, by
   *   `channelLogTerms` (./channel-terms.ts) with this state's {@link logSpec} (the inference worker does; never
   *   for a state with a running mean, whose `logSpec` is undefined).
   */
  attributeAndLearn(channelScores: Float32Array, scores: Float32Array, activity: Float32Array | undefined, n: number, out: Float32Array, outOffset: number, learn: boolean, slot = 0, logTerms?: Float64Array): void {
    const C = this.channels;
    const base = n * C;
    const err = this.err;
    const score = scores[n]!;
    if (err.ready && (activity === undefined || this.act.ready)) {
      this.attributeAndLearnReady(channelScores, score, activity, base, out, outOffset, learn, slot, logTerms);
      return;
    }
    // ln e_c, needed by the z (statistics ready) and by learning (tracking, or warming up); a
    // running mean takes in every window.
    if (err.ready || learn || this.running) this.logErrors(channelScores, score, base, slot, logTerms);
    const logErr = this.logErr;
    let actDone = false;
    if (!err.ready) {
      for (let c = 0; c < C; c++) out[outOffset + c] = channelScores[base + c]!;
    } else {
      const center = err.center;
      const scale = err.scale;
      for (let c = 0; c < C; c++) out[outOffset + c] = (logErr[c]! - center[c]!) / scale[c]!;
      if (activity !== undefined && this.act.ready && this.activityMode !== 'none') {
        const logAct = this.logAct;
        const aCenter = this.act.center;
        const aScale = this.act.scale;
        const twoSided = this.activityMode === 'two-sided';
        const margin = this.margin;
        for (let c = 0; c < C; c++) {
          const a = activity[base + c]!;
          const la = Math.log(a > ACTIVITY_FLOOR ? a : ACTIVITY_FLOOR);
          logAct[c] = la;
          const za = (la - aCenter[c]!) / aScale[c]!;
          const evidence = (twoSided ? Math.abs(za) : -za) - margin;
          if (evidence > out[outOffset + c]!) out[outOffset + c] = evidence;
        }
        actDone = true;
      }
    }
    if (!learn) return;
    // update(): windows with a non-finite score or channel score teach nothing.
    if (!Number.isFinite(score)) return;
    for (let c = 0; c < C; c++) if (!Number.isFinite(channelScores[base + c]!)) return;
    err.update(logErr, this.rate);
    if (activity === undefined) return;
    for (let c = 0; c < C; c++) if (!Number.isFinite(activity[base + c]!)) return;
    if (!actDone) {
      const logAct = this.logAct;
      for (let c = 0; c < C; c++) logAct[c] = logActivity(activity[base + c]!);
    }
    this.act.update(this.logAct, this.rate);
  }

  /**
   * {@link attributeAndLearn} of windows `[0, n)` in order, each window `i` as
   * `attributeAndLearn(..., i, out, i * C, decisions[i] === LEARN, slots[i], logTerms)` would do
   * it (the same rows and statistics, bit for bit): the pipeline's per-batch path. At window 1 a
   * batch is ~1,024 records, and a call per record (its checks, its copy of the logarithms, a
   * sign that the CPU mispredicts every other channel) was most of the main thread's time.
   * @param decisions `[n]` per window: {@link SKIP_WINDOW} (not scored: left as it is in `out`),
   *   {@link LEARN_WINDOW} (unflagged: attributed, then learnt from), {@link FLAGGED_WINDOW}
   *   (attributed only).
   * @param slots `[n]` each window's series.
   * @param out `[n, C]` the rows.
   * @param memory each attributed row then folded into its series' memory (`AttributionMemory.apply`).
   */
  attributeAndLearnBatch(channelScores: Float32Array, scores: Float32Array, activity: Float32Array | undefined, n: number, decisions: Uint8Array, slots: Int32Array, out: Float32Array, logTerms?: Float64Array, memory?: AttributionMemory): void {
    const C = this.channels;
    // Once the statistics are ready (they stay so), the whole batch in one call of the addon, the
    // same values bit for bit: at stride 1 the loop below, ~16 Math.log calls and the tracking per
    // window, was a third of the main thread's time.
    if (n > 0 && this.err.ready && (activity === undefined || this.act.ready)) {
      const native = nativeAttribution();
      if (native !== undefined && channelScores.length >= n * C && scores.length >= n && decisions.length >= n && slots.length >= n && out.length >= n * C && (activity === undefined || activity.length >= n * C) && (logTerms === undefined || logTerms.length >= n * C)) {
        native.attributeBatch(
          n, C, this.settings, channelScores, scores, activity ?? null, this.running ? null : (logTerms ?? null), decisions, slots, out,
          this.stats, this.running ?? null, this.started ?? null, memory?.state ?? null, memory?.seen ?? null, memory?.weight ?? 1,
        );
        nativeAttributionBatches++;
        return;
      }
    }
    for (let i = 0; i < n; i++) {
      const decision = decisions[i]!;
      if (decision === SKIP_WINDOW) continue;
      const learn = decision === LEARN_WINDOW;
      const slot = slots[i]!;
      if (this.err.ready && (activity === undefined || this.act.ready)) {
        // The memory folded in while the z are at hand, where nothing changes them afterwards.
        const fuse = memory !== undefined && activity === undefined && memory.seen[slot] === 1;
        this.attributeAndLearnReady(channelScores, scores[i]!, activity, i * C, out, i * C, learn, slot, logTerms, fuse ? memory : undefined);
        if (memory && !fuse) memory.apply(slot, out, i * C);
      } else {
        this.attributeAndLearn(channelScores, scores, activity, i, out, i * C, learn, slot, logTerms);
        if (memory) memory.apply(slot, out, i * C);
      }
    }
  }

  /**
   * {@link attributeAndLearn} once the statistics it uses are ready (every window after warm-up):
   * one pass over the channels, each channel's z from the statistics before this window and then
   * its tracking step, which is what attribute-then-update computes (a channel's step touches only
   * its own statistics).
   */
  private attributeAndLearnReady(channelScores: Float32Array, score: number, activity: Float32Array | undefined, base: number, out: Float32Array, outOffset: number, learn: boolean, slot: number, logTerms: Float64Array | undefined, memory?: AttributionMemory): void {
    const C = this.channels;
    const rate = this.rate;
    // update(): a window with a non-finite score or channel score teaches nothing, and its
    // activity only when the errors taught (and every activity is finite). 0 * v sums to (+-)0
    // exactly when every v is finite: no branch per channel.
    let learnErr = learn;
    if (learnErr) {
      let probe = 0 * score;
      for (let c = 0; c < C; c++) probe += 0 * channelScores[base + c]!;
      learnErr = probe === 0;
    }
    let learnAct = learnErr && activity !== undefined;
    if (learnAct) {
      let probe = 0;
      for (let c = 0; c < C; c++) probe += 0 * activity![base + c]!;
      learnAct = probe === 0;
    }
    const stepErr = learnErr && rate > 0;
    const stepAct = learnAct && rate > 0;
    const useAct = activity !== undefined && this.activityMode !== 'none';
    const twoSided = this.activityMode === 'two-sided';
    const margin = this.margin;
    // The logarithms: read in place when the worker computed them, else in a loop of their own
    // (Math.log is a call, and a loop around a call keeps nothing in registers: one loop doing
    // both measured 1.7x slower).
    let logs = this.logErr;
    let at = 0;
    if (logTerms !== undefined && !this.running) {
      logs = logTerms;
      at = base;
    } else {
      this.logErrors(channelScores, score, base, slot, undefined);
    }
    const center = this.err.center;
    const scale = this.err.scale;
    if (memory) {
      // No activity term: the z are final here, and go into the series' memory at once
      // (AttributionMemory.apply of a series seen before, inline: its average of the z as stored).
      const state = memory.state;
      const w = memory.weight;
      const keep = 1 - w;
      const row = slot * C;
      for (let c = 0; c < C; c++) {
        const v = logs[at + c]!;
        const m = center[c]!;
        const s = scale[c]!;
        const d = v - m;
        const z = Math.fround(d / s);
        if (Number.isFinite(z)) {
          const avg = keep * state[row + c]! + w * z;
          state[row + c] = avg;
          out[outOffset + c] = avg;
        } else {
          out[outOffset + c] = z;
        }
        if (stepErr) {
          const step = rate * s;
          center[c] = d !== 0 ? m + step * SIGN[+(d > 0)]! : m + step * Math.sign(d);
          const spread = s + rate * (1.2533 * Math.abs(d) - s);
          scale[c] = spread > MIN_CHANNEL_SCALE ? spread : Math.max(MIN_CHANNEL_SCALE, spread);
        }
      }
      return;
    }
    if (stepErr) {
      for (let c = 0; c < C; c++) {
        const v = logs[at + c]!;
        const m = center[c]!;
        const s = scale[c]!;
        const d = v - m;
        out[outOffset + c] = d / s;
        // ChannelTracker.update, inline, as it computes it: m + rate * s * Math.sign(v - m), with
        // the sign read from a table (a branch on it mispredicts every other time: the median is
        // where half the values lie), and the floor of the spread a comparison first.
        const step = rate * s;
        center[c] = d !== 0 ? m + step * SIGN[+(d > 0)]! : m + step * Math.sign(d);
        const spread = s + rate * (1.2533 * Math.abs(d) - s);
        scale[c] = spread > MIN_CHANNEL_SCALE ? spread : Math.max(MIN_CHANNEL_SCALE, spread);
      }
    } else {
      for (let c = 0; c < C; c++) out[outOffset + c] = (logs[at + c]! - center[c]!) / scale[c]!;
    }
    if (activity === undefined || (!useAct && !stepAct)) return;
    const logAct = this.logAct;
    for (let c = 0; c < C; c++) {
      const a = activity[base + c]!;
      logAct[c] = Math.log(a > ACTIVITY_FLOOR ? a : ACTIVITY_FLOOR);
    }
    const aCenter = this.act.center;
    const aScale = this.act.scale;
    for (let c = 0; c < C; c++) {
      const la = logAct[c]!;
      const am = aCenter[c]!;
      const as = aScale[c]!;
      const d = la - am;
      if (useAct) {
        const za = d / as;
        const evidence = (twoSided ? Math.abs(za) : -za) - margin;
        if (evidence > out[outOffset + c]!) out[outOffset + c] = evidence;
      }
      if (stepAct) {
        const step = rate * as;
        aCenter[c] = d !== 0 ? am + step * SIGN[+(d > 0)]! : am + step * Math.sign(d);
        const spread = as + rate * (1.2533 * Math.abs(d) - as);
        aScale[c] = spread > MIN_CHANNEL_SCALE ? spread : Math.max(MIN_CHANNEL_SCALE, spread);
      }
    }
  }

  /**
   * Fills `logErr` with window `base / C`'s `ln e_c`: of series `slot`'s running means once the
   * window is folded in, when there are running means, else of the window's own terms.
   */
  private logErrors(channelScores: Float32Array, score: number, base: number, slot: number, logTerms?: Float64Array): void {
    const C = this.channels;
    const logErr = this.logErr;
    // Computed already (by channelLogTerms with this state's logSpec, which a running mean has not).
    if (logTerms !== undefined && !this.running) {
      for (let c = 0; c < C; c++) logErr[c] = logTerms[base + c]!;
      return;
    }
    if (this.running) {
      const running = this.running;
      const started = this.started!;
      const w = this.average;
      const squared = this.term === 'channel-score-squared';
      const product = this.term === 'channel-score-times-score';
      const row = slot * C;
      for (let c = 0; c < C; c++) {
        const cs = channelScores[base + c]!;
        const e = squared ? cs * cs : product ? cs * score : cs;
        const i = row + c;
        if (Number.isFinite(e)) {
          running[i] = started[i] ? running[i]! + w * (e - running[i]!) : e;
          started[i] = 1;
        }
        const m = started[i] ? running[i]! : e;
        logErr[c] = Math.log(m > LOG_FLOOR ? m : LOG_FLOOR);
      }
      return;
    }
    // No running mean: the window's own terms.
    windowLogTerms(this.term, channelScores, score, base, C, logErr, 0);
  }

  /**
   * Learns from window `n` of series `slot`, which the rule did not flag (windows with a non-finite
   * value are skipped). With a running mean, call it after `attribute` of the same window (it
   * learns the running mean that `attribute` folded the window into).
   */
  update(channelScores: ArrayLike<number>, scores: ArrayLike<number>, activity: ArrayLike<number> | undefined, n: number, slot = 0): void {
    const C = this.channels;
    if (!Number.isFinite(scores[n]!)) return;
    for (let c = 0; c < C; c++) if (!Number.isFinite(channelScores[n * C + c]!)) return;
    for (let c = 0; c < C; c++) this.scratch[c] = this.logTermAt(channelScores, scores, n, c, slot);
    this.err.update(this.scratch, this.rate);
    if (activity === undefined) return;
    for (let c = 0; c < C; c++) {
      const a = activity[n * C + c]!;
      if (!Number.isFinite(a)) return;
      this.scratch[c] = logActivity(a);
    }
    this.act.update(this.scratch, this.rate);
  }

  /** Folds window `n`'s `e_c` into series `slot`'s running means (non-finite values leave them as they are). */
  private fold(channelScores: ArrayLike<number>, scores: ArrayLike<number>, n: number, slot: number): void {
    const C = this.channels;
    const running = this.running!;
    const started = this.started!;
    const w = this.average;
    for (let c = 0; c < C; c++) {
      const e = termValue(this.term, channelScores, scores, n, C, c);
      if (!Number.isFinite(e)) continue;
      const i = slot * C + c;
      running[i] = started[i] ? running[i]! + w * (e - running[i]!) : e;
      started[i] = 1;
    }
  }

  /** `ln` of channel `c`'s error term: series `slot`'s running mean when there is one, else window `n`'s own. */
  private logTermAt(channelScores: ArrayLike<number>, scores: ArrayLike<number>, n: number, c: number, slot: number): number {
    const C = this.channels;
    if (this.running && this.started![slot * C + c]) return logOf(this.running[slot * C + c]!);
    return logOf(termValue(this.term, channelScores, scores, n, C, c));
  }

  /** Forgets series `slot`'s running means (its slot now holds another series). */
  reset(slot: number): void {
    this.started?.fill(0, slot * this.channels, (slot + 1) * this.channels);
  }

  /** The statistics now in force (after online tracking), to store with a calibration; undefined while warming up. */
  snapshot(windows: number): ChannelCalibration | undefined {
    if (!this.err.ready) return undefined;
    return {
      term: this.term,
      center: Array.from(this.err.center),
      scale: Array.from(this.err.scale),
      windows,
      ...(this.average < 1 ? { average: this.average } : {}),
      ...(this.act.ready ? { activity: { center: Array.from(this.act.center), scale: Array.from(this.act.scale) } } : {}),
    };
  }
}
