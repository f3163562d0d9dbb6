/**
 * The `ensemble` kind's scoring side: per series, several streaming detectors side by side, each
 * on the same [0, 1) normalised scale, combined by their maximum, then a suppression step.
 *
 * Components (each optional but the first):
 * - context novelty (./context.ts) at one or more resolutions (levels, context order), per
 *   channel: learns the series' value levels and their succession online;
 * - a fast linear forecaster: normalised-LMS autoregression over the last `lags` values of each
 *   channel, its absolute error normalised by the anomaly likelihood (./normalize.ts);
 * - the deep model's raw score (a forecaster or autoencoder learning online in the background
 *   worker), given per sample by the caller and normalised the same way.
 * Forecast components count only at or above their `gate`: on NAB, forecast error on its own
 * stays below 40 and, added ungated, costs false alarms on noisy series; gated, it adds the
 * anomalies the levels cannot see (a value in range at the wrong moment).
 *
 * Suppression: an alarm-worthy score tends to stay high for a while (a shifted level stays
 * novel for several samples, a normaliser's short mean stays up), and every sample of such a
 * run after the first is a false alarm in waiting. A score therefore counts only when it is a
 * new high since the last peak, or when the last peak is more than `suppress` samples back;
 * otherwise it is reported as 0. One number and one time per series: O(1).
 *
 * The whole state is plain JSON ({@link EnsembleState}), saved beside the model in its
 * directory as `ensemble.json` and restored with {@link EnsembleScorer.fromJSON}.
 */
import { SeismoError } from '../errors.js';
import { ContextNovelty, type ContextNoveltyOptions, type ContextNoveltyState } from './context.js';
import { createNormalizer, type NormalizerOptions, type NormalizerState, type ScoreNormalizer } from './normalize.js';

/** The linear forecaster component. */
export interface LinearForecastOptions {
  /** Past values each forecast uses (the AR order). Default 8. */
  lags?: number;
  /** NLMS step size in (0, 2). Default 0.05. */
  step?: number;
  /** Normalised error counts only at or above this level, in [0, 1]. Default 0.6. */
  gate?: number;
  /** Normaliser of the absolute forecast error. */
  normalizer?: NormalizerOptions;
}

/** The deep model's score component (raw scores passed to {@link EnsembleScorer.update}). */
export interface DeepScoreOptions {
  /** Normalised deep score counts only at or above this level, in [0, 1]. Default 0.6. */
  gate?: number;
  /** Normaliser of the raw deep score. */
  normalizer?: NormalizerOptions;
}

/** Options of {@link EnsembleScorer}. */
export interface EnsembleOptions {
  /** Context novelty detectors, one per resolution; each runs on every channel. Default `[{}]` (levels 8, order 1). */
  contexts?: ContextNoveltyOptions[];
  /** The linear forecaster, or null for none. Default null. */
  forecast?: LinearForecastOptions | null;
  /** The deep model's score, or null when none is given. Default `{}` (used when update gets a deep score). */
  deep?: DeepScoreOptions | null;
  /** Suppression horizon in samples (see the module comment); 0 turns it off. Default 200. */
  suppress?: number;
}

/** Resolved options, as saved. */
export interface ResolvedEnsembleOptions {
  contexts: ContextNoveltyOptions[];
  forecast: Required<Omit<LinearForecastOptions, 'normalizer'>> & { normalizer: NormalizerOptions } | null;
  deep: Required<Omit<DeepScoreOptions, 'normalizer'>> & { normalizer: NormalizerOptions } | null;
  suppress: number;
}

/** Plain-JSON state of one series' {@link EnsembleScorer}. */
export interface EnsembleState {
  format: 'seismo-ensemble';
  version: 1;
  channels: number;
  options: ResolvedEnsembleOptions;
  /** `contexts[r][c]`: resolution r, channel c. */
  contexts: ContextNoveltyState[][];
  /** Per channel: weights (lags + bias), last `lags` values (oldest first), warm-up moments, normaliser. */
  forecast: Array<{ weights: number[]; past: number[]; n: number; mean: number; m2: number; normalizer: NormalizerState }> | null;
  deep: NormalizerState | null;
  peak: number;
  peakAge: number;
}

/** The scores behind the last combined score, for explanations and the bench. */
export interface EnsembleParts {
  context: number;
  forecast: number;
  deep: number;
  combined: number;
  /** The combined score after suppression (what {@link EnsembleScorer.update} returned). */
  reported: number;
}

