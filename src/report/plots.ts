/**
 * The evaluation plots of `seismo eval --plots <dir>`, each written as SVG and PNG:
 * - `scores-histogram`: score distribution of normal vs anomalous points, threshold marked;
 * - `roc`, `pr`: ROC and precision-recall curves with AUC / AP, the operating point marked;
 * - `timeline`: the score over time with the threshold, true anomalies and detections shaded;
 * - `event-channels`: per-channel contributions of the strongest detected event (needs the
 *   `score_<channel>` columns that `seismo detect --out` writes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { averagePrecision, rocAuc } from '../evaluate/curves.js';
import { findRanges } from '../evaluate/segments.js';
import { svgToPng } from './png.js';
import { Chart, COLORS, logFloor, wantsLog, type LegendItem } from './svg.js';

/** What the plots need: scores and labels joined point by point, in time order. */
export interface EvalPlotData {
  /** Timestamp text of each point (for axis labels). */
  timestamps: string[];
  /** `[n]` 0/1. */
  labels: Uint8Array;
  /** `[n]`. */
  scores: Float64Array;
  /** `[n]` 0/1 decisions the threshold metrics used. */
  predictions: Uint8Array;
  /** The score threshold, when the decisions come from one (null: per-row or given decisions). */
  threshold: number | null;
  /** Per-channel scores (`score_<name>` columns), each `[n]`; may be empty. */
  channels: { name: string; values: Float64Array }[];
}

/** Writes every plot as `<name>.svg` and `<name>.png` into `dir`; returns the paths written. */
export function writeEvalPlots(dir: string, data: EvalPlotData): string[] {
  fs.mkdirSync(dir, { recursive: true });
  const charts: [string, string][] = [
    ['scores-histogram', histogram(data)],
    ['roc', rocChart(data)],
    ['pr', prChart(data)],
    ['timeline', timeline(data)],
  ];
  const event = eventChannels(data);
  if (event) charts.push(['event-channels', event]);
  const files: string[] = [];
  for (const [name, svg] of charts) {
    const svgPath = path.join(dir, `${name}.svg`);
    const pngPath = path.join(dir, `${name}.png`);
    fs.writeFileSync(svgPath, svg);
    fs.writeFileSync(pngPath, svgToPng(svg));
    files.push(svgPath, pngPath);
  }
  return files;
}

function range(xs: ArrayLike<number>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < xs.length; i++) {
    if (xs[i]! < lo) lo = xs[i]!;
    if (xs[i]! > hi) hi = xs[i]!;
  }
  return [lo, hi];
}

/**
 * Normal vs anomalous score histograms, each normalised to its own total (classes differ in size
 * by orders of magnitude). Scores spanning two decades or more get log-spaced bins on a log axis:
 * on a linear one the normal range is one bar pressed against zero beside the anomalies' tail.
 */
