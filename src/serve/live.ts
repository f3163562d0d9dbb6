/**
 * What the page's live view shows of a served detector, kept from its events: each series'
 * recent samples and scores, the alarms (with each channel's share), and the last swap, drift and
 * error events; plus the context of a window (the samples and scores around it) for an alarm or a
 * question. Counts the scored windows, alarms and events in the metrics as they arrive.
 */
import type { FastifyBaseLogger } from 'fastify';
import type { Detector, DriftEvent, ScoredBatch, SwapEvent } from '../detector/index.js';
import type { SeismoError } from '../errors.js';
import { attributionShares } from '../score/top-channels.js';
import type { Admission } from './admission.js';
import type { Feed } from './feed.js';
import { SeriesHistory, type AlarmRecord } from './history.js';
import type { ServeMetrics } from './metrics.js';

/** Swap, drift and error events kept for the versions view, each at most {@link KEEP_EVENTS}. */
const KEEP_EVENTS = 200;

/** Options of {@link LiveView}. */
export interface LiveViewOptions {
  /** Channel names of the served detector (none without one). */
  channels: readonly string[];
  /** Samples and scores kept per series. */
  historyPoints: number;
  /** Alarms remembered. */
  keepAlarms: number;
  metrics: ServeMetrics;
}

export class LiveView {
  /** Each series' history, by id, in order of arrival. */
  readonly series = new Map<string, SeriesHistory>();
  /** Alarms remembered, oldest first. */
  readonly alarms: AlarmRecord[] = [];
  readonly events: { swaps: unknown[]; drifts: unknown[]; errors: unknown[] } = { swaps: [], drifts: [], errors: [] };
  private alarmId = 0;

  constructor(private readonly o: LiveViewOptions) {}

  /** A series' history, made when it first comes in. */
  historyOf(id: string): SeriesHistory {
    let h = this.series.get(id);
    if (!h) {
      h = new SeriesHistory(id, { channels: this.o.channels.length, capacity: this.o.historyPoints });
      this.series.set(id, h);
    }
    return h;
  }

  /**
   * Subscribes to the detector's events: scores and alarms into the histories (alarms also to the
   * feed; each scored window closes the latency of the requests it covers), swap, drift and error
   * events kept and queued for the feed. Returns the unsubscribe functions.
   */
  watch(detector: Detector, feed: Feed, admission: Admission, log: FastifyBaseLogger): (() => void)[] {
    const { metrics, channels, keepAlarms } = this.o;
    const C = channels.length;
    const keep = (list: unknown[], record: unknown): void => {
      list.push(record);
      if (list.length > KEEP_EVENTS) list.shift();
    };
    return [
      detector.on('batch', (b: ScoredBatch) => {
        const now = performance.now();
        let alarmsIn = 0;
        for (let i = 0; i < b.size; i++) {
          const id = b.seriesIds[i]!;
          const h = this.historyOf(id);
          const t = b.timestamps[i]!;
          const anomaly = b.anomalies[i] === 1;
          h.addScore(t, b.scores[i]!, b.thresholds[i]!, anomaly);
          // Requests whose last sample ends at or before this window's end are now scored.
          admission.scored(id, t, now);
          if (anomaly) {
            alarmsIn++;
            const start = b.starts[i]!;
            const record: AlarmRecord = {
              id: ++this.alarmId,
              seriesId: id,
              start,
              startTime: h.timeOf(start) ?? null,
              timestamp: t,
              score: b.scores[i]!,
              threshold: Number.isFinite(b.thresholds[i]!) ? b.thresholds[i]! : null,
              version: b.version,
              contributions: Array.from(b.channelScores.subarray(i * C, (i + 1) * C)),
              attribution: Array.from(attributionShares(b.attribution, i * C, C, new Float32Array(C))),
              ...(b.attention && b.attentionSteps ? { attention: Array.from(b.attention.subarray(i * b.attentionSteps, (i + 1) * b.attentionSteps)) } : {}),
            };
            this.alarms.push(record);
            if (this.alarms.length > keepAlarms) this.alarms.shift();
            feed.alarm(record);
          }
        }
        metrics.windows.inc(b.size);
        if (alarmsIn > 0) metrics.alarms.inc(alarmsIn);
      }),
      detector.on('swap', (e: SwapEvent) => {
        metrics.swaps.inc({ kind: e.kind });
        const record = { ...e, at: Date.now() };
        keep(this.events.swaps, record);
        feed.queue('swap', record);
      }),
      detector.on('drift', (e: DriftEvent) => {
        metrics.drifts.inc();
        const record = { ...e, at: Date.now() };
        keep(this.events.drifts, record);
        feed.queue('drift', record);
      }),
      detector.on('error', (e: SeismoError) => {
        metrics.errors.inc({ code: e.code });
        const record = { code: e.code, message: e.message, at: Date.now() };
        keep(this.events.errors, record);
        log.error({ code: e.code, err: e }, 'detector error');
        feed.queue('error', record);
      }),
    ];
  }

  /**
   * The samples around a window of `window` frames starting at frame `start` of a series (three
   * windows before, four after), the scores between, and where the window is; null when the
   * history no longer holds it.
   */
  contextOf(seriesId: string, start: number, window: number): unknown {
    const h = this.series.get(seriesId);
    const W = window;
    if (!h || !h.holdsSample(start)) return null;
    const slice = h.samplesSlice(start - 3 * W, start + 4 * W);
    const scores = slice.time.length > 0 ? h.scoresBetween(slice.time[0]!, slice.time[slice.time.length - 1]!) : undefined;
    return { ...slice, scores, windowStart: start, windowEnd: start + W - 1, windowStartTime: h.timeOf(start) ?? null, windowEndTime: h.timeOf(start + W - 1) ?? null };
  }
}
