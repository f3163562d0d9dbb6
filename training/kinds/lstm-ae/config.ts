/** Settings of the LSTM-AE, as one schema (see training/config.ts). */
import { z } from 'zod';
import { baseSettings, resolveSettings, setting, unitList } from '../../config';
import { TRAIN_DEFAULTS } from '../../fit';

export const LstmAeConfigSchema = z.strictObject({
  ...baseSettings({ window: 64, ...TRAIN_DEFAULTS }),
  encoderUnits: setting(unitList().default([32]), { description: "Units of each encoder LSTM, first to last; the last one's final hidden state is the code.", unit: 'units' }),
  decoderUnits: setting(unitList().default([16]), {
    description: 'Units of each decoder LSTM, first to last. A decoder weaker than the encoder (e.g. [16] against [32]) cannot memorise details, which tends to raise the error on anomalies more than on normal windows.',
    unit: 'units',
  }),
});

/** Hyper-parameters of the LSTM-AE (every setting is described in docs/config.md). */
export type LstmAeConfig = z.output<typeof LstmAeConfigSchema> & { channels: number };

/** Defaults of {@link LstmAeConfig} (channels excepted: the data decide it). */
export const LSTM_AE_DEFAULTS: Readonly<Omit<LstmAeConfig, 'channels'>> = Object.freeze(LstmAeConfigSchema.omit({ channels: true }).parse({}));

/**
 * Completes a partial config with the defaults and checks every field.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the offending (or unknown) field.
 */
export function resolveLstmAeConfig(partial: Partial<LstmAeConfig> | undefined, channels: number): LstmAeConfig {
  return resolveSettings('lstm-ae', LstmAeConfigSchema, partial, channels);
}
