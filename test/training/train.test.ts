import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { isSeismoError, type SeismoErrorCode } from '../../src/errors';
import { ManifestSchema } from '../../src/model/manifest';
import { initBackend } from '../../training/backend';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { quantile } from '../../src/stats/quantile';
import { fitScaler, fitWindows, gatherWindows, splitStarts, type TrainProgress, windowCutter, windowStarts } from '../../training/fit';
import { listKinds, trainModel, type TrainRequest } from '../../training/index';
import { seededOrthogonal } from '../../training/kinds/lstm-ae/model';
import { sineMixture } from './helpers';

const C = 3;
const CHANNELS = ['a', 'b', 'c'];
/** Small enough for ~0.5 s per run on a shared 2-core machine. */
const TINY = { window: 12, encoderUnits: [6], decoderUnits: [4], epochs: 2, batchSize: 32, learningRate: 0.01 };

function request(overrides: Partial<TrainRequest<'lstm-ae'>> = {}): TrainRequest<'lstm-ae'> {
  return { kind: 'lstm-ae', frames: sineMixture(240, C, 5), channels: CHANNELS, config: TINY, ...overrides };
}

function hasCode(code: SeismoErrorCode, pattern: RegExp) {
  return (err: unknown) => isSeismoError(err, code) && pattern.test(err.message);
}

