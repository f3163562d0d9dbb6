/** ONNX export of the dense AE: its encoder and decoder as one flat reconstruction chain (../../export/flat.ts). */
import type * as tfl from '@tensorflow/tfjs-layers';
import { partLayers, denseSteps } from '../../classic/common';
import { DENSE_AE_PREFIX, type DenseAeConfig } from './model';
import type { ScalerParams } from '../../export/blocks';
import { exportFlatReconstruction } from '../../export/flat';

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
