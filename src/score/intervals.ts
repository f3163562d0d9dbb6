/**
 * Anomaly intervals: runs of anomalous windows of one series merged into one event (start, end,
 * peak, severity, the channels that drove it), the way an operator reads alarms.
 *
 * Gap rule: two anomalous windows of a series belong to one interval when at most `maxGap` scored
 * normal windows lie between them. An interval closes (and is emitted) at the `maxGap + 1`-th
 * normal window after its last anomalous one, or at {@link IntervalMerger.flush} (end of stream).
 * The default gap when attached to a detector is one window's length, `ceil(window / stride)`
 * windows: once that many windows were normal, no window that held the anomaly is left, so an
 * anomaly whose windows dip under the threshold for a moment stays one interval.
 *
 * Two ways in, one state machine: {@link IntervalMerger} follows a detector's events (streaming;
 * the channels of an interval are those its `anomaly` events name), {@link mergeIntervals} reads a
 * whole score table (e.g. from `scoreTable`; channels from its per-channel scores).
 */
import { SeismoError } from '../errors.js';
import type { AnomalyEvent, ScoredBatch } from '../detector/types.js';

/** One anomaly interval of one series. Timestamps are those of the windows' last frames, as pushed. */
export interface AnomalyInterval {
  seriesId: string;
  /** Timestamp of the first anomalous window (its last frame: when the alarm was raised). Its data begin `window - 1` frames earlier. */
  start: number;
  /** Timestamp of the last anomalous window. */
  end: number;
  /** Anomalous windows merged (normal windows inside the gaps not counted). */
  windows: number;
  /** Highest window score in the interval. */
  peakScore: number;
  /** Timestamp of the window with {@link peakScore}. */
  peakTimestamp: number;
  /**
   * How far the peak went past the line: peak score / the threshold in force at the peak
   * (1 = at the threshold, 2 = twice it). null when the rule has no single score threshold (NaN).
   */
  severity: number | null;
  /**
   * The channels that drove it, largest share first (at most `topChannels`): each channel's sum of
   * contributions over the interval's anomalous windows, as a share of the sum over all channels
   * named. Shares of the channels listed add up to at most 1.
   */
  channels: { name: string; share: number }[];
}

/** Options of {@link IntervalMerger} and {@link mergeIntervals}. */
export interface IntervalOptions {
  /**
   * Normal windows allowed between two anomalous windows of one interval (an integer >= 0).
   * Default: `ceil(window / stride)` when attached to a detector; 0 for {@link mergeIntervals}
   * unless given (only consecutive anomalous windows merge).
   */
  maxGap?: number;
  /** Channels listed per interval. Default 3. */
  topChannels?: number;
}

/** Per-series state: the open interval and the normal windows seen since its last anomalous one. */
class OpenInterval {
  start = 0;
  end = 0;
  windows = 0;
  peakScore = -Infinity;
  peakTimestamp = 0;
  peakThreshold = NaN;
  gap = 0;
  readonly contributions = new Map<string, number>();

  constructor(readonly seriesId: string) {}

  add(timestamp: number, score: number, threshold: number, channels: readonly { name: string; score: number }[]): void {
    if (this.windows === 0) this.start = timestamp;
    this.end = timestamp;
    this.windows++;
    this.gap = 0;
    if (score > this.peakScore) {
      this.peakScore = score;
      this.peakTimestamp = timestamp;
      this.peakThreshold = threshold;
    }
    for (const c of channels) {
      // A negative contribution (a channel below its normal level) drives nothing.
      if (c.score > 0) this.contributions.set(c.name, (this.contributions.get(c.name) ?? 0) + c.score);
    }
  }

  close(topChannels: number): AnomalyInterval {
    let total = 0;
    for (const v of this.contributions.values()) total += v;
    const channels = [...this.contributions]
      .sort((a, b) => b[1] - a[1])
      .slice(0, topChannels)
      .map(([name, v]) => ({ name, share: total > 0 ? v / total : 0 }));
    const severity = Number.isFinite(this.peakThreshold) && this.peakThreshold > 0 ? this.peakScore / this.peakThreshold : null;
    return { seriesId: this.seriesId, start: this.start, end: this.end, windows: this.windows, peakScore: this.peakScore, peakTimestamp: this.peakTimestamp, severity, channels };
  }
}

