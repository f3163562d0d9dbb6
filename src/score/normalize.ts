/**
 * Per-series, causal normalisation of raw anomaly scores, so that one threshold means the same
 * on every series and over time.
 *
 * A raw score (a forecast error, a reconstruction error, a context detector's surprise) has a
 * scale of its own per series and per model, and drifts as the model keeps learning. What is
 * comparable is how improbable the recent scores are under the series' own history: the anomaly
 * likelihood that HTM uses on NAB (Ahmad, Lavin, Purdy, Agha, "Unsupervised real-time anomaly
 * detection for streaming data", Neurocomputing 2017). We keep its two ideas:
 *
 * - compare a short-term mean of the raw scores (the last `shortWindow`) with the long-run
 *   distribution of that same short-term mean, modelled as a Gaussian: the upper tail
 *   probability P says how unusual the recent scores are. A lone spike of a noisy score is
 *   averaged away; a sustained rise is not.
 * - report it on a log scale, because what matters are tail probabilities of 1e-3 .. 1e-12.
 *
 * and change what a stream of unknown length needs: the long-run mean and variance are
 * exponentially weighted with a memory of `memory` samples (O(1) state, follows drift; the first
 * `memory` samples weigh equally), the tail is computed in log space (no underflow, so
 * extreme scores stay ordered instead of tying at 1), and the output is
 * `d / (d + decades)` with `d = -log10 P`: strictly increasing in the improbability, in [0, 1),
 * 0.5 at P = 10^-decades. {@link normalizedToTail} inverts it, which is how a false-alarm rate
 * becomes a threshold (see `src/threshold/alarm-rate.ts`).
 *
 * Each sample is judged against the statistics of the samples before it, then joins them.
 */
import { SeismoError } from '../errors.js';

/** Options of {@link createNormalizer}. Every field has a default; all are saved in the state. */
export interface NormalizerOptions {
  /** Normalisation method. Only `likelihood` (the anomaly likelihood above) for now. */
  method?: 'likelihood';
  /** Raw scores averaged into the short-term mean that is tested, in samples. Default 10 (HTM's). */
  shortWindow?: number;
  /**
   * Memory of the long-run mean and variance of the short-term mean, in samples: the first
   * `memory` samples weigh equally, after that older ones fade with time constant `memory`.
   * Default 8640 (HTM's historic window: 30 days of 5-minute samples).
   */
  memory?: number;
  /** Samples that only feed the statistics (output 0) before the first judgement. Default 100. */
  warmup?: number;
  /**
   * Floor of the standard deviation relative to the long-run mean of |raw|, so that a score that
   * was constant so far does not make its first small wiggle infinitely improbable. Default 0.01.
   */
  relativeMinStd?: number;
  /** Absolute floor of the standard deviation, in raw score units. Default 1e-12. */
  minStd?: number;
  /** Improbability (decades, -log10 P) mapped to 0.5. Default 10. */
  decades?: number;
}

/** The plain-JSON state of a normaliser: options, counters and the short window (oldest first). */
export interface NormalizerState {
  format: 'seismo-normalizer';
  version: 1;
  options: Required<NormalizerOptions>;
  /** Raw scores learnt from. */
  n: number;
  /** Short-term means learnt from (`n - shortWindow + 1` once the window filled). */
  m: number;
  /** Exponentially weighted mean of the short-term mean. */
  mean: number;
  /** Exponentially weighted variance of the short-term mean. */
  variance: number;
  /** Exponentially weighted mean of |raw|, the scale for `relativeMinStd`. */
  meanAbs: number;
  /** The last `shortWindow` raw scores (fewer at the start), oldest first. */
  recent: number[];
}

