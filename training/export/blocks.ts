/**
 * Reusable pieces of seismo's ONNX graphs: the contract's prologue (cut windows from a span of
 * raw frames, scale them) and epilogue (reconstruction error -> `score`, `channel_score`), and
 * the layers that several model kinds share (Dense, LSTM, RepeatVector), each translated from the
 * tfjs-layers weight layout to the ONNX operator's.
 *
 * Tensor shapes in comments: N windows, W frames per window, C channels, H hidden units.
 */
import { GRAPH_INPUTS, GRAPH_IO, MODEL_FORMAT_VERSION } from '../../src/model/manifest';
import { DType, GraphBuilder, OPSET, attr } from './onnx-graph';

/** Names of the contract's graph inputs and outputs (said once in `src/model/manifest.ts`), and the reconstruction output. */
export const IO = { ...GRAPH_IO, reconstruction: 'reconstruction' } as const;

/** A kind's graph inputs and outputs for its manifest: the contract's, then `extraOutputs`. */
export function contractIO(extraOutputs: readonly string[]): { readonly inputs: readonly string[]; readonly outputs: readonly string[]; readonly opset: number } {
  return { inputs: [...GRAPH_INPUTS], outputs: [GRAPH_IO.channelScore, GRAPH_IO.score, ...extraOutputs], opset: OPSET };
}

/** The standard `metadata_props` of a seismo graph, which loading checks against `model.json`. */
export function seismoMetadata(kind: string, window: number, channels: readonly string[]): Record<string, string> {
  return {
    'seismo.formatVersion': String(MODEL_FORMAT_VERSION),
    'seismo.kind': kind,
    'seismo.window': String(window),
    'seismo.channels': JSON.stringify(channels),
  };
}


/** Per-channel scaler baked into the graph: `x_scaled = (x - mean) / std`. */
export interface ScalerParams {
  /** Per-channel mean, length C, raw units. */
  mean: readonly number[];
  /** Per-channel standard deviation, length C, raw units, all > 0. */
  std: readonly number[];
}

/** Names produced by {@link windowPrologue}. */
export interface Prologue {
  /** Raw windows `[N, W, C]` float32. */
  windows: string;
  /** Scaled windows `[N, W, C]` float32: what the model body sees and reconstructs. */
  scaled: string;
}

/**
 * Declares the contract inputs and cuts + scales the windows.
 *
 * Inputs: `frames` float32 `[T, C]` (T dynamic) and `starts` int64 `[N]`. The window indices
 * `starts[:, None] + arange(W)[None, :]` (`[N, W]`) feed one `Gather` on axis 0, so a contiguous
 * span of a ring buffer reaches the graph without a copy and the graph does the cutting.
 */
export function windowPrologue(g: GraphBuilder, window: number, scaler: ScalerParams): Prologue {
  const C = scaler.mean.length;
  if (scaler.std.length !== C) throw new Error(`scaler: ${C} means but ${scaler.std.length} stds`);
  const frames = g.input(IO.frames, DType.float, ['T', C]);
  const starts = g.input(IO.starts, DType.int64, ['N']);
  const offsets = g.int64Const('window_offsets', Array.from({ length: window }, (_, i) => i), [1, window]);
  const startsCol = g.op('Unsqueeze', [starts, g.int64Const('axes_1', [1], [1])], {}, 'starts_col'); // [N, 1]
  const index = g.op('Add', [startsCol, offsets], {}, 'window_index'); // [N, W]
  const windows = g.op('Gather', [frames, index], { axis: attr.int(0) }, 'windows'); // [N, W, C]
  const centred = g.op('Sub', [windows, g.floatConst('scaler_mean', scaler.mean, [C])], {}, 'centred');
  const scaled = g.op('Div', [centred, g.floatConst('scaler_std', scaler.std, [C])], {}, 'scaled');
  channelActivity(g, scaled, window, C);
  return { windows, scaled };
}

/** Whether a graph of `window` frames declares `channel_activity` (a step needs two frames; a mean of one step says too little). */
export function hasChannelActivity(window: number): boolean {
  return window >= 3;
}

