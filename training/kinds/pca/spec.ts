/** The pca kind as the shared pipeline sees it: its settings, model, scores and exporter. */
import { MSE_SCORE, type ModelKindSpec } from '../../kind-spec';
import { reconstructionScores } from '../../score';
import { PcaConfigSchema, resolvePcaConfig, type PcaConfig } from './config';
import { exportPca } from './export';
import { FLAT_RECONSTRUCTION_IO } from '../../export/flat';
import { buildPca, trainPca } from './model';

/** The pca kind. */
export const pcaSpec: ModelKindSpec<PcaConfig> = {
  kind: 'pca',
  score: {
    definition: 'mse',
    description: `${MSE_SCORE.description} The reconstruction is the projection onto the top-k principal components of the training windows.`,
  },
  io: FLAT_RECONSTRUCTION_IO,
  schema: PcaConfigSchema,
  resolveConfig: resolvePcaConfig,
  build: buildPca,
  train: trainPca,
  scoreWindows: (model, windows) => reconstructionScores(model, windows),
  exportOnnx: exportPca,
};
