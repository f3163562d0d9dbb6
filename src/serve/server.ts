/**
 * `seismo serve` as a library: routes mounted on a fastify instance (the service's own, or the
 * one {@link startServer} makes) around a live {@link Detector}, its optional
 * {@link OnlineLearner}, and an optional scored, labelled file for the evaluation view.
 *
 * Routes (all under `prefix`):
 * - `POST /api/series/:seriesId/samples[?wait=stored]`: ingestion (JSON rows, CSV, binary; see
 *   `ingest.ts`). 200 once the batch is admitted to its series' queue (stored and scored in order;
 *   with `wait=stored`, once in the ring); 400 `{error: {code, message, row}}` for a bad batch
 *   (nothing of it stored); 429 with `Retry-After` when the queue stayed full for
 *   `admissionWaitMs` (nothing stored: send it again later); 413 above the body limit.
 * - `GET /api/feed`: server-sent events: `points`, `alarms`, `swap`, `drift`, `update`,
 *   `questions`, `error`, coalesced every `feedIntervalMs`.
 * - `GET /api/state`, `/api/series/:id/recent`, `/api/alarms/:id`, `/api/questions`,
 *   `/api/questions/context?key=`, `POST /api/questions/answer`, `GET /api/versions`,
 *   `POST /api/versions/swap`, `POST /api/versions/rollback`, `GET /api/eval`,
 *   `POST /api/eval/threshold`.
 * - `GET /metrics` (Prometheus text), `/healthz`, `/readyz`; the page at `/`.
 *
 * Writes (every POST) need `Authorization: Bearer <token>` when `token` is set (the CLI sets one
 * whenever it binds beyond loopback).
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest, type FastifyServerOptions } from 'fastify';
import type { ServerResponse } from 'node:http';
import type { Detector, DriftEvent, ScoredBatch, SwapEvent } from '../detector.js';
import { isSeismoError, SeismoError } from '../errors.js';
import type { OnlineLearner } from '../learn/online.js';
import { PACKAGE_ROOT } from '../native.js';
import { FixedThreshold } from '../threshold/index.js';
import { readModelDir, writeThresholds } from '../model/model-dir.js';
import { loadEvaluation, type EvalPayload } from './evaluation.js';
import { SeriesHistory, type AlarmRecord } from './history.js';
import { checkBatch, checkSeriesId, parseBinaryBatch, parseCsvRows, parseJsonRows, type ParsedBatch } from './ingest.js';
import { createServeMetrics, type ServeMetrics } from './metrics.js';

/** Options of {@link mountSeismo}. */
export interface ServeOptions {
  /** The live detector: ingestion, live view, metrics. Without it only the evaluation view is served. */
  detector?: Detector;
  /** Its online learner: the question queue, answers, update records. */
  learner?: OnlineLearner;
  /** A scored, labelled file for the evaluation view (`seismo detect --out` scores, `timestamp,label` labels). */
  evaluation?: { scores: string; labels: string };
  /** Model directory whose `model.json` the evaluation view's "save threshold" rewrites. Default: the detector's live model directory. */
  modelDir?: string;
  /** Bearer token every write (POST) must carry; undefined: writes are open (loopback only, by the CLI's rule). */
  token?: string;
  /** Route prefix on the fastify instance, e.g. `/seismo`. Default none. */
  prefix?: string;
  /** Samples and scores kept per series for the page (each a ring). Default 8192. */
  historyPoints?: number;
  /**
   * Samples per series admitted but not yet in its ring: a batch that would exceed it waits for
   * room (up to `admissionWaitMs`), then is answered 429. Default: 8 times the ring capacity.
   */
  maxPendingSamples?: number;
  /** Milliseconds a batch may wait for its series' queue to drain before the 429 (backpressure first, refusal when the overload lasts). Default 5000. */
  admissionWaitMs?: number;
  /** Largest ingestion request body, bytes. Default 16 MiB. Other routes take 64 KiB. */
  bodyLimit?: number;
  /** Milliseconds between feed messages (samples and scores are coalesced in between). Default 250. */
  feedIntervalMs?: number;
  /** Points per series per feed message at most (thinned beyond; alarms always sent). Default 400. */
  feedPoints?: number;
  /**
   * Milliseconds without ingestion after which windows waiting for a full batch are scored
   * (`detector.flush()`), so a slow stream still shows its scores promptly. Default 10.
   */
  lingerMs?: number;
  /** Seconds a 429 answer asks the client to wait (`Retry-After`). Default 1. */
  retryAfterSeconds?: number;
  /** Include Node's process metrics (`seismo_process_*`) in `/metrics`. Default true. */
  processMetrics?: boolean;
  /** Alarms remembered for the page. Default 2000. */
  keepAlarms?: number;
}

