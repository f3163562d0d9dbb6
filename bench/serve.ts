/**
 * Ingestion over HTTP (`seismo serve` on loopback) against in-process `detector.write()`, in one
 * run, so that the ratio is fair on a shared machine:
 * - `inProcess`: samples/s through `await detector.write(series, timestamps, frames)`;
 * - `binary` / `json`: samples/s POSTed to `/api/series/:id/samples` by HTTP clients running in a
 *   worker thread (their own event loop, like another process), as binary float32 batches and as
 *   JSON rows;
 * each from the first sample sent to the last window scored (the tail flushed), with several
 * series written concurrently; rounds alternate between the three and each figure is the median.
 * - `latency`: p50/p99 milliseconds from a POST leaving the client to the `batch` event that holds
 *   the window ending at its last sample, one request at a time (and the same for `write()`).
 *
 *   npx tsx bench/serve.ts [--model <dir>] [--seconds 2] [--rounds 3] [--chunk 1000] [--clients 8] [--stride <n>]
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Worker } from 'node:worker_threads';
import { trainReferenceModel } from './rounds.js';
import { Detector, type ScoredBatch } from '../src/detector/index.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { startServer } from '../src/serve/server.js';
import { median, quantile } from '../src/stats/quantile.js';
import { scriptFlags } from './script-flags.js';

export interface ServeBenchOptions {
  /** Model directory; default: the reference LSTM-AE (window 64, 8 channels, encoder 32, decoder 16), trained 1 epoch. */
  model?: string;
  /** Seconds of sending per round and mode. Default 2. */
  seconds?: number;
  /** Rounds (each runs every mode once). Default 3. */
  rounds?: number;
  /** Samples per request (and per `write()`). Default 1000. */
  chunk?: number;
  /** Series written concurrently (one client loop each). Default 8. */
  clients?: number;
  /** Frames between window starts. Default: the model's stride. */
  stride?: number;
  /** Frames each series' ring holds (the detector's `capacity`). Default: the detector's default. */
  capacity?: number;
  /** Requests in the latency phase. Default 300. */
  latencyRequests?: number;
  /** Samples per request in the latency phase. Default: one full inference batch (batch size x stride), so that no request waits for the linger flush. */
  latencyChunk?: number;
  log?: (line: string) => void;
}

export interface ServeBenchResult {
  model: { dir: string | null; kind: string; window: number; channels: number; stride: number; capacity: number };
  chunk: number;
  clients: number;
  samplesPerSec: { inProcess: number; binary: number; json: number };
  /** binary / inProcess and json / inProcess, from the medians. */
  ratio: { binary: number; json: number };
  /** Windows scored per second in the in-process mode (inference bounds every mode). */
  windowsPerSecInProcess: number;
  latencyMs: { http: { p50: number; p99: number }; inProcess: { p50: number; p99: number }; requests: number; chunk: number };
  /** Requests answered 429 (each retried after Retry-After). */
  throttled: number;
  rounds: { inProcess: number[]; binary: number[]; json: number[] };
  machine: { cpus: number; cpuModel: string; node: string };
}

