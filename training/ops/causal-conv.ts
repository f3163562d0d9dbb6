/**
 * The one causal (optionally dilated) 1-D convolution that every convolutional model kind trains
 * through (DC-VAE, DeepAnT).
 *
 * Why not `tf.conv1d`: no tfjs backend has gradients for dilated convolutions, and the wasm
 * backend lacks `Conv2DBackpropFilter`, so a Conv1D cannot train there at all. Written as
 * shifted slices + one matMul it uses only ops that every backend differentiates (pad, slice,
 * concat, reshape, matMul), and it maps one-to-one onto an ONNX `Conv` with `dilations=[d]`,
 * `pads=[d*(k-1), 0]` (see `training/export/blocks.ts` `causalConv`).
 *
 * Keep every convolution of those kinds going through {@link causalConv1d}: it is the single
 * place where a native forward/backward kernel will be dispatched later.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SeismoError } from '../../src/errors';

/**
 * Causal dilated 1-D convolution, batch-major:
 * `y[n, t, o] = bias[o] + sum_j sum_i x[n, t - (k-1-j)*d, i] * kernel[j, i, o]`, with x = 0 before
 * the window's first frame. The output at t depends only on frames `<= t`, and it has as many
 * frames as the input.
 *
 * @param x input `[N, T, Cin]`.
 * @param kernel `[k, Cin, Cout]` (tap j multiplies the frame `(k-1-j)*d` steps back; tap k-1 the
 *   current frame), the same layout as a Keras/tfjs Conv1D kernel.
 * @param bias `[Cout]`.
 * @param dilation d >= 1, frames between taps.
 * @returns `[N, T, Cout]`.
 * @throws SeismoError `ERR_BAD_SHAPE` when the shapes disagree or `dilation` is not a positive integer.
 */
export function causalConv1d(x: tf.Tensor3D, kernel: tf.Tensor3D, bias: tf.Tensor1D, dilation: number): tf.Tensor3D {
  const [N, T, Cin] = x.shape;
  const [k, kCin, Cout] = kernel.shape;
  if (kCin !== Cin || bias.shape[0] !== Cout) {
    throw new SeismoError('ERR_BAD_SHAPE', `causalConv1d: input [${x.shape}], kernel [${kernel.shape}], bias [${bias.shape}] disagree (want x [N, T, Cin], kernel [k, Cin, Cout], bias [Cout]).`, {
      x: x.shape,
      kernel: kernel.shape,
      bias: bias.shape,
    });
  }
  if (!Number.isSafeInteger(dilation) || dilation < 1) {
    throw new SeismoError('ERR_BAD_SHAPE', `causalConv1d: dilation must be a positive integer, got ${dilation}.`, { dilation });
  }
  // The native kernel (im2col + GEMM, forward and backward, training/native-ops) when the addon
  // is loaded: same function, same gradients, without the pad/slice/concat copies. Required
  // lazily so that importing this file does not load the addon.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const native = (require('../native-ops/causal-conv') as typeof import('../native-ops/causal-conv')).causalConv1dIfNative(x, kernel, bias, dilation);
  if (native) return native;
  return tf.tidy(() => {
    const pad = dilation * (k - 1);
    const padded = pad > 0 ? tf.pad(x, [[0, 0], [pad, 0], [0, 0]]) : x; // [N, pad + T, Cin]
    // Tap j reads the padded frames j*d .. j*d + T - 1. Concatenating the taps on the feature axis
    // turns the k small matMuls into one [N*T, k*Cin] x [k*Cin, Cout] product: fewer kernel calls,
    // which dominate the step time on wasm.
    const taps = k === 1 ? padded : tf.concat(Array.from({ length: k }, (_, j) => tf.slice(padded, [0, j * dilation, 0], [N, T, Cin])), 2); // [N, T, k*Cin]
    const y = tf.matMul(tf.reshape(taps, [N * T, k * Cin]), tf.reshape(kernel, [k * Cin, Cout]));
    return tf.reshape(tf.add(y, bias), [N, T, Cout]) as tf.Tensor3D;
  });
}
