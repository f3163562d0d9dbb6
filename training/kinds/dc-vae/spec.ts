/** The dc-vae kind as the shared pipeline sees it: its settings, model, scores and exporter. */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { fitWithTargets, type ModelKindSpec } from '../../kind-spec';
import { DcVaeConfigSchema, resolveDcVaeConfig, type DcVaeConfig } from './config';
import { dcVaeStep, exportDcVae, DC_VAE_IO } from './export';
import { buildDcVae, dcVaeLoss, dcVaeScores, dcVaeTargets } from './model';

/** The dc-vae kind. */
export const dcVaeSpec: ModelKindSpec<DcVaeConfig> = {
  kind: 'dc-vae',
  score: {
    definition: 'gaussian-z',
    description:
      'Deviation of the window\'s last frame from the predicted Gaussian, in predicted standard deviations: channel_score[c] = |x_c - mu_c| / sigma_c / C, score = sum_c channel_score[c] = mean over channels (scaled data). Channel c is anomalous by the paper\'s rule when channel_score[c] * C > alpha (hyperParameters.alpha).',
  },
  io: DC_VAE_IO,
  schema: DcVaeConfigSchema,
  resolveConfig: resolveDcVaeConfig,
  build: buildDcVae,
  train: fitWithTargets(buildDcVae, dcVaeTargets),
  scoreWindows: (model, windows) => dcVaeScores(model, windows, { channels: windows.shape[2], latent: dcVaeLatent(model) }),
  exportOnnx: exportDcVae,
  exportStep: dcVaeStep,
  fineTuneLoss: (model, config, windows) =>
    tf.tidy(() => {
      const { x, y } = dcVaeTargets(config)(windows);
      return tf.mean(dcVaeLoss(config)(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar;
    }),
};

/** Latent size of a built DC-VAE, read back from its encoder head (so scoring needs no config). */
function dcVaeLatent(model: tfl.LayersModel): number {
  const shape = model.getLayer('encoder_gaussian').outputShape as number[];
  return shape[2]! / 2;
}
