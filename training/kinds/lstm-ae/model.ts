/**
 * LSTM autoencoder for multivariate anomaly detection (Malhotra et al., "LSTM-based
 * Encoder-Decoder for Multi-sensor Anomaly Detection", 2016): an encoder LSTM reads a window and
 * keeps its last hidden state; a decoder LSTM unrolls that state back into the window; the
 * reconstruction error is the anomaly score, since the model learns to reconstruct normal data only.
 *
 * The layout is fixed to what the ONNX exporter translates one-to-one:
 * encoder LSTM stack (all but the last return sequences) -> last hidden state -> RepeatVector(W)
 * (as {@link RepeatFrames})
 * -> decoder LSTM stack (return sequences) -> Dense(C), linear, per frame (as TimeDistributed(Dense)).
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { SeismoError } from '../../../src/errors';
import { type BaseTrainConfig, seededRandom } from '../../fit';
import { floats } from '../../native-ops/dc-vae-step';
import { nativeKernels } from '../../native-ops/kernels';
import { LstmAeStep, type LstmAeGrads, type LstmAeNet, type StepLstm } from '../../native-ops/lstm-ae-step';
import { routeLstmThroughKernels } from '../../native-ops/lstm-layer';
import { gradientTensors, trainOnBatchNatively, type NativeGradientBuffers } from '../../native-ops/train-step';
import type { LstmAeConfig } from './config';

export { type LstmAeConfig, LSTM_AE_DEFAULTS, resolveLstmAeConfig } from './config';

/** Options of {@link RepeatFrames}. */
interface RepeatFramesArgs {
  /** Frames W to repeat the code over. */
  frames: number;
  name?: string;
}

/**
 * RepeatVector `[N, H] -> [N, W, H]` written as a broadcasting add. tfjs-layers' RepeatVector
 * tiles, and the gradient of Tile is one slice and one add per repeat (2 x W tfjs kernels per
 * training step); the gradient of a broadcasting add is one sum over the repeated axis.
 * Exported as RepeatVector is (training/export/blocks.ts `repeatTimeMajor`).
 */
export class RepeatFrames extends tfl.layers.Layer {
  static readonly className = 'SeismoRepeatFrames';
  readonly frames: number;

  constructor(args: RepeatFramesArgs) {
    super({ name: args.name });
    this.frames = args.frames;
  }

  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [s[0]!, this.frames, s[1]!];
  }

  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    return tf.tidy(() => {
      const x = Array.isArray(inputs) ? inputs[0]! : inputs; // [N, H]
      const [N, H] = x.shape as [number, number];
      return tf.add(tf.expandDims(x, 1), tf.zeros([N, this.frames, H]));
    });
  }

  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), frames: this.frames };
  }
}
tf.serialization.registerClass(RepeatFrames);

/** Layer names the exporter looks the weights up by. */
export const LSTM_AE_LAYERS = {
  encoder: (i: number) => `encoder_lstm_${i}`,
  decoder: (i: number) => `decoder_lstm_${i}`,
  output: 'reconstruction_dense',
} as const;

/**
 * Builds and compiles the LSTM-AE (Adam, MSE).
 *
 * The LSTM layers train through the native kernels when they are loaded (see
 * `training/native-ops`), else through tfjs ops; both give the same results.
 *
 * Input and output `[batch, W, C]`, scaled units. Every initializer gets its own seed derived
 * from `config.seed`, so two builds with the same config hold identical weights.
 */
