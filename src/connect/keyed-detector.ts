/**
 * The one detector a stream consumer scores every owned series with. A series gets a fresh key
 * each time it is (re)loaded, primed with its checkpointed tail; a key abandoned by a dropped
 * partition is ignored when its late windows arrive. When the detector runs out of series slots
 * it is replaced by a new one, primed from the tails of the live series. Each scored window
 * becomes a result row of its series' partition, traced to the entry that completed it.
 */
import { Detector, type DetectorOptions, type ScoredBatch } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import type { Series } from './consumer-series.js';
import { resultFields } from './wire.js';

/** Options of {@link KeyedDetector}. */
export interface KeyedDetectorOptions {
  /** Model directory. */
  model: string;
  detector?: Omit<DetectorOptions, 'onBatch' | 'onAnomaly' | 'overflow'>;
  /** Series slots before the detector is renewed. */
  maxSeries: number;
  window: number;
  stride: number;
  /** A window was scored (for the consumer's totals). */
  onWindow(): void;
  log(line: string): void;
}

export class KeyedDetector {
  private current!: Detector;
  private readonly byKey = new Map<string, Series>();
  private incarnation = 0;
  private unsubscribe: (() => void) | undefined;
  /** The first failure the detector reported (a listener that threw, a failed batch): the consumer stops on it. */
  failure: Error | undefined;

  constructor(private readonly o: KeyedDetectorOptions) {}

  get detector(): Detector {
    return this.current;
  }

  async load(): Promise<void> {
    const detector = await Detector.load(this.o.model, { ...this.o.detector, maxSeries: this.o.maxSeries, overflow: 'reject' });
    const offBatch = detector.on('batch', (batch: ScoredBatch) => this.onBatch(batch));
    // A listener that throws is reported, not raised: keep the first such failure and stop on it.
    const offError = detector.on('error', (err) => {
      this.failure ??= err;
    });
    this.unsubscribe = () => {
      offBatch();
      offError();
    };
    this.current = detector;
  }

  /**
   * Gives a series a fresh key and pushes its tail (fewer frames than a window: no window).
   * `live` lists the series to carry over should the detector need renewing first.
   */
  async prime(s: Series, times: Float64Array, frames: Float32Array, live: () => Series[]): Promise<void> {
    if (this.current.stats().series >= this.o.maxSeries) await this.renew(live());
    s.key = `${s.seriesId}\u0000${++this.incarnation}`;
    s.written = 0;
    s.windows = 0;
    s.entries = [];
    s.entryHead = 0;
    this.byKey.set(s.key, s);
    if (times.length > 0) {
      s.remember(times, frames, 0);
      await this.current.write(s.key, times, frames);
      s.written = times.length;
    }
  }

  /** Pushes a series' frames under its key. */
  write(s: Series, timestamps: Float64Array, frames: Float32Array): Promise<void> {
    return this.current.write(s.key, timestamps, frames);
  }

  /** Abandons a series' key (its partition was dropped): its late windows are ignored. */
  forget(s: Series): void {
    this.byKey.delete(s.key);
  }

  async close(): Promise<void> {
    this.unsubscribe?.();
    await this.current?.close();
  }

  /** Replaces a detector whose series slots are used up; live series go on from their tails. */
  private async renew(live: Series[]): Promise<void> {
    await this.current.flush();
    const { maxSeries, stride } = this.o;
    if (live.length >= maxSeries) {
      throw new SeismoError('ERR_TOO_MANY_SERIES', `this consumer holds ${live.length} live series and its detector has ${maxSeries} series slots; raise maxSeries (--max-series) or add consumers`);
    }
    const tails = live.map((s) => ({ from: s.windows * stride, ...s.tail(stride) }));
    this.unsubscribe?.();
    await this.current.close();
    this.byKey.clear();
    await this.load();
    this.o.log(`detector renewed (series slots used up), ${live.length} series carried over`);
    for (let i = 0; i < live.length; i++) {
      const s = live[i]!;
      const t = tails[i]!;
      const pending = s.entries.slice(s.entryHead);
      await this.prime(s, t.times, t.frames, () => live);
      // Frame k of the new key is frame `from + k` of the old one; entries ending before `from` are done.
      s.entries = pending.map((e) => ({ id: e.id, end: e.end - t.from })).filter((e) => e.end > 0);
    }
  }

  private onBatch(b: ScoredBatch): void {
    for (let i = 0; i < b.size; i++) {
      const s = this.byKey.get(b.seriesIds[i]!);
      if (!s) continue; // a key abandoned by a dropped partition
      s.windows++;
      s.windowsTotal++;
      const last = b.starts[i]! + this.o.window - 1;
      while (s.entryHead < s.entries.length && s.entries[s.entryHead]!.end <= last) s.entryHead++;
      const src = s.entries[s.entryHead];
      if (!src) throw new SeismoError('ERR_CONNECTOR', `internal: window ending at frame ${last} of series '${s.seriesId}' has no source entry`);
      const score = b.scores[i]!;
      const normalized = s.normalizer ? s.normalizer.update(score) : NaN;
      s.part.results.push(resultFields({ src: src.id, seriesId: s.seriesId, timestamp: b.timestamps[i]!, score, threshold: b.thresholds[i]!, anomaly: b.anomalies[i] === 1, normalized }));
      this.o.onWindow();
    }
  }
}
