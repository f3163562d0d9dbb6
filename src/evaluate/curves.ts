/**
 * Threshold-free ranking metrics over the exact ROC and precision-recall curves: ROC AUC,
 * average precision (PR AUC) and the exact best-F1 threshold. All three walk the scores once in
 * descending order, grouping tied scores into one operating point (as scikit-learn does), so
 * each costs one O(n log n) sort.
 */
import { SeismoError } from '../errors.js';
import { checkPair, requireBothClasses, type LabelArray, type ScoreArray } from './inputs.js';

/**
 * One operating point per distinct score, in descending score order: predicting
 * `score >= threshold` gives `tp` true and `fp` false positives.
 */
interface CurvePoints {
  thresholds: Float64Array;
  tp: Float64Array;
  fp: Float64Array;
  positives: number;
  negatives: number;
}

function curvePoints(labels: Uint8Array, scores: Float64Array): CurvePoints {
  const n = scores.length;
  const order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  // Only the order of distinct scores matters: points with equal scores land in one group.
  order.sort((a, b) => scores[b] - scores[a]);
  const thresholds: number[] = [];
  const tps: number[] = [];
  const fps: number[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k];
    if (labels[i] === 1) tp++;
    else fp++;
    // Close the group at the last point of a run of equal scores.
    if (k === n - 1 || scores[order[k + 1]] !== scores[i]) {
      thresholds.push(scores[i]);
      tps.push(tp);
      fps.push(fp);
    }
  }
  return {
    thresholds: Float64Array.from(thresholds),
    tp: Float64Array.from(tps),
    fp: Float64Array.from(fps),
    positives: tp,
    negatives: fp,
  };
}

/**
 * Area under the ROC curve, as `sklearn.metrics.roc_auc_score`: trapezoidal, so a tie between a
 * positive and a negative counts 1/2. Constant scores give 0.5.
 *
 * @param labels per-point 0/1 ground truth, length n
 * @param scores per-point anomaly scores (higher = more anomalous), length n, finite
 * @returns AUC in [0, 1]
 * @throws SeismoError ERR_EVAL when the labels lack positives or negatives; ERR_BAD_SHAPE on a
 *   length mismatch; ERR_NON_FINITE on NaN/±Infinity scores
 */
export function rocAuc(labels: LabelArray, scores: ScoreArray): number {
  const input = checkPair(labels, scores);
  requireBothClasses(input, 'ROC AUC');
  const c = curvePoints(input.labels, input.scores);
  // Twice the area in units of (one positive × one negative): integer arithmetic, exact for
  // n < 2^26, so the only rounding is the final division.
  let area2 = 0;
  let prevTp = 0;
  let prevFp = 0;
  for (let k = 0; k < c.tp.length; k++) {
    area2 += (c.fp[k] - prevFp) * (c.tp[k] + prevTp);
    prevTp = c.tp[k];
    prevFp = c.fp[k];
  }
  return area2 / (2 * c.positives * c.negatives);
}

/**
 * Average precision (what TSB-AD reports as AUC-PR), as
 * `sklearn.metrics.average_precision_score`: the step-wise sum over distinct thresholds, in
 * descending order, of `(R_k - R_{k-1}) * P_k`, with no interpolation. Not the trapezoidal
 * area, which is optimistic. Constant scores give `P / n`.
 *
 * @param labels per-point 0/1 ground truth, length n
 * @param scores per-point anomaly scores, length n, finite
 * @returns AP in [0, 1]
 * @throws SeismoError ERR_EVAL when the labels lack positives or negatives
 */
export function averagePrecision(labels: LabelArray, scores: ScoreArray): number {
  const input = checkPair(labels, scores);
  requireBothClasses(input, 'average precision');
  const c = curvePoints(input.labels, input.scores);
  let ap = 0;
  let prevTp = 0;
  for (let k = 0; k < c.tp.length; k++) {
    const dTp = c.tp[k] - prevTp;
    if (dTp > 0) ap += (dTp / c.positives) * (c.tp[k] / (c.tp[k] + c.fp[k]));
    prevTp = c.tp[k];
  }
  return ap;
}

/** Alias of {@link averagePrecision}, the name the `evaluate()` summary uses. */
export const prAuc = averagePrecision;

/** Result of {@link bestF1}. */
export interface BestF1 {
  /** The highest point-wise F1 over all thresholds `score >= t`, t a distinct score. */
  f1: number;
  /** The score value t that attains it; on an exact tie, the largest such t. */
  threshold: number;
  precision: number;
  recall: number;
}

/**
 * Exact best F1 over every distinct score used as an inclusive threshold, O(n log n). F1 at a
 * threshold is `2TP / (Npred + P)`; candidates are compared as exact fractions (cross
 * multiplication of integers), so ties are real ties, and the largest tied threshold wins
 * (fewest alarms for the same F1).
 *
 * @param labels per-point 0/1 ground truth, length n, at least one 1
 * @param scores per-point anomaly scores, length n, finite
 * @throws SeismoError ERR_EVAL when the labels hold no positive point
 */
export function bestF1(labels: LabelArray, scores: ScoreArray): BestF1 {
  const input = checkPair(labels, scores);
  if (input.positives === 0) {
    throw new SeismoError('ERR_EVAL', 'best F1 is undefined: the labels hold no anomalous point (no 1s)');
  }
  const c = curvePoints(input.labels, input.scores);
  const P = c.positives;
  // Products 2TP·(Npred+P) stay below 4n², exact in float64 while n < 4.7e7; beyond that,
  // compare with BigInt so ties are still decided exactly.
  const exact = input.labels.length < 4.5e7;
  let bestK = 0;
  let bestNum = 2 * c.tp[0];
  let bestDen = c.tp[0] + c.fp[0] + P;
  for (let k = 1; k < c.tp.length; k++) {
    const num = 2 * c.tp[k];
    const den = c.tp[k] + c.fp[k] + P;
    // Thresholds descend with k, so a strict improvement is needed to move to a smaller one.
    const better = exact ? num * bestDen > bestNum * den : BigInt(num) * BigInt(bestDen) > BigInt(bestNum) * BigInt(den);
    if (better) {
      bestK = k;
      bestNum = num;
      bestDen = den;
    }
  }
  const tp = c.tp[bestK];
  const npred = tp + c.fp[bestK];
  return { f1: bestNum / bestDen, threshold: c.thresholds[bestK], precision: npred > 0 ? tp / npred : 0, recall: tp / P };
}