/** The HTTP client, as plain JavaScript evaluated in a worker thread. */
const CLIENT = `
const { parentPort, workerData } = require('node:worker_threads');
const { url, format, seconds, chunk, channels, frames, series, startTime } = workerData;
const total = frames.length / channels;
function body(t0, row) {
  if (format === 'binary') {
    const buf = Buffer.allocUnsafe(chunk * (8 + 4 * channels));
    for (let i = 0; i < chunk; i++) buf.writeDoubleLE(t0 + i, 8 * i);
    Buffer.from(frames.buffer, frames.byteOffset + row * channels * 4, chunk * channels * 4).copy(buf, 8 * chunk);
    return buf;
  }
  const rows = new Array(chunk);
  for (let i = 0; i < chunk; i++) {
    const r = (row + i) * channels;
    const v = [t0 + i];
    for (let c = 0; c < channels; c++) v.push(frames[r + c]);
    rows[i] = v;
  }
  return JSON.stringify(rows);
}
(async () => {
  const type = format === 'binary' ? 'application/octet-stream' : 'application/json';
  let sent = 0;
  let throttled = 0;
  const t0 = performance.now();
  await Promise.all(series.map(async (id) => {
    let t = startTime;
    let row = 0;
    let next = body(t, row);
    while (performance.now() - t0 < seconds * 1000) {
      const res = await fetch(url + 'api/series/' + id + '/samples', { method: 'POST', headers: { 'content-type': type }, body: next });
      if (res.status === 429) {
        throttled++;
        await res.arrayBuffer();
        await new Promise((z) => setTimeout(z, 1000 * Number(res.headers.get('retry-after') || 1)));
        continue;
      }
      if (res.status !== 200) throw new Error('HTTP ' + res.status + ': ' + (await res.text()));
      await res.arrayBuffer();
      sent += chunk;
      t += chunk;
      row = row + 2 * chunk > total ? 0 : row + chunk;
      next = body(t, row);
    }
  }));
  parentPort.postMessage({ sent, throttled, seconds: (performance.now() - t0) / 1000 });
})().catch((err) => parentPort.postMessage({ error: String(err && err.stack || err) }));
`;

