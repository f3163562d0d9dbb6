import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors';
import { initBackend, resolvePcaConfig, trainModel } from '../../training/index';
import { pcaComponents } from '../../training/kinds/pca/model';
import { CHANNELS, checkKind } from './baseline-kinds';
import { runModel } from '../helpers/ort-run';
import { sineMixture } from './helpers';

const bad = (pattern: RegExp) => (err: unknown) => isSeismoError(err, 'ERR_INVALID_OPTION') && pattern.test(err.message);

describe('training/pca', function () {
  this.timeout(30_000);
  before(() => initBackend());

  it('fixed k: ORT matches tfjs, channel_score sums to score, planted anomaly ranks first', async () => {
    const r = await checkKind('pca', { components: 1 });
    assert.equal(pcaComponents(r.model), 1);
    r.dispose();
  });

  it('explained-variance mode picks k on W = 4 windows', async () => {
    const r = await checkKind('pca', { window: 4, explainedVariance: 0.8 });
    const k = pcaComponents(r.model);
    assert.ok(k >= 1 && k < 12, `k = ${k}`);
    r.dispose();
  });

  it('keeping every component reconstructs exactly (score ~ 0)', async () => {
    const frames = sineMixture(200, 3, 2);
    const r = await trainModel({ kind: 'pca', frames, channels: CHANNELS, config: { components: 3 } });
    const out = await runModel(r.onnx, frames, 3, [0, 10, 150]);
    assert.ok(out['score']!.data.every((s) => s < 1e-8), String(out['score']));
    r.dispose();
  });

  it('rejects bad configs', () => {
    assert.throws(() => resolvePcaConfig({ components: 4 }, 3), bad(/components/));
    assert.throws(() => resolvePcaConfig({ explainedVariance: 0 }, 3), bad(/explainedVariance/));
    assert.throws(() => resolvePcaConfig({ maxWindows: 0 }, 3), bad(/maxWindows/));
  });
});
