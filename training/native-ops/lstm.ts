/**
 * One LSTM layer over a whole sequence as a single tfjs op: forward in one native call that saves
 * the gates, backward through time in one native call (weight gradients as whole-sequence GEMMs),
 * joined to tfjs autodiff with `tf.customGrad`. Replaces the ~T x 20 small tfjs kernels per layer
 * and step that made tfjs training slow (issue 7); the loss, the other layers and the optimiser
 * stay in tfjs, on whatever backend is active.
 *
 * Semantics are tfjs-layers'/Keras' LSTM with zero initial state: gate blocks i, f, c, o along the
 * last axis of kernel, recurrent kernel and bias; `c_t = f c_{t-1} + i tanh(z_c)`,
 * `h_t = o tanh(c_t)`; i, f, o through `recurrentActivation`. {@link lstmSequenceTfjs} is the same
 * function in plain tfjs ops: the fallback, and the reference of the gradient tests.
 *
 * Shapes: B batch, T steps, F input features, H units.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SeismoError } from '../../src/errors';
import type { NativeKernels } from '../../src/native';
import { nativeKernels } from './kernels';

/** Options of an LSTM sequence op. */
export interface LstmSequenceOptions {
  /** Activation of the i, f, o gates. `hardSigmoid` is `clip(0.2 x + 0.5, 0, 1)`. */
  recurrentActivation: 'sigmoid' | 'hardSigmoid';
  /** true: the output is every step's hidden state `[B, T, H]`; false: the last one, `[B, H]`. */
  returnSequences: boolean;
}

interface LstmShape {
  B: number;
  T: number;
  F: number;
  H: number;
}

function badShape(message: string, details: Record<string, unknown>): never {
  throw new SeismoError('ERR_BAD_SHAPE', `lstmSequence: ${message}`, details);
}

function checkLstm(x: tf.Tensor, kernel: tf.Tensor, recurrent: tf.Tensor, bias: tf.Tensor, options: LstmSequenceOptions): LstmShape {
  const shapes = { x: x.shape, kernel: kernel.shape, recurrent: recurrent.shape, bias: bias.shape };
  if (x.rank !== 3 || kernel.rank !== 2 || recurrent.rank !== 2 || bias.rank !== 1) {
    badShape(`want x [B, T, F], kernel [F, 4H], recurrent [H, 4H], bias [4H]; got ${JSON.stringify(shapes)}`, shapes);
  }
  for (const [name, t] of Object.entries({ x, kernel, recurrent, bias })) {
    if (t.dtype !== 'float32') badShape(`${name} must be float32, got ${t.dtype}`, { [name]: t.dtype });
  }
  const [B, T, F] = x.shape as [number, number, number];
  const H = recurrent.shape[0]!;
  if (kernel.shape[0] !== F || kernel.shape[1] !== 4 * H || recurrent.shape[1] !== 4 * H || bias.shape[0] !== 4 * H) {
    badShape(`shapes disagree (want x [B, T, F], kernel [F, 4H], recurrent [H, 4H], bias [4H]): ${JSON.stringify(shapes)}`, shapes);
  }
  if (B < 1 || T < 1 || F < 1 || H < 1) badShape(`empty dimension in ${JSON.stringify(shapes)}`, shapes);
  if (options.recurrentActivation !== 'sigmoid' && options.recurrentActivation !== 'hardSigmoid') {
    throw new SeismoError('ERR_INVALID_OPTION', `lstmSequence: recurrentActivation must be 'sigmoid' or 'hardSigmoid', got ${String(options.recurrentActivation)}`, {
      recurrentActivation: options.recurrentActivation,
    });
  }
  return { B, T, F, H };
}

/**
 * LSTM layer over a sequence: native kernels when loaded (see `kernels.ts`), else plain tfjs.
 * Both give the same values and gradients (within float32 rounding).
 *
 * @param x input `[B, T, F]`, float32.
 * @param kernel input weights `[F, 4H]` (gate blocks i, f, c, o).
 * @param recurrent recurrent weights `[H, 4H]`.
 * @param bias `[4H]`.
 * @returns `[B, T, H]` (returnSequences) or `[B, H]`.
 * @throws SeismoError `ERR_BAD_SHAPE` when the shapes disagree.
 */
export function lstmSequence(x: tf.Tensor3D, kernel: tf.Tensor2D, recurrent: tf.Tensor2D, bias: tf.Tensor1D, options: LstmSequenceOptions): tf.Tensor {
  const kernels = nativeKernels();
  return kernels ? lstmSequenceNative(x, kernel, recurrent, bias, options, kernels) : lstmSequenceTfjs(x, kernel, recurrent, bias, options);
}