function checkOptions(options: IntervalOptions): void {
  const { maxGap, topChannels } = options;
  if (maxGap !== undefined && !(Number.isInteger(maxGap) && maxGap >= 0)) {
    throw new SeismoError('ERR_INVALID_OPTION', `maxGap must be an integer >= 0 (normal windows inside one interval), got ${String(maxGap)}`);
  }
  if (topChannels !== undefined && !(Number.isInteger(topChannels) && topChannels >= 1)) {
    throw new SeismoError('ERR_INVALID_OPTION', `topChannels must be an integer >= 1, got ${String(topChannels)}`);
  }
}

/** What {@link IntervalMerger.attach} needs of a detector: its events and window geometry. */
export interface IntervalSource {
  readonly window: number;
  readonly stride: number;
  on(event: 'anomaly', listener: (e: AnomalyEvent) => void): () => void;
  on(event: 'batch', listener: (b: ScoredBatch) => void): () => void;
}

/**
 * Merges a detector's anomalous windows into intervals, per series, as the stream goes.
 *
 * ```ts
 * const merger = IntervalMerger.attach(detector);
 * merger.on('interval', (i) => console.log(i.seriesId, i.start, i.end, i.severity, i.channels));
 * // ... push / write ...
 * await detector.flush();
 * merger.flush(); // end of stream: close the intervals still open
 * ```
 */
export class IntervalMerger {
  private readonly open = new Map<string, OpenInterval>();
  /** Anomaly events wait here until their batch arrives (a batch's anomaly events come first). */
  private readonly pending = new Map<string, AnomalyEvent[]>();
  private readonly listeners = new Set<(interval: AnomalyInterval) => void>();
  private readonly maxGap: number;
  private readonly topChannels: number;
  private detachers: (() => void)[] = [];
  /** Intervals emitted so far. */
  emitted = 0;

  constructor(options: IntervalOptions = {}) {
    checkOptions(options);
    this.maxGap = options.maxGap ?? 0;
    this.topChannels = options.topChannels ?? 3;
  }

  /** Subscribes a new merger to `detector`'s `anomaly` and `batch` events (see the file comment for the gap rule). */
  static attach(detector: IntervalSource, options: IntervalOptions = {}): IntervalMerger {
    const merger = new IntervalMerger({ ...options, maxGap: options.maxGap ?? Math.ceil(detector.window / detector.stride) });
    merger.detachers = [detector.on('anomaly', (e) => merger.anomaly(e)), detector.on('batch', (b) => merger.batch(b))];
    return merger;
  }

