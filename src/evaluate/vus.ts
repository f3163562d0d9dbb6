/**
 * Volume under the surface (VUS-ROC and VUS-PR) of Paparrizos et al. (VLDB 2022), computed
 * exactly as TSB-AD's `RangeAUC_volume_opt` (the version `get_metrics` uses) so that numbers are
 * comparable with the TSB-AD leaderboards.
 *
 * For each buffer width w = 0..slidingWindow, the labels are extended by a soft margin of w/2
 * points on each side of every true range (weight sqrt(1 - distance/w)), and a range-aware ROC
 * and PR curve are traced over 250 rank-sampled thresholds; the results are averaged over w.
 *
 * TSB-AD's code walks the whole series at every (w, threshold). Here only points within the
 * largest margin of a true range can carry label weight, so each (w, threshold) costs only a
 * walk over those "zone" points plus pointers into pre-sorted arrays; the arithmetic per point is
 * the same, so results agree to rounding (≈1e-15).
 */
import { SeismoError } from '../errors.js';
import { checkPair, requireBothClasses, type LabelArray, type ScoreArray } from './inputs.js';
import { findRanges, type Range } from './segments.js';

/** Options of {@link vus}. */
export interface VusOptions {
  /**
   * Largest buffer width, in points (TSB-AD's `slidingWindow`). The volume averages widths
   * 0..slidingWindow inclusive. TSB-AD's `get_metrics` default is 100; its benchmark scripts
   * use the series' dominant period. Non-negative integer.
   */
  slidingWindow: number;
  /** Number of rank-sampled thresholds (TSB-AD's `thre`). Default 250. */
  thresholds?: number;
}

/** VUS-ROC and VUS-PR, each in [0, 1]. */
export interface VusResult {
  vusRoc: number;
  vusPr: number;
}

/**
 * Rank indices of the sampled thresholds: numpy's `linspace(0, n-1, k).astype(int)`, i.e. float64
 * `i * ((n-1)/(k-1))` truncated, last forced to n-1. Exact integer division differs from numpy
 * for some n (e.g. 1080), shifting VUS by ~1e-6, so the float form is deliberate.
 */
export function thresholdRanks(n: number, k: number): Int32Array {
  const idx = new Int32Array(k);
  if (k === 1) {
    idx[0] = 0;
    return idx;
  }
  const step = (n - 1) / (k - 1);
  for (let i = 0; i < k; i++) idx[i] = Math.trunc(i * step);
  idx[k - 1] = n - 1;
  return idx;
}

/**
 * TSB-AD's `new_sequence`: the true ranges widened by w//2 on each side, merged unless
 * `end_i + w//2 < start_{i+1} - w//2`. Only the series' two outer ends are clipped.
 */
function mergedSegments(ranges: Range[], half: number, n: number): Range[] {
  const out: Range[] = [];
  let a = Math.max(ranges[0].start - half, 0);
  for (let i = 0; i < ranges.length - 1; i++) {
    if (ranges[i].end + half < ranges[i + 1].start - half) {
      out.push({ start: a, end: ranges[i].end + half });
      a = ranges[i + 1].start - half;
    }
  }
  out.push({ start: a, end: Math.min(ranges[ranges.length - 1].end + half, n - 1) });
  return out;
}

/**
 * VUS-ROC and VUS-PR of TSB-AD (`RangeAUC_volume_opt`, `thre` = 250).
 *
 * @param labels per-point 0/1 ground truth, length n
 * @param scores per-point anomaly scores, length n, finite
 * @param options `slidingWindow` (buffer width in points), optional threshold count
 * @throws SeismoError ERR_EVAL without positives or negatives; ERR_INVALID_OPTION on a bad window
 */
