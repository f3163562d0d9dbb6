// Stride-1 scoring through a DeepAnT step graph in the Detector: the same score and channel
// scores as the window graph on every window, from the same first window, with series that start
// late or pause while the others go on, a worker killed mid-stream (its successor starts from a
// zero state), and drop-oldest overflow (no score computed from an overwritten frame is
// delivered); attention models keep the window path.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../../src/detector/index.js';
import type { ScoredBatch } from '../../src/detector/types.js';
import type { InferenceWorker } from '../../src/infer/inference-worker.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { STEP_MODEL_FILE } from '../../src/model/manifest.js';
import { readModelDir, writeModelDir } from '../../src/model/model-dir.js';
import { trainModel } from '../../training/index.js';
import { deepAntStepLayout } from '../../training/kinds/deepant/step.js';
import { resolveDeepAntConfig } from '../../training/kinds/deepant/config.js';
import { checkDeliveredScores } from '../helpers/delivered-scores.js';

const W = 20;
const C = 3;
const CONFIG = { window: W, filters: [6, 5] as [number, number], hidden: 8, epochs: 1, batchSize: 32 };

/** The live version's inference worker (private: reached for fault injection only). */
function liveWorker(detector: Detector): InferenceWorker {
  return (detector as unknown as { models: { live: { worker: InferenceWorker } } }).models.live.worker;
}

interface Scored {
  scores: Map<string, number>;
  channels: Map<string, Float32Array>;
  step: boolean;
  stepped: number;
  restarts: number;
  firstStart: Map<string, number>;
}

/**
 * Streams the series tick by tick, each from its own offset, series `pause.series` silent for
 * ticks `[pause.from, pause.to)` (the others go on); kills the worker when the `killAt`-th batch
 * arrives. Returns scores by `series@start`.
 */
async function scoreAll(dir: string, series: Float32Array[], offsets: number[], options: { stepGraph?: boolean; batchSize?: number; killAt?: number; pause?: { series: number; from: number; to: number } }): Promise<Scored> {
  const detector = await Detector.load(dir, { maxSeries: 8, batchSize: options.batchSize ?? 24, ...(options.stepGraph === undefined ? {} : { stepGraph: options.stepGraph }) });
  const scores = new Map<string, number>();
  const channels = new Map<string, Float32Array>();
  const firstStart = new Map<string, number>();
  let batches = 0;
  let killed: Promise<void> | undefined;
  detector.on('batch', (b: ScoredBatch) => {
    for (let i = 0; i < b.size; i++) {
      const key = `${b.seriesIds[i]}@${b.starts[i]}`;
      scores.set(key, b.scores[i]!);
      channels.set(key, b.channelScores.slice(i * C, (i + 1) * C));
      if (!firstStart.has(b.seriesIds[i]!)) firstStart.set(b.seriesIds[i]!, b.starts[i]!);
    }
    if (++batches === options.killAt) killed = liveWorker(detector).terminate();
  });
  try {
    const next = series.map(() => 0);
    for (let t = 0; next.some((i, k) => i < series[k]!.length / C); t++) {
      for (let k = 0; k < series.length; k++) {
        const i = next[k]!;
        if (t < offsets[k]! || i >= series[k]!.length / C) continue;
        if (options.pause && k === options.pause.series && t >= options.pause.from && t < options.pause.to) continue;
        await detector.drain();
        detector.push(`s${k}`, i, series[k]!.subarray(i * C, (i + 1) * C));
        next[k]!++;
      }
    }
    await detector.flush();
    await killed;
    const stats = detector.stats();
    return { scores, channels, step: detector.stepGraph, stepped: stats.windowsStepped, restarts: stats.workerRestarts, firstStart };
  } finally {
    await detector.close();
  }
}

function assertSame(step: Scored, window: Scored): void {
  assert.deepEqual([...step.scores.keys()].sort(), [...window.scores.keys()].sort());
  for (const [key, ref] of window.scores) {
    const got = step.scores.get(key)!;
    assert.ok(Math.abs(got - ref) <= 1e-5 * Math.max(1, Math.abs(ref)), `${key}: ${got} vs ${ref}`);
    const gc = step.channels.get(key)!;
    const rc = window.channels.get(key)!;
    for (let c = 0; c < rc.length; c++) assert.ok(Math.abs(gc[c]! - rc[c]!) <= 1e-5 * Math.max(1, Math.abs(rc[c]!)), `${key} channel ${c}`);
  }
}

