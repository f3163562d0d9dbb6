/**
 * What the page plots: per series, the most recent samples that came in over HTTP and the most
 * recent window scores, in fixed-size typed-array rings (memory bounded by `capacity`, nothing
 * allocated per sample), plus the alarms with their per-channel contributions.
 *
 * Sample indices count from the series' first sample through this server (the Detector's
 * window `start` uses the same count when every sample of the series comes in through it), so
 * a question or an alarm about window `start` finds its frames here while they are held.
 */

/** Options of {@link SeriesHistory}. */
export interface SeriesHistoryOptions {
  /** Channels per sample. */
  channels: number;
  /** Samples and scores kept per series (each its own ring). */
  capacity: number;
}

/** Samples as plain JSON, channel-major for the chart library (`values[c][i]`). */
export interface SampleSlice {
  /** Index (in the series) of the first sample of this slice. */
  firstIndex: number;
  /** Sample timestamps. */
  time: number[];
  /** `[channels][points]`. */
  values: number[][];
}

/** Window scores as plain JSON: end timestamps, scores, thresholds (null where the rule has none) and 0/1 alarms. */
export interface ScoreSlice {
  scoreTime: number[];
  score: number[];
  threshold: (number | null)[];
  anomaly: number[];
}

/** A series' recent samples and scores. */
export interface HistorySlice extends SampleSlice, ScoreSlice {
  seriesId: string;
}

export class SeriesHistory {
  readonly channels: number;
  readonly capacity: number;
  /** Samples seen in total (the index the next one gets). */
  samples = 0;
  /** Windows scored in total. */
  scored = 0;
  alarms = 0;
  lastScore = NaN;
  lastThreshold = NaN;
  private readonly time: Float64Array;
  private readonly values: Float32Array;
  private readonly sTime: Float64Array;
  private readonly sScore: Float32Array;
  private readonly sThreshold: Float32Array;
  private readonly sAnomaly: Uint8Array;

  constructor(readonly seriesId: string, options: SeriesHistoryOptions) {
    this.channels = options.channels;
    this.capacity = options.capacity;
    this.time = new Float64Array(this.capacity);
    this.values = new Float32Array(this.capacity * this.channels);
    this.sTime = new Float64Array(this.capacity);
    this.sScore = new Float32Array(this.capacity);
    this.sThreshold = new Float32Array(this.capacity);
    this.sAnomaly = new Uint8Array(this.capacity);
  }

  /** Appends samples (`frames` `[n, channels]`); only the last `capacity` are kept. */
  addSamples(timestamps: ArrayLike<number>, frames: Float32Array): void {
    const n = timestamps.length;
    const C = this.channels;
    const skip = Math.max(0, n - this.capacity);
    this.samples += skip;
    // At most two contiguous copies (before and after the ring's wrap point), nothing per sample.
    let i = skip;
    while (i < n) {
      const at = this.samples % this.capacity;
      const take = Math.min(n - i, this.capacity - at);
      for (let k = 0; k < take; k++) this.time[at + k] = timestamps[i + k]!;
      this.values.set(frames.subarray(i * C, (i + take) * C), at * C);
      this.samples += take;
      i += take;
    }
  }

  addScore(time: number, score: number, threshold: number, anomaly: boolean): void {
    const at = this.scored % this.capacity;
    this.sTime[at] = time;
    this.sScore[at] = score;
    this.sThreshold[at] = threshold;
    this.sAnomaly[at] = anomaly ? 1 : 0;
    this.scored++;
    this.lastScore = score;
    this.lastThreshold = threshold;
    if (anomaly) this.alarms++;
  }

  /** Timestamp of sample `index`, when still held. */
  timeOf(index: number): number | undefined {
    return this.holdsSample(index) ? this.time[index % this.capacity] : undefined;
  }

  holdsSample(index: number): boolean {
    return Number.isInteger(index) && index >= 0 && index < this.samples && index >= this.samples - this.capacity;
  }