/** A mounted server: its metrics, and `close()` to detach (the detector and learner stay open). */
export interface SeismoServer {
  readonly metrics: ServeMetrics;
  /** Alarms remembered, oldest first. */
  alarms(): readonly AlarmRecord[];
  /** Stops the timers, ends the feed streams and unsubscribes from the detector. Idempotent. */
  close(): Promise<void>;
}

const SMALL_BODY = 64 * 1024;

/** HTTP status of a coded error. */
function statusOf(code: string): number {
  switch (code) {
    case 'ERR_RING_OVERFLOW':
      return 429;
    case 'ERR_NO_PREVIOUS_VERSION':
    case 'ERR_DISPOSED':
      return 409;
    case 'ERR_NOT_FOUND':
    case 'ERR_MODEL_NOT_FOUND':
      return 404;
    case 'ERR_INFERENCE':
    case 'ERR_LEARN':
    case 'ERR_IO':
    case 'ERR_RESOURCE':
      return 500;
    default:
      return 400;
  }
}

function sendError(reply: FastifyReply, status: number, code: string, message: string, details: Record<string, unknown> = {}): FastifyReply {
  return reply.code(status).send({ error: { code, message, ...details } });
}

/** One series' admission: samples accepted and waiting for ring room, and the write chain that keeps them in order. */
interface Admission {
  pending: number;
  /** The last accepted timestamp (queued or stored): the next batch must start after it. */
  last: number;
  chain: Promise<void>;
  /** Requests waiting for the queue to drain, woken when a batch is stored. */
  wake: (() => void)[];
  /** True once a batch of this series is stored (the detector holds a slot for it). */
  known: boolean;
  /** Per request: the last timestamp and when it arrived, for the ingest-to-score latency (bounded FIFO). */
  arrivals: { last: number; at: number }[];
}

const MAX_ARRIVALS = 1024;

/**
 * Mounts the routes and the page on `app` (an encapsulated plugin: its body parsers and error
 * handler do not leak into the rest of the service).
 * @throws SeismoError `ERR_INVALID_OPTION` without a detector and without an evaluation, `ERR_CSV_PARSE` / `ERR_EVAL` on an unreadable evaluation.
 */
