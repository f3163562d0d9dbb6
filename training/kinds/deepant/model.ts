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
 * CausalConv(filters[1], k, relu) -> MaxPool(p) -> [self-attention] -> Flatten [+ Bahdanau context]
 * -> Dense(hidden, relu) -> Dense(h * C) -> forecast [N, h, C]. Loss: MSE on scaled data. The
 * attention variants (`attention`): residual self-attention on the pooled features, or additive
 * (Bahdanau) attention whose context joins the flattened features (./attention.ts).
 *
 * Score: `e = forecast - target` (scaled units, `[h, C]` per window), `sq_c = sum_h e[h, c]^2`,
 * `norm = sqrt(sum_c sq_c)` (the Euclidean forecast error, as in the paper). `channel_score[c] =
 * sq_c / (norm + 1e-12)` and `score = sum_c channel_score[c] = norm^2 / (norm + 1e-12)`, which is
 * the Euclidean error to float precision (the 1e-12 only keeps a perfect forecast from dividing
 * by zero), and splits it over channels in proportion to their squared errors.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BaseTrainConfig } from '../../fit';
import { CausalConv1DLayer, SelfAttentionLayer } from '../../ops/layers';
import { BahdanauAttentionLayer } from './attention';
import { type DeepAntConfig, deepAntAttention, deepAntAttentionUnits } from './config';

export { type DeepAntConfig, DEEPANT_DEFAULTS, resolveDeepAntConfig, deepAntPooledLength, deepAntAttention } from './config';

/** Added to the error norm before dividing by it (see the module doc). */
export const DEEPANT_NORM_EPSILON = 1e-12;

/** Layer names the exporter looks the weights up by. */
export const DEEPANT_LAYERS = {
  conv: (i: number) => `conv_${i}`,
  pool: (i: number) => `pool_${i}`,
  attention: 'self_attention',
  bahdanau: 'bahdanau_attention',
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
  const attention = deepAntAttention(config);
  if (attention === 'self') x = new SelfAttentionLayer({ name: DEEPANT_LAYERS.attention, seed: nextSeed() }).apply(x) as tfl.SymbolicTensor;
  if (attention === 'bahdanau') {
    const context = new BahdanauAttentionLayer({ name: DEEPANT_LAYERS.bahdanau, units: deepAntAttentionUnits(config), seed: nextSeed() }).apply(x) as tfl.SymbolicTensor;
    const flat = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
    x = tfl.layers.concatenate({ name: 'with_context', axis: 1 }).apply([flat, context]) as tfl.SymbolicTensor;
  } else {
    x = tfl.layers.flatten({ name: 'flatten' }).apply(x) as tfl.SymbolicTensor;
  }
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
  /** `[N, T']`: attention weights over the pooled steps (attention `bahdanau` only). */
  attention?: tf.Tensor2D;
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
    const layer = model.layers.find((l) => l instanceof BahdanauAttentionLayer) as BahdanauAttentionLayer | undefined;
    return { channelScore, score: tf.sum(channelScore, 1) as tf.Tensor1D, forecast, ...(layer ? { attention: deepAntAttentionWeights(model, layer, history) } : {}) };
  });
}

/** Attention weights `[N, T']` of the Bahdanau layer on histories `[N, W-h, C]` (what the graph outputs as `attention`). */
function deepAntAttentionWeights(model: tfl.LayersModel, layer: BahdanauAttentionLayer, history: tf.Tensor3D): tf.Tensor2D {
  // The features the layer sees: the model up to the second pooling.
  const features = tfl.model({ inputs: model.inputs, outputs: model.getLayer(DEEPANT_LAYERS.pool(1)).output as tfl.SymbolicTensor });
  return layer.weightsOf(features.predict(history) as tf.Tensor3D);
}