export function histogram(d: EvalPlotData): string {
  const log = wantsLog(d.scores, d.threshold === null ? [] : [d.threshold]);
  const [min, hi0] = range(d.scores);
  // On a log axis the lowest 0.1% of scores are folded into the first bin rather than stretching it.
  const lo = log ? Math.min(logFloor(d.scores), d.threshold ?? Infinity) : min;
  const hi = hi0 > lo ? hi0 : lo + 1;
  const bins = 50;
  const edge = (b: number) => (log ? lo * Math.pow(hi / lo, b / bins) : lo + ((hi - lo) * b) / bins);
  const binOf = (v: number) => (log ? Math.floor((Math.log(Math.max(v, lo)) - Math.log(lo)) / ((Math.log(hi) - Math.log(lo)) / bins)) : Math.floor((v - lo) / ((hi - lo) / bins)));
  const counts = [new Float64Array(bins), new Float64Array(bins)];
  const totals = [0, 0];
  for (let i = 0; i < d.scores.length; i++) {
    const b = Math.max(0, Math.min(bins - 1, binOf(d.scores[i]!)));
    counts[d.labels[i]!]![b]!++;
    totals[d.labels[i]!]!++;
  }
  const share = counts.map((c, k) => c.map((v) => (totals[k]! > 0 ? v / totals[k]! : 0)));
  const ymax = Math.max(...share[0]!, ...share[1]!) * 1.1;
  const x0 = Array.from({ length: bins }, (_, b) => edge(b));
  const x1 = Array.from({ length: bins }, (_, b) => edge(b + 1));
  const legend: LegendItem[] = [
    { label: `normal (${totals[0]} points)`, color: COLORS.blue, kind: 'box' as const, opacity: 0.55 },
    { label: `anomalous (${totals[1]} points)`, color: COLORS.red, kind: 'box' as const, opacity: 0.55 },
  ];
  if (d.threshold !== null) legend.push({ label: `threshold ${d.threshold.toPrecision(4)}`, color: COLORS.ink, kind: 'dash' });
  const c = new Chart({
    title: 'Score distribution: normal vs anomalous',
    xLabel: log ? 'anomaly score (log scale)' : 'anomaly score',
    yLabel: "share of the class's points",
    x: [lo, hi],
    xScale: log ? 'log' : 'linear',
    y: [0, ymax || 1],
    legend,
  });
  c.bars(x0, x1, share[0]!, COLORS.blue, 0.55);
  c.bars(x0, x1, share[1]!, COLORS.red, 0.55);
  if (d.threshold !== null) c.vline(d.threshold, COLORS.ink);
  return c.toSvg();
}

/** Operating points of `score >= t` for every distinct t, descending: (fpr, tpr, precision, recall). */
function curve(d: EvalPlotData): { fpr: number[]; tpr: number[]; precision: number[]; recall: number[] } {
  const n = d.scores.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => d.scores[b]! - d.scores[a]!);
  let P = 0;
  for (let i = 0; i < n; i++) P += d.labels[i]!;
  const N = n - P;
  const out = { fpr: [0], tpr: [0], precision: [] as number[], recall: [] as number[] };
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    if (d.labels[i]) tp++;
    else fp++;
    if (k + 1 < n && d.scores[order[k + 1]!] === d.scores[i]) continue;
    out.fpr.push(N > 0 ? fp / N : 0);
    out.tpr.push(P > 0 ? tp / P : 0);
    out.precision.push(tp / (tp + fp));
    out.recall.push(P > 0 ? tp / P : 0);
  }
  return out;
}

function operatingPoint(d: EvalPlotData): { tp: number; fp: number; P: number; N: number } {
  let tp = 0;
  let fp = 0;
  let P = 0;
  for (let i = 0; i < d.labels.length; i++) {
    P += d.labels[i]!;
    if (d.predictions[i]) d.labels[i] ? tp++ : fp++;
  }
  return { tp, fp, P, N: d.labels.length - P };
}

/** The operating point and its label, on the side of the point away from the curve. */
function marker(c: Chart, x: number, y: number, label: string, prefer: { h: 'left' | 'right'; v: 'above' | 'below' }): void {
  c.point(x, y, COLORS.ink);
  c.pointLabel(x, y, label, { color: COLORS.ink, size: 12, weight: 'bold', prefer });
}

export function rocChart(d: EvalPlotData): string {
  const cu = curve(d);
  const auc = rocAuc(d.labels, d.scores);
  const op = operatingPoint(d);
  const c = new Chart({
    title: `ROC curve (AUC ${auc.toFixed(3)})`,
    xLabel: 'false positive rate',
    yLabel: 'true positive rate (recall)',
    x: [0, 1],
    y: [0, 1],
    width: 560,
    height: 520,
    legend: [
      { label: 'detector', color: COLORS.blue },
      { label: 'chance', color: COLORS.grey, kind: 'dash' },
      { label: 'operating point (threshold)', color: COLORS.ink, kind: 'dot' },
    ],
  });
  c.line([0, 1], [0, 1], COLORS.grey, 1.2, '5 4');
  c.line(cu.fpr, cu.tpr, COLORS.blue, 2.2);
  // The ROC curve rises to the right of the point: below and right of it lies under the curve.
  marker(c, op.N > 0 ? op.fp / op.N : 0, op.P > 0 ? op.tp / op.P : 0, 'threshold', { h: 'right', v: 'below' });
  return c.toSvg();
}

