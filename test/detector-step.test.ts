// Stride-1 scoring through a DC-VAE step graph in the Detector: same scores as the window graph on
// every window, first score at the same frame; model directories without a step graph (older
// ones) keep the window path; a damaged step graph is refused; under drop-oldest overflow no
// score computed from an overwritten frame is delivered.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../src/detector/index.js';
import { isSeismoError } from '../src/errors.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { STEP_MODEL_FILE } from '../src/model/manifest.js';
import { readModelDir, writeModelDir } from '../src/model/model-dir.js';
import type { ScoredBatch } from '../src/detector/types.js';
import { trainModel } from '../training/index.js';
import { checkDeliveredScores } from './helpers/delivered-scores.js';
import { copyModelDir } from './helpers/tiny-model.js';

const W = 16;

/** Scores by `series@start`, channel scores beside them. */
async function scoreAll(dir: string, series: Float32Array[], offsets: number[], options: { stepGraph?: boolean; batchSize?: number }): Promise<{ scores: Map<string, number>; channels: Map<string, Float32Array>; step: boolean; stepped: number; firstStart: Map<string, number> }> {
  const detector = await Detector.load(dir, { maxSeries: 8, batchSize: options.batchSize ?? 24, ...(options.stepGraph === undefined ? {} : { stepGraph: options.stepGraph }) });
  const scores = new Map<string, number>();
  const channels = new Map<string, Float32Array>();
  const firstStart = new Map<string, number>();
  detector.on('batch', (b: ScoredBatch) => {
    const C = b.channelScores.length / b.size;
    for (let i = 0; i < b.size; i++) {
      const key = `${b.seriesIds[i]}@${b.starts[i]}`;
      scores.set(key, b.scores[i]!);
      channels.set(key, b.channelScores.slice(i * C, (i + 1) * C));
      if (!firstStart.has(b.seriesIds[i]!)) firstStart.set(b.seriesIds[i]!, b.starts[i]!);
    }
  });
  try {
    const C = 3;
    const length = Math.max(...series.map((s, k) => s.length / C + offsets[k]!));
    // Series tick together, each from its own offset (so their states are not aligned).
    for (let t = 0; t < length; t++) {
      for (let k = 0; k < series.length; k++) {
        const i = t - offsets[k]!;
        if (i < 0 || i >= series[k]!.length / C) continue;
        await detector.drain();
        detector.push(`s${k}`, i, series[k]!.subarray(i * C, (i + 1) * C));
      }
    }
    await detector.flush();
    return { scores, channels, step: detector.stepGraph, stepped: detector.stats().windowsStepped, firstStart };
  } finally {
    await detector.close();
  }
}

