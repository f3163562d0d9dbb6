import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backend';
import { buildLstmAe, lstmAeNativeGradients, resolveLstmAeConfig, type LstmAeConfig } from '../../training/kinds/lstm-ae/model';
import { kernelPath, setNativeKernelsEnabled } from '../../training/native-ops';

const [N, W, C] = [6, 14, 3];

function windows(seed: number): tf.Tensor3D {
  return tf.tensor3d(Float32Array.from({ length: N * W * C }, (_, i) => Math.sin(i * 0.29 + seed) + 0.3 * Math.cos(i * 1.31 + 2 * seed)), [N, W, C]);
}

function config(partial: Partial<LstmAeConfig>): LstmAeConfig {
  return resolveLstmAeConfig({ window: W, batchSize: N, learningRate: 0.01, seed: 5, ...partial }, C);
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}

function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

// The native training step (training/native-ops/lstm-ae-step.ts) replaces tfjs autodiff in the
// LSTM-AE's trainOnBatch: it must give tfjs-layers' loss and every weight gradient, in the order
// tfjs-layers hands them to the optimizer.
describe('training/native-ops LSTM-AE training step', function () {
  this.timeout(60_000);
  before(async function () {
    await initBackend();
    // Without the addon there is no native step to compare (the tfjs step runs; train.test covers it).
    if (kernelPath().path !== 'native') this.skip();
  });
  afterEach(() => setNativeKernelsEnabled(true));

  const cases: [string, Partial<LstmAeConfig>][] = [
    ['one encoder and one decoder layer', { encoderUnits: [9], decoderUnits: [5] }],
    ['stacks of two (sequences between encoder layers and between decoder layers)', { encoderUnits: [7, 4], decoderUnits: [6, 5] }],
  ];
  for (const [name, partial] of cases) {
    it(`gives tfjs autodiff's loss and gradients (${name})`, () => {
      const model = buildLstmAe(config(partial));
      const x = windows(1);
      try {
        setNativeKernelsEnabled(false); // reference: plain tfjs ops and tfjs autodiff
        const vars = model.trainableWeights.map((w) => w.read() as tf.Variable);
        const want = tf.variableGrads(() => tf.mean(tf.square(tf.sub(model.apply(x) as tf.Tensor, x))) as tf.Scalar, vars);
        setNativeKernelsEnabled(true);
        const got = lstmAeNativeGradients(model, x, x);
        assert.ok(got, 'the native step applies');
        try {
          const wantLoss = want.value.dataSync()[0]!;
          assert.ok(Math.abs(got.loss - wantLoss) <= 1e-6 * wantLoss, `loss ${got.loss} vs ${wantLoss}`);
          assert.deepEqual(Object.keys(got.grads), vars.map((v) => v.name), 'gradients keyed and ordered as tfjs-layers passes them');
          for (const v of vars) {
            const a: tf.Tensor = got.grads[v.name]!;
            const b: tf.Tensor = want.grads[v.name]!;
            assert.deepEqual(a.shape, v.shape);
            const scale = maxAbs(b.dataSync());
            const diff = maxDiff(a.dataSync(), b.dataSync());
            assert.ok(scale > 0 && diff <= 1e-5 * scale, `${v.name}: max diff ${diff} vs max |grad| ${scale}`);
          }
        } finally {
          tf.dispose([want.value, ...Object.values(want.grads), ...Object.values(got.grads)]);
        }
      } finally {
        x.dispose();
        model.dispose();
      }
    });
  }

  it('trains like the tfjs-layers step: same losses and weights after 8 Adam steps, to float32 rounding', async () => {
    const cfg = config({ encoderUnits: [8], decoderUnits: [6] });
    const [native, ref] = [buildLstmAe(cfg), buildLstmAe(cfg)];
    try {
      for (let s = 0; s < 8; s++) {
        const x = windows(10 + s);
        try {
          setNativeKernelsEnabled(true);
          const a = (await native.trainOnBatch(x, x)) as number;
          setNativeKernelsEnabled(false);
          const b = (await ref.trainOnBatch(x, x)) as number;
          assert.ok(Math.abs(a - b) <= 1e-5 * b, `step ${s}: loss ${a} vs ${b}`);
        } finally {
          x.dispose();
        }
      }
      const [wa, wb] = [native.getWeights(), ref.getWeights()];
      wa.forEach((w, i) => {
        const diff = maxDiff(w.dataSync(), wb[i]!.dataSync());
        assert.ok(diff <= 1e-4 * Math.max(1, maxAbs(wb[i]!.dataSync())), `weight ${i}: max diff ${diff}`);
      });
      // The step really moved the weights (Adam at 0.01 for 8 steps), so the agreement says something.
      const fresh = buildLstmAe(cfg);
      try {
        assert.ok(maxDiff(fresh.getWeights()[0]!.dataSync(), wa[0]!.dataSync()) > 1e-3);
      } finally {
        fresh.dispose();
      }
    } finally {
      native.dispose();
      ref.dispose();
    }
  });

  // trainOnBatch hands the native gradients to tfjs' Adam as buffers (training/native-ops/adam.ts)
  // and to any other optimizer as tensors: either way the update is the optimizer's own
  // applyGradients over the native gradients, bit for bit, in trainableWeights order.
  for (const [label, optimizer] of [
    ['Adam', () => tf.train.adam(0.01)],
    ['SGD', () => tf.train.sgd(0.05)],
  ] as [string, () => tf.Optimizer][]) {
    it(`updates the weights as ${label}'s applyGradients over the native gradients, bit for bit`, async () => {
      const cfg = config({ encoderUnits: [7, 4], decoderUnits: [5] });
      const [viaStep, viaGrads] = [buildLstmAe(cfg), buildLstmAe(cfg)];
      viaStep.compile({ optimizer: optimizer(), loss: 'meanSquaredError' });
      viaGrads.compile({ optimizer: optimizer(), loss: 'meanSquaredError' });
      try {
        for (let s = 0; s < 3; s++) {
          const x = windows(20 + s);
          try {
            await viaStep.trainOnBatch(x, x);
            const g = lstmAeNativeGradients(viaGrads, x, x)!;
            viaGrads.optimizer.applyGradients(g.grads);
            tf.dispose(Object.values(g.grads));
          } finally {
            x.dispose();
          }
        }
        const [wa, wb] = [viaStep.getWeights(), viaGrads.getWeights()];
        wa.forEach((w, i) => assert.deepEqual(w.dataSync(), wb[i]!.dataSync(), `weight ${i}`));
        assert.deepEqual(
          (await viaStep.optimizer.getWeights()).map((w) => Array.from(w.tensor.dataSync())),
          (await viaGrads.optimizer.getWeights()).map((w) => Array.from(w.tensor.dataSync())),
          'optimizer state',
        );
      } finally {
        viaStep.dispose();
        viaGrads.dispose();
      }
    });
  }

  it('leaves to tfjs-layers what it does not compute: other targets, other losses', () => {
    const model = buildLstmAe(config({ encoderUnits: [5], decoderUnits: [4] }));
    const x = windows(3);
    const wide = tf.zeros([N, W, C + 1]);
    const short = tf.zeros([N, W - 1, C]);
    try {
      assert.equal(lstmAeNativeGradients(model, x, wide), undefined);
      assert.equal(lstmAeNativeGradients(model, short, short), undefined);
      setNativeKernelsEnabled(false);
      assert.equal(lstmAeNativeGradients(model, x, x), undefined);
      setNativeKernelsEnabled(true);
      model.compile({ optimizer: tf.train.adam(0.01), loss: 'meanAbsoluteError' });
      assert.equal(lstmAeNativeGradients(model, x, x), undefined);
    } finally {
      tf.dispose([x, wide, short]);
      model.dispose();
    }
  });
});
