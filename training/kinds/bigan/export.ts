/**
 * ONNX export of the BiGAN (see `training/bigan.ts`): E, G and D's feature layers in one graph,
 * D's feature layer evaluated twice (on (x, E(x)) and on (G(E(x)), E(x))) with shared weights.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { denseSteps, partLayers } from '../../classic/common';
import { BIGAN_PARTS, BIGAN_SHARE_EPS, type BiganConfig } from './model';
import { DType, GraphBuilder, OPSET, attr } from '../../export/onnx-graph';
import { contractIO, IO, type ScalerParams, seismoMetadata, denseChain, flattenWindows, unflattenWindows, windowPrologue } from '../../export/blocks';

/** Inputs and outputs of an exported BiGAN graph, in order. */
export const BIGAN_IO = contractIO(['reconstruction']);

/** Writes a trained BiGAN as an ONNX model. */
export function exportBigan(model: tfl.LayersModel, config: BiganConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  const { window: W, channels: C, alpha } = config;
  if (channelNames.length !== C) throw new Error(`exportBigan: ${channelNames.length} channel names for ${C} channels`);
  const steps = (prefix: string) => denseSteps(partLayers(model, prefix));
  const g = new GraphBuilder();
  const { scaled } = windowPrologue(g, W, scaler);
  const x = flattenWindows(g, scaled, W, C); // [N, D]
  const z = denseChain(g, x, steps(BIGAN_PARTS.encoder), 'enc'); // [N, latent]
  const xr = denseChain(g, z, steps(BIGAN_PARTS.generator), 'gen'); // [N, D]
  // E(x) is the z of both pairs, so D's z branch runs once; the x branch and the joint layer run
  // per pair (their weights are written twice: D*H + 2H*H floats, small next to one graph run's cost).
  const dzOut = denseChain(g, z, steps(BIGAN_PARTS.dz), 'dz'); // [N, H], shared by both pairs
  const feat = (input: string, name: string) => {
    const joint = g.op('Concat', [denseChain(g, input, steps(BIGAN_PARTS.dx), `${name}_dx`), dzOut], { axis: attr.int(1) }, `${name}_concat`);
    return denseChain(g, joint, steps(BIGAN_PARTS.joint), `${name}_dj`);
  };
  const fReal = feat(x, 'real');
  const fFake = feat(xr, 'fake');
  const fDiff = g.op('Sub', [fReal, fFake], {}, 'feature_diff');
  const ld = g.op('ReduceSum', [g.op('Abs', [fDiff], {}, 'feature_abs'), g.int64Const('axes_f', [1], [1])], { keepdims: attr.int(1) }, 'feature_l1'); // [N, 1]
  const rec = unflattenWindows(g, xr, W, C, 'reconstruction_windows'); // [N, W, C]
  const absErr = g.op('Abs', [g.op('Sub', [scaled, rec], {}, 'residual')], {}, 'abs_error'); // [N, W, C]
  const r = g.op('ReduceSum', [absErr, g.int64Const('axes_t', [1], [1])], { keepdims: attr.int(0) }, 'channel_l1'); // [N, C]
  const lg = g.op('ReduceSum', [r, g.int64Const('axes_c', [1], [1])], { keepdims: attr.int(1) }, 'reconstruction_l1'); // [N, 1]
  const share = g.op(
    'Div',
    [g.op('Add', [r, g.floatConst('eps_per_channel', [BIGAN_SHARE_EPS / C], [])], {}, 'r_eps'), g.op('Add', [lg, g.floatConst('eps', [BIGAN_SHARE_EPS], [])], {}, 'lg_eps')],
    {},
    'channel_share',
  );
  const recTerm = g.op('Mul', [r, g.floatConst('alpha', [alpha], [])], {}, 'alpha_r');
  const fmTerm = g.op('Mul', [g.op('Mul', [ld, g.floatConst('one_minus_alpha', [1 - alpha], [])], {}, 'beta_ld'), share], {}, 'fm_share');
  const channelScore = g.op('Add', [recTerm, fmTerm], {}, 'channel_total');
  g.output(channelScore, IO.channelScore, DType.float, ['N', C]);
  const score = g.op('ReduceSum', [channelScore, g.int64Const('axes_score', [1], [1])], { keepdims: attr.int(0) }, 'window_score');
  g.output(score, IO.score, DType.float, ['N']);
  g.output(rec, IO.reconstruction, DType.float, ['N', W, C]);
  return g.encode({
    graphName: 'seismo_bigan',
    docString: `seismo bigan: latent ${config.latent}, E ${JSON.stringify(config.encoderUnits)}, G ${JSON.stringify(config.generatorUnits)}, D ${config.discriminatorUnits}, alpha ${alpha}, window ${W}, channels ${C}`,
    metadata: seismoMetadata('bigan', W, channelNames),
  });
}
