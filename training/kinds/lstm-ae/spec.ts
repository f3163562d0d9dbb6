/** The lstm-ae kind as the shared pipeline sees it: its settings, model, scores and exporter. */
import { reconstructionLoss, type ModelKindSpec } from '../../kind-spec';
import { reconstructionScores } from '../../score';
import { LstmAeConfigSchema, resolveLstmAeConfig, type LstmAeConfig } from './config';
import { exportLstmAe, LSTM_AE_IO } from './export';
import { buildLstmAe } from './model';

/** The lstm-ae kind. */
export const lstmAeSpec: ModelKindSpec<LstmAeConfig> = {
  kind: 'lstm-ae',
  score: {
    definition: 'mse',
    description: 'Mean squared reconstruction error over the window (all frames and channels), on scaled data; channel_score[c] is channel c\'s share.',
  },
  io: LSTM_AE_IO,
  schema: LstmAeConfigSchema,
  resolveConfig: resolveLstmAeConfig,
  build: buildLstmAe,
  scoreWindows: (model, windows) => reconstructionScores(model, windows),
  exportOnnx: exportLstmAe,
  fineTuneLoss: reconstructionLoss,
};
