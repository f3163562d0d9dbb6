/**
 * The step graph of DeepAnT (`model.step.onnx`, contract in `training/export/step.ts`): stride-1
 * scoring from per-series state instead of a whole window per point.
 *
 * Why DeepAnT is incremental although its max-pooling grid is aligned to the window's start: with
 * absolute frame indices every layer below the Dense ones is a per-frame stream that does not
 * depend on where a window starts (k the kernel, p the pool size; frames of a window at start s):
 * - `c1(t)`   = relu(conv1 over x(t - k + 1 .. t));
 * - `P1(t)`   = max(c1(t .. t + p - 1)): the first pooling's column whose cell starts at t;
 * - `C2(t)`   = relu(conv2 over P1(t - (k - 1) p), ..., P1(t)): the pooled grid has a step of p
 *   frames, so the second convolution has dilation p in frames;
 * - `Q(t)`    = max(C2(t), C2(t + p), ..., C2(t + (p - 1) p)).
 * The window at s pools its j-th column from `Q(s + j p^2)` (a gather with stride p^2), except
 * for its first `E` columns, where the window graph's causal zero padding (the convolutions' first
 * `k - 1` inputs) reaches through the 'valid' poolings: `P1` is the window's from its column
 * `e1 = ceil((k - 1) / p)`, `C2` from `e2 = k - 1 + e1`, `Q` from `E = ceil(e2 / p)` (1 for the
 * defaults). Those E edge columns depend on the window's first `E p^2` frames only, so the step
 * graph recomputes them per window with the window graph's own ops on those frames. 'Valid'
 * pooling leaves the history's last `W - h - T' p^2` frames unread (T' pooled columns), as in the
 * window graph: the reads below follow T', not W.
 *
 * A stream value becomes known p - 1 (P1) or p^2 - 1 (Q) frames after the frame it is indexed by,
 * so the graph keeps each stream indexed by the frame that completes it: `P1'(t) = P1(t - p + 1)`,
 * `C2'(t) = C2(t - p + 1)`, `Q'(t) = Q(t - p^2 + 1)`. The window ending at frame t (start
 * `t - W + 1`) then reads `Q'` at delays `W - (j + 1) p^2` (j = E .. T' - 1, each >= h >= 1), its
 * edge from the scaled frames at delays `W - 1 .. W - E p^2`, and its target (the last h frames) at
 * delays `h - 1 .. 0`. Every read column beyond the edge depends only on the window's own frames
 * (the Q column `s + E p^2` reaches back to `s + E p^2 - (k - 1)(p + 1) >= s`), so stepping from a
 * zero state at the window's first frame gives the window graph's score, as for DC-VAE.
 *
 * State per series (the planned layers, in order): the scaled frames (`W - 1` columns of C: the
 * edge and the target), conv1's and conv2's taps (`k - 1` of C, `(k - 1) p` of filters[0]), the
 * first pooling's (`p - 1` of filters[0]), the second's (`(p - 1) p` of filters[1]) and the Dense
 * layer's reads (`W - (E + 1) p^2` of filters[1]): 7,296 bytes for the defaults with 8 channels.
 * Per point the graph computes one column of each convolution, the E edge columns and the Dense
 * layers; the window graph computes W - h columns of conv1 and (W - h) / p of conv2 besides.
 *
 * Attention ('self', 'bahdanau') mixes every pooled column with every other one, the edge
 * included, after the poolings: those models keep the window graph (no step graph is exported).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { STEP_IO, type StepLayer, historyInput } from '../../../src/infer/step-state';
import { type CausalConvWeights, IO, type ScalerParams, dense, seismoMetadata } from '../../export/blocks';
import { DType, GraphBuilder, attr } from '../../export/onnx-graph';
import { StepLayers } from '../../export/step';
import { DEEPANT_IO } from './export';
import { DEEPANT_LAYERS, DEEPANT_NORM_EPSILON, type DeepAntConfig, deepAntAttention, deepAntPooledLength } from './model';

/** Where a DeepAnT window reads the per-frame streams (see the module doc). */
export interface DeepAntStepGeometry {
  /** Pooled columns T' the Dense layer reads. */
  pooled: number;
  /** Leading pooled columns E that the window's zero padding changes (recomputed per window). */
  edge: number;
  /** Frames the edge columns are computed from: the window's first `E p^2`. */
  edgeFrames: number;
  /** Delays (frames before the window's last) of `Q'` for pooled columns E .. T' - 1, in column order. */
  pooledDelays: number[];
  /** Past columns of the scaled frames read: the edge's `W - 1`, or the target's `h - 1` without an edge. */
  frameReach: number;
  /** Past columns of `Q'` read: the largest of {@link pooledDelays}. */
  pooledReach: number;
}

