import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { isSeismoError } from '../../src/errors.js';
import { readWeights, WEIGHTS_FILE, WEIGHTS_INDEX_FILE, type WeightTensor, writeModelDir, writeWeights } from '../../src/model/model-dir.js';
import { tinyModel } from '../helpers/tiny-model.js';

describe('model directory: saved weights', () => {
  let dir: string;
  const weights: WeightTensor[] = [
    { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) },
    { shape: [3], data: Float32Array.from([-0.5, 0.25, 1e-8]) },
    { shape: [0], data: new Float32Array(0) },
  ];

  beforeEach(async () => {
    const m = await tinyModel();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-weights-'));
    writeModelDir(dir, m.manifest, m.onnx);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('round-trips shapes and values bit for bit; a directory without them reads as undefined', () => {
    assert.equal(readWeights(dir), undefined);
    writeWeights(dir, weights);
    const back = readWeights(dir)!;
    assert.deepEqual(back.map((w) => w.shape), [[2, 3], [3], [0]]);
    back.forEach((w, i) => assert.deepEqual(Array.from(w.data), Array.from(weights[i]!.data)));
    assert.equal(fs.statSync(path.join(dir, WEIGHTS_FILE)).size, 9 * 4);
  });

  it('refuses weights saved for another graph, a truncated data file and an unreadable index', async () => {
    writeWeights(dir, weights);
    // Another model.onnx in the same directory: the weights are stale.
    const onnxPath = path.join(dir, 'model.onnx');
    const original = fs.readFileSync(onnxPath);
    fs.writeFileSync(onnxPath, Buffer.concat([original, Buffer.from([0])]));
    assert.throws(() => readWeights(dir), (e) => isSeismoError(e, 'ERR_MODEL_MISMATCH'));
    fs.writeFileSync(onnxPath, original);
    fs.truncateSync(path.join(dir, WEIGHTS_FILE), 20);
    assert.throws(() => readWeights(dir), (e) => isSeismoError(e, 'ERR_MODEL_CORRUPT') && /holds 20 bytes/.test((e as Error).message));
    fs.rmSync(path.join(dir, WEIGHTS_FILE));
    assert.throws(() => readWeights(dir), (e) => isSeismoError(e, 'ERR_MODEL_CORRUPT') && /is missing/.test((e as Error).message));
    fs.writeFileSync(path.join(dir, WEIGHTS_INDEX_FILE), '{"format": 1, "shapes": "no"');
    assert.throws(() => readWeights(dir), (e) => isSeismoError(e, 'ERR_MODEL_CORRUPT'));
    fs.writeFileSync(path.join(dir, WEIGHTS_INDEX_FILE), '{"format": 9, "shapes": [], "onnxSha256": ""}');
    assert.throws(() => readWeights(dir), (e) => isSeismoError(e, 'ERR_MODEL_CORRUPT') && /format 1/.test((e as Error).message));
  });

  it('refuses to save mismatched shapes, non-finite values, or into a directory without a graph', () => {
    assert.throws(() => writeWeights(dir, [{ shape: [2, 2], data: new Float32Array(3) }]), (e) => isSeismoError(e, 'ERR_BAD_SHAPE'));
    assert.throws(() => writeWeights(dir, [{ shape: [2], data: Float32Array.from([1, NaN]) }]), (e) => isSeismoError(e, 'ERR_NON_FINITE'));
    assert.equal(readWeights(dir), undefined, 'nothing was written');
    const empty = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-weights-empty-'));
    try {
      assert.throws(() => writeWeights(empty, weights), (e) => isSeismoError(e, 'ERR_MODEL_NOT_FOUND'));
    } finally {
      fs.rmSync(empty, { recursive: true, force: true });
    }
  });
});
