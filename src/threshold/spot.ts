/**
 * Streaming thresholds from extreme value theory: SPOT and DSPOT (Siffer, Fouque, Termier,
 * Largouet, "Anomaly Detection in Streams with Extreme Value Theory", KDD 2017).
 *
 * SPOT: from n calibration scores, take t = their `level` quantile, fit a GPD to the excesses
 * over t (Grimshaw, see ./gpd.ts) and set z_q, the score exceeded with probability q. Then per
 * window: a score >= z_q is an alarm and is not learned from; a score in (t, z_q) is a new peak:
 * it joins the fit and z_q is re-estimated; anything else only counts (n += 1, which also moves
 * z_q, since the tail probability of t is estimated as nt / n).
 *
 * DSPOT: the same on X_i - M_i, where M_i is the mean of the last `depth` scores that were not
 * alarms: the threshold in score units is z_q + M_i and follows a drifting level.
 *
 * Cost. The paper refits on every peak, O(peaks) each; on a hot path that is too much, so the
 * rule keeps the most recent `maxPeaks` peaks (a ring) and refits when the new peaks since the
 * last fit reach `refitFraction` of those held; between refits z_q still follows n and nt
 * exactly. The tail probability nt / n counts every observation since calibration, while the
 * GPD shape comes from the retained (recent) peaks.
 */
import { SeismoError } from '../errors.js';
import type { Threshold } from './schema.js';
import { fitGpd, gpdQuantile } from './gpd.js';
import { SpotState } from './spot-state.js';
import { ensureSlot, intParam, numArrayParam, numParam, optionalRecordParam, registerThreshold, type ThresholdRule } from './rule.js';

/** Options of {@link SpotThreshold} and {@link DspotThreshold}. */
export interface SpotOptions {
  /**
   * Risk: the probability that a normal score reaches the threshold, i.e. the target false-alarm
   * rate per window. In (0, 1 - level); e.g. 1e-3.
   */
  q: number;
  /** Level of the initial threshold t, as a quantile of the calibration scores. Default 0.98. */
  level?: number;
  /** Most recent peaks kept for the GPD fit (8 bytes each, per series). Default 2000. */
  maxPeaks?: number;
  /**
   * Refit the GPD when the new peaks since the last fit reach this fraction of the peaks held
   * (at least one peak). 0 refits on every peak, as in the paper. Default 0.01.
   */
  refitFraction?: number;
  /**
   * Scores a series collects (after DSPOT's `depth`) to calibrate itself when the rule was not
   * fitted on validation scores ({@link SpotThreshold.fit}). Until then the series never alarms.
   * Default 1000.
   */
  initSize?: number;
}

/** Options of {@link DspotThreshold}. */
export interface DspotOptions extends SpotOptions {
  /** Depth d of the moving average that models the drift, in windows. Default 10. */
  depth?: number;
}

/** The calibrated state every series starts from (as stored in `params.init`). */
export interface SpotInit {
  t: number;
  n: number;
  nt: number;
  gamma: number;
  sigma: number;
  /** Retained peaks (excesses over t), oldest first. */
  peaks: number[];
  /** DSPOT: the last `depth` scores, oldest first. */
  drift?: number[];
}

function resolve(o: DspotOptions, dspot: boolean): Required<DspotOptions> {
  const r = {
    q: o.q,
    level: o.level ?? 0.98,
    maxPeaks: o.maxPeaks ?? 2000,
    refitFraction: o.refitFraction ?? 0.01,
    initSize: o.initSize ?? 1000,
    depth: dspot ? (o.depth ?? 10) : 0,
  };
  const fail = (what: string): never => {
    throw new SeismoError('ERR_INVALID_OPTION', `${dspot ? 'DSPOT' : 'SPOT'}: ${what}`);
  };
  if (!(r.level > 0 && r.level < 1)) fail(`level must be in (0, 1), got ${r.level}`);
  if (!(r.q > 0 && r.q < 1 - r.level)) fail(`q must be in (0, 1 - level = ${1 - r.level}), got ${r.q}: the threshold must lie above the initial quantile`);
  if (!Number.isInteger(r.maxPeaks) || r.maxPeaks < 10) fail(`maxPeaks must be an integer >= 10, got ${r.maxPeaks}`);
  if (!(r.refitFraction >= 0 && r.refitFraction <= 1)) fail(`refitFraction must be in [0, 1], got ${r.refitFraction}`);
  if (!Number.isInteger(r.initSize) || r.initSize < 10) fail(`initSize must be an integer >= 10, got ${r.initSize}`);
  if (dspot && (!Number.isInteger(r.depth) || r.depth < 1)) fail(`depth must be a positive integer, got ${r.depth}`);
  return r;
}

/**
 * SPOT (depth 0) and DSPOT (depth > 0) share everything but the drift term; the public classes
 * below only fix the method name and options.
 */