  /** Calls `listener` with each interval when it closes; returns the unsubscribe. */
  on(event: 'interval', listener: (interval: AnomalyInterval) => void): () => void {
    if (event !== 'interval') throw new SeismoError('ERR_INVALID_OPTION', `IntervalMerger emits 'interval' only, got '${String(event)}'`);
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Feeds one anomaly event (what `attach` does; for a merger fed by hand). */
  anomaly(e: AnomalyEvent): void {
    let queue = this.pending.get(e.seriesId);
    if (!queue) this.pending.set(e.seriesId, (queue = []));
    queue.push(e);
  }

  /** Feeds one scored batch, after its anomaly events (what `attach` does). */
  batch(b: ScoredBatch): void {
    for (let i = 0; i < b.size; i++) {
      const score = b.scores[i]!;
      if (Number.isNaN(score)) continue; // a window drop-oldest overwrote: not seen, neither normal nor anomalous
      const id = b.seriesIds[i]!;
      if (b.anomalies[i]) {
        const queue = this.pending.get(id);
        let event = queue?.shift();
        // Events and windows of a series come in the same order; one that does not match (an
        // anomaly listener attached mid-batch) is dropped rather than paired with the wrong window.
        while (event && event.timestamp < b.timestamps[i]!) event = queue!.shift();
        const channels = event && event.timestamp === b.timestamps[i] ? event.channels : [];
        this.window(id, b.timestamps[i]!, true, score, b.thresholds[i]!, channels);
      } else this.window(id, b.timestamps[i]!, false, score, NaN, []);
    }
  }

  /**
   * Feeds one scored window of a series directly (windows of a series in time order).
   * @param channels the window's channel contributions (any number; only positive ones count).
   */
  window(seriesId: string, timestamp: number, anomalous: boolean, score: number, threshold: number, channels: readonly { name: string; score: number }[]): void {
    let open = this.open.get(seriesId);
    if (anomalous) {
      if (!open) this.open.set(seriesId, (open = new OpenInterval(seriesId)));
      open.add(timestamp, score, threshold, channels);
    } else if (open && ++open.gap > this.maxGap) {
      this.open.delete(seriesId);
      this.emit(open.close(this.topChannels));
    }
  }

  /** Closes and emits every open interval (end of stream, or of one series' data); returns them. */
  flush(seriesId?: string): AnomalyInterval[] {
    const out: AnomalyInterval[] = [];
    for (const [id, open] of [...this.open]) {
      if (seriesId !== undefined && id !== seriesId) continue;
      this.open.delete(id);
      const interval = open.close(this.topChannels);
      out.push(interval);
      this.emit(interval);
    }
    return out;
  }

  /** Unsubscribes from the detector (open intervals stay open: call {@link flush} first). */
  detach(): void {
    for (const off of this.detachers) off();
    this.detachers = [];
  }

  private emit(interval: AnomalyInterval): void {
    this.emitted++;
    for (const l of this.listeners) l(interval);
  }
}

/** A whole series' window scores, as `scoreTable` returns them (plus the timestamps). */
export interface ScoreTableInput {
  /** `[N]` timestamp of each window (its last frame), increasing. */
  timestamps: ArrayLike<number>;
  /** `[N]`. */
  scores: ArrayLike<number>;
  /** `[N]` 1 where the window is anomalous. */
  anomalies: ArrayLike<number>;
  /** `[N]` the threshold in force per window (NaN for rules without one); optional. */
  thresholds?: ArrayLike<number>;
  /** `[N, C]` row-major per-channel scores, with `channels`; optional. */
  channelScores?: ArrayLike<number>;
  /** `[C]` channel names of `channelScores`. */
  channels?: readonly string[];
}

/**
 * Merges the anomalous windows of one series' score table into intervals (see the file comment
 * for the gap rule; default gap 0: pass `maxGap: Math.ceil(window / stride)` to merge as a
 * detector-attached merger does). Channel shares come from `channelScores`.
 */
export function mergeIntervals(table: ScoreTableInput, options: IntervalOptions & { seriesId?: string } = {}): AnomalyInterval[] {
  const n = table.scores.length;
  if (table.timestamps.length !== n || table.anomalies.length !== n || (table.thresholds && table.thresholds.length !== n)) {
    throw new SeismoError('ERR_BAD_SHAPE', `mergeIntervals: timestamps, scores, anomalies (and thresholds) must be equally long (${table.timestamps.length}, ${n}, ${table.anomalies.length})`);
  }
  const names = table.channels ?? [];
  const C = names.length;
  if (table.channelScores && table.channelScores.length !== n * C) {
    throw new SeismoError('ERR_BAD_SHAPE', `mergeIntervals: channelScores holds ${table.channelScores.length} values, expected ${n} windows x ${C} channels`);
  }
  const merger = new IntervalMerger(options);
  const out: AnomalyInterval[] = [];
  merger.on('interval', (i) => out.push(i));
  const id = options.seriesId ?? 'series';
  const channels = names.map((name) => ({ name, score: 0 }));
  for (let w = 0; w < n; w++) {
    if (Number.isNaN(table.scores[w]!)) continue;
    const anomalous = table.anomalies[w]! >= 1;
    if (anomalous && table.channelScores) for (let c = 0; c < C; c++) channels[c]!.score = table.channelScores[w * C + c]!;
    merger.window(id, table.timestamps[w]!, anomalous, table.scores[w]!, table.thresholds?.[w] ?? NaN, anomalous && table.channelScores ? channels : []);
  }
  merger.flush();
  return out;
}