/**
 * Where the window's reads lie for a config, or undefined when the model has no step graph:
 * attention (see the module doc), or every pooled column is an edge column (nothing to reuse).
 */
export function deepAntStepGeometry(config: Pick<DeepAntConfig, 'window' | 'horizon' | 'kernelSize' | 'poolSize' | 'attention'>): DeepAntStepGeometry | undefined {
  if (deepAntAttention(config) !== 'none') return undefined;
  const { window: W, horizon: h, kernelSize: k, poolSize: p } = config;
  const pooled = deepAntPooledLength(config);
  const e1 = Math.ceil((k - 1) / p);
  const edge = Math.ceil((k - 1 + e1) / p);
  if (edge >= pooled) return undefined;
  const pooledDelays = Array.from({ length: pooled - edge }, (_, i) => W - (edge + i + 1) * p * p);
  return {
    pooled,
    edge,
    edgeFrames: edge * p * p,
    pooledDelays,
    frameReach: edge > 0 ? W - 1 : h - 1,
    pooledReach: pooledDelays[0]!,
  };
}

/** The state layout of a DeepAnT step graph: the layers in the order the graph reads them. */
export function deepAntStepLayout(config: DeepAntConfig): StepLayer[] {
  const geo = deepAntStepGeometry(config);
  if (!geo) throw new Error('deepAntStepLayout: this DeepAnT has no step graph');
  const { channels: C, kernelSize: k, poolSize: p, filters } = config;
  const stream = (cin: number, reach: number): StepLayer[] => (reach > 0 ? [{ in: cin, dilation: 1, kernel: reach + 1 }] : []);
  return [
    ...stream(C, geo.frameReach),
    ...(k > 1 ? [{ in: C, dilation: 1, kernel: k }] : []),
    ...stream(filters[0], p - 1),
    ...(k > 1 ? [{ in: filters[0], dilation: p, kernel: k }] : []),
    ...stream(filters[1], (p - 1) * p),
    ...stream(filters[1], geo.pooledReach),
  ];
}

/**
 * The window graph's causal convolution (zero padding before the first frame, then ReLU) on a
 * short time-major sequence `x` `[len, N, in]`: `[len, N, out]`, one Gemm per tap over `len N` rows.
 */
function localConv(g: GraphBuilder, x: string, len: number, w: CausalConvWeights, prefix: string): string {
  const { kernelSize: k, inputSize: cin, filters: cout } = w;
  const padded = k > 1 ? g.op('Pad', [x, g.int64Const(`${prefix}_pads`, [k - 1, 0, 0, 0, 0, 0], [6])], {}, `${prefix}_padded`) : x; // [len + k - 1, N, in]
  let y = g.floatConst(`${prefix}_b`, w.bias, [cout]);
  for (let j = 0; j < k; j++) {
    const tap = k === 1 ? x : g.op('Slice', [padded, g.int64Const(`${prefix}_tap${j}_from`, [j], [1]), g.int64Const(`${prefix}_tap${j}_to`, [j + len], [1]), g.int64Const(`${prefix}_tap${j}_axis`, [0], [1])], {}, `${prefix}_tap${j}`);
    const tapRows = g.op('Reshape', [tap, g.int64Const(`${prefix}_tap${j}_shape`, [-1, cin], [2])], {}, `${prefix}_tap${j}_rows`);
    y = g.op('Gemm', [tapRows, g.floatConst(`${prefix}_K${j}`, w.kernel.subarray(j * cin * cout, (j + 1) * cin * cout), [cin, cout]), y], {}, `${prefix}_tap${j}_out`);
  }
  return g.op('Reshape', [g.op('Relu', [y], {}, `${prefix}_relu`), g.int64Const(`${prefix}_shape`, [len, -1, cout], [3])], {}, `${prefix}_seq`);
}

