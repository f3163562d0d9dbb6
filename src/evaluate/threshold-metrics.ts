/**
 * Point-wise metrics at one decision threshold: the confusion matrix and the precision, recall
 * and F-beta scores derived from it. Predictions are `score >= threshold` (inclusive), so a
 * threshold equal to a score value flags that point.
 */
import { checkBinaryPair, checkPair, predictAt, type LabelArray, type ScoreArray } from './inputs.js';

/** Counts of one binary decision over n points. */
export interface ConfusionMatrix {
  tp: number;
  fp: number;
  tn: number;
  fn: number;
}

/** Precision, recall and F-scores of one set of binary predictions. */
export interface PointMetrics extends ConfusionMatrix {
  precision: number;
  recall: number;
  f1: number;
  /** F-beta with beta = 2 (recall weighted higher). */
  f2: number;
  /** F-beta with beta = 0.5 (precision weighted higher). */
  f05: number;
}

/** Confusion matrix of 0/1 predictions against 0/1 labels (equal length). */
export function confusionFromPredictions(labels: LabelArray, predictions: LabelArray): ConfusionMatrix {
  const { labels: y, predictions: p } = checkBinaryPair(labels, predictions);
  return countConfusion(y, p);
}

/** Confusion matrix of `scores >= threshold` against `labels`. */
export function confusionMatrix(labels: LabelArray, scores: ScoreArray, threshold: number): ConfusionMatrix {
  const input = checkPair(labels, scores);
  return countConfusion(input.labels, predictAt(input.scores, threshold));
}

export function countConfusion(y: Uint8Array, p: Uint8Array): ConfusionMatrix {
  let tp = 0;
  let fp = 0;
  let fn = 0;
  for (let i = 0; i < y.length; i++) {
    if (p[i] === 1) {
      if (y[i] === 1) tp++;
      else fp++;
    } else if (y[i] === 1) fn++;
  }
  return { tp, fp, fn, tn: y.length - tp - fp - fn };
}

/**
 * F-beta from counts, as scikit-learn computes it: `(1+β²)TP / ((1+β²)TP + β²FN + FP)`, and 0
 * when that denominator is 0 (sklearn's `zero_division=0`).
 */
export function fBetaFromCounts(c: ConfusionMatrix, beta: number): number {
  const b2 = beta * beta;
  const den = (1 + b2) * c.tp + b2 * c.fn + c.fp;
  return den > 0 ? ((1 + b2) * c.tp) / den : 0;
}

/**
 * Precision, recall, F1, F2 and F0.5 from a confusion matrix. Undefined ratios (no predicted
 * point, no labelled point) are 0, like sklearn with `zero_division=0`.
 */
export function metricsFromCounts(c: ConfusionMatrix): PointMetrics {
  const npred = c.tp + c.fp;
  const npos = c.tp + c.fn;
  return {
    ...c,
    precision: npred > 0 ? c.tp / npred : 0,
    recall: npos > 0 ? c.tp / npos : 0,
    f1: fBetaFromCounts(c, 1),
    f2: fBetaFromCounts(c, 2),
    f05: fBetaFromCounts(c, 0.5),
  };
}

/**
 * Point-wise precision, recall, F1, F2, F0.5 and the confusion matrix at `threshold`
 * (prediction = `score >= threshold`).
 *
 * @param labels per-point 0/1 ground truth, length n
 * @param scores per-point anomaly scores, length n, finite
 * @param threshold decision threshold, in the units of `scores`
 */
export function thresholdMetrics(labels: LabelArray, scores: ScoreArray, threshold: number): PointMetrics {
  return metricsFromCounts(confusionMatrix(labels, scores, threshold));
}

/** Point-wise metrics of given 0/1 predictions (same as {@link thresholdMetrics} after thresholding). */
export function predictionMetrics(labels: LabelArray, predictions: LabelArray): PointMetrics {
  return metricsFromCounts(confusionFromPredictions(labels, predictions));
}