describe('detector: stride-1 step graph (deepant)', function () {
  this.timeout(180_000);
  let dir: string;
  // Six series (so that a batch serves several per step call), two of them starting later.
  const series = [1, 2, 3, 4, 5, 6].map((seed) => generateSeries({ length: 90, channels: C, seed, periods: [24, 7], anomalies: [] }).table.frames);
  const offsets = [0, 0, 0, 0, 5, 11];
  let window: Scored;

  before(async () => {
    const data = generateSeries({ length: 400, channels: C, seed: 5, periods: [24, 7], anomalies: [] });
    const result = await trainModel({ kind: 'deepant', frames: data.table.frames, channels: data.table.channels, config: CONFIG, stride: 1, seed: 3 });
    try {
      assert.ok(result.step, 'a deepant without attention has a step graph');
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-deepant-step-'));
      writeModelDir(dir, result.manifest, result.onnx, { step: result.step });
    } finally {
      result.dispose();
    }
    window = await scoreAll(dir, series, offsets, { stepGraph: false });
  });

  it('writes model.step.onnx beside model.onnx, with the layout of its streams', () => {
    const m = readModelDir(dir);
    assert.equal(m.manifest.step?.file, STEP_MODEL_FILE);
    assert.deepEqual(m.step?.layout.layers, deepAntStepLayout(resolveDeepAntConfig(CONFIG, C)));
  });

  it('scores every window as the window graph does (<= 1e-5), from the same first window', async () => {
    const step = await scoreAll(dir, series, offsets, {});
    assert.equal(step.step, true);
    assert.equal(window.step, false);
    assert.equal(window.stepped, 0);
    assert.equal(step.scores.size, 6 * (90 - W + 1));
    assert.ok(step.stepped >= 0.8 * step.scores.size, `${step.stepped} of ${step.scores.size} windows stepped`);
    assert.deepEqual([...step.firstStart], [...window.firstStart]);
    assertSame(step, window);
  });

  it('keeps the scores when a series pauses while the others go on, batches are large, or the worker dies mid-stream', async () => {
    const paused = await scoreAll(dir, series, offsets, { pause: { series: 2, from: 30, to: 61 }, batchSize: 7 });
    assert.ok(paused.stepped > 0);
    assertSame(paused, window);
    const large = await scoreAll(dir, series, offsets, { batchSize: 256 });
    assert.ok(large.stepped > 0);
    assertSame(large, window);
    const killed = await scoreAll(dir, series, offsets, { killAt: 3, batchSize: 16 });
    assert.equal(killed.restarts, 1);
    assert.ok(killed.stepped > 0);
    assertSame(killed, window);
  });

  it('under drop-oldest overflow delivers only scores equal to the window graph on the true frames', async () => {
    const onnx = readModelDir(dir).onnx;
    const S = 6;
    const T = 400;
    const long = Array.from({ length: S }, (_, k) => generateSeries({ length: T, channels: C, seed: 20 + k, periods: [24, 7], anomalies: [] }).table.frames);
    const detector = await Detector.load(dir, { maxSeries: S, capacity: W + 4, overflow: 'drop-oldest', batchSize: 16, stride: 1 });
    const got = new Map<string, number>();
    detector.on('batch', (b: ScoredBatch) => {
      for (let i = 0; i < b.size; i++) if (Number.isFinite(b.scores[i]!)) got.set(`${b.seriesIds[i]}@${b.starts[i]}`, b.scores[i]!);
    });
    try {
      for (let t = 0; t < T; t++) {
        for (let k = 0; k < S; k++) detector.push(`s${k}`, t, long[k]!.subarray(t * C, (t + 1) * C));
        if (t % 7 === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      await detector.flush();
      const stats = detector.stats();
      assert.ok(stats.windowsDropped > 0, 'the rings overflowed');
      assert.ok(stats.windowsStepped > 0, 'the step graph scored');
    } finally {
      await detector.close();
    }
    assert.ok((await checkDeliveredScores(onnx, long, got, C, W)) > 0);
  });

  it('an attention model has no step graph, and streams at stride 1 through the window graph', async () => {
    const data = generateSeries({ length: 200, channels: C, seed: 6, periods: [24, 7], anomalies: [] });
    const result = await trainModel({ kind: 'deepant', frames: data.table.frames, channels: data.table.channels, config: { ...CONFIG, attention: 'bahdanau' }, stride: 1, seed: 3 });
    const attn = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-deepant-attn-'));
    try {
      assert.equal(result.step, undefined);
      writeModelDir(attn, result.manifest, result.onnx);
    } finally {
      result.dispose();
    }
    assert.equal(readModelDir(attn).manifest.step, undefined);
    const detector = await Detector.load(attn, { stride: 1 });
    try {
      assert.equal(detector.stepGraph, false);
    } finally {
      await detector.close();
    }
  });
});
