/**
 * tfjs-layers layers that the convolutional kinds (DC-VAE, DeepAnT) are built from, written on
 * plain tfjs-core ops so that they train on every backend, wasm included (see
 * {@link causalConv1d}). Each one maps onto a short, fixed sequence of ONNX ops in
 * `training/export/blocks.ts`; weights are read back by layer name, in `addWeight` order.
 *
 * Shapes: N windows, T frames, F features.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { causalConv1d } from './causal-conv';

type LayerArgs = NonNullable<ConstructorParameters<typeof tfl.layers.Layer>[0]>;
type Kwargs = Parameters<tfl.layers.Layer['call']>[1];

/** Element-wise activations that the layers here apply and the exporter translates. */
export type ConvActivation = 'linear' | 'relu' | 'tanh';

/** Applies a {@link ConvActivation} in tfjs. */
export function activate(x: tf.Tensor, activation: ConvActivation): tf.Tensor {
  switch (activation) {
    case 'linear':
      return x;
    case 'relu':
      return tf.relu(x);
    case 'tanh':
      return tf.tanh(x);
  }
}

function single(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
  return Array.isArray(inputs) ? inputs[0]! : inputs;
}

function singleShape(shape: tfl.Shape | tfl.Shape[]): tfl.Shape {
  return (Array.isArray(shape[0]) ? shape[0] : shape) as tfl.Shape;
}

/** Options of {@link CausalConv1DLayer}. */
export interface CausalConv1DArgs extends LayerArgs {
  /** Output features Cout. */
  filters: number;
  /** Taps k (>= 1). */
  kernelSize: number;
  /** Frames between taps d (>= 1). Default 1. */
  dilation?: number;
  /** Activation after the bias. Default `linear`. */
  activation?: ConvActivation;
  /** Seed of the Glorot-uniform kernel initializer. */
  seed: number;
}

/**
 * Causal dilated Conv1D over `[N, T, Cin] -> [N, T, Cout]` through {@link causalConv1d}.
 * Weights: `kernel` `[k, Cin, Cout]`, `bias` `[Cout]` (zeros at start).
 */
export class CausalConv1DLayer extends tfl.layers.Layer {
  static readonly className = 'SeismoCausalConv1D';
  readonly filters: number;
  readonly kernelSize: number;
  readonly dilation: number;
  readonly activation: ConvActivation;
  private readonly seed: number;
  private kernel?: tfl.LayerVariable;
  private bias?: tfl.LayerVariable;

  constructor(args: CausalConv1DArgs) {
    super(args);
    this.filters = args.filters;
    this.kernelSize = args.kernelSize;
    this.dilation = args.dilation ?? 1;
    this.activation = args.activation ?? 'linear';
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const cin = singleShape(inputShape)[2]!;
    this.kernel = this.addWeight('kernel', [this.kernelSize, cin, this.filters], 'float32', tfl.initializers.glorotUniform({ seed: this.seed }));
    this.bias = this.addWeight('bias', [this.filters], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = singleShape(inputShape);
    return [s[0]!, s[1]!, this.filters];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const y = causalConv1d(single(inputs) as tf.Tensor3D, this.kernel!.read() as tf.Tensor3D, this.bias!.read() as tf.Tensor1D, this.dilation);
      return activate(y, this.activation);
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), filters: this.filters, kernelSize: this.kernelSize, dilation: this.dilation, activation: this.activation, seed: this.seed };
  }
}
tf.serialization.registerClass(CausalConv1DLayer);

/** Options of {@link GaussianHeadLayer}. */
export interface GaussianHeadArgs extends LayerArgs {
  /** Features U of the Gaussian (output is `[N, T, 2U]`). */
  units: number;
  /** Log-variances are clipped to `[-logVarBound, logVarBound]` (keeps the NLL finite). */
  logVarBound: number;
  /** Seed of the Glorot-uniform kernel initializer. */
  seed: number;
}

/**
 * A per-frame Gaussian head: a kernel-1 convolution (a Dense per frame) to `[mean, logVar]`, with
 * the log-variance clipped. Without the clip a variance that collapses on a very regular training
 * set would send `1 / sigma` (and the NLL) to infinity. Output `[N, T, 2U]`: means first.
 * Weights: `kernel` `[1, Cin, 2U]`, `bias` `[2U]`.
 */
export class GaussianHeadLayer extends tfl.layers.Layer {
  static readonly className = 'SeismoGaussianHead';
  readonly units: number;
  readonly logVarBound: number;
  private readonly seed: number;
  private kernel?: tfl.LayerVariable;
  private bias?: tfl.LayerVariable;

  constructor(args: GaussianHeadArgs) {
    super(args);
    this.units = args.units;
    this.logVarBound = args.logVarBound;
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const cin = singleShape(inputShape)[2]!;
    this.kernel = this.addWeight('kernel', [1, cin, 2 * this.units], 'float32', tfl.initializers.glorotUniform({ seed: this.seed }));
    this.bias = this.addWeight('bias', [2 * this.units], 'float32', tfl.initializers.zeros());
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = singleShape(inputShape);
    return [s[0]!, s[1]!, 2 * this.units];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const y = causalConv1d(single(inputs) as tf.Tensor3D, this.kernel!.read() as tf.Tensor3D, this.bias!.read() as tf.Tensor1D, 1);
      // Clip the log-variance half only, as min/max against per-feature bounds (+-Infinity on
      // the means) rather than split + clipByValue + concat: the same values, and gradients
      // passed where -bound <= logVar <= bound as clipByValue's, without the two copies of the
      // activation that a last-axis split and concat cost (row by row on the wasm backend).
      const [hi, lo] = this.bounds();
      return tf.maximum(tf.minimum(y, hi), lo);
    });
  }

  /** `[2U]` upper and lower bounds: +-Infinity for the means, +-logVarBound for the log-variances. */
  private bounds(): [tf.Tensor1D, tf.Tensor1D] {
    const U = this.units;
    const hi = new Float32Array(2 * U).fill(Infinity, 0, U).fill(this.logVarBound, U);
    return [tf.tensor1d(hi), tf.tensor1d(hi.map((v) => -v))];
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units, logVarBound: this.logVarBound, seed: this.seed };
  }
}
tf.serialization.registerClass(GaussianHeadLayer);

