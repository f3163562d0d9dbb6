/**
 * DC-VAE (Garcia Gonzalez, Martinez Tagliafico, Fernandez, Gomez, Acuna, Casas, "One model to
 * find them all: deep learning for multivariate time-series anomaly detection in mobile network
 * data", 2022): a variational autoencoder whose encoder and decoder are stacks of dilated causal
 * 1-D convolutions. For every frame t and channel c it outputs a Gaussian `N(mu[t, c],
 * sigma[t, c]^2)` of the input, so "normal" has a per-channel, per-time width.
 *
 * Layout (kernel k, dilations 1, 2, 4, ... 2^(depth-1), all causal, so frame t sees only frames
 * <= t):
 *   x [N, W, C] -> depth x CausalConv(filters, k, d, act) -> Gaussian head (kernel 1) ->
 *   [mu_z, logVar_z] [N, W, 2L] -> z (sampled in training, mu_z in inference) ->
 *   depth x CausalConv(filters, k, d, act) -> Gaussian head -> [mu_x, logVar_x] [N, W, 2C]
 * Loss per frame: Gaussian NLL of x under (mu_x, sigma_x), summed over channels, plus
 * `klWeight` x KL(q(z|x) || N(0, I)) summed over latent features; averaged over frames and windows.
 *
 * Score (streaming, causal): only the window's last frame is scored, so each frame is scored once
 * with the longest history the window allows. With `z_c = |x_c - mu_c| / sigma_c` at that frame
 * (how many predicted standard deviations channel c is off), `channel_score[c] = z_c / C` and
 * `score = sum_c channel_score[c] = mean_c z_c`. The paper's rule "anomaly on channel c when x_c
 * is outside mu_c +- alpha_c sigma_c" is `channel_score[c] * C > alpha_c`; `alpha` in the config
 * is the stored default for every channel.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BaseTrainConfig } from './fit';
import { CausalConv1DLayer, type ConvActivation, GaussianHeadLayer, GaussianSampleLayer } from './ops/layers';
import { ConfigChecker } from './ops/options';

/** Hyper-parameters of the DC-VAE. */
export interface DcVaeConfig extends BaseTrainConfig {
  /**
   * Frames per window (W). Default 64, the receptive field of the default encoder
   * (`1 + (k-1) * (2^depth - 1)` = 64 for k 2, depth 6): the scored last frame then sees the whole
   * window through the encoder.
   */
  window: number;
  /** Channels per frame (C); set from the training data's channel names. */
  channels: number;
  /** Dilated causal convolutions in the encoder, and again in the decoder; dilations 1, 2, ... 2^(depth-1). Default 6. */
  depth: number;
  /** Output features of every dilated convolution. Default 32. */
  filters: number;
  /** Taps per convolution (k). Default 2 (the paper's). */
  kernelSize: number;
  /**
   * Latent features per frame (L). Smaller than C makes a bottleneck, so the decoder cannot
   * copy anomalies through. Default 4.
   */
  latent: number;
  /** Activation after every dilated convolution: `relu` or `tanh`. Default `relu`. */
  activation: Exclude<ConvActivation, 'linear'>;
  /**
   * Weight of the KL term against the NLL (1 = the plain ELBO). Default 0.1: with a latent per
   * frame and the KL summed over frames, weight 1 collapsed the posterior to the prior on our
   * synthetic fixtures (the loss stayed at the NLL of N(0, 1), ROC AUC 0.62), while 0.1 trained
   * (ROC AUC 0.90 on the same data).
   */
  klWeight: number;
  /**
   * Log-variances (of x and of z) are clipped to `[-logVarBound, logVarBound]`, i.e. sigma within
   * `exp(+-logVarBound / 2)` scaled units. Default 8 (sigma in [0.018, 55]).
   */
  logVarBound: number;
  /**
   * The paper's alpha: channel c of a frame is anomalous when `|x_c - mu_c| > alpha * sigma_c`,
   * i.e. `channel_score[c] * C > alpha`. Stored for thresholding; training ignores it. Default 3.
   */
  alpha: number;
}

/** Defaults of {@link DcVaeConfig} (channels excepted: the data decide it). */
export const DC_VAE_DEFAULTS: Readonly<Omit<DcVaeConfig, 'channels'>> = Object.freeze({
  window: 64,
  depth: 6,
  filters: 32,
  kernelSize: 2,
  latent: 4,
  activation: 'relu',
  klWeight: 0.1,
  logVarBound: 8,
  alpha: 3,
  epochs: 50,
  batchSize: 64,
  learningRate: 1e-3,
  validationSplit: 0.2,
  patience: 5,
  seed: 42,
});

