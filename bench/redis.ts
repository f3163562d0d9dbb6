/**
 * `seismo bench redis`: the Redis Streams scale-out end to end on this machine. One run measures,
 * on the same data and model: samples/s of one Detector in this process; samples/s through Redis
 * with 1 and with 2 `seismo consume` processes (first XADD to the last result entry); the
 * latency from XADD to the result entry (server clock: both stream ids carry their ms), at a
 * paced rate below capacity; and what a partition costs in memory (Redis checkpoint bytes, and
 * the consumer's per-series state as sized by its detector).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { partitionStream } from '../src/connect/partition.js';
import { RedisProducer } from '../src/connect/producer.js';
import { Detector } from '../src/detector/index.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { PACKAGE_ROOT } from '../src/native.js';
import { trainToDir } from '../training/train-to-dir.js';
import { RedisServer } from './redis-server.js';

export interface RedisBenchOptions {
  /** Model directory. Default: the reference LSTM-AE (window 64, 8 channels), trained for 1 epoch. */
  model?: string;
  /** Series in the workload. Default 16. */
  series?: number;
  /** Samples per series. Default 12000. */
  length?: number;
  /** Samples per input entry. Default 500. */
  entrySize?: number;
  /** Partition streams. Default 8. */
  partitions?: number;
  /** Seconds of the paced latency run. Default 4. */
  latencySeconds?: number;
  log?: (line: string) => void;
}

export interface RedisBenchResult {
  model: { kind: string; window: number; stride: number; channels: number };
  workload: { series: number; samples: number; entrySize: number; partitions: number };
  inProcessSamplesPerSec: number;
  oneConsumerSamplesPerSec: number;
  twoConsumersSamplesPerSec: number;
  /** two / one. */
  scaling: number;
  latency: { rateSamplesPerSec: number; windows: number; p50Ms: number; p99Ms: number };
  memory: { checkpointBytesPerPartition: number; checkpointBytesPerSeries: number; detectorBytesPerSeries: number; seriesPerPartition: number };
  machine: { cpus: number; loadAvg1m: number };
}

