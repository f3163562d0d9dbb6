/** Settings of the DC-VAE, as one schema (see training/config.ts). */
import { z } from 'zod';
import { baseSettings, positiveInt, resolveSettings, setting } from '../../config';
import { TRAIN_DEFAULTS } from '../../fit';

export const DcVaeConfigSchema = z.strictObject({
  ...baseSettings({ window: 64, ...TRAIN_DEFAULTS }),
  // 2^depth frames of dilation is already far beyond any sensible window; the cap keeps typos
  // (depth 60) from building a model that cannot run.
  depth: setting(positiveInt().max(16).default(5), {
    description:
      'Dilated causal convolutions in the encoder, and again in the decoder; dilations 1, 2, ... 2^(depth-1). The last frame\'s score reaches 1 + 2(k-1)(2^depth - 1) frames back through both (63 for the default depth 5 and kernel 2); when the window holds that many, stride-1 streaming scores each new point from a per-series state (model.step.onnx) instead of a whole window. Depth 6 (127 frames) needs window 127 for that. Depth 5 at window 64 also detected as well as or better than depth 6 on held-out synthetic series (docs/benchmarks.md).',
    unit: 'layers',
  }),
  filters: setting(positiveInt().default(32), { description: 'Output features of every dilated convolution.', unit: 'features' }),
  kernelSize: setting(positiveInt().default(2), { description: 'Taps per convolution (k); 2 is the paper\'s.', unit: 'frames' }),
  latent: setting(positiveInt().default(4), { description: 'Latent features per frame (L). Smaller than C makes a bottleneck, so the decoder cannot copy anomalies through.', unit: 'features' }),
  activation: setting(z.enum(['relu', 'tanh']).default('relu'), { description: 'Activation after every dilated convolution.' }),
  klWeight: setting(z.number().min(0).default(0.1), {
    description: 'Weight of the KL term against the NLL (1 = the plain ELBO). With a latent per frame and the KL summed over frames, 1 collapsed the posterior to the prior on our synthetic fixtures (ROC AUC 0.62) while 0.1 trained (0.90).',
  }),
  logVarBound: setting(z.number().positive().default(8), { description: 'Log-variances (of x and of z) are clipped to [-logVarBound, logVarBound], i.e. sigma within exp(+-logVarBound / 2) scaled units.' }),
  alpha: setting(z.number().positive().default(3), {
    description: "The paper's alpha: channel c of a frame is anomalous when |x_c - mu_c| > alpha * sigma_c. Stored for thresholding; training ignores it.",
    unit: 'standard deviations',
  }),
});

/** Hyper-parameters of the DC-VAE (every setting is described in docs/config.md). */
export type DcVaeConfig = z.output<typeof DcVaeConfigSchema> & { channels: number };

/** Defaults of {@link DcVaeConfig} (channels excepted: the data decide it). */
export const DC_VAE_DEFAULTS: Readonly<Omit<DcVaeConfig, 'channels'>> = Object.freeze(DcVaeConfigSchema.omit({ channels: true }).parse({}));

/**
 * Completes a partial config with the defaults and checks every field.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the offending (or unknown) field.
 */
export function resolveDcVaeConfig(partial: Partial<DcVaeConfig> | undefined, channels: number): DcVaeConfig {
  return resolveSettings('dc-vae', DcVaeConfigSchema, partial, channels);
}
