/** Settings of the PCA baseline, as one schema (see training/config.ts). */
import { z } from 'zod';
import { badConfig, baseSettings, positiveInt, resolveSettings, setting } from '../../config';
import { TRAIN_DEFAULTS } from '../../fit';

export const PcaConfigSchema = z.strictObject({
  // epochs, batchSize, learningRate and patience are unused: the fit is closed-form.
  ...baseSettings({ window: 1, ...TRAIN_DEFAULTS, epochs: 1 }),
  components: setting(positiveInt().nullable().default(null), {
    description: 'Principal components kept (k, 1..W*C). null: the smallest k whose cumulative explained variance reaches explainedVariance.',
    unit: 'components',
  }),
  explainedVariance: setting(z.number().gt(0).max(1).default(0.9), { description: 'Fraction of the training variance the kept components must explain, in (0, 1].' }),
  maxWindows: setting(positiveInt().default(20000), { description: 'Training windows the components are fitted on, at most (seeded subsample).', unit: 'windows' }),
});

/** Hyper-parameters of the PCA baseline (every setting is described in docs/config.md). */
export type PcaConfig = z.output<typeof PcaConfigSchema> & { channels: number };

/** Defaults of {@link PcaConfig}. */
export const PCA_DEFAULTS: Readonly<Omit<PcaConfig, 'channels'>> = Object.freeze(PcaConfigSchema.omit({ channels: true }).parse({}));

/** @throws SeismoError `ERR_INVALID_OPTION` naming the offending (or unknown) field. */
export function resolvePcaConfig(partial: Partial<PcaConfig> | undefined, channels: number): PcaConfig {
  const c = resolveSettings('pca', PcaConfigSchema, partial, channels);
  const D = c.window * c.channels;
  if (c.components !== null && c.components > D) {
    badConfig('pca', `components is ${c.components} but a window has only ${D} features (window ${c.window} x ${c.channels} channels)`, { components: c.components, features: D });
  }
  return c;
}
