import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector, type AnomalyEvent, type ScoredBatch } from '../src/detector/index.js';
import { isSeismoError } from '../src/errors.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { attributionShares } from '../src/score/top-channels.js';
import { trainToDir } from '../training/train-to-dir.js';
import { tinyModel, type TinyModel } from './helpers/tiny-model.js';

describe('Detector latency and per-record batches', function () {
  this.timeout(60_000);
  let model: TinyModel;
  let perRecord: string;
  const C = 10;

  before(async function () {
    this.timeout(120_000);
    model = await tinyModel();
    // A per-record kind (window 1) with more channels than topChannels, so that the top-k pick matters.
    perRecord = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-test-pca-'));
    const data = generateSeries({ length: 400, channels: C, seed: 4, anomalies: [] });
    await trainToDir('pca', data.table.frames, data.table.channels, perRecord, { config: { window: 1 }, stride: 1, seed: 1 });
  });

  after(() => {
    if (perRecord) fs.rmSync(perRecord, { recursive: true, force: true });
  });

  it('with maxLatencyMs, a lone window is scored within about that time without flush()', async () => {
    const maxLatencyMs = 25;
    const W = model.manifest.window;
    const C3 = model.manifest.channels.length;
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 64, maxLatencyMs });
    try {
      const scored = new Promise<{ at: number; batch: ScoredBatch }>((resolve) => detector.on('batch', (batch) => resolve({ at: performance.now(), batch })));
      const frames = generateSeries({ length: W, channels: C3, seed: 9, anomalies: [] }).table.frames;
      for (let t = 0; t < W - 1; t++) detector.push('s', t, frames.subarray(t * C3, (t + 1) * C3));
      const completed = performance.now();
      detector.push('s', W - 1, frames.subarray((W - 1) * C3, W * C3)); // completes the only window
      const { at, batch } = await scored;
      assert.equal(batch.size, 1);
      assert.equal(batch.starts[0], 0);
      const latency = at - completed;
      // Never before the deadline (timers do not fire early); the upper bound leaves room for a
      // loaded CI machine, and is still far below "never" (the default waits for a full batch).
      assert.ok(latency >= maxLatencyMs - 1, `scored after ${latency.toFixed(1)} ms, before its ${maxLatencyMs} ms deadline`);
      assert.ok(latency < maxLatencyMs + 2000, `scored after ${latency.toFixed(1)} ms`);
      assert.equal(detector.stats().windowsScored, 1);
    } finally {
      await detector.close();
    }
  });

  it('without maxLatencyMs, a partial batch waits for flush()', async () => {
    const W = model.manifest.window;
    const C3 = model.manifest.channels.length;
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 64 });
    try {
      let batches = 0;
      detector.on('batch', () => batches++);
      const frames = generateSeries({ length: W, channels: C3, seed: 9, anomalies: [] }).table.frames;
      await detector.write('s', Float64Array.from({ length: W }, (_, i) => i), frames);
      await new Promise((resolve) => setTimeout(resolve, 150));
      assert.equal(batches, 0);
      await detector.flush();
      assert.equal(batches, 1);
    } finally {
      await detector.close();
    }
  });

  it('a steady trickle under maxLatencyMs is scored in partial batches, every window once and in order', async () => {
    const W = model.manifest.window;
    const C3 = model.manifest.channels.length;
    const batches: ScoredBatch[] = [];
    const detector = await Detector.load(model.dir, { provider: 'cpu', stride: 1, batchSize: 64, maxLatencyMs: 2, onBatch: (b) => batches.push(b) });
    try {
      const n = 60;
      const frames = generateSeries({ length: n, channels: C3, seed: 9, anomalies: [] }).table.frames;
      for (let t = 0; t < n; t += 4) {
        await detector.write('s', Float64Array.from({ length: 4 }, (_, i) => t + i), frames.subarray(t * C3, (t + 4) * C3));
        await new Promise((resolve) => setTimeout(resolve, 5));
      }
      await detector.flush();
      const starts = batches.flatMap((b) => Array.from(b.starts));
      assert.deepEqual(starts, Array.from({ length: n - W + 1 }, (_, i) => i));
      assert.ok(batches.length > 1, 'the windows went in several partial batches');
    } finally {
      await detector.close();
    }
  });

  it('refuses a maxLatencyMs that is not a finite number of milliseconds >= 0', async () => {
    for (const bad of [-1, Number.NaN, Infinity, '5' as unknown as number]) {
      await assert.rejects(Detector.load(model.dir, { maxLatencyMs: bad }), (err: unknown) => isSeismoError(err, 'ERR_INVALID_OPTION') && /maxLatencyMs/.test((err as Error).message));
    }
  });

  it('a per-record block written in one call names the same top channels as a full sort of each window', async () => {
    const events: AnomalyEvent[] = [];
    const batches: ScoredBatch[] = [];
    const topChannels = 4;
    // Threshold 0: every window is an anomaly (scores are squared errors), so every row is checked.
    const detector = await Detector.load(perRecord, { provider: 'cpu', batchSize: 128, threshold: 0, topChannels, onAnomaly: (e) => events.push(e), onBatch: (b) => batches.push(b) });
    try {
      const n = 300;
      const data = generateSeries({ length: n, channels: C, seed: 6, anomalies: [] }).table;
      await detector.write('r', data.time, data.frames);
      await detector.flush();
      assert.equal(events.length, n);
      let e = 0;
      for (const b of batches) {
        for (let i = 0; i < b.size; i++, e++) {
          // Events rank channels by the attribution (src/score/attribution.ts), each with its share.
          const row = b.attribution.subarray(i * C, (i + 1) * C);
          const shares = attributionShares(row, 0, C, new Float32Array(C));
          const expected = Array.from(row.keys())
            .sort((x, y) => row[y]! - row[x]!)
            .slice(0, topChannels)
            .map((c) => ({ name: detector.channels[c]!, score: shares[c]! }));
          assert.deepEqual(events[e]!.channels, expected);
        }
      }
    } finally {
      await detector.close();
    }
  });
});
