/**
 * Routes a tfjs-layers LSTM layer through {@link lstmSequence} (native kernels when loaded).
 *
 * The layer stays a plain tfjs-layers `LSTM`: same class name, config and weight variables
 * (kernel `[F, 4H]`, recurrent kernel `[H, 4H]`, bias `[4H]`, gate blocks i, f, c, o), so the ONNX
 * exporter, `getWeights`/`setWeights` and serialisation see no difference. Only the layer's
 * `call` is replaced, and the replacement falls back to the layer's own implementation for
 * everything the kernel does not cover (masks, initial states) and whenever the native kernels
 * are off, decided at each call.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { nativeKernels } from './kernels';
import { lstmSequenceNative } from './lstm';

type CallFn = (inputs: tf.Tensor | tf.Tensor[], kwargs: Record<string, unknown>) => tf.Tensor | tf.Tensor[];

const routed = new WeakSet<object>();

/**
 * Makes `layer` (an `LSTM` from `tfl.layers.lstm`) use the native LSTM op when it can.
 *
 * @returns false, leaving the layer untouched, when the layer is not an LSTM or uses what the
 *   kernel does not implement (activation other than tanh, recurrent activation other than
 *   sigmoid/hardSigmoid, no bias, dropout, goBackwards, stateful, returnState).
 */
export function routeLstmThroughKernels(layer: tfl.layers.Layer): boolean {
  if (layer.getClassName() !== 'LSTM') return false;
  if (routed.has(layer)) return true;
  const cfg = layer.getConfig();
  const recurrentActivation = cfg['recurrentActivation'];
  const supported =
    cfg['activation'] === 'tanh' &&
    (recurrentActivation === 'sigmoid' || recurrentActivation === 'hardSigmoid') &&
    cfg['useBias'] !== false &&
    !cfg['dropout'] &&
    !cfg['recurrentDropout'] &&
    !cfg['goBackwards'] &&
    !cfg['stateful'] &&
    !cfg['returnState'];
  if (!supported) return false;
  const returnSequences = Boolean(cfg['returnSequences']);
  const target = layer as unknown as { call: CallFn };
  const original = target.call.bind(layer) as CallFn;
  target.call = (inputs, kwargs) => {
    const kernels = nativeKernels();
    if (!kernels || kwargs?.['mask'] != null || kwargs?.['initialState'] != null) return original(inputs, kwargs);
    const x = (Array.isArray(inputs) ? inputs[0] : inputs) as tf.Tensor3D;
    // LSTMCell.build adds kernel, recurrent_kernel, bias in this order; read() gives the
    // variables themselves, so tfjs autodiff sends their gradients to the optimiser.
    const [kernel, recurrent, bias] = layer.weights.map((w) => w.read()) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor1D];
    return lstmSequenceNative(x, kernel, recurrent, bias, { recurrentActivation, returnSequences }, kernels);
  };
  routed.add(layer);
  return true;
}