/**
 * The window graph's 'valid' max-pooling of size and stride p on a time-major `[len, N, F]`:
 * `[floor(len / p), N, F]`, the Max of p strided Slices (onnxruntime's ReduceMax over a middle
 * axis is several times slower).
 */
function localPool(g: GraphBuilder, x: string, len: number, p: number, prefix: string): string {
  if (p === 1) return x;
  const out = Math.floor(len / p);
  const axis = g.int64Const(`${prefix}_axis`, [0], [1]);
  const stride = g.int64Const(`${prefix}_step`, [p], [1]);
  const cells = Array.from({ length: p }, (_, r) =>
    g.op('Slice', [x, g.int64Const(`${prefix}_from${r}`, [r], [1]), g.int64Const(`${prefix}_to${r}`, [r + (out - 1) * p + 1], [1]), axis, stride], {}, `${prefix}_cell${r}`),
  );
  return g.op('Max', cells, {}, `${prefix}_max`);
}

function weightsOf(model: tfl.LayersModel, name: string): Float32Array[] {
  return model.getLayer(name).getWeights().map((t) => t.dataSync() as Float32Array);
}

/**
 * The step graph of a trained DeepAnT and its inputs and outputs (for `manifest.step`), or
 * undefined when the model has none ({@link deepAntStepGeometry}).
 */
export function deepAntStep(model: tfl.LayersModel, config: DeepAntConfig, channelNames: readonly string[], scaler: ScalerParams): { onnx: Uint8Array; inputs: string[]; outputs: string[] } | undefined {
  if (!deepAntStepGeometry(config)) return undefined;
  return {
    onnx: exportDeepAntStep(model, config, channelNames, scaler),
    inputs: [STEP_IO.frames, ...deepAntStepLayout(config).map((_, l) => historyInput(l))],
    outputs: [...DEEPANT_IO.outputs, STEP_IO.columns],
  };
}

/**
 * Writes the step graph of a trained DeepAnT (module doc): from T new raw frames per series and
 * the cached columns, the `score`, `channel_score` and `forecast` that the window graph of
 * `./export.ts` gives for the windows ending at those frames (`[T, B]`, `[T, B, C]`,
 * `[T, B, h, C]`), and the new columns.
 *
 * @returns the bytes of `model.step.onnx`.
 */
