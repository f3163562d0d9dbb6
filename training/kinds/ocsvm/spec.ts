/** The ocsvm kind as the shared pipeline sees it: its settings, model, scores and exporter. */
import type { ModelKindSpec } from '../../kind-spec';
import { OcsvmConfigSchema, resolveOcsvmConfig, type OcsvmConfig } from './config';
import { exportOcsvm, OCSVM_IO } from './export';
import { buildOcsvm, ocsvmScores, trainOcsvm } from './model';

/** The ocsvm kind. */
export const ocsvmSpec: ModelKindSpec<OcsvmConfig> = {
  kind: 'ocsvm',
  score: {
    definition: 'ocsvm-neg-decision',
    description:
      'rho - sum_i alpha_i exp(-gamma |x - sv_i|^2) on the flattened scaled window (minus libsvm\'s one-class decision function; > 0 outside the learned support). channel_score[c] = score * channel c\'s share of the squared distance to the nearest support vector (summed over the window\'s frames).',
  },
  io: OCSVM_IO,
  schema: OcsvmConfigSchema,
  resolveConfig: resolveOcsvmConfig,
  build: buildOcsvm,
  train: trainOcsvm,
  scoreWindows: ocsvmScores,
  exportOnnx: exportOcsvm,
};
