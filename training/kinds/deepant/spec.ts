/** The deepant kind as the shared pipeline sees it: its settings, model, scores and exporter. */
import * as tf from '@tensorflow/tfjs-core';
import { fitWithTargets, type ModelKindSpec } from '../../kind-spec';
import { DeepAntConfigSchema, resolveDeepAntConfig, type DeepAntConfig } from './config';
import { exportDeepAnt, DEEPANT_IO } from './export';
import { buildDeepAnt, deepAntScores, deepAntTargets } from './model';
import { deepAntStep } from './step';

/** The deepant kind. */
export const deepAntSpec: ModelKindSpec<DeepAntConfig> = {
  kind: 'deepant',
  score: {
    definition: 'forecast-l2',
    description:
      'Euclidean error of the forecast of the window\'s last `horizon` frames from the frames before them (scaled data); channel_score[c] = sq_c / (norm + 1e-12) with sq_c the squared error of channel c, so the shares sum to score.',
  },
  io: DEEPANT_IO,
  schema: DeepAntConfigSchema,
  resolveConfig: resolveDeepAntConfig,
  build: buildDeepAnt,
  train: fitWithTargets(buildDeepAnt, deepAntTargets),
  // The horizon is the part of the window the model does not read: W minus its input length.
  scoreWindows: (model, windows) => deepAntScores(model, windows, { horizon: windows.shape[1] - (model.inputs[0]!.shape[1] as number) }),
  exportOnnx: exportDeepAnt,
  exportStep: deepAntStep,
  fineTuneLoss: (model, config, windows) =>
    tf.tidy(() => {
      const { x, y } = deepAntTargets(config)(windows);
      return tf.mean(tf.squaredDifference(model.apply(x, { training: true }) as tf.Tensor, y)) as tf.Scalar;
    }),
};