  /** Samples `[from, to)` (clamped to what is held), every `step`-th. */
  samplesSlice(from: number, to: number, step = 1): SampleSlice {
    const lo = Math.max(from, this.samples - this.capacity, 0);
    const hi = Math.min(to, this.samples);
    const C = this.channels;
    const time: number[] = [];
    const values: number[][] = Array.from({ length: C }, () => []);
    for (let i = lo; i < hi; i += step) {
      const at = i % this.capacity;
      time.push(this.time[at]!);
      for (let c = 0; c < C; c++) values[c]!.push(this.values[at * C + c]!);
    }
    return { firstIndex: lo, time, values };
  }

  /** Scores `[from, to)` in scoring order (clamped to what is held): every alarm, else every `step`-th. */
  scoresSlice(from: number, to: number, step = 1): ScoreSlice {
    const lo = Math.max(from, this.scored - this.capacity, 0);
    const hi = Math.min(to, this.scored);
    const out: ScoreSlice = { scoreTime: [], score: [], threshold: [], anomaly: [] };
    for (let j = lo; j < hi; j++) {
      const at = j % this.capacity;
      const alarm = this.sAnomaly[at]!;
      if (alarm === 0 && (j - lo) % step !== 0) continue;
      out.scoreTime.push(this.sTime[at]!);
      out.score.push(this.sScore[at]!);
      const thr = this.sThreshold[at]!;
      out.threshold.push(Number.isFinite(thr) ? thr : null);
      out.anomaly.push(alarm);
    }
    return out;
  }

  /** The scores held whose window ends within `[t0, t1]`, in scoring order. */
  scoresBetween(t0: number, t1: number): ScoreSlice {
    const out: ScoreSlice = { scoreTime: [], score: [], threshold: [], anomaly: [] };
    for (let j = Math.max(0, this.scored - this.capacity); j < this.scored; j++) {
      const at = j % this.capacity;
      const t = this.sTime[at]!;
      if (t < t0 || t > t1) continue;
      out.scoreTime.push(t);
      out.score.push(this.sScore[at]!);
      const thr = this.sThreshold[at]!;
      out.threshold.push(Number.isFinite(thr) ? thr : null);
      out.anomaly.push(this.sAnomaly[at]!);
    }
    return out;
  }

  /** The last samples and scores held, thinned to about `points` each. */
  recent(points: number): HistorySlice {
    const held = Math.min(this.samples, this.capacity);
    const scores = Math.min(this.scored, this.capacity);
    return {
      seriesId: this.seriesId,
      ...this.samplesSlice(this.samples - held, this.samples, Math.max(1, Math.ceil(held / points))),
      ...this.scoresSlice(this.scored - scores, this.scored, Math.max(1, Math.ceil(scores / points))),
    };
  }

  /** Raw frames of window `[start, start + window)`, `[window, channels]`, when all of them are held. */
  windowFrames(start: number, window: number): Float32Array | undefined {
    if (!this.holdsSample(start) || !this.holdsSample(start + window - 1)) return undefined;
    const C = this.channels;
    const out = new Float32Array(window * C);
    for (let i = 0; i < window; i++) out.set(this.values.subarray(((start + i) % this.capacity) * C, ((start + i) % this.capacity + 1) * C), i * C);
    return out;
  }
}

/** One alarm as the page shows it. */
export interface AlarmRecord {
  /** Increasing id (the page asks for an alarm's detail by it). */
  id: number;
  seriesId: string;
  /** Index of the window's first sample in its series. */
  start: number;
  /** Timestamps of the window's first (when still known) and last sample. */
  startTime: number | null;
  timestamp: number;
  score: number;
  threshold: number | null;
  version: number;
  /** Each channel's contribution to the score (the model's `channel_score`), model channel order. */
  contributions: number[];
  /**
   * Each channel's share of the attribution (each channel against its own normal errors,
   * src/score/attribution.ts; shares sum to 1), model channel order: what the page ranks by.
   */
  attribution: number[];
  /** The model's attention weights over the window's past steps, for models that output them (DeepAnT `bahdanau`). */
  attention?: number[];
}