interface Data {
  ids: string[];
  time: Float64Array;
  frames: Float32Array[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function percentile(sorted: number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

function idMs(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

export async function runRedisBench(options: RedisBenchOptions = {}): Promise<RedisBenchResult> {
  const log = options.log ?? (() => {});
  const S = options.series ?? 16;
  const length = options.length ?? 12000;
  const entrySize = options.entrySize ?? 500;
  const partitions = options.partitions ?? 8;
  let dir = options.model;
  let tmp: string | undefined;
  if (!dir) {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-bench-redis-'));
    dir = tmp;
    log('training the reference LSTM-AE (window 64, 8 channels, encoder 32, decoder 16) for 1 epoch: its weights only need to exist');
    const g = generateSeries({ length: 1024, channels: 8, seed: 1, anomalies: [] });
    await trainToDir('lstm-ae', g.table.frames, g.table.channels, dir, { config: { window: 64, encoderUnits: [32], decoderUnits: [16], epochs: 1, validationSplit: 0 }, stride: 4 });
  }
  const model = readModelDir(dir);
  const W = model.manifest.window;
  const stride = model.manifest.stride;
  const C = model.manifest.channels.length;
  const data: Data = { ids: [], time: Float64Array.from({ length }, (_, i) => 1_700_000_000_000 + i * 1000), frames: [] };
  for (let s = 0; s < S; s++) {
    data.ids.push(`bench-${s}`);
    data.frames.push(generateSeries({ length, channels: C, seed: 10 + s, anomalies: [] }).table.frames);
  }
  const windowsPerSeries = length >= W ? Math.floor((length - W) / stride) + 1 : 0;
  const totalWindows = windowsPerSeries * S;
  const samples = length * S;
  const server = await RedisServer.start();
  const redis = new Redis(server.url);
  const children: ChildProcess[] = [];
  try {
    // 1. In process: the same entries straight into one Detector.
    const detector = await Detector.load(dir, { provider: 'cpu', maxSeries: S });
    let t0 = performance.now();
    for (let from = 0; from < length; from += entrySize) {
      const to = Math.min(length, from + entrySize);
      for (let s = 0; s < S; s++) await detector.write(data.ids[s]!, data.time.subarray(from, to), data.frames[s]!.subarray(from * C, to * C));
    }
    await detector.flush();
    const inProcess = samples / ((performance.now() - t0) / 1000);
    const slotBytes = 2 * detector.capacity * C * 4 + detector.capacity * 8;
    await detector.close();
    log(`in process: ${(inProcess / 1e3).toFixed(1)}k samples/s`);

    const consume = (stream: string, name: string): ChildProcess => {
      const args = [path.join(PACKAGE_ROOT, 'bin', 'seismo.js'), 'consume', '--redis', server.url, '--stream', stream, '--group', 'g', '--model', dir!, '--out-stream', `${stream}:out`,
        '--partitions', String(partitions), '--name', name, '--lease-ms', '3000', '--provider', 'cpu', '--quiet', '--count', '8'];
      const child = spawn(process.execPath, args, { stdio: 'ignore' });
      children.push(child);
      return child;
    };
    const owners = async (stream: string): Promise<(string | null)[]> =>
      (await redis.mget(...Array.from({ length: partitions }, (_, p) => `${stream}:g:lease:${p}`))).map((v) => (v === null ? null : v.slice(0, v.lastIndexOf('/'))));
    const ready = async (stream: string, names: string[]): Promise<void> => {
      const deadline = Date.now() + 120_000;
      for (;;) {
        const o = await owners(stream);
        if (o.every((x) => x !== null) && names.every((n) => o.includes(n))) return;
        if (Date.now() > deadline) throw new Error(`consumers ${names.join(', ')} did not take the partitions of ${stream} within 120 s`);
        await sleep(100);
      }
    };
    const producerFor = (stream: string): RedisProducer => new RedisProducer({ client: redis, stream, partitions, channels: C });
    const waitOutput = async (stream: string, n: number): Promise<void> => {
      while ((await redis.xlen(`${stream}:out`)) < n) await sleep(20);
    };
    const stop = async (list: ChildProcess[]): Promise<void> => {
      await Promise.all(list.map((c) => new Promise((r) => (c.exitCode !== null ? r(null) : (c.once('exit', r), c.kill('SIGTERM'))))));
    };

    // 2. Through Redis with 1 and 2 consumers: consumers up and owning every partition, then all
    // entries as fast as a pipelined producer goes; the clock runs from the first XADD to the last result.
    const throughput = async (stream: string, n: number): Promise<number> => {
      const names = Array.from({ length: n }, (_, i) => `c${i}`);
      const list = names.map((name) => consume(stream, name));
      await ready(stream, names);
      const producer = producerFor(stream);
      t0 = performance.now();
      for (let from = 0; from < length; from += entrySize) {
        const to = Math.min(length, from + entrySize);
        await producer.addMany(data.ids.map((id, s) => ({ seriesId: id, timestamps: data.time.subarray(from, to), frames: data.frames[s]!.subarray(from * C, to * C) })));
      }
      await waitOutput(stream, totalWindows);
      const rate = samples / ((performance.now() - t0) / 1000);
      await stop(list);
      log(`${n} consumer${n > 1 ? 's' : ''}: ${(rate / 1e3).toFixed(1)}k samples/s`);
      return rate;
    };
    const one = await throughput('bench1', 1);
    const two = await throughput('bench2', 2);

    // 3. Latency at about a third of one consumer's capacity, one entry per series at a time.
    const stream = 'latency';
    const list = [consume(stream, 'c0')];
    await ready(stream, ['c0']);
    const producer = producerFor(stream);
    const rate = one / 3;
    const seconds = options.latencySeconds ?? 4;
    const step = entrySize / 5;
    const rounds = Math.min(Math.floor(length / step), Math.max(1, Math.floor((seconds * rate) / (step * S))));
    const start = performance.now();
    let sent = 0;
    for (let r = 0; r < rounds; r++) {
      const from = r * step;
      await producer.addMany(data.ids.map((id, s) => ({ seriesId: id, timestamps: data.time.subarray(from, from + step), frames: data.frames[s]!.subarray(from * C, (from + step) * C) })));
      sent += step * S;
      const due = start + (sent / rate) * 1000;
      const now = performance.now();
      if (due > now) await sleep(due - now);
    }
    const expected = S * (Math.floor((rounds * step - W) / stride) + 1);
    await waitOutput(stream, expected);
    const out = (await redis.xrange(`${stream}:out`, '-', '+')) as [string, string[]][];
    const lat = out.map(([id, f]) => idMs(id) - idMs(f[1]!)).sort((a, b) => a - b);
    await stop(list);
    log(`latency at ${(rate / 1e3).toFixed(1)}k samples/s: p50 ${percentile(lat, 0.5)} ms, p99 ${percentile(lat, 0.99)} ms over ${lat.length} windows`);

    // 4. Memory: checkpoints in Redis (per partition of the 2-consumer run) and the consumer's per-series state.
    let ckptBytes = 0;
    for (let p = 0; p < partitions; p++) ckptBytes += Number((await redis.call('MEMORY', 'USAGE', `bench2:g:ckpt:${p}`)) ?? 0);
    void partitionStream;
    const tailBytes = W * C * 4 + W * 8;
    return {
      model: { kind: model.manifest.kind, window: W, stride, channels: C },
      workload: { series: S, samples, entrySize, partitions },
      inProcessSamplesPerSec: inProcess,
      oneConsumerSamplesPerSec: one,
      twoConsumersSamplesPerSec: two,
      scaling: two / one,
      latency: { rateSamplesPerSec: rate, windows: lat.length, p50Ms: percentile(lat, 0.5), p99Ms: percentile(lat, 0.99) },
      memory: { checkpointBytesPerPartition: ckptBytes / partitions, checkpointBytesPerSeries: ckptBytes / S, detectorBytesPerSeries: slotBytes + tailBytes, seriesPerPartition: S / partitions },
      machine: { cpus: os.cpus().length, loadAvg1m: os.loadavg()[0]! },
    };
  } finally {
    for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
    redis.disconnect();
    await server.stop();
    if (tmp) fs.rmSync(tmp, { recursive: true, force: true });
  }
}
