/** The bigan kind as the shared pipeline sees it: its settings, model, scores and exporter. */
import type { ModelKindSpec } from '../../kind-spec';
import { BiganConfigSchema, resolveBiganConfig, type BiganConfig } from './config';
import { exportBigan, BIGAN_IO } from './export';
import { biganAlpha, biganScores, buildBigan, trainBigan } from './model';

/** The bigan kind. */
export const biganSpec: ModelKindSpec<BiganConfig> = {
  kind: 'bigan',
  score: {
    definition: 'bigan-l1-fm',
    description:
      "alpha * ||x - G(E(x))||_1 + (1 - alpha) * ||f(x, E(x)) - f(G(E(x)), E(x))||_1 on the flattened scaled window (Zenati et al. 2018; f = discriminator's feature layer, alpha in hyperParameters). channel_score[c] = alpha * channel c's L1 error over the window + the feature-matching term shared in proportion to those errors.",
  },
  io: BIGAN_IO,
  schema: BiganConfigSchema,
  resolveConfig: resolveBiganConfig,
  build: buildBigan,
  train: trainBigan,
  // The tfjs side scores with the alpha the model was built (and so exported) with.
  scoreWindows: (model, windows) => biganScores(model, windows, biganAlpha(model)),
  exportOnnx: exportBigan,
};
