/**
 * The causal dilated 1-D convolution as one tfjs op on the native kernels (im2col + GEMM inside,
 * forward and backward), joined to tfjs autodiff with `tf.customGrad`.
 *
 * `training/ops/causal-conv.ts` `causalConv1d` is the one entry point models use; it validates the
 * shapes and dispatches here when {@link nativeKernels} are loaded, and runs its own tfjs ops
 * (pad, slice, concat, matMul) otherwise. Same semantics:
 * `y[n, t, o] = bias[o] + sum_j sum_i x[n, t - (k-1-j)*d, i] * kernel[j, i, o]`, x = 0 before t = 0.
 */
import * as tf from '@tensorflow/tfjs-core';
import { SeismoError } from '../../src/errors';
import type { NativeKernels } from '../../src/native';
import { nativeKernels } from './kernels';

/**
 * Causal dilated convolution on the native kernels.
 *
 * @param x input `[N, T, Cin]`, float32.
 * @param kernel `[k, Cin, Cout]` (tap k-1 multiplies the current frame, tap j the frame (k-1-j)*d back).
 * @param bias `[Cout]`.
 * @param dilation d >= 1.
 * @returns `[N, T, Cout]`.
 * @throws SeismoError `ERR_NATIVE_LOAD` without the addon; `ERR_BAD_SHAPE` for disagreeing shapes.
 */
export function causalConv1dNative(
  x: tf.Tensor3D,
  kernel: tf.Tensor3D,
  bias: tf.Tensor1D,
  dilation: number,
  kernels: NativeKernels | undefined = nativeKernels(),
): tf.Tensor3D {
  if (!kernels) throw new SeismoError('ERR_NATIVE_LOAD', 'causalConv1dNative: the native training kernels are not loaded (see kernelPath()).');
  const shapes = { x: x.shape, kernel: kernel.shape, bias: bias.shape };
  if (x.rank !== 3 || kernel.rank !== 3 || bias.rank !== 1 || kernel.shape[1] !== x.shape[2] || bias.shape[0] !== kernel.shape[2]) {
    throw new SeismoError('ERR_BAD_SHAPE', `causalConv1dNative: want x [N, T, Cin], kernel [k, Cin, Cout], bias [Cout]; got ${JSON.stringify(shapes)}`, shapes);
  }
  if (x.dtype !== 'float32' || kernel.dtype !== 'float32' || bias.dtype !== 'float32') {
    throw new SeismoError('ERR_BAD_SHAPE', 'causalConv1dNative: x, kernel and bias must be float32', { dtypes: [x.dtype, kernel.dtype, bias.dtype] });
  }
  if (!Number.isSafeInteger(dilation) || dilation < 1) {
    throw new SeismoError('ERR_BAD_SHAPE', `causalConv1dNative: dilation must be a positive integer, got ${dilation}.`, { dilation });
  }
  const [N, T, Cin] = x.shape;
  const [k, , Cout] = kernel.shape;
  if (N < 1 || T < 1 || Cin < 1 || Cout < 1 || k < 1) throw new SeismoError('ERR_BAD_SHAPE', `causalConv1dNative: empty dimension in ${JSON.stringify(shapes)}`, shapes);
  // Inputs are read from the closure; passing them to the op is what routes their gradients.
  const op = tf.customGrad(() => {
    // Read-only: dataSync may return the backend's own storage.
    const xs = x.dataSync() as Float32Array;
    const ks = kernel.dataSync() as Float32Array;
    const y = new Float32Array(N * T * Cout);
    kernels.convForward(xs, ks, bias.dataSync() as Float32Array, y, N, T, Cin, Cout, k, dilation);
    const gradFunc = (dy: tf.Tensor): tf.Tensor[] => {
      const dx = new Float32Array(N * T * Cin);
      const dk = new Float32Array(k * Cin * Cout);
      const db = new Float32Array(Cout);
      kernels.convBackward(xs, ks, dy.dataSync() as Float32Array, dx, dk, db, N, T, Cin, Cout, k, dilation);
      return [tf.tensor3d(dx, [N, T, Cin]), tf.tensor3d(dk, [k, Cin, Cout]), tf.tensor1d(db)];
    };
    return { value: tf.tensor3d(y, [N, T, Cout]), gradFunc };
  });
  return op(x, kernel, bias) as tf.Tensor3D;
}

/**
 * {@link causalConv1dNative} when the native kernels are loaded and enabled, else undefined (the
 * caller then runs its tfjs ops). The hook `training/ops/causal-conv.ts` `causalConv1d` calls.
 */
export function causalConv1dIfNative(x: tf.Tensor3D, kernel: tf.Tensor3D, bias: tf.Tensor1D, dilation: number): tf.Tensor3D | undefined {
  const kernels = nativeKernels();
  return kernels ? causalConv1dNative(x, kernel, bias, dilation, kernels) : undefined;
}