/** One series' normaliser: causal, O(1) memory in the stream length, no allocation per update. */
export interface ScoreNormalizer {
  /**
   * Feeds one raw score (higher = more anomalous) and returns the normalised score in [0, 1).
   * NaN (a sample the detector could not score) returns NaN and changes nothing; +Infinity
   * returns the largest score the method gives and is not learnt from.
   */
  update(raw: number): number;
  /** Plain JSON, restorable by `createNormalizer(undefined, state)` (checkpoints, model dir). */
  toJSON(): NormalizerState;
}

const DEFAULTS: Required<NormalizerOptions> = {
  method: 'likelihood',
  shortWindow: 10,
  memory: 8640,
  warmup: 100,
  relativeMinStd: 0.01,
  minStd: 1e-12,
  decades: 10,
};

const LN10 = Math.log(10);
const LN_SQRT_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * ln P(Z > z) for a standard Gaussian, accurate in the far tail: the complementary error
 * function's rational approximation (Abramowitz-Stegun 7.1.26, |error| < 1.5e-7) below z = 5,
 * where it is good, and the asymptotic series of Mills' ratio above, where the former's absolute
 * error would swamp the value.
 */
export function logGaussianTail(z: number): number {
  if (z > 5) {
    const r = 1 / (z * z);
    return -0.5 * z * z - Math.log(z) - LN_SQRT_2PI + Math.log(1 - r + 3 * r * r - 15 * r * r * r);
  }
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erfc = t * (0.254829592 + t * (-0.284496736 + t * (1.421413741 + t * (-1.453152027 + t * 1.061405429)))) * Math.exp(-x * x);
  return Math.log(z >= 0 ? erfc / 2 : 1 - erfc / 2);
}

/** The normalised score of a tail probability `p` (see the module comment). */
export function tailToNormalized(p: number, decades = DEFAULTS.decades): number {
  const d = Math.max(0, -Math.log10(p));
  return d / (d + decades);
}

/** The tail probability a normalised score stands for: the inverse of {@link tailToNormalized}. */
export function normalizedToTail(s: number, decades = DEFAULTS.decades): number {
  if (!(s >= 0 && s < 1)) throw new SeismoError('ERR_INVALID_OPTION', `a normalised score is in [0, 1), got ${s}`);
  return Math.pow(10, (-decades * s) / (1 - s));
}

function resolveOptions(o: NormalizerOptions): Required<NormalizerOptions> {
  const r = { ...DEFAULTS, ...Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) } as Required<NormalizerOptions>;
  const fail = (what: string): never => {
    throw new SeismoError('ERR_INVALID_OPTION', `score normaliser: ${what}`);
  };
  if (r.method !== 'likelihood') fail(`unknown method '${String(r.method)}'; use 'likelihood'`);
  if (!Number.isInteger(r.shortWindow) || r.shortWindow < 1) fail(`shortWindow must be a positive integer, got ${r.shortWindow}`);
  if (!(r.memory >= 2)) fail(`memory must be >= 2 samples, got ${r.memory}`);
  if (!Number.isInteger(r.warmup) || r.warmup < 0) fail(`warmup must be a non-negative integer, got ${r.warmup}`);
  if (!(r.relativeMinStd >= 0)) fail(`relativeMinStd must be >= 0, got ${r.relativeMinStd}`);
  if (!(r.minStd > 0)) fail(`minStd must be > 0, got ${r.minStd}`);
  if (!(r.decades > 0)) fail(`decades must be > 0, got ${r.decades}`);
  return r;
}

class LikelihoodNormalizer implements ScoreNormalizer {
  private readonly o: Required<NormalizerOptions>;
  private readonly ring: Float64Array;
  private head = 0;
  private filled = 0;
  private sum = 0;
  private n = 0;
  private m = 0;
  private mean = 0;
  private variance = 0;
  private meanAbs = 0;

  constructor(options: Required<NormalizerOptions>, state?: NormalizerState) {
    this.o = options;
    this.ring = new Float64Array(options.shortWindow);
    if (state) {
      const recent = state.recent.slice(-options.shortWindow);
      for (const v of recent) this.push(v);
      this.n = state.n;
      this.m = state.m;
      this.mean = state.mean;
      this.variance = state.variance;
      this.meanAbs = state.meanAbs;
    }
  }

