/** Settings of the dense autoencoder, as one schema (see training/config.ts). */
import { z } from 'zod';
import { HIDDEN_ACTIVATIONS } from '../../classic/common';
import { baseSettings, resolveSettings, setting, unitList } from '../../config';
import { TRAIN_DEFAULTS } from '../../fit';

export const DenseAeConfigSchema = z.strictObject({
  ...baseSettings({ window: 1, ...TRAIN_DEFAULTS }),
  encoderUnits: setting(unitList().default([64, 16]), { description: "Units of the encoder's Dense layers, first to last; the last is the code. A window is flattened to W*C features (window 1: one record).", unit: 'units' }),
  decoderUnits: setting(unitList({ allowEmpty: true }).optional(), { description: "Units of the decoder's hidden Dense layers, first to last (the output layer of W*C units follows). Default: the encoder's hidden layers mirrored.", unit: 'units' }),
  activation: setting(z.enum(HIDDEN_ACTIVATIONS).default('tanh'), { description: 'Activation of every hidden layer, code included; the output is linear.' }),
});

/** Hyper-parameters of the dense AE (every setting is described in docs/config.md). */
export type DenseAeConfig = z.output<typeof DenseAeConfigSchema> & { channels: number };

/** Defaults of {@link DenseAeConfig} (channels from the data; decoderUnits mirrors the encoder). */
export const DENSE_AE_DEFAULTS: Readonly<Omit<DenseAeConfig, 'channels' | 'decoderUnits'>> = Object.freeze(DenseAeConfigSchema.omit({ channels: true, decoderUnits: true }).parse({}));

/**
 * Completes a partial config with the defaults and checks every field.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the offending (or unknown) field.
 */
export function resolveDenseAeConfig(partial: Partial<DenseAeConfig> | undefined, channels: number): DenseAeConfig & { decoderUnits: number[] } {
  const c = resolveSettings('dense-ae', DenseAeConfigSchema, partial, channels);
  return { ...c, decoderUnits: c.decoderUnits ?? c.encoderUnits.slice(0, -1).reverse() };
}
