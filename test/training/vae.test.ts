import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors';
import { initBackend, resolveVaeConfig, trainModel } from '../../training/index';
import { CHANNELS, checkKind, tfjsScores } from './baseline-kinds';
import { sineMixture } from './helpers';

const bad = (pattern: RegExp) => (err: unknown) => isSeismoError(err, 'ERR_INVALID_OPTION') && pattern.test(err.message);

describe('training/vae', function () {
  this.timeout(30_000);
  before(() => initBackend());

  it('ORT matches tfjs (latent-mean path), channel_score sums to score, planted anomaly ranks first', async () => {
    const r = await checkKind('vae', { epochs: 3, encoderUnits: [8], latent: 2 });
    assert.ok(r.manifest.training.losses.every(Number.isFinite));
    r.dispose();
  });

  it('W = 4 windows', async () => {
    (await checkKind('vae', { window: 4, epochs: 2, encoderUnits: [8], latent: 3, klWeight: 0.5 })).dispose();
  });

  it('same seed, same model (seeded reparameterisation noise); another seed, another model; scoring is deterministic', async () => {
    const frames = sineMixture(200, 3, 2);
    const train = (seed: number) => trainModel({ kind: 'vae', frames, channels: CHANNELS, seed, config: { epochs: 2, encoderUnits: [8], latent: 2 } });
    const [a, b, c] = [await train(1), await train(1), await train(2)];
    const sa = tfjsScores(a, frames, [0, 60, 199]).score;
    assert.deepEqual(sa, tfjsScores(b, frames, [0, 60, 199]).score);
    assert.deepEqual(sa, tfjsScores(a, frames, [0, 60, 199]).score);
    assert.notDeepEqual(sa, tfjsScores(c, frames, [0, 60, 199]).score);
    [a, b, c].forEach((r) => r.dispose());
  });

  it('rejects bad configs', () => {
    assert.throws(() => resolveVaeConfig({ latent: 0 }, 3), bad(/latent/));
    assert.throws(() => resolveVaeConfig({ klWeight: -1 }, 3), bad(/klWeight/));
    assert.throws(() => resolveVaeConfig({ encoderUnits: [] }, 3), bad(/encoderUnits/));
  });
});
