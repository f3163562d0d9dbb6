/**
 * Dense autoencoder baseline: a window flattened to `D = W * C` features (one record with the
 * default window 1) is squeezed through a narrow code and reconstructed; the mean squared
 * reconstruction error is the score. The classic baseline of the KDD Cup 99 intrusion literature.
 *
 * Layout (what the exporter translates one-to-one): Flatten -> encoder Dense stack (hidden
 * activation) -> decoder Dense stack, mirrored, without the code layer -> Dense(D, linear) ->
 * Reshape [W, C]. Trained by the shared `trainOnBatch` loop with Adam and MSE.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type BaseTrainConfig } from '../../fit';
import { type HiddenActivation, denseLayer, seedSequence } from '../../classic/common';
import type { DenseAeConfig } from './config';

export { type DenseAeConfig, DENSE_AE_DEFAULTS, resolveDenseAeConfig } from './config';

/** Layer name prefixes the exporter looks the parts up by. */
export const DENSE_AE_PREFIX = { encoder: 'enc_', decoder: 'dec_' } as const;

/**
 * Builds and compiles the dense AE (Adam, MSE). Input and output `[batch, W, C]`, scaled units;
 * initializers seeded from `config.seed`.
 */
export function buildDenseAe(config: DenseAeConfig): tfl.LayersModel {
  const { window: W, channels: C } = config;
  const D = W * C;
  const next = seedSequence(config.seed);
  const model = tfl.sequential({ name: 'dense_ae' });
  model.add(tfl.layers.flatten({ inputShape: [W, C], name: 'flatten' }));
  config.encoderUnits.forEach((u, i) => model.add(denseLayer(`${DENSE_AE_PREFIX.encoder}${i}`, u, config.activation, next())));
  const dec = config.decoderUnits ?? [];
  dec.forEach((u, i) => model.add(denseLayer(`${DENSE_AE_PREFIX.decoder}${i}`, u, config.activation, next())));
  model.add(denseLayer(`${DENSE_AE_PREFIX.decoder}${dec.length}`, D, 'linear', next()));
  model.add(tfl.layers.reshape({ targetShape: [W, C], name: 'unflatten' }));
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: 'meanSquaredError' });
  return model;
}