export function prChart(d: EvalPlotData): string {
  const cu = curve(d);
  const ap = averagePrecision(d.labels, d.scores);
  const op = operatingPoint(d);
  const prevalence = op.P / d.labels.length;
  // Step-wise, as average precision integrates it: precision holds until the next recall step.
  const xs: number[] = [0];
  const ys: number[] = [cu.precision[0] ?? 1];
  for (let k = 0; k < cu.recall.length; k++) {
    xs.push(cu.recall[k]!, cu.recall[k]!);
    ys.push(ys[ys.length - 1]!, cu.precision[k]!);
  }
  const c = new Chart({
    title: `Precision-recall curve (AP ${ap.toFixed(3)})`,
    xLabel: 'recall',
    yLabel: 'precision',
    x: [0, 1],
    y: [0, 1],
    width: 560,
    height: 520,
    legend: [
      { label: 'detector', color: COLORS.green },
      { label: `chance (prevalence ${prevalence.toFixed(3)})`, color: COLORS.grey, kind: 'dash' },
      { label: 'operating point (threshold)', color: COLORS.ink, kind: 'dot' },
    ],
  });
  c.hline(prevalence, COLORS.grey, undefined, '5 4');
  c.line(xs, ys, COLORS.green, 2.2);
  const predicted = op.tp + op.fp;
  // Precision falls as recall grows: below and left of the point lies under the curve.
  marker(c, op.P > 0 ? op.tp / op.P : 0, predicted > 0 ? op.tp / predicted : 0, 'threshold', { h: 'left', v: 'below' });
  return c.toSvg();
}

/** Timestamp tick labels at round indices. */
function timeTicks(d: EvalPlotData): { value: number; text: string }[] {
  const n = d.timestamps.length;
  const ticks: { value: number; text: string }[] = [];
  const k = 5;
  for (let j = 0; j <= k; j++) {
    const i = Math.round(((n - 1) * j) / k);
    ticks.push({ value: i, text: d.timestamps[i] ?? String(i) });
  }
  return ticks;
}

/**
 * The score over time. Scores spanning two decades or more are drawn on a log axis, so that the
 * normal range, the threshold and the anomalies' peaks are all readable at once.
 */
export function timeline(d: EvalPlotData): string {
  const n = d.scores.length;
  const [lo, hi] = range(d.scores);
  const top = Math.max(hi, d.threshold ?? hi);
  const log = wantsLog(d.scores, d.threshold === null ? [] : [d.threshold]);
  const pad = (top - Math.min(lo, 0)) * 0.08;
  // Log: from a low quantile (a few tiny scores would waste decades) to above the peak; room at
  // the bottom for the detection strip.
  const floor = log ? Math.min(logFloor(d.scores), d.threshold ?? Infinity) : 0;
  const y: [number, number] = log ? [floor / Math.pow(top / floor, 0.08), top * Math.pow(top / floor, 0.05)] : [Math.min(lo, 0) - pad, top + pad];
  const xs = Array.from({ length: n }, (_, i) => i);
  const truth = findRanges(d.labels).map((r) => ({ from: r.start - 0.5, to: r.end + 0.5 }));
  const detected = findRanges(d.predictions).map((r) => ({ from: r.start - 0.5, to: r.end + 0.5 }));
  const legend: LegendItem[] = [
    { label: 'score', color: COLORS.blue },
    { label: 'labelled anomaly', color: COLORS.red, kind: 'box', opacity: 0.22 },
    { label: 'detected (bottom strip)', color: COLORS.ink, kind: 'box', opacity: 0.75 },
  ];
  if (d.threshold !== null) legend.splice(1, 0, { label: `threshold ${d.threshold.toPrecision(4)}`, color: COLORS.ink, kind: 'dash' });
  const c = new Chart({
    title: 'Anomaly score over time',
    xLabel: 'time',
    yLabel: log ? 'anomaly score (log scale)' : 'anomaly score',
    x: [-0.5, n - 0.5],
    y,
    yScale: log ? 'log' : 'linear',
    width: 1100,
    height: 440,
    xTicks: timeTicks(d),
    legend,
  });
  c.spans(truth, COLORS.red, 0.22);
  // Detections as a strip along the bottom, so they do not hide the labelled spans.
  c.spans(detected, COLORS.ink, 0.75, 0, 0.05);
  c.line(xs, d.scores, COLORS.blue, 1.2);
  if (d.threshold !== null) c.hline(d.threshold, COLORS.ink);
  return c.toSvg();
}