/**
 * Completes a partial config with the defaults and checks every field.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the offending field.
 */
export function resolveDcVaeConfig(partial: Partial<DcVaeConfig> | undefined, channels: number): DcVaeConfig {
  const check = new ConfigChecker('dc-vae');
  const c = { ...DC_VAE_DEFAULTS, ...(partial ?? {}), channels } as DcVaeConfig;
  const base = check.base(c, partial?.channels, channels);
  const depth = check.int('depth', c.depth);
  // 2^depth frames of dilation is already far beyond any sensible window; the cap keeps typos
  // (depth 60) from building a model that cannot run.
  if (depth > 16) check.bad(`depth must be at most 16, got ${depth}`, { depth });
  return {
    ...base,
    channels: check.int('channels', c.channels),
    depth,
    filters: check.int('filters', c.filters),
    kernelSize: check.int('kernelSize', c.kernelSize),
    latent: check.int('latent', c.latent),
    activation: check.oneOf('activation', c.activation, ['relu', 'tanh'] as const),
    klWeight: check.nonNegative('klWeight', c.klWeight),
    logVarBound: check.positive('logVarBound', c.logVarBound),
    alpha: check.positive('alpha', c.alpha),
  };
}

/** Layer names the exporter looks the weights up by. */
export const DC_VAE_LAYERS = {
  encoder: (i: number) => `encoder_conv_${i}`,
  encoderHead: 'encoder_gaussian',
  sample: 'latent_sample',
  decoder: (i: number) => `decoder_conv_${i}`,
  decoderHead: 'decoder_gaussian',
} as const;

/** Frames that the last frame's encoder output depends on: `1 + (k-1)(2^depth - 1)`. */
export function dcVaeReceptiveField(config: Pick<DcVaeConfig, 'kernelSize' | 'depth'>): number {
  return 1 + (config.kernelSize - 1) * (2 ** config.depth - 1);
}

/**
 * Splits the model output `[N, W, 2C + 2L]` (mu_x, logVar_x, mu_z, logVar_z on the last axis).
 */
function splitOutput(out: tf.Tensor, C: number, L: number): [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor] {
  return tf.split(out, [C, C, L, L], 2) as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
}

/**
 * The DC-VAE loss for one batch: `yTrue` carries the scaled windows in its first C features (see
 * {@link dcVaeTargets}); `yPred` is the model output. Returns the per-window loss `[N]`:
 * mean over frames of (Gaussian NLL summed over channels + klWeight x KL summed over latents).
 */
export function dcVaeLoss(config: Pick<DcVaeConfig, 'channels' | 'latent' | 'klWeight'>): (yTrue: tf.Tensor, yPred: tf.Tensor) => tf.Tensor {
  const { channels: C, latent: L, klWeight } = config;
  const halfLog2Pi = 0.5 * Math.log(2 * Math.PI);
  return (yTrue, yPred) =>
    tf.tidy(() => {
      const x = tf.slice(yTrue, [0, 0, 0], [-1, -1, C]);
      const [mu, logVar, muZ, logVarZ] = splitOutput(yPred, C, L);
      const nll = tf.add(tf.mul(tf.add(logVar, tf.mul(tf.squaredDifference(x, mu), tf.exp(tf.neg(logVar)))), 0.5), halfLog2Pi); // [N, W, C]
      const kl = tf.mul(tf.sub(tf.add(tf.square(muZ), tf.exp(logVarZ)), tf.add(logVarZ, 1)), 0.5); // [N, W, L]
      const perFrame = tf.add(tf.sum(nll, 2), tf.mul(tf.sum(kl, 2), klWeight)); // [N, W]
      return tf.mean(perFrame, 1);
    });
}

/**
 * Training (input, target) of a batch: the target is the window padded with zeros to the model
 * output's width, because tfjs-layers checks that target and output shapes agree; the loss reads
 * only the first C features.
 */
