/**
 * Drift detection: Page-Hinkley tests on a stream of numbers (Page 1954; the form in River's
 * `drift.PageHinkley`). The detector follows the running mean and accumulates how far values
 * sit above (or below) it beyond a tolerance `delta`; when the accumulation exceeds its running
 * minimum by `threshold`, the mean has shifted. It is O(1) memory and time per value.
 */
import { SeismoError } from '../errors.js';

/** Options of {@link PageHinkley}. */
export interface PageHinkleyOptions {
  /** Values seen before an alarm may be raised (the mean needs a start). Default 30. */
  minInstances?: number;
  /** Tolerated deviation from the mean, in standard deviations when `standardise` (default 0.5), else in raw units (default 0.005). */
  delta?: number;
  /** Accumulated deviation that signals a change, same units. Default 50. */
  threshold?: number;
  /** Which shifts to detect: an increase of the mean, a decrease, or both. Default `both`. */
  direction?: 'up' | 'down' | 'both';
  /**
   * Divide each value by the running standard deviation of the first `minInstances` values, so
   * that `delta` and `threshold` are in standard deviations whatever the statistic. Default true.
   */
  standardise?: boolean;
}

/** A detected shift. */
export interface DriftSignal {
  /** Number of values seen (since the last reset) when the shift was detected. */
  at: number;
  direction: 'up' | 'down';
  /** Mean before the alarm (raw units). */
  mean: number;
}

/** Two-sided Page-Hinkley test; resets itself after an alarm. */
export class PageHinkley {
  readonly minInstances: number;
  readonly delta: number;
  readonly threshold: number;
  readonly direction: 'up' | 'down' | 'both';
  readonly standardise: boolean;
  private n = 0;
  private mean = 0;
  private m2 = 0;
  private scale = 1;
  private sumUp = 0;
  private minUp = 0;
  private sumDown = 0;
  private maxDown = 0;

  constructor(options: PageHinkleyOptions = {}) {
    this.standardise = options.standardise ?? true;
    this.minInstances = options.minInstances ?? 30;
    this.delta = options.delta ?? (this.standardise ? 0.5 : 0.005);
    this.threshold = options.threshold ?? (50);
    this.direction = options.direction ?? 'both';
    if (!(this.threshold > 0) || !(this.delta >= 0) || !Number.isInteger(this.minInstances) || this.minInstances < 2) {
      throw new SeismoError('ERR_INVALID_OPTION', `PageHinkley: threshold > 0, delta >= 0 and integer minInstances >= 2 required`);
    }
  }

  /** Values seen since the last reset. */
  get count(): number {
    return this.n;
  }

  /** Adds a value; returns the shift when one is detected (the test then starts afresh). */
  update(x: number): DriftSignal | undefined {
    if (!Number.isFinite(x)) return undefined;
    this.n++;
    const d0 = x - this.mean;
    this.mean += d0 / this.n;
    if (this.n <= this.minInstances) {
      // The scale is fixed from the warm-up values: a scale that kept learning would absorb the shift.
      this.m2 += d0 * (x - this.mean);
      if (this.n === this.minInstances) this.scale = this.standardise ? Math.sqrt(this.m2 / (this.n - 1)) || 1 : 1;
      return undefined;
    }
    const z = (x - this.mean) / this.scale;
    this.sumUp += z - this.delta;
    this.minUp = Math.min(this.minUp, this.sumUp);
    this.sumDown += z + this.delta;
    this.maxDown = Math.max(this.maxDown, this.sumDown);
    let signal: DriftSignal | undefined;
    if (this.direction !== 'down' && this.sumUp - this.minUp > this.threshold) signal = { at: this.n, direction: 'up', mean: this.mean };
    else if (this.direction !== 'up' && this.maxDown - this.sumDown > this.threshold) signal = { at: this.n, direction: 'down', mean: this.mean };
    if (signal) this.reset();
    return signal;
  }

  reset(): void {
    this.n = 0;
    this.mean = 0;
    this.m2 = 0;
    this.scale = 1;
    this.sumUp = 0;
    this.minUp = 0;
    this.sumDown = 0;
    this.maxDown = 0;
  }
}

/**
 * The online learner's two monitors: the input statistic (mean |z| of a window under the live
 * scaler: normal behaviour changed) and the score level (the threshold no longer fits). After an
 * event, further events of the same monitor are ignored for `cooldown` windows (the change is
 * being handled); each has its own, so that a recalibration does not mask a change of the input.
 */
export class DriftWatch {
  private readonly inputTest: PageHinkley | undefined;
  private readonly scoreTest: PageHinkley | undefined;
  private readonly cooldown: number;
  /** Per monitor: the stream position before which its events are ignored. */
  private readonly quietUntil = { input: 0, score: 0 };

  /** `false` watches nothing. @param cooldown windows. */
  constructor(options: { input?: PageHinkleyOptions; score?: PageHinkleyOptions } | false | undefined, cooldown: number) {
    this.inputTest = options === false ? undefined : new PageHinkley(options?.input);
    this.scoreTest = options === false ? undefined : new PageHinkley(options?.score);
    this.cooldown = cooldown;
  }

  /** True when the input statistic is watched (it needs the window's frames). */
  get watchesInput(): boolean {
    return this.inputTest !== undefined;
  }

  /**
   * Feeds a window's raw frames (`[window, channels]`); returns a shift of the input statistic.
   * @param position windows scored so far.
   */
  input(frames: Float32Array, scaler: { mean: readonly number[]; std: readonly number[] }, position: number): DriftSignal | undefined {
    if (!this.inputTest) return undefined;
    const C = scaler.mean.length;
    let s = 0;
    for (let k = 0; k < frames.length; k++) {
      const c = k % C;
      s += Math.abs((frames[k]! - scaler.mean[c]!) / scaler.std[c]!);
    }
    return this.gate('input', this.inputTest.update(s / frames.length), position);
  }

  /** Feeds a window's score level; returns a shift of it. */
  score(level: number, position: number): DriftSignal | undefined {
    return this.scoreTest ? this.gate('score', this.scoreTest.update(level), position) : undefined;
  }

  private gate(on: 'input' | 'score', signal: DriftSignal | undefined, position: number): DriftSignal | undefined {
    if (!signal || position < this.quietUntil[on]) return undefined;
    this.quietUntil[on] = position + this.cooldown;
    return signal;
  }
}
