/** ONNX export of the dense VAE's deterministic path (encoder -> mu -> decoder; see `training/vae.ts`). */
import type * as tfl from '@tensorflow/tfjs-layers';
import { denseSteps, partLayers } from '../../classic/common';
import { VAE_LAYERS, type VaeConfig } from './model';
import type { ScalerParams } from '../../export/blocks';
import { exportFlatReconstruction } from '../../export/flat';

/** Writes a trained VAE as an ONNX model: reconstruction from the latent mean, MSE score. */
export function exportVae(model: tfl.LayersModel, config: VaeConfig, channelNames: readonly string[], scaler: ScalerParams): Uint8Array {
  if (channelNames.length !== config.channels) throw new Error(`exportVae: ${channelNames.length} channel names for ${config.channels} channels`);
  const steps = denseSteps([...partLayers(model, VAE_LAYERS.encoderHidden), model.getLayer(VAE_LAYERS.mu), ...partLayers(model, VAE_LAYERS.decoder)]);
  return exportFlatReconstruction(
    'vae',
    steps,
    config.window,
    channelNames,
    scaler,
    `seismo vae: encoder ${JSON.stringify(config.encoderUnits)}, latent ${config.latent} (mean at inference), decoder ${JSON.stringify(config.decoderUnits)}, window ${config.window}, channels ${config.channels}`,
  );
}