function resolve(o: EnsembleOptions): ResolvedEnsembleOptions {
  const fail = (what: string): never => {
    throw new SeismoError('ERR_INVALID_OPTION', `ensemble: ${what}`);
  };
  const contexts = o.contexts ?? [{}];
  if (!Array.isArray(contexts) || contexts.length === 0) fail('contexts must list at least one context novelty setting');
  const f = o.forecast ?? null;
  const forecast = f === null ? null : { lags: f.lags ?? 8, step: f.step ?? 0.05, gate: f.gate ?? 0.6, normalizer: f.normalizer ?? {} };
  if (forecast) {
    if (!Number.isInteger(forecast.lags) || forecast.lags < 1 || forecast.lags > 256) fail(`forecast.lags must be an integer in [1, 256], got ${forecast.lags}`);
    if (!(forecast.step > 0 && forecast.step < 2)) fail(`forecast.step must be in (0, 2), got ${forecast.step}`);
    if (!(forecast.gate >= 0 && forecast.gate <= 1)) fail(`forecast.gate must be in [0, 1], got ${forecast.gate}`);
  }
  const d = o.deep === undefined ? {} : o.deep;
  const deep = d === null ? null : { gate: d.gate ?? 0.6, normalizer: d.normalizer ?? {} };
  if (deep && !(deep.gate >= 0 && deep.gate <= 1)) fail(`deep.gate must be in [0, 1], got ${deep.gate}`);
  const suppress = o.suppress ?? 200;
  if (!Number.isInteger(suppress) || suppress < 0) fail(`suppress must be a non-negative integer, got ${suppress}`);
  return { contexts: contexts.map((c) => ({ ...c })), forecast, deep, suppress };
}

/** NLMS autoregression of one channel, standardised by its first `warm` values' moments. */
class LinearForecast {
  readonly weights: Float64Array;
  readonly past: Float64Array;
  filled = 0;
  n = 0;
  mean = 0;
  m2 = 0;
  readonly normalizer: ScoreNormalizer;

  constructor(
    private readonly lags: number,
    private readonly step: number,
    normalizer: ScoreNormalizer,
  ) {
    this.weights = new Float64Array(lags + 1);
    this.past = new Float64Array(lags);
    this.normalizer = normalizer;
  }

  /** Returns the normalised absolute error of the forecast of `x` (0 until `lags` values are in). */
  update(x: number): number {
    // Running moments (Welford) standardise the values, so one step size fits every scale.
    this.n++;
    const d = x - this.mean;
    this.mean += d / this.n;
    this.m2 += d * (x - this.mean);
    const sd = this.n > 1 ? Math.sqrt(this.m2 / (this.n - 1)) : 0;
    const z = sd > 0 ? (x - this.mean) / sd : 0;
    const L = this.lags;
    let out = 0;
    if (this.filled === L) {
      // past[0] is the most recent value.
      let yhat = this.weights[L]!;
      let norm = 1;
      for (let j = 0; j < L; j++) {
        yhat += this.weights[j]! * this.past[j]!;
        norm += this.past[j]! * this.past[j]!;
      }
      const e = z - yhat;
      out = this.normalizer.update(Math.abs(e));
      const g = (this.step * e) / norm;
      for (let j = 0; j < L; j++) this.weights[j] = this.weights[j]! + g * this.past[j]!;
      this.weights[L] = this.weights[L]! + g;
    } else this.filled++;
    for (let j = L - 1; j > 0; j--) this.past[j] = this.past[j - 1]!;
    this.past[0] = z;
    return out;
  }
}

/** One series' ensemble: feed it each sample (all channels), get one score in [0, 1). */
export class EnsembleScorer {
  readonly channels: number;
  readonly options: Readonly<ResolvedEnsembleOptions>;
  private readonly contexts: ContextNovelty[][];
  private readonly forecasts: LinearForecast[] | null;
  private readonly deep: ScoreNormalizer | null;
  private peak = -Infinity;
  private peakAge = Infinity;
  private readonly last: EnsembleParts = { context: 0, forecast: 0, deep: 0, combined: 0, reported: 0 };

  /**
   * @param channels values per sample.
   * @throws SeismoError ERR_INVALID_OPTION on bad options
   */
  constructor(channels: number, options: EnsembleOptions = {}, state?: EnsembleState) {
    if (!Number.isInteger(channels) || channels < 1) throw new SeismoError('ERR_INVALID_OPTION', `ensemble: channels must be a positive integer, got ${channels}`);
    this.channels = channels;
    const o = resolve(state ? state.options : options);
    this.options = o;
    this.contexts = o.contexts.map((c, r) => Array.from({ length: channels }, (_, ch) => new ContextNovelty(c, state?.contexts[r]?.[ch])));
    this.forecasts = o.forecast
      ? Array.from({ length: channels }, (_, ch) => {
          const saved = state?.forecast?.[ch];
          const f = new LinearForecast(o.forecast!.lags, o.forecast!.step, createNormalizer(o.forecast!.normalizer, saved?.normalizer));
          if (saved) {
            f.weights.set(saved.weights);
            saved.past.slice(-o.forecast!.lags).reverse().forEach((v, j) => (f.past[j] = v));
            f.filled = Math.min(saved.past.length, o.forecast!.lags);
            f.n = saved.n;
            f.mean = saved.mean;
            f.m2 = saved.m2;
          }
          return f;
        })
      : null;
    this.deep = o.deep ? createNormalizer(o.deep.normalizer, state?.deep ?? undefined) : null;
    if (state) {
      this.peak = state.peak ?? -Infinity;
      this.peakAge = state.peakAge ?? Infinity;
    }
  }

