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
 *
 * Training: with the native kernels loaded, `trainOnBatch` computes the loss and gradients in
 * one native step (`training/native-ops/dc-vae-step.ts`, see {@link DcVaeModel}) and hands them
 * to the model's Adam; otherwise tfjs-layers differentiates the layers below. Same math, same
 * noise stream, same weights and optimizer state either way.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BaseTrainConfig } from '../../fit';
import { DcVaeStep, floats, type StepConv, type StepGrads, type StepHead, type StepNet } from '../../native-ops/dc-vae-step';
import { nativeKernels } from '../../native-ops/kernels';
import { gradientTensors, trainOnBatchNatively, type NativeGradientBuffers } from '../../native-ops/train-step';
import { CausalConv1DLayer, type ConvActivation, GaussianHeadLayer, GaussianSampleLayer } from '../../ops/layers';
import type { DcVaeConfig } from './config';

export { type DcVaeConfig, DC_VAE_DEFAULTS, resolveDcVaeConfig } from './config';

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
  // tf.pad rather than concat with zeros: the same tensor, but one backend kernel instead of the
  // wasm backend's row-by-row concat.
  return (windows) => tf.tidy(() => ({ x: tf.clone(windows), y: tf.pad(windows, [[0, 0], [0, 0], [0, config.channels + 2 * config.latent]]) }));
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
  const model = new DcVaeModel({ inputs: input, outputs: output, name: 'dc_vae' }, config);
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: dcVaeLoss(config) });
  return model;
}

/**
 * {@link DcVaeModel.nativeGradients} of a model from {@link buildDcVae}; undefined for any other
 * model or when the native step does not apply (tests compare it with tfjs autodiff).
 */
export function dcVaeNativeGradients(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor): { loss: number; grads: tf.NamedTensorMap } | undefined {
  return model instanceof DcVaeModel ? model.nativeGradients(x, y) : undefined;
}

/**
 * The DC-VAE as a plain LayersModel (same layers, weights, predict, evaluate, export) whose
 * `trainOnBatch` runs the native training step when the native kernels are loaded.
 *
 * Why: through tfjs-layers, a bench step (issue 7) spent ~5x more time in tfjs around the native
 * convolutions (split/concat copies of the Gaussian heads, activations copied in and out of the
 * wasm heap per op, the autodiff tape, GC) than in them. {@link DcVaeStep} computes the same
 * loss and weight gradients directly on reused buffers; the gradients then go to this model's
 * own optimizer (Adam, state and all), in the order tfjs-layers' trainOnBatch hands them over,
 * so both paths update the same variables the same way and can alternate. Without the kernels,
 * or for inputs that are not one `[N, W, C]` tensor and its `[N, W, >= C]` target, the
 * tfjs-layers step runs.
 */
class DcVaeModel extends tfl.LayersModel {
  private step?: DcVaeStep;

  constructor(
    args: ConstructorParameters<typeof tfl.LayersModel>[0],
    private readonly dcVae: Pick<DcVaeConfig, 'channels' | 'latent' | 'klWeight' | 'depth'>,
  ) {
    super(args);
  }

  override async trainOnBatch(x: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, y: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): Promise<number | number[]> {
    return trainOnBatchNatively(this.optimizer, () => this.nativeGradientBuffers(x, y), () => super.trainOnBatch(x, y));
  }

  /**
   * Loss and weight gradients of one training batch through {@link DcVaeStep} (draws the next
   * noise of the sample layer), keyed by variable name in trainableWeights order; undefined
   * (nothing drawn) when the native step does not apply. The caller disposes the gradients.
   */
  nativeGradients(x: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, y: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): { loss: number; grads: tf.NamedTensorMap } | undefined {
    const step = this.nativeGradientBuffers(x, y);
    return step && { loss: step.loss, grads: gradientTensors(step.grads) };
  }

