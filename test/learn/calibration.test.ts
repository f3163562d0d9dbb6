import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector, type ScoredBatch } from '../../src/detector/index.js';
import { isSeismoError } from '../../src/errors.js';
import { generateSeries } from '../../src/ingest/synthetic.js';
import { fitCalibration, MIN_SCALE, normalizeScore } from '../../src/score/calibration.js';
import { CALIBRATION_FILE, readCalibration, readModelDir, writeCalibration, writeModelDir } from '../../src/model/model-dir.js';
import { tinyModel, type TinyModel } from '../helpers/tiny-model.js';

describe('score calibration', function () {
  it('is the median and 1.4826 MAD of log scores, robust to a minority of outliers', () => {
    const scores = [1, 2, 4, 8, 16, 1e6, 1e7];
    const c = fitCalibration(scores, 'test');
    assert.ok(Math.abs(c.center - Math.log(8)) < 1e-12);
    // |ln s - ln 8| = 3ln2, 2ln2, ln2, 0, ln2, big, big -> median 2ln2
    assert.ok(Math.abs(c.scale - 1.4826 * 2 * Math.log(2)) < 1e-12);
    assert.equal(c.windows, 7);
    assert.ok(Math.abs(normalizeScore(8, c)) < 1e-12);
    assert.ok(Math.abs(normalizeScore(8 * Math.exp(c.scale), c) - 1) < 1e-9);
  });

  it('makes the same windows comparable under two versions whose scores differ in scale', () => {
    const base = Array.from({ length: 50 }, (_, i) => 0.5 + 0.01 * i);
    // Version 2 scores everything 10x lower with the same relative spread.
    const c1 = fitCalibration(base, 'v1');
    const c2 = fitCalibration(base.map((s) => s / 10), 'v2');
    for (const s of [0.3, 0.7, 5]) assert.ok(Math.abs(normalizeScore(s, c1) - normalizeScore(s / 10, c2)) < 1e-9);
  });

  it('falls back to the mean absolute deviation when more than half the scores are equal, and floors the scale', () => {
    const c = fitCalibration([1, 1, 1, 1, 1, 1, Math.E], 'repeats');
    assert.ok(Math.abs(c.scale - (1.2533 * 1) / 7) < 1e-9);
    assert.equal(fitCalibration([2, 2, 2], 'const').scale, MIN_SCALE);
    assert.throws(() => fitCalibration([NaN, 1], 'x'), (e: unknown) => isSeismoError(e) && e.code === 'ERR_INVALID_OPTION');
  });

  it('round-trips through calibration.json and rejects malformed files', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-cal-'));
    try {
      assert.equal(readCalibration(dir), undefined);
      // A calibration belongs to a model: there is none to write it for yet.
      assert.throws(() => writeCalibration(dir, { center: -1, scale: 0.5, windows: 10, on: 'x' }), (e: unknown) => isSeismoError(e, 'ERR_MODEL_NOT_FOUND'));
      const m = readModelDir((await tinyModel()).dir);
      writeModelDir(dir, m.manifest, m.onnx);
      assert.equal(readCalibration(dir), undefined);
      writeCalibration(dir, { center: -1, scale: 0.5, windows: 10, on: 'x' });
      assert.deepEqual(readCalibration(dir), { center: -1, scale: 0.5, windows: 10, on: 'x' });
      // Malformed, and then well-formed but not the file model.json was written with.
      fs.writeFileSync(path.join(dir, CALIBRATION_FILE), '{"center": 1, "scale": 0}');
      assert.throws(() => readCalibration(dir), (e: unknown) => isSeismoError(e) && e.code === 'ERR_MODEL_CORRUPT');
      fs.writeFileSync(path.join(dir, CALIBRATION_FILE), '{"center": 1, "scale": 2, "windows": 10, "on": "x"}');
      assert.throws(() => readCalibration(dir), (e: unknown) => isSeismoError(e) && e.code === 'ERR_MODEL_MISMATCH');
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('Detector normalizedScores', function () {
  // Trains the shared tiny model when it runs first.
  this.timeout(60_000);
  let model: TinyModel;
  const C = 3;

  before(async function () {
    model = await tinyModel();
  });

  it('normalises each batch with the calibration of the version that scored it, across a swap and a rollback', async () => {
    // Version 2: the same graph with a calibration.json beside it.
    const v2 = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-cal-v2-'));
    const m = readModelDir(model.dir);
    writeModelDir(v2, m.manifest, m.onnx);
    const cal2 = { center: -2, scale: 0.5, windows: 9, on: 'test' };
    writeCalibration(v2, cal2);
    const data = generateSeries({ length: 400, channels: C, seed: 31, periods: [48, 12], anomalies: [] }).table;
    const detector = await Detector.load(model.dir, { provider: 'cpu', batchSize: 8, stride: 4 });
    const batches: ScoredBatch[] = [];
    let uncalibrated = 0;
    detector.on('batch', (b) => batches.push(b));
    try {
      assert.equal(detector.calibration(), undefined);
      await detector.write('s', data.time.subarray(0, 100), data.frames.subarray(0, 100 * C));
      await detector.flush();
      uncalibrated = batches.length;
      const cal1 = { center: 0, scale: 1, windows: 5, on: 'test' };
      detector.setCalibration(cal1);
      await detector.write('s', data.time.subarray(100, 200), data.frames.subarray(100 * C, 200 * C));
      await detector.flush();
      await detector.swapModel(v2);
      assert.deepEqual(detector.calibration(), cal2);
      await detector.write('s', data.time.subarray(200, 300), data.frames.subarray(200 * C, 300 * C));
      await detector.flush();
      await detector.rollback();
      assert.deepEqual(detector.calibration(), cal1);
      await detector.write('s', data.time.subarray(300, 400), data.frames.subarray(300 * C, 400 * C));
      await detector.flush();
      assert.throws(() => detector.setCalibration(cal1, 7), (e: unknown) => isSeismoError(e) && e.code === 'ERR_INVALID_OPTION');
    } finally {
      await detector.close();
      fs.rmSync(v2, { recursive: true, force: true });
    }
    assert.ok(uncalibrated > 0);
    for (const b of batches.slice(0, uncalibrated)) assert.ok(Array.from(b.normalizedScores).every(Number.isNaN), 'no calibration yet: NaN');
    const v2Batches = batches.filter((b) => b.version === 2);
    assert.ok(v2Batches.length > 0);
    for (const b of v2Batches) for (let i = 0; i < b.size; i++) assert.ok(Math.abs(b.normalizedScores[i]! - normalizeScore(b.scores[i]!, cal2)) < 1e-5);
    const last = batches.at(-1)!;
    assert.equal(last.version, 1);
    for (let i = 0; i < last.size; i++) assert.ok(Math.abs(last.normalizedScores[i]! - Math.log(last.scores[i]!)) < 1e-5);
  });
});
