/**
 * The inputs of channel attribution (./attribution.ts has its formulas and why): each kind's
 * per-channel error term `e_c` read from its graph's outputs, each window's activity, and the
 * normal statistics of their logarithms fitted at training. Training fits them
 * (`fitChannelCalibration`, `fitActivityCalibration`), the inference worker takes the logarithms
 * beside onnxruntime (`channelLogTerms`), and the detector's attribution state reads the rest.
 */
import { loadNative, type NativeKernels } from '../native.js';
import { median } from '../stats/quantile.js';

/** How a kind's `channel_score` turns into the channel's own error term `e_c`. */
export type ChannelTerm =
  /** `e_c = channel_score[c]`: the score is a sum of per-channel terms. */
  | 'channel-score'
  /** `e_c = channel_score[c]^2`: `channel_score` is a standardised residual `|x - mu| / sigma` (DC-VAE's `gaussian-z`), whose square is the per-frame squared error its running mean averages. */
  | 'channel-score-squared'
  /** `e_c = channel_score[c] * score`: `channel_score` is a share of a norm (DeepAnT's `forecast-l2`). */
  | 'channel-score-times-score';

/** Per-channel statistics of the normal error terms, stored in `calibration.json` as `channels`. */
export interface ChannelCalibration {
  /** How `e_c` is read from the graph's outputs. */
  term: ChannelTerm;
  /** `[C]` median of `ln e_c` over the reference windows. */
  center: number[];
  /** `[C]` robust spread of `ln e_c` (>= `MIN_CHANNEL_SCALE`). */
  scale: number[];
  /** Reference windows they were fitted on. */
  windows: number;
  /**
   * Weight of the newest window in each series' running mean of `e_c` taken before the logarithm
   * (see the module comment); absent or 1: no running mean (statistics stored before it existed).
   */
  average?: number;
  /** `[C]` median and robust spread of `ln` of each channel's activity (the graph's `channel_activity`), when the graph has it. */
  activity?: { center: number[]; scale: number[] };
}

/** Floor of a channel's scale on the log scale: a channel whose normal errors are all equal must not turn tiny changes into huge z. */
export const MIN_CHANNEL_SCALE = 0.05;
/** Floor of an error term before its logarithm. */
export const LOG_FLOOR = 1e-12;

/** The error term of the kind whose score is described by `definition` (`manifest.score.definition`). */
export function channelTermOf(definition: string): ChannelTerm {
  if (definition === 'forecast-l2') return 'channel-score-times-score';
  if (definition === 'gaussian-z') return 'channel-score-squared';
  return 'channel-score';
}

/**
 * Weight of the newest window in the running mean of `e_c` for the kind whose score is
 * described by `definition`, what training fits the channel statistics with.
 * @see {@link TERM_AVERAGE}
 */
export function termAverageOf(definition: string): number {
  return TERM_AVERAGE[definition] ?? 1;
}

/**
 * Running-mean weights by score definition (absent: 1, none). The kinds that score one frame per
 * window (DC-VAE's last frame, DeepAnT's forecast) have a per-window error that is one draw of a
 * skewed distribution; its log is noisy (sd ~1.1 for a standardised residual), so a channel that
 * is a little off for many frames (a broken correlation, a level shift) hardly stands out in any
 * single window. Averaged over ~9 windows (weight 0.2) before the log, it does (docs/benchmarks.md).
 */
export const TERM_AVERAGE: Readonly<Record<string, number>> = Object.freeze({ 'gaussian-z': 0.2, 'forecast-l2': 0.2 });

/** `e_c` of channel `c` of window `n`. */
export function termValue(term: ChannelTerm, channelScores: ArrayLike<number>, scores: ArrayLike<number>, n: number, C: number, c: number): number {
  const cs = channelScores[n * C + c]!;
  return term === 'channel-score' ? cs : term === 'channel-score-squared' ? cs * cs : cs * scores[n]!;
}

export function logOf(e: number): number {
  return Math.log(e > LOG_FLOOR ? e : LOG_FLOOR);
}

/**
 * What `ln e_c` of a window depends on besides the graph's outputs: given it, anyone (the
 * inference worker, beside onnxruntime) computes with {@link channelLogTerms} exactly the values
 * `ChannelAttribution.attributeAndLearn` (./attribution.ts) would, which it then takes instead.
 */
export interface ChannelLogSpec {
  term: ChannelTerm;
}

/**
 * `ln e_c` (floored as the attribution floors it) of every channel of windows `[0, n)`, the
 * same values, bit for bit, as `ChannelAttribution` computes for itself.
 * @param channelScores `[n, C]` `channel_score`; @param scores `[n]` `score`; @param out `[n, C]`.
 */
export function channelLogTerms(spec: ChannelLogSpec, channelScores: Float32Array, scores: Float32Array, n: number, C: number, out: Float64Array): void {
  // The addon's loop (four lanes at a time with AVX2) when it loads and the arrays are exactly
  // these windows' (the worker's are); the same values either way.
  const native = n > 0 ? nativeLogTerms() : undefined;
  if (native && channelScores.length === n * C && scores.length === n && out.length === n * C) {
    native.channelLogTerms(TERM_CODES[spec.term], channelScores, scores, n, C, LOG_FLOOR, out);
    return;
  }
  channelLogTermsJs(spec, channelScores, scores, n, C, out);
}

/** The addon's term numbers (native/log_terms.h). */
export const TERM_CODES: Readonly<Record<ChannelTerm, 0 | 1 | 2>> = { 'channel-score': 0, 'channel-score-squared': 1, 'channel-score-times-score': 2 };

