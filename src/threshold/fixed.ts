/**
 * Fixed thresholds: one number, `score >= value` is an alarm. They differ only in how the number
 * was chosen (by hand, a quantile of validation scores, the best F-score on labels, DC-VAE's
 * mu + alpha * sigma of a channel's validation scores), which the method name and params record.
 */
import { SeismoError } from '../errors.js';
import type { Threshold } from './schema.js';
import { quantileSorted, sortedFinite } from '../stats/quantile.js';
import { numParam, registerThreshold, type ThresholdRule } from './rule.js';

/** Methods whose rule is a fixed value. */
export const FIXED_METHODS = ['static', 'quantile', 'best-f1', 'best-f2', 'best-f0.5', 'channel-sigma'] as const;

/** `score >= value`. Stateless: the same for every series. */
export class FixedThreshold implements ThresholdRule {
  readonly method: string;
  /** The threshold, in score units (inclusive). */
  readonly value: number;
  /** How the value was chosen; written back unchanged. */
  readonly params: Readonly<Record<string, unknown>>;

  constructor(value: number, method = 'static', params: Record<string, unknown> = {}) {
    if (!Number.isFinite(value)) {
      throw new SeismoError('ERR_INVALID_OPTION', `a ${method} threshold must be a finite number, got ${value}`);
    }
    this.value = value;
    this.method = method;
    this.params = params;
  }

  prepare(): void {}

  decide(score: number, _channelScores?: Float32Array, _seriesSlot?: number, _offset?: number): boolean {
    // NaN >= x is false: an unscored window never alarms.
    return score >= this.value;
  }

  threshold(_seriesSlot?: number): number {
    return this.value;
  }

  resetSlot(): void {}

  toJSON(): Threshold {
    return { value: this.value, method: this.method, params: { ...this.params } };
  }

  static fromJSON(json: Threshold): FixedThreshold {
    if (json.method === 'quantile' && json.params.quantile !== undefined) {
      const q = numParam(json, 'quantile');
      if (!(q > 0 && q < 1)) throw new SeismoError('ERR_MODEL_CORRUPT', `threshold 'quantile': params.quantile must be in (0, 1), got ${q}`);
    }
    if (json.method === 'channel-sigma') {
      // The value is what decides; mu, sigma and alpha say where it came from and must agree.
      const mu = numParam(json, 'mu');
      const sigma = numParam(json, 'sigma');
      const alpha = numParam(json, 'alpha');
      const implied = mu + alpha * (sigma > 0 ? sigma : 1);
      if (Math.abs(implied - json.value) > 1e-6 * Math.max(1, Math.abs(json.value))) {
        throw new SeismoError('ERR_MODEL_CORRUPT', `threshold 'channel-sigma': value ${json.value} is not mu + alpha * sigma = ${implied}`);
      }
    }
    return new FixedThreshold(json.value, json.method, { ...json.params });
  }
}

/**
 * Relative and absolute margin above a tied quantile: above float32 rounding of scores computed
 * by another runtime (tfjs at training, onnxruntime at inference), below any real deviation.
 */
const TIE_MARGIN = 1e-6;

/**
 * The `q`-quantile of sorted calibration scores as an alarm threshold (`score >= value`), moved
 * above ties. When many scores equal the quantile (all of them when a channel or a whole series
 * was constant in training: PCA or an autoencoder reconstructs it exactly and every score is 0),
 * the plain quantile makes `score >= value` true for all those normal windows, and the model
 * flags every row. So when the share of calibration scores at or above the quantile exceeds
 * twice `1 - q`, the threshold moves to just above the tied value: the midpoint to the next
 * distinct score, or the value plus a margin of 1e-6 (relative, at least 1e-6 absolute) when it
 * is the maximum.
 * @param sorted finite scores in ascending order.
 */
export function quantileAboveTies(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  const v = quantileSorted(sorted, q);
  let lo = 0;
  let hi = n;
  // First index with sorted[i] >= v.
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sorted[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  if ((n - lo) / n <= 2 * (1 - q)) return v;
  let next = lo;
  while (next < n && sorted[next]! <= v) next++;
  const margin = Math.max(TIE_MARGIN * Math.abs(v), TIE_MARGIN);
  return next < n ? Math.min(v + margin, (v + sorted[next]!) / 2) : v + margin;
}

/**
 * The `q`-quantile of validation scores as a threshold: about `1 - q` of normal windows alarm.
 * Tied scores (a constant channel or series) move it just above the tie, see {@link quantileAboveTies}.
 * @param scores validation window scores (NaNs skipped).
 * @param q level in (0, 1), e.g. 0.995.
 */
export function quantileThreshold(scores: ArrayLike<number>, q: number): FixedThreshold {
  if (!(q > 0 && q < 1)) throw new SeismoError('ERR_INVALID_OPTION', `quantile must be in (0, 1), got ${q}`);
  const sorted = sortedFinite(scores);
  if (sorted.length === 0) throw new SeismoError('ERR_EVAL', 'no finite validation score to take a quantile of');
  return new FixedThreshold(quantileAboveTies(sorted, q), 'quantile', { quantile: q, windows: sorted.length });
}

for (const method of FIXED_METHODS) registerThreshold(method, FixedThreshold.fromJSON);
