import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { onnx } from 'onnx-proto';
import { isSeismoError } from '../../src/errors';
import { initBackend } from '../../training/backend';
import { buildDcVae, DC_VAE_LAYERS, type DcVaeConfig, dcVaeLoss, dcVaeNativeGradients, dcVaeReceptiveField, dcVaeScores, dcVaeTargets, resolveDcVaeConfig } from '../../training/kinds/dc-vae/model';
import { dcVaeNetworkField, exportDcVae } from '../../training/kinds/dc-vae/export';
import { fitScaler, seededRandom } from '../../training/fit';
import { cutScaledWindows } from '../../training/index';
import { kernelPath, setNativeKernelsEnabled } from '../../training/native-ops';
import { causalConv1d } from '../../training/ops/causal-conv';
import { maxRelDiff, runModel } from '../helpers/ort-run';
import { sineMixture, scrambleWeights } from './helpers';

const C = 3;
const W = 16;
const CHANNELS = ['a', 'b', 'c'];

/** y[n,t,o] = b[o] + sum_j sum_i x[n, t-(k-1-j)d, i] k[j,i,o], by loops. */
function naiveCausalConv(x: Float32Array, [N, T, Cin]: number[], kernel: Float32Array, k: number, Cout: number, bias: Float32Array, d: number): Float32Array {
  const y = new Float32Array(N * T * Cout);
  for (let n = 0; n < N; n++)
    for (let t = 0; t < T; t++)
      for (let o = 0; o < Cout; o++) {
        let s = bias[o]!;
        for (let j = 0; j < k; j++) {
          const src = t - (k - 1 - j) * d;
          if (src < 0) continue;
          for (let i = 0; i < Cin; i++) s += x[(n * T + src) * Cin + i]! * kernel[(j * Cin + i) * Cout + o]!;
        }
        y[(n * T + t) * Cout + o] = s;
      }
  return y;
}

function uniform(n: number, rand: () => number, scale = 1): Float32Array {
  return Float32Array.from({ length: n }, () => (2 * rand() - 1) * scale);
}


describe('training/ops: causalConv1d', () => {
  before(async () => {
    await initBackend();
  });

  for (const [k, d] of [
    [1, 1],
    [2, 1],
    [2, 4],
    [3, 2],
  ] as const) {
    it(`equals the loop definition (k ${k}, dilation ${d}) and is causal`, () => {
      const rand = seededRandom(10 * k + d);
      const [N, T, Cin, Cout] = [2, 11, 3, 4];
      const x = uniform(N * T * Cin, rand);
      const kernel = uniform(k * Cin * Cout, rand);
      const bias = uniform(Cout, rand);
      const got = tf.tidy(() => causalConv1d(tf.tensor3d(x, [N, T, Cin]), tf.tensor3d(kernel, [k, Cin, Cout]), tf.tensor1d(bias), d).dataSync() as Float32Array);
      assert.ok(maxRelDiff(got, naiveCausalConv(x, [N, T, Cin], kernel, k, Cout, bias, d)) <= 1e-5);
    });
  }

  it('has gradients on this backend (wasm lacks Conv2DBackpropFilter; this op needs none)', () => {
    const rand = seededRandom(3);
    const x = tf.tensor3d(uniform(2 * 9 * 2, rand), [2, 9, 2]);
    const kernel = tf.tensor3d(uniform(2 * 2 * 3, rand), [2, 2, 3]);
    const bias = tf.tensor1d(uniform(3, rand));
    try {
      const f = (kk: tf.Tensor) => tf.sum(tf.square(causalConv1d(x, kk as tf.Tensor3D, bias, 2)));
      const g = tf.grad(f)(kernel);
      // Central finite difference on one kernel entry.
      const h = 1e-2;
      const bump = (delta: number) => tf.tidy(() => f(tf.add(kernel, tf.mul(tf.reshape(tf.oneHot(tf.tensor1d([5], 'int32'), 12), [2, 2, 3]), delta))).dataSync()[0]!);
      const numeric = (bump(h) - bump(-h)) / (2 * h);
      assert.ok(Math.abs(g.dataSync()[5]! - numeric) <= 1e-2 * Math.max(1, Math.abs(numeric)), `grad ${g.dataSync()[5]} vs numeric ${numeric}`);
      g.dispose();
    } finally {
      tf.dispose([x, kernel, bias]);
    }
  });

  it('rejects disagreeing shapes and a bad dilation', () => {
    const x = tf.zeros([1, 4, 2]) as tf.Tensor3D;
    const k = tf.zeros([2, 3, 1]) as tf.Tensor3D;
    const b = tf.zeros([1]) as tf.Tensor1D;
    try {
      assert.throws(() => causalConv1d(x, k, b, 1), (e: unknown) => isSeismoError(e, 'ERR_BAD_SHAPE'));
      assert.throws(() => causalConv1d(x, tf.zeros([2, 2, 1]) as tf.Tensor3D, b, 0), (e: unknown) => isSeismoError(e, 'ERR_BAD_SHAPE') && /dilation/.test(e.message));
    } finally {
      tf.dispose([x, k, b]);
    }
  });
});