export async function mountSeismo(app: FastifyInstance, options: ServeOptions): Promise<SeismoServer> {
  const { detector, learner } = options;
  if (!detector && !options.evaluation) throw new SeismoError('ERR_INVALID_OPTION', 'serve needs a detector (a model) or an evaluation (scores and labels), or both');
  if (learner && learner.detector !== detector) throw new SeismoError('ERR_INVALID_OPTION', 'the learner must be attached to the served detector');
  const historyPoints = positiveInt('historyPoints', options.historyPoints ?? 8192);
  const feedInterval = positiveInt('feedIntervalMs', options.feedIntervalMs ?? 250);
  const feedPoints = positiveInt('feedPoints', options.feedPoints ?? 400);
  const lingerMs = positiveInt('lingerMs', options.lingerMs ?? 10);
  const bodyLimit = positiveInt('bodyLimit', options.bodyLimit ?? 16 * 1024 * 1024);
  const retryAfter = positiveInt('retryAfterSeconds', options.retryAfterSeconds ?? 1);
  const keepAlarms = positiveInt('keepAlarms', options.keepAlarms ?? 2000);
  const maxPending = positiveInt('maxPendingSamples', options.maxPendingSamples ?? 8 * (detector?.capacity ?? 1));
  const admissionWait = options.admissionWaitMs ?? 5000;
  if (!(admissionWait >= 0)) throw new SeismoError('ERR_INVALID_OPTION', `admissionWaitMs must be >= 0, got ${admissionWait}`);
  const evaluation: EvalPayload | undefined = options.evaluation ? loadEvaluation(options.evaluation.scores, options.evaluation.labels) : undefined;
  const modelDir = options.modelDir ?? detector?.modelDir;
  const page = readPage();

  const channels = detector ? [...detector.channels] : [];
  const series = new Map<string, SeriesHistory>();
  const admission = new Map<string, Admission>();
  const alarms: AlarmRecord[] = [];
  let alarmId = 0;
  const events: { swaps: unknown[]; drifts: unknown[]; errors: unknown[] } = { swaps: [], drifts: [], errors: [] };
  const clients = new Set<ServerResponse>();
  let closed = false;

  const metrics = createServeMetrics(
    {
      queueLength: () => learner?.queue.size,
      windowsDropped: () => detector?.stats().windowsDropped,
      liveVersion: () => detector?.version,
      feedClients: () => clients.size,
    },
    { defaultMetrics: options.processMetrics },
  );

  const historyOf = (id: string): SeriesHistory => {
    let h = series.get(id);
    if (!h) {
      h = new SeriesHistory(id, { channels: channels.length, capacity: historyPoints });
      series.set(id, h);
    }
    return h;
  };

  // ---- the feed: what changed since the last message ----
  const cursors = new Map<string, { samples: number; scores: number }>();
  let pendingAlarms: AlarmRecord[] = [];
  let droppedAlarms = 0;
  let pendingOther: { event: string; data: unknown }[] = [];
  let lastQuestionsMark = '';
  let lastUpdates = 0;

  const broadcast = (event: string, data: unknown): void => {
    if (clients.size === 0) return;
    const text = `event: ${event}\ndata: ${JSON.stringify(data, finiteOrNull)}\n\n`;
    for (const c of clients) c.write(text);
  };
  const queue = (event: string, data: unknown): void => {
    pendingOther.push({ event, data });
  };

  const tick = (): void => {
    for (const [id, h] of series) {
      const cur = cursors.get(id) ?? { samples: Math.max(0, h.samples - feedPoints), scores: Math.max(0, h.scored - feedPoints) };
      if (h.samples > cur.samples || h.scored > cur.scores) {
        const ns = h.samples - cur.samples;
        const nw = h.scored - cur.scores;
        broadcast('points', {
          seriesId: id,
          ...h.samplesSlice(cur.samples, h.samples, Math.max(1, Math.ceil(ns / feedPoints))),
          ...h.scoresSlice(cur.scores, h.scored, Math.max(1, Math.ceil(nw / feedPoints))),
          totalSamples: h.samples,
          totalScored: h.scored,
          alarms: h.alarms,
        });
      }
      cursors.set(id, { samples: h.samples, scores: h.scored });
    }
    if (pendingAlarms.length > 0 || droppedAlarms > 0) {
      broadcast('alarms', { alarms: pendingAlarms, notSent: droppedAlarms });
      pendingAlarms = [];
      droppedAlarms = 0;
    }
    for (const e of pendingOther) broadcast(e.event, e.data);
    pendingOther = [];
    if (learner) {
      if (learner.history.length > lastUpdates) {
        for (const u of learner.history.slice(lastUpdates)) broadcast('update', u);
        lastUpdates = learner.history.length;
      }
      const s = learner.stats();
      const mark = `${learner.queue.size}/${s.asked}/${s.labels}/${s.unknownLabels}`;
      if (mark !== lastQuestionsMark) {
        lastQuestionsMark = mark;
        broadcast('questions', { pending: learner.queue.size, stats: s });
      }
    }
  };
  const feedTimer = setInterval(tick, feedInterval);
  const heartbeat = setInterval(() => {
    for (const c of clients) c.write(': keep-alive\n\n');
  }, 15000);
  feedTimer.unref();
  heartbeat.unref();

  // ---- detector events ----
  const unsubscribe: (() => void)[] = [];
  if (detector) {
    const C = channels.length;
    unsubscribe.push(
      detector.on('batch', (b: ScoredBatch) => {
        const now = performance.now();
        let alarmsIn = 0;
        for (let i = 0; i < b.size; i++) {
          const id = b.seriesIds[i]!;
          const h = historyOf(id);
          const t = b.timestamps[i]!;
          const anomaly = b.anomalies[i] === 1;
          h.addScore(t, b.scores[i]!, b.thresholds[i]!, anomaly);
          const a = admission.get(id);
          if (a) {
            // Requests whose last sample ends at or before this window's end are now scored.
            while (a.arrivals.length > 0 && a.arrivals[0]!.last <= t) metrics.latency.observe((now - a.arrivals.shift()!.at) / 1000);
          }
          if (anomaly) {
            alarmsIn++;
            const start = b.starts[i]!;
            const record: AlarmRecord = {
              id: ++alarmId,
              seriesId: id,
              start,
              startTime: h.timeOf(start) ?? null,
              timestamp: t,
              score: b.scores[i]!,
              threshold: Number.isFinite(b.thresholds[i]!) ? b.thresholds[i]! : null,
              version: b.version,
              contributions: Array.from(b.channelScores.subarray(i * C, (i + 1) * C)),
            };
            alarms.push(record);
            if (alarms.length > keepAlarms) alarms.shift();
            if (pendingAlarms.length < 200) pendingAlarms.push(record);
            else droppedAlarms++;
          }
        }
        metrics.windows.inc(b.size);
        if (alarmsIn > 0) metrics.alarms.inc(alarmsIn);
      }),
      detector.on('swap', (e: SwapEvent) => {
        metrics.swaps.inc({ kind: e.kind });
        const record = { ...e, at: Date.now() };
        events.swaps.push(record);
        if (events.swaps.length > 200) events.swaps.shift();
        queue('swap', record);
      }),
      detector.on('drift', (e: DriftEvent) => {
        metrics.drifts.inc();
        const record = { ...e, at: Date.now() };
        events.drifts.push(record);
        if (events.drifts.length > 200) events.drifts.shift();
        queue('drift', record);
      }),
      detector.on('error', (e: SeismoError) => {
        metrics.errors.inc({ code: e.code });
        const record = { code: e.code, message: e.message, at: Date.now() };
        events.errors.push(record);
        if (events.errors.length > 200) events.errors.shift();
        app.log.error({ code: e.code, err: e }, 'detector error');
        queue('error', record);
      }),
    );
  }

  // ---- linger: score what waits for a full batch once ingestion pauses ----
  let lastIngest = 0;
  let inFlightWrites = 0;
  let flushing = false;
  let dirty = false;
  const lingerTimer = setInterval(() => {
    if (!detector || !dirty || flushing || inFlightWrites > 0 || performance.now() - lastIngest < lingerMs) return;
    flushing = true;
    dirty = false;
    detector
      .flush()
      .catch((err: unknown) => app.log.error({ err }, 'flush failed'))
      .finally(() => {
        flushing = false;
      });
  }, Math.max(2, Math.floor(lingerMs / 2)));
  lingerTimer.unref();

  // Answers that `seismo label` appends while the server runs reach the live learner too.
  const importTimer = learner
    ? setInterval(() => {
        try {
          learner.importAnswers();
        } catch (err) {
          app.log.warn({ err }, 'importing label answers failed');
        }
      }, 2000)
    : undefined;
  importTimer?.unref();

  /**
   * Admits a checked batch into its series' queue, in order; answers once it is admitted (the
   * samples are then stored and scored in order), or with `waitStored` once they are all in the
   * ring. A batch that does not fit waits up to `admissionWaitMs` for the queue to drain, then is
   * refused whole (429). The first batch of a series always waits until stored: a series the
   * detector cannot take (too many series) is refused with its error, never after a 200.
   */
  const ingest = async (id: string, batch: ParsedBatch, format: string, waitStored: boolean): Promise<{ accepted: number; series: string; last: number; stored: boolean }> => {
    let a = admission.get(id);
    checkBatch(batch, channels, a?.last ?? -Infinity, id);
    const n = batch.timestamps.length;
    if (!a) {
      a = { pending: 0, last: -Infinity, chain: Promise.resolve(), arrivals: [], wake: [], known: false };
      admission.set(id, a);
    }
    const adm = a;
    const deadline = performance.now() + admissionWait;
    while (adm.pending > 0 && adm.pending + n > maxPending) {
      const left = deadline - performance.now();
      if (left <= 0 || closed) {
        throw new SeismoError('ERR_RING_OVERFLOW', `series '${id}': its ring is full and ${adm.pending} samples already wait for room; nothing of this batch was stored: send it again after Retry-After`, {
          seriesId: id,
        });
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        adm.wake.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    // Again: another request of this series may have been admitted while this one waited.
    checkBatch(batch, channels, adm.last, id);
    const lastTs = batch.timestamps[n - 1]!;
    const previousLast = adm.last;
    adm.last = lastTs;
    adm.pending += n;
    inFlightWrites++;
    lastIngest = performance.now();
    const arrival = { last: lastTs, at: performance.now() };
    const write = adm.chain.then(async () => {
      await detector!.write(id, batch.timestamps, batch.frames);
      historyOf(id).addSamples(batch.timestamps, batch.frames);
      adm.known = true;
      adm.arrivals.push(arrival);
      if (adm.arrivals.length > MAX_ARRIVALS) adm.arrivals.shift();
    });
    const settled = write
      .catch((err: unknown) => {
        // The detector refused it whole: the next batch may reuse its timestamps.
        if (adm.last === lastTs) adm.last = previousLast;
        throw err;
      })
      .finally(() => {
        adm.pending -= n;
        inFlightWrites--;
        lastIngest = performance.now();
        dirty = true;
        for (const w of adm.wake.splice(0)) w();
      });
    adm.chain = settled.catch(() => {});
    metrics.samples.inc({ format }, n);
    if (waitStored || !adm.known) {
      try {
        await settled;
      } catch (err) {
        metrics.samples.inc({ format }, -n);
        throw err;
      }
      return { accepted: n, series: id, last: lastTs, stored: true };
    }
    settled.catch((err: unknown) => {
      // Only a failed or closed detector refuses a batch of a series it already holds.
      const code = isSeismoError(err) ? err.code : 'ERR_UNEXPECTED';
      metrics.errors.inc({ code });
      metrics.rejected.inc({ reason: 'failed' }, n);
      app.log.error({ err, seriesId: id, samples: n }, 'an admitted batch could not be stored');
    });
    return { accepted: n, series: id, last: lastTs, stored: false };
  };

  await app.register(
    async (api) => {
      api.addContentTypeParser(['text/csv', 'text/plain'], { parseAs: 'string', bodyLimit }, (_req, body, done) => done(null, body));
      api.addContentTypeParser('application/octet-stream', { parseAs: 'buffer', bodyLimit }, (_req, body, done) => done(null, body));

      api.setErrorHandler((err: unknown, request, reply) => {
        if (isSeismoError(err)) {
          const status = statusOf(err.code);
          if (status === 429) reply.header('retry-after', String(retryAfter));
          const row = (err.details as { row?: unknown }).row;
          if (status >= 500) request.log.error({ err }, err.message);
          return sendError(reply, status, err.code, err.message, row === undefined ? {} : { row });
        }
        const e = err as { statusCode?: number; code?: string; message?: string };
        const status = e.statusCode && e.statusCode >= 400 ? e.statusCode : 500;
        if (status >= 500) request.log.error({ err }, 'request failed');
        // Bodies refused before the route ran (unparseable JSON, too large, unknown type) count as ingestion requests too.
        if (request.routeOptions.url?.endsWith('/samples')) metrics.requests.inc({ format: formatOf(request.headers['content-type']), status: String(status) });
        return sendError(reply, status, e.code ?? 'ERR_UNEXPECTED', e.message ?? String(err));
      });

      if (options.token !== undefined) {
        const expected = Buffer.from(`Bearer ${options.token}`);
        api.addHook('onRequest', async (request, reply) => {
          if (request.method === 'GET' || request.method === 'HEAD') return;
          const given = Buffer.from(request.headers.authorization ?? '');
          if (given.length !== expected.length || !crypto.timingSafeEqual(given, expected)) {
            reply.header('www-authenticate', 'Bearer');
            return sendError(reply, 401, 'ERR_UNAUTHORIZED', 'writes need `Authorization: Bearer <token>` (the token seismo serve printed at start, or the one given with --token)');
          }
        });
      }

      // ---- the page ----
      for (const [file, asset] of Object.entries(page)) {
        api.get(file, async (_req, reply) => reply.type(asset.type).header('cache-control', 'no-cache').send(asset.body));
      }

      // ---- operations ----
      api.get('/metrics', async (_req, reply) => reply.type(metrics.registry.contentType).send(await metrics.registry.metrics()));
      api.get('/healthz', async () => ({ ok: true }));
      api.get('/readyz', async (_req, reply) => {
        if (closed) return sendError(reply, 503, 'ERR_DISPOSED', 'the server is shutting down');
        return { ready: true, version: detector?.version ?? null };
      });

      // ---- ingestion ----
      api.post<{ Params: { seriesId: string } }>('/api/series/:seriesId/samples', { bodyLimit }, async (request, reply) => {
        if (!detector) return sendError(reply, 404, 'ERR_NOT_FOUND', 'no model is served (seismo serve --model <dir>): nothing to ingest into');
        const format = formatOf(request.headers['content-type']);
        try {
          const id = checkSeriesId(request.params.seriesId);
          let batch: ParsedBatch;
          if (format === 'binary') batch = parseBinaryBatch(request.body as Buffer, channels.length);
          else if (format === 'json') batch = parseJsonRows(request.body, channels.length);
          else batch = parseCsvRows(String(request.body), channels);
          const result = await ingest(id, batch, format, (request.query as { wait?: string }).wait === 'stored');
          metrics.requests.inc({ format, status: '200' });
          return result;
        } catch (err) {
          const status = isSeismoError(err) ? statusOf(err.code) : 500;
          metrics.requests.inc({ format, status: String(status) });
          if (isSeismoError(err) && status === 429) metrics.rejected.inc({ reason: 'overflow' }, sampleCount(request.body, format, channels.length));
          else if (status === 400) metrics.rejected.inc({ reason: 'invalid' }, sampleCount(request.body, format, channels.length));
          throw err;
        }
      });

      // ---- the live view ----
      api.get('/api/state', async () => ({
        model: detector
          ? { dir: detector.modelDir, kind: detector.manifest.kind, window: detector.window, stride: detector.stride, channels, version: detector.version, provider: detector.provider.provider, threshold: finite(detector.threshold) }
          : null,
        learner: learner ? { workDir: learner.queue.dir ?? null, stats: learner.stats() } : null,
        evaluation: evaluation ? { scoresFile: evaluation.scoresFile, labelsFile: evaluation.labelsFile, points: evaluation.points, canSave: modelDir !== undefined } : null,
        series: [...series.values()].map((h) => ({ id: h.seriesId, samples: h.samples, scored: h.scored, alarms: h.alarms, lastScore: finite(h.lastScore), lastThreshold: finite(h.lastThreshold) })),
        auth: options.token !== undefined,
      }));
      api.get<{ Params: { seriesId: string }; Querystring: { points?: string } }>('/api/series/:seriesId/recent', async (request, reply) => {
        const h = series.get(request.params.seriesId);
        if (!h) return sendError(reply, 404, 'ERR_NOT_FOUND', `no series '${request.params.seriesId}' has come in`);
        const points = Math.min(Math.max(Number(request.query.points ?? 2000) || 2000, 10), historyPoints);
        return reply.type('application/json').send(JSON.stringify({ ...h.recent(points), alarms: alarms.filter((a) => a.seriesId === h.seriesId).slice(-200) }, finiteOrNull));
      });
      api.get<{ Params: { id: string } }>('/api/alarms/:id', async (request, reply) => {
        const id = Number(request.params.id);
        const alarm = alarms.find((a) => a.id === id);
        if (!alarm) return sendError(reply, 404, 'ERR_NOT_FOUND', `alarm ${request.params.id} is not remembered (the last ${keepAlarms} are)`);
        return reply.type('application/json').send(JSON.stringify({ alarm, channels, context: contextOf(alarm.seriesId, alarm.start) }, finiteOrNull));
      });

      // ---- questions and answers ----
      api.get('/api/questions', async (_req, reply) => {
        if (!learner) return sendError(reply, 404, 'ERR_NOT_FOUND', 'no online learner runs (seismo serve --model <dir> --work <dir>)');
        return reply.type('application/json').send(
          JSON.stringify(
            {
              pending: learner.queue.pending(),
              stats: learner.stats(),
              buffers: {
                normal: { size: learner.normal.size, capacity: learner.normal.capacity },
                anomaly: { size: learner.anomaly.size, capacity: learner.anomaly.capacity },
                heldOut: { size: learner.heldOut.size, capacity: learner.heldOut.capacity },
              },
              updating: learner.updating,
            },
            finiteOrNull,
          ),
        );
      });
      api.get<{ Querystring: { key?: string } }>('/api/questions/context', async (request, reply) => {
        if (!learner) return sendError(reply, 404, 'ERR_NOT_FOUND', 'no online learner runs');
        const item = learner.queue.pending().find((q) => q.key === request.query.key);
        if (!item) return sendError(reply, 404, 'ERR_NOT_FOUND', `question '${request.query.key}' is not pending`);
        return reply.type('application/json').send(JSON.stringify({ question: item, channels, context: contextOf(item.ref.seriesId, item.ref.start) }, finiteOrNull));
      });
      api.post<{ Body: { key?: unknown; answer?: unknown } }>('/api/questions/answer', { bodyLimit: SMALL_BODY }, async (request, reply) => {
        if (!learner) return sendError(reply, 404, 'ERR_NOT_FOUND', 'no online learner runs');
        const { key, answer } = request.body ?? {};
        if (typeof key !== 'string' || (answer !== 'anomaly' && answer !== 'normal')) {
          throw new SeismoError('ERR_LABEL', 'an answer is {"key": "seriesId@start", "answer": "anomaly" | "normal"}');
        }
        const at = key.lastIndexOf('@');
        const start = Number(key.slice(at + 1));
        if (at <= 0 || !Number.isInteger(start) || start < 0) throw new SeismoError('ERR_LABEL', `key '${key.slice(0, 140)}' is not seriesId@start`);
        const outcome = learner.label({ seriesId: key.slice(0, at), start }, answer === 'anomaly');
        metrics.labels.inc({ answer });
        request.log.info({ key, answer, outcome }, 'label');
        tick();
        return { key, answer, outcome, stats: learner.stats() };
      });

      // ---- versions ----
      api.get('/api/versions', async (_req, reply) => {
        if (!detector) return sendError(reply, 404, 'ERR_NOT_FOUND', 'no model is served');
        return reply.type('application/json').send(
          JSON.stringify({ live: detector.version, kept: detector.versions(), updates: learner?.history ?? [], swaps: events.swaps, drifts: events.drifts, errors: events.errors }, finiteOrNull),
        );
      });
      api.post('/api/versions/rollback', { bodyLimit: SMALL_BODY }, async (request) => {
        if (!detector) throw new SeismoError('ERR_INVALID_OPTION', 'no model is served');
        const result = await detector.rollback();
        request.log.info({ result }, 'rollback');
        return result;
      });
      api.post<{ Body: { version?: unknown } }>('/api/versions/swap', { bodyLimit: SMALL_BODY }, async (request) => {
        if (!detector) throw new SeismoError('ERR_INVALID_OPTION', 'no model is served');
        const version = request.body?.version;
        // Only kept versions: a path from a request is never opened.
        const kept = detector.versions().find((v) => v.version === version);
        if (!kept) throw new SeismoError('ERR_INVALID_OPTION', `version ${JSON.stringify(version)} is not kept (kept: ${detector.versions().map((v) => v.version).join(', ')})`);
        if (kept.version === detector.version) throw new SeismoError('ERR_INVALID_OPTION', `version ${kept.version} is already live`);
        const result = await detector.swapModel(kept.dir);
        request.log.info({ result, from: kept }, 'swap');
        return result;
      });

      // ---- evaluation ----
      api.get('/api/eval', async (_req, reply) => {
        if (!evaluation) return sendError(reply, 404, 'ERR_NOT_FOUND', 'no evaluation is loaded (seismo serve --eval scores.csv --labels labels.csv)');
        return reply.type('application/json').send(JSON.stringify({ ...evaluation, canSave: modelDir !== undefined, modelDir: modelDir ?? null }, finiteOrNull));
      });
      api.post<{ Body: { threshold?: unknown } }>('/api/eval/threshold', { bodyLimit: SMALL_BODY }, async (request) => {
        if (!evaluation) throw new SeismoError('ERR_EVAL', 'no evaluation is loaded');
        if (!modelDir) throw new SeismoError('ERR_INVALID_OPTION', 'no model directory to save into (seismo serve --eval ... --model <dir>)');
        const threshold = request.body?.threshold;
        if (typeof threshold !== 'number') throw new SeismoError('ERR_INVALID_OPTION', 'the body is {"threshold": <finite number>}');
        const rule = new FixedThreshold(threshold, 'eval-view', { scores: path.basename(evaluation.scoresFile), labels: path.basename(evaluation.labelsFile), date: new Date().toISOString() });
        readModelDir(modelDir); // a directory that does not load is not written to
        writeThresholds(modelDir, { global: rule.toJSON(), channels: null });
        // A live detector on the same model decides with it from now on, without a new version.
        const live = detector !== undefined && path.resolve(detector.modelDir) === path.resolve(modelDir);
        if (live) detector.setThresholdRule(rule);
        request.log.info({ threshold, modelDir, live }, 'threshold saved');
        return { threshold, modelDir, file: path.join(modelDir, 'model.json'), appliedToLive: live };
      });

      // ---- the feed ----
      api.get('/api/feed', (request, reply) => {
        reply.hijack();
        const res = reply.raw;
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
        res.write(`retry: 2000\n\n`);
        clients.add(res);
        request.raw.on('close', () => clients.delete(res));
      });
    },
    { prefix: options.prefix ?? '' },
  );

  function contextOf(seriesId: string, start: number): unknown {
    const h = series.get(seriesId);
    const W = detector?.window ?? 0;
    if (!h || !h.holdsSample(start)) return null;
    const slice = h.samplesSlice(start - 3 * W, start + 4 * W);
    const scores = slice.time.length > 0 ? h.scoresBetween(slice.time[0]!, slice.time[slice.time.length - 1]!) : undefined;
    return { ...slice, scores, windowStart: start, windowEnd: start + W - 1, windowStartTime: h.timeOf(start) ?? null, windowEndTime: h.timeOf(start + W - 1) ?? null };
  }

  return {
    metrics,
    alarms: () => alarms,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(feedTimer);
      clearInterval(heartbeat);
      clearInterval(lingerTimer);
      if (importTimer) clearInterval(importTimer);
      for (const u of unsubscribe) u();
      for (const c of clients) c.end();
      clients.clear();
    },
  };
}

/** Options of {@link startServer}. */
export interface StartServerOptions extends ServeOptions {
  /** Port; 0 picks a free one. Default 8080. */
  port?: number;
  /** Address to bind. Default 127.0.0.1 (loopback only). */
  host?: string;
  /** A pino logger configuration for fastify (true: JSON lines on stdout at info). Default false. */
  logger?: FastifyServerOptions['logger'];
}

/** A running server from {@link startServer}. */
export interface RunningServer extends SeismoServer {
  readonly app: FastifyInstance;
  /** The page's address, e.g. `http://127.0.0.1:8080/`. */
  readonly url: string;
}

/** Makes a fastify instance, mounts seismo on it and listens. `close()` stops listening too. */
export async function startServer(options: StartServerOptions): Promise<RunningServer> {
  const app = Fastify({ logger: options.logger ?? false, bodyLimit: SMALL_BODY, forceCloseConnections: true });
  const mounted = await mountSeismo(app, options);
  const host = options.host ?? '127.0.0.1';
  try {
    await app.listen({ port: options.port ?? 8080, host });
  } catch (cause) {
    await mounted.close();
    await app.close();
    throw new SeismoError('ERR_INVALID_OPTION', `cannot listen on ${host}:${options.port ?? 8080}: ${(cause as Error).message} (choose another --port)`, {}, { cause });
  }
  const address = app.server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    app,
    metrics: mounted.metrics,
    alarms: mounted.alarms,
    url: `http://${shown}:${port}${options.prefix ?? ''}/`,
    async close() {
      await mounted.close();
      await app.close();
    },
  };
}

