import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Fastify from 'fastify';
import { Detector } from '../../src/detector/index.js';
import { encodeBinaryBatch } from '../../src/serve/ingest.js';
import { mountSeismo, startServer, type RunningServer } from '../../src/serve/server.js';
import { C, copyDir, jsonRows, learnableModel, parsePrometheus, spikyStream } from './fixtures.js';

const post = (url: string, body: string | Buffer, type: string, headers: Record<string, string> = {}) => fetch(url, { method: 'POST', body, headers: { 'content-type': type, ...headers } });
const postJson = (url: string, body: unknown, headers: Record<string, string> = {}) => post(url, JSON.stringify(body), 'application/json', headers);

/** Reads server-sent events until `until` accepts one (or the time runs out). */
async function readFeed(url: string, until: (event: string, data: unknown) => boolean, ms = 15000): Promise<{ event: string; data: unknown }[]> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), ms);
  const seen: { event: string; data: unknown }[] = [];
  try {
    const res = await fetch(url, { signal: ac.signal });
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffer += decoder.decode(chunk, { stream: true });
      let cut: number;
      while ((cut = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) {
          seen.push({ event, data: JSON.parse(data) });
          if (until(event, JSON.parse(data))) return seen;
        }
      }
    }
  } catch (err) {
    if ((err as Error).name !== 'AbortError') throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  throw new Error(`the feed did not deliver the expected event in ${ms} ms; saw ${seen.map((s) => s.event).join(', ')}`);
}

