import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector, type ScoredBatch } from '../../src/detector/index.js';
import { isSeismoError } from '../../src/errors.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { readModelDir, writeModelDir } from '../../src/model/model-dir.js';
import { referenceScores, tinyModel, type TinyModel } from '../helpers/tiny-model.js';
import { trainModel } from '../../training/index.js';

describe('Detector hot swap', function () {
  // Trains the shared tiny model when it runs first.
  this.timeout(60_000);
  let model: TinyModel;
  let other: string;
  let otherOnnx: Uint8Array;
  const C = 3;
  const W = 8;

  before(async function () {
    model = await tinyModel();
    // A second, different model of the same shape: another seed and one more epoch.
    const data = generateSeries({ length: 600, channels: 3, seed: 12, periods: [48, 12], anomalies: [] });
    const r = await trainModel({ kind: 'lstm-ae', frames: data.table.frames, channels: data.table.channels, config: { window: 8, encoderUnits: [8], decoderUnits: [4], epochs: 1, batchSize: 32 }, stride: 2, seed: 9 });
    other = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-swap-'));
    writeModelDir(other, { ...r.manifest, thresholds: { ...r.manifest.thresholds, global: { value: 1e9, method: 'static', params: {} } } }, r.onnx);
    otherOnnx = r.onnx;
    r.dispose();
  });

  it('scores every window exactly once, by exactly one version, across swaps under load', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu', batchSize: 8, stride: 1, maxInFlight: 3 });
    const seen = new Map<string, number>();
    const lastVersion = new Map<string, number>();
    const byVersion = new Map<number, number>();
    const batches: ScoredBatch[] = [];
    detector.on('batch', (b) => {
      batches.push(b);
      for (let i = 0; i < b.size; i++) {
        const key = `${b.seriesIds[i]}@${b.starts[i]}`;
        seen.set(key, (seen.get(key) ?? 0) + 1);
        const prev = lastVersion.get(b.seriesIds[i]!) ?? 0;
        assert.ok(b.version >= prev, `series ${b.seriesIds[i]} went from version ${prev} back to ${b.version}`);
        lastVersion.set(b.seriesIds[i]!, b.version);
      }
      byVersion.set(b.version, (byVersion.get(b.version) ?? 0) + b.size);
    });
    // The listener asserts: a failed assertion arrives as an error event, checked at the end.
    const listenerErrors: Error[] = [];
    detector.on('error', (e) => listenerErrors.push(e));
    const T = 1500;
    const series = ['a', 'b', 'c'];
    const data = series.map((_, k) => generateSeries({ length: T, channels: C, seed: 20 + k, periods: [48, 12] }).table);
    try {
      // Push continuously while two swaps happen.
      const pushing = (async () => {
        for (let r = 0; r < T; r += 25) {
          for (let k = 0; k < series.length; k++) {
            await detector.write(series[k]!, data[k]!.time.subarray(r, r + 25), data[k]!.frames.subarray(r * C, (r + 25) * C));
          }
          await new Promise((res) => setImmediate(res));
        }
      })();
      await new Promise((res) => setTimeout(res, 20));
      const s1 = await detector.swapModel(other);
      assert.deepEqual([s1.previous, s1.version], [1, 2]);
      const s2 = await detector.swapModel(readModelDir(model.dir));
      assert.equal(s2.version, 3);
      await pushing;
      await detector.flush();
      assert.deepEqual(listenerErrors, []);
      const expected = series.length * (T - W + 1);
      assert.equal(seen.size, expected);
      for (const [key, n] of seen) assert.equal(n, 1, `${key} scored ${n} times`);
      assert.equal(detector.stats().windowsScored, expected);
      assert.ok((byVersion.get(1) ?? 0) > 0 && (byVersion.get(3) ?? 0) > 0, `windows per version: ${JSON.stringify([...byVersion])}`);
      // Each version's scores are that version's: check version 2's batches against its graph.
      const ref = await referenceScores(otherOnnx, data[0]!.frames, C, W);
      for (const b of batches.filter((x) => x.version === 2)) {
        for (let i = 0; i < b.size; i++) if (b.seriesIds[i] === 'a') assert.ok(Math.abs(b.scores[i]! - ref.score[b.starts[i]!]!) < 1e-5);
        // Version 2's own threshold decides its windows.
        assert.ok(b.thresholds.every((t) => t === 1e9));
      }
    } finally {
      await detector.close();
    }
  });

  it('rolls back to the kept version, keeps a bounded number, and refuses incompatible models', async () => {
    const detector = await Detector.load(model.dir, { provider: 'cpu', keepVersions: 2 });
    try {
      await assert.rejects(detector.rollback(), (e) => isSeismoError(e, 'ERR_NO_PREVIOUS_VERSION'));
      await detector.swapModel(other);
      await detector.swapModel(model.dir);
      assert.deepEqual(detector.versions().map((v) => v.version), [2, 3]);
      const r = await detector.rollback();
      assert.deepEqual([r.previous, r.version], [3, 2]);
      assert.equal(detector.version, 2);
      assert.equal(detector.threshold, 1e9);
      await assert.rejects(detector.rollback(), (e) => isSeismoError(e, 'ERR_NO_PREVIOUS_VERSION'));
      const bad = { ...readModelDir(model.dir) };
      bad.manifest = { ...bad.manifest, stride: 5 };
      await assert.rejects(detector.swapModel(bad), (e) => isSeismoError(e, 'ERR_MODEL_MISMATCH'));
      assert.equal(detector.version, 2);
    } finally {
      await detector.close();
    }
  });
});
