import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors';
import { initBackend, resolveDenseAeConfig, trainModel } from '../../training/index';
import { CHANNELS, checkKind, tfjsScores } from './baseline-kinds';
import { runModel } from '../helpers/ort-run';
import { sineMixture } from './helpers';

const bad = (pattern: RegExp) => (err: unknown) => isSeismoError(err, 'ERR_INVALID_OPTION') && pattern.test(err.message);

describe('training/dense-ae', function () {
  this.timeout(30_000);
  before(() => initBackend());

  it('per record (window 1): ORT matches tfjs, channel_score sums to score, planted anomaly ranks first', async () => {
    (await checkKind('dense-ae', { epochs: 3, encoderUnits: [8, 2] })).dispose();
  });

  it('flattened window (W = 4) with an explicit decoder', async () => {
    (await checkKind('dense-ae', { window: 4, epochs: 3, encoderUnits: [8, 4], decoderUnits: [6], activation: 'relu' })).dispose();
  });

  it('is reproducible from the seed', async () => {
    const frames = sineMixture(200, 3, 2);
    const [a, b] = [await trainModel({ kind: 'dense-ae', frames, channels: CHANNELS, config: { epochs: 2 } }), await trainModel({ kind: 'dense-ae', frames, channels: CHANNELS, config: { epochs: 2 } })];
    assert.deepEqual(tfjsScores(a, frames, [0, 50, 199]).score, tfjsScores(b, frames, [0, 50, 199]).score);
    assert.deepEqual((await runModel(a.onnx, frames, 3, [0, 7]))['score']!.data, (await runModel(b.onnx, frames, 3, [0, 7]))['score']!.data);
    a.dispose();
    b.dispose();
  });

  it('mirrors the encoder by default and rejects bad configs', () => {
    assert.deepEqual(resolveDenseAeConfig({ encoderUnits: [32, 8, 4] }, 3).decoderUnits, [8, 32]);
    assert.throws(() => resolveDenseAeConfig({ encoderUnits: [] }, 3), bad(/encoderUnits/));
    assert.throws(() => resolveDenseAeConfig({ activation: 'elu' as 'relu' }, 3), bad(/activation/));
    assert.throws(() => resolveDenseAeConfig({ channels: 4 }, 3), bad(/channels/));
    assert.throws(() => resolveDenseAeConfig({ window: 0 }, 3), bad(/window/));
  });
});