/** True for addresses only this machine reaches. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || host.startsWith('127.');
}

/** The ingestion body format a Content-Type names. */
function formatOf(contentType: string | undefined): string {
  const type = (contentType ?? '').split(';')[0]!.trim();
  return type === 'application/octet-stream' ? 'binary' : type === 'application/json' ? 'json' : 'csv';
}

function positiveInt(name: string, v: number): number {
  if (!Number.isInteger(v) || v <= 0) throw new SeismoError('ERR_INVALID_OPTION', `${name} must be a positive integer, got ${v}`);
  return v;
}

function finite(v: number): number | null {
  return Number.isFinite(v) ? v : null;
}

/** NaN and Infinity are not JSON. */
function finiteOrNull(_key: string, value: unknown): unknown {
  return typeof value === 'number' && !Number.isFinite(value) ? null : value;
}

/** Samples a refused body held (for the rejected-samples counter), estimated without parsing it again. */
function sampleCount(body: unknown, format: string, channels: number): number {
  if (format === 'binary' && Buffer.isBuffer(body)) return Math.floor(body.byteLength / (8 + 4 * channels));
  if (format === 'json' && Array.isArray(body)) return body.length;
  if (typeof body === 'string') return Math.max(0, body.split('\n').filter((l) => l.trim() !== '').length - 1);
  return 0;
}