/** The addon's kernels once loaded, null where it cannot load (then the TypeScript loop serves). */
let nativeKernels: NativeKernels | null | undefined;

/** The addon's kernels, or undefined where it cannot load (loaded once; the TypeScript stand-ins serve then). */
export function nativeLogTerms(): NativeKernels | undefined {
  if (nativeKernels === undefined) {
    try {
      nativeKernels = loadNative();
    } catch {
      nativeKernels = null;
    }
  }
  return nativeKernels ?? undefined;
}

/** {@link channelLogTerms} in TypeScript: the reference the addon's loop is tested against, and its stand-in without the addon. */
export function channelLogTermsJs(spec: ChannelLogSpec, channelScores: Float32Array, scores: Float32Array, n: number, C: number, out: Float64Array): void {
  for (let i = 0; i < n; i++) windowLogTerms(spec.term, channelScores, scores[i]!, i * C, C, out, i * C);
}

/**
 * `ln e_c` of one window's channels (`channelScores[base .. base + C)`, its `score`) into
 * `out[outOffset .. outOffset + C)`: {@link termValue} and {@link logOf} in one loop, allocating nothing.
 */
export function windowLogTerms(term: ChannelTerm, channelScores: Float32Array, score: number, base: number, C: number, out: Float64Array, outOffset: number): void {
  const squared = term === 'channel-score-squared';
  const product = term === 'channel-score-times-score';
  for (let c = 0; c < C; c++) {
    const cs = channelScores[base + c]!;
    const e = squared ? cs * cs : product ? cs * score : cs;
    out[outOffset + c] = Math.log(e > LOG_FLOOR ? e : LOG_FLOOR);
  }
}

/**
 * Fits each channel's normal error statistics on reference windows (non-finite values skipped).
 * @param channelScores `[N, C]` row-major, the graph's `channel_score` of normal windows.
 * @param scores `[N]` their `score`.
 * @param average weight of the newest window in the running mean of `e_c` (1: none). The windows
 *   are taken as one series in time order, which is what training's reference windows are (the
 *   validation windows at the training stride).
 * @returns undefined with fewer than 2 usable windows.
 */
export function fitChannelCalibration(channelScores: ArrayLike<number>, scores: ArrayLike<number>, channels: number, term: ChannelTerm, average = 1): ChannelCalibration | undefined {
  const N = scores.length;
  const terms: number[][] = [];
  let windows = N;
  for (let c = 0; c < channels; c++) {
    const values: number[] = [];
    let mean = NaN;
    for (let n = 0; n < N; n++) {
      const e = termValue(term, channelScores, scores, n, channels, c);
      if (!Number.isFinite(e) || !Number.isFinite(channelScores[n * channels + c]!)) continue;
      mean = average < 1 && values.length > 0 ? mean + average * (e - mean) : e;
      values.push(mean);
    }
    if (values.length < 2) return undefined;
    windows = Math.min(windows, values.length);
    terms.push(values);
  }
  const center: number[] = [];
  const scale: number[] = [];
  for (const values of terms) {
    const [m, s] = robustCenterScale(values.map(logOf));
    center.push(m);
    scale.push(s);
  }
  return { term, center, scale, windows, ...(average < 1 ? { average } : {}) };
}

export function robustCenterScale(values: number[]): [number, number] {
  const m = median(values);
  const dev = values.map((v) => Math.abs(v - m));
  let s = 1.4826 * median(dev);
  if (s < MIN_CHANNEL_SCALE) s = (1.2533 * dev.reduce((a, d) => a + d, 0)) / dev.length;
  return [m, Math.max(s, MIN_CHANNEL_SCALE)];
}

/** `ln` of a window's activity (mean absolute step, scaled units); a flat line is 1e-6, not -Infinity. */
export function logActivity(a: number): number {
  return Math.log(a > ACTIVITY_FLOOR ? a : ACTIVITY_FLOOR);
}
/** Floor of a window's activity before its logarithm. */
export const ACTIVITY_FLOOR = 1e-6;

/**
 * Host twin of the graph's `channel_activity` (training/export/blocks.ts): each channel's mean
 * absolute step over each window of scaled frames.
 * @param scaled `[T, C]` row-major scaled frames; @param starts first row of each window.
 * @returns `[N, C]` row-major.
 */
export function windowActivity(scaled: ArrayLike<number>, channels: number, window: number, starts: ArrayLike<number>): Float32Array {
  const C = channels;
  const out = new Float32Array(starts.length * C);
  for (let n = 0; n < starts.length; n++) {
    const s = starts[n]!;
    for (let t = s + 1; t < s + window; t++) {
      for (let c = 0; c < C; c++) out[n * C + c] += Math.abs(scaled[t * C + c]! - scaled[(t - 1) * C + c]!);
    }
    for (let c = 0; c < C; c++) out[n * C + c] /= window - 1;
  }
  return out;
}

/**
 * Fits each channel's normal activity statistics (median and robust spread of `ln` activity)
 * on reference windows' `channel_activity` `[N, C]`.
 */
export function fitActivityCalibration(activity: ArrayLike<number>, channels: number): { center: number[]; scale: number[] } | undefined {
  const N = activity.length / channels;
  if (N < 2) return undefined;
  const center: number[] = [];
  const scale: number[] = [];
  for (let c = 0; c < channels; c++) {
    const logs: number[] = [];
    for (let n = 0; n < N; n++) {
      const a = activity[n * channels + c]!;
      if (Number.isFinite(a)) logs.push(logActivity(a));
    }
    if (logs.length < 2) return undefined;
    const [m, s] = robustCenterScale(logs);
    center.push(m);
    scale.push(s);
  }
  return { center, scale };
}
