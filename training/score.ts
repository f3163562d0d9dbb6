/**
 * Reconstruction scores on the tfjs side: the same formulas as the ONNX epilogue
 * (`training/export/blocks.ts` `reconstructionScore`), used for thresholds at training time and
 * as the reference in the export parity tests.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';

/** Scores of a batch of windows, as tensors (the caller disposes them). */
export interface ReconstructionScoreTensors {
  /** `[N, W, C]`, scaled units. */
  reconstruction: tf.Tensor3D;
  /** `[N, C]`: mean over time of the squared error of channel c, divided by C. */
  channelScore: tf.Tensor2D;
  /** `[N]`: sum over channels of `channelScore` = MSE over the window. */
  score: tf.Tensor1D;
}

/**
 * Runs an autoencoder on scaled windows and scores the reconstruction.
 * @param windows scaled windows `[N, W, C]`.
 * @param batchSize windows per forward pass (bounds memory).
 */
export function reconstructionScores(model: tfl.LayersModel, windows: tf.Tensor3D, batchSize = 256): ReconstructionScoreTensors {
  return tf.tidy(() => {
    const [, , C] = windows.shape;
    const reconstruction = model.predict(windows, { batchSize }) as tf.Tensor3D;
    const sq = tf.squaredDifference(reconstruction, windows);
    const channelScore = tf.div(tf.mean(sq, 1), C) as tf.Tensor2D;
    const score = tf.sum(channelScore, 1) as tf.Tensor1D;
    return { reconstruction, channelScore, score };
  });
}
