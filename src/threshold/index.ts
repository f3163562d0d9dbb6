/**
 * Thresholds: post-processing rules that turn window scores into alarms (see ./rule.ts for the
 * interface the Detector calls), their JSON registry, and the tuning used by `seismo calibrate`.
 */
import { SeismoError } from '../errors.js';
import type { Threshold, ThresholdSet } from './schema.js';
import { AnyOfThreshold, PerChannelThreshold } from './chain.js';
import { FixedThreshold } from './fixed.js';
import { thresholdFromJSON, type ThresholdRule } from './rule.js';
// Side effect: registers spot and dspot.
import './spot.js';
// Side effect: registers alarm-rate.
import './alarm-rate.js';

export { ThresholdSchema, type Threshold, type ThresholdSet } from './schema.js';
export { registerThreshold, thresholdFromJSON, thresholdMethods, type ThresholdFactory, type ThresholdRule } from './rule.js';
export { FIXED_METHODS, FixedThreshold, quantileAboveTies, quantileThreshold } from './fixed.js';
export { AnyOfThreshold, KOfNThreshold, PerChannelThreshold, type KOfNOptions } from './chain.js';
export { DspotThreshold, SpotThreshold, type DspotOptions, type SpotInit, type SpotOptions } from './spot.js';
export { AlarmRateThreshold, type AlarmRateOptions } from './alarm-rate.js';
export { fitGpd, gpdLogLikelihood, gpdQuantile, type GpdFit } from './gpd.js';
export * from './tune.js';

/** Options of {@link thresholdFromManifest}. */
export interface ThresholdFromManifestOptions {
  /**
   * A fixed score threshold that replaces the manifest's rules altogether (global and per
   * channel), e.g. the Detector's `threshold` option or `seismo detect --threshold`.
   */
  override?: number;
}

/**
 * The decision rule a model directory asks for: `thresholds.global` on the window score, OR-ed
 * with `thresholds.channels[c]` on channel c's score when per-channel thresholds are stored
 * (DC-VAE: a window is anomalous when any channel leaves its band). `global` may itself be a
 * chain (`k-of-n`, `any-of`) or a streaming rule (`spot`, `dspot`).
 * @throws SeismoError `ERR_MODEL_CORRUPT` (unknown method, malformed params, per-channel
 *   thresholds that do not match the channels), `ERR_INVALID_OPTION` (non-finite override).
 */
export function thresholdFromManifest(manifest: { thresholds: ThresholdSet; channels?: readonly string[] }, options: ThresholdFromManifestOptions = {}): ThresholdRule {
  if (options.override !== undefined) return new FixedThreshold(options.override, 'static', { source: 'override' });
  const global = thresholdFromJSON(manifest.thresholds.global);
  const channels = manifest.thresholds.channels;
  if (channels === null || channels === undefined) return global;
  if (manifest.channels && channels.length !== manifest.channels.length) {
    throw new SeismoError(
      'ERR_MODEL_CORRUPT',
      `model.json has ${channels.length} per-channel thresholds for ${manifest.channels.length} channels (${manifest.channels.join(', ')}); recalibrate with \`seismo calibrate\``,
    );
  }
  return new AnyOfThreshold([global, new PerChannelThreshold(channels.map((c) => thresholdFromJSON(c)))]);
}

/** The inverse of {@link thresholdFromManifest}: what to write into `manifest.thresholds`. */
export function manifestThresholds(rule: ThresholdRule): { global: Threshold; channels: Threshold[] | null } {
  if (rule instanceof AnyOfThreshold && rule.steps.length === 2 && rule.steps[1] instanceof PerChannelThreshold) {
    return { global: rule.steps[0]!.toJSON(), channels: rule.steps[1].toChannelsJSON() };
  }
  return { global: rule.toJSON(), channels: null };
}