  /** Rebuilds a scorer from {@link EnsembleScorer.toJSON}'s output. */
  static fromJSON(state: EnsembleState): EnsembleScorer {
    if (state === null || typeof state !== 'object' || state.format !== 'seismo-ensemble') {
      throw new SeismoError('ERR_MODEL_CORRUPT', `ensemble state: format must be 'seismo-ensemble'; was it written by EnsembleScorer.toJSON()?`);
    }
    if (state.version !== 1) throw new SeismoError('ERR_MODEL_VERSION', `ensemble state version ${String(state.version)} is not supported (this build reads 1)`);
    if (!Array.isArray(state.contexts) || state.contexts.length !== (state.options?.contexts?.length ?? -1) || state.contexts.some((r) => !Array.isArray(r) || r.length !== state.channels)) {
      throw new SeismoError('ERR_MODEL_CORRUPT', 'ensemble state: one context state per resolution and channel expected');
    }
    return new EnsembleScorer(state.channels, undefined, state);
  }

  /**
   * Scores one sample.
   * @param frame the sample's values, channel c at `frame[offset + c]`.
   * @param deepRaw the deep model's raw score of the window ending at this sample (higher = more
   *   anomalous), or NaN / undefined when there is none (warm-up, no deep model).
   * @param offset index of channel 0 in `frame`.
   * @returns the combined, suppressed score in [0, 1); NaN when every channel is NaN.
   */
  update(frame: ArrayLike<number>, deepRaw?: number, offset = 0): number {
    let context = 0;
    let finite = false;
    for (let c = 0; c < this.channels; c++) {
      const x = frame[offset + c]!;
      if (Number.isNaN(x)) continue;
      finite = true;
      // Indexed loops: the per-sample path allocates nothing (no iterators).
      for (let r = 0; r < this.contexts.length; r++) {
        const s = this.contexts[r]![c]!.update(x);
        if (s > context) context = s;
      }
    }
    if (!finite) return NaN;
    let forecast = 0;
    if (this.forecasts) {
      for (let c = 0; c < this.channels; c++) {
        const x = frame[offset + c]!;
        if (Number.isNaN(x)) continue;
        const s = this.forecasts[c]!.update(x);
        if (s > forecast) forecast = s;
      }
    }
    let deep = 0;
    if (this.deep && deepRaw !== undefined && !Number.isNaN(deepRaw)) deep = this.deep.update(deepRaw);
    const o = this.options;
    let combined = context;
    if (o.forecast && forecast >= o.forecast.gate && forecast > combined) combined = forecast;
    if (o.deep && deep >= o.deep.gate && deep > combined) combined = deep;
    let reported = combined;
    if (o.suppress > 0) {
      this.peakAge++;
      if (this.peakAge > o.suppress || combined > this.peak) {
        this.peak = combined;
        this.peakAge = 0;
      } else reported = 0;
    }
    const l = this.last;
    l.context = context;
    l.forecast = forecast;
    l.deep = deep;
    l.combined = combined;
    l.reported = reported;
    return reported;
  }

  /** The component scores of the last {@link update} (one object, overwritten by the next call). */
  parts(): Readonly<EnsembleParts> {
    return this.last;
  }

  toJSON(): EnsembleState {
    return {
      format: 'seismo-ensemble',
      version: 1,
      channels: this.channels,
      options: JSON.parse(JSON.stringify(this.options)) as ResolvedEnsembleOptions,
      contexts: this.contexts.map((r) => r.map((c) => c.toJSON())),
      forecast: this.forecasts
        ? this.forecasts.map((f) => {
            const past: number[] = [];
            for (let j = f.filled - 1; j >= 0; j--) past.push(f.past[j]!);
            return { weights: Array.from(f.weights), past, n: f.n, mean: f.mean, m2: f.m2, normalizer: f.normalizer.toJSON() };
          })
        : null,
      deep: this.deep ? this.deep.toJSON() : null,
      peak: Number.isFinite(this.peak) ? this.peak : -1,
      peakAge: Number.isFinite(this.peakAge) ? this.peakAge : Number.MAX_SAFE_INTEGER,
    };
  }
}
