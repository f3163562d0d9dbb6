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

/**
 * Which row label a score is judged against. A score is stamped with the last row of the frames
 * it covers (a window model's score at row t covers rows t-window+1 .. t):
 * - `any` (the default): the score is anomalous when any row it covers is labelled 1. A window
 *   that holds an anomaly is what a window model sees and scores high, so one planted anomaly
 *   makes `window` positive windows, not one positive and `window - 1` false positives.
 * - `last`: the score is anomalous when its last row is labelled 1. Right for forecasters and
 *   per-row scores, whose score is about the last row alone.
 * For per-row scores (window 1) both rules are the same.
 */
export type LabelRule = 'any' | 'last';

/** The rules of {@link LabelRule}, the default first. */
export const LABEL_RULES: readonly LabelRule[] = ['any', 'last'];

/** Checks a label rule given as text (a CLI option, a config value). */
export function parseLabelRule(value: unknown, what = 'label rule'): LabelRule {
  if (value === undefined) return 'any';
  if (value === 'any' || value === 'last') return value;
  throw new SeismoError('ERR_INVALID_OPTION', `${what} must be ${LABEL_RULES.join(' or ')}, got '${String(value)}'`, { value });
}

/** Per-score labels under a {@link LabelRule}, and the labelled rows no score was judged on. */
export interface SpanLabels {
  /** `[n]`: 1 where the score's rows are anomalous under the rule. */
  labels: Uint8Array;
  /**
   * Rows that no score is judged on: outside every score's rows under `any`, not the last row
   * of any score under `last` (the first `window - 1` rows of a windowed model, or rows between
   * strided windows).
   */
  unscoredRows: number;
  /**
   * Anomalous rows among {@link unscoredRows}. No score can have caught them: an evaluation
   * counts each as a missed anomaly (see {@link withMissedAnomalies}) instead of dropping it.
   */
  unscoredAnomalies: number;
}

/**
 * Labels scores that cover row spans: score `i` covers rows `firstRows[i] .. lastRows[i]`
 * (inclusive, 0-based into `rowLabels`), and is labelled under `rule`. O(rows + scores).
 * @throws SeismoError `ERR_BAD_SHAPE` when a span is empty, reversed or outside the rows.
 */
export function labelSpans(rowLabels: LabelArray, firstRows: ArrayLike<number>, lastRows: ArrayLike<number>, rule: LabelRule = 'any'): SpanLabels {
  const rows = toBinary(rowLabels);
  const n = lastRows.length;
  if (firstRows.length !== n) throw new SeismoError('ERR_BAD_SHAPE', `${firstRows.length} span starts for ${n} span ends`);
  // prefix[r] = anomalous rows before r; cover[r] = +1/-1 at span starts/ends (the rows judged).
  const prefix = new Int32Array(rows.length + 1);
  for (let r = 0; r < rows.length; r++) prefix[r + 1] = prefix[r]! + rows[r]!;
  const cover = new Int32Array(rows.length + 1);
  const labels = new Uint8Array(n);
  for (let i = 0; i < n; i++) {
    const first = firstRows[i]!;
    const last = lastRows[i]!;
    if (!Number.isInteger(first) || !Number.isInteger(last) || first < 0 || first > last || last >= rows.length) {
      throw new SeismoError('ERR_BAD_SHAPE', `score ${i} covers rows ${first}..${last}, outside the ${rows.length} labelled rows (or reversed)`, { index: i });
    }
    if (rule === 'any') {
      labels[i] = prefix[last + 1]! - prefix[first]! > 0 ? 1 : 0;
      cover[first]!++;
      cover[last + 1]!--;
    } else {
      labels[i] = rows[last]!;
      cover[last]!++;
      cover[last + 1]!--;
    }
  }
  let unscoredRows = 0;
  let unscoredAnomalies = 0;
  let depth = 0;
  for (let r = 0; r < rows.length; r++) {
    depth += cover[r]!;
    if (depth === 0) {
      unscoredRows++;
      unscoredAnomalies += rows[r]!;
    }
  }
  return { labels, unscoredRows, unscoredAnomalies };
}

/**
 * Labels the windows of a windowed model: window `i` ends at row `endRows[i]` and covers the
 * `window` rows up to it (fewer at the start of the series).
 */
export function windowLabels(rowLabels: LabelArray, endRows: ArrayLike<number>, window: number, rule: LabelRule = 'any'): SpanLabels {
  if (!Number.isInteger(window) || window < 1) throw new SeismoError('ERR_INVALID_OPTION', `window must be an integer >= 1, got ${String(window)}`);
  const first = new Int32Array(endRows.length);
  for (let i = 0; i < first.length; i++) first[i] = Math.max(0, endRows[i]! - window + 1);
  return labelSpans(rowLabels, first, endRows, rule);
}

/**
 * Appends `missed` anomalous points that no score judged (see {@link SpanLabels.unscoredAnomalies})
 * to a (labels, scores[, predictions]) triple, each scored below every real score and predicted
 * normal: they count against recall and sink to the bottom of every ranking (ROC, PR, VUS), as a
 * detector that never looked at them deserves.
 */
export function withMissedAnomalies(
  labels: LabelArray,
  scores: ScoreArray,
  missed: number,
  predictions?: LabelArray,
): { labels: Uint8Array; scores: Float64Array; predictions?: Uint8Array } {
  const y = toBinary(labels);
  const s = toScores(scores);
  const p = predictions === undefined ? undefined : toBinary(predictions, 'predictions');
  if (missed <= 0) return { labels: y, scores: s, predictions: p };
  let min = Infinity;
  let max = -Infinity;
  for (let i = 0; i < s.length; i++) {
    if (s[i]! < min) min = s[i]!;
    if (s[i]! > max) max = s[i]!;
  }
  const low = s.length === 0 ? 0 : min - Math.max(1, max - min);
  const outY = new Uint8Array(y.length + missed);
  outY.set(y);
  outY.fill(1, y.length);
  const outS = new Float64Array(s.length + missed);
  outS.set(s);
  outS.fill(low, s.length);
  let outP: Uint8Array | undefined;
  if (p) {
    outP = new Uint8Array(p.length + missed);
    outP.set(p);
  }
  return { labels: outY, scores: outS, predictions: outP };
}
