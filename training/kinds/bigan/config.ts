/** Settings of the BiGAN, as one schema (see training/config.ts). */
import { z } from 'zod';
import { baseSettings, positiveInt, resolveSettings, setting, unitList } from '../../config';
import { TRAIN_DEFAULTS } from '../../fit';

export const BiganConfigSchema = z.strictObject({
  // patience 0: adversarial losses do not say when the model is good, so all epochs run and the
  // last epoch's weights are kept (a positive patience stops on the validation mean score).
  ...baseSettings({ window: 1, ...TRAIN_DEFAULTS, epochs: 20, learningRate: 1e-4, patience: 0 }),
  latent: setting(positiveInt().default(32), { description: "Latent dimensions of z (the paper's KDD setting: 32).", unit: 'dimensions' }),
  encoderUnits: setting(unitList({ allowEmpty: true }).default([64]), { description: "Units of E's hidden Dense layers (leaky ReLU).", unit: 'units' }),
  generatorUnits: setting(unitList({ allowEmpty: true }).default([64, 128]), { description: "Units of G's hidden Dense layers (ReLU).", unit: 'units' }),
  discriminatorUnits: setting(positiveInt().default(128), { description: "Units of each of D's three hidden layers (x branch, z branch, joint = feature layer).", unit: 'units' }),
  alpha: setting(z.number().min(0).max(1).default(0.9), { description: 'Weight of the reconstruction term in the score, in [0, 1]; 1 - alpha weighs feature matching.' }),
});

/** Hyper-parameters of the BiGAN (every setting is described in docs/config.md). */
export type BiganConfig = z.output<typeof BiganConfigSchema> & { channels: number };

/** Defaults of {@link BiganConfig}. */
export const BIGAN_DEFAULTS: Readonly<Omit<BiganConfig, 'channels'>> = Object.freeze(BiganConfigSchema.omit({ channels: true }).parse({}));

/** @throws SeismoError `ERR_INVALID_OPTION` naming the offending (or unknown) field. */
export function resolveBiganConfig(partial: Partial<BiganConfig> | undefined, channels: number): BiganConfig {
  return resolveSettings('bigan', BiganConfigSchema, partial, channels);
}
