/**
 * Gradient checks of the native training ops against tfjs autodiff of the same function written in
 * plain tfjs ops, on every compiled variant of the kernels this CPU runs (avx2, baseline).
 *
 * "Relative difference" below is max_i |native_i - tfjs_i| / max_i |tfjs_i| per tensor: a
 * norm-wise relative error, which stays meaningful where single entries are near zero.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
// Gradients of the reference ops (tfjs-layers registers them too, but this file must not rely on it).
import '@tensorflow/tfjs-core/dist/register_all_gradients';
import { isSeismoError } from '../../src/errors';
import { loadNative, type KernelIsa } from '../../src/native';
import { initBackend } from '../../training/backend';
import { causalConv1dNative, lstmSequenceNative, lstmSequenceTfjs, type LstmSequenceOptions } from '../../training/native-ops';
import { seededRandom } from '../../training/fit';

const TOLERANCE = 1e-5;

function randomTensor(shape: number[], seed: number, scale = 1): tf.Tensor {
  const rand = seededRandom(seed);
  const n = shape.reduce((a, b) => a * b, 1);
  return tf.tensor(Float32Array.from({ length: n }, () => (rand() * 2 - 1) * scale), shape);
}

function relDiff(a: tf.Tensor, b: tf.Tensor): number {
  assert.deepEqual(a.shape, b.shape);
  const x = a.dataSync();
  const y = b.dataSync();
  let num = 0;
  let den = 0;
  for (let i = 0; i < x.length; i++) {
    num = Math.max(num, Math.abs(x[i]! - y[i]!));
    den = Math.max(den, Math.abs(y[i]!));
  }
  return den === 0 ? num : num / den;
}

/** Value and gradients of sum(f(inputs) * w) for a fixed random w, so every output entry matters. */
function valueAndGrads(f: (...xs: tf.Tensor[]) => tf.Tensor, inputs: tf.Tensor[], seed: number): { value: tf.Tensor; grads: tf.Tensor[] } {
  const value = tf.tidy(() => f(...inputs));
  const w = randomTensor(value.shape, seed);
  const grads = tf.grads((...xs: tf.Tensor[]) => tf.sum(tf.mul(f(...xs), w)))(inputs);
  w.dispose();
  return { value, grads };
}

function assertClose(native: { value: tf.Tensor; grads: tf.Tensor[] }, ref: { value: tf.Tensor; grads: tf.Tensor[] }, names: string[], label: string) {
  const diffs = [relDiff(native.value, ref.value), ...native.grads.map((g, i) => relDiff(g, ref.grads[i]!))];
  ['value', ...names].forEach((name, i) => assert.ok(diffs[i]! <= TOLERANCE, `${label}: ${name} relative difference ${diffs[i]!.toExponential(2)} > ${TOLERANCE}`));
  tf.dispose([native.value, ref.value, ...native.grads, ...ref.grads]);
}

/** Causal dilated conv in plain tfjs ops (zero-padded shifted slices), the reference. */
function causalConvTfjs(x: tf.Tensor, kernel: tf.Tensor, bias: tf.Tensor, d: number): tf.Tensor {
  const [N, T, Cin] = x.shape as [number, number, number];
  const [k, , Cout] = kernel.shape as [number, number, number];
  const pad = d * (k - 1);
  const padded = tf.pad(x, [[0, 0], [pad, 0], [0, 0]]);
  let y: tf.Tensor = tf.reshape(bias, [1, 1, Cout]);
  for (let j = 0; j < k; j++) {
    const tap = tf.reshape(tf.slice(padded, [0, j * d, 0], [N, T, Cin]), [N * T, Cin]);
    const kj = tf.reshape(tf.slice(kernel, [j, 0, 0], [1, Cin, Cout]), [Cin, Cout]);
    y = tf.add(y, tf.reshape(tf.matMul(tap, kj), [N, T, Cout]));
  }
  return y;
}

// The addon ships with the package (prebuild or local build): when it does not load, these tests
// fail with the loader's message. They never turn into zero tests.
let loadError: unknown;
const native = (() => {
  try {
    return loadNative();
  } catch (err) {
    loadError = err;
    return undefined;
  }
})();
// Without the addon the baseline suite still exists, so that its hook reports the load failure.
const isas = (['avx512', 'avx2', 'baseline'] as const).filter((isa) => isa === 'baseline' || (isa === 'avx2' ? native?.cpuHasAvx2 : native?.cpuHasAvx512));