describe('training/dc-vae', function () {
  this.timeout(60_000);
  const frames = sineMixture(200, C, 4);
  const scaler = fitScaler(frames, C);
  const starts = [0, 3, 50, 100, 200 - W];

  before(async () => {
    await initBackend();
  });

  it('resolves defaults and rejects bad fields', () => {
    const c = resolveDcVaeConfig(undefined, C);
    assert.equal(c.window, 64);
    // The encoder reaches 32 frames, encoder then decoder 63: within the window (so it has a step graph).
    assert.equal(dcVaeReceptiveField(c), 32);
    assert.equal(dcVaeNetworkField(c), 63);
    assert.equal(c.kernelSize, 2);
    assert.equal(c.alpha, 3);
    assert.throws(() => resolveDcVaeConfig({ depth: 0 }, C), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /depth/.test(e.message));
    assert.throws(() => resolveDcVaeConfig({ activation: 'sigmoid' as 'relu' }, C), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /activation/.test(e.message));
    assert.throws(() => resolveDcVaeConfig({ klWeight: -1 }, C), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /klWeight/.test(e.message));
    assert.throws(() => resolveDcVaeConfig({ channels: 5 }, C), (e: unknown) => isSeismoError(e, 'ERR_INVALID_OPTION') && /channels/.test(e.message));
  });

  it('loss = Gaussian NLL summed over channels + klWeight x KL, per frame, averaged', () => {
    const cfg = { channels: 1, latent: 1, klWeight: 0.5 };
    // One window, one frame: x = 1, mu = 0.5, logVar = 0.2, muZ = 0.3, logVarZ = -0.4.
    const loss = tf.tidy(() => dcVaeLoss(cfg)(tf.tensor3d([1, 0, 0, 0], [1, 1, 4]), tf.tensor3d([0.5, 0.2, 0.3, -0.4], [1, 1, 4])).dataSync()[0]!);
    const nll = 0.5 * (0.2 + 0.25 * Math.exp(-0.2) + Math.log(2 * Math.PI));
    const kl = 0.5 * (0.09 + Math.exp(-0.4) - 1 + 0.4);
    assert.ok(Math.abs(loss - (nll + 0.5 * kl)) <= 1e-5, `${loss} vs ${nll + 0.5 * kl}`);
  });

  it('is causal: changing the last frame leaves the outputs of earlier frames alone', () => {
    const config = resolveDcVaeConfig({ window: W, depth: 3, filters: 6, latent: 2 }, C);
    const model = buildDcVae(config);
    try {
      scrambleWeights(model, 5, 0.5);
      const x = cutScaledWindows(frames, scaler, W, [10]);
      const y = x.slice();
      for (let c = 0; c < C; c++) y[(W - 1) * C + c]! += 5;
      const [a, b] = [x, y].map((v) => tf.tidy(() => (model.predict(tf.tensor3d(v, [1, W, C])) as tf.Tensor).dataSync() as Float32Array));
      const width = a!.length / W;
      assert.ok(maxRelDiff(a!.subarray(0, (W - 1) * width), b!.subarray(0, (W - 1) * width)) === 0);
      assert.ok(maxRelDiff(a!.subarray((W - 1) * width), b!.subarray((W - 1) * width)) > 1e-3);
    } finally {
      model.dispose();
    }
  });

  const cases: [string, Partial<DcVaeConfig>][] = [
    ['depth 3, kernel 2, relu, latent 2', { depth: 3, filters: 6, latent: 2 }],
    ['depth 2, kernel 3, tanh, latent 1', { depth: 2, kernelSize: 3, filters: 5, latent: 1, activation: 'tanh' }],
  ];
  cases.forEach(([name, partial], i) => {
    it(`exports to ONNX with the same score, channel_score, mean and std (${name})`, async () => {
      const config = resolveDcVaeConfig({ window: W, ...partial }, C);
      const model = buildDcVae(config);
      try {
        scrambleWeights(model, 20 + i, 0.5);
        const bytes = exportDcVae(model, config, CHANNELS, scaler);
        const got = await runModel(bytes, frames, C, starts);
        const ref = tf.tidy(() => {
          const s = dcVaeScores(model, tf.tensor3d(cutScaledWindows(frames, scaler, W, starts), [starts.length, W, C]), config);
          return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v.dataSync() as Float32Array]));
        });
        assert.deepEqual(got['score']!.dims, [starts.length]);
        assert.deepEqual(got['channel_score']!.dims, [starts.length, C]);
        for (const [out, key] of [
          ['score', 'score'],
          ['channel_score', 'channelScore'],
          ['mean', 'mean'],
          ['std', 'std'],
        ] as const) {
          const d = maxRelDiff(got[out]!.data, ref[key]!);
          assert.ok(d <= 1e-4, `${out} differs by ${d}`);
        }
        const m = onnx.ModelProto.decode(bytes);
        const convs = (m.graph?.node ?? []).filter((n) => n.opType === 'Conv');
        // depth convs in the encoder and the decoder, plus the latent-mean head.
        assert.equal(convs.length, 2 * config.depth + 1);
        const dil = convs.slice(0, config.depth).map((n) => n.attribute?.find((a) => a.name === 'dilations')?.ints?.map(Number));
        assert.deepEqual(dil, Array.from({ length: config.depth }, (_, j) => [2 ** j]));
      } finally {
        model.dispose();
      }
    });
  });

  it('samples the latent only in training: predict is deterministic, a training call is not', () => {
    const config = resolveDcVaeConfig({ window: W, depth: 2, filters: 4, latent: 2 }, C);
    const model = buildDcVae(config);
    try {
      const x = tf.tensor3d(cutScaledWindows(frames, scaler, W, [0, 1]), [2, W, C]);
      const [a, b] = [0, 1].map(() => tf.tidy(() => (model.predict(x) as tf.Tensor).dataSync() as Float32Array));
      assert.equal(maxRelDiff(a!, b!), 0);
      const sample = model.getLayer(DC_VAE_LAYERS.sample);
      const latent = tf.tidy(() => model.getLayer(DC_VAE_LAYERS.encoderHead).apply(tf.ones([1, W, config.filters])) as tf.Tensor);
      const [s1, s2] = [0, 1].map(() => tf.tidy(() => (sample.apply(latent, { training: true }) as tf.Tensor).dataSync() as Float32Array));
      assert.ok(maxRelDiff(s1!, s2!) > 1e-3, 'two training-mode draws were equal');
      tf.dispose([x, latent]);
    } finally {
      model.dispose();
    }
  });

  // The native training step (training/native-ops/dc-vae-step.ts) replaces tfjs autodiff in
  // trainOnBatch: it must give the loss and every weight gradient of the layers model.
  const gradientCases: [string, Partial<DcVaeConfig>][] = [
    ['relu, kernel 2, clipped log-variances', { depth: 3, filters: 6, latent: 2, klWeight: 0.3, logVarBound: 0.6 }],
    ['tanh, kernel 3', { depth: 2, kernelSize: 3, filters: 5, latent: 1, activation: 'tanh' }],
  ];
  gradientCases.forEach(([name, partial], i) => {
    it(`native training step: loss and gradients equal tfjs autodiff (${name})`, function () {
      if (kernelPath().path !== 'native') this.skip();
      const config = resolveDcVaeConfig({ window: W, ...partial }, C);
      // Same config and seed: same initial weights (then scrambled alike) and the same noise stream.
      const [ref, native] = [buildDcVae(config), buildDcVae(config)];
      const x = tf.tensor3d(cutScaledWindows(frames, scaler, W, [0, 7, 40, 90, 150]), [5, W, C]);
      const { y } = dcVaeTargets(config)(x);
      try {
        scrambleWeights(ref!, 30 + i, 0.8);
        scrambleWeights(native!, 30 + i, 0.8);
        setNativeKernelsEnabled(false); // reference: plain tfjs ops and tfjs autodiff
        const vars = ref!.trainableWeights.map((w) => w.read() as tf.Variable);
        const want = tf.variableGrads(() => tf.mean(dcVaeLoss(config)(y, ref!.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar, vars);
        setNativeKernelsEnabled(true);
        const got = dcVaeNativeGradients(native!, x, y)!;
        assert.ok(got, 'the native step applies');
        try {
          const wantLoss = want.value.dataSync()[0]!;
          assert.ok(Math.abs(got.loss - wantLoss) <= 1e-5 * Math.abs(wantLoss), `loss ${got.loss} vs ${wantLoss}`);
          const gotGrads = Object.values(got.grads);
          assert.equal(gotGrads.length, vars.length);
          vars.forEach((v, j) => {
            const a = gotGrads[j]!.dataSync();
            const b = want.grads[v.name]!.dataSync();
            assert.deepEqual(gotGrads[j]!.shape, v.shape);
            let scale = 0;
            for (const e of b) scale = Math.max(scale, Math.abs(e));
            let diff = 0;
            for (let e = 0; e < a.length; e++) diff = Math.max(diff, Math.abs(a[e]! - b[e]!));
            assert.ok(scale > 0 && diff <= 1e-4 * scale, `${v.name}: max diff ${diff} vs max |grad| ${scale}`);
          });
        } finally {
          tf.dispose([want.value, ...Object.values(want.grads), ...Object.values(got.grads)]);
        }
      } finally {
        setNativeKernelsEnabled(true);
        tf.dispose([x, y]);
        ref!.dispose();
        native!.dispose();
      }
    });
  });
});
