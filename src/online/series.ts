/**
 * Per-series state of the online engine: warm-up buffer, scaler, missing-value and gap handling,
 * the normaliser and the guard's memory, and the queue of scaled samples waiting for the rings.
 * Everything is allocated when the series is first seen; the per-sample path allocates nothing
 * (queues grow by doubling, rarely).
 */
import type { SeriesNormalizer, SeriesScorer } from './normalizer.js';

/** Counters of one series (summed over series in `OnlineStats`). */
export interface SeriesCounters {
  /** Samples accepted (warm-up, scored, held or filled ones; not skipped ones). */
  samples: number;
  /** Windows scored (one per sample after warm-up). */
  scored: number;
  /** Samples with a missing value that took the channel's last value. */
  missingHeld: number;
  /** Samples left out because of a missing value (policy `skip`, or `hold` with nothing to hold yet). */
  missingSkipped: number;
  /** Time gaps seen (steps longer than `gapFactor` usual intervals). */
  gaps: number;
  /** Samples missing inside those gaps (estimated from the usual interval). */
  gapMissing: number;
  /** Samples inserted by the `hold` gap policy. */
  gapFilled: number;
  /** Samples left out because their timestamp was not after the previous one (`disorder: 'skip'`). */
  disordered: number;
  /** Alarms. */
  alarms: number;
  /** Windows admitted for training. */
  admitted: number;
  /** Windows admitted and later withdrawn by the guard (an overlapping window turned hot). */
  withdrawn: number;
}

export function emptyCounters(): SeriesCounters {
  return { samples: 0, scored: 0, missingHeld: 0, missingSkipped: 0, gaps: 0, gapMissing: 0, gapFilled: 0, disordered: 0, alarms: 0, admitted: 0, withdrawn: 0 };
}

/** One series. `group` is the index of the model that scores it. */
export class SeriesState {
  readonly id: string;
  /** Position in the engine's list of series (stable; training windows name their series by it). */
  readonly index: number;
  readonly group: number;
  readonly channels: number;
  /** True until the warm-up is complete. */
  warming = true;
  /** Raw warm-up samples (freed when the warm-up ends). */
  warmTimes: Float64Array | undefined;
  warmFrames: Float32Array | undefined;
  warmCount = 0;
  /** Per-channel scaler (fitted on the warm-up); `variance` for the optional adaptation. */
  readonly mean: Float64Array;
  readonly std: Float64Array;
  readonly variance: Float64Array;
  /** Last value seen per channel (raw), for `missing: 'hold'` and `gaps: 'hold'`. */
  readonly last: Float32Array;
  hasLast = false;
  lastTime = -Infinity;
  /** Usual sampling interval (median of the warm-up's), in timestamp units; NaN until known. */
  interval = NaN;
  normalizer: SeriesNormalizer;
  /** With a scorer: it replaces the normaliser, and the raw frames of samples sent but not yet scored wait in `rawFifo`. */
  scorer: SeriesScorer | undefined;
  rawFifo: Float32Array | undefined;
  rawHead = 0;
  rawCount = 0;
  /** Frames of this series pushed into the model's rings (its frame index base there is 0). */
  pushed = 0;
  /**
   * Frames of this series before ring frame 0 (a resumed detector's rings start again at 0): ring
   * position + base is the position in the series' scored life, which decides which windows may
   * be admitted (every `admitEvery`-th), the same before and after a resume.
   */
  base = 0;
  /** End (frame index in the rings) of the last window that reached the guard threshold. */
  lastHot = -Infinity;
  /** End of the last window scored. */
  lastEnd = -1;
  /** Training-ring entries this series added recently, for withdrawal by the guard (a small ring). */
  readonly recentEntries: Int32Array;
  recentHead = 0;
  /** Scaled samples waiting to be written into the rings (while the model is held or the ring is full). */
  queueTimes: Float64Array;
  queueFrames: Float32Array;
  queueCount = 0;
  readonly counters: SeriesCounters = emptyCounters();

  /** The last `window - 1` samples sent to the rings (timestamps, scaled frames), a ring: the context a saved state resumes from. */
  readonly tailTimes: Float64Array;
  readonly tailFrames: Float32Array;
  /** Samples sent to the rings (pushed or queued) since the warm-up ended. */
  sent = 0;

  constructor(id: string, index: number, group: number, channels: number, warmup: number, window: number, recent: number, normalizer: SeriesNormalizer) {
    this.id = id;
    this.index = index;
    this.tailTimes = new Float64Array(window - 1);
    this.tailFrames = new Float32Array((window - 1) * channels);
    this.group = group;
    this.channels = channels;
    this.warmTimes = new Float64Array(warmup);
    this.warmFrames = new Float32Array(warmup * channels);
    this.mean = new Float64Array(channels);
    this.std = new Float64Array(channels).fill(1);
    this.variance = new Float64Array(channels).fill(1);
    this.last = new Float32Array(channels);
    this.normalizer = normalizer;
    this.recentEntries = new Int32Array(recent).fill(-1);
    this.queueTimes = new Float64Array(16);
    this.queueFrames = new Float32Array(16 * channels);
  }

