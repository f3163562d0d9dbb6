// Detection without the native addon: the Detector on the TypeScript ring arena scores the same
// windows with the same scores as on the addon's, across many ring wraps and several series.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../../src/detector/index.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { useRingImplementation, type RingImplementation } from '../../src/native.js';
import { TsRingArena } from '../../src/window/ts-ring-arena.js';
import { writeModelDir } from '../../src/model/model-dir.js';
import { trainModel } from '../../training/index.js';
import { tinyModel } from '../helpers/tiny-model.js';

/** Scores by `series:start` of a stride-1 run over three series, on the given ring arena. */
async function scoreAll(implementation: RingImplementation): Promise<{ scores: Map<string, number>; tsArenas: number }> {
  const model = await tinyModel();
  const data = generateSeries({ length: 400, channels: 3, seed: 9, periods: [48, 12], anomalies: [] });
  const C = 3;
  useRingImplementation(implementation);
  const scores = new Map<string, number>();
  // Counts the TypeScript arenas whose memory was taken, to know which one the detector used.
  const buffer = TsRingArena.prototype.buffer;
  let tsArenas = 0;
  TsRingArena.prototype.buffer = function (this: TsRingArena) {
    tsArenas++;
    return buffer.apply(this);
  };
  try {
    // Capacity 32 against 400 frames: each ring wraps a dozen times.
    const detector = await Detector.load(model.dir, {
      stride: 1, batchSize: 16, maxSeries: 3, capacity: 32, provider: 'cpu',
      onBatch: (b) => b.starts.forEach((s, i) => scores.set(`${b.seriesIds[i]}:${s}`, b.scores[i]!)),
    });
    try {
      for (let from = 0; from < 400; from += 20) {
        for (const id of ['a', 'b', 'c']) {
          await detector.write(id, data.table.time.subarray(from, from + 20), data.table.frames.subarray(from * C, (from + 20) * C));
        }
      }
      await detector.flush();
    } finally {
      await detector.close();
    }
    return { scores, tsArenas };
  } finally {
    TsRingArena.prototype.buffer = buffer;
    useRingImplementation(undefined);
  }
}

describe('detection on the TypeScript ring arena (no native addon)', function () {
  this.timeout(120_000);

  it('scores every window as the native arena does', async () => {
    const native = await scoreAll('native');
    const ts = await scoreAll('typescript');
    assert.equal(native.tsArenas, 0);
    assert.ok(ts.tsArenas >= 1, `${ts.tsArenas} TypeScript arenas`);
    assert.equal(native.scores.size, 3 * (400 - 8 + 1));
    assert.deepEqual([...ts.scores.keys()].sort(), [...native.scores.keys()].sort());
    for (const [key, score] of native.scores) assert.equal(ts.scores.get(key), score, key);
  });

  it('scores a model with a step graph through its window graph, with the same scores', async () => {
    // The step graph reads the rings inside the inference worker, which the TypeScript rings are not shared with.
    const data = generateSeries({ length: 300, channels: 3, seed: 5, periods: [24, 7], anomalies: [] });
    const result = await trainModel({ kind: 'dc-vae', frames: data.table.frames, channels: data.table.channels, config: { window: 16, depth: 3, filters: 6, latent: 2, epochs: 1, batchSize: 32 }, stride: 1, seed: 3 });
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-ts-step-'));
    try {
      assert.ok(result.step);
      writeModelDir(dir, result.manifest, result.onnx, { step: result.step });
      const run = async (implementation: RingImplementation): Promise<{ scores: Map<string, number>; stepped: number; step: boolean }> => {
        useRingImplementation(implementation);
        const scores = new Map<string, number>();
        const detector = await Detector.load(dir, { provider: 'cpu', maxSeries: 6, batchSize: 24, onBatch: (b) => b.scores.forEach((v, i) => scores.set(`${b.seriesIds[i]}@${b.starts[i]}`, v)) });
        try {
          // Six series in step: a batch holds windows of several, which is what the step graph serves.
          for (let i = 0; i < 120; i++) {
            for (let k = 0; k < 6; k++) {
              await detector.drain();
              detector.push(`s${k}`, i, data.table.frames.subarray((i + 20 * k) * 3, (i + 20 * k + 1) * 3));
            }
          }
          await detector.flush();
          return { scores, stepped: detector.stats().windowsStepped, step: detector.stepGraph };
        } finally {
          await detector.close();
          useRingImplementation(undefined);
        }
      };
      const native = await run('native');
      const ts = await run('typescript');
      assert.ok(native.stepped > 0, 'the native rings go through the step graph');
      assert.equal(ts.stepped, 0);
      assert.equal(ts.scores.size, 6 * (120 - 16 + 1));
      assert.deepEqual([...ts.scores.keys()].sort(), [...native.scores.keys()].sort());
      for (const [key, ref] of native.scores) assert.ok(Math.abs(ts.scores.get(key)! - ref) <= 1e-5 * Math.max(1, Math.abs(ref)), `${key}: ${ts.scores.get(key)} vs ${ref}`);
    } finally {
      result.dispose();
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