export function buildLstmAe(config: LstmAeConfig): tfl.LayersModel {
  const { window: W, channels: C, seed } = config;
  let k = 0;
  // Distinct seeds per initializer: one shared seed would give every layer the same matrix.
  const nextSeed = () => seed * 1000 + ++k;
  const lstmArgs = (units: number, returnSequences: boolean, name: string) => ({
    units,
    returnSequences,
    name,
    activation: 'tanh' as const,
    // tfjs defaults to hardSigmoid; Keras 2+, PyTorch and ONNX's LSTM default use the logistic sigmoid.
    recurrentActivation: 'sigmoid' as const,
    kernelInitializer: tfl.initializers.glorotUniform({ seed: nextSeed() }),
    // Replaced by an orthogonal matrix after build (see below); seeded so nothing is random.
    recurrentInitializer: tfl.initializers.glorotUniform({ seed: nextSeed() }),
    biasInitializer: tfl.initializers.zeros(),
    // Keras' unitForgetBias (forget gates start open) is applied after build instead: tfjs-layers'
    // own implementation builds the bias outside tf.tidy and leaks 4 tensors per layer.
    unitForgetBias: false,
  });
  const model = new LstmAeModel({ name: 'lstm_ae' });
  config.encoderUnits.forEach((units, i) => {
    const last = i === config.encoderUnits.length - 1;
    model.add(tfl.layers.lstm({ ...lstmArgs(units, !last, LSTM_AE_LAYERS.encoder(i)), ...(i === 0 ? { inputShape: [W, C] } : {}) }));
  });
  model.add(new RepeatFrames({ frames: W, name: 'repeat_code' }));
  config.decoderUnits.forEach((units, i) => model.add(tfl.layers.lstm(lstmArgs(units, true, LSTM_AE_LAYERS.decoder(i)))));
  // A Dense on the 3-D decoder output acts on the last axis, per frame: the same function and
  // weights ([H', C] kernel, [C] bias) as TimeDistributed(Dense), as one matMul instead of
  // TimeDistributed's unstack / W dense calls / stack (~5 x W tfjs kernels per step with the grads).
  model.add(
    tfl.layers.dense({
      name: LSTM_AE_LAYERS.output,
      units: C,
      activation: 'linear',
      kernelInitializer: tfl.initializers.glorotUniform({ seed: nextSeed() }),
      biasInitializer: 'zeros',
    }),
  );
  // Keras' LSTM defaults, set by hand where tfjs-layers cannot:
  // - recurrent kernels start orthogonal (keeps the recurrence from blowing up or dying early);
  //   tfjs-layers' `orthogonal` calls the chained op `Tensor.flatten`, which only the full
  //   @tensorflow/tfjs bundle registers, so with tfjs-core alone it throws;
  // - forget-gate biases start at 1 (unitForgetBias), so gradients flow through the window early.
  for (const layer of model.layers) {
    if (layer.getClassName() !== 'LSTM') continue;
    const [kernel, recurrent] = layer.getWeights();
    const [H, H4] = recurrent!.shape as [number, number];
    const bias = new Float32Array(H4);
    bias.fill(1, H, 2 * H); // gate blocks i, f, c, o: f is the second
    const fresh = [tf.tensor2d(seededOrthogonal(H, H4, nextSeed()), [H, H4]), tf.tensor1d(bias)];
    layer.setWeights([kernel!, ...fresh]);
    // getWeights() hands out the variables' own tensors (not copies): only the new ones are ours.
    tf.dispose(fresh);
    // Each LSTM runs as one native op per layer (forward and backward through time) when the
    // addon's kernels are loaded, and as tfjs-layers' own step loop otherwise; the layer, its
    // weights and its config stay tfjs-layers' LSTM, so export and serialisation are unchanged.
    routeLstmThroughKernels(layer);
  }
  model.compile({ optimizer: tf.train.adam(config.learningRate), loss: 'meanSquaredError' });
  return model;
}

/**
 * {@link LstmAeModel.nativeGradients} of a model from {@link buildLstmAe}; undefined for any other
 * model or when the native step does not apply (tests compare it with tfjs autodiff).
 */
export function lstmAeNativeGradients(model: tfl.LayersModel, x: tf.Tensor, y: tf.Tensor): { loss: number; grads: tf.NamedTensorMap } | undefined {
  return model instanceof LstmAeModel ? model.nativeGradients(x, y) : undefined;
}

type GradientPlan = { variable: tf.Variable; pick: (g: LstmAeGrads) => Float32Array }[];