abstract class ExtremeValueThreshold implements ThresholdRule {
  abstract readonly method: string;
  readonly options: Readonly<Required<DspotOptions>>;
  /** Calibrated starting state shared by every series; null = each series calibrates itself. */
  private readonly init: SpotInit | null;
  private readonly states: (SpotState | undefined)[] = [];

  /** @internal Built by the subclasses' constructors and `fromJSON`. */
  protected constructor(options: Required<DspotOptions>, init: SpotInit | null) {
    this.options = options;
    this.init = init;
  }

  prepare(slots: number): void {
    for (let s = 0; s < slots; s++) this.state(s);
  }

  decide(score: number, _channelScores: Float32Array, seriesSlot: number): boolean {
    if (Number.isNaN(score)) return false;
    const st = this.state(seriesSlot);
    const dspot = st.drift !== null;
    if (dspot && st.driftCount < st.drift!.length && st.calib !== null) {
      // DSPOT's first `depth` scores only seed the moving average.
      st.pushDrift(score);
      return false;
    }
    const x = score - st.level();
    if (st.calib !== null) {
      st.calib[st.calibCount++] = x;
      if (dspot) st.pushDrift(score);
      if (st.calibCount === st.calib.length) this.calibrate(st, st.calib, st.calibCount);
      return false;
    }
    if (x >= st.z) return true;
    if (x > st.t) {
      st.pushPeak(x - st.t);
      st.nt++;
      st.n++;
      st.sinceFit++;
      if (st.sinceFit >= Math.max(1, this.options.refitFraction * st.peakCount)) this.refit(st);
      else st.z = gpdQuantile(st.t, st, this.options.q, st.n, st.nt);
    } else {
      st.n++;
      st.z = gpdQuantile(st.t, st, this.options.q, st.n, st.nt);
    }
    if (dspot) st.pushDrift(score);
    return false;
  }

  threshold(seriesSlot: number): number {
    const st = this.state(seriesSlot);
    return st.calib !== null ? Infinity : st.z + st.level();
  }

  resetSlot(seriesSlot: number): void {
    this.states[seriesSlot] = undefined;
  }

  /** The fitted GPD and counts of a series, for reports and tests. */
  describe(seriesSlot: number): { t: number; gamma: number; sigma: number; n: number; nt: number; peaks: number; drift: number } {
    const st = this.state(seriesSlot);
    return { t: st.t, gamma: st.gamma, sigma: st.sigma, n: st.n, nt: st.nt, peaks: st.peakCount, drift: st.level() };
  }

  toJSON(): Threshold {
    const o = this.options;
    const params: Record<string, unknown> = { q: o.q, level: o.level, maxPeaks: o.maxPeaks, refitFraction: o.refitFraction, initSize: o.initSize };
    if (o.depth > 0) params.depth = o.depth;
    params.init = this.init;
    // `value`: the threshold a new series starts with; MAX_VALUE (JSON has no Infinity) = none yet.
    let value = Number.MAX_VALUE;
    if (this.init) {
      const st = this.fresh();
      value = st.z + st.level();
    }
    return { value, method: this.method, params };
  }

  protected static readOptions(json: Threshold, dspot: boolean): { options: Required<DspotOptions>; init: SpotInit | null } {
    const options = resolve(
      {
        q: numParam(json, 'q'),
        level: numParam(json, 'level', 0.98),
        maxPeaks: intParam(json, 'maxPeaks', 2000),
        refitFraction: numParam(json, 'refitFraction', 0.01),
        initSize: intParam(json, 'initSize', 1000),
        depth: dspot ? intParam(json, 'depth', 10) : 0,
      },
      dspot,
    );
    const raw = optionalRecordParam(json, 'init');
    if (!raw) return { options, init: null };
    const sub: Threshold = { value: json.value, method: json.method, params: raw };
    const init: SpotInit = {
      t: numParam(sub, 't'),
      n: numParam(sub, 'n'),
      nt: numParam(sub, 'nt'),
      gamma: numParam(sub, 'gamma'),
      sigma: numParam(sub, 'sigma'),
      peaks: numArrayParam(sub, 'peaks'),
    };
    if (dspot) init.drift = numArrayParam(sub, 'drift');
    if (!(init.nt > 0 && init.n >= init.nt && init.sigma > 0) || init.peaks.some((p) => !(p > 0))) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `threshold '${json.method}': params.init is inconsistent (need n >= nt > 0, sigma > 0, peaks > 0)`);
    }
    return { options, init };
  }

  /**
   * Calibrates from scores already in score units (DSPOT: minus the drift), like the paper's initialisation.
   * @internal
   */
  protected static initFrom(xs: Float64Array, count: number, options: Required<DspotOptions>, drift?: number[]): SpotInit {
    const st = new SpotState(options.maxPeaks, 0, options.depth);
    st.calibrate(xs, count, options.level, options.q);
    return { t: st.t, n: st.n, nt: st.nt, gamma: st.gamma, sigma: st.sigma, peaks: st.peakList(), ...(drift ? { drift } : {}) };
  }

  private calibrate(st: SpotState, xs: Float64Array, count: number): void {
    st.calibrate(xs, count, this.options.level, this.options.q);
  }

  private refit(st: SpotState): void {
    const fit = fitGpd(st.peaks, st.peakCount);
    st.gamma = fit.gamma;
    st.sigma = fit.sigma;
    st.sinceFit = 0;
    st.z = gpdQuantile(st.t, st, this.options.q, st.n, st.nt);
  }

  private fresh(): SpotState {
    const o = this.options;
    const init = this.init;
    const st = new SpotState(o.maxPeaks, init ? 0 : o.initSize, o.depth);
    if (!init) return st;
    st.t = init.t;
    st.n = init.n;
    st.nt = init.nt;
    st.gamma = init.gamma;
    st.sigma = init.sigma;
    // Keep the most recent peaks when the stored list is longer than this rule's ring.
    for (const p of init.peaks.slice(-o.maxPeaks)) st.pushPeak(p);
    for (const d of init.drift ?? []) st.pushDrift(d);
    st.z = gpdQuantile(st.t, st, o.q, st.n, st.nt);
    return st;
  }

  private state(slot: number): SpotState {
    return ensureSlot(this.states, slot, () => this.fresh());
  }
}