/**
 * Channel contributions around the strongest detected event: the event is the run of detected
 * points holding the highest score; the chart shows each channel's score over the event and
 * twice its length on each side, with the event shaded and the channels ranked in the legend by
 * their share at the peak. Null when there is no channel column or no detection.
 */
export function eventChannels(d: EvalPlotData): string | null {
  if (d.channels.length === 0) return null;
  const events = findRanges(d.predictions);
  if (events.length === 0) return null;
  let best = events[0]!;
  let peak = -1;
  let bestScore = -Infinity;
  for (const e of events) {
    for (let i = e.start; i <= e.end; i++) {
      if (d.scores[i]! > bestScore) {
        bestScore = d.scores[i]!;
        best = e;
        peak = i;
      }
    }
  }
  const len = best.end - best.start + 1;
  const from = Math.max(0, best.start - 2 * len - 10);
  const to = Math.min(d.scores.length, best.end + 1 + 2 * len + 10);
  const xs = Array.from({ length: to - from }, (_, i) => from + i);
  let total = 0;
  for (const ch of d.channels) total += ch.values[peak]!;
  const ranked = d.channels.map((ch, k) => ({ ch, k, at: ch.values[peak]! })).sort((a, b) => b.at - a.at);
  const palette = [COLORS.red, COLORS.blue, COLORS.green, COLORS.orange, COLORS.purple, COLORS.sky, COLORS.grey, COLORS.yellow];
  const shown = ranked.slice(0, 8);
  let ymax = 0;
  for (const s of shown) for (const x of xs) ymax = Math.max(ymax, s.ch.values[x]!);
  const c = new Chart({
    title: `Channel contributions of the strongest detected event (${d.timestamps[best.start]} .. ${d.timestamps[best.end]})`,
    xLabel: 'time',
    yLabel: 'channel score',
    x: [from - 0.5, to - 0.5],
    y: [0, ymax * 1.12 || 1],
    width: 1100,
    height: 440,
    xTicks: Array.from({ length: 5 }, (_, j) => Math.round(from + ((to - 1 - from) * j) / 4)).map((v) => ({ value: v, text: d.timestamps[v] ?? String(v) })),
    legend: [
      ...shown.map((s, j) => ({ label: `${s.ch.name}: ${total > 0 ? ((100 * s.at) / total).toFixed(0) : '0'}% at peak`, color: palette[j % palette.length]! })),
      { label: 'detected event', color: COLORS.orange, kind: 'box' as const, opacity: 0.25 },
    ],
  });
  c.spans([{ from: best.start - 0.5, to: best.end + 0.5 }], COLORS.orange, 0.22);
  shown.forEach((s, j) => c.line(xs, xs.map((x) => s.ch.values[x]!), palette[j % palette.length]!, 1.8));
  c.vline(peak, COLORS.ink, 'peak');
  return c.toSvg();
}
