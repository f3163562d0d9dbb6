/**
 * Choosing thresholds on labelled validation windows: the best global threshold for an F-beta
 * objective, and DC-VAE's per-channel bands mu_c + alpha_c * sigma_c with each alpha_c tuned for
 * the objective of the combined (any-of) decision.
 */
import { SeismoError } from '../errors.js';
import { FixedThreshold } from './fixed.js';
import type { ThresholdRule } from './rule.js';

/** What calibration maximises: F1, F2 (recall weighs more) or F0.5 (precision weighs more). */
export type Objective = 'f1' | 'f2' | 'f0.5';
export const OBJECTIVES: readonly Objective[] = ['f1', 'f2', 'f0.5'];

export function objectiveBeta(objective: Objective): number {
  switch (objective) {
    case 'f1':
      return 1;
    case 'f2':
      return 2;
    case 'f0.5':
      return 0.5;
    default:
      throw new SeismoError('ERR_INVALID_OPTION', `objective must be one of ${OBJECTIVES.join(', ')}, got '${String(objective)}'`);
  }
}

/** F-beta from counts; 0 when undefined (sklearn's zero_division=0), like src/evaluate. */
export function fBeta(tp: number, fp: number, fn: number, beta: number): number {
  const b2 = beta * beta;
  const den = (1 + b2) * tp + b2 * fn + fp;
  return den > 0 ? ((1 + b2) * tp) / den : 0;
}

/** The smallest float64 above x: a threshold that flags nothing at or below x. */
export function nextAbove(x: number): number {
  if (x === 0) return Number.MIN_VALUE;
  return x + Math.abs(x) * Number.EPSILON;
}

/** Result of {@link tuneThreshold}. */
export interface TunedThreshold {
  /** Inclusive threshold (`value >= threshold` alarms), in the units of the tuned scores. */
  threshold: number;
  /** The objective's value at `threshold` (combined with `base` when given). */
  score: number;
  tp: number;
  fp: number;
  fn: number;
}

/**
 * Exact best threshold over every distinct value (and "above the maximum", which flags nothing),
 * for `F-beta` of `base OR value >= threshold`. Ties go to the largest threshold (fewest alarms).
 * O(n log n).
 * @param labels `[n]` 0/1 window labels.
 * @param values scores read as `values[i * stride + offset]` for window i (a `[n, C]` channel
 *   matrix with stride C and offset c, or plain scores with the defaults). NaNs never alarm.
 * @param options.base `[n]` alarms already raised by other rules (default none).
 */
export function tuneThreshold(labels: Uint8Array, values: ArrayLike<number>, objective: Objective, options: { base?: Uint8Array; stride?: number; offset?: number } = {}): TunedThreshold {
  const beta = objectiveBeta(objective);
  const stride = options.stride ?? 1;
  const offset = options.offset ?? 0;
  const n = labels.length;
  const base = options.base;
  let P = 0;
  let tp = 0;
  let fp = 0;
  let max = -Infinity;
  const order: number[] = [];
  for (let i = 0; i < n; i++) {
    const y = labels[i]!;
    P += y;
    if (base && base[i]) {
      if (y) tp++;
      else fp++;
      continue;
    }
    const v = values[i * stride + offset]!;
    if (Number.isNaN(v)) continue;
    if (v > max) max = v;
    order.push(i);
  }
  if (P === 0) throw new SeismoError('ERR_EVAL', 'tuning needs labelled anomalies: no window is labelled 1');
  order.sort((a, b) => values[b * stride + offset]! - values[a * stride + offset]!);
  // Windows already alarmed by `base` are fixed; walk the rest from the top, one group of equal
  // values at a time (a threshold cannot split a tie).
  let best: TunedThreshold = { threshold: Number.isFinite(max) ? nextAbove(max) : Number.MAX_VALUE, score: fBeta(tp, fp, P - tp, beta), tp, fp, fn: P - tp };
  for (let k = 0; k < order.length; k++) {
    const i = order[k]!;
    if (labels[i]) tp++;
    else fp++;
    const v = values[i * stride + offset]!;
    if (k + 1 < order.length && values[order[k + 1]! * stride + offset] === v) continue;
    const f = fBeta(tp, fp, P - tp, beta);
    if (f > best.score) best = { threshold: v, score: f, tp, fp, fn: P - tp };
  }
  return best;
}

/** One channel's band after {@link tuneChannels}. */
export interface ChannelBand {
  /** Mean of the channel's validation scores. */
  mu: number;
  /** Population standard deviation of the channel's validation scores. */
  sigma: number;
  /** Tuned multiplier: the threshold is `mu + alpha * sigma` (sigma taken as 1 when it is 0). */
  alpha: number;
  /** The threshold on the channel score, `mu + alpha * sigma`. */
  value: number;
}

/** Result of {@link tuneChannels}. */
export interface TunedChannels {
  /** Global threshold on the window score, tuned jointly with the channels. */
  global: number;
  channels: ChannelBand[];
  /** Objective of `score >= global OR any channel_score[c] >= value[c]` on the tuning windows. */
  score: number;
  tp: number;
  fp: number;
  fn: number;
  /** Coordinate-ascent sweeps run. */
  sweeps: number;
}

