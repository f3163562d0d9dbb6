/**
 * DeepAnT (Munir, Siddiqui, Dengel, Ahmed, "DeepAnT: A Deep Learning Approach for Unsupervised
 * Anomaly Detection in Time Series", IEEE Access 2019): a CNN forecaster. From a history of
 * frames it predicts the next frame(s) of every channel; the forecast error is the anomaly score.
 *
 * Windows here are W frames, as for every kind (the model-directory contract): the history is the
 * first `W - horizon` frames and the target the last `horizon` frames, so a streaming window's
 * score is the forecast error of its last frame(s).
 *
 * Layout: history [N, W-h, C] -> CausalConv(filters[0], k, relu) -> MaxPool(p) ->
 * CausalConv(filters[1], k, relu) -> MaxPool(p) -> [self-attention] -> Flatten ->
 * Dense(hidden, relu) -> Dense(h * C) -> forecast [N, h, C]. Loss: MSE on scaled data.
 *
 * Score: `e = forecast - target` (scaled units, `[h, C]` per window), `sq_c = sum_h e[h, c]^2`,
 * `norm = sqrt(sum_c sq_c)` (the Euclidean forecast error, as in the paper). `channel_score[c] =
 * sq_c / (norm + 1e-12)` and `score = sum_c channel_score[c] = norm^2 / (norm + 1e-12)`, which is
 * the Euclidean error to float precision (the 1e-12 only keeps a perfect forecast from dividing
 * by zero), and splits it over channels in proportion to their squared errors.
 */
import { TRAIN_DEFAULTS } from './fit';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BaseTrainConfig } from './fit';
import { CausalConv1DLayer, SelfAttentionLayer } from './ops/layers';
import { ConfigChecker } from './ops/options';

/** Added to the error norm before dividing by it (see the module doc). */
export const DEEPANT_NORM_EPSILON = 1e-12;

/** Hyper-parameters of DeepAnT. */
export interface DeepAntConfig extends BaseTrainConfig {
  /** Frames per window (W): `W - horizon` frames of history plus the `horizon` frames forecast. Default 48. */
  window: number;
  /** Channels per frame (C); set from the training data's channel names. */
  channels: number;
  /** Frames forecast (h) at the end of the window. Default 1 (the paper's). */
  horizon: number;
  /** Output features of the two convolutions. Default `[32, 32]` (the paper's). */
  filters: [number, number];
  /** Taps per convolution (causal, stride 1). Default 2. */
  kernelSize: number;
  /** Max-pooling size and stride after each convolution. Default 2. */
  poolSize: number;
  /** Units of the hidden Dense layer (ReLU). Default 40. */
  hidden: number;
  /**
   * Residual single-head self-attention over the pooled conv features before the Dense layers
   * (the attention variant). Default false (the paper's plain CNN).
   */
  attention: boolean;
}

/** Defaults of {@link DeepAntConfig} (channels excepted: the data decide it). */
export const DEEPANT_DEFAULTS: Readonly<Omit<DeepAntConfig, 'channels'>> = Object.freeze({
  window: 48,
  horizon: 1,
  filters: [32, 32] as [number, number],
  kernelSize: 2,
  poolSize: 2,
  hidden: 40,
  attention: false,
  ...TRAIN_DEFAULTS,
});

/** Frames left after the two poolings of the history: `floor(floor((W - h) / p) / p)`. */
export function deepAntPooledLength(config: Pick<DeepAntConfig, 'window' | 'horizon' | 'poolSize'>): number {
  return Math.floor(Math.floor((config.window - config.horizon) / config.poolSize) / config.poolSize);
}

/**
 * Completes a partial config with the defaults and checks every field.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the offending field.
 */
export function resolveDeepAntConfig(partial: Partial<DeepAntConfig> | undefined, channels: number): DeepAntConfig {
  const check = new ConfigChecker('deepant');
  const c = { ...DEEPANT_DEFAULTS, ...(partial ?? {}), channels } as DeepAntConfig;
  const base = check.base(c, partial?.channels, channels);
  const filters = check.intList('filters', c.filters);
  if (filters.length !== 2) check.bad(`filters must list the two convolutions' widths, got ${JSON.stringify(c.filters)}`, { filters: c.filters });
  const resolved: DeepAntConfig = {
    ...base,
    channels: check.int('channels', c.channels),
    horizon: check.int('horizon', c.horizon),
    filters: [filters[0]!, filters[1]!],
    kernelSize: check.int('kernelSize', c.kernelSize),
    poolSize: check.int('poolSize', c.poolSize),
    hidden: check.int('hidden', c.hidden),
    attention: check.bool('attention', c.attention),
  };
  if (deepAntPooledLength(resolved) < 1) {
    check.bad(
      `window ${resolved.window} leaves ${resolved.window - resolved.horizon} history frames, too few for two poolings of ${resolved.poolSize}; use a window of at least ${resolved.horizon + resolved.poolSize ** 2}`,
      { window: resolved.window, horizon: resolved.horizon, poolSize: resolved.poolSize },
    );
  }
  return resolved;
}

