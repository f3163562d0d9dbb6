/**
 * Latency of the whole pipeline (`seismo bench --latency`): from the `write()` of the sample that
 * completes a window to the `batch` event that holds its score, at 10% and 90% of the pipeline's
 * saturation rate, with and without max-latency batching (`DetectorOptions.maxLatencyMs`).
 *
 * Saturation is measured first in the same run (windows/s with writes as fast as the pipeline
 * takes them). Then samples of one series arrive paced at a fraction of it: every millisecond or
 * so (a timer tick, as packets reach an ingestion service), the samples due by then go in one
 * `write()`, and each sample's write time is kept. Rounds alternate between the levels and
 * policies; the percentiles are over every window of every round of a setting.
 */
import os from 'node:os';
import { Detector } from '../src/detector/index.js';
import type { ProviderRequest } from '../src/infer/providers.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { median, quantileSorted } from '../src/stats/quantile.js';
import { withReferenceModel, writeChunks } from './rounds.js';

export interface LatencyOptions {
  /** Model directory; default the reference LSTM-AE of `seismo bench`. */
  model?: string;
  /** Windows per inference call. Default 64. */
  batchSize?: number;
  /** The max-latency policy compared against full batches only, ms. Default 5. */
  maxLatencyMs?: number;
  /** Load levels as fractions of saturation. Default [0.1, 0.9]. */
  levels?: number[];
  /** Alternating rounds. Default 3. */
  rounds?: number;
  /** Seconds per round and setting. Default 2. */
  seconds?: number;
  provider?: ProviderRequest;
  log?: (line: string) => void;
}

export interface LatencySetting {
  /** Fraction of saturation. */
  level: number;
  /** Offered rate, windows/s (= samples/s at stride 1). */
  rate: number;
  /** The policy: undefined = partial batches only on flush (the default). */
  maxLatencyMs: number | null;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxMs: number;
  /** Windows measured. */
  windows: number;
  /** Mean windows per inference call. */
  meanBatch: number;
}

export interface LatencyResult {
  model: { kind: string; window: number; channels: number };
  batchSize: number;
  saturationWindowsPerSec: number;
  saturationRounds: number[];
  settings: LatencySetting[];
  machine: { cpus: number; cpuModel: string; node: string; loadAvg1m: number };
}