describe('training/trainModel (lstm-ae)', function () {
  this.timeout(60_000);
  before(async () => {
    await initBackend();
  });

  it('registers lstm-ae', () => {
    assert.ok(listKinds().includes('lstm-ae'));
  });

  it('returns a valid manifest with the training record, threshold and scaler', async () => {
    const req = request();
    const events: TrainProgress[] = [];
    const r = await trainModel({ ...req, onProgress: (p) => events.push(p) });
    try {
      const m = ManifestSchema.parse(r.manifest);
      assert.equal(m.kind, 'lstm-ae');
      assert.equal(m.window, 12);
      assert.equal(m.stride, 1);
      assert.deepEqual(m.channels, CHANNELS);
      assert.equal(m.hyperParameters['channels'], C);
      assert.deepEqual(m.hyperParameters['encoderUnits'], [6]);
      assert.equal(m.training.backend, (await initBackend()).backend);
      assert.equal(m.training.epochs, 2);
      assert.equal(m.training.losses.length, 2);
      assert.equal(m.training.valLosses.length, 2);
      assert.ok(m.training.losses.every(Number.isFinite));
      assert.ok(m.training.losses[1]! < m.training.losses[0]!, `loss did not fall: ${m.training.losses}`);
      assert.equal(m.training.dataFingerprint, createHash('sha256').update(Buffer.from(req.frames.buffer)).digest('hex'));
      assert.ok(!Number.isNaN(Date.parse(m.training.date)));
      assert.equal(m.thresholds.global.method, 'quantile');
      assert.equal(m.thresholds.global.params['quantile'], 0.995);
      assert.ok(m.thresholds.global.value > 0 && Number.isFinite(m.thresholds.global.value));
      assert.equal(m.scaler.mean.length, C);
      assert.deepEqual(m.onnx.inputs, ['frames', 'starts']);
      assert.ok(r.onnx.byteLength > 1000);
      // Progress: every batch of every epoch, then the epoch summary with both losses.
      const epochs = events.filter((e) => e.phase === 'epoch');
      assert.equal(epochs.length, 2);
      assert.deepEqual(
        epochs.map((e) => e.loss),
        m.training.losses,
      );
      assert.deepEqual(
        epochs.map((e) => e.phase === 'epoch' && e.valLoss),
        m.training.valLosses,
      );
      const batches = events.filter((e) => e.phase === 'batch');
      assert.ok(batches.length >= 2 && batches.every((b) => b.phase === 'batch' && b.batch <= b.batches && Number.isFinite(b.loss)));
    } finally {
      r.dispose();
    }
  });

  it('is reproducible: the same seed gives the same losses and the same ONNX bytes', async () => {
    const a = await trainModel(request({ seed: 9 }));
    const b = await trainModel(request({ seed: 9 }));
    const c = await trainModel(request({ seed: 10 }));
    try {
      assert.deepEqual(a.manifest.training.losses, b.manifest.training.losses);
      assert.deepEqual(a.manifest.training.valLosses, b.manifest.training.valLosses);
      assert.equal(a.manifest.thresholds.global.value, b.manifest.thresholds.global.value);
      assert.deepEqual(a.onnx, b.onnx);
      assert.notDeepEqual(a.manifest.training.losses, c.manifest.training.losses);
      assert.equal(c.manifest.training.seed, 10);
    } finally {
      [a, b, c].forEach((r) => r.dispose());
    }
  });

  it('trains with a constant channel (std 1, no division by ~0)', async () => {
    const frames = sineMixture(240, C, 5);
    for (let t = 0; t < 240; t++) frames[t * C + 1] = 5;
    const r = await trainModel(request({ frames, config: { ...TINY, epochs: 1 } }));
    try {
      assert.equal(r.manifest.scaler.std[1], 1);
      assert.equal(r.manifest.scaler.mean[1], 5);
      assert.ok(r.manifest.training.losses.every(Number.isFinite));
    } finally {
      r.dispose();
    }
  });

  it('honours stride and validationSplit 0 (threshold from training windows)', async () => {
    const r = await trainModel(request({ stride: 4, config: { ...TINY, epochs: 1, validationSplit: 0 } }));
    try {
      assert.equal(r.manifest.stride, 4);
      assert.deepEqual(r.manifest.training.valLosses, []);
      assert.equal(r.manifest.thresholds.global.params['on'], 'training');
      assert.equal(r.manifest.thresholds.global.params['windows'], windowStarts(240, 12, 4).length);
    } finally {
      r.dispose();
    }
  });

  it('frees every tensor on dispose(), and on failure (model, optimizer, frames)', async () => {
    // Warm-up: tfjs caches a few constants on first use, which are not leaks.
    (await trainModel(request({ config: { ...TINY, epochs: 1 } }))).dispose();
    const before = tf.memory().numTensors;
    const r = await trainModel(request({ config: { ...TINY, epochs: 1 } }));
    assert.ok(tf.memory().numTensors > before);
    r.dispose();
    assert.equal(tf.memory().numTensors, before);
    await assert.rejects(trainModel(request({ config: { ...TINY, epochs: 1 }, onProgress: () => { throw new Error('abort from callback'); } })), /abort from callback/);
    assert.equal(tf.memory().numTensors, before);
  });

  describe('bad input', () => {
    it('rejects frames whose length is not a multiple of the channel count', async () => {
      await assert.rejects(trainModel(request({ frames: new Float32Array(301) })), hasCode('ERR_BAD_SHAPE', /301 values, not a multiple of the 3 channels/));
    });
    it('rejects NaN and Infinity, naming row and channel', async () => {
      const frames = sineMixture(240, C, 5);
      frames[17 * C + 2] = NaN;
      await assert.rejects(trainModel(request({ frames })), hasCode('ERR_NON_FINITE', /frames\[17\] channel "c" is NaN/));
      frames[17 * C + 2] = 1;
      frames[3] = -Infinity;
      await assert.rejects(trainModel(request({ frames })), hasCode('ERR_NON_FINITE', /frames\[1\] channel "a" is -Infinity/));
    });
    it('rejects too few frames for one window', async () => {
      await assert.rejects(trainModel(request({ frames: sineMixture(8, C) })), hasCode('ERR_TRAINING', /Too few frames.*8 frames give 0 windows of 12/));
    });
    it('rejects too few frames to leave training windows after the validation hold-out', async () => {
      await assert.rejects(trainModel(request({ frames: sineMixture(20, C) })), hasCode('ERR_TRAINING', /none is left for training/));
    });
    it('rejects an unknown kind, listing the known ones', async () => {
      await assert.rejects(trainModel({ ...request(), kind: 'no-such-kind' as 'lstm-ae' }), hasCode('ERR_TRAINING', /Unknown model kind "no-such-kind".*lstm-ae/));
    });
    it('rejects bad channel names and bad config values', async () => {
      await assert.rejects(trainModel(request({ channels: ['a', 'a', 'b'] })), hasCode('ERR_BAD_SHAPE', /unique/));
      await assert.rejects(trainModel(request({ channels: [] })), hasCode('ERR_BAD_SHAPE', /non-empty/));
      await assert.rejects(trainModel(request({ config: { ...TINY, encoderUnits: [] } })), hasCode('ERR_INVALID_OPTION', /encoderUnits/));
      await assert.rejects(trainModel(request({ config: { ...TINY, window: 0 } })), hasCode('ERR_INVALID_OPTION', /window/));
      await assert.rejects(trainModel(request({ config: { ...TINY, validationSplit: 1 } })), hasCode('ERR_INVALID_OPTION', /validationSplit/));
      await assert.rejects(trainModel(request({ config: { ...TINY, learningRate: -1 } })), hasCode('ERR_INVALID_OPTION', /learningRate/));
      await assert.rejects(trainModel(request({ stride: 0 })), hasCode('ERR_INVALID_OPTION', /stride/));
    });
  });
});

