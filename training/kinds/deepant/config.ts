/** Settings of DeepAnT, as one schema (see training/config.ts). */
import { z } from 'zod';
import { badConfig, baseSettings, positiveInt, resolveSettings, setting } from '../../config';
import { TRAIN_DEFAULTS } from '../../fit';

export const DeepAntConfigSchema = z.strictObject({
  ...baseSettings({ window: 48, ...TRAIN_DEFAULTS }),
  horizon: setting(positiveInt().default(1), { description: "Frames forecast (h) at the end of the window; the window's first W - h frames are the history (1 is the paper's).", unit: 'frames' }),
  filters: setting(z.tuple([positiveInt(), positiveInt()]).default([32, 32]), { description: "Output features of the two convolutions (the paper's [32, 32]).", unit: 'features' }),
  kernelSize: setting(positiveInt().default(2), { description: 'Taps per convolution (causal, stride 1).', unit: 'frames' }),
  poolSize: setting(positiveInt().default(2), {
    description:
      'Max-pooling size and stride after each convolution; the history must survive two poolings (W - h >= poolSize^2). Without attention, stride-1 streaming scores each new point from a per-series state (model.step.onnx): one new column per convolution and the Dense layers, the pooled columns that the window\'s zero padding reaches (1 for the defaults) recomputed from its first frames.',
    unit: 'frames',
  }),
  hidden: setting(positiveInt().default(40), { description: 'Units of the hidden Dense layer (ReLU).', unit: 'units' }),
  attention: setting(z.union([z.enum(['none', 'self', 'bahdanau']), z.boolean()]).default(false), {
    description:
      "Attention over the pooled conv features before the Dense layers: 'none' (or false) is the paper's plain CNN; 'self' (or true) a residual single-head self-attention; 'bahdanau' additive attention with the last pooled step as the query, its context concatenated to the Dense input and its weights over the past steps output as `attention` [N, pooled steps] beside the score. Attention mixes every pooled step, so those models score each stride-1 window whole (no model.step.onnx).",
  }),
  attentionUnits: setting(positiveInt().default(16), { description: "Hidden units of the additive score of attention 'bahdanau' (unused otherwise).", unit: 'units' }),
});

/** Hyper-parameters of DeepAnT (every setting is described in docs/config.md). */
export type DeepAntConfig = z.output<typeof DeepAntConfigSchema> & { channels: number };

/** Defaults of {@link DeepAntConfig} (channels excepted: the data decide it). */
export const DEEPANT_DEFAULTS: Readonly<Omit<DeepAntConfig, 'channels'>> = Object.freeze(DeepAntConfigSchema.omit({ channels: true }).parse({}));

/** The attention variant of a config (`true`/`false` are the older spellings of `self`/`none`). */
export function deepAntAttention(config: Pick<DeepAntConfig, 'attention'>): 'none' | 'self' | 'bahdanau' {
  const a = config.attention;
  return a === true ? 'self' : a === false ? 'none' : a;
}

/** Hidden units of the Bahdanau attention's additive score (`attentionUnits`; 16 for a config saved before it existed). */
export function deepAntAttentionUnits(config: Partial<Pick<DeepAntConfig, 'attentionUnits'>>): number {
  return config.attentionUnits ?? 16;
}

/** Frames left after the two poolings of the history: `floor(floor((W - h) / p) / p)`. */
export function deepAntPooledLength(config: Pick<DeepAntConfig, 'window' | 'horizon' | 'poolSize'>): number {
  return Math.floor(Math.floor((config.window - config.horizon) / config.poolSize) / config.poolSize);
}

/**
 * Completes a partial config with the defaults and checks every field.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the offending (or unknown) field.
 */
export function resolveDeepAntConfig(partial: Partial<DeepAntConfig> | undefined, channels: number): DeepAntConfig {
  const resolved = resolveSettings('deepant', DeepAntConfigSchema, partial, channels);
  if (deepAntPooledLength(resolved) < 1) {
    badConfig(
      'deepant',
      `window ${resolved.window} leaves ${resolved.window - resolved.horizon} history frames, too few for two poolings of ${resolved.poolSize}; use a window of at least ${resolved.horizon + resolved.poolSize ** 2}`,
      { window: resolved.window, horizon: resolved.horizon, poolSize: resolved.poolSize },
    );
  }
  return resolved;
}
