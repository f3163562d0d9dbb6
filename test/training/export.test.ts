import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { onnx } from 'onnx-proto';
import { initBackend } from '../../training/backend';
import { kerasToOnnxGates } from '../../training/export/blocks';
import { exportLstmAe } from '../../training/kinds/lstm-ae/export';
import { fitScaler, seededRandom } from '../../training/fit';
import { cutScaledWindows, predictScores, trainModel } from '../../training/index';
import { buildLstmAe, LSTM_AE_LAYERS, type LstmAeConfig, resolveLstmAeConfig } from '../../training/kinds/lstm-ae/model';
import { maxAbsDiff, runOrt, sineMixture, scrambleWeights } from './helpers';

const TOL = 1e-4;
const C = 3;
const W = 16;
const CHANNELS = ['x', 'y', 'z'];

/** Windows at irregular starts, including the first and the last possible one. */
function someStarts(frames: number): number[] {
  return [0, 1, 7, 40, Math.floor(frames / 2), frames - W - 3, frames - W];
}

/** Compares tfjs and ORT on the same raw frames + starts; returns the three max abs diffs. */
async function parity(model: tfl.LayersModel, bytes: Uint8Array, frames: Float32Array, scaler: { mean: number[]; std: number[] }, starts: number[]) {
  const windows = cutScaledWindows(frames, scaler, W, starts);
  const ref = predictScores(model, { data: windows, shape: [starts.length, W, C] });
  const got = await runOrt(bytes, frames, C, starts);
  assert.deepEqual(got.dims['reconstruction'], [starts.length, W, C]);
  assert.deepEqual(got.dims['channel_score'], [starts.length, C]);
  assert.deepEqual(got.dims['score'], [starts.length]);
  return {
    reconstruction: maxAbsDiff(ref.reconstruction, got.reconstruction),
    score: maxAbsDiff(ref.score, got.score),
    channelScore: maxAbsDiff(ref.channelScore, got.channelScore),
    ref,
    got,
  };
}

function assertParity(d: { reconstruction: number; score: number; channelScore: number }, what: string): void {
  assert.ok(d.reconstruction <= TOL, `${what}: reconstruction differs by ${d.reconstruction}`);
  assert.ok(d.score <= TOL, `${what}: score differs by ${d.score}`);
  assert.ok(d.channelScore <= TOL, `${what}: channel_score differs by ${d.channelScore}`);
}


