/**
 * Evaluation of anomaly scores against 0/1 labels: every metric family in one call, and each
 * family on its own. See the per-module docs for the exact conventions (they match scikit-learn,
 * TSB-AD and prts; see also test/fixtures/metrics).
 */
import { SeismoError } from '../errors.js';
import { affiliation } from './affiliation.js';
import { averagePrecision, bestF1, rocAuc } from './curves.js';
import { checkBinaryPair, checkPair, predictAt, requireBothClasses, type LabelArray, type ScoreArray } from './inputs.js';
import { pointAdjustedPredictionMetrics } from './point-adjust.js';
import { rangePrecisionRecall } from './range-based.js';
import { countConfusion, metricsFromCounts } from './threshold-metrics.js';
import { vus } from './vus.js';

export * from './affiliation.js';
export * from './curves.js';
export * from './point-adjust.js';
export * from './range-based.js';
export * from './threshold-metrics.js';
export * from './vus.js';
export * from './nab.js';
export * from './nab-run.js';
export * from './nab-corpus.js';
export { hitRate, rankChannels, type HitRateInput, type HitRateResult } from './hitrate.js';
export { findRanges, type Range } from './segments.js';
export type { LabelArray, ScoreArray, LabelRule, SpanLabels } from './inputs.js';
export { LABEL_RULES, labelSpans, parseLabelRule, windowLabels, withMissedAnomalies } from './inputs.js';

/** Options of {@link evaluate}. */
export interface EvaluateOptions {
  /**
   * Decision threshold for the threshold metrics (point, point-adjusted, range, affiliation),
   * in score units, inclusive (`score >= threshold`). Default: the best-F1 threshold, which is
   * an optimistic, label-tuned choice; pass the detector's own threshold for an honest figure.
   */
  threshold?: number;
  /**
   * Ready-made 0/1 decisions (length n) for the threshold metrics, e.g. a detector's own alarms
   * under an adaptive threshold. Takes precedence over `threshold`; the result's `threshold` is
   * then null.
   */
  predictions?: LabelArray;
  /** VUS buffer width in points (TSB-AD `slidingWindow`). Default 100, as TSB-AD's `get_metrics`. */
  slidingWindow?: number;
}

/** Every metric of {@link evaluate}. Threshold metrics are at `threshold`. */
export interface EvaluationResult {
  /** ROC AUC (sklearn, ties count 1/2). */
  rocAuc: number;
  /** Average precision (sklearn `average_precision_score`, step-wise). */
  prAuc: number;
  /** TSB-AD VUS-ROC at `slidingWindow`. */
  vusRoc: number;
  /** TSB-AD VUS-PR at `slidingWindow`. */
  vusPr: number;
  /** The threshold the threshold metrics used; null when `predictions` were given. */
  threshold: number | null;
  /** Confusion counts at `threshold`. */
  tp: number;
  fp: number;
  tn: number;
  fn: number;
  precision: number;
  recall: number;
  f1: number;
  f2: number;
  f05: number;
  /** Point-adjusted (optimistic) precision / recall / F1. */
  paPrecision: number;
  paRecall: number;
  paF1: number;
  /** Tatbul range-based precision / recall / F1 (alpha 0, cardinality one, bias flat). */
  rangePrecision: number;
  rangeRecall: number;
  rangeF1: number;
  /** Affiliation precision / recall (Huet et al. 2022). */
  affiliationPrecision: number;
  affiliationRecall: number;
  /** Best point-wise F1 over all thresholds, and the (largest) threshold attaining it. */
  bestF1: number;
  bestF1Threshold: number;
  /** The VUS buffer width used. */
  slidingWindow: number;
}

/**
 * Computes every metric of seismo's evaluation in one call.
 *
 * @param labels per-point 0/1 ground truth, length n; needs at least one 1 and one 0
 * @param scores per-point anomaly scores, length n, finite, higher = more anomalous
 * @param options threshold (default: best-F1 threshold) or predictions for the threshold metrics,
 *   and the VUS window
 * @throws SeismoError ERR_BAD_SHAPE (length mismatch or empty), ERR_NON_FINITE (NaN/Inf scores),
 *   ERR_EVAL (labels not 0/1, or without positives or negatives), ERR_INVALID_OPTION
 */
export function evaluate(labels: LabelArray, scores: ScoreArray, options: EvaluateOptions = {}): EvaluationResult {
  const input = checkPair(labels, scores);
  requireBothClasses(input, 'evaluation');
  const { labels: y, scores: s } = input;
  const slidingWindow = options.slidingWindow ?? 100;
  if (options.threshold !== undefined && !Number.isFinite(options.threshold)) {
    throw new SeismoError('ERR_INVALID_OPTION', `threshold must be a finite number, got ${options.threshold}`);
  }
  const best = bestF1(y, s);
  let threshold: number | null;
  let pred: Uint8Array;
  if (options.predictions !== undefined) {
    pred = checkBinaryPair(y, options.predictions).predictions;
    threshold = null;
  } else {
    threshold = options.threshold ?? best.threshold;
    pred = predictAt(s, threshold);
  }
  const point = metricsFromCounts(countConfusion(y, pred));
  const pa = pointAdjustedPredictionMetrics(y, pred);
  const range = rangePrecisionRecall(y, pred);
  const aff = affiliation(y, pred);
  const v = vus(y, s, { slidingWindow });
  return {
    rocAuc: rocAuc(y, s),
    prAuc: averagePrecision(y, s),
    vusRoc: v.vusRoc,
    vusPr: v.vusPr,
    threshold,
    tp: point.tp,
    fp: point.fp,
    tn: point.tn,
    fn: point.fn,
    precision: point.precision,
    recall: point.recall,
    f1: point.f1,
    f2: point.f2,
    f05: point.f05,
    paPrecision: pa.precision,
    paRecall: pa.recall,
    paF1: pa.f1,
    rangePrecision: range.precision,
    rangeRecall: range.recall,
    rangeF1: range.f,
    affiliationPrecision: aff.precision,
    affiliationRecall: aff.recall,
    bestF1: best.f1,
    bestF1Threshold: best.threshold,
    slidingWindow,
  };
}