/**
 * DC-VAE's per-channel thresholds, tuned for the combined decision: channel c alarms when its
 * score reaches `mu_c + alpha_c * sigma_c` (mu_c, sigma_c the mean and standard deviation of that
 * channel's validation scores), and a window alarms when the global threshold or any channel
 * alarms. Tuning each alpha_c alone against window labels ignores that the channels' alarms are
 * OR-ed, so this runs coordinate ascent: starting from the best global threshold and no channel
 * alarms, each component's threshold in turn is set to the exact best (over the distinct values
 * of its scores) given the others, until a sweep changes nothing. The objective never decreases,
 * so the result is at least as good as the best global threshold alone on these windows.
 * @param labels `[N]` 0/1 window labels.
 * @param scores `[N]` window scores.
 * @param channelScores `[N, C]` row-major channel scores.
 */
export function tuneChannels(labels: Uint8Array, scores: ArrayLike<number>, channelScores: ArrayLike<number>, channels: number, objective: Objective, options: { maxSweeps?: number } = {}): TunedChannels {
  const N = labels.length;
  const C = channels;
  if (scores.length !== N || channelScores.length !== N * C) {
    throw new SeismoError('ERR_BAD_SHAPE', `tuneChannels: ${N} labels, ${scores.length} scores, ${channelScores.length} channel scores for ${C} channels`);
  }
  const maxSweeps = options.maxSweeps ?? 10;
  const bands: ChannelBand[] = [];
  for (let c = 0; c < C; c++) {
    let sum = 0;
    let m = 0;
    for (let i = 0; i < N; i++) {
      const v = channelScores[i * C + c]!;
      if (Number.isFinite(v)) {
        sum += v;
        m++;
      }
    }
    const mu = m > 0 ? sum / m : 0;
    let ss = 0;
    for (let i = 0; i < N; i++) {
      const v = channelScores[i * C + c]!;
      if (Number.isFinite(v)) ss += (v - mu) * (v - mu);
    }
    bands.push({ mu, sigma: m > 0 ? Math.sqrt(ss / m) : 0, alpha: 0, value: 0 });
  }
  // Component 0 is the global score, 1..C the channels; `alarms[k]` its current decisions.
  const K = C + 1;
  const thresholds = new Float64Array(K);
  const alarms = Array.from({ length: K }, () => new Uint8Array(N));
  const count = new Uint16Array(N);
  const base = new Uint8Array(N);
  const valuesOf = (k: number) => (k === 0 ? { values: scores, stride: 1, offset: 0 } : { values: channelScores, stride: C, offset: k - 1 });
  const set = (k: number, threshold: number) => {
    thresholds[k] = threshold;
    const { values, stride, offset } = valuesOf(k);
    const a = alarms[k]!;
    for (let i = 0; i < N; i++) {
      const hit = values[i * stride + offset]! >= threshold ? 1 : 0;
      count[i] = count[i]! + hit - a[i]!;
      a[i] = hit;
    }
  };
  let current = tuneThreshold(labels, scores, objective);
  set(0, current.threshold);
  for (let k = 1; k < K; k++) {
    let max = -Infinity;
    for (let i = 0; i < N; i++) max = Math.max(max, channelScores[i * C + k - 1]!);
    set(k, Number.isFinite(max) ? nextAbove(max) : Number.MAX_VALUE);
  }
  let sweeps = 0;
  for (let changed = true; changed && sweeps < maxSweeps; ) {
    changed = false;
    sweeps++;
    // Channels first: the global threshold starts at its own optimum.
    for (let j = 1; j <= K; j++) {
      const k = j % K;
      for (let i = 0; i < N; i++) base[i] = count[i]! - alarms[k]![i]! > 0 ? 1 : 0;
      const { values, stride, offset } = valuesOf(k);
      const tuned = tuneThreshold(labels, values, objective, { base, stride, offset });
      // Move only on a strict gain, so the ascent terminates and thresholds stay put on ties.
      if (tuned.score > current.score) {
        set(k, tuned.threshold);
        current = tuned;
        changed = true;
      }
    }
  }
  for (let c = 0; c < C; c++) {
    const b = bands[c]!;
    b.value = thresholds[c + 1]!;
    b.alpha = (b.value - b.mu) / (b.sigma > 0 ? b.sigma : 1);
  }
  return { global: thresholds[0]!, channels: bands, score: current.score, tp: current.tp, fp: current.fp, fn: current.fn, sweeps };
}

/** Per-channel rules (method `channel-sigma`) from tuned bands, as the manifest's `thresholds.channels`. */
export function channelSigmaRules(bands: ChannelBand[], params: Record<string, unknown> = {}): FixedThreshold[] {
  return bands.map((b) => new FixedThreshold(b.value, 'channel-sigma', { mu: b.mu, sigma: b.sigma, alpha: b.alpha, ...params }));
}

/**
 * Runs a rule over one series' windows in time order (series slot `slot`, fresh state) and
 * returns its decisions: how the Detector would have alarmed on them.
 * @param channelScores `[N, C]` row-major.
 */
export function applyRule(rule: ThresholdRule, scores: ArrayLike<number>, channelScores: Float32Array, channels: number, slot = 0): Uint8Array {
  const out = new Uint8Array(scores.length);
  rule.resetSlot(slot);
  for (let i = 0; i < scores.length; i++) out[i] = rule.decide(scores[i]!, channelScores, slot, i * channels) ? 1 : 0;
  return out;
}