export function dcVaeTargets(config: Pick<DcVaeConfig, 'channels' | 'latent'>): (windows: tf.Tensor3D) => { x: tf.Tensor; y: tf.Tensor } {
  return (windows) =>
    tf.tidy(() => {
      const [N, W] = windows.shape;
      return { x: tf.clone(windows), y: tf.concat([windows, tf.zeros([N, W, config.channels + 2 * config.latent])], 2) };
    });
}

/**
 * Builds and compiles the DC-VAE (Adam, {@link dcVaeLoss}).
 *
 * Input `[batch, W, C]`, scaled units; output `[batch, W, 2C + 2L]`: mu_x, logVar_x (clipped),
 * mu_z, logVar_z. Every initializer and the sampling noise get seeds derived from `config.seed`.
 */
export function buildDcVae(config: DcVaeConfig): tfl.LayersModel {
  const { window: W, channels: C, seed } = config;
  let k = 0;
  const nextSeed = () => seed * 1000 + ++k;
  const stack = (x: tfl.SymbolicTensor, name: (i: number) => string) => {
    for (let i = 0; i < config.depth; i++) {
      x = new CausalConv1DLayer({
        name: name(i),
        filters: config.filters,
        kernelSize: config.kernelSize,
        dilation: 2 ** i,
        activation: config.activation,
        seed: nextSeed(),
      }).apply(x) as tfl.SymbolicTensor;
    }
    return x;
  };
  const input = tfl.input({ shape: [W, C], name: 'windows' });
  const latent = new GaussianHeadLayer({ name: DC_VAE_LAYERS.encoderHead, units: config.latent, logVarBound: config.logVarBound, seed: nextSeed() }).apply(
    stack(input, DC_VAE_LAYERS.encoder),
  ) as tfl.SymbolicTensor;
  const z = new GaussianSampleLayer({ name: DC_VAE_LAYERS.sample, seed: nextSeed() }).apply(latent) as tfl.SymbolicTensor;
  const decoded = new GaussianHeadLayer({ name: DC_VAE_LAYERS.decoderHead, units: C, logVarBound: config.logVarBound, seed: nextSeed() }).apply(
    stack(z, DC_VAE_LAYERS.decoder),
  ) as tfl.SymbolicTensor;
  const output = tfl.layers.concatenate({ axis: -1, name: 'gaussians' }).apply([decoded, latent]) as tfl.SymbolicTensor;
  const model = tfl.model({ inputs: input, outputs: output, name: 'dc_vae' });
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: dcVaeLoss(config) });
  return model;
}

/** DC-VAE scores of a batch of windows, as tensors (the caller disposes them). */
export interface DcVaeScoreTensors {
  /** `[N, C]`: `|x - mu| / sigma` of the last frame, divided by C. */
  channelScore: tf.Tensor2D;
  /** `[N]`: sum of `channelScore` = mean over channels of `|x - mu| / sigma` at the last frame. */
  score: tf.Tensor1D;
  /** `[N, C]`: mu_x of the last frame, scaled units. */
  mean: tf.Tensor2D;
  /** `[N, C]`: sigma_x of the last frame, scaled units. */
  std: tf.Tensor2D;
}

/**
 * Scores scaled windows `[N, W, C]` with the same formulas as the exported graph (deterministic:
 * the latent mean, not a sample).
 */
export function dcVaeScores(model: tfl.LayersModel, windows: tf.Tensor3D, config: Pick<DcVaeConfig, 'channels' | 'latent'>, batchSize = 256): DcVaeScoreTensors {
  return tf.tidy(() => {
    const [N, W, C] = windows.shape;
    const out = model.predict(windows, { batchSize }) as tf.Tensor3D;
    const last = tf.reshape(tf.slice(out, [0, W - 1, 0], [N, 1, 2 * C]), [N, 2 * C]);
    const [mean, logVar] = tf.split(last, 2, 1) as [tf.Tensor2D, tf.Tensor2D];
    const x = tf.reshape(tf.slice(windows, [0, W - 1, 0], [N, 1, C]), [N, C]);
    // Multiplying by exp(-logVar / 2) rather than dividing by sigma: the graph does the same, so
    // both sides round alike.
    const z = tf.mul(tf.abs(tf.sub(x, mean)), tf.exp(tf.mul(logVar, -0.5)));
    const channelScore = tf.div(z, config.channels) as tf.Tensor2D;
    return { channelScore, score: tf.sum(channelScore, 1) as tf.Tensor1D, mean, std: tf.exp(tf.mul(logVar, 0.5)) as tf.Tensor2D };
  });
}
