/**
 * Affiliation precision and recall (Huet, Navarro, Rossi, KDD 2022), matching the `affiliation`
 * code bundled in TSB-AD (`pr_from_events` on `convert_vector_to_events`).
 *
 * Point i becomes the half-open interval [i, i+1) and consecutive points merge into one event.
 * The time line [0, n) is cut into one affiliation zone per true event (cuts halfway between
 * neighbouring events). Within a zone:
 * - precision: for each predicted instant x, the probability that a point drawn uniformly from
 *   the zone lies at least as far from the true event as x does (1 inside the event), averaged
 *   over the predicted length in the zone; zones without predictions are skipped;
 * - recall: for each instant y of the true event, the probability that a uniform point of the
 *   zone lies farther from y than the nearest prediction does (1 where predicted), averaged over
 *   the event; zones without predictions score 0.
 * Both integrands are piecewise linear in position, so they are integrated exactly with the
 * trapezoid rule between their kinks (the reference uses the equivalent closed forms).
 */
import { SeismoError } from '../errors.js';
import { checkBinaryPair, checkPair, predictAt, type LabelArray, type ScoreArray } from './inputs.js';
import { findRanges } from './segments.js';

/** A half-open interval [a, b) on the time line, in points. */
type Interval = readonly [number, number];

/** Affiliation precision and recall, each in [0, 1]. */
export interface AffiliationResult {
  precision: number;
  recall: number;
}

function events(x: Uint8Array): Interval[] {
  return findRanges(x).map((r) => [r.start, r.end + 1] as const);
}

/** Intersection with positive length, or null (touching intervals do not intersect). */
function intersect(i: Interval, j: Interval): Interval | null {
  const a = Math.max(i[0], j[0]);
  const b = Math.min(i[1], j[1]);
  return a < b ? [a, b] : null;
}

/** Zones around each event: cut halfway between neighbours, outer edges at `range`. */
function zones(evts: Interval[], range: Interval): Interval[] {
  return evts.map((e, k) => [
    k === 0 ? range[0] : (evts[k - 1][1] + e[0]) / 2,
    k === evts.length - 1 ? range[1] : (e[1] + evts[k + 1][0]) / 2,
  ]);
}

/** Exact integral over [a, b] of a function linear between consecutive `kinks`. */
function integratePiecewiseLinear(f: (x: number) => number, a: number, b: number, kinks: number[]): number {
  const pts = [a, ...kinks.filter((k) => k > a && k < b).sort((p, q) => p - q), b];
  let sum = 0;
  for (let i = 1; i < pts.length; i++) sum += ((pts[i] - pts[i - 1]) * (f(pts[i - 1]) + f(pts[i]))) / 2;
  return sum;
}

/** Pieces of `i` before, inside and after `j` (null when empty). */
function cutAround(i: Interval, j: Interval): [Interval | null, Interval | null, Interval | null] {
  const before: Interval | null = i[0] < j[0] ? [i[0], Math.min(i[1], j[0])] : null;
  const inside = intersect(i, j);
  const after: Interval | null = i[1] > j[1] ? [Math.max(i[0], j[1]), i[1]] : null;
  return [before && before[0] < before[1] ? before : null, inside, after && after[0] < after[1] ? after : null];
}

/** ∫ over the predicted piece `i` of the precision survival probability w.r.t. event `j` in zone `e`. */
function precisionIntegral(i: Interval, j: Interval, e: Interval): number {
  const zoneLen = e[1] - e[0];
  const jLen = j[1] - j[0];
  const gapLeft = j[0] - e[0];
  const gapRight = e[1] - j[1];
  // Share of the zone within distance d of the event: the event itself plus up to d on each side.
  const outside = (x: number): number => {
    const d = Math.max(j[0] - x, x - j[1], 0);
    return 1 - (jLen + Math.min(d, gapLeft) + Math.min(d, gapRight)) / zoneLen;
  };
  const kinks = [j[0] - gapLeft, j[0] - gapRight, j[1] + gapLeft, j[1] + gapRight];
  const [before, inside, after] = cutAround(i, j);
  let sum = inside ? inside[1] - inside[0] : 0;
  if (before) sum += integratePiecewiseLinear(outside, before[0], before[1], kinks);
  if (after) sum += integratePiecewiseLinear(outside, after[0], after[1], kinks);
  return sum;
}

