import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { onnx } from 'onnx-proto';
import { isSeismoError } from '../../src/errors';
import { initBackend } from '../../training/backend';
import { buildDeepAnt, type DeepAntConfig, deepAntAttention, deepAntPooledLength, deepAntScores, deepAntTargets, resolveDeepAntConfig } from '../../training/kinds/deepant/model';
import { exportDeepAnt } from '../../training/kinds/deepant/export';
import { fitScaler, seededRandom } from '../../training/fit';
import { cutScaledWindows } from '../../training/index';
import { maxRelDiff, runModel } from '../helpers/ort-run';
import { sineMixture, scrambleWeights } from './helpers';

const C = 3;
const CHANNELS = ['a', 'b', 'c'];


describe('training/deepant', function () {
  this.timeout(60_000);
  const frames = sineMixture(200, C, 6);
  const scaler = fitScaler(frames, C);

  before(async () => {
    await initBackend();
  });

  it('resolves defaults and rejects bad fields', () => {
    const c = resolveDeepAntConfig(undefined, C);
    assert.deepEqual([c.window, c.horizon, c.filters, c.kernelSize, c.poolSize, c.hidden, c.attention], [48, 1, [32, 32], 2, 2, 40, false]);
    assert.equal(deepAntPooledLength(c), 11);
    assert.throws(() => resolveDeepAntConfig({ window: 4 }, C), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /at least 5/.test(e.message));
    assert.throws(() => resolveDeepAntConfig({ filters: [8] as unknown as [number, number] }, C), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /filters/.test(e.message));
    assert.throws(() => resolveDeepAntConfig({ attention: 'yes' as unknown as boolean }, C), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /attention/.test(e.message));
    // The older boolean spellings keep meaning what they meant.
    assert.equal(deepAntAttention(resolveDeepAntConfig({ attention: true }, C)), 'self');
    assert.equal(deepAntAttention(resolveDeepAntConfig({ attention: false }, C)), 'none');
    assert.equal(deepAntAttention(resolveDeepAntConfig({ attention: 'bahdanau' }, C)), 'bahdanau');
  });

  it('trains on the first W - h frames of a window against its last h frames', () => {
    const w = tf.tensor3d(Float32Array.from({ length: 2 * 6 * C }, (_, i) => i), [2, 6, C]);
    try {
      const { x, y } = deepAntTargets({ horizon: 2 })(w);
      assert.deepEqual(x.shape, [2, 4, C]);
      assert.deepEqual(y.shape, [2, 2 * C]);
      assert.deepEqual([...y.dataSync().slice(0, 2 * C)], [12, 13, 14, 15, 16, 17]);
      tf.dispose([x, y]);
    } finally {
      w.dispose();
    }
  });

  const cases: [string, Partial<DeepAntConfig>][] = [
    ['plain, window 16', { window: 16, filters: [6, 5], hidden: 7 }],
    ['attention, odd history (window 20: 19 -> 9 -> 4 frames), kernel 3', { window: 20, filters: [6, 4], kernelSize: 3, hidden: 5, attention: true }],
    ['horizon 3, pool 3', { window: 24, horizon: 3, poolSize: 3, filters: [4, 4], hidden: 6 }],
    ['Bahdanau attention, window 20 (4 pooled steps), 5 units', { window: 20, filters: [6, 4], hidden: 5, attention: 'bahdanau', attentionUnits: 5 }],
    ['Bahdanau attention, horizon 2, pool 3 (2 pooled steps)', { window: 24, horizon: 2, poolSize: 3, filters: [4, 3], hidden: 6, attention: 'bahdanau' }],
  ];
  cases.forEach(([name, partial], i) => {
    it(`exports to ONNX with the same score, channel_score and forecast (${name})`, async () => {
      const config = resolveDeepAntConfig(partial, C);
      const W = config.window;
      const starts = [0, 5, 77, 200 - W];
      const model = buildDeepAnt(config);
      try {
        scrambleWeights(model, 30 + i, 0.5);
        const bytes = exportDeepAnt(model, config, CHANNELS, scaler);
        const got = await runModel(bytes, frames, C, starts);
        const ref = tf.tidy(() => {
          const s = deepAntScores(model, tf.tensor3d(cutScaledWindows(frames, scaler, W, starts), [starts.length, W, C]), config);
          return { score: s.score.dataSync() as Float32Array, channelScore: s.channelScore.dataSync() as Float32Array, forecast: s.forecast.dataSync() as Float32Array, attention: s.attention?.dataSync() as Float32Array | undefined };
        });
        if (deepAntAttention(config) === 'bahdanau') {
          // The weights over the pooled steps come out beside the score, as tfjs computes them, each row summing to 1.
          const steps = deepAntPooledLength(config);
          assert.deepEqual(got['attention']!.dims, [starts.length, steps]);
          assert.ok(ref.attention && maxRelDiff(got['attention']!.data, ref.attention) <= 1e-4, 'attention');
          for (let n = 0; n < starts.length; n++) {
            const row = got['attention']!.data.subarray(n * steps, (n + 1) * steps);
            assert.ok(Math.abs(row.reduce((a, b) => a + b, 0) - 1) < 1e-5);
          }
        } else {
          assert.equal(got['attention'], undefined);
        }
        assert.deepEqual(got['forecast']!.dims, [starts.length, config.horizon, C]);
        assert.ok(maxRelDiff(got['forecast']!.data, ref.forecast) <= 1e-4, 'forecast');
        assert.ok(maxRelDiff(got['score']!.data, ref.score) <= 1e-4, 'score');
        assert.ok(maxRelDiff(got['channel_score']!.data, ref.channelScore) <= 1e-4, 'channel_score');
        // score is the Euclidean forecast error, split over channels by squared error.
        for (let n = 0; n < starts.length; n++) {
          let sq = 0;
          for (let t = 0; t < config.horizon; t++)
            for (let c = 0; c < C; c++) {
              const target = (frames[(starts[n]! + W - config.horizon + t) * C + c]! - scaler.mean[c]!) / scaler.std[c]!;
              sq += (ref.forecast[(n * config.horizon + t) * C + c]! - target) ** 2;
            }
          assert.ok(Math.abs(Math.sqrt(sq) - got['score']!.data[n]!) <= 1e-4 * Math.max(1, Math.sqrt(sq)));
        }
        const ops = new Set((onnx.ModelProto.decode(bytes).graph?.node ?? []).map((nd) => nd.opType));
        for (const op of ['Conv', 'MaxPool', 'MatMul']) assert.ok(ops.has(op), `no ${op} in the graph`);
        assert.equal(ops.has('Softmax'), deepAntAttention(config) !== 'none');
      } finally {
        model.dispose();
      }
    });
  });
});