describe('serve: HTTP ingestion, feed, metrics and safety', function () {
  this.timeout(120000);
  let dir: string;
  const stream = spikyStream(1200);

  before(async () => {
    dir = await learnableModel();
  });

  describe('on one server', () => {
    let detector: Detector;
    let server: RunningServer;
    let url: string;

    before(async () => {
      detector = await Detector.load(dir, { provider: 'cpu', batchSize: 16, stride: 1 });
      server = await startServer({ detector, port: 0, processMetrics: false, feedIntervalMs: 50 });
      url = server.url;
    });
    after(async () => {
      await server?.close();
      await detector?.close();
    });

    it('binds loopback and answers health and readiness', async () => {
      assert.match(url, /^http:\/\/127\.0\.0\.1:\d+\/$/);
      assert.deepEqual(await (await fetch(`${url}healthz`)).json(), { ok: true });
      const ready = await fetch(`${url}readyz`);
      assert.equal(ready.status, 200);
      assert.equal(((await ready.json()) as { version: number }).version, 1);
    });

    it('takes JSON rows, CSV and binary batches of one series, in order, and scores them', async () => {
      let r = await postJson(`${url}api/series/s1/samples`, jsonRows(stream, 0, 100));
      assert.equal(r.status, 200, await r.clone().text());
      // The first batch of a series is answered once stored (a series the detector cannot take is refused, not lost).
      assert.deepEqual(await r.json(), { accepted: 100, series: 's1', last: stream.time[99], stored: true });
      const csv = ['timestamp,' + detector.channels.join(',')];
      for (let i = 100; i < 200; i++) csv.push([stream.time[i], ...stream.frames.subarray(i * C, (i + 1) * C)].join(','));
      r = await post(`${url}api/series/s1/samples`, csv.join('\n') + '\n', 'text/csv');
      assert.equal(r.status, 200, await r.clone().text());
      // With wait=stored the answer comes once this batch (and so every one before it) is in the ring.
      r = await post(`${url}api/series/s1/samples?wait=stored`, encodeBinaryBatch(stream.time.subarray(200, 400), stream.frames.subarray(200 * C, 400 * C)), 'application/octet-stream');
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal(((await r.json()) as { stored: boolean }).stored, true);
      assert.equal(detector.stats().framesPushed, 400);
      // The linger flush scores the tail without more input.
      const deadline = Date.now() + 10000;
      while (detector.stats().windowsScored < 400 - detector.window + 1 && Date.now() < deadline) await new Promise((z) => setTimeout(z, 50));
      assert.equal(detector.stats().windowsScored, 400 - detector.window + 1);
      const m = parsePrometheus(await (await fetch(`${url}metrics`)).text());
      assert.equal(m.get('seismo_samples_ingested_total{format="json"}'), 100);
      assert.equal(m.get('seismo_samples_ingested_total{format="csv"}'), 100);
      assert.equal(m.get('seismo_samples_ingested_total{format="binary"}'), 200);
      assert.equal(m.get('seismo_windows_scored_total'), 393);
    });

    it('refuses a bad batch whole with 400, its code and its row, and stores none of it', async () => {
      const before = detector.stats().framesPushed;
      const rows = jsonRows(stream, 400, 410);
      rows[6]![2] = null as unknown as number;
      let r = await postJson(`${url}api/series/s1/samples`, rows);
      assert.equal(r.status, 400);
      assert.deepEqual(((await r.json()) as { error: { code: string; row: number } }).error.code, 'ERR_NON_FINITE');
      const repeated = jsonRows(stream, 400, 410);
      repeated[4]![0] = repeated[3]![0]!;
      r = await postJson(`${url}api/series/s1/samples`, repeated);
      const body = (await r.json()) as { error: { code: string; row: number; message: string } };
      assert.equal(r.status, 400);
      assert.equal(body.error.code, 'ERR_TIMESTAMP_ORDER');
      assert.equal(body.error.row, 4);
      r = await post(`${url}api/series/s1/samples`, Buffer.alloc(13), 'application/octet-stream');
      assert.equal(r.status, 400);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'ERR_BAD_SHAPE');
      r = await post(`${url}api/series/s1/samples`, '{"not json', 'application/json');
      assert.equal(r.status, 400);
      r = await postJson(`${url}api/series/bad%2Fid/samples`, jsonRows(stream, 0, 2));
      assert.equal(r.status, 400);
      assert.equal(detector.stats().framesPushed, before);
      // Nothing of the refused batches was kept: their first timestamp is still the next one allowed.
      r = await postJson(`${url}api/series/s1/samples`, jsonRows(stream, 400, 410));
      assert.equal(r.status, 200, await r.clone().text());
      const m = parsePrometheus(await (await fetch(`${url}metrics`)).text());
      assert.ok(m.get('seismo_ingest_rejected_samples_total{reason="invalid"}')! >= 20);
      assert.equal(m.get('seismo_ingest_requests_total{format="json",status="400"}'), 4);
    });

    it('streams scores and alarms as server-sent events', async () => {
      const feed = readFeed(`${url}api/feed`, (event, data) => event === 'points' && (data as { seriesId: string; score: number[] }).seriesId === 'live' && (data as { score: number[] }).score.length > 0);
      await new Promise((z) => setTimeout(z, 100));
      const r = await postJson(`${url}api/series/live/samples`, jsonRows(stream, 0, 60));
      assert.equal(r.status, 200);
      const events = await feed;
      const points = events.at(-1)!.data as { time: number[]; values: number[][]; score: number[]; totalSamples: number };
      assert.equal(points.values.length, C);
      assert.equal(points.totalSamples, 60);
    });

    it('serves /metrics as Prometheus text with every metric the issue names', async () => {
      const res = await fetch(`${url}metrics`);
      assert.match(res.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
      const m = parsePrometheus(await res.text());
      for (const name of [
        'seismo_windows_scored_total',
        'seismo_alarms_total',
        'seismo_windows_dropped',
        'seismo_model_version',
        'seismo_ingest_to_score_seconds_count',
        'seismo_feed_clients',
      ]) {
        assert.ok(m.has(name), `${name} missing`);
      }
      assert.equal(m.get('seismo_model_version'), 1);
      assert.ok(m.get('seismo_ingest_to_score_seconds_count')! > 0);
      assert.ok(m.get('seismo_ingest_to_score_seconds_bucket{le="+Inf"}')! > 0);
    });

    it('rolls back over HTTP and says 409 when no older version is kept', async () => {
      await detector.swapModel(dir);
      let r = await postJson(`${url}api/versions/rollback`, {});
      assert.equal(r.status, 200);
      assert.equal(((await r.json()) as { version: number }).version, 1);
      r = await postJson(`${url}api/versions/rollback`, {});
      assert.equal(r.status, 409);
      assert.equal(((await r.json()) as { error: { code: string } }).error.code, 'ERR_NO_PREVIOUS_VERSION');
      r = await postJson(`${url}api/versions/swap`, { version: '../../etc' });
      assert.equal(r.status, 400);
      const versions = (await (await fetch(`${url}api/versions`)).json()) as { swaps: { kind: string }[] };
      assert.deepEqual(versions.swaps.map((s) => s.kind), ['swap', 'rollback']);
    });
  });

  it('answers 429 with Retry-After when the ring and the admission queue are full, storing nothing of that batch', async () => {
    const detector = await Detector.load(dir, { provider: 'cpu', batchSize: 8, capacity: 32, stride: 1 });
    const server = await startServer({ detector, port: 0, processMetrics: false, maxPendingSamples: 64, admissionWaitMs: 50, retryAfterSeconds: 2 });
    try {
      // The first batch must still be waiting for ring room 80 ms on, also at the native LSTM-AE
      // scorer's speed (through it a first batch of 5,000 samples had drained before then).
      const N = 20_000;
      const big = spikyStream(N + 1000);
      const first = post(`${server.url}api/series/a/samples`, encodeBinaryBatch(big.time.subarray(0, N), big.frames.subarray(0, N * C)), 'application/octet-stream');
      // The first (the series' first: answered once stored) waits for ring room batch after batch;
      // a second batch of the same series meanwhile waits 50 ms for the queue to drain, then is refused.
      await new Promise((z) => setTimeout(z, 30));
      const second = await post(`${server.url}api/series/a/samples`, encodeBinaryBatch(big.time.subarray(N, N + 10), big.frames.subarray(N * C, (N + 10) * C)), 'application/octet-stream');
      assert.equal(second.status, 429);
      assert.equal(second.headers.get('retry-after'), '2');
      assert.equal(((await second.json()) as { error: { code: string } }).error.code, 'ERR_RING_OVERFLOW');
      assert.equal((await first).status, 200);
      assert.equal(detector.stats().framesPushed, N);
      // Sent again later, it is taken.
      const again = await post(`${server.url}api/series/a/samples`, encodeBinaryBatch(big.time.subarray(N, N + 10), big.frames.subarray(N * C, (N + 10) * C)), 'application/octet-stream');
      assert.equal(again.status, 200);
      const m = parsePrometheus(await (await fetch(`${server.url}metrics`)).text());
      assert.equal(m.get('seismo_ingest_rejected_samples_total{reason="overflow"}'), 10);
    } finally {
      await server.close();
      await detector.close();
    }
  });

  it('needs the bearer token for every write when one is set, and limits body sizes', async () => {
    const detector = await Detector.load(dir, { provider: 'cpu', batchSize: 16 });
    const token = 'a-test-token-of-some-length';
    const server = await startServer({ detector, port: 0, processMetrics: false, token, bodyLimit: 4096 });
    try {
      const rows = jsonRows(stream, 0, 20);
      let r = await postJson(`${server.url}api/series/x/samples`, rows);
      assert.equal(r.status, 401);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer');
      r = await postJson(`${server.url}api/series/x/samples`, rows, { authorization: 'Bearer wrong-token-of-the-same-size' });
      assert.equal(r.status, 401);
      for (const route of ['api/versions/rollback', 'api/questions/answer', 'api/eval/threshold']) {
        assert.equal((await postJson(`${server.url}${route}`, {})).status, 401, route);
      }
      r = await postJson(`${server.url}api/series/x/samples`, rows, { authorization: `Bearer ${token}` });
      assert.equal(r.status, 200);
      assert.equal((await fetch(`${server.url}metrics`)).status, 200);
      assert.equal((await fetch(server.url)).status, 200);
      r = await postJson(`${server.url}api/series/x/samples`, jsonRows(stream, 20, 400), { authorization: `Bearer ${token}` });
      assert.equal(r.status, 413);
      assert.equal(detector.stats().framesPushed, 20);
    } finally {
      await server.close();
      await detector.close();
    }
  });

  it("mounts on a service's own fastify under a prefix without touching its other routes", async () => {
    const detector = await Detector.load(dir, { provider: 'cpu', batchSize: 16 });
    const app = Fastify();
    app.post('/own', async (req) => ({ got: req.body }));
    const mounted = await mountSeismo(app, { detector, prefix: '/seismo', processMetrics: false });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      assert.equal((await fetch(`${base}/seismo/healthz`)).status, 200);
      assert.match(await (await fetch(`${base}/seismo/`)).text(), /<title>seismo<\/title>/);
      assert.equal((await postJson(`${base}/seismo/api/series/m/samples`, jsonRows(stream, 0, 10))).status, 200);
      assert.deepEqual(await (await postJson(`${base}/own`, { a: 1 })).json(), { got: { a: 1 } });
      // seismo's CSV parser stays inside its prefix.
      assert.equal((await post(`${base}/own`, 'a,b', 'text/csv')).status, 415);
      assert.equal((await fetch(`${base}/healthz`)).status, 404);
    } finally {
      await mounted.close();
      await app.close();
      await detector.close();
    }
  });

  it('saves the evaluation view threshold into model.json like seismo calibrate, and the live detector uses it', async () => {
    const model = copyDir(dir);
    const detector = await Detector.load(model, { provider: 'cpu' });
    const work = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-serve-eval-'));
    const scores = ['timestamp,score'];
    const labels = ['timestamp,label'];
    for (let i = 0; i < 200; i++) {
      const y = i % 10 === 0 ? 1 : 0;
      scores.push(`${i},${y ? 2 + (i % 7) / 10 : (i % 13) / 10}`);
      labels.push(`${i},${y}`);
    }
    fs.writeFileSync(path.join(work, 'scores.csv'), scores.join('\n') + '\n');
    fs.writeFileSync(path.join(work, 'labels.csv'), labels.join('\n') + '\n');
    const server = await startServer({ detector, port: 0, processMetrics: false, evaluation: { scores: path.join(work, 'scores.csv'), labels: path.join(work, 'labels.csv') } });
    try {
      const ev = (await (await fetch(`${server.url}api/eval`)).json()) as { points: number; positives: number; scores: number[]; labels: number[]; canSave: boolean };
      assert.equal(ev.points, 200);
      assert.equal(ev.positives, 20);
      assert.ok(ev.canSave);
      assert.ok(ev.scores.every((s, i) => i === 0 || s <= ev.scores[i - 1]!));
      let r = await postJson(`${server.url}api/eval/threshold`, { threshold: 1.5 });
      assert.equal(r.status, 200, await r.clone().text());
      assert.equal(((await r.json()) as { appliedToLive: boolean }).appliedToLive, true);
      const manifest = JSON.parse(fs.readFileSync(path.join(model, 'model.json'), 'utf8')) as { thresholds: { global: { value: number; method: string }; channels: unknown } };
      assert.equal(manifest.thresholds.global.value, 1.5);
      assert.equal(manifest.thresholds.global.method, 'eval-view');
      assert.equal(manifest.thresholds.channels, null);
      assert.equal(detector.threshold, 1.5);
      r = await postJson(`${server.url}api/eval/threshold`, { threshold: 'high' });
      assert.equal(r.status, 400);
    } finally {
      await server.close();
      await detector.close();
    }
  });
});