export function vus(labels: LabelArray, scores: ScoreArray, options: VusOptions): VusResult {
  const sw = options.slidingWindow;
  if (!Number.isInteger(sw) || sw < 0) {
    throw new SeismoError('ERR_INVALID_OPTION', `slidingWindow must be a non-negative integer, got ${sw}`);
  }
  const thre = options.thresholds ?? 250;
  if (!Number.isInteger(thre) || thre < 1) {
    throw new SeismoError('ERR_INVALID_OPTION', `thresholds must be a positive integer, got ${thre}`);
  }
  const input = checkPair(labels, scores);
  requireBothClasses(input, 'VUS');
  const y = input.labels;
  const s = input.scores;
  const n = s.length;
  const P = input.positives;
  const truth = findRanges(y);

  // Threshold values, descending: the score at each sampled rank of the descending sort.
  const sortedDesc = Float64Array.from(s).sort().reverse();
  const ranks = thresholdRanks(n, thre);
  const thr = new Float64Array(thre);
  for (let k = 0; k < thre; k++) thr[k] = sortedDesc[ranks[k]];
  // Npred at each threshold: the number of scores >= thr[k].
  const nPred = new Float64Array(thre);
  {
    let c = 0;
    for (let k = 0; k < thre; k++) {
      while (c < n && sortedDesc[c] >= thr[k]) c++;
      nPred[k] = c;
    }
  }

  // Zone: non-anomalous points within the largest margin of a true range, the only normal
  // points that can ever carry label weight. Sorted by descending score for the sweeps below.
  const halfMax = Math.floor(sw / 2);
  const zone: number[] = [];
  for (const seg of mergedSegments(truth, halfMax, n)) {
    for (let i = seg.start; i <= seg.end; i++) if (y[i] === 0) zone.push(i);
  }
  zone.sort((a, b) => s[b] - s[a]);
  // True points sorted by descending score: their count above a threshold is their TP share.
  const truePts: number[] = [];
  for (let i = 0; i < n; i++) if (y[i] === 1) truePts.push(i);
  truePts.sort((a, b) => s[b] - s[a]);
  const trueAbove = new Float64Array(thre);
  {
    let c = 0;
    for (let k = 0; k < thre; k++) {
      while (c < truePts.length && s[truePts[c]] >= thr[k]) c++;
      trueAbove[k] = c;
    }
  }

  const ext = new Float64Array(n);
  let rocSum = 0;
  let prSum = 0;
  for (let w = 0; w <= sw; w++) {
    const half = Math.floor(w / 2);
    // Soft extension (TSB-AD `sequencing`): contributions of neighbouring ranges add, then clip.
    for (const i of zone) ext[i] = 0;
    if (half > 0) {
      for (const r of truth) {
        for (let t = r.end + 1; t < Math.min(r.end + half + 1, n); t++) ext[t] += Math.sqrt(1 - (t - r.end) / w);
        for (let t = Math.max(r.start - half, 0); t < r.start; t++) ext[t] += Math.sqrt(1 - (r.start - t) / w);
      }
      for (const i of zone) if (ext[i] > 1) ext[i] = 1;
    }
    // Existence: a merged segment counts once any of its points is predicted, i.e. once the
    // threshold drops to the segment's maximum score.
    const segs = mergedSegments(truth, half, n);
    const segMax = segs.map((g) => {
      let m = -Infinity;
      for (let i = g.start; i <= g.end; i++) if (s[i] > m) m = s[i];
      return m;
    });
    segMax.sort((a, b) => b - a);

    let zp = 0;
    let softTp = 0; // Σ ext over predicted zone points
    let segHit = 0;
    let prevTpr = 0;
    let prevFpr = 0;
    let roc = 0;
    let pr = 0;
    for (let k = 0; k < thre; k++) {
      const t = thr[k];
      while (zp < zone.length && s[zone[zp]] >= t) softTp += ext[zone[zp++]];
      while (segHit < segMax.length && segMax[segHit] >= t) segHit++;
      // Inside true ranges the label is forced to 1, so TP there is the count of predicted
      // true points; outside, a predicted point contributes its soft label to both TP and the
      // label mass.
      const tp = trueAbove[k] + softTp;
      const nLabels = P + softTp;
      const pNew = (P + nLabels) / 2;
      const tpr = Math.min(tp / pNew, 1) * (segHit / segs.length);
      const fpr = (nPred[k] - tp) / (n - pNew);
      const prec = tp / nPred[k];
      roc += ((fpr - prevFpr) * (tpr + prevTpr)) / 2;
      pr += (tpr - prevTpr) * prec;
      prevTpr = tpr;
      prevFpr = fpr;
    }
    // The ROC curve is closed at (1, 1); the PR sum stops at the last sampled threshold.
    roc += ((1 - prevFpr) * (1 + prevTpr)) / 2;
    rocSum += roc;
    prSum += pr;
  }
  return { vusRoc: rocSum / (sw + 1), vusPr: prSum / (sw + 1) };
}
