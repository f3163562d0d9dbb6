/**
 * ONNX export of the flat-window reconstruction kinds (dense-ae; also VAE's deterministic path
 * and PCA, which are dense chains too): `frames` + `starts` -> windows, scaled -> Reshape
 * `[N, W*C]` -> Dense chain -> Reshape `[N, W, C]` -> reconstruction error.
 */
import type * as tfl from '@tensorflow/tfjs-layers';
import { partLayers, denseSteps } from '../classic/common';
import { DENSE_AE_PREFIX, type DenseAeConfig } from '../dense-ae';
import { type DenseStep, type ScalerParams, denseChain, flattenWindows, reconstructionScore, unflattenWindows, windowPrologue } from './blocks';
import { seismoMetadata } from './lstm-ae';
import { GraphBuilder, OPSET } from './onnx-graph';

/** Inputs and outputs of an exported flat reconstruction graph, in order. */
export const FLAT_RECONSTRUCTION_IO = { inputs: ['frames', 'starts'], outputs: ['channel_score', 'score', 'reconstruction'], opset: OPSET } as const;

/**
 * A flat-window reconstruction graph from its dense chain.
 * @param steps the chain from flat scaled input `[N, W*C]` to flat reconstruction `[N, W*C]`.
 */
export function exportFlatReconstruction(
  kind: string,
  steps: readonly DenseStep[],
  window: number,
  channelNames: readonly string[],
  scaler: ScalerParams,
  docString: string,
): Uint8Array {
  const C = channelNames.length;
  const g = new GraphBuilder();
  const { scaled } = windowPrologue(g, window, scaler); // [N, W, C]
  const flat = flattenWindows(g, scaled, window, C); // [N, W*C]
  const recFlat = denseChain(g, flat, steps, 'net'); // [N, W*C]
  const rec = unflattenWindows(g, recFlat, window, C, 'reconstruction_windows'); // [N, W, C]
  reconstructionScore(g, scaled, rec, window, C);
  return g.encode({ graphName: `seismo_${kind.replace(/-/g, '_')}`, docString, metadata: seismoMetadata(kind, window, channelNames) });
}

/** Writes a trained dense AE ({@link buildDenseAe}) as an ONNX model. */
export function exportDenseAe(model: tfl.LayersModel, config: DenseAeConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  if (channelNames.length !== config.channels) throw new Error(`exportDenseAe: ${channelNames.length} channel names for ${config.channels} channels`);
  const steps = [...denseSteps(partLayers(model, DENSE_AE_PREFIX.encoder)), ...denseSteps(partLayers(model, DENSE_AE_PREFIX.decoder))];
  return exportFlatReconstruction(
    'dense-ae',
    steps,
    config.window,
    channelNames,
    scaler,
    `seismo dense-ae: encoder ${JSON.stringify(config.encoderUnits)}, decoder ${JSON.stringify(config.decoderUnits)} + ${config.window * config.channels}, ${config.activation}, window ${config.window}, channels ${config.channels}`,
  );
}
