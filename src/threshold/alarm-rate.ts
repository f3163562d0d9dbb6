/**
 * The default threshold on normalised scores (src/score/normalize.ts): one knob, the expected
 * false-alarm rate, in alarms per 10,000 samples.
 *
 * A normalised score s stands for a tail probability P = normalizedToTail(s), so the nominal
 * threshold for a rate r is the s of P = r. That would be exact if the short-term mean of the
 * raw scores were Gaussian and independent from sample to sample; it is neither (heavy tails,
 * strong autocorrelation), so the realised rate differs per series. Each series therefore starts
 * at the nominal threshold and, once it has seen `initSize` scores, switches to SPOT (Siffer et
 * al., KDD 2017, see ./spot.ts) with risk q = r on its own normalised scores: a GPD fitted to the
 * excesses over their `level` quantile gives the score exceeded with probability r, re-estimated
 * as the stream goes (alarms included, see decide). A series whose calibration scores are
 * all equal (nothing exceeds their quantile: a perfectly predicted stream) keeps the nominal
 * threshold instead of failing, and so does one whose fitted threshold would fall below the
 * calibration maximum of a degenerate fit.
 */
import { SeismoError } from '../errors.js';
import type { Threshold } from './schema.js';
import { normalizedToTail, tailToNormalized } from '../score/normalize.js';
import { quantileSorted } from '../stats/quantile.js';
import { fitGpd, gpdQuantile } from './gpd.js';
import { SpotState } from './spot-state.js';
import { nextAbove } from './tune.js';
import { ensureSlot, intParam, numParam, registerThreshold, type ThresholdRule } from './rule.js';

/** Options of {@link AlarmRateThreshold}. */
export interface AlarmRateOptions {
  /** Expected false alarms per 10,000 samples of one series. In (0, 200). Default 5. */
  alarmsPer10k?: number;
  /** Scores a series sees (at the nominal threshold) before fitting its own tail. Default 1000. */
  initSize?: number;
  /** Quantile of the calibration scores above which the tail is fitted. Default 0.95. */
  level?: number;
  /** Most recent peaks kept per series for the refits (8 bytes each). Default 1000. */
  maxPeaks?: number;
  /** Improbability in decades that the normaliser maps to 0.5 (its `decades`). Default 10. */
  decades?: number;
}

/**
 * One series' state: SPOT's (./spot-state.ts: calibration buffer, peaks ring, t, n, nt, the GPD
 * fit and z), starting at the nominal threshold, and whether its own tail is fitted yet.
 */
class RateState extends SpotState {
  fitted = false;

  constructor(initSize: number, maxPeaks: number, nominal: number) {
    super(maxPeaks, initSize, 0);
    this.z = nominal;
  }
}

/** A threshold on normalised scores set by the expected false-alarm rate, self-calibrating per series. */
export class AlarmRateThreshold implements ThresholdRule {
  readonly method = 'alarm-rate';
  readonly options: Readonly<Required<AlarmRateOptions>>;
  /** The nominal threshold: the normalised score of tail probability alarmsPer10k / 10,000. */
  readonly nominal: number;
  private readonly q: number;
  private readonly states: (RateState | undefined)[] = [];

  constructor(options: AlarmRateOptions = {}) {
    const o: Required<AlarmRateOptions> = {
      alarmsPer10k: options.alarmsPer10k ?? 5,
      initSize: options.initSize ?? 1000,
      level: options.level ?? 0.95,
      maxPeaks: options.maxPeaks ?? 1000,
      decades: options.decades ?? 10,
    };
    const fail = (what: string): never => {
      throw new SeismoError('ERR_INVALID_OPTION', `alarm-rate threshold: ${what}`);
    };
    if (!(o.alarmsPer10k > 0 && o.alarmsPer10k < 200)) fail(`alarmsPer10k must be in (0, 200), got ${o.alarmsPer10k}`);
    if (!(o.level > 0 && o.level < 1 - o.alarmsPer10k / 1e4)) fail(`level must be in (0, 1 - alarmsPer10k / 10000), got ${o.level}`);
    if (!Number.isInteger(o.initSize) || o.initSize < 50) fail(`initSize must be an integer >= 50, got ${o.initSize}`);
    if (!Number.isInteger(o.maxPeaks) || o.maxPeaks < 10) fail(`maxPeaks must be an integer >= 10, got ${o.maxPeaks}`);
    if (!(o.decades > 0)) fail(`decades must be > 0, got ${o.decades}`);
    this.options = o;
    this.q = o.alarmsPer10k / 1e4;
    this.nominal = tailToNormalized(this.q, o.decades);
  }

