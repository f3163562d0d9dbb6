// The float64 reference of the LSTM-AE graph (test/helpers/lstm-ae-reference.ts) against
// onnxruntime on graphs exported through training/export's blocks: the oracle of the native
// scorer must itself say what the exported graph computes.
import assert from 'node:assert/strict';
import { lstmAeFixture, type LstmAeFixtureShape, scoreLstmAeReference, uniform } from '../helpers/lstm-ae-reference.js';
import { maxRelDiff, runModel } from '../helpers/ort-run.js';

/** Float32 LSTM arithmetic over 64 steps against float64: what 1e-5 parity leaves room for. */
const TOL = 1e-5;

const cases: [string, LstmAeFixtureShape][] = [
  ['reference shape (W 64, C 8, [32] / [16])', { window: 64, channels: 8, encoder: [32], decoder: [16] }],
  ['hardSigmoid, saturated gates', { window: 12, channels: 3, encoder: [5], decoder: [7], gate: 'hardSigmoid', scale: 2 }],
  ['stacked, odd units ([17, 5] / [3, 9]), no output bias', { window: 9, channels: 5, encoder: [17, 5], decoder: [3, 9], outBias: false, seed: 4 }],
  ['W 2 (no channel_activity)', { window: 2, channels: 2, encoder: [3], decoder: [2], seed: 5 }],
];

describe('LSTM-AE float64 reference', function () {
  this.timeout(60_000);
  for (const [name, shape] of cases) {
    it(`matches onnxruntime on the exported graph: ${name}`, async () => {
      const { onnx, spec } = lstmAeFixture(shape);
      const rows = shape.window + 40;
      const frames = uniform(rows * shape.channels, 77, 3);
      const starts = [0, 7, 3, 40, 40, 1, 19];
      const ort = await runModel(onnx, frames, shape.channels, starts);
      const ref = scoreLstmAeReference(spec, frames, starts, starts.length);
      assert.ok(maxRelDiff(ref.score, ort['score']!.data) <= TOL, `score ${maxRelDiff(ref.score, ort['score']!.data)}`);
      assert.ok(maxRelDiff(ref.channelScore, ort['channel_score']!.data) <= TOL, 'channel_score');
      assert.ok(maxRelDiff(ref.reconstruction, ort['reconstruction']!.data) <= TOL, `reconstruction ${maxRelDiff(ref.reconstruction, ort['reconstruction']!.data)}`);
      if (shape.window >= 3) assert.ok(maxRelDiff(ref.channelActivity!, ort['channel_activity']!.data) <= TOL, 'channel_activity');
      else assert.equal(ref.channelActivity, null);
      assert.equal(ort['channel_activity'] === undefined, shape.window < 3);
      // Not trivially equal: the scores vary between windows.
      assert.ok(new Set(Array.from(ort['score']!.data.subarray(0, 4))).size > 2);
    });
  }

  it('is sensitive to the gate order: swapping the f and o blocks of the encoder breaks parity', async () => {
    const shape: LstmAeFixtureShape = { window: 10, channels: 3, encoder: [6], decoder: [4], scale: 1 };
    const { onnx, spec } = lstmAeFixture(shape);
    const frames = uniform(30 * 3, 3, 2);
    const ort = await runModel(onnx, frames, 3, [0, 5, 20]);
    const enc = spec.encoder[0]!;
    const H = enc.units;
    const W = enc.W.slice();
    W.copyWithin(H * enc.inputSize, 2 * H * enc.inputSize, 3 * H * enc.inputSize);
    W.set(enc.W.subarray(H * enc.inputSize, 2 * H * enc.inputSize), 2 * H * enc.inputSize);
    const swapped = { ...spec, encoder: [{ ...enc, W }] };
    const ref = scoreLstmAeReference(swapped, frames, [0, 5, 20], 3);
    assert.ok(maxRelDiff(ref.reconstruction, ort['reconstruction']!.data) > 100 * TOL);
  });

  it('propagates NaN in a frame to the windows that contain it, and only those', async () => {
    const shape: LstmAeFixtureShape = { window: 6, channels: 2, encoder: [3], decoder: [3] };
    const { onnx, spec } = lstmAeFixture(shape);
    const frames = uniform(20 * 2, 9, 1);
    frames[10 * 2 + 1] = NaN;
    const starts = [0, 5, 10, 11];
    const ort = await runModel(onnx, frames, 2, starts);
    const ref = scoreLstmAeReference(spec, frames, starts, 4);
    assert.deepEqual(Array.from(ref.score, Number.isNaN), [false, true, true, false]);
    assert.deepEqual(Array.from(ort['score']!.data, Number.isNaN), [false, true, true, false]);
  });
});
