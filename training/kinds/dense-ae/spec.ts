/** The dense-ae kind as the shared pipeline sees it: its settings, model, scores and exporter. */
import { MSE_SCORE, reconstructionLoss, type ModelKindSpec } from '../../kind-spec';
import { reconstructionScores } from '../../score';
import { DenseAeConfigSchema, resolveDenseAeConfig, type DenseAeConfig } from './config';
import { exportDenseAe } from './export';
import { FLAT_RECONSTRUCTION_IO } from '../../export/flat';
import { buildDenseAe } from './model';

/** The dense-ae kind. */
export const denseAeSpec: ModelKindSpec<DenseAeConfig> = {
  kind: 'dense-ae',
  score: MSE_SCORE,
  io: FLAT_RECONSTRUCTION_IO,
  schema: DenseAeConfigSchema,
  resolveConfig: resolveDenseAeConfig,
  build: buildDenseAe,
  scoreWindows: (model, windows) => reconstructionScores(model, windows),
  exportOnnx: exportDenseAe,
  fineTuneLoss: reconstructionLoss,
};
