import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { initBackend } from '../../training/backend';
import { seededRandom } from '../../training/fit';
import { applyAdam, plainAdam } from '../../training/native-ops/adam';

const SHAPES = [[8, 12], [3, 12], [12], [5, 1], [1]];

function values(n: number, rand: () => number, scale: number): Float32Array {
  // A mix of magnitudes, zeros and exact ties, so that every rounding step is exercised.
  return Float32Array.from({ length: n }, (_, i) => (i % 7 === 3 ? 0 : (rand() * 2 - 1) * scale * 10 ** ((i % 5) - 2)));
}

function bits(a: Float32Array | Int32Array | Uint8Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('hex');
}

let made = 0;
function variables(seed: number): tf.Variable[] {
  const rand = seededRandom(seed);
  return SHAPES.map((s) => tf.variable(tf.tensor(values(s.reduce((a, b) => a * b, 1), rand, 1), s), true, `adam_test_${made++}`));
}

async function optimizerState(o: tf.Optimizer): Promise<string[]> {
  const named = await o.getWeights();
  return named.map((w) => `${w.name.replace(/adam_test_\d+/, 'v')}:${bits(w.tensor.dataSync() as Float32Array)}`);
}

// The native training steps hand their gradients to applyAdam instead of the optimizer's
// applyGradients: it must be tfjs' Adam, bit for bit, on the optimizer's own state.
describe('training/native-ops applyAdam', function () {
  this.timeout(30_000);
  before(async () => {
    await initBackend();
  });

  for (const [label, make, backend] of [
    ['defaults, learning rate 0.01', () => tf.train.adam(0.01), undefined],
    ['beta1 0.8, beta2 0.95, epsilon 1e-6, learning rate 0.3', () => tf.train.adam(0.3, 0.8, 0.95, 1e-6), undefined],
    // The cpu backend hands out its own storage from dataSync and keeps the arrays it is given.
    ['defaults, on the cpu backend', () => tf.train.adam(0.01), 'cpu'],
  ] as [string, () => tf.AdamOptimizer, string | undefined][]) {
    it(`gives applyGradients' variables and optimizer state bit for bit, alone and alternating with it (${label})`, async () => {
      const previous = tf.getBackend();
      if (backend === 'cpu') {
        // An optional dependency of seismo's, registered here only for this check.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        require('@tensorflow/tfjs-backend-cpu');
      }
      if (backend) assert.ok(await tf.setBackend(backend), `backend ${backend}`);
      try {
        await sameAsApplyGradients(make);
      } finally {
        await tf.setBackend(previous);
      }
    });
  }

  async function sameAsApplyGradients(make: () => tf.AdamOptimizer): Promise<void> {
    {
      const [ref, js, mixed] = [variables(1), variables(1), variables(1)];
      const [oRef, oJs, oMixed] = [make(), make(), make()];
      const rand = seededRandom(9);
      try {
        for (let step = 0; step < 7; step++) {
          const grads = SHAPES.map((s) => values(s.reduce((a, b) => a * b, 1), rand, step === 3 ? 1e3 : 0.5));
          const named = ref.map((v, i) => ({ name: v.name, tensor: tf.tensor(grads[i]!, v.shape) }));
          oRef.applyGradients(named);
          tf.dispose(named.map((n) => n.tensor));
          assert.ok(plainAdam(oJs));
          applyAdam(oJs, js.map((variable, i) => ({ variable, gradient: grads[i]! })));
          if (step % 2 === 0) {
            applyAdam(oMixed, mixed.map((variable, i) => ({ variable, gradient: grads[i]! })));
          } else {
            const m = mixed.map((v, i) => ({ name: v.name, tensor: tf.tensor(grads[i]!, v.shape) }));
            oMixed.applyGradients(m);
            tf.dispose(m.map((n) => n.tensor));
          }
          ref.forEach((v, i) => {
            const want = bits(v.dataSync() as Float32Array);
            assert.equal(bits(js[i]!.dataSync() as Float32Array), want, `step ${step}, variable ${i}`);
            assert.equal(bits(mixed[i]!.dataSync() as Float32Array), want, `step ${step}, variable ${i} (alternating)`);
          });
        }
        // The weights really moved, and the state (iterations, moments) is the optimizer's own.
        const fresh = variables(1);
        assert.notEqual(bits(ref[0]!.dataSync() as Float32Array), bits(fresh[0]!.dataSync() as Float32Array));
        tf.dispose(fresh);
        const want = await optimizerState(oRef);
        assert.equal(want.length, 1 + 2 * SHAPES.length);
        assert.deepEqual(await optimizerState(oJs), want);
        assert.deepEqual(await optimizerState(oMixed), want);
      } finally {
        [oRef, oJs, oMixed].forEach((o) => o.dispose());
        tf.dispose([...ref, ...js, ...mixed]);
      }
    }
  }

  it('takes only tfjs-core\'s own Adam', () => {
    class Tweaked extends tf.AdamOptimizer {}
    const [sgd, sub, adam] = [tf.train.sgd(0.1), new Tweaked(0.1, 0.9, 0.999), tf.train.adam(0.1)];
    try {
      assert.equal(plainAdam(undefined), undefined);
      assert.equal(plainAdam(sgd), undefined);
      assert.equal(plainAdam(sub), undefined);
      assert.equal(plainAdam(adam), adam);
    } finally {
      [sgd, sub, adam].forEach((o) => o.dispose());
    }
  });

  it('refuses a gradient of the wrong length', () => {
    const vs = variables(2);
    const o = tf.train.adam(0.1);
    try {
      const before = bits(vs[0]!.dataSync() as Float32Array);
      assert.throws(() => applyAdam(o, [{ variable: vs[0]!, gradient: new Float32Array(96) }, { variable: vs[1]!, gradient: new Float32Array(3) }]), RangeError);
      assert.equal(bits(vs[0]!.dataSync() as Float32Array), before, 'nothing changed');
    } finally {
      o.dispose();
      tf.dispose(vs);
    }
  });
});
