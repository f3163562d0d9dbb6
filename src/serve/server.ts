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
 *
 * This file holds the options and the routes; the parts behind them live beside it:
 * `admission.ts` (per-series ingestion queues, backpressure, linger), `live.ts` (histories, alarms
 * and events from the detector), `feed.ts` (server-sent events), `ingest.ts` (body formats),
 * `evaluation.ts`, `metrics.ts`, `http.ts` (error statuses and bodies), `page.ts` (the page's files).
 */
import crypto from 'node:crypto';
import path from 'node:path';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import type { Detector } from '../detector/index.js';
import { isSeismoError, SeismoError } from '../errors.js';
import type { OnlineLearner } from '../learn/online.js';
import { readModelDir, writeThresholds } from '../model/model-dir.js';
import { FixedThreshold } from '../threshold/index.js';
import { Admission } from './admission.js';
import { loadEvaluation, type EvalPayload } from './evaluation.js';
import { Feed } from './feed.js';
import type { AlarmRecord } from './history.js';
import { finite, finiteOrNull, formatOf, positiveInt, sampleCount, sendError, SMALL_BODY, statusOf } from './http.js';
import { checkSeriesId, parseBinaryBatch, parseCsvRows, parseJsonRows, type ParsedBatch } from './ingest.js';
import { LiveView } from './live.js';
import { createServeMetrics, type ServeMetrics } from './metrics.js';
import { readPage } from './page.js';

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
  let closed = false;
  const metrics = createServeMetrics(
    {
      queueLength: () => learner?.queue.size,
      windowsDropped: () => detector?.stats().windowsDropped,
      liveVersion: () => detector?.version,
      feedClients: () => feed.size,
    },
    { defaultMetrics: options.processMetrics },
  );
  const live = new LiveView({ channels, historyPoints, keepAlarms, metrics });
  const feed = new Feed(live.series, learner, feedPoints, feedInterval);
  const admission = detector
    ? new Admission({ detector, channels, maxPending, admissionWaitMs: admissionWait, metrics, log: app.log, onStored: (id, batch) => live.historyOf(id).addSamples(batch.timestamps, batch.frames), closed: () => closed })
    : undefined;
  const unsubscribe = detector && admission ? live.watch(detector, feed, admission, app.log) : [];
  const lingerTimer = admission?.startLinger(lingerMs);

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
  const contextOf = (seriesId: string, start: number): unknown => live.contextOf(seriesId, start, detector?.window ?? 0);
  const { series, alarms, events } = live;

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
        if (!detector || !admission) return sendError(reply, 404, 'ERR_NOT_FOUND', 'no model is served (seismo serve --model <dir>): nothing to ingest into');
        const format = formatOf(request.headers['content-type']);
        try {
          const id = checkSeriesId(request.params.seriesId);
          let batch: ParsedBatch;
          if (format === 'binary') batch = parseBinaryBatch(request.body as Buffer, channels.length);
          else if (format === 'json') batch = parseJsonRows(request.body, channels.length);
          else batch = parseCsvRows(String(request.body), channels);
          const result = await admission.admit(id, batch, format, (request.query as { wait?: string }).wait === 'stored');
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
          ? { dir: detector.modelDir, kind: detector.manifest.kind, window: detector.window, stride: detector.stride, channels, version: detector.version, provider: detector.provider.provider, runtime: detector.runtime.runtime, threshold: finite(detector.threshold) }
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
        feed.tick();
        return { key, answer, outcome, stats: learner.stats() };
      });

      // ---- versions ----
      api.get('/api/versions', async (_req, reply) => {
        if (!detector) return sendError(reply, 404, 'ERR_NOT_FOUND', 'no model is served');
        return reply.type('application/json').send(
          JSON.stringify({ live: detector.version, liveName: learner?.versionName(detector.version), kept: detector.versions().map((v) => ({ ...v, name: learner?.versionName(v.version) })), updates: learner?.history ?? [], swaps: events.swaps, drifts: events.drifts, errors: events.errors }, finiteOrNull),
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
        feed.add(reply.raw, request.raw);
      });
    },
    { prefix: options.prefix ?? '' },
  );

  return {
    metrics,
    alarms: () => alarms,
    async close() {
      if (closed) return;
      closed = true;
      feed.close();
      if (lingerTimer) clearInterval(lingerTimer);
      if (importTimer) clearInterval(importTimer);
      for (const u of unsubscribe) u();
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