/**
 * Declares the output `channel_activity` `[N, C]`: each channel's mean absolute step over the
 * window, `mean_t |x_t - x_{t-1}|` of the scaled frames. Model-free and the same in every kind's
 * graph: channel attribution (src/score/attribution.ts) compares it with the channel's normal
 * activity, which is what shows a stuck sensor (a flat line, easy for any model to reconstruct or
 * forecast) and a changed frequency. Graphs of windows shorter than 3 frames do not declare it.
 */
export function channelActivity(g: GraphBuilder, scaled: string, window: number, channels: number): void {
  if (!hasChannelActivity(window)) return;
  const later = sliceFrames(g, scaled, 1, window, 'activity_later');
  const earlier = sliceFrames(g, scaled, 0, window - 1, 'activity_earlier');
  const steps = g.op('Abs', [g.op('Sub', [later, earlier], {}, 'activity_step')], {}, 'activity_abs'); // [N, W-1, C]
  const sum = g.op('ReduceSum', [steps, g.int64Const('activity_axes', [1], [1])], { keepdims: attr.int(0) }, 'activity_sum'); // [N, C]
  const mean = g.op('Mul', [sum, g.floatConst('activity_scale', [1 / (window - 1)], [])], {}, 'activity_mean');
  g.output(mean, GRAPH_IO.channelActivity, DType.float, ['N', channels]);
}

/**
 * Reconstruction-error epilogue: declares the outputs `channel_score` `[N, C]`, `score` `[N]`,
 * and (optionally) `reconstruction` `[N, W, C]`.
 *
 * `channel_score[n, c] = mean_t (rec - x)^2 / C`, so that `score[n] = sum_c channel_score[n, c]`
 * is the mean squared error over the whole window, and each channel's entry is its share of it.
 *
 * @param scaled model input `[N, W, C]` (scaled space).
 * @param reconstruction model output `[N, W, C]` (scaled space).
 */
export function reconstructionScore(
  g: GraphBuilder,
  scaled: string,
  reconstruction: string,
  window: number,
  channels: number,
  options: { exposeReconstruction?: boolean } = {},
): void {
  const diff = g.op('Sub', [reconstruction, scaled], {}, 'residual');
  const sq = g.op('Mul', [diff, diff], {}, 'squared_error'); // [N, W, C]
  // ReduceMean still takes `axes` as an attribute at opset 17 (it became an input at 18).
  const perChannel = g.op('ReduceMean', [sq], { axes: attr.ints([1]), keepdims: attr.int(0) }, 'channel_mse'); // [N, C]
  const channelScore = g.op('Div', [perChannel, g.floatConst('channel_count', [channels], [])], {}, 'channel_share');
  g.output(channelScore, IO.channelScore, DType.float, ['N', channels]);
  const score = g.op('ReduceSum', [channelScore, g.int64Const('axes_score', [1], [1])], { keepdims: attr.int(0) }, 'window_score');
  g.output(score, IO.score, DType.float, ['N']);
  if (options.exposeReconstruction ?? true) g.output(reconstruction, IO.reconstruction, DType.float, ['N', window, channels]);
}

/** Swaps the first two axes of a rank-3 tensor: `[N, W, F] <-> [W, N, F]`. */
export function swapBatchTime(g: GraphBuilder, x: string): string {
  return g.op('Transpose', [x], { perm: attr.ints([1, 0, 2]) }, 'transposed');
}

/** Weights of a tfjs Dense layer. */
export interface DenseWeights {
  /** Kernel `[in, out]`, row-major (tfjs layout). */
  kernel: Float32Array;
  /** Bias `[out]`, or undefined for `useBias: false`. */
  bias?: Float32Array;
  /** Input features. */
  inputSize: number;
  /** Output features. */
  units: number;
}

/**
 * A Dense layer with linear activation applied to the last axis (so also TimeDistributed Dense):
 * `MatMul(x [..., in], kernel [in, out]) + bias [out]`.
 */
export function dense(g: GraphBuilder, x: string, w: DenseWeights, prefix = 'dense'): string {
  const k = g.floatConst(`${prefix}_kernel`, w.kernel, [w.inputSize, w.units]);
  const y = g.op('MatMul', [x, k], {}, `${prefix}_matmul`);
  return w.bias ? g.op('Add', [y, g.floatConst(`${prefix}_bias`, w.bias, [w.units])], {}, `${prefix}_out`) : y;
}

