import assert from 'node:assert/strict';
import { isSeismoError } from '../../src/errors';
import { initBackend, resolveOcsvmConfig, trainModel } from '../../training/index';
import { ocsvmParams } from '../../training/kinds/ocsvm/model';
import { CHANNELS, checkKind } from './baseline-kinds';
import { runModel } from '../helpers/ort-run';
import { sineMixture } from './helpers';

const bad = (pattern: RegExp) => (err: unknown) => isSeismoError(err, 'ERR_INVALID_OPTION') && pattern.test(err.message);

describe('training/ocsvm', function () {
  this.timeout(30_000);
  before(() => initBackend());

  it('ORT matches tfjs, channel_score sums to score, planted anomaly ranks first', async () => {
    const r = await checkKind('ocsvm', {});
    const p = ocsvmParams(r.model);
    // nu bounds the support-vector fraction from below (240 training windows after validation).
    assert.ok(p.count >= 0.1 * 240 - 1, `support vectors ${p.count}`);
    assert.ok(p.gamma > 0);
    r.dispose();
  });

  it('W = 4 windows, explicit gamma, subsampled training set', async () => {
    const r = await checkKind('ocsvm', { window: 4, gamma: 0.1, nu: 0.2, maxWindows: 100 });
    assert.equal(ocsvmParams(r.model).gamma, 0.1);
    r.dispose();
  });

  it('training inliers mostly score below 0 (about 1 - nu of them), and the fit is deterministic', async () => {
    const frames = sineMixture(300, 3, 2);
    const train = () => trainModel({ kind: 'ocsvm', frames, channels: CHANNELS, config: { nu: 0.1, validationSplit: 0 } });
    const [a, b] = [await train(), await train()];
    const starts = Array.from({ length: 300 }, (_, i) => i);
    const sa = (await runModel(a.onnx, frames, 3, starts))['score']!.data;
    const inside = sa.filter((s) => s <= 1e-4).length / sa.length;
    assert.ok(inside >= 0.85, `inside fraction ${inside}`);
    assert.deepEqual(sa, (await runModel(b.onnx, frames, 3, starts))['score']!.data);
    a.dispose();
    b.dispose();
  });

  it('loading libsvm-js leaves no process-exiting unhandledRejection listener behind', () => {
    for (const l of process.listeners('unhandledRejection')) assert.doesNotMatch(String(l), /process\["exit"\]/);
  });

  it('rejects bad configs', () => {
    assert.throws(() => resolveOcsvmConfig({ nu: 0 }, 3), bad(/nu/));
    assert.throws(() => resolveOcsvmConfig({ nu: 1.5 }, 3), bad(/nu/));
    assert.throws(() => resolveOcsvmConfig({ gamma: -1 }, 3), bad(/gamma/));
    assert.throws(() => resolveOcsvmConfig({ gamma: 'auto' as 'scale' }, 3), bad(/gamma/));
  });
});