export async function runLatency(options: LatencyOptions = {}): Promise<LatencyResult> {
  const log = options.log ?? (() => undefined);
  const batch = options.batchSize ?? 64;
  const maxLatencyMs = options.maxLatencyMs ?? 5;
  const levels = options.levels ?? [0.1, 0.9];
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 2;
  return withReferenceModel(options.model, log, async (dir) => {
    const manifest = readModelDir(dir).manifest;
    const W = manifest.window;
    const C = manifest.channels.length;
    const total = 1 << 16;
    const stream = generateSeries({ length: total, channels: C, seed: 2, anomalies: [] }).table.frames;

    // Saturation: chunks of 64 samples as fast as the pipeline takes them (as `seismo bench`).
    const saturationRounds: number[] = [];
    {
      const detector = await Detector.load(dir, { provider: options.provider, batchSize: batch, stride: 1 });
      try {
        const cursor = { row: 0, clock: 0 };
        for (let r = 0; r <= rounds; r++) {
          const rate = await writeChunks(detector, 's', stream, C, seconds, cursor);
          if (r > 0) saturationRounds.push(rate); // round 0 warms up
          log(`saturation round ${r}${r === 0 ? ' (warm-up)' : ''}: ${rate.toFixed(0)} windows/s`);
        }
      } finally {
        await detector.close();
      }
    }
    const saturation = median(saturationRounds);

    const policies: (number | null)[] = [null, maxLatencyMs];
    const pooled = new Map<string, { latencies: number[]; windows: number; batches: number }>();
    const key = (level: number, policy: number | null): string => `${level}/${policy}`;
    for (let r = 0; r < rounds; r++) {
      for (const level of levels) {
        for (const policy of policies) {
          const rate = level * saturation;
          const seg = await pacedSegment(dir, { batch, policy, rate, seconds, W, C, stream, provider: options.provider });
          const acc = pooled.get(key(level, policy)) ?? { latencies: [], windows: 0, batches: 0 };
          for (const v of seg.latencies) acc.latencies.push(v);
          acc.windows += seg.latencies.length;
          acc.batches += seg.batches;
          pooled.set(key(level, policy), acc);
          const s = Float64Array.from(seg.latencies).sort();
          log(`round ${r + 1}/${rounds}: ${(level * 100).toFixed(0)}% of saturation (${rate.toFixed(0)} windows/s), ${policy === null ? 'full batches only' : `maxLatencyMs ${policy}`}: p50 ${quantileSorted(s, 0.5).toFixed(2)} ms, p99 ${quantileSorted(s, 0.99).toFixed(2)} ms`);
        }
      }
    }
    const settings: LatencySetting[] = [];
    for (const level of levels) {
      for (const policy of policies) {
        const acc = pooled.get(key(level, policy))!;
        const s = Float64Array.from(acc.latencies).sort();
        settings.push({
          level,
          rate: level * saturation,
          maxLatencyMs: policy,
          p50Ms: quantileSorted(s, 0.5),
          p99Ms: quantileSorted(s, 0.99),
          p999Ms: quantileSorted(s, 0.999),
          maxMs: s[s.length - 1]!,
          windows: acc.windows,
          meanBatch: acc.windows / acc.batches,
        });
      }
    }
    return {
      model: { kind: manifest.kind, window: W, channels: C },
      batchSize: batch,
      saturationWindowsPerSec: saturation,
      saturationRounds,
      settings,
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAvg1m: os.loadavg()[0]! },
    };
  });
}

interface Segment {
  batch: number;
  policy: number | null;
  /** Samples (= windows at stride 1) per second. */
  rate: number;
  seconds: number;
  W: number;
  C: number;
  stream: Float32Array;
  provider?: ProviderRequest;
}

/** One paced run on a fresh detector: the latency of every window, ms. */
async function pacedSegment(dir: string, o: Segment): Promise<{ latencies: number[]; batches: number }> {
  const detector = await Detector.load(dir, { provider: o.provider, batchSize: o.batch, stride: 1, ...(o.policy === null ? {} : { maxLatencyMs: o.policy }) });
  const n = Math.ceil(o.rate * o.seconds) + o.W;
  const writtenAt = new Float64Array(n);
  const latencies: number[] = [];
  let batches = 0;
  detector.on('batch', (b) => {
    const now = performance.now();
    batches++;
    for (let i = 0; i < b.size; i++) latencies.push(now - writtenAt[b.starts[i]! + o.W - 1]!);
  });
  try {
    const total = o.stream.length / o.C;
    const times = new Float64Array(n);
    for (let i = 0; i < n; i++) times[i] = i;
    // The first window's frames go at once (no window completes before them), then the pacing.
    let sent = o.W - 1;
    writtenAt.fill(performance.now(), 0, sent);
    await detector.write('s', times.subarray(0, sent), o.stream.subarray(0, sent * o.C));
    const t0 = performance.now();
    while (sent < n) {
      const due = Math.min(n, o.W - 1 + Math.floor(((performance.now() - t0) / 1000) * o.rate));
      if (due > sent) {
        const at = performance.now();
        writtenAt.fill(at, sent, due);
        const from = sent % total;
        const count = Math.min(due - sent, total - from);
        await detector.write('s', times.subarray(sent, sent + count), o.stream.subarray(from * o.C, (from + count) * o.C));
        sent += count;
        continue;
      }
      await new Promise((resolve) => setTimeout(resolve, 1));
    }
    await detector.flush();
  } finally {
    await detector.close();
  }
  return { latencies, batches };
}
