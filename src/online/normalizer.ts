/**
 * Per-series score normalisation for the online engine. The engine takes any normaliser that
 * follows the shared contract (`update(raw) -> [0, 1]`, `toJSON()` restorable; see
 * `src/score/normalize.ts` when it is there); this file holds the one it uses when none is given:
 * a log-Gaussian tail, the idea of HTM's anomaly likelihood on the log of the raw score.
 */

/** One series' causal score normaliser (structurally the shared `ScoreNormalizer` contract). */
export interface SeriesNormalizer {
  /** Feeds one raw score (higher = more anomalous); returns the normalised score in [0, 1]. */
  update(raw: number): number;
  /** Plain JSON that the factory restores from. */
  toJSON(): unknown;
}

/** Makes a series' normaliser, fresh or from the JSON its `toJSON` wrote. */
export type NormalizerFactory = (state?: unknown) => SeriesNormalizer;

/** Options of {@link logTailNormalizer}. */
export interface LogTailOptions {
  /** Half-life, in samples, of the running mean and variance of ln(score). Default 2000. */
  halfLife?: number;
  /** Samples before a normalised score is given (0.5 until then). Default 32. */
  minSamples?: number;
}

interface LogTailState {
  n: number;
  mean: number;
  variance: number;
}

/**
 * `Phi((ln s - m) / sd)` where m and sd are an exponentially weighted mean and standard deviation
 * of the series' past log scores (the score is judged before it is learnt: causal). A value more
 * than 4 sd above the mean enters the statistics at 4 sd, so a burst of anomalies cannot widen
 * the spread enough to hide the next one. Forecast and reconstruction errors are roughly
 * log-normal, which is why the log.
 */
export function logTailNormalizer(options: LogTailOptions = {}): NormalizerFactory {
  const alpha = 1 - Math.pow(0.5, 1 / (options.halfLife ?? 2000));
  const minSamples = options.minSamples ?? 32;
  return (state?: unknown) => {
    const s: LogTailState = isLogTailState(state) ? { ...state } : { n: 0, mean: 0, variance: 0 };
    return {
      update(raw: number): number {
        if (!Number.isFinite(raw)) return Number.isNaN(raw) ? NaN : 1;
        const x = Math.log(Math.max(raw, 1e-12));
        let out = 0.5;
        const sd = Math.sqrt(s.variance);
        if (s.n >= minSamples) out = normalCdf((x - s.mean) / Math.max(sd, 1e-6));
        // Early samples weigh 1/n (a plain mean) until the exponential weight is smaller.
        const a = Math.max(alpha, 1 / (s.n + 1));
        const capped = s.n >= minSamples ? Math.min(x, s.mean + 4 * sd) : x;
        const d = capped - s.mean;
        s.mean += a * d;
        s.variance = (1 - a) * (s.variance + a * d * d);
        s.n++;
        return out;
      },
      toJSON: () => ({ ...s }),
    };
  };
}

function isLogTailState(v: unknown): v is LogTailState {
  const o = v as LogTailState | undefined;
  return typeof o === 'object' && o !== null && Number.isFinite(o.n) && Number.isFinite(o.mean) && Number.isFinite(o.variance);
}

/** Standard normal CDF (Abramowitz-Stegun 7.1.26 on erf; absolute error below 1.5e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * x);
  const erf = 1 - ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-x * x);
  return z >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