/**
 * RepeatVector for a time-major graph: `[N, H] -> [W, N, H]` (Unsqueeze + Expand, which
 * broadcasts without materialising a tiled constant).
 */
export function repeatTimeMajor(g: GraphBuilder, x: string, times: number): string {
  const x1 = g.op('Unsqueeze', [x, g.int64Const('axes_0', [0], [1])], {}, 'repeat_in'); // [1, N, H]
  return g.op('Expand', [x1, g.int64Const('repeat_shape', [times, 1, 1], [3])], {}, 'repeated'); // [W, N, H]
}

/** Weights and settings of a tfjs-layers LSTM layer. */
export interface LstmWeights {
  /** Input kernel `[in, 4H]`, row-major, gate blocks in Keras order i, f, c, o. */
  kernel: Float32Array;
  /** Recurrent kernel `[H, 4H]`, row-major, gate blocks i, f, c, o. */
  recurrentKernel: Float32Array;
  /** Bias `[4H]` (gates i, f, c, o), or undefined for `useBias: false`. */
  bias?: Float32Array;
  /** Input features. */
  inputSize: number;
  /** Hidden units H. */
  units: number;
  /** Gate activation as configured in tfjs (seismo sets `sigmoid`; tfjs' default is `hardSigmoid`). */
  recurrentActivation: 'sigmoid' | 'hardSigmoid';
  /** Cell/output activation (tfjs default `tanh`). */
  activation: 'tanh';
}

/** Keras gate block index for each ONNX gate position (ONNX order i, o, f, c; Keras i, f, c, o). */
const KERAS_GATE_FOR_ONNX = [0, 3, 1, 2] as const;

/**
 * Re-lays a Keras `[in, 4H]` kernel as an ONNX `[1, 4H, in]` weight: transposed (ONNX multiplies
 * `X * W^T`) and with the gate blocks reordered from i,f,c,o to i,o,f,c.
 */
export function kerasToOnnxGates(kernel: Float32Array, inputSize: number, units: number): Float32Array {
  const out = new Float32Array(4 * units * inputSize);
  for (let og = 0; og < 4; og++) {
    const kg = KERAS_GATE_FOR_ONNX[og]!;
    for (let j = 0; j < units; j++) {
      const row = (og * units + j) * inputSize;
      const col = kg * units + j;
      for (let k = 0; k < inputSize; k++) out[row + k] = kernel[k * 4 * units + col]!;
    }
  }
  return out;
}

/**
 * An ONNX LSTM op (forward, one direction) equivalent to a tfjs-layers LSTM.
 *
 * @param x time-major input `[S, N, in]` (ORT rejects `layout=1`, so batch-major callers
 *   transpose first, see {@link swapBatchTime}).
 * @returns `[S, N, H]` when `returnSequences`, else the last hidden state `[N, H]`.
 */
export function lstm(g: GraphBuilder, x: string, w: LstmWeights, returnSequences: boolean, prefix = 'lstm'): string {
  const H = w.units;
  const W = g.floatConst(`${prefix}_W`, kerasToOnnxGates(w.kernel, w.inputSize, H), [1, 4 * H, w.inputSize]);
  const R = g.floatConst(`${prefix}_R`, kerasToOnnxGates(w.recurrentKernel, H, H), [1, 4 * H, H]);
  // ONNX adds two biases (Wb and Rb); Keras has one, so it goes in Wb and Rb stays zero.
  const B = new Float32Array(8 * H);
  if (w.bias) {
    for (let og = 0; og < 4; og++) B.set(w.bias.subarray(KERAS_GATE_FOR_ONNX[og]! * H, (KERAS_GATE_FOR_ONNX[og]! + 1) * H), og * H);
  }
  const b = g.floatConst(`${prefix}_B`, B, [1, 8 * H]);
  const attrs = {
    hidden_size: attr.int(H),
    ...(w.recurrentActivation === 'sigmoid'
      ? { activations: attr.strings(['Sigmoid', 'Tanh', 'Tanh']) }
      : {
          // tfjs' hardSigmoid is clip(0.2x + 0.5, 0, 1): ONNX HardSigmoid with alpha 0.2, beta 0.5.
          // alpha/beta lists are consumed in the order of the activations that take them.
          activations: attr.strings(['HardSigmoid', 'Tanh', 'Tanh']),
          activation_alpha: attr.floats([0.2]),
          activation_beta: attr.floats([0.5]),
        }),
  };
  if (returnSequences) {
    const [y] = g.node('LSTM', [x, W, R, b], attrs, [`${prefix}_Y`]); // [S, 1, N, H]
    return g.op('Squeeze', [y!, g.int64Const('axes_1', [1], [1])], {}, `${prefix}_seq`); // [S, N, H]
  }
  const [, yh] = g.node('LSTM', [x, W, R, b], attrs, ['', `${prefix}_Y_h`]); // [1, N, H]
  return g.op('Squeeze', [yh!, g.int64Const('axes_0', [0], [1])], {}, `${prefix}_last`); // [N, H]
}