  private push(x: number): void {
    if (this.filled < this.ring.length) {
      this.filled++;
      this.sum += x;
    } else {
      this.sum += x - this.ring[this.head]!;
    }
    this.ring[this.head] = x;
    this.head = this.head + 1 === this.ring.length ? 0 : this.head + 1;
    // The running sum gathers rounding error: recompute it once per lap, O(1) amortised.
    if (this.head === 0) {
      let s = 0;
      for (let i = 0; i < this.filled; i++) s += this.ring[i]!;
      this.sum = s;
    }
  }

  update(raw: number): number {
    if (Number.isNaN(raw)) return NaN;
    if (raw === Infinity) return 1 - Number.EPSILON;
    this.push(raw);
    this.n++;
    const a0 = 1 / Math.min(this.n, this.o.memory);
    this.meanAbs += a0 * (Math.abs(raw) - this.meanAbs);
    if (this.filled < this.ring.length) return 0;
    const short = this.sum / this.filled;
    let out = 0;
    if (this.n > this.o.warmup && this.m >= 2) {
      const std = Math.max(Math.sqrt(this.variance), this.o.relativeMinStd * this.meanAbs, this.o.minStd);
      const logTail = logGaussianTail((short - this.mean) / std);
      const d = Math.max(0, -logTail / LN10);
      out = d / (d + this.o.decades);
    }
    // Learn after judging: the sample is tested against the past only.
    this.m++;
    const a = 1 / Math.min(this.m, this.o.memory);
    const dev = short - this.mean;
    this.mean += a * dev;
    this.variance = (1 - a) * (this.variance + a * dev * dev);
    return out;
  }

  toJSON(): NormalizerState {
    const recent: number[] = [];
    const start = this.filled < this.ring.length ? 0 : this.head;
    for (let i = 0; i < this.filled; i++) recent.push(this.ring[(start + i) % this.ring.length]!);
    return {
      format: 'seismo-normalizer',
      version: 1,
      options: { ...this.o },
      n: this.n,
      m: this.m,
      mean: this.mean,
      variance: this.variance,
      meanAbs: this.meanAbs,
      recent,
    };
  }
}

function checkState(state: NormalizerState): void {
  const bad = (what: string): never => {
    throw new SeismoError('ERR_MODEL_CORRUPT', `score normaliser state: ${what}; save it again with toJSON()`);
  };
  if (state === null || typeof state !== 'object' || state.format !== 'seismo-normalizer') bad(`format must be 'seismo-normalizer'`);
  if (state.version !== 1) bad(`version ${String(state.version)} is not supported (this build reads version 1)`);
  for (const k of ['n', 'm', 'mean', 'variance', 'meanAbs'] as const) {
    if (typeof state[k] !== 'number' || !Number.isFinite(state[k])) bad(`${k} must be a finite number`);
  }
  if (state.variance < 0 || state.n < 0 || state.m < 0) bad('n, m and variance must be >= 0');
  if (!Array.isArray(state.recent) || state.recent.some((v) => typeof v !== 'number' || !Number.isFinite(v))) bad('recent must be an array of finite numbers');
}

/**
 * A normaliser for one series.
 * @param options settings (defaults above); ignored when `state` is given, whose options win,
 *   so a restored normaliser behaves exactly as the one saved.
 * @param state a state from {@link ScoreNormalizer.toJSON} to resume from.
 * @throws SeismoError ERR_INVALID_OPTION on bad options, ERR_MODEL_CORRUPT on a bad state
 */
export function createNormalizer(options: NormalizerOptions = {}, state?: NormalizerState): ScoreNormalizer {
  if (state !== undefined) {
    checkState(state);
    return new LikelihoodNormalizer(resolveOptions(state.options ?? {}), state);
  }
  return new LikelihoodNormalizer(resolveOptions(options));
}