interface Asset {
  type: string;
  body: Buffer;
}

/** The page's files, read once: ours from `web/serve/`, uPlot from its package (no build step). */
function readPage(): Record<string, Asset> {
  const web = path.join(PACKAGE_ROOT, 'web', 'serve');
  const uplot = path.dirname(require.resolve('uplot/dist/uPlot.iife.min.js'));
  const files: Record<string, [string, string]> = {
    '/': [path.join(web, 'index.html'), 'text/html; charset=utf-8'],
    '/app.js': [path.join(web, 'app.js'), 'text/javascript; charset=utf-8'],
    '/style.css': [path.join(web, 'style.css'), 'text/css; charset=utf-8'],
    '/vendor/uPlot.iife.min.js': [path.join(uplot, 'uPlot.iife.min.js'), 'text/javascript; charset=utf-8'],
    '/vendor/uPlot.min.css': [path.join(uplot, 'uPlot.min.css'), 'text/css; charset=utf-8'],
  };
  const out: Record<string, Asset> = {};
  for (const [route, [file, type]] of Object.entries(files)) {
    try {
      out[route] = { type, body: fs.readFileSync(file) };
    } catch (cause) {
      throw new SeismoError('ERR_IO', `the page's file ${file} is missing from the seismo package (reinstall it)`, { file }, { cause });
    }
  }
  return out;
}