/**
 * The LSTM-AE as a plain Sequential model (same layers, weights, predict, evaluate, export,
 * serialisation) whose `trainOnBatch` runs the native training step
 * (training/native-ops/lstm-ae-step.ts) when the native kernels are loaded.
 *
 * Why: through tfjs-layers a bench step (issue 17) spent ~2x more CPU in tfjs around the native
 * LSTM kernels (autodiff tape, the Dense's matmuls on wasm, copies in and out of the wasm heap,
 * GC) than in them. {@link LstmAeStep} computes the same loss and weight gradients on reused
 * buffers; the gradients go to this model's own optimizer (Adam, state and all), in the order
 * tfjs-layers' trainOnBatch hands them over, so both paths update the same variables the same
 * way and can alternate. Without the kernels, for a loss other than mean squared error, or for
 * inputs that are not one `[N, W, C]` tensor and its `[N, W, C]` target, the tfjs-layers step runs.
 */
class LstmAeModel extends tfl.Sequential {
  private step?: LstmAeStep;
  private plan?: GradientPlan | null;

  override async trainOnBatch(x: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, y: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): Promise<number | number[]> {
    return trainOnBatchNatively(this.optimizer, () => this.nativeGradientBuffers(x, y), () => super.trainOnBatch(x, y));
  }

  /**
   * Loss and weight gradients of one training batch through {@link LstmAeStep}, keyed by variable
   * name in trainableWeights order; undefined when the native step does not apply. The caller
   * disposes the gradients.
   */
  nativeGradients(x: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, y: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): { loss: number; grads: tf.NamedTensorMap } | undefined {
    const step = this.nativeGradientBuffers(x, y);
    return step && { loss: step.loss, grads: gradientTensors(step.grads) };
  }

  /** {@link nativeGradients} as the step's own buffers, with their variables in trainableWeights order. */
  private nativeGradientBuffers(x: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap, y: tf.Tensor | tf.Tensor[] | tf.NamedTensorMap): NativeGradientBuffers | undefined {
    const kernels = nativeKernels();
    const inShape = this.inputs[0]?.shape;
    if (
      !kernels ||
      !inShape ||
      this.loss !== 'meanSquaredError' ||
      !(x instanceof tf.Tensor) ||
      !(y instanceof tf.Tensor) ||
      x.rank !== 3 ||
      x.dtype !== 'float32' ||
      y.dtype !== 'float32' ||
      x.shape[0] < 1 ||
      x.shape[1] !== inShape[1] ||
      x.shape[2] !== inShape[2] ||
      !y.shape.every((d, i) => d === x.shape[i])
    ) {
      return undefined;
    }
    const net = this.stepNet();
    const plan = net && this.gradientPlan(net);
    if (!net || !plan) return undefined;
    const [N, T, C] = x.shape as [number, number, number];
    this.step ??= new LstmAeStep(kernels);
    const { loss, grads } = this.step.run(net, floats(x), floats(y), N, T, C);
    return { loss, grads: plan.map((p) => ({ variable: p.variable, gradient: p.pick(grads) })) };
  }

  /** The current weights and shapes of the network; null when a layer is not what the step computes. */
  private stepNet(): LstmAeNet | null {
    const encoder: StepLstm[] = [];
    const decoder: StepLstm[] = [];
    let dense: LstmAeNet['dense'] | undefined;
    let repeated = false;
    const encoderSequences: boolean[] = [];
    for (const layer of this.layers) {
      const name = layer.getClassName();
      if (name === 'InputLayer') continue;
      if (name === 'LSTM') {
        const cfg = layer.getConfig();
        const gate = cfg['recurrentActivation'] === 'sigmoid' ? 0 : cfg['recurrentActivation'] === 'hardSigmoid' ? 1 : -1;
        if (gate < 0 || cfg['activation'] !== 'tanh' || cfg['useBias'] === false || cfg['dropout'] || cfg['recurrentDropout'] || cfg['goBackwards'] || cfg['stateful']) return null;
        const [kernel, recurrent, bias] = layer.weights.map((w) => w.read());
        const H = recurrent!.shape[0]!;
        const lstm: StepLstm = { kernel: floats(kernel!), recurrent: floats(recurrent!), bias: floats(bias!), in: kernel!.shape[0]!, units: H, gate: gate as 0 | 1 };
        if (repeated) {
          if (!cfg['returnSequences']) return null;
          decoder.push(lstm);
        } else {
          encoderSequences.push(Boolean(cfg['returnSequences']));
          encoder.push(lstm);
        }
      } else if (name === RepeatFrames.className) {
        // The encoder's last layer returns its last state only; every other returns sequences.
        if (repeated || encoder.length === 0 || encoderSequences.some((rs, i) => rs !== i < encoder.length - 1)) return null;
        repeated = true;
      } else if (name === 'Dense') {
        const cfg = layer.getConfig();
        if (!repeated || decoder.length === 0 || dense || cfg['activation'] !== 'linear' || cfg['useBias'] === false) return null;
        const [kernel, bias] = layer.weights.map((w) => w.read());
        dense = { kernel: floats(kernel!), bias: floats(bias!), in: kernel!.shape[0]!, out: kernel!.shape[1]! };
      } else {
        return null;
      }
    }
    return dense ? { encoder, decoder, dense } : null;
  }