describe('training/fit helpers', () => {
  it('quantile interpolates linearly like numpy.quantile', () => {
    // numpy.quantile([1, 2, 3, 4, 10], [0, 0.5, 0.995, 1]) -> 1, 3, 9.88, 10
    const v = [10, 2, 4, 1, 3];
    assert.equal(quantile(v, 0), 1);
    assert.equal(quantile(v, 0.5), 3);
    assert.ok(Math.abs(quantile(v, 0.995) - 9.88) < 1e-12);
    assert.equal(quantile(v, 1), 10);
  });

  it('cuts windows and keeps a purge gap between training and validation windows', () => {
    assert.deepEqual([...windowStarts(10, 4, 1)], [0, 1, 2, 3, 4, 5, 6]);
    assert.deepEqual([...windowStarts(10, 4, 3)], [0, 3, 6]);
    assert.deepEqual([...windowStarts(3, 4, 1)], []);
    const { train, val } = splitStarts(windowStarts(20, 4, 1), 4, 0.25);
    assert.deepEqual([...val], [13, 14, 15, 16]);
    // No training window may share a frame with the first validation window (rows 13..16).
    assert.deepEqual([...train], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('cuts training batches on the host with the same values as tf.gather', async () => {
    await initBackend();
    const [T, C, W] = [300, 3, 16];
    const frames = tf.tensor2d(Float32Array.from({ length: T * C }, (_, i) => Math.sin(i * 0.37) * 1e3 + i * 1e-3), [T, C]);
    const asInt = tf.cast(frames, 'int32') as tf.Tensor2D;
    try {
      const cut = windowCutter(frames, W);
      const cutInt = windowCutter(asInt, W); // not float32: the tf.gather path
      for (const starts of [Int32Array.of(0), Int32Array.of(T - W, 5, 5, 17), Int32Array.from({ length: 64 }, (_, i) => (i * 37) % (T - W + 1))]) {
        const [a, b, c, d] = [cut(starts), gatherWindows(frames, starts, W), cutInt(starts), gatherWindows(asInt, starts, W)];
        try {
          assert.deepEqual(a.shape, [starts.length, W, C]);
          assert.equal(a.dtype, 'float32');
          assert.deepEqual(a.dataSync(), b.dataSync());
          assert.deepEqual(c.dataSync(), d.dataSync());
        } finally {
          tf.dispose([a, b, c, d]);
        }
      }
    } finally {
      tf.dispose([frames, asInt]);
    }
  });

  it('fits a population mean/std scaler per channel', () => {
    const s = fitScaler(Float32Array.of(1, 10, 3, 10, 5, 10), 2);
    assert.deepEqual(s.mean, [3, 10]);
    assert.ok(Math.abs(s.std[0]! - Math.sqrt(8 / 3)) < 1e-12);
    assert.equal(s.std[1], 1);
  });

  it('draws seeded orthogonal recurrent kernels', () => {
    const [H, H4] = [5, 20];
    const q = seededOrthogonal(H, H4, 3);
    for (let i = 0; i < H; i++)
      for (let j = 0; j < H; j++) {
        let dot = 0;
        for (let k = 0; k < H4; k++) dot += q[i * H4 + k]! * q[j * H4 + k]!;
        assert.ok(Math.abs(dot - (i === j ? 1 : 0)) < 1e-6, `rows ${i},${j}: ${dot}`);
      }
    assert.deepEqual(seededOrthogonal(H, H4, 3), q);
    assert.notDeepEqual(seededOrthogonal(H, H4, 4), q);
  });
});

describe('training/fitWindows early stopping', () => {
  /**
   * A scripted stand-in for a LayersModel: each epoch's validation loss comes from a list and its
   * "weights" are one scalar holding the epoch number, so the test can see which epoch's weights
   * the loop restores. The loop logic is what is under test here, not tfjs.
   */
  function scripted(valLosses: number[]) {
    let epoch = 0;
    let batchInEpoch = 0;
    const batchesPerEpoch = 2;
    let weights = [tf.scalar(0)];
    const restored: number[] = [];
    const model = {
      trainOnBatch: async () => {
        if (batchInEpoch++ % batchesPerEpoch === 0) {
          epoch++;
          tf.dispose(weights);
          weights = [tf.scalar(epoch)];
        }
        return 1 / epoch;
      },
      evaluate: () => tf.scalar(valLosses[epoch - 1]!),
      getWeights: () => weights,
      setWeights: (ws: tf.Tensor[]) => restored.push(ws[0]!.dataSync()[0]!),
    };
    return { model: model as unknown as tfl.LayersModel, restored };
  }

  it('stops after `patience` epochs without improvement and restores the best epoch', async () => {
    const frames = tf.zeros([20, 1]) as tf.Tensor2D;
    const { model, restored } = scripted([1, 0.5, 0.75, 0.875, 0.25]);
    const fit = await fitWindows(model, frames, Int32Array.of(0, 1, 2, 3), Int32Array.of(10), { window: 4, epochs: 5, batchSize: 2, patience: 2, seed: 1 });
    assert.equal(fit.epochs, 4, 'epoch 5 must not run');
    assert.equal(fit.bestEpoch, 2);
    assert.deepEqual(fit.valLosses, [1, 0.5, 0.75, 0.875]);
    assert.deepEqual(restored, [2]);
    frames.dispose();
  });

  it('keeps the last weights when the last epoch is the best, and runs all epochs with patience 0', async () => {
    const frames = tf.zeros([20, 1]) as tf.Tensor2D;
    const { model, restored } = scripted([1, 2, 3, 0.125]);
    const fit = await fitWindows(model, frames, Int32Array.of(0, 1, 2, 3), Int32Array.of(10), { window: 4, epochs: 4, batchSize: 2, patience: 0, seed: 1 });
    assert.equal(fit.epochs, 4);
    assert.equal(fit.bestEpoch, 4);
    assert.deepEqual(restored, []);
    frames.dispose();
  });
});
