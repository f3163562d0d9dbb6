/** Settings of the one-class SVM, as one schema (see training/config.ts). */
import { z } from 'zod';
import { baseSettings, positiveInt, resolveSettings, setting } from '../../config';
import { TRAIN_DEFAULTS } from '../../fit';

export const OcsvmConfigSchema = z.strictObject({
  // epochs, batchSize, learningRate and patience are unused (libsvm's SMO).
  ...baseSettings({ window: 1, ...TRAIN_DEFAULTS, epochs: 1 }),
  nu: setting(z.number().gt(0).max(1).default(0.1), { description: 'nu in (0, 1]: upper bound on the training outlier fraction, lower bound on the support-vector fraction.' }),
  gamma: setting(z.union([z.literal('scale'), z.number().positive()]).default('scale'), {
    description: "RBF width gamma, per squared scaled unit, or 'scale': 1 / (D * var) with var the variance of all training values (scikit-learn's rule; about 1/D on standardised data).",
  }),
  maxWindows: setting(positiveInt().default(2000), { description: 'Training windows the SVM is fitted on, at most (seeded subsample; SMO is O(n^2)).', unit: 'windows' }),
  tolerance: setting(z.number().gt(0).max(1).default(1e-3), { description: "libsvm's stopping tolerance." }),
});

/** Hyper-parameters of the one-class SVM (every setting is described in docs/config.md). */
export type OcsvmConfig = z.output<typeof OcsvmConfigSchema> & { channels: number };

/** Defaults of {@link OcsvmConfig}. */
export const OCSVM_DEFAULTS: Readonly<Omit<OcsvmConfig, 'channels'>> = Object.freeze(OcsvmConfigSchema.omit({ channels: true }).parse({}));

/** @throws SeismoError `ERR_INVALID_OPTION` naming the offending (or unknown) field. */
export function resolveOcsvmConfig(partial: Partial<OcsvmConfig> | undefined, channels: number): OcsvmConfig {
  return resolveSettings('ocsvm', OcsvmConfigSchema, partial, channels);
}
