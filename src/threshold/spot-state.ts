/**
 * One series' SPOT/DSPOT state: the threshold t, the counts n and nt, the GPD fit and z_q, the
 * ring of retained peaks, the drift window (DSPOT) and the calibration buffer while it
 * self-initialises. Allocated once per series; the per-window path allocates nothing.
 */
import { SeismoError } from '../errors.js';
import { quantileSorted } from '../stats/quantile.js';
import { fitGpd, gpdQuantile } from './gpd.js';

/** One series' streaming state (see the file comment). */
export class SpotState {
  t = NaN;
  n = 0;
  nt = 0;
  gamma = 0;
  sigma = 1;
  z = Infinity;
  readonly peaks: Float64Array;
  peakCount = 0;
  peakHead = 0;
  sinceFit = 0;
  /** Calibration buffer while self-initialising (null once calibrated). */
  calib: Float64Array | null;
  calibCount = 0;
  readonly drift: Float64Array | null;
  driftHead = 0;
  driftCount = 0;
  driftSum = 0;

  /** @param initSize calibration scores to collect first; 0 when the state is restored calibrated. */
  constructor(maxPeaks: number, initSize: number, depth: number) {
    this.peaks = new Float64Array(maxPeaks);
    this.calib = initSize > 0 ? new Float64Array(initSize) : null;
    this.drift = depth > 0 ? new Float64Array(depth) : null;
  }

  /** The drift level M (0 for SPOT). */
  level(): number {
    return this.drift === null || this.driftCount === 0 ? 0 : this.driftSum / this.driftCount;
  }

  pushDrift(x: number): void {
    const d = this.drift!;
    if (this.driftCount < d.length) {
      d[this.driftHead] = x;
      this.driftSum += x;
      this.driftCount++;
    } else {
      this.driftSum += x - d[this.driftHead]!;
      d[this.driftHead] = x;
    }
    this.driftHead = this.driftHead + 1 === d.length ? 0 : this.driftHead + 1;
    // The running sum drifts by rounding: recompute it once per lap, O(1) amortised.
    if (this.driftHead === 0) {
      let s = 0;
      for (let i = 0; i < this.driftCount; i++) s += d[i]!;
      this.driftSum = s;
    }
  }

  pushPeak(y: number): void {
    this.peaks[this.peakHead] = y;
    this.peakHead = this.peakHead + 1 === this.peaks.length ? 0 : this.peakHead + 1;
    if (this.peakCount < this.peaks.length) this.peakCount++;
  }

  /** Peaks oldest first. */
  peakList(): number[] {
    const out: number[] = [];
    const start = this.peakCount < this.peaks.length ? 0 : this.peakHead;
    for (let i = 0; i < this.peakCount; i++) out.push(this.peaks[(start + i) % this.peaks.length]!);
    return out;
  }

  driftList(): number[] {
    if (!this.drift) return [];
    const out: number[] = [];
    const start = this.driftCount < this.drift.length ? 0 : this.driftHead;
    for (let i = 0; i < this.driftCount; i++) out.push(this.drift[(start + i) % this.drift.length]!);
    return out;
  }

  /**
   * Calibrates from `count` scores `xs`: t = their `level` quantile, the excesses over t as peaks,
   * a GPD fit to them, and z, the score exceeded with probability `q`.
   * @throws SeismoError `ERR_EVAL` when no score is above t (constant scores).
   */
  calibrate(xs: Float64Array, count: number, level: number, q: number): void {
    const sorted = xs.slice(0, count).sort();
    const t = quantileSorted(sorted, level);
    this.t = t;
    this.n = count;
    this.nt = 0;
    this.peakCount = 0;
    this.peakHead = 0;
    for (let i = 0; i < count; i++) {
      if (xs[i]! > t) {
        this.pushPeak(xs[i]! - t);
        this.nt++;
      }
    }
    if (this.nt === 0) {
      throw new SeismoError('ERR_EVAL', `SPOT calibration: no score of ${count} is above its ${level} quantile (constant scores?)`);
    }
    const fit = fitGpd(this.peaks, this.peakCount);
    this.gamma = fit.gamma;
    this.sigma = fit.sigma;
    this.sinceFit = 0;
    this.calib = null;
    this.z = gpdQuantile(t, fit, q, this.n, this.nt);
  }
}
