/** The vae kind as the shared pipeline sees it: its settings, model, scores and exporter. */
import { MSE_SCORE, type ModelKindSpec } from '../../kind-spec';
import { reconstructionScores } from '../../score';
import { VaeConfigSchema, resolveVaeConfig, type VaeConfig } from './config';
import { exportVae } from './export';
import { FLAT_RECONSTRUCTION_IO } from '../../export/flat';
import { buildVae, trainVae } from './model';

/** The vae kind. */
export const vaeSpec: ModelKindSpec<VaeConfig> = {
  kind: 'vae',
  score: {
    definition: 'mse',
    description: `${MSE_SCORE.description} The reconstruction decodes the latent mean (deterministic), not a sample.`,
  },
  io: FLAT_RECONSTRUCTION_IO,
  schema: VaeConfigSchema,
  resolveConfig: resolveVaeConfig,
  build: buildVae,
  train: trainVae,
  scoreWindows: (model, windows) => reconstructionScores(model, windows),
  exportOnnx: exportVae,
};