/**
 * `[N, W, C] -> [N, W*C]`: a window as one flat feature vector (frame-major, so feature
 * `t * C + c` is frame t, channel c, as tfjs' Flatten lays it out), for the per-record kinds.
 */
export function flattenWindows(g: GraphBuilder, x: string, window: number, channels: number, name = 'flat'): string {
  return g.op('Reshape', [x, g.int64Const('flat_shape', [-1, window * channels], [2])], {}, name);
}

/** `[N, W*C] -> [N, W, C]`, the inverse of {@link flattenWindows}. */
export function unflattenWindows(g: GraphBuilder, x: string, window: number, channels: number, name = 'unflat'): string {
  return g.op('Reshape', [x, g.int64Const('window_shape', [-1, window, channels], [3])], {}, name);
}

/** One step of a feed-forward chain: a Dense layer (with its activation) or a LeakyReLU layer. */
export type DenseStep =
  | { type: 'dense'; weights: DenseWeights; activation: 'linear' | 'relu' | 'tanh' | 'sigmoid' }
  | { type: 'leakyRelu'; alpha: number };

/** Applies a chain of {@link DenseStep}s to the last axis of `x`; returns the last tensor's name. */
export function denseChain(g: GraphBuilder, x: string, steps: readonly DenseStep[], prefix: string): string {
  let y = x;
  steps.forEach((s, i) => {
    const p = `${prefix}${i}`;
    if (s.type === 'leakyRelu') {
      y = g.op('LeakyRelu', [y], { alpha: attr.float(s.alpha) }, `${p}_lrelu`);
      return;
    }
    y = dense(g, y, s.weights, p);
    if (s.activation === 'relu') y = g.op('Relu', [y], {}, `${p}_relu`);
    else if (s.activation === 'tanh') y = g.op('Tanh', [y], {}, `${p}_tanh`);
    else if (s.activation === 'sigmoid') y = g.op('Sigmoid', [y], {}, `${p}_sigmoid`);
  });
  return y;
}

/** Weights and settings of a causal Conv1D (`training/ops/layers.ts` `CausalConv1DLayer`). */
export interface CausalConvWeights {
  /** Kernel `[k, Cin, Cout]`, row-major (tfjs/Keras Conv1D layout; tap k-1 is the current frame). */
  kernel: Float32Array;
  /** Bias `[Cout]`. */
  bias: Float32Array;
  /** Taps k. */
  kernelSize: number;
  /** Input features Cin. */
  inputSize: number;
  /** Output features Cout. */
  filters: number;
  /** Frames between taps d. */
  dilation: number;
}

/**
 * A causal dilated convolution as one ONNX `Conv` on a channels-first tensor: `[N, Cin, T] ->
 * [N, Cout, T]`, `dilations=[d]`, `pads=[d*(k-1), 0]` (zeros before the first frame only), so
 * output t sees frames `t - d*(k-1) .. t`, exactly as `training/ops/causal-conv.ts` computes it.
 * The kernel is re-laid from `[k, Cin, Cout]` to ONNX's `[Cout, Cin, k]`.
 */