/** Options of {@link GaussianSampleLayer}. */
export interface GaussianSampleArgs extends LayerArgs {
  /** First seed of the noise; each training call uses the next one, so runs are reproducible. */
  seed: number;
}

/**
 * The VAE's reparameterisation: input `[N, T, 2L]` (`[mean, logVar]` from a
 * {@link GaussianHeadLayer}), output `[N, T, L]`. Training: `mean + exp(logVar / 2) * eps`,
 * eps ~ N(0, 1) seeded per call. Inference (predict, evaluate): the mean, so scores are
 * deterministic and the exported graph needs no random op.
 */
export class GaussianSampleLayer extends tfl.layers.Layer {
  static readonly className = 'SeismoGaussianSample';
  private readonly seed: number;
  private calls = 0;

  constructor(args: GaussianSampleArgs) {
    super(args);
    this.seed = args.seed;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = singleShape(inputShape);
    return [s[0]!, s[1]!, s[2]! / 2];
  }

  override call(inputs: tf.Tensor | tf.Tensor[], kwargs: Kwargs): tf.Tensor {
    const training = kwargs['training'] === true;
    return tf.tidy(() => {
      const x = single(inputs);
      const [N, T, twoL] = x.shape as [number, number, number];
      // Inference needs the mean only: one slice instead of a split into two copies.
      if (!training) return tf.slice(x, [0, 0, 0], [N, T, twoL / 2]);
      const [mean, logVar] = tf.split(x, 2, 2);
      const eps = this.drawNoise(mean!.shape);
      return tf.add(mean!, tf.mul(tf.exp(tf.mul(logVar!, 0.5)), eps));
    });
  }

  /** The next eps ~ N(0, 1) of this layer's seeded stream, as a tensor (see {@link noise}). */
  drawNoise(shape: number[]): tf.Tensor {
    // tfjs' seeded randomNormal repeats the same draw for the same seed, so the seed advances.
    return tf.randomNormal(shape, 0, 1, 'float32', this.seed + ++this.calls);
  }

  /**
   * The next `count` values of the same stream as a plain array, for the native DC-VAE training
   * step (`training/native-ops/dc-vae-step.ts`): both training paths draw through this layer, so
   * they see the same noise, and a seed trains the same model as before that step existed.
   * (A faster generator of our own would save ~1 ms of a ~18 ms bench step, but it changes
   * every seeded run's results; not worth it.)
   */
  noise(count: number): Float32Array {
    // Disposed by hand: returning a typed array from tf.tidy makes tidy walk it element by
    // element looking for tensors (~12 ms for 64 x 64 x 16 values).
    const t = this.drawNoise([count]);
    try {
      return t.dataSync() as Float32Array;
    } finally {
      t.dispose();
    }
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}
tf.serialization.registerClass(GaussianSampleLayer);

/** Options of {@link SelfAttentionLayer}. */
export interface SelfAttentionArgs extends LayerArgs {
  /** Seed of the Glorot-uniform initializers of the three projections. */
  seed: number;
}

/**
 * Single-head scaled dot-product self-attention over the frames, with a residual connection:
 * `y = x + softmax(Q K^T / sqrt(F)) V`, `Q = x Wq`, `K = x Wk`, `V = x Wv`, all `[F, F]`, no bias.
 * `[N, T, F] -> [N, T, F]`. The residual keeps the plain convolutional features available, so
 * the attention only has to learn what to add. Weights: `query`, `key`, `value`.
 */
export class SelfAttentionLayer extends tfl.layers.Layer {
  static readonly className = 'SeismoSelfAttention';
  private readonly seed: number;
  private wq?: tfl.LayerVariable;
  private wk?: tfl.LayerVariable;
  private wv?: tfl.LayerVariable;

  constructor(args: SelfAttentionArgs) {
    super(args);
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const f = singleShape(inputShape)[2]!;
    const init = (k: number) => tfl.initializers.glorotUniform({ seed: this.seed + k });
    this.wq = this.addWeight('query', [f, f], 'float32', init(1));
    this.wk = this.addWeight('key', [f, f], 'float32', init(2));
    this.wv = this.addWeight('value', [f, f], 'float32', init(3));
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    return singleShape(inputShape);
  }

  override call(inputs: tf.Tensor | tf.Tensor[], _kwargs: Kwargs): tf.Tensor {
    return tf.tidy(() => {
      const x = single(inputs) as tf.Tensor3D;
      const [N, T, F] = x.shape;
      const flat = tf.reshape(x, [N * T, F]);
      const proj = (w: tfl.LayerVariable) => tf.reshape(tf.matMul(flat, w.read() as tf.Tensor2D), [N, T, F]) as tf.Tensor3D;
      const logits = tf.mul(tf.matMul(proj(this.wq!), proj(this.wk!), false, true), 1 / Math.sqrt(F)); // [N, T, T]
      return tf.add(x, tf.matMul(tf.softmax(logits), proj(this.wv!)));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), seed: this.seed };
  }
}
tf.serialization.registerClass(SelfAttentionLayer);