  /**
   * Where each trainable variable's gradient is in a {@link LstmAeGrads}, in trainableWeights
   * order (Adam keeps its moments by position: the order must be the one tfjs-layers' own step
   * passes, its variable names the keys). Null when a trainable weight is not one this step computes.
   */
  private gradientPlan(net: LstmAeNet): GradientPlan | null {
    if (this.plan !== undefined) return this.plan;
    const where = new Map<string, (g: LstmAeGrads) => Float32Array[]>();
    let e = 0;
    let d = 0;
    let repeated = false;
    for (const layer of this.layers) {
      const name = layer.getClassName();
      if (name === RepeatFrames.className) repeated = true;
      else if (name === 'LSTM') {
        const i = repeated ? d++ : e++;
        where.set(layer.name, repeated ? (g) => g.decoder[i]! : (g) => g.encoder[i]!);
      } else if (name === 'Dense') where.set(layer.name, (g) => g.dense);
    }
    if (e !== net.encoder.length || d !== net.decoder.length) return (this.plan = null);
    const byVariable = new Map<string, GradientPlan[number]>();
    for (const layer of this.layers) {
      const at = where.get(layer.name);
      // LSTM weights are [kernel, recurrent, bias] and Dense's [kernel, bias], in addWeight order.
      // read() is the layer's tf.Variable itself, the same object for the model's life (setWeights assigns into it).
      if (at) layer.trainableWeights.forEach((w, j) => byVariable.set(w.name, { variable: w.read() as tf.Variable, pick: (g) => at(g)[j]! }));
    }
    const plan = this.trainableWeights.map((w) => byVariable.get(w.name));
    this.plan = plan.every((p) => p !== undefined) ? (plan as GradientPlan) : null;
    return this.plan;
  }
}

/**
 * A seeded random matrix `[rows, cols]` with orthonormal rows (rows <= cols) or columns, as Keras'
 * `Orthogonal` initializer draws it: Gram-Schmidt on a standard-normal `[max, min]` matrix.
 * @returns row-major values.
 */
export function seededOrthogonal(rows: number, cols: number, seed: number): Float32Array {
  const rand = seededRandom(seed);
  const normal = () => {
    // Box-Muller; 1 - u keeps log() away from 0.
    const u = 1 - rand();
    const v = rand();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  };
  const n = Math.max(rows, cols);
  const k = Math.min(rows, cols);
  // q[j] is column j (length n) of the [n, k] matrix being orthonormalised.
  const q = Array.from({ length: k }, () => Float64Array.from({ length: n }, normal));
  for (let j = 0; j < k; j++) {
    const v = q[j]!;
    // Modified Gram-Schmidt, twice for numerical orthogonality in float64.
    for (let pass = 0; pass < 2; pass++) {
      for (let i = 0; i < j; i++) {
        const u = q[i]!;
        let dot = 0;
        for (let r = 0; r < n; r++) dot += u[r]! * v[r]!;
        for (let r = 0; r < n; r++) v[r]! -= dot * u[r]!;
      }
    }
    let norm = 0;
    for (let r = 0; r < n; r++) norm += v[r]! * v[r]!;
    norm = Math.sqrt(norm);
    for (let r = 0; r < n; r++) v[r]! /= norm;
  }
  const out = new Float32Array(rows * cols);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      // rows < cols: the [cols, rows] matrix transposed, so out[r][c] = q[r][c]; else out[r][c] = q[c][r].
      out[r * cols + c] = rows <= cols ? q[r]![c]! : q[c]![r]!;
    }
  }
  return out;
}
