/**
 * One training batch of a model whose kind has a native training step (DC-VAE, LSTM-AE): the
 * loss and weight gradients the step computed go to the model's own optimizer (Adam, state and
 * all), in the order tfjs-layers' trainOnBatch hands them over, so both paths update the same
 * variables the same way and can alternate; where the native step does not apply, tfjs-layers'
 * own step runs. tfjs' own Adam (what the models compile with) takes the gradient buffers through
 * {@link applyAdam}, the same update without a tensor per gradient and ~13 tfjs ops per variable;
 * any other optimizer gets them as tensors through its `applyGradients`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { applyAdam, plainAdam, type VariableGradient } from './adam';

/** A native step's loss and weight gradients, keyed by variable name (the caller of the step disposes them). */
export interface NativeGradients {
  loss: number;
  grads: tf.NamedTensorMap;
}

/**
 * A native step's loss and weight gradients as buffers, each with its variable, in the order of
 * the model's trainableWeights (Adam keeps its state by position). The buffers are the step's
 * own, reused by its next call.
 */
export interface NativeGradientBuffers {
  loss: number;
  grads: VariableGradient[];
}

/** The gradients as tensors keyed by variable name (copies; the caller disposes them). */
export function gradientTensors(grads: readonly VariableGradient[]): tf.NamedTensorMap {
  const named: tf.NamedTensorMap = {};
  for (const { variable, gradient } of grads) named[variable.name] = tf.tensor(gradient, variable.shape, 'float32');
  return named;
}

/**
 * Runs one batch through `gradients` (undefined: the native step does not apply) or else `tfjsStep`.
 * @param optimizer the compiled model's optimizer; undefined (not compiled) leaves the batch to
 *   `tfjsStep`, which raises tfjs-layers' own error.
 */
export async function trainOnBatchNatively(
  optimizer: tf.Optimizer | undefined,
  gradients: () => NativeGradientBuffers | undefined,
  tfjsStep: () => Promise<number | number[]>,
): Promise<number | number[]> {
  const step = optimizer ? gradients() : undefined;
  if (!step) return tfjsStep();
  const adam = plainAdam(optimizer);
  if (adam) {
    applyAdam(adam, step.grads);
    return step.loss;
  }
  const named = gradientTensors(step.grads);
  try {
    optimizer!.applyGradients(named);
  } finally {
    tf.dispose(Object.values(named));
  }
  return step.loss;
}