describe('native training ops', function () {
  this.timeout(60_000);
  let before0: string | undefined;
  before(async () => {
    if (!native) throw loadError;
    await initBackend();
    before0 = native!.kernelIsa();
  });
  after(() => {
    if (native && before0) native.kernelIsa(before0 as KernelIsa);
  });

  it('loads the kernels and picks the widest variant the CPU has (avx512, else avx2, else baseline)', () => {
    assert.equal(native!.kernelIsa(), native!.cpuHasAvx512 ? 'avx512' : native!.cpuHasAvx2 ? 'avx2' : 'baseline');
    if (native!.cpuHasAvx512) assert.ok(native!.cpuHasAvx2, 'the AVX-512 variant also uses AVX2+FMA');
  });

  for (const isa of isas) {
    describe(`on the ${isa} kernels`, () => {
      beforeEach(() => native!.kernelIsa(isa));

      const lstmCases: { B: number; T: number; F: number; H: number; opts: LstmSequenceOptions }[] = [
        { B: 1, T: 5, F: 3, H: 4, opts: { recurrentActivation: 'sigmoid', returnSequences: true } },
        { B: 1, T: 9, F: 2, H: 3, opts: { recurrentActivation: 'sigmoid', returnSequences: false } },
        { B: 3, T: 7, F: 5, H: 7, opts: { recurrentActivation: 'hardSigmoid', returnSequences: true } },
        { B: 5, T: 11, F: 1, H: 9, opts: { recurrentActivation: 'hardSigmoid', returnSequences: false } },
        { B: 4, T: 64, F: 8, H: 32, opts: { recurrentActivation: 'sigmoid', returnSequences: false } },
      ];
      for (const [n, { B, T, F, H, opts }] of lstmCases.entries()) {
        it(`LSTM B=${B} T=${T} F=${F} H=${H} ${opts.recurrentActivation}${opts.returnSequences ? ' sequences' : ' last'}: values and gradients match tfjs`, () => {
          const inputs = [randomTensor([B, T, F], 10 + n), randomTensor([F, 4 * H], 20 + n, 0.5), randomTensor([H, 4 * H], 30 + n, 0.5), randomTensor([4 * H], 40 + n, 0.5)];
          const run = (impl: typeof lstmSequenceTfjs) => valueAndGrads((x, k, u, b) => impl(x as tf.Tensor3D, k as tf.Tensor2D, u as tf.Tensor2D, b as tf.Tensor1D, opts), inputs, 50 + n);
          assertClose(run(lstmSequenceNative), run(lstmSequenceTfjs), ['dx', 'dkernel', 'drecurrent', 'dbias'], `LSTM case ${n}`);
          tf.dispose(inputs);
        });
      }

      it('stacked LSTMs (encoder 2 layers, repeat, decoder) match tfjs end to end', () => {
        const [B, T, C] = [3, 13, 4];
        const weights = (F: number, H: number, s: number) => [randomTensor([F, 4 * H], s, 0.5), randomTensor([H, 4 * H], s + 1, 0.5), randomTensor([4 * H], s + 2, 0.5)];
        const inputs = [randomTensor([B, T, C], 1), ...weights(C, 6, 100), ...weights(6, 5, 200), ...weights(5, 3, 300)];
        const model = (impl: typeof lstmSequenceTfjs) => (x: tf.Tensor, ...w: tf.Tensor[]) => {
          const l = (input: tf.Tensor, i: number, returnSequences: boolean, recurrentActivation: LstmSequenceOptions['recurrentActivation']) =>
            impl(input as tf.Tensor3D, w[3 * i] as tf.Tensor2D, w[3 * i + 1] as tf.Tensor2D, w[3 * i + 2] as tf.Tensor1D, { recurrentActivation, returnSequences });
          const h1 = l(x, 0, true, 'sigmoid');
          const code = l(h1, 1, false, 'hardSigmoid'); // [B, 5]
          const repeated = tf.tile(tf.expandDims(code, 1), [1, T, 1]);
          return l(repeated, 2, true, 'sigmoid');
        };
        const names = ['dx', ...[0, 1, 2].flatMap((i) => [`dkernel${i}`, `drecurrent${i}`, `dbias${i}`])];
        assertClose(valueAndGrads(model(lstmSequenceNative), inputs, 7), valueAndGrads(model(lstmSequenceTfjs), inputs, 7), names, 'stacked LSTM');
        tf.dispose(inputs);
      });

      // The LSTM-AE decoder's input is its code repeated over the frames: with repeatedInput the
      // kernel reads x [B, F] at every step. It must equal the same layer on the materialized
      // repeat [B, T, F]: outputs, weight gradients, and dx = the materialized dx summed over frames.
      for (const [n, { B, T, F, H, gate, rs }] of [
        { B: 3, T: 9, F: 5, H: 4, gate: 0, rs: true },
        { B: 2, T: 17, F: 7, H: 6, gate: 1, rs: true },
        { B: 5, T: 64, F: 32, H: 16, gate: 0, rs: true },
        { B: 1, T: 4, F: 3, H: 2, gate: 0, rs: false },
      ].entries()) {
        it(`LSTM with a repeated input B=${B} T=${T} F=${F} H=${H} gate ${gate}${rs ? ' sequences' : ' last'}: equals the layer on the materialized repeat`, () => {
          const k = native!;
          const rand = seededRandom(600 + n);
          const r = (len: number, scale = 1) => Float32Array.from({ length: len }, () => (rand() * 2 - 1) * scale);
          const code = r(B * F), W = r(F * 4 * H, 0.5), U = r(H * 4 * H, 0.5), bias = r(4 * H, 0.5);
          const repeated = new Float32Array(B * T * F);
          for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) repeated.set(code.subarray(b * F, (b + 1) * F), (b * T + t) * F);
          const yLen = B * (rs ? T : 1) * H;
          const dy = r(yLen);
          const run = (x: Float32Array, rep: boolean, withDx = true) => {
            const out = { y: new Float32Array(yLen), state: new Float32Array(T * B * 6 * H), dx: withDx ? new Float32Array(x.length) : null, dk: new Float32Array(F * 4 * H), du: new Float32Array(H * 4 * H), db: new Float32Array(4 * H) };
            k.lstmForward(x, W, U, bias, out.y, out.state, B, T, F, H, gate as 0 | 1, rs, rep);
            k.lstmBackward(x, W, U, out.state, dy, out.dx, out.dk, out.du, out.db, B, T, F, H, gate as 0 | 1, rs, rep);
            return out;
          };
          const want = run(repeated, false);
          const got = run(code, true);
          const dxSum = new Float32Array(B * F);
          for (let b = 0; b < B; b++) for (let t = 0; t < T; t++) for (let f = 0; f < F; f++) dxSum[b * F + f]! += want.dx![(b * T + t) * F + f]!;
          const rel = (a: Float32Array, b: Float32Array) => relDiff(tf.tensor1d(a), tf.tensor1d(b));
          const pairs: [string, Float32Array, Float32Array][] = [['y', got.y, want.y], ['state', got.state, want.state], ['dx', got.dx!, dxSum], ['dkernel', got.dk, want.dk], ['drecurrent', got.du, want.du], ['dbias', got.db, want.db]];
          for (const [name, a, b] of pairs) {
            const d = tf.tidy(() => rel(a, b));
            assert.ok(d <= TOLERANCE, `${name}: relative difference ${d.toExponential(2)} > ${TOLERANCE}`);
          }
          // dx null: the input's gradient is skipped, the weight gradients are the very same.
          const noDx = run(code, true, false);
          assert.deepEqual([noDx.dk, noDx.du, noDx.db], [got.dk, got.du, got.db]);
          const noDxSeq = run(repeated, false, false);
          assert.deepEqual([noDxSeq.dk, noDxSeq.du, noDxSeq.db], [want.dk, want.du, want.db]);
        });
      }

      const convCases = [
        { N: 1, T: 5, Cin: 3, Cout: 2, k: 2, d: 1 },
        { N: 3, T: 17, Cin: 5, Cout: 7, k: 3, d: 4 },
        { N: 2, T: 100, Cin: 4, Cout: 3, k: 2, d: 64 },
        { N: 2, T: 40, Cin: 3, Cout: 5, k: 2, d: 64 }, // dilation past the window: only the current tap sees data
        { N: 1, T: 33, Cin: 1, Cout: 1, k: 5, d: 7 },
        { N: 4, T: 64, Cin: 8, Cout: 32, k: 2, d: 8 },
      ];
      for (const [n, { N, T, Cin, Cout, k, d }] of convCases.entries()) {
        it(`causal conv N=${N} T=${T} Cin=${Cin} Cout=${Cout} k=${k} d=${d}: values and gradients match tfjs`, () => {
          const inputs = [randomTensor([N, T, Cin], 60 + n), randomTensor([k, Cin, Cout], 70 + n, 0.5), randomTensor([Cout], 80 + n, 0.5)];
          const nat = valueAndGrads((x, w, b) => causalConv1dNative(x as tf.Tensor3D, w as tf.Tensor3D, b as tf.Tensor1D, d), inputs, 90 + n);
          assertClose(nat, valueAndGrads((x, w, b) => causalConvTfjs(x!, w!, b!, d), inputs, 90 + n), ['dx', 'dkernel', 'dbias'], `conv case ${n}`);
          tf.dispose(inputs);
        });
      }

      it('stacked dilated convs (1, 2, 4, ..., 64) with relu match tfjs end to end', () => {
        const dilations = [1, 2, 4, 8, 16, 32, 64];
        const [N, T, C, Fl] = [2, 96, 3, 6];
        const inputs = [randomTensor([N, T, C], 3)];
        dilations.forEach((_, i) => inputs.push(randomTensor([2, i === 0 ? C : Fl, Fl], 400 + i, 0.6), randomTensor([Fl], 500 + i, 0.1)));
        const net = (conv: (x: tf.Tensor, k: tf.Tensor, b: tf.Tensor, d: number) => tf.Tensor) => (x: tf.Tensor, ...w: tf.Tensor[]) =>
          dilations.reduce((h, d, i) => tf.relu(conv(h, w[2 * i]!, w[2 * i + 1]!, d)), x);
        const names = ['dx', ...dilations.flatMap((d) => [`dkernel(d=${d})`, `dbias(d=${d})`])];
        const nativeConv = (x: tf.Tensor, k: tf.Tensor, b: tf.Tensor, d: number) => causalConv1dNative(x as tf.Tensor3D, k as tf.Tensor3D, b as tf.Tensor1D, d);
        assertClose(valueAndGrads(net(nativeConv), inputs, 8), valueAndGrads(net(causalConvTfjs), inputs, 8), names, 'stacked conv');
        tf.dispose(inputs);
      });
    });
  }

  it('rejects disagreeing shapes in TypeScript with ERR_BAD_SHAPE', () => {
    const x = tf.zeros([2, 5, 3]) as tf.Tensor3D;
    const k = tf.zeros([3, 16]) as tf.Tensor2D;
    const u = tf.zeros([4, 15]) as tf.Tensor2D;
    const b = tf.zeros([16]) as tf.Tensor1D;
    assert.throws(() => lstmSequenceNative(x, k, u, b, { recurrentActivation: 'sigmoid', returnSequences: true }), (e) => isSeismoError(e, 'ERR_BAD_SHAPE'));
    assert.throws(() => causalConv1dNative(x, tf.zeros([2, 4, 2]) as tf.Tensor3D, tf.zeros([2]) as tf.Tensor1D, 1), (e) => isSeismoError(e, 'ERR_BAD_SHAPE'));
    assert.throws(() => causalConv1dNative(x, tf.zeros([2, 3, 2]) as tf.Tensor3D, tf.zeros([2]) as tf.Tensor1D, 0), (e) => isSeismoError(e, 'ERR_BAD_SHAPE'));
    tf.dispose([x, k, u, b]);
  });

  it('the addon checks every array length itself and throws coded errors', () => {
    const f = (n: number) => new Float32Array(n);
    // x one float short of [B=2, T=3, F=4].
    assert.throws(() => native!.lstmForward(f(23), f(4 * 20), f(5 * 20), f(20), f(2 * 3 * 5), f(3 * 2 * 30), 2, 3, 4, 5, 0, true), (e: Error & { code?: string }) => e.code === 'ERR_BAD_SHAPE' && /x \[B, T, F\]/.test(e.message));
    assert.throws(() => native!.convForward(f(6), f(4), f(2), f(6), 1, 3, 2, 2, 1, 0), (e: Error & { code?: string }) => e.code === 'ERR_BAD_SHAPE' && /dilation/.test(e.message));
    // A repeated input is [B, F]: a [B, T, F] x is refused, and so is a non-boolean flag.
    assert.throws(() => native!.lstmForward(f(2 * 3 * 4), f(4 * 20), f(5 * 20), f(20), f(2 * 3 * 5), f(3 * 2 * 30), 2, 3, 4, 5, 0, true, true), (e: Error & { code?: string }) => e.code === 'ERR_BAD_SHAPE' && /x \[B, F\]/.test(e.message));
    assert.throws(() => native!.lstmBackward(f(8), f(4 * 20), f(5 * 20), f(3 * 2 * 30), f(30), f(2 * 3 * 4), f(80), f(100), f(20), 2, 3, 4, 5, 0, true, true), (e: Error & { code?: string }) => e.code === 'ERR_BAD_SHAPE' && /dx \[B, F\]/.test(e.message));
    assert.throws(() => native!.lstmForward(f(8), f(4 * 20), f(5 * 20), f(20), f(2 * 3 * 5), f(3 * 2 * 30), 2, 3, 4, 5, 0, true, 1 as unknown as boolean), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_OPTION');
    assert.throws(() => native!.kernelIsa('sse9' as 'avx2'), (e: Error & { code?: string }) => e.code === 'ERR_INVALID_OPTION');
    // Dims whose product overflows int64 must not wrap around to a length that matches.
    assert.throws(() => native!.convForward(f(8), f(8), f(2), f(8), 2 ** 31 - 1, 2 ** 31 - 1, 2 ** 31 - 1, 2, 1, 1), (e: Error & { code?: string }) => e.code === 'ERR_BAD_SHAPE' && /too large/.test(e.message));
  });
});