export async function runServeBench(options: ServeBenchOptions = {}): Promise<ServeBenchResult> {
  const log = options.log ?? (() => {});
  const seconds = options.seconds ?? 2;
  const rounds = options.rounds ?? 3;
  const chunk = options.chunk ?? 1000;
  const clients = options.clients ?? 8;
  let dir = options.model;
  let tmp: string | undefined;
  if (!dir) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-bench-serve-'));
    dir = tmp;
    await trainReferenceModel(dir, log);
  }
  const maxSeries = clients * (rounds + 1) * 3 + 8;
  const detector = await Detector.load(dir, { provider: 'cpu', stride: options.stride, maxSeries, capacity: options.capacity });
  const server = await startServer({ detector, port: 0, processMetrics: false });
  try {
    const C = detector.channels.length;
    const stream = generateSeries({ length: 1 << 15, channels: C, seed: 2, anomalies: [] }).table.frames;
    const total = stream.length / C;
    let nextSeries = 0;
    const newSeries = (tag: string): string[] => Array.from({ length: clients }, () => `${tag}-${nextSeries++}`);

    const inProcessRound = async (): Promise<number> => {
      const ids = newSeries('local');
      const before = detector.stats().framesPushed;
      const t0 = performance.now();
      await Promise.all(
        ids.map(async (id) => {
          const times = new Float64Array(chunk);
          let t = 0;
          let row = 0;
          while (performance.now() - t0 < seconds * 1000) {
            for (let i = 0; i < chunk; i++) times[i] = t++;
            await detector.write(id, times, stream.subarray(row * C, (row + chunk) * C));
            row = row + 2 * chunk > total ? 0 : row + chunk;
          }
        }),
      );
      await detector.flush();
      return (detector.stats().framesPushed - before) / ((performance.now() - t0) / 1000);
    };

    let throttled = 0;
    const httpRound = async (format: 'binary' | 'json'): Promise<number> => {
      const ids = newSeries(format);
      const t0 = performance.now();
      const out = await new Promise<{ sent: number; throttled: number; error?: string }>((resolve, reject) => {
        const w = new Worker(CLIENT, { eval: true, workerData: { url: server.url, format, seconds, chunk, channels: C, frames: stream, series: ids, startTime: 0 } });
        w.once('message', (m) => {
          void w.terminate();
          resolve(m as { sent: number; throttled: number });
        });
        w.once('error', reject);
      });
      if (out.error) throw new Error(out.error);
      await detector.flush();
      throttled += out.throttled;
      return out.sent / ((performance.now() - t0) / 1000);
    };

    log(`warming up (${C} channels, window ${detector.window}, stride ${detector.stride}, ${clients} series at a time, ${chunk} samples a request)`);
    const windowsBefore = detector.stats().windowsScored;
    await inProcessRound();
    await httpRound('binary');
    const rates = { inProcess: [] as number[], binary: [] as number[], json: [] as number[] };
    let windowsInProcess = 0;
    let secondsInProcess = 0;
    void windowsBefore;
    for (let r = 0; r < rounds; r++) {
      const w0 = detector.stats().windowsScored;
      const s0 = performance.now();
      rates.inProcess.push(await inProcessRound());
      windowsInProcess += detector.stats().windowsScored - w0;
      secondsInProcess += (performance.now() - s0) / 1000;
      rates.binary.push(await httpRound('binary'));
      rates.json.push(await httpRound('json'));
      log(`round ${r + 1}/${rounds}: in-process ${rates.inProcess[r]!.toFixed(0)}, binary ${rates.binary[r]!.toFixed(0)}, json ${rates.json[r]!.toFixed(0)} samples/s`);
    }

    // Latency: one request at a time; the window ending at its last sample closes the clock.
    const latencyRequests = options.latencyRequests ?? 300;
    const latencyChunk = options.latencyChunk ?? detector.batchSize * detector.stride;
    let waiting: { id: string; last: number; done: () => void } | undefined;
    const off = detector.on('batch', (b: ScoredBatch) => {
      if (!waiting) return;
      for (let i = 0; i < b.size; i++) {
        if (b.seriesIds[i] === waiting.id && b.timestamps[i]! >= waiting.last) {
          const w = waiting;
          waiting = undefined;
          w.done();
          return;
        }
      }
    });
    const measure = async (id: string, send: (times: Float64Array, frames: Float32Array) => Promise<void>): Promise<number[]> => {
      const out: number[] = [];
      let t = 0;
      for (let k = 0; k < latencyRequests; k++) {
        const times = Float64Array.from({ length: latencyChunk }, () => t++);
        const row = (k * latencyChunk) % (total - latencyChunk);
        const frames = stream.slice(row * C, (row + latencyChunk) * C);
        const scored = new Promise<void>((resolve) => (waiting = { id, last: times[latencyChunk - 1]!, done: resolve }));
        const t0 = performance.now();
        await send(times, frames);
        await scored;
        if (k >= 10) out.push(performance.now() - t0); // the first few warm the series up
      }
      return out;
    };
    const { encodeBinaryBatch } = await import('../src/serve/ingest.js');
    const httpLatency = await measure('latency-http', async (times, frames) => {
      const res = await fetch(`${server.url}api/series/latency-http/samples`, { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: encodeBinaryBatch(times, frames) });
      if (res.status !== 200) throw new Error(`HTTP ${res.status}: ${await res.text()}`);
      await res.arrayBuffer();
    });
    // In process, a caller who wants the scores now flushes (the server's linger flush does that for HTTP).
    const localLatency = await measure('latency-local', async (times, frames) => {
      await detector.write('latency-local', times, frames);
      await detector.flush();
    });
    off();
    const pct = (xs: number[]) => ({ p50: quantile(Float64Array.from(xs), 0.5), p99: quantile(Float64Array.from(xs), 0.99) });

    const med = { inProcess: median(rates.inProcess), binary: median(rates.binary), json: median(rates.json) };
    const cpus = os.cpus();
    return {
      model: { dir: options.model ?? null, kind: detector.manifest.kind, window: detector.window, channels: C, stride: detector.stride, capacity: detector.capacity },
      chunk,
      clients,
      samplesPerSec: med,
      ratio: { binary: med.binary / med.inProcess, json: med.json / med.inProcess },
      windowsPerSecInProcess: windowsInProcess / secondsInProcess,
      latencyMs: { http: pct(httpLatency), inProcess: pct(localLatency), requests: httpLatency.length, chunk: latencyChunk },
      throttled,
      rounds: rates,
      machine: { cpus: cpus.length, cpuModel: cpus[0]?.model ?? 'unknown', node: process.version },
    };
  } finally {
    await server.close();
    await detector.close();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const flags = scriptFlags({ strings: ['model'], numbers: ['seconds', 'rounds', 'chunk', 'clients', 'stride', 'capacity'] });
  runServeBench({
    ...flags,
    log: (line) => process.stderr.write(`${line}\n`),
  })
    .then((r) => process.stdout.write(`${JSON.stringify(r, null, 2)}\n`))
    .catch((err: unknown) => {
      process.stderr.write(`${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    });
}