export function exportDeepAntStep(model: tfl.LayersModel, config: DeepAntConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  const geo = deepAntStepGeometry(config);
  if (!geo) throw new Error('exportDeepAntStep: attention models, and those whose pooled columns are all edge columns, have no step graph');
  const { window: W, channels: C, horizon: h, kernelSize: k, poolSize: p, filters, hidden } = config;
  if (channelNames.length !== C) throw new Error(`exportDeepAntStep: ${channelNames.length} channel names for ${C} channels`);
  const [F1, F2] = filters;
  const g = new GraphBuilder();
  const step = new StepLayers(g, C, deepAntStepLayout(config));
  // The window graph's prologue on the new frames: Sub then Div, as there.
  const centred = g.op('Sub', [step.frames, g.floatConst('scaler_mean', scaler.mean, [C])], {}, 'centred');
  const scaled = g.op('Div', [centred, g.floatConst('scaler_std', scaler.std, [C])], {}, 'scaled'); // [T, B, C]
  const frames = step.stream(scaled, C, geo.frameReach, 'frames_past');

  const [k1, b1] = weightsOf(model, DEEPANT_LAYERS.conv(0));
  const [k2, b2] = weightsOf(model, DEEPANT_LAYERS.conv(1));
  const conv1 = { kernel: k1!, bias: b1!, kernelSize: k, inputSize: C, filters: F1, dilation: 1 };
  const conv2 = { kernel: k2!, bias: b2!, kernelSize: k, inputSize: F1, filters: F2, dilation: 1 };
  const maxOver = (x: string, cin: number, reach: number, every: number, prefix: string): string => {
    if (reach === 0) return x;
    const seq = step.stream(x, cin, reach, prefix);
    const taps = Array.from({ length: p }, (_, r) => step.delayed(seq, (p - 1 - r) * every, `${prefix}_tap${r}`));
    return g.op('Max', taps, {}, `${prefix}_max`);
  };

  // The streams, one new column per frame each (module doc).
  const c1 = step.unrows(g.op('Relu', [step.conv(scaled, conv1, 'conv0')], {}, 'conv0_relu'), F1, 'conv0'); // c1(t)
  const p1 = maxOver(c1, F1, p - 1, 1, 'pool0'); // P1'(t)
  const c2 = step.unrows(g.op('Relu', [step.conv(p1, { ...conv2, dilation: p }, 'conv1')], {}, 'conv1_relu'), F2, 'conv1'); // C2'(t)
  const q = maxOver(c2, F2, (p - 1) * p, p, 'pool1'); // Q'(t), [T, B, F2]
  const qSeq = step.stream(q, F2, geo.pooledReach, 'pooled_past');

  // The Dense layer over the window's pooled columns (tfjs' Flatten is frame-major: column j's
  // features meet rows j F2 .. (j + 1) F2 of the kernel), as one Gemm per column accumulating
  // into the next (Gemm's C input; the bias in the first): no transposition of the gathered
  // columns into a [T B, T' F2] matrix, which onnxruntime copies slowly.
  const [hk, hb] = weightsOf(model, DEEPANT_LAYERS.hidden);
  const rows = (x: string, n: number, name: string) => g.op('Reshape', [x, g.int64Const(`${name}_shape`, [-1, n], [2])], {}, name);
  let acc: string = g.floatConst('hidden_b', hb!, [hidden]);
  const column = (x: string, j: number) => {
    acc = g.op('Gemm', [x, g.floatConst(`hidden_K${j}`, hk!.subarray(j * F2 * hidden, (j + 1) * F2 * hidden), [F2, hidden]), acc], {}, `hidden_col${j}`);
  };
  if (geo.edge > 0) {
    // The edge columns: the window graph's causal zero padding and 'valid' poolings on the
    // window's first E p^2 frames, time-major as the streams (rows, Gemm per tap; onnxruntime's
    // Conv and MaxPool on [T B, C, E p^2] cost more than the rest of the graph together).
    const edgeDelays = Array.from({ length: geo.edgeFrames }, (_, i) => W - 1 - i);
    const first = g.op('Reshape', [step.delayedStack(frames, edgeDelays, 'edge_frames'), g.int64Const('edge_frames_shape', [geo.edgeFrames, -1, C], [3])], {}, 'edge_x'); // [E p^2, T B, C]
    const c1Edge = localConv(g, first, geo.edgeFrames, conv1, 'edge_conv0'); // [E p^2, T B, F1]
    const p1Edge = localPool(g, c1Edge, geo.edgeFrames, p, 'edge_pool0'); // [E p, T B, F1]
    const c2Edge = localConv(g, p1Edge, geo.edge * p, conv2, 'edge_conv1');
    const qEdge = localPool(g, c2Edge, geo.edge * p, p, 'edge_pool1'); // [E, T B, F2]
    for (let j = 0; j < geo.edge; j++) {
      const col = geo.edge === 1 ? qEdge : g.op('Slice', [qEdge, g.int64Const(`edge_col${j}_from`, [j], [1]), g.int64Const(`edge_col${j}_to`, [j + 1], [1]), g.int64Const(`edge_col${j}_axis`, [0], [1])], {}, `edge_col${j}`);
      column(rows(col, F2, `edge_col${j}_rows`), j);
    }
  }
  // Pooled columns E .. T' - 1: Q' at their delays (each a block of the stream's rows).
  geo.pooledDelays.forEach((delay, i) => {
    const j = geo.edge + i;
    column(rows(step.delayed(qSeq, delay, `pooled_col${j}`), F2, `pooled_col${j}_rows`), j);
  });
  const hiddenOut = g.op('Relu', [acc], {}, 'hidden_relu'); // [T B, hidden]
  const [ok, ob] = weightsOf(model, DEEPANT_LAYERS.output);
  const flatForecast = dense(g, hiddenOut, { kernel: ok!, bias: ob, inputSize: hidden, units: h * C }, 'forecast'); // [T B, h C]
  const forecast = step.unrows(flatForecast, h * C, 'forecast_tb'); // [T, B, h C]
  const forecastFrames = g.op('Reshape', [forecast, g.op('Concat', [g.op('Shape', [step.frames], { start: attr.int(0), end: attr.int(2) }, 'frames_TB'), g.int64Const('forecast_hc', [h, C], [2])], { axis: attr.int(0) }, 'forecast_shape')], {}, 'forecast_frames'); // [T, B, h, C]

  // The target: the window's last h frames (delays h - 1 .. 0).
  const targetDelays = Array.from({ length: h }, (_, i) => h - 1 - i);
  const targetRows = g.op('Reshape', [step.delayedStack(frames, targetDelays, 'target_frames'), g.op('Concat', [g.int64Const('target_h', [h], [1]), g.op('Shape', [step.frames], { start: attr.int(0), end: attr.int(2) }, 'target_TB'), g.int64Const('target_c', [C], [1])], { axis: attr.int(0) }, 'target_shape')], {}, 'target_frames_hTBC'); // [h, T, B, C]
  const target = g.op('Transpose', [targetRows], { perm: attr.ints([1, 2, 0, 3]) }, 'target'); // [T, B, h, C]
  // The window graph's epilogue, one axis later.
  const err = g.op('Sub', [forecastFrames, target], {}, 'forecast_error');
  const squared = g.op('Mul', [err, err], {}, 'squared_error');
  // Horizon 1: the sum over one frame is that frame (a Reshape; onnxruntime's ReduceSum over a middle axis is slow).
  const sq = h === 1 ? step.unrows(squared, C, 'channel_sq') : g.op('ReduceSum', [squared, g.int64Const('axes_time', [2], [1])], { keepdims: attr.int(0) }, 'channel_sq'); // [T, B, C]
  const norm = g.op('Sqrt', [g.op('ReduceSum', [sq, g.int64Const('axes_channel', [2], [1])], { keepdims: attr.int(1) }, 'total_sq')], {}, 'error_norm'); // [T, B, 1]
  const channelScore = g.op('Div', [sq, g.op('Add', [norm, g.floatConst('norm_epsilon', [DEEPANT_NORM_EPSILON], [])], {}, 'norm_safe')], {}, 'channel_share');
  g.output(channelScore, IO.channelScore, DType.float, ['T', 'B', C]);
  g.output(g.op('ReduceSum', [channelScore, g.int64Const('axes_score', [2], [1])], { keepdims: attr.int(0) }, 'window_score'), IO.score, DType.float, ['T', 'B']);
  g.output(forecastFrames, 'forecast', DType.float, ['T', 'B', h, C]);
  const layout = step.finish();
  return g.encode({
    graphName: 'seismo_deepant_step',
    docString: `seismo deepant step graph: T frames per series, filters ${JSON.stringify(filters)}, kernel ${k}, pool ${p}, hidden ${hidden}, horizon ${h}, window ${W}, channels ${C}; ${geo.edge} edge column(s) recomputed per window`,
    metadata: { ...seismoMetadata('deepant', W, channelNames), ...layout },
  });
}