/** ∫ over the event piece `j` of the recall survival probability w.r.t. prediction `i` in zone `e`. */
function recallIntegral(i: Interval, j: Interval, e: Interval): number {
  const zoneLen = e[1] - e[0];
  const [before, inside, after] = cutAround(j, i);
  let sum = inside ? inside[1] - inside[0] : 0;
  // For y outside the prediction at distance d from its near end (the pivot), the share of the
  // zone within d of y is |[y-d, y+d] ∩ zone|.
  const piece = (part: Interval, pivot: number): number => {
    // The reference scores a pivot on the zone boundary as 0 (cannot happen for events inside
    // their zone, kept for parity).
    if (pivot <= e[0] || pivot >= e[1]) return 0;
    const f = (y: number): number => {
      const d = Math.abs(pivot - y);
      return 1 - (Math.min(y + d, e[1]) - Math.max(y - d, e[0])) / zoneLen;
    };
    return integratePiecewiseLinear(f, part[0], part[1], [(e[0] + pivot) / 2, (e[1] + pivot) / 2]);
  };
  if (before) sum += piece(before, i[0]);
  if (after) sum += piece(after, i[1]);
  return sum;
}

/**
 * Affiliation precision and recall of 0/1 predictions against 0/1 labels.
 *
 * Convention: with no predicted point the reference returns NaN precision; here precision is 0
 * (and recall is 0 too, as in the reference).
 *
 * @param labels per-point 0/1 ground truth, length n, at least one 1
 * @param predictions per-point 0/1 predictions, length n
 * @throws SeismoError ERR_EVAL when the labels hold no anomalous point
 */
export function affiliation(labels: LabelArray, predictions: LabelArray): AffiliationResult {
  const { labels: y, predictions: p } = checkBinaryPair(labels, predictions);
  const gt = events(y);
  if (gt.length === 0) {
    throw new SeismoError('ERR_EVAL', 'affiliation is undefined: the labels hold no anomalous point (no 1s)');
  }
  const pred = events(p);
  const zs = zones(gt, [0, y.length]);
  let precSum = 0;
  let precCount = 0;
  let recSum = 0;
  for (let k = 0; k < gt.length; k++) {
    const j = gt[k];
    const e = zs[k];
    const pieces: Interval[] = [];
    for (const q of pred) {
      const c = intersect(q, e);
      if (c) pieces.push(c);
    }
    if (pieces.length === 0) continue; // precision: NaN zone, skipped; recall: 0
    let num = 0;
    let len = 0;
    for (const q of pieces) {
      num += precisionIntegral(q, j, e);
      len += q[1] - q[0];
    }
    precSum += num / len;
    precCount++;
    // Recall: the event is shared among the predictions of the zone by sub-zones cut halfway
    // between consecutive predictions; each part is scored against its own prediction.
    const sub = zones(pieces, e);
    let r = 0;
    for (let m = 0; m < pieces.length; m++) {
      const part = intersect(j, sub[m]);
      if (part) r += recallIntegral(pieces[m], part, e);
    }
    recSum += r / (j[1] - j[0]);
  }
  return { precision: precCount > 0 ? precSum / precCount : 0, recall: recSum / gt.length };
}

/** {@link affiliation} of `scores >= threshold`. */
export function affiliationMetrics(labels: LabelArray, scores: ScoreArray, threshold: number): AffiliationResult {
  const input = checkPair(labels, scores);
  return affiliation(input.labels, predictAt(input.scores, threshold));
}