/**
 * {@link lstmSequence} on the native kernels, always.
 * @throws SeismoError `ERR_NATIVE_LOAD` when the addon is not available; `ERR_BAD_SHAPE` as above.
 */
export function lstmSequenceNative(
  x: tf.Tensor3D,
  kernel: tf.Tensor2D,
  recurrent: tf.Tensor2D,
  bias: tf.Tensor1D,
  options: LstmSequenceOptions,
  kernels: NativeKernels | undefined = nativeKernels(),
): tf.Tensor {
  if (!kernels) throw new SeismoError('ERR_NATIVE_LOAD', 'lstmSequenceNative: the native training kernels are not loaded (see kernelPath()).');
  const { B, T, F, H } = checkLstm(x, kernel, recurrent, bias, options);
  const gate = options.recurrentActivation === 'hardSigmoid' ? 1 : 0;
  const rs = options.returnSequences;
  // The inputs are read from this closure; customGrad still takes them as arguments, which is what
  // makes tfjs route one gradient to each of them (variables included).
  const op = tf.customGrad(() => {
    // dataSync may hand out a backend's own storage (cpu does): read-only from here on.
    const xs = x.dataSync() as Float32Array;
    const ks = kernel.dataSync() as Float32Array;
    const us = recurrent.dataSync() as Float32Array;
    const bs = bias.dataSync() as Float32Array;
    const y = new Float32Array(B * (rs ? T : 1) * H);
    // Gates, cell and hidden states of every step, kept by this closure for the backward pass.
    const state = new Float32Array(T * B * 6 * H);
    kernels.lstmForward(xs, ks, us, bs, y, state, B, T, F, H, gate, rs);
    const value: tf.Tensor = rs ? tf.tensor3d(y, [B, T, H]) : tf.tensor2d(y, [B, H]);
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      const dx = new Float32Array(B * T * F);
      const dk = new Float32Array(F * 4 * H);
      const du = new Float32Array(H * 4 * H);
      const db = new Float32Array(4 * H);
      kernels.lstmBackward(xs, ks, us, state, dy.dataSync() as Float32Array, dx, dk, du, db, B, T, F, H, gate, rs);
      return [tf.tensor3d(dx, [B, T, F]), tf.tensor2d(dk, [F, 4 * H]), tf.tensor2d(du, [H, 4 * H]), tf.tensor1d(db)];
    };
    return { value, gradFunc };
  });
  return op(x, kernel, recurrent, bias);
}

function hardSigmoid(x: tf.Tensor): tf.Tensor {
  // tfjs-layers' definition, so that both paths agree at the clip points too.
  return tf.clipByValue(tf.add(0.5, tf.mul(0.2, x)), 0, 1);
}

/** {@link lstmSequence} in plain tfjs ops, always (the fallback and the tests' reference). */
export function lstmSequenceTfjs(x: tf.Tensor3D, kernel: tf.Tensor2D, recurrent: tf.Tensor2D, bias: tf.Tensor1D, options: LstmSequenceOptions): tf.Tensor {
  const { B, T, F, H } = checkLstm(x, kernel, recurrent, bias, options);
  const act = options.recurrentActivation === 'hardSigmoid' ? hardSigmoid : (t: tf.Tensor) => tf.sigmoid(t);
  return tf.tidy(() => {
    // Input share of every gate at every step in one product: [B, T, 4H].
    const p = tf.add(tf.reshape(tf.matMul(tf.reshape(x, [B * T, F]), kernel), [B, T, 4 * H]), bias);
    let h: tf.Tensor = tf.zeros([B, H]);
    let c: tf.Tensor = tf.zeros([B, H]);
    const outs: tf.Tensor[] = [];
    for (let t = 0; t < T; t++) {
      const z = tf.add(tf.reshape(tf.slice(p, [0, t, 0], [B, 1, 4 * H]), [B, 4 * H]), tf.matMul(h, recurrent));
      const [zi, zf, zc, zo] = tf.split(z, 4, 1) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      c = tf.add(tf.mul(act(zf), c), tf.mul(act(zi), tf.tanh(zc)));
      h = tf.mul(act(zo), tf.tanh(c));
      if (options.returnSequences) outs.push(h);
    }
    return options.returnSequences ? tf.stack(outs, 1) : h;
  });
}