  /** {@link nativeGradients} as the step's own buffers, with their variables in trainableWeights order. */
  private nativeGradientBuffers(x: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, y: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): NativeGradientBuffers | undefined {
    const kernels = nativeKernels();
    const C = this.dcVae.channels;
    const inShape = this.inputs[0]!.shape;
    if (
      !kernels ||
      !(x instanceof tf.Tensor) ||
      !(y instanceof tf.Tensor) ||
      x.rank !== 3 ||
      y.rank !== 3 ||
      x.dtype !== 'float32' ||
      y.dtype !== 'float32' ||
      x.shape[1] !== inShape[1] ||
      x.shape[2] !== C ||
      y.shape[0] !== x.shape[0] ||
      y.shape[1] !== x.shape[1] ||
      y.shape[2]! < C ||
      x.shape[0] < 1
    ) {
      return undefined;
    }
    const plan = this.gradientPlan();
    if (!plan) return undefined;
    const [N, T] = x.shape as [number, number, number];
    this.step ??= new DcVaeStep(kernels);
    const sample = this.getLayer(DC_VAE_LAYERS.sample) as GaussianSampleLayer;
    const noise = sample.noise(N * T * this.dcVae.latent);
    const { loss, grads } = this.step.run(this.stepNet(), floats(x), floats(y), y.shape[2]!, noise, N, T, C);
    return { loss, grads: plan.map((p) => ({ variable: p.variable, gradient: p.pick(grads) })) };
  }

  private plan?: { variable: tf.Variable; pick: (g: StepGrads) => Float32Array }[] | null;

  /**
   * Where each trainable variable's gradient is in a {@link StepGrads}, in trainableWeights order
   * (Adam keeps its moments by position: the order must be the one tfjs-layers' own step passes,
   * its variable names the keys). Null when a trainable weight is not one this step computes.
   */
  private gradientPlan(): { variable: tf.Variable; pick: (g: StepGrads) => Float32Array }[] | null {
    if (this.plan !== undefined) return this.plan;
    const where = new Map<string, (g: StepGrads) => [Float32Array, Float32Array]>();
    for (let i = 0; i < this.dcVae.depth; i++) {
      where.set(DC_VAE_LAYERS.encoder(i), (g) => g.encoder[i]!);
      where.set(DC_VAE_LAYERS.decoder(i), (g) => g.decoder[i]!);
    }
    where.set(DC_VAE_LAYERS.encoderHead, (g) => g.encoderHead);
    where.set(DC_VAE_LAYERS.decoderHead, (g) => g.decoderHead);
    const byVariable = new Map<string, { variable: tf.Variable; pick: (g: StepGrads) => Float32Array }>();
    for (const layer of this.layers) {
      const at = where.get(layer.name);
      // Layer weights are [kernel, bias], in addWeight order.
      // read() is the layer's tf.Variable itself, the same object for the model's life (setWeights assigns into it).
      if (at) layer.trainableWeights.forEach((w, j) => byVariable.set(w.name, { variable: w.read() as tf.Variable, pick: (g) => at(g)[j]! }));
    }
    const plan = this.trainableWeights.map((w) => byVariable.get(w.name));
    this.plan = plan.every((p) => p !== undefined) ? plan : null;
    return this.plan;
  }

  /** The current weights and shapes of the network, for {@link DcVaeStep}. */
  private stepNet(): StepNet {
    const conv = (name: string): StepConv => {
      const layer = this.getLayer(name) as CausalConv1DLayer;
      const [kernel, bias] = layer.trainableWeights.map((w) => floats(w.read()));
      const k = layer.trainableWeights[0]!.shape;
      return { kernel: kernel!, bias: bias!, taps: k[0]!, in: k[1]!, out: k[2]!, dilation: layer.dilation, activation: layer.activation };
    };
    const head = (name: string): StepHead => {
      const layer = this.getLayer(name) as GaussianHeadLayer;
      const [kernel, bias] = layer.trainableWeights.map((w) => floats(w.read()));
      return { kernel: kernel!, bias: bias!, in: layer.trainableWeights[0]!.shape[1]!, units: layer.units, logVarBound: layer.logVarBound };
    };
    const depth = this.dcVae.depth;
    return {
      encoder: Array.from({ length: depth }, (_, i) => conv(DC_VAE_LAYERS.encoder(i))),
      encoderHead: head(DC_VAE_LAYERS.encoderHead),
      decoder: Array.from({ length: depth }, (_, i) => conv(DC_VAE_LAYERS.decoder(i))),
      decoderHead: head(DC_VAE_LAYERS.decoderHead),
      klWeight: this.dcVae.klWeight,
    };
  }
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