describe('detector: stride-1 step graph (dc-vae)', function () {
  this.timeout(180_000);
  let dir: string;
  // Six series (so that a batch serves several per step call), two of them starting later.
  const series = [1, 2, 3, 4, 5, 6].map((seed) => generateSeries({ length: 90, channels: 3, seed, periods: [24, 7], anomalies: [] }).table.frames);
  const offsets = [0, 0, 0, 0, 5, 11];

  before(async () => {
    const data = generateSeries({ length: 400, channels: 3, seed: 5, periods: [24, 7], anomalies: [] });
    const result = await trainModel({
      kind: 'dc-vae',
      frames: data.table.frames,
      channels: data.table.channels,
      config: { window: W, depth: 3, filters: 6, latent: 2, epochs: 1, batchSize: 32 },
      stride: 1,
      seed: 3,
    });
    try {
      assert.ok(result.step, 'a dc-vae whose window covers its network has a step graph');
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-step-'));
      writeModelDir(dir, result.manifest, result.onnx, { step: result.step });
    } finally {
      result.dispose();
    }
  });

  it('writes model.step.onnx beside model.onnx, declared and checksummed in model.json', () => {
    const m = readModelDir(dir);
    assert.equal(m.manifest.step?.file, STEP_MODEL_FILE);
    assert.match(m.manifest.files?.[STEP_MODEL_FILE] ?? '', /^[0-9a-f]{64}$/);
    assert.ok(m.step && m.step.layout.layers.length === 6);
  });

  it('scores every window as the window graph does (<= 1e-5), from the same first window', async () => {
    const step = await scoreAll(dir, series, offsets, {});
    const window = await scoreAll(dir, series, offsets, { stepGraph: false });
    assert.equal(step.step, true);
    assert.equal(window.step, false);
    assert.equal(step.scores.size, 6 * (90 - W + 1));
    assert.equal(window.stepped, 0);
    // Every batch but a few around the late starters goes through the step graph.
    assert.ok(step.stepped >= 0.8 * step.scores.size, `${step.stepped} of ${step.scores.size} windows stepped`);
    assert.deepEqual([...step.scores.keys()].sort(), [...window.scores.keys()].sort());
    assert.deepEqual([...step.firstStart], [...window.firstStart]);
    for (const [key, ref] of window.scores) {
      const got = step.scores.get(key)!;
      assert.ok(Math.abs(got - ref) <= 1e-5 * Math.max(1, Math.abs(ref)), `${key}: ${got} vs ${ref}`);
      const gc = step.channels.get(key)!;
      const rc = window.channels.get(key)!;
      for (let c = 0; c < rc.length; c++) assert.ok(Math.abs(gc[c]! - rc[c]!) <= 1e-5 * Math.max(1, Math.abs(rc[c]!)), `${key} channel ${c}`);
    }
  });

  it('keeps the window path for a directory without a step graph, and for strides above 1', async () => {
    const m = readModelDir(dir);
    const older = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-step-older-'));
    writeModelDir(older, m.manifest, m.onnx); // no step bytes: written without one
    assert.equal(readModelDir(older).manifest.step, undefined);
    assert.equal(fs.existsSync(path.join(older, STEP_MODEL_FILE)), false);
    const a = await scoreAll(older, series, offsets, {});
    const b = await scoreAll(dir, series, offsets, {});
    assert.equal(a.step, false);
    assert.equal(a.stepped, 0);
    assert.equal(b.step, true);
    assert.ok(b.stepped > 0);
    for (const [key, ref] of a.scores) assert.ok(Math.abs(b.scores.get(key)! - ref) <= 1e-5 * Math.max(1, Math.abs(ref)), `${key}: ${b.scores.get(key)} vs ${ref}`);
    const strided = await Detector.load(dir, { stride: 2 });
    try {
      assert.equal(strided.stepGraph, false);
    } finally {
      await strided.close();
    }
  });

  it('refuses a step graph changed on disk, or one declared and missing', () => {
    const copy = copyModelDir(dir);
    const file = path.join(copy, STEP_MODEL_FILE);
    const bytes = fs.readFileSync(file);
    bytes[bytes.length - 1] ^= 1;
    fs.writeFileSync(file, bytes);
    assert.throws(() => readModelDir(copy), (e: unknown) => isSeismoError(e, 'ERR_MODEL_MISMATCH') || isSeismoError(e, 'ERR_MODEL_CORRUPT'));
    fs.rmSync(file);
    assert.throws(() => readModelDir(copy), (e: unknown) => isSeismoError(e, 'ERR_MODEL_NOT_FOUND') && /step/.test(e.message));
  });

  it('takes batches of 1024 by itself when stepping with maxLatencyMs (64 otherwise), rings sized as for 64, and a partial batch still goes at the deadline', async () => {
    const cases: [Parameters<typeof Detector.load>[1], number][] = [
      [{ maxLatencyMs: 5 }, 1024],
      [{}, 64],
      [{ maxLatencyMs: 5, stepGraph: false }, 64],
      [{ maxLatencyMs: 5, stride: 2 }, 64],
      [{ maxLatencyMs: 5, batchSize: 100 }, 100],
    ];
    for (const [options, batchSize] of cases) {
      const d = await Detector.load(dir, options);
      try {
        assert.equal(d.batchSize, batchSize, JSON.stringify(options));
        assert.equal(d.capacity, Math.max(4 * W, W + 4 * (options!.batchSize ?? 64) * d.stride), JSON.stringify(options));
      } finally {
        await d.close();
      }
    }
    // One series, a few windows: far from a batch of 1024, scored at the deadline without flush().
    const scored: number[] = [];
    const d = await Detector.load(dir, { maxLatencyMs: 5, onBatch: (b) => scored.push(...b.starts) });
    try {
      assert.equal(d.stepGraph, true);
      for (let i = 0; i < W + 3; i++) d.push('a', i, series[0]!.subarray(i * 3, (i + 1) * 3));
      for (let waited = 0; scored.length < 4 && waited < 5000; waited += 10) await new Promise((resolve) => setTimeout(resolve, 10));
      assert.deepEqual(scored, [0, 1, 2, 3]);
      assert.equal(d.stats().windowsStepped, 4);
    } finally {
      await d.close();
    }
  });

  it('rejects a non-boolean stepGraph option', async () => {
    await assert.rejects(Detector.load(dir, { stepGraph: 'yes' as unknown as boolean }), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION'));
  });

  it('under drop-oldest overflow delivers only scores equal to the window graph on the true frames (overwritten windows are dropped, not mis-scored)', async () => {
    // Frames a series' state reads may be overwritten before the worker reads them; every window
    // whose score could depend on such a frame starts at or before it (the window covers the
    // network's reach), so the pipeline drops it as overwritten.
    const onnx = readModelDir(dir).onnx;
    const S = 6;
    const T = 600;
    const C = 3;
    const series = Array.from({ length: S }, (_, k) => generateSeries({ length: T, channels: C, seed: 20 + k, periods: [24, 7], anomalies: [] }).table.frames);
    // A ring barely longer than a window, batches of several windows, and no waiting between
    // pushes: the rings wrap under the batches in flight, over and over.
    const detector = await Detector.load(dir, { maxSeries: S, capacity: W + 4, overflow: 'drop-oldest', batchSize: 16, stride: 1 });
    const got = new Map<string, number>();
    let overwrittenInFlight = 0;
    detector.on('batch', (b: ScoredBatch) => {
      for (let i = 0; i < b.size; i++) {
        if (Number.isFinite(b.scores[i]!)) got.set(`${b.seriesIds[i]}@${b.starts[i]}`, b.scores[i]!);
        else overwrittenInFlight++;
      }
    });
    try {
      for (let t = 0; t < T; t++) {
        for (let k = 0; k < S; k++) detector.push(`s${k}`, t, series[k]!.subarray(t * C, (t + 1) * C));
        // Now and then let the event loop run, so results come back while the rings keep wrapping.
        if (t % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await detector.flush();
      const stats = detector.stats();
      assert.ok(stats.windowsDropped > 0, 'the rings overflowed');
      // Windows whose frames were overwritten after they were dispatched (scored, then dropped).
      assert.ok(overwrittenInFlight > 0, 'frames were overwritten under batches in flight');
      assert.ok(stats.windowsStepped > 0, 'the step graph scored');
      assert.ok(got.size > 0);
    } finally {
      await detector.close();
    }
    assert.ok((await checkDeliveredScores(onnx, series, got, C, W)) > 0);
  });
});
