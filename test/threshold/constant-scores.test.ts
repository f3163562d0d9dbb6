/**
 * A channel or series that was constant in the data a model learnt from scores 0 on every
 * training window (PCA, autoencoders reconstruct it exactly). A threshold of 0 would then flag
 * every row at inference (`score >= threshold`): thresholds are moved above such ties.
 */
import assert from 'node:assert/strict';
import { initBackend, trainModel } from '../../training/index';
import { quantileAboveTies, quantileThreshold } from '../../src/threshold/fixed';
import { runModel } from '../helpers/ort-run';

describe('thresholds on tied (constant) calibration scores', function () {
  this.timeout(60_000);

  it('moves a quantile threshold above a constant sample, so that sample does not alarm', () => {
    const rule = quantileThreshold(new Float64Array(500), 0.995);
    assert.ok(rule.value > 0 && rule.value <= 1e-6, String(rule.value));
    assert.equal(rule.decide(0), false);
    assert.equal(rule.decide(0.01), true);
    const five = quantileThreshold(new Float64Array(500).fill(5), 0.995);
    assert.ok(five.value > 5 && five.value <= 5 + 5e-6);
  });

  it('moves above ties below the maximum too, and leaves untied quantiles alone', () => {
    const xs = new Float64Array(1000);
    xs[999] = 3;
    const v = quantileAboveTies(xs, 0.99);
    assert.ok(v > 0 && v < 3);
    const spread = Float64Array.from({ length: 1000 }, (_, i) => i);
    assert.equal(quantileAboveTies(spread, 0.99), 989.01);
  });

  it('PCA trained on a constant series stores a threshold above its scores', async () => {
    await initBackend();
    const frames = new Float32Array(300 * 2).fill(4);
    const r = await trainModel({ kind: 'pca', frames, channels: ['a', 'b'], config: { components: 1, window: 4 } });
    try {
      const threshold = r.manifest.thresholds.global.value;
      assert.ok(threshold > 0, `threshold ${threshold}`);
      const out = await runModel(r.onnx, frames, 2, [0, 50, 200]);
      for (const s of out['score']!.data) assert.ok(s < threshold, `score ${s} >= threshold ${threshold}`);
    } finally {
      r.dispose();
    }
  });
});
