/**
 * ONNX export of DeepAnT ({@link buildDeepAnt}) under the graph contract of
 * `src/model/manifest.ts`: `frames` + `starts` in; `score`, `channel_score`, `forecast` out.
 *
 * Ops: Slice (history / target), Transpose, Conv (causal pads), Relu, MaxPool, [MatMul, Softmax
 * for the attention variant], Reshape (Flatten), MatMul + Add (Dense), and the error epilogue.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { DEEPANT_LAYERS, DEEPANT_NORM_EPSILON, type DeepAntConfig, deepAntAttention, deepAntPooledLength } from './model';
import { deepAntAttentionUnits } from './config';
import type { BahdanauWeights } from './attention';
import { GRAPH_IO } from '../../../src/model/manifest';
import { contractIO, IO, type ScalerParams, seismoMetadata, causalConv, dense, maxPool1d, selfAttention, sliceFrames, swapTimeFeatures, windowPrologue } from '../../export/blocks';
import { DType, GraphBuilder, OPSET, attr } from '../../export/onnx-graph';

/** Inputs and outputs of an exported DeepAnT graph, in order (attention `bahdanau` adds `attention`). */
export const DEEPANT_IO = contractIO(['forecast']);

/** Weights of the additive attention in ONNX form (see ./attention.ts), with the pooled steps T' they attend over. */
interface BahdanauGraphWeights extends BahdanauWeights {
  steps: number;
}

/**
 * Additive attention over `x` `[N, T', F]` with the last step as the query (./attention.ts):
 * weights `[N, T']` (Softmax over the steps) and context `[N, F]`.
 */
function bahdanauAttention(g: GraphBuilder, x: string, w: BahdanauGraphWeights): { weights: string; context: string } {
  const { features: F, units: U, steps: T } = w;
  const keys = g.op('MatMul', [x, g.floatConst('bahdanau_key', w.key, [F, U])], {}, 'bahdanau_keys'); // [N, T', U]
  const last = sliceFrames(g, x, T - 1, T, 'bahdanau_last'); // [N, 1, F]
  const query = g.op('MatMul', [last, g.floatConst('bahdanau_query', w.query, [F, U])], {}, 'bahdanau_q'); // [N, 1, U]
  const hidden = g.op('Tanh', [g.op('Add', [g.op('Add', [keys, query], {}, 'bahdanau_kq'), g.floatConst('bahdanau_bias', w.bias, [U])], {}, 'bahdanau_pre')], {}, 'bahdanau_hidden');
  const logits = g.op('MatMul', [hidden, g.floatConst('bahdanau_score', w.score, [U, 1])], {}, 'bahdanau_logits'); // [N, T', 1]
  const flatLogits = g.op('Reshape', [logits, g.int64Const('bahdanau_logits_shape', [-1, T], [2])], {}, 'bahdanau_logits_flat');
  const weights = g.op('Softmax', [flatLogits], { axis: attr.int(-1) }, 'bahdanau_weights'); // [N, T']
  const row = g.op('Reshape', [weights, g.int64Const('bahdanau_row_shape', [-1, 1, T], [3])], {}, 'bahdanau_row'); // [N, 1, T']
  const context = g.op('Reshape', [g.op('MatMul', [row, x], {}, 'bahdanau_context3'), g.int64Const('bahdanau_context_shape', [-1, F], [2])], {}, 'bahdanau_context'); // [N, F]
  return { weights, context };
}


function weightsOf(model: tfl.LayersModel, name: string): Float32Array[] {
  return model.getLayer(name).getWeights().map((t) => t.dataSync() as Float32Array);
}

/**
 * Writes a trained DeepAnT model as an ONNX model.
 *
 * Outputs: `channel_score` `[N, C]`, `score` `[N]` (Euclidean forecast error of the last
 * `horizon` frames, see `training/deepant.ts`), `forecast` `[N, h, C]` in scaled units.
 *
 * @param model the tfjs model from {@link buildDeepAnt} (trained).
 * @param config the config it was built with.
 * @param channelNames channel names, length C, in column order of `frames`.
 * @param scaler per-channel mean/std (raw units) that the graph applies first.
 * @returns the bytes of `model.onnx`.
 */
