import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors';
import { initBackend, resolveBiganConfig, trainModel } from '../../training/index';
import { CHANNELS, checkKind, tfjsScores } from './baseline-kinds';
import { runModel } from '../helpers/ort-run';
import { sineMixture } from './helpers';

const bad = (pattern: RegExp) => (err: unknown) => isSeismoError(err, 'ERR_INVALID_OPTION') && pattern.test(err.message);
const SMALL = { latent: 4, encoderUnits: [16], generatorUnits: [16], discriminatorUnits: 16, learningRate: 1e-3 };

describe('training/bigan', function () {
  this.timeout(30_000);
  before(() => initBackend());

  it('ORT matches tfjs (E, G, D features), channel_score sums to score, planted anomaly ranks first', async () => {
    const r = await checkKind('bigan', { ...SMALL, epochs: 4 });
    assert.equal(r.manifest.training.epochs, 4);
    r.dispose();
  });

  it('alpha = 1 is the pure L1 reconstruction error; W = 4 windows', async () => {
    const frames = sineMixture(200, 3, 2);
    const r = await trainModel({ kind: 'bigan', frames, channels: CHANNELS, config: { ...SMALL, window: 4, epochs: 1, alpha: 1 } });
    const out = await runModel(r.onnx, frames, 3, [0, 50]);
    const rec = out['reconstruction']!.data;
    const scaled = (t: number, c: number) => (frames[t * 3 + c]! - r.manifest.scaler.mean[c]!) / r.manifest.scaler.std[c]!;
    [0, 50].forEach((s, n) => {
      let l1 = 0;
      for (let t = 0; t < 4; t++) for (let c = 0; c < 3; c++) l1 += Math.abs(scaled(s + t, c) - rec[(n * 4 + t) * 3 + c]!);
      assert.ok(Math.abs(l1 - out['score']!.data[n]!) < 1e-4 * Math.max(1, l1), `${l1} vs ${out['score']!.data[n]}`);
    });
    r.dispose();
  });

  it('is reproducible from the seed (seeded prior noise)', async () => {
    const frames = sineMixture(150, 3, 2);
    const train = () => trainModel({ kind: 'bigan', frames, channels: CHANNELS, config: { ...SMALL, epochs: 1 } });
    const [a, b] = [await train(), await train()];
    assert.deepEqual(tfjsScores(a, frames, [0, 9, 149]).score, tfjsScores(b, frames, [0, 9, 149]).score);
    a.dispose();
    b.dispose();
  });

  it('rejects bad configs', () => {
    assert.throws(() => resolveBiganConfig({ alpha: 1.5 }, 3), bad(/alpha/));
    assert.throws(() => resolveBiganConfig({ latent: 0 }, 3), bad(/latent/));
    assert.throws(() => resolveBiganConfig({ discriminatorUnits: 2.5 }, 3), bad(/discriminatorUnits/));
  });
});