function finiteScores(scores: ArrayLike<number>, what: string, min: number): Float64Array {
  const xs: number[] = [];
  for (let i = 0; i < scores.length; i++) if (Number.isFinite(scores[i]!)) xs.push(scores[i]!);
  if (xs.length < min) throw new SeismoError('ERR_EVAL', `${what} needs at least ${min} finite calibration scores, got ${xs.length}`);
  return Float64Array.from(xs);
}

/** SPOT: a streaming threshold for a stationary score stream, re-estimated online per series. */
export class SpotThreshold extends ExtremeValueThreshold {
  readonly method = 'spot';

  /** A rule whose series each calibrate themselves on their first `initSize` scores. */
  constructor(options: SpotOptions, init: SpotInit | null = null) {
    super(resolve(options, false), init);
  }

  /**
   * Calibrates on validation scores (the paper's initialisation step); every series then starts
   * from this state and keeps learning on its own.
   * @param scores calibration window scores (NaNs skipped), at least 10 and ideally >> 1 / (1 - level).
   */
  static fit(scores: ArrayLike<number>, options: SpotOptions): SpotThreshold {
    const o = resolve(options, false);
    const xs = finiteScores(scores, 'SPOT', 10);
    return new SpotThreshold(options, ExtremeValueThreshold.initFrom(xs, xs.length, o));
  }

  static fromJSON(json: Threshold): SpotThreshold {
    const { options, init } = ExtremeValueThreshold.readOptions(json, false);
    return new SpotThreshold(options, init);
  }
}

/** DSPOT: SPOT on the deviation from a moving average, for scores whose level drifts. */
export class DspotThreshold extends ExtremeValueThreshold {
  readonly method = 'dspot';

  constructor(options: DspotOptions, init: SpotInit | null = null) {
    super(resolve(options, true), init);
  }

  /**
   * Calibrates on validation scores: the first `depth` seed the moving average, the rest (as
   * deviations from it) calibrate SPOT.
   */
  static fit(scores: ArrayLike<number>, options: DspotOptions): DspotThreshold {
    const o = resolve(options, true);
    const xs = finiteScores(scores, 'DSPOT', o.depth + 10);
    const window = new Float64Array(o.depth);
    let sum = 0;
    for (let i = 0; i < o.depth; i++) {
      window[i] = xs[i]!;
      sum += xs[i]!;
    }
    const residuals = new Float64Array(xs.length - o.depth);
    let head = 0;
    for (let i = o.depth; i < xs.length; i++) {
      residuals[i - o.depth] = xs[i]! - sum / o.depth;
      sum += xs[i]! - window[head]!;
      window[head] = xs[i]!;
      head = (head + 1) % o.depth;
    }
    const drift: number[] = [];
    for (let i = 0; i < o.depth; i++) drift.push(window[(head + i) % o.depth]!);
    return new DspotThreshold(options, ExtremeValueThreshold.initFrom(residuals, residuals.length, o, drift));
  }

  static fromJSON(json: Threshold): DspotThreshold {
    const { options, init } = ExtremeValueThreshold.readOptions(json, true);
    return new DspotThreshold(options, init);
  }
}

registerThreshold('spot', SpotThreshold.fromJSON);
registerThreshold('dspot', DspotThreshold.fromJSON);
