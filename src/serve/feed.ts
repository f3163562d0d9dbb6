/**
 * The server-sent event feed of the page: what changed since the last message, coalesced every
 * `feedIntervalMs` — new samples and scores per series (thinned to `feedPoints`), alarms, swap,
 * drift and error events, learner updates and question counts — and a keep-alive comment every 15 s.
 */
import type { ServerResponse } from 'node:http';
import type { OnlineLearner } from '../learn/online.js';
import type { AlarmRecord, SeriesHistory } from './history.js';
import { finiteOrNull } from './http.js';

/** Alarms per message at most; the rest are counted as `notSent`. */
const MAX_ALARMS = 200;

export class Feed {
  private readonly clients = new Set<ServerResponse>();
  private readonly cursors = new Map<string, { samples: number; scores: number }>();
  private pendingAlarms: AlarmRecord[] = [];
  private droppedAlarms = 0;
  private pendingOther: { event: string; data: unknown }[] = [];
  private lastQuestionsMark = '';
  private lastUpdates = 0;
  private readonly timers: NodeJS.Timeout[];

  /**
   * @param series the live view's histories (read at each tick).
   * @param feedPoints points per series per message at most.
   */
  constructor(
    private readonly series: ReadonlyMap<string, SeriesHistory>,
    private readonly learner: OnlineLearner | undefined,
    private readonly feedPoints: number,
    intervalMs: number,
  ) {
    const feedTimer = setInterval(() => this.tick(), intervalMs);
    const heartbeat = setInterval(() => {
      for (const c of this.clients) c.write(': keep-alive\n\n');
    }, 15000);
    feedTimer.unref();
    heartbeat.unref();
    this.timers = [feedTimer, heartbeat];
  }

  /** Open streams. */
  get size(): number {
    return this.clients.size;
  }

  /** Starts an event stream on `res` (a hijacked reply), ended by the client closing `request` or by {@link close}. */
  add(res: ServerResponse, request: { on(event: 'close', fn: () => void): unknown }): void {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    res.write(`retry: 2000\n\n`);
    this.clients.add(res);
    request.on('close', () => this.clients.delete(res));
  }

  /** An event for the next message. */
  queue(event: string, data: unknown): void {
    this.pendingOther.push({ event, data });
  }

  /** An alarm for the next message (beyond {@link MAX_ALARMS}, only counted). */
  alarm(record: AlarmRecord): void {
    if (this.pendingAlarms.length < MAX_ALARMS) this.pendingAlarms.push(record);
    else this.droppedAlarms++;
  }

  /** Sends what changed since the last message (also called at once after an answer, so the page sees it). */
  tick(): void {
    const feedPoints = this.feedPoints;
    for (const [id, h] of this.series) {
      const cur = this.cursors.get(id) ?? { samples: Math.max(0, h.samples - feedPoints), scores: Math.max(0, h.scored - feedPoints) };
      if (h.samples > cur.samples || h.scored > cur.scores) {
        const ns = h.samples - cur.samples;
        const nw = h.scored - cur.scores;
        this.broadcast('points', {
          seriesId: id,
          ...h.samplesSlice(cur.samples, h.samples, Math.max(1, Math.ceil(ns / feedPoints))),
          ...h.scoresSlice(cur.scores, h.scored, Math.max(1, Math.ceil(nw / feedPoints))),
          totalSamples: h.samples,
          totalScored: h.scored,
          alarms: h.alarms,
        });
      }
      this.cursors.set(id, { samples: h.samples, scores: h.scored });
    }
    if (this.pendingAlarms.length > 0 || this.droppedAlarms > 0) {
      this.broadcast('alarms', { alarms: this.pendingAlarms, notSent: this.droppedAlarms });
      this.pendingAlarms = [];
      this.droppedAlarms = 0;
    }
    for (const e of this.pendingOther) this.broadcast(e.event, e.data);
    this.pendingOther = [];
    const learner = this.learner;
    if (learner) {
      if (learner.history.length > this.lastUpdates) {
        for (const u of learner.history.slice(this.lastUpdates)) this.broadcast('update', u);
        this.lastUpdates = learner.history.length;
      }
      const s = learner.stats();
      const mark = `${learner.queue.size}/${s.asked}/${s.labels}/${s.unknownLabels}`;
      if (mark !== this.lastQuestionsMark) {
        this.lastQuestionsMark = mark;
        this.broadcast('questions', { pending: learner.queue.size, stats: s });
      }
    }
  }

  /** Stops the timers and ends every stream. */
  close(): void {
    for (const t of this.timers) clearInterval(t);
    for (const c of this.clients) c.end();
    this.clients.clear();
  }

  private broadcast(event: string, data: unknown): void {
    if (this.clients.size === 0) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data, finiteOrNull)}\n\n`;
    for (const c of this.clients) c.write(text);
  }
}
