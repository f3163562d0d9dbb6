/**
 * Range-based precision and recall of Tatbul et al., "Precision and Recall for Time Series"
 * (NeurIPS 2018), matching the `prts` package. Each true range R earns
 *
 *   alpha · Existence(R) + (1 - alpha) · gamma(R) · Σ_P omega(R, R ∩ P)
 *
 * where omega is the share of R's positional-bias weight that the overlap covers and gamma is the
 * cardinality factor (penalising a range split over several predictions). Recall averages this
 * over true ranges; precision is the same with the roles of truth and prediction swapped. The
 * defaults (alpha 0, cardinality 'one', bias 'flat') reduce recall to the mean covered fraction
 * of each true range and precision to the mean correct fraction of each predicted range.
 */
import { SeismoError } from '../errors.js';
import { checkBinaryPair, checkPair, predictAt, type LabelArray, type ScoreArray } from './inputs.js';
import { findRanges, type Range } from './segments.js';

/** Positional bias inside a range: which of its points matter most. */
export type RangeBias = 'flat' | 'front' | 'middle' | 'back';
/**
 * Cardinality factor gamma: 'one' ignores fragmentation (always 1); 'reciprocal' is 1/k when the
 * range overlaps k > 1 ranges of the other side.
 */
export type RangeCardinality = 'one' | 'reciprocal';

/** Options of the range-based metrics. Defaults are prts' (and the paper's "classic") ones. */
export interface RangeOptions {
  /** Weight of the existence reward, in [0, 1]. Default 0. Used by recall and precision alike, as prts does. */
  alpha?: number;
  /** Default 'one'. */
  cardinality?: RangeCardinality;
  /** Default 'flat'. */
  bias?: RangeBias;
}

/** Range-based precision, recall and their F-beta. */
export interface RangeMetrics {
  precision: number;
  recall: number;
  /** `(1+β²)PR / (β²P + R)`, 0 when P + R = 0; beta 1 unless given. */
  f: number;
}

function resolve(o: RangeOptions): Required<RangeOptions> {
  const alpha = o.alpha ?? 0;
  if (!(alpha >= 0 && alpha <= 1)) throw new SeismoError('ERR_INVALID_OPTION', `alpha must be in [0, 1], got ${alpha}`);
  const cardinality = o.cardinality ?? 'one';
  if (cardinality !== 'one' && cardinality !== 'reciprocal') {
    throw new SeismoError('ERR_INVALID_OPTION', `cardinality must be 'one' or 'reciprocal', got ${String(cardinality)}`);
  }
  const bias = o.bias ?? 'flat';
  if (!['flat', 'front', 'middle', 'back'].includes(bias)) {
    throw new SeismoError('ERR_INVALID_OPTION', `bias must be flat, front, middle or back, got ${String(bias)}`);
  }
  return { alpha, cardinality, bias };
}

/** Weight of the t-th point (1-based) of a range of length len, as prts' delta functions. */
function delta(bias: RangeBias, t: number, len: number): number {
  switch (bias) {
    case 'flat':
      return 1;
    case 'front':
      return len - t + 1;
    case 'back':
      return t;
    case 'middle':
      return t <= len / 2 ? t : len - t + 1;
  }
}

/** Sum of bias weights of positions [from, to] (absolute indices) inside range r. */
function biasWeight(bias: RangeBias, r: Range, from: number, to: number): number {
  const len = r.end - r.start + 1;
  if (bias === 'flat') return to - from + 1;
  let w = 0;
  for (let j = from; j <= to; j++) w += delta(bias, j - r.start + 1, len);
  return w;
}

/**
 * Mean reward of each range in `targets` against the ranges in `others` (both sorted and
 * disjoint). A two-pointer sweep keeps this O(|targets| + |others| + covered points).
 */
function meanReward(targets: Range[], others: Range[], o: Required<RangeOptions>): number {
  if (targets.length === 0) return 0;
  let total = 0;
  let j0 = 0;
  for (const r of targets) {
    while (j0 < others.length && others[j0].end < r.start) j0++;
    const len = r.end - r.start + 1;
    const maxWeight = o.bias === 'flat' ? len : biasWeight(o.bias, r, r.start, r.end);
    let omega = 0;
    let overlaps = 0;
    for (let j = j0; j < others.length && others[j].start <= r.end; j++) {
      const from = Math.max(r.start, others[j].start);
      const to = Math.min(r.end, others[j].end);
      overlaps++;
      omega += biasWeight(o.bias, r, from, to) / maxWeight;
    }
    const gamma = o.cardinality === 'reciprocal' && overlaps > 1 ? 1 / overlaps : 1;
    total += o.alpha * (overlaps > 0 ? 1 : 0) + (1 - o.alpha) * gamma * omega;
  }
  return total / targets.length;
}

/**
 * Range-based precision and recall (and F-beta) of 0/1 predictions.
 *
 * Convention for degenerate input (prts raises instead): with no predicted range precision is 0,
 * with no true range recall is 0, and F is 0 when both P and R are 0.
 *
 * @param labels per-point 0/1 ground truth, length n
 * @param predictions per-point 0/1 predictions, length n
 * @param options alpha / cardinality / bias; `beta` for the F-score (default 1)
 */
export function rangePrecisionRecall(
  labels: LabelArray,
  predictions: LabelArray,
  options: RangeOptions & { beta?: number } = {},
): RangeMetrics {
  const o = resolve(options);
  const beta = options.beta ?? 1;
  if (!(beta > 0)) throw new SeismoError('ERR_INVALID_OPTION', `beta must be > 0, got ${beta}`);
  const { labels: y, predictions: p } = checkBinaryPair(labels, predictions);
  const real = findRanges(y);
  const pred = findRanges(p);
  const recall = meanReward(real, pred, o);
  const precision = meanReward(pred, real, o);
  const b2 = beta * beta;
  const f = precision + recall > 0 ? ((1 + b2) * precision * recall) / (b2 * precision + recall) : 0;
  return { precision, recall, f };
}

/** {@link rangePrecisionRecall} of `scores >= threshold`. */
export function rangeMetrics(
  labels: LabelArray,
  scores: ScoreArray,
  threshold: number,
  options: RangeOptions & { beta?: number } = {},
): RangeMetrics {
  const input = checkPair(labels, scores);
  return rangePrecisionRecall(input.labels, predictAt(input.scores, threshold), options);
}