export function causalConv(g: GraphBuilder, x: string, w: CausalConvWeights, prefix = 'conv'): string {
  const { kernelSize: k, inputSize: cin, filters: cout } = w;
  const onnxKernel = new Float32Array(cout * cin * k);
  for (let j = 0; j < k; j++) for (let i = 0; i < cin; i++) for (let o = 0; o < cout; o++) onnxKernel[(o * cin + i) * k + j] = w.kernel[(j * cin + i) * cout + o]!;
  return g.op(
    'Conv',
    [x, g.floatConst(`${prefix}_W`, onnxKernel, [cout, cin, k]), g.floatConst(`${prefix}_B`, w.bias, [cout])],
    { kernel_shape: attr.ints([k]), dilations: attr.ints([w.dilation]), pads: attr.ints([w.dilation * (k - 1), 0]), strides: attr.ints([1]) },
    `${prefix}_out`,
  );
}

/** Element-wise activation by name (`linear` adds nothing). */
export function activation(g: GraphBuilder, x: string, kind: 'linear' | 'relu' | 'tanh' | 'sigmoid', prefix = 'act'): string {
  switch (kind) {
    case 'linear':
      return x;
    case 'relu':
      return g.op('Relu', [x], {}, `${prefix}_relu`);
    case 'tanh':
      return g.op('Tanh', [x], {}, `${prefix}_tanh`);
    case 'sigmoid':
      return g.op('Sigmoid', [x], {}, `${prefix}_sigmoid`);
  }
}

/** `[N, T, F] <-> [N, F, T]`: batch-major frames to the channels-first layout of ONNX Conv/MaxPool, and back. */
export function swapTimeFeatures(g: GraphBuilder, x: string, name = 'swapped'): string {
  return g.op('Transpose', [x], { perm: attr.ints([0, 2, 1]) }, name);
}

/**
 * Non-overlapping 1-D max-pooling on `[N, F, T] -> [N, F, floor(T / size)]` (a trailing partial
 * block is dropped), as tfjs' MaxPooling1D with `strides = poolSize`, `padding: 'valid'`.
 */
export function maxPool1d(g: GraphBuilder, x: string, size: number, prefix = 'pool'): string {
  return g.op('MaxPool', [x], { kernel_shape: attr.ints([size]), strides: attr.ints([size]) }, `${prefix}_out`);
}

/**
 * Frames `[from, to)` of a batch-major tensor `[N, T, F] -> [N, to - from, F]` (a constant Slice
 * on axis 1).
 */
export function sliceFrames(g: GraphBuilder, x: string, from: number, to: number, name = 'frames_slice'): string {
  return g.op('Slice', [x, g.int64Const('slice_start', [from], [1]), g.int64Const('slice_end', [to], [1]), g.int64Const('slice_axis', [1], [1])], {}, name);
}

/** Weights of a single-head self-attention (`training/ops/layers.ts` `SelfAttentionLayer`). */
export interface SelfAttentionWeights {
  /** Query, key and value projections, each `[F, F]` row-major. */
  query: Float32Array;
  key: Float32Array;
  value: Float32Array;
  /** Features F. */
  features: number;
}

/**
 * Residual scaled dot-product self-attention over frames, `[N, T, F] -> [N, T, F]`:
 * `x + Softmax(x Wq (x Wk)^T / sqrt(F), axis -1) x Wv`.
 */
export function selfAttention(g: GraphBuilder, x: string, w: SelfAttentionWeights, prefix = 'attn'): string {
  const F = w.features;
  const proj = (name: string, data: Float32Array) => g.op('MatMul', [x, g.floatConst(`${prefix}_${name}`, data, [F, F])], {}, `${prefix}_${name}_proj`);
  const q = proj('query', w.query);
  const kT = g.op('Transpose', [proj('key', w.key)], { perm: attr.ints([0, 2, 1]) }, `${prefix}_keyT`);
  const logits = g.op('Mul', [g.op('MatMul', [q, kT], {}, `${prefix}_qk`), g.floatConst(`${prefix}_scale`, [1 / Math.sqrt(F)], [])], {}, `${prefix}_logits`);
  const weights = g.op('Softmax', [logits], { axis: attr.int(-1) }, `${prefix}_weights`); // [N, T, T]
  return g.op('Add', [x, g.op('MatMul', [weights, proj('value', w.value)], {}, `${prefix}_context`)], {}, `${prefix}_out`);
}
