/** ONNX export of the PCA baseline: its projection is a two-MatMul chain (see `training/pca.ts`). */
import type * as tfl from '@tensorflow/tfjs-layers';
import { denseSteps, partLayers } from '../../classic/common';
import { type PcaConfig, pcaComponents } from './model';
import type { ScalerParams } from '../../export/blocks';
import { exportFlatReconstruction } from '../../export/flat';

/** Writes a fitted PCA model as an ONNX model (`score` = mean squared residual over the window). */
export function exportPca(model: tfl.LayersModel, config: PcaConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  if (channelNames.length !== config.channels) throw new Error(`exportPca: ${channelNames.length} channel names for ${config.channels} channels`);
  const steps = [...denseSteps(partLayers(model, 'enc_')), ...denseSteps(partLayers(model, 'dec_'))];
  return exportFlatReconstruction('pca', steps, config.window, channelNames, scaler, `seismo pca: ${pcaComponents(model)} components, window ${config.window}, channels ${config.channels}`);
}