/** Layer names the exporter looks the weights up by. */
export const DEEPANT_LAYERS = {
  conv: (i: number) => `conv_${i}`,
  pool: (i: number) => `pool_${i}`,
  attention: 'self_attention',
  hidden: 'hidden_dense',
  output: 'forecast_dense',
} as const;

/** Training (input, target) of a batch: history `[B, W-h, C]` and the flattened last h frames `[B, h*C]`. */
export function deepAntTargets(config: Pick<DeepAntConfig, 'horizon'>): (windows: tf.Tensor3D) => { x: tf.Tensor; y: tf.Tensor } {
  return (windows) =>
    tf.tidy(() => {
      const [N, W, C] = windows.shape;
      const h = config.horizon;
      return { x: tf.slice(windows, [0, 0, 0], [N, W - h, C]), y: tf.reshape(tf.slice(windows, [0, W - h, 0], [N, h, C]), [N, h * C]) };
    });
}

/**
 * Builds and compiles DeepAnT (Adam, MSE).
 *
 * Input `[batch, W - h, C]` (the history), output `[batch, h * C]` (frame-major forecast), scaled
 * units. Every initializer gets its own seed derived from `config.seed`.
 */
export function buildDeepAnt(config: DeepAntConfig): tfl.LayersModel {
  const { window: W, channels: C, horizon: h, seed } = config;
  let k = 0;
  const nextSeed = () => seed * 1000 + ++k;
  const input = tfl.input({ shape: [W - h, C], name: 'history' });
  let x = input;
  for (let i = 0; i < 2; i++) {
    x = new CausalConv1DLayer({ name: DEEPANT_LAYERS.conv(i), filters: config.filters[i]!, kernelSize: config.kernelSize, activation: 'relu', seed: nextSeed() }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.maxPooling1d({ name: DEEPANT_LAYERS.pool(i), poolSize: config.poolSize, strides: config.poolSize, padding: 'valid' }).apply(x) as tfl.SymbolicTensor;
  }
  if (config.attention) x = new SelfAttentionLayer({ name: DEEPANT_LAYERS.attention, seed: nextSeed() }).apply(x) as tfl.SymbolicTensor;
  x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  const dense = (name: string, units: number, activation: 'relu' | 'linear') =>
    tfl.layers.dense({ name, units, activation, kernelInitializer: tfl.initializers.glorotUniform({ seed: nextSeed() }), biasInitializer: 'zeros' });
  x = dense(DEEPANT_LAYERS.hidden, config.hidden, 'relu').apply(x) as tfl.SymbolicTensor;
  const output = dense(DEEPANT_LAYERS.output, h * C, 'linear').apply(x) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: output, name: 'deepant' });
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: 'meanSquaredError' });
  return model;
}

/** DeepAnT scores of a batch of windows, as tensors (the caller disposes them). */
export interface DeepAntScoreTensors {
  /** `[N, C]`: `sq_c / (norm + 1e-12)` (see the module doc). */
  channelScore: tf.Tensor2D;
  /** `[N]`: sum of `channelScore`, the Euclidean forecast error of the last h frames. */
  score: tf.Tensor1D;
  /** `[N, h, C]`: the forecast, scaled units. */
  forecast: tf.Tensor3D;
}

/** Scores scaled windows `[N, W, C]` with the same formulas as the exported graph. */
export function deepAntScores(model: tfl.LayersModel, windows: tf.Tensor3D, config: Pick<DeepAntConfig, 'horizon'>, batchSize = 256): DeepAntScoreTensors {
  return tf.tidy(() => {
    const [N, W, C] = windows.shape;
    const h = config.horizon;
    const history = tf.slice(windows, [0, 0, 0], [N, W - h, C]);
    const forecast = tf.reshape(model.predict(history, { batchSize }) as tf.Tensor, [N, h, C]) as tf.Tensor3D;
    const target = tf.slice(windows, [0, W - h, 0], [N, h, C]);
    const sq = tf.sum(tf.squaredDifference(forecast, target), 1); // [N, C]
    const norm = tf.sqrt(tf.sum(sq, 1, true)); // [N, 1]
    const channelScore = tf.div(sq, tf.add(norm, DEEPANT_NORM_EPSILON)) as tf.Tensor2D;
    return { channelScore, score: tf.sum(channelScore, 1) as tf.Tensor1D, forecast };
  });
}