  /** Keeps a raw frame until its window is scored (with a scorer). */
  keepRaw(raw: ArrayLike<number>): void {
    const C = this.channels;
    let fifo = this.rawFifo!;
    const slots = fifo.length / C;
    if (this.rawCount === slots) {
      // Grow by doubling, unrolling the ring so the oldest frame is first.
      const grown = new Float32Array(fifo.length * 2);
      for (let k = 0; k < this.rawCount; k++) grown.set(fifo.subarray(((this.rawHead + k) % slots) * C, ((this.rawHead + k) % slots + 1) * C), k * C);
      this.rawFifo = fifo = grown;
      this.rawHead = 0;
    }
    const at = ((this.rawHead + this.rawCount) % (fifo.length / C)) * C;
    for (let c = 0; c < C; c++) fifo[at + c] = raw[c]!;
    this.rawCount++;
  }

  /** Offset in `rawFifo` of the oldest kept frame, which it releases (the caller reads it before the next `keepRaw`). */
  takeRaw(): number {
    const at = this.rawHead * this.channels;
    this.rawHead = (this.rawHead + 1) % (this.rawFifo!.length / this.channels);
    this.rawCount--;
    return at;
  }

  /** Notes a sample sent to the rings in the tail (the context a save keeps). */
  noteSent(timestamp: number, scaled: Float32Array): void {
    const k = this.sent % this.tailTimes.length;
    this.tailTimes[k] = timestamp;
    this.tailFrames.set(scaled, k * this.channels);
    this.sent++;
  }

  /** The tail in time order: at most `window - 1` samples. */
  tail(): { times: number[]; frames: number[] } {
    const n = Math.min(this.sent, this.tailTimes.length);
    const times: number[] = [];
    const frames: number[] = [];
    for (let j = this.sent - n; j < this.sent; j++) {
      const k = j % this.tailTimes.length;
      times.push(this.tailTimes[k]!);
      for (let c = 0; c < this.channels; c++) frames.push(this.tailFrames[k * this.channels + c]!);
    }
    return { times, frames };
  }

  /** Appends one scaled sample to the queue (growing it by doubling). */
  enqueue(timestamp: number, scaled: Float32Array): void {
    if (this.queueCount === this.queueTimes.length) {
      const t = new Float64Array(this.queueTimes.length * 2);
      t.set(this.queueTimes);
      this.queueTimes = t;
      const f = new Float32Array(this.queueFrames.length * 2);
      f.set(this.queueFrames);
      this.queueFrames = f;
    }
    this.queueTimes[this.queueCount] = timestamp;
    this.queueFrames.set(scaled, this.queueCount * this.channels);
    this.queueCount++;
  }

  /**
   * Fits the scaler on the warm-up samples. A channel's spread is floored at 1e-3 of its level
   * (and at 1e-6): a channel constant during warm-up would otherwise get a spread of 0 and turn
   * every later change of it into an infinite score.
   */
  fitScaler(): void {
    const C = this.channels;
    const n = this.warmCount;
    const f = this.warmFrames!;
    for (let c = 0; c < C; c++) {
      let m = 0;
      for (let t = 0; t < n; t++) m += f[t * C + c]!;
      m /= n;
      let v = 0;
      for (let t = 0; t < n; t++) v += (f[t * C + c]! - m) ** 2;
      v /= Math.max(1, n - 1);
      const floor = Math.max(1e-6, 1e-3 * Math.abs(m));
      this.mean[c] = m;
      this.std[c] = Math.max(Math.sqrt(v), floor);
      this.variance[c] = this.std[c]! ** 2;
    }
    // The usual interval: the median step of the warm-up timestamps.
    const steps = new Float64Array(n - 1);
    for (let t = 1; t < n; t++) steps[t - 1] = this.warmTimes![t]! - this.warmTimes![t - 1]!;
    steps.sort();
    this.interval = steps.length > 0 ? steps[steps.length >> 1]! : NaN;
  }

  /** Scales one raw sample into `out`, clipping to +-clip. */
  scale(raw: ArrayLike<number>, out: Float32Array, clip: number): void {
    for (let c = 0; c < this.channels; c++) {
      const z = (raw[c]! - this.mean[c]!) / this.std[c]!;
      out[c] = z > clip ? clip : z < -clip ? -clip : z;
    }
  }

  /** Exponentially weighted update of the scaler (when `scalerHalfLife` > 0) with one raw sample. */
  adapt(raw: ArrayLike<number>, alpha: number): void {
    for (let c = 0; c < this.channels; c++) {
      const d = raw[c]! - this.mean[c]!;
      this.mean[c] = this.mean[c]! + alpha * d;
      this.variance[c] = (1 - alpha) * (this.variance[c]! + alpha * d * d);
      const floor = Math.max(1e-6, 1e-3 * Math.abs(this.mean[c]!));
      this.std[c] = Math.max(Math.sqrt(this.variance[c]!), floor);
    }
  }
}