describe('training/export: LSTM-AE to ONNX', function () {
  this.timeout(60_000);
  const frames = sineMixture(320, C, 7);
  const scaler = fitScaler(frames, C);

  before(async () => {
    await initBackend();
  });

  describe('a trained model (encoder [8, 6], decoder [4])', () => {
    let trained: Awaited<ReturnType<typeof trainModel>>;
    before(async () => {
      trained = await trainModel({
        kind: 'lstm-ae',
        frames,
        channels: CHANNELS,
        config: { window: W, encoderUnits: [8, 6], decoderUnits: [4], epochs: 2, batchSize: 32, learningRate: 0.01 },
        seed: 3,
      });
    });
    after(() => trained?.dispose());

    it('gives the same reconstruction, score and channel_score in onnxruntime (frames + starts)', async () => {
      const d = await parity(trained.model, trained.onnx, frames, trained.manifest.scaler, someStarts(320));
      assertParity(d, 'trained');
      // The contract: score is the sum of the channel shares.
      for (let n = 0; n < d.got.score.length; n++) {
        const sum = d.got.channelScore.slice(n * C, (n + 1) * C).reduce((a, b) => a + b, 0);
        assert.ok(Math.abs(sum - d.got.score[n]!) <= 1e-6 * Math.max(1, sum), `window ${n}: ${sum} vs ${d.got.score[n]}`);
      }
    });

    it('accepts a plain batch of windows as frames = windows.reshape(N*W, C), starts = [0, W, ...]', async () => {
      const starts = someStarts(320);
      const span = await runOrt(trained.onnx, frames, C, starts);
      const batch = new Float32Array(starts.length * W * C);
      starts.forEach((s, n) => batch.set(frames.subarray(s * C, (s + W) * C), n * W * C));
      const plain = await runOrt(trained.onnx, batch, C, starts.map((_, n) => n * W));
      assert.ok(maxAbsDiff(span.score, plain.score) <= 1e-6);
    });

    it('carries the seismo metadata, opset 17 and IR version 8', () => {
      const m = onnx.ModelProto.decode(trained.onnx);
      assert.equal(Number(m.irVersion), 8);
      assert.deepEqual(
        m.opsetImport.map((o) => [o.domain, Number(o.version)]),
        [['', 17]],
      );
      const meta = Object.fromEntries(m.metadataProps.map((p) => [p.key, p.value]));
      assert.deepEqual(meta, { 'seismo.formatVersion': '1', 'seismo.kind': 'lstm-ae', 'seismo.window': String(W), 'seismo.channels': JSON.stringify(CHANNELS) });
      assert.deepEqual(
        (m.graph?.input ?? []).map((i) => i.name),
        ['frames', 'starts'],
      );
      assert.deepEqual((m.graph?.output ?? []).map((o) => o.name).sort(), ['channel_activity', 'channel_score', 'reconstruction', 'score']);
      assert.deepEqual([...trained.manifest.onnx.outputs].sort(), ['channel_activity', 'channel_score', 'reconstruction', 'score']);
    });
  });

  describe('architectures', () => {
    const cases: [string, Partial<LstmAeConfig>][] = [
      ['asymmetric (strong encoder [12], weak decoder [3])', { encoderUnits: [12], decoderUnits: [3] }],
      ['stacked (encoder [8, 7, 6], decoder [5, 4])', { encoderUnits: [8, 7, 6], decoderUnits: [5, 4] }],
      ['single layer each side ([5] / [5])', { encoderUnits: [5], decoderUnits: [5] }],
    ];
    cases.forEach(([name, partial], i) => {
      it(`${name} exports and matches with non-trivial weights`, async () => {
        const config = resolveLstmAeConfig({ window: W, ...partial }, C);
        const model = buildLstmAe(config);
        try {
          scrambleWeights(model, 100 + i, 0.8);
          assertParity(await parity(model, exportLstmAe(model, config, CHANNELS, scaler), frames, scaler, someStarts(320)), name);
        } finally {
          model.dispose();
        }
      });
    });
  });

  describe('gate order (Keras i,f,c,o -> ONNX i,o,f,c)', () => {
    it('maps each Keras gate block to its ONNX position, transposed', () => {
      // in = 1, H = 1: the kernel row is just the four gate values i, f, c, o.
      assert.deepEqual([...kerasToOnnxGates(Float32Array.of(1, 2, 3, 4), 1, 1)], [1, 4, 2, 3]);
      // in = 2, H = 1: row k of the Keras kernel is input k; ONNX wants [gate][input].
      assert.deepEqual([...kerasToOnnxGates(Float32Array.of(1, 2, 3, 4, 10, 20, 30, 40), 2, 1)], [1, 10, 4, 40, 2, 20, 3, 30]);
    });

    it('is observable: swapping two gates in the tfjs model moves the output far beyond the tolerance', async () => {
      const config = resolveLstmAeConfig({ window: W, encoderUnits: [6], decoderUnits: [4] }, C);
      const model = buildLstmAe(config);
      try {
        scrambleWeights(model, 7, 0.8);
        const bytes = exportLstmAe(model, config, CHANNELS, scaler);
        assertParity(await parity(model, bytes, frames, scaler, someStarts(320)), 'scrambled');
        // Swap the forget and output gate blocks of the encoder in tfjs only: if the exporter's
        // gate mapping were wrong in the same way, this is the model ORT would be running.
        const layer = model.getLayer(LSTM_AE_LAYERS.encoder(0));
        const H = 6;
        const swapped = layer.getWeights().map((w) => {
          const cols = w.shape[w.shape.length - 1]!;
          const rows = w.size / cols;
          const v = w.dataSync().slice();
          for (let r = 0; r < rows; r++)
            for (let j = 0; j < H; j++) {
              const f = r * cols + H + j;
              const o = r * cols + 3 * H + j;
              [v[f], v[o]] = [v[o]!, v[f]!];
            }
          return tf.tensor(v, w.shape);
        });
        layer.setWeights(swapped);
        tf.dispose(swapped);
        const d = await parity(model, bytes, frames, scaler, someStarts(320));
        assert.ok(d.reconstruction > 100 * TOL, `a gate swap changed the reconstruction by only ${d.reconstruction}`);
      } finally {
        model.dispose();
      }
    });

    it('exports tfjs hardSigmoid gates as ONNX HardSigmoid(0.2, 0.5)', async () => {
      // buildLstmAe always uses sigmoid; a model with tfjs' default gate activation checks the
      // other branch of the exporter (models trained elsewhere with defaults).
      const config = resolveLstmAeConfig({ window: W, encoderUnits: [6], decoderUnits: [4] }, C);
      // (tfjs' default orthogonal recurrent initializer needs the full tfjs bundle; the weights are
      // overwritten below anyway.)
      const init = { recurrentInitializer: 'glorotUniform' as const };
      const model = tfl.sequential();
      model.add(tfl.layers.lstm({ ...init, units: 6, inputShape: [W, C], recurrentActivation: 'hardSigmoid', name: LSTM_AE_LAYERS.encoder(0) }));
      model.add(tfl.layers.repeatVector({ n: W }));
      model.add(tfl.layers.lstm({ ...init, units: 4, returnSequences: true, recurrentActivation: 'hardSigmoid', name: LSTM_AE_LAYERS.decoder(0) }));
      model.add(tfl.layers.timeDistributed({ layer: tfl.layers.dense({ units: C }), name: LSTM_AE_LAYERS.output }));
      try {
        // Scale 3 pushes gate pre-activations past +-2.5, into HardSigmoid's clipped range.
        scrambleWeights(model, 11, 3);
        assertParity(await parity(model, exportLstmAe(model, config, CHANNELS, scaler), frames, scaler, someStarts(320)), 'hardSigmoid');
      } finally {
        model.dispose();
      }
    });
  });
});
