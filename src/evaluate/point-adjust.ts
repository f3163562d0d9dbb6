/**
 * Point-adjusted precision / recall / F1 (Xu et al. 2018, "Donut"): if any point of a true
 * anomaly range is predicted, the whole range counts as predicted; false positives are kept.
 *
 * This is the textbook rule. TSB-AD's `_adjust_predicts` fills backwards only down to index 1,
 * so a range starting at index 0 can keep index 0 unpredicted; that is a bug and is not copied.
 *
 * Beware: point adjustment is very optimistic. One lucky alarm inside a long range credits the
 * whole range, so even random scores can reach a high PA-F1 on series with long anomalies
 * (Kim et al., AAAI 2022). Report it next to un-adjusted and range-aware metrics, never alone.
 */
import { checkBinaryPair, checkPair, predictAt, type LabelArray, type ScoreArray } from './inputs.js';
import { findRanges } from './segments.js';
import { countConfusion, metricsFromCounts, type PointMetrics } from './threshold-metrics.js';

/**
 * The point-adjusted copy of `predictions`: every true range with at least one predicted point
 * becomes fully predicted. Inputs are not modified.
 *
 * @param labels per-point 0/1 ground truth, length n
 * @param predictions per-point 0/1 predictions, length n
 * @returns new 0/1 array of length n
 */
export function pointAdjust(labels: LabelArray, predictions: LabelArray): Uint8Array {
  const { labels: y, predictions: p } = checkBinaryPair(labels, predictions);
  return adjust(y, p);
}

function adjust(y: Uint8Array, p: Uint8Array): Uint8Array {
  const out = Uint8Array.from(p);
  for (const r of findRanges(y)) {
    let hit = false;
    for (let i = r.start; i <= r.end && !hit; i++) hit = p[i] === 1;
    if (hit) out.fill(1, r.start, r.end + 1);
  }
  return out;
}

/**
 * Point-adjusted precision, recall, F1 (and F2, F0.5, counts) of `scores >= threshold`.
 * Optimistic by construction: see the module comment.
 *
 * @param labels per-point 0/1 ground truth, length n
 * @param scores per-point anomaly scores, length n, finite
 * @param threshold inclusive decision threshold
 */
export function pointAdjustedMetrics(labels: LabelArray, scores: ScoreArray, threshold: number): PointMetrics {
  const input = checkPair(labels, scores);
  const adjusted = adjust(input.labels, predictAt(input.scores, threshold));
  return metricsFromCounts(countConfusion(input.labels, adjusted));
}

/** {@link pointAdjustedMetrics} for ready-made 0/1 predictions. */
export function pointAdjustedPredictionMetrics(labels: LabelArray, predictions: LabelArray): PointMetrics {
  const { labels: y, predictions: p } = checkBinaryPair(labels, predictions);
  return metricsFromCounts(countConfusion(y, adjust(y, p)));
}
