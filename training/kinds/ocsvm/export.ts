/**
 * ONNX export of the one-class SVM (see `training/ocsvm.ts`): pairwise squared distances to the
 * support vectors through one MatMul (`|x|^2 - 2 x S^T + |s|^2`), Exp, a weighted sum (MatMul with
 * the alphas), rho minus that; the channel shares from the nearest support vector (ArgMin, Gather).
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { OCSVM_SHARE_EPS, type OcsvmConfig, ocsvmParams } from './model';
import { contractIO, IO, type ScalerParams, seismoMetadata, flattenWindows, windowPrologue } from '../../export/blocks';
import { DType, GraphBuilder, OPSET, attr } from '../../export/onnx-graph';

/** Inputs and outputs of an exported OCSVM graph, in order (no reconstruction: nothing is reconstructed). */
export const OCSVM_IO = contractIO([]);

/** Writes a fitted one-class SVM as an ONNX model (`score` = rho - decision sum; higher = more anomalous). */
export function exportOcsvm(model: tfl.LayersModel, config: OcsvmConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  const { window: W, channels: C } = config;
  if (channelNames.length !== C) throw new Error(`exportOcsvm: ${channelNames.length} channel names for ${C} channels`);
  const { sv, coef, rho, gamma, count: M, dims: D } = ocsvmParams(model);
  const svT = new Float32Array(D * M); // [D, M]
  const svSq = new Float32Array(M);
  for (let i = 0; i < M; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) {
      const v = sv[i * D + d]!;
      svT[d * M + i] = v;
      s += Math.fround(v * v);
    }
    svSq[i] = s;
  }
  const g = new GraphBuilder();
  const { scaled } = windowPrologue(g, W, scaler);
  const x = flattenWindows(g, scaled, W, C); // [N, D]
  const axes1 = g.int64Const('axes_1', [1], [1]);
  const xx = g.op('ReduceSum', [g.op('Mul', [x, x], {}, 'x_sq'), axes1], { keepdims: attr.int(1) }, 'x_norm_sq'); // [N, 1]
  const cross = g.op('MatMul', [x, g.floatConst('support_vectors_t', svT, [D, M])], {}, 'cross'); // [N, M]
  const twoCross = g.op('Mul', [cross, g.floatConst('two', [2], [])], {}, 'two_cross');
  const d2raw = g.op('Add', [g.op('Sub', [xx, twoCross], {}, 'xx_minus'), g.floatConst('sv_norm_sq', svSq, [M])], {}, 'dist_sq_raw');
  const d2 = g.op('Max', [d2raw, g.floatConst('zero', [0], [])], {}, 'dist_sq'); // [N, M]
  const k = g.op('Exp', [g.op('Mul', [d2, g.floatConst('neg_gamma', [-gamma], [])], {}, 'neg_gamma_d2')], {}, 'kernel');
  const dec = g.op('MatMul', [k, g.floatConst('alpha', coef, [M, 1])], {}, 'decision_sum'); // [N, 1]
  const base = g.op('Sub', [g.floatConst('rho', [rho], [1]), dec], {}, 'neg_decision'); // [N, 1]
  const svs = g.floatConst('support_vectors', sv, [M, D]);
  const idx = g.op('ArgMin', [d2], { axis: attr.int(1), keepdims: attr.int(0) }, 'nearest_index'); // [N]
  const nearest = g.op('Gather', [svs, idx], { axis: attr.int(0) }, 'nearest_sv'); // [N, D]
  const diff = g.op('Sub', [x, nearest], {}, 'to_nearest');
  const sq = g.op('Mul', [diff, diff], {}, 'to_nearest_sq');
  const total = g.op('ReduceSum', [sq, axes1], { keepdims: attr.int(1) }, 'to_nearest_total');
  const share = g.op(
    'Div',
    [g.op('Add', [sq, g.floatConst('eps_per_feature', [OCSVM_SHARE_EPS / D], [])], {}, 'sq_eps'), g.op('Add', [total, g.floatConst('eps', [OCSVM_SHARE_EPS], [])], {}, 'total_eps')],
    {},
    'feature_share',
  ); // [N, D]
  const shareWin = g.op('Reshape', [share, g.int64Const('share_shape', [-1, W, C], [3])], {}, 'share_windows');
  const channelShare = g.op('ReduceSum', [shareWin, axes1], { keepdims: attr.int(0) }, 'channel_share'); // [N, C]
  const channelScore = g.op('Mul', [base, channelShare], {}, 'channel_total');
  g.output(channelScore, IO.channelScore, DType.float, ['N', C]);
  const score = g.op('ReduceSum', [channelScore, axes1], { keepdims: attr.int(0) }, 'window_score');
  g.output(score, IO.score, DType.float, ['N']);
  return g.encode({
    graphName: 'seismo_ocsvm',
    docString: `seismo ocsvm: RBF one-class SVM, ${M} support vectors, nu ${config.nu}, gamma ${gamma}, window ${W}, channels ${C}`,
    metadata: seismoMetadata('ocsvm', W, channelNames),
  });
}
