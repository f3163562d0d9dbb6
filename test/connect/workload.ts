// Shared by the connector tests and the bench: series cut into entries, the in-process reference
// scores of the same data, and a check of an output stream against them.
import assert from 'node:assert/strict';
import type { Redis } from 'ioredis';
import { Detector } from '../../src/detector/index.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { parseResult, type WindowResult } from '../../src/connect/wire.js';
import type { RedisProducer } from '../../src/connect/producer.js';

export interface WorkSeries {
  id: string;
  time: Float64Array;
  frames: Float32Array;
}

/** One entry to produce: rows [from, to) of a series. */
export interface WorkEntry {
  series: WorkSeries;
  from: number;
  to: number;
}

export interface Workload {
  channels: number;
  series: WorkSeries[];
  /** Entries interleaved across series, each series in time order. */
  entries: WorkEntry[];
}

export function makeWorkload(options: { series: number; length: number; entrySize: number; channels: number; seed?: number }): Workload {
  const series: WorkSeries[] = [];
  for (let s = 0; s < options.series; s++) {
    const g = generateSeries({ length: options.length, channels: options.channels, seed: (options.seed ?? 1) * 100 + s, periods: [48, 12], anomalies: s % 2 === 0 ? ['spike'] : [] });
    // A non-ASCII id on purpose: partitions hash the UTF-8 bytes.
    const id = s === 1 ? `датчик-${s}` : `host-${s}`;
    const time = Float64Array.from({ length: options.length }, (_, i) => 1_700_000_000_000 + i * 1000);
    series.push({ id, time, frames: g.table.frames });
  }
  const entries: WorkEntry[] = [];
  for (let from = 0; from < options.length; from += options.entrySize) {
    for (const s of series) entries.push({ series: s, from, to: Math.min(options.length, from + options.entrySize) });
  }
  return { channels: options.channels, series, entries };
}

/** Where each produced entry came from (`<partition stream> <entry id>` -> series and timestamp range; ids are unique per stream only). */
export type Produced = Map<string, { seriesId: string; t0: number; t1: number }>;

export async function produce(producer: RedisProducer, work: Workload, entries: WorkEntry[], produced: Produced, chunk = 64): Promise<void> {
  const C = work.channels;
  for (let i = 0; i < entries.length; i += chunk) {
    const part = entries.slice(i, i + chunk);
    const ids = await producer.addMany(part.map((e) => ({ seriesId: e.series.id, timestamps: e.series.time.subarray(e.from, e.to), frames: e.series.frames.subarray(e.from * C, e.to * C) })));
    ids.forEach((id, k) => produced.set(`${producer.streamOf(part[k]!.series.id)} ${id}`, { seriesId: part[k]!.series.id, t0: part[k]!.series.time[part[k]!.from]!, t1: part[k]!.series.time[part[k]!.to - 1]! }));
  }
}

export interface Expected {
  score: number;
  threshold: number;
  anomaly: boolean;
}

/** Scores of every window of the workload by one Detector in this process, keyed `series@t`. */
export async function referenceScores(modelDir: string, work: Workload, batchSize = 64): Promise<Map<string, Expected>> {
  const out = new Map<string, Expected>();
  const detector = await Detector.load(modelDir, { provider: 'cpu', batchSize, maxSeries: work.series.length });
  detector.on('batch', (b) => {
    for (let i = 0; i < b.size; i++) out.set(`${b.seriesIds[i]}@${b.timestamps[i]}`, { score: b.scores[i]!, threshold: b.thresholds[i]!, anomaly: b.anomalies[i] === 1 });
  });
  try {
    const C = work.channels;
    for (const e of work.entries) await detector.write(e.series.id, e.series.time.subarray(e.from, e.to), e.series.frames.subarray(e.from * C, e.to * C));
    await detector.flush();
  } finally {
    await detector.close();
  }
  return out;
}

export async function readStream(redis: Redis, stream: string): Promise<{ id: string; fields: string[] }[]> {
  const out: { id: string; fields: string[] }[] = [];
  let start = '-';
  for (;;) {
    const page = (await redis.xrange(stream, start, '+', 'COUNT', 5000)) as [string, string[]][];
    for (const [id, fields] of page) out.push({ id, fields });
    if (page.length < 5000) return out;
    start = `(${page[page.length - 1]![0]}`;
  }
}

export async function readResults(redis: Redis, stream: string): Promise<WindowResult[]> {
  return (await readStream(redis, stream)).map((e) => parseResult(e.fields));
}

/**
 * The bar: every expected window exactly once, with the reference score, threshold and decision,
 * and a source entry of its own series whose time range holds the window's last timestamp.
 */
export function checkExactlyOnce(results: WindowResult[], expected: Map<string, Expected>, produced: Produced, streamOf: (seriesId: string) => string): { windows: number; duplicated: number; missing: number } {
  const seen = new Map<string, number>();
  for (const r of results) {
    const key = `${r.seriesId}@${r.timestamp}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    const want = expected.get(key);
    assert.ok(want, `result for a window the reference never scored: ${key}`);
    assert.equal(r.score, want.score, `score of ${key}`);
    assert.equal(r.threshold, want.threshold, `threshold of ${key}`);
    assert.equal(r.anomaly, want.anomaly, `decision of ${key}`);
    const src = produced.get(`${streamOf(r.seriesId)} ${r.src}`);
    assert.ok(src, `result ${key} names source ${r.src}, which was never produced`);
    assert.equal(src.seriesId, r.seriesId, `source of ${key} is an entry of another series`);
    assert.ok(r.timestamp >= src.t0 && r.timestamp <= src.t1, `source ${r.src} of ${key} does not hold its last frame`);
  }
  const duplicated = [...seen.values()].filter((n) => n > 1).length;
  const missing = [...expected.keys()].filter((k) => !seen.has(k)).length;
  return { windows: seen.size, duplicated, missing };
}

/** Polls `check` until it returns true, or fails after `ms`. */
export async function waitFor(what: string, ms: number, check: () => Promise<boolean> | boolean, every = 50): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    await new Promise((r) => setTimeout(r, every));
  }
}
