/**
 * Checks and normalises the two arrays every metric takes: per-point 0/1 labels and per-point
 * anomaly scores. Each metric calls these once at its boundary so the numeric code behind it can
 * assume clean, equally long, finite arrays.
 */
import { expectArrayLike, SeismoError } from '../errors.js';

/** Per-point ground truth: 1 = anomalous, 0 = normal. Any other value is rejected. */
export type LabelArray = Uint8Array | ArrayLike<number>;
/** Per-point anomaly scores, higher = more anomalous. Must be finite. */
export type ScoreArray = Float64Array | Float32Array | ArrayLike<number>;

/**
 * Copies `labels` into a `Uint8Array` after checking that every value is exactly 0 or 1
 * (booleans stored as numbers are fine). `what` names the array in error messages.
 */
export function toBinary(labels: LabelArray, what = 'labels'): Uint8Array {
  if (labels instanceof Uint8Array) {
    for (let i = 0; i < labels.length; i++) {
      if (labels[i] > 1) throw badLabel(what, i, labels[i]);
    }
    return labels;
  }
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i];
    if (v !== 0 && v !== 1) throw badLabel(what, i, v);
    out[i] = v;
  }
  return out;
}

function badLabel(what: string, index: number, value: unknown): SeismoError {
  return new SeismoError('ERR_EVAL', `${what}[${index}] is ${String(value)}; ${what} must be 0 or 1`, { index, value });
}

/**
 * Copies `scores` into a `Float64Array` (Float32 scores are widened exactly) after checking that
 * none is NaN or ±Infinity: a NaN has no place in a ranking and would silently corrupt every
 * sort and comparison downstream.
 */
export function toScores(scores: ScoreArray): Float64Array {
  const out = scores instanceof Float64Array ? scores : Float64Array.from(scores as ArrayLike<number>);
  for (let i = 0; i < out.length; i++) {
    if (!Number.isFinite(out[i])) {
      throw new SeismoError('ERR_NON_FINITE', `scores[${i}] is ${out[i]}; scores must be finite numbers`, { index: i });
    }
  }
  return out;
}

/** Labels and scores, checked: same non-zero length, labels 0/1, scores finite. */
export interface CheckedInput {
  labels: Uint8Array;
  scores: Float64Array;
  /** Number of label-1 points. */
  positives: number;
}

/** Validates a (labels, scores) pair; throws ERR_BAD_SHAPE on empty or mismatched lengths. */
export function checkPair(labels: LabelArray, scores: ScoreArray): CheckedInput {
  expectArrayLike(labels, 'labels');
  expectArrayLike(scores, 'scores');
  if (labels.length !== scores.length) {
    throw new SeismoError(
      'ERR_BAD_SHAPE',
      `labels and scores differ in length (${labels.length} vs ${scores.length}); give one score per labelled point`,
      { labels: labels.length, scores: scores.length },
    );
  }
  if (labels.length === 0) throw new SeismoError('ERR_BAD_SHAPE', 'labels and scores are empty; nothing to evaluate');
  const y = toBinary(labels);
  const s = toScores(scores);
  return { labels: y, scores: s, positives: countOnes(y) };
}

/** Validates a (labels, predictions) pair of equal, non-zero length, both 0/1. */
export function checkBinaryPair(labels: LabelArray, predictions: LabelArray): { labels: Uint8Array; predictions: Uint8Array } {
  if (labels.length !== predictions.length) {
    throw new SeismoError(
      'ERR_BAD_SHAPE',
      `labels and predictions differ in length (${labels.length} vs ${predictions.length})`,
      { labels: labels.length, predictions: predictions.length },
    );
  }
  if (labels.length === 0) throw new SeismoError('ERR_BAD_SHAPE', 'labels and predictions are empty; nothing to evaluate');
  return { labels: toBinary(labels), predictions: toBinary(predictions, 'predictions') };
}

/**
 * Throws ERR_EVAL unless there is at least one anomalous and one normal point: ranking metrics
 * (ROC AUC, AP, VUS) are undefined otherwise, and sklearn raises too.
 */
export function requireBothClasses(input: CheckedInput, metric: string): void {
  if (input.positives === 0) {
    throw new SeismoError('ERR_EVAL', `${metric} is undefined: the labels hold no anomalous point (no 1s)`, { metric });
  }
  if (input.positives === input.labels.length) {
    throw new SeismoError('ERR_EVAL', `${metric} is undefined: the labels hold no normal point (no 0s)`, { metric });
  }
}

/** Predictions at a threshold, inclusive: `pred[i] = scores[i] >= threshold`. */
export function predictAt(scores: Float64Array, threshold: number): Uint8Array {
  if (Number.isNaN(threshold)) throw new SeismoError('ERR_INVALID_OPTION', 'threshold is NaN');
  const pred = new Uint8Array(scores.length);
  for (let i = 0; i < scores.length; i++) pred[i] = scores[i] >= threshold ? 1 : 0;
  return pred;
}

export function countOnes(x: Uint8Array): number {
  let c = 0;
  for (let i = 0; i < x.length; i++) c += x[i];
  return c;
}
