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
import { type BaseTrainConfig } from './fit';
import { BASELINE_BASE_DEFAULTS, type HiddenActivation, activationOption, denseLayer, resolveBase, seedSequence, unitList } from './classic/common';

/** Hyper-parameters of the dense autoencoder. */
export interface DenseAeConfig extends BaseTrainConfig {
  /** Frames per window (W), flattened with the channels. Default 1 (one record per window). */
  window: number;
  /** Channels per frame (C); set from the training data. */
  channels: number;
  /** Units of the encoder's Dense layers, first to last; the last is the code. Default `[64, 16]`. */
  encoderUnits: number[];
  /**
   * Units of the decoder's hidden Dense layers, first to last (the output layer of D units comes
   * after them). Default: the encoder's hidden layers mirrored (`[64]` for the default encoder).
   */
  decoderUnits?: number[];
  /** Activation of every hidden layer, code included; the output is linear. Default `'tanh'`. */
  activation: HiddenActivation;
}

/** Defaults of {@link DenseAeConfig} (channels from the data; decoderUnits mirrors the encoder). */
export const DENSE_AE_DEFAULTS: Readonly<Omit<DenseAeConfig, 'channels' | 'decoderUnits'>> = Object.freeze({
  ...BASELINE_BASE_DEFAULTS,
  encoderUnits: [64, 16],
  activation: 'tanh',
});

/** Layer name prefixes the exporter looks the parts up by. */
export const DENSE_AE_PREFIX = { encoder: 'enc_', decoder: 'dec_' } as const;

/**
 * Completes a partial config with the defaults and checks every field.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the offending field.
 */
export function resolveDenseAeConfig(partial: Partial<DenseAeConfig> | undefined, channels: number): DenseAeConfig {
  const { base, merged } = resolveBase<DenseAeConfig>('dense-ae', DENSE_AE_DEFAULTS, partial, channels);
  const encoderUnits = unitList('dense-ae', 'encoderUnits', merged.encoderUnits);
  const decoderUnits = unitList('dense-ae', 'decoderUnits', merged.decoderUnits ?? encoderUnits.slice(0, -1).reverse(), true);
  return { ...base, encoderUnits, decoderUnits, activation: activationOption('dense-ae', merged.activation) };
}

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