  prepare(slots: number): void {
    for (let s = 0; s < slots; s++) this.state(s);
  }

  decide(score: number, _channelScores: Float32Array, seriesSlot: number): boolean {
    if (Number.isNaN(score)) return false;
    const st = this.state(seriesSlot);
    const alarm = score >= st.z;
    if (st.calib !== null) {
      st.calib[st.calibCount++] = score;
      if (st.calibCount === st.calib.length) this.calibrate(st);
      return alarm;
    }
    // Alarms are learnt from too, unlike SPOT's: normalised scores come in runs (a short-term
    // mean), and leaving every run out truncates the tail the GPD sees, which then fits a
    // bounded tail and lowers the threshold further, a spiral measured at 15x the asked rate.
    st.n++;
    if (st.fitted && score > st.t) {
      st.pushPeak(score - st.t);
      st.nt++;
      // Refit when the peaks held have grown by 1%: O(peaks) work every ~100 peaks.
      if (++st.sinceFit >= Math.max(1, 0.01 * st.peakCount)) this.refit(st);
    }
    if (st.fitted) st.z = Math.max(nextAbove(st.t), gpdQuantile(st.t, st, this.q, st.n, st.nt));
    return alarm;
  }

  threshold(seriesSlot: number): number {
    return this.state(seriesSlot).z;
  }

  resetSlot(seriesSlot: number): void {
    this.states[seriesSlot] = undefined;
  }

  /** Whether a series has fitted its own tail yet, and the threshold it uses, for reports and tests. */
  describe(seriesSlot: number): { fitted: boolean; threshold: number; t: number; gamma: number; sigma: number; n: number; nt: number } {
    const st = this.state(seriesSlot);
    return { fitted: st.fitted, threshold: st.z, t: st.t, gamma: st.gamma, sigma: st.sigma, n: st.n, nt: st.nt };
  }

  toJSON(): Threshold {
    const o = this.options;
    return { value: this.nominal, method: this.method, params: { ...o, tailProbability: normalizedToTail(this.nominal, o.decades) } };
  }

  static fromJSON(json: Threshold): AlarmRateThreshold {
    return new AlarmRateThreshold({
      alarmsPer10k: numParam(json, 'alarmsPer10k', 5),
      initSize: intParam(json, 'initSize', 1000),
      level: numParam(json, 'level', 0.95),
      maxPeaks: intParam(json, 'maxPeaks', 1000),
      decades: numParam(json, 'decades', 10),
    });
  }

  private calibrate(st: RateState): void {
    const xs = st.calib!;
    st.calib = null;
    const sorted = xs.slice().sort();
    const t = quantileSorted(sorted, this.options.level);
    let nt = 0;
    for (let i = 0; i < xs.length; i++) {
      if (xs[i]! > t) {
        st.pushPeak(xs[i]! - t);
        nt++;
      }
    }
    // All calibration scores (nearly) equal: no tail to fit; the nominal threshold stays.
    if (nt < 3) return;
    st.t = t;
    st.n = xs.length;
    st.nt = nt;
    st.fitted = true;
    this.refit(st);
  }

  private refit(st: RateState): void {
    const fit = fitGpd(st.peaks, st.peakCount);
    st.gamma = fit.gamma;
    st.sigma = fit.sigma;
    st.sinceFit = 0;
    st.z = Math.max(nextAbove(st.t), gpdQuantile(st.t, st, this.q, st.n, st.nt));
  }

  private state(slot: number): RateState {
    return ensureSlot(this.states, slot, () => new RateState(this.options.initSize, this.options.maxPeaks, this.nominal));
  }
}

registerThreshold('alarm-rate', AlarmRateThreshold.fromJSON);
