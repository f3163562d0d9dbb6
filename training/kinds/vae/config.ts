/** Settings of the dense VAE, as one schema (see training/config.ts). */
import { z } from 'zod';
import { HIDDEN_ACTIVATIONS } from '../../classic/common';
import { baseSettings, positiveInt, resolveSettings, setting, unitList } from '../../config';
import { TRAIN_DEFAULTS } from '../../fit';

export const VaeConfigSchema = z.strictObject({
  ...baseSettings({ window: 1, ...TRAIN_DEFAULTS }),
  encoderUnits: setting(unitList().default([64]), { description: "Units of the encoder's hidden Dense layers, first to last. A window is flattened to W*C features (window 1: one record).", unit: 'units' }),
  latent: setting(positiveInt().default(8), { description: 'Latent dimensions (size of mu and logvar).', unit: 'dimensions' }),
  decoderUnits: setting(unitList({ allowEmpty: true }).optional(), { description: "Units of the decoder's hidden Dense layers. Default: the encoder's mirrored.", unit: 'units' }),
  activation: setting(z.enum(HIDDEN_ACTIVATIONS).default('tanh'), { description: 'Activation of the hidden layers (heads and output are linear).' }),
  klWeight: setting(z.number().min(0).default(1), { description: "Weight of the KL term (beta-VAE's beta; 1 is the plain ELBO)." }),
});

/** Hyper-parameters of the dense VAE (every setting is described in docs/config.md). */
export type VaeConfig = z.output<typeof VaeConfigSchema> & { channels: number };

/** Defaults of {@link VaeConfig}. */
export const VAE_DEFAULTS: Readonly<Omit<VaeConfig, 'channels' | 'decoderUnits'>> = Object.freeze(VaeConfigSchema.omit({ channels: true, decoderUnits: true }).parse({}));

/** @throws SeismoError `ERR_INVALID_OPTION` naming the offending (or unknown) field. */
export function resolveVaeConfig(partial: Partial<VaeConfig> | undefined, channels: number): VaeConfig & { decoderUnits: number[] } {
  const c = resolveSettings('vae', VaeConfigSchema, partial, channels);
  return { ...c, decoderUnits: c.decoderUnits ?? [...c.encoderUnits].reverse() };
}