export function exportDeepAnt(model: tfl.LayersModel, config: DeepAntConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  const { window: W, channels: C, horizon: h } = config;
  if (channelNames.length !== C) throw new Error(`exportDeepAnt: ${channelNames.length} channel names for ${C} channels`);
  const g = new GraphBuilder();
  const { scaled } = windowPrologue(g, W, scaler); // [N, W, C]
  const history = sliceFrames(g, scaled, 0, W - h, 'history'); // [N, W-h, C]
  let x = swapTimeFeatures(g, history, 'history_nct'); // [N, C, W-h]
  let features = C;
  for (let i = 0; i < 2; i++) {
    const [kernel, bias] = weightsOf(model, DEEPANT_LAYERS.conv(i));
    const filters = config.filters[i]!;
    x = causalConv(g, x, { kernel: kernel!, bias: bias!, kernelSize: config.kernelSize, inputSize: features, filters, dilation: 1 }, `conv${i}`);
    x = maxPool1d(g, g.op('Relu', [x], {}, `conv${i}_relu`), config.poolSize, `pool${i}`); // [N, F, T_i]
    features = filters;
  }
  x = swapTimeFeatures(g, x, 'pooled_ntf'); // [N, T', F]
  const attention = deepAntAttention(config);
  if (attention === 'self') {
    const [query, key, value] = weightsOf(model, DEEPANT_LAYERS.attention);
    x = selfAttention(g, x, { query: query!, key: key!, value: value!, features }, 'attn');
  }
  const steps = deepAntPooledLength(config);
  let flatSize = steps * features;
  const pooled = x;
  // Frame-major flattening, as tfjs' Flatten on [N, T', F].
  x = g.op('Reshape', [x, g.int64Const('flatten_shape', [-1, flatSize], [2])], {}, 'flat');
  if (attention === 'bahdanau') {
    const [key, query, bias, score] = weightsOf(model, DEEPANT_LAYERS.bahdanau);
    const { weights, context } = bahdanauAttention(g, pooled, { key: key!, query: query!, bias: bias!, score: score!, features, units: deepAntAttentionUnits(config), steps });
    x = g.op('Concat', [x, context], { axis: attr.int(1) }, 'with_context'); // [N, T'F + F], as tfjs' concatenate([flat, context])
    flatSize += features;
    g.output(weights, GRAPH_IO.attention, DType.float, ['N', steps]);
  }
  const [hk, hb] = weightsOf(model, DEEPANT_LAYERS.hidden);
  x = g.op('Relu', [dense(g, x, { kernel: hk!, bias: hb, inputSize: flatSize, units: config.hidden }, 'hidden')], {}, 'hidden_relu');
  const [ok, ob] = weightsOf(model, DEEPANT_LAYERS.output);
  const flatForecast = dense(g, x, { kernel: ok!, bias: ob, inputSize: config.hidden, units: h * C }, 'forecast'); // [N, h*C]
  const forecast = g.op('Reshape', [flatForecast, g.int64Const('forecast_shape', [-1, h, C], [3])], {}, 'forecast_frames'); // [N, h, C]

  const target = sliceFrames(g, scaled, W - h, W, 'target'); // [N, h, C]
  const err = g.op('Sub', [forecast, target], {}, 'forecast_error');
  const sq = g.op('ReduceSum', [g.op('Mul', [err, err], {}, 'squared_error'), g.int64Const('axes_time', [1], [1])], { keepdims: attr.int(0) }, 'channel_sq'); // [N, C]
  const norm = g.op('Sqrt', [g.op('ReduceSum', [sq, g.int64Const('axes_channel', [1], [1])], { keepdims: attr.int(1) }, 'total_sq')], {}, 'error_norm'); // [N, 1]
  const channelScore = g.op('Div', [sq, g.op('Add', [norm, g.floatConst('norm_epsilon', [DEEPANT_NORM_EPSILON], [])], {}, 'norm_safe')], {}, 'channel_share');
  g.output(channelScore, IO.channelScore, DType.float, ['N', C]);
  g.output(g.op('ReduceSum', [channelScore, g.int64Const('axes_score', [1], [1])], { keepdims: attr.int(0) }, 'window_score'), IO.score, DType.float, ['N']);
  g.output(forecast, 'forecast', DType.float, ['N', h, C]);
  return g.encode({
    graphName: 'seismo_deepant',
    docString: `seismo deepant: filters ${JSON.stringify(config.filters)}, kernel ${config.kernelSize}, pool ${config.poolSize}, hidden ${config.hidden}, attention ${attention}, horizon ${h}, window ${W}, channels ${C}; score = Euclidean forecast error of the last ${h} frame(s)`,
    metadata: seismoMetadata('deepant', W, channelNames),
  });
}
