/**
 * One training batch of a model whose kind has a native training step (DC-VAE, LSTM-AE): the
 * loss and weight gradients the step computed go to the model's own optimizer (Adam, state and
 * all), in the order tfjs-layers' trainOnBatch hands them over, so both paths update the same
 * variables the same way and can alternate; where the native step does not apply, tfjs-layers'
 * own step runs.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A native step's loss and weight gradients, keyed by variable name (the caller of the step disposes them). */
export interface NativeGradients {
  loss: number;
  grads: tf.NamedTensorMap;
}

/**
 * Runs one batch through `gradients` (undefined: the native step does not apply) or else `tfjsStep`.
 * @param optimizer the compiled model's optimizer; undefined (not compiled) leaves the batch to
 *   `tfjsStep`, which raises tfjs-layers' own error.
 */
export async function trainOnBatchNatively(
  optimizer: tf.Optimizer | undefined,
  gradients: () => NativeGradients | undefined,
  tfjsStep: () => Promise<number | number[]>,
): Promise<number | number[]> {
  const step = optimizer ? gradients() : undefined;
  if (!step) return tfjsStep();
  try {
    optimizer!.applyGradients(step.grads);
  } finally {
    tf.dispose(Object.values(step.grads));
  }
  return step.loss;
}
