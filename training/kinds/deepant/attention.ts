/**
 * Additive (Bahdanau) attention for DeepAnT, the variant the DeepAnT study tried beside
 * self-attention (Bahdanau, Cho, Bengio, "Neural Machine Translation by Jointly Learning to Align
 * and Translate", ICLR 2015): the most recent pooled step asks which earlier steps matter for
 * the forecast.
 *
 * Over the pooled convolutional features `h_t` `[N, T, F]`, with the last step as the query
 * `q = h_{T-1}`:
 *
 *     e_t = v . tanh(h_t Wk + q Wq + b)        (Wk, Wq `[F, U]`, b `[U]`, v `[U]`)
 *     a_t = softmax_t(e_t)                     (the attention weights `[N, T]`, sum 1)
 *     context = sum_t a_t h_t                  (`[N, F]`)
 *
 * The layer outputs the context; DeepAnT concatenates it with the flattened features before its
 * Dense layers, so the forecast can lean on the steps the weights point at, and the weights are a
 * graph output beside the score (which part of the history the forecast leaned on).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';

/** Options of {@link BahdanauAttentionLayer}. */
export interface BahdanauAttentionArgs {
  /** Layer name (the exporter looks the weights up by it). */
  name?: string;
  /** Units U of the additive score's hidden layer. */
  units: number;
  /** Seed of the Glorot-uniform initializers (Wk, Wq, v; b starts at 0). */
  seed: number;
}

/** The weights of the layer, in `getWeights()` order. */
export interface BahdanauWeights {
  /** `[F, U]` row-major. */
  key: Float32Array;
  /** `[F, U]` row-major. */
  query: Float32Array;
  /** `[U]`. */
  bias: Float32Array;
  /** `[U, 1]`. */
  score: Float32Array;
  features: number;
  units: number;
}

/** Attention weights `[N, T]` and context `[N, F]` of features `x` `[N, T, F]` (the layer's math, for the layer and for tests). */
export function additiveAttention(x: tf.Tensor3D, w: { key: tf.Tensor2D; query: tf.Tensor2D; bias: tf.Tensor1D; score: tf.Tensor2D }): { weights: tf.Tensor2D; context: tf.Tensor2D } {
  return tf.tidy(() => {
    const [N, T, F] = x.shape;
    const U = w.key.shape[1];
    const keys = tf.reshape(tf.matMul(tf.reshape(x, [N * T, F]), w.key), [N, T, U]);
    const last = tf.reshape(tf.slice(x, [0, T - 1, 0], [N, 1, F]), [N, F]);
    const query = tf.reshape(tf.matMul(last, w.query), [N, 1, U]);
    const hidden = tf.tanh(tf.add(tf.add(keys, query), w.bias));
    const logits = tf.reshape(tf.matMul(tf.reshape(hidden, [N * T, U]), w.score), [N, T]);
    const weights = tf.softmax(logits) as tf.Tensor2D;
    const context = tf.reshape(tf.matMul(tf.reshape(weights, [N, 1, T]), x), [N, F]) as tf.Tensor2D;
    return { weights, context };
  });
}

/** `[N, T, F] -> [N, F]`: the attention context (see the module doc). Weights: `key`, `query`, `bias`, `score`. */
export class BahdanauAttentionLayer extends tfl.layers.Layer {
  static readonly className = 'SeismoBahdanauAttention';
  private readonly units: number;
  private readonly seed: number;
  private wk?: tfl.LayerVariable;
  private wq?: tfl.LayerVariable;
  private b?: tfl.LayerVariable;
  private v?: tfl.LayerVariable;

  constructor(args: BahdanauAttentionArgs) {
    super({ name: args.name });
    this.units = args.units;
    this.seed = args.seed;
  }

  override build(inputShape: tfl.Shape | tfl.Shape[]): void {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    const f = shape[2]!;
    const init = (k: number) => tfl.initializers.glorotUniform({ seed: this.seed + k });
    this.wk = this.addWeight('key', [f, this.units], 'float32', init(1));
    this.wq = this.addWeight('query', [f, this.units], 'float32', init(2));
    this.b = this.addWeight('bias', [this.units], 'float32', tfl.initializers.zeros());
    this.v = this.addWeight('score', [this.units, 1], 'float32', init(3));
    this.built = true;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const shape = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [shape[0]!, shape[2]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor3D;
      return additiveAttention(x, this.tensors()).context;
    });
  }

  /** The attention weights `[N, T]` of features `x` `[N, T, F]`. */
  weightsOf(x: tf.Tensor3D): tf.Tensor2D {
    return tf.tidy(() => {
      const { weights, context } = additiveAttention(x, this.tensors());
      context.dispose();
      return weights;
    });
  }

  private tensors() {
    return { key: this.wk!.read() as tf.Tensor2D, query: this.wq!.read() as tf.Tensor2D, bias: this.b!.read() as tf.Tensor1D, score: this.v!.read() as tf.Tensor2D };
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), units: this.units, seed: this.seed };
  }
}
tf.serialization.registerClass(BahdanauAttentionLayer);
