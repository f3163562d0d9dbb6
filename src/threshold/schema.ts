/**
 * A threshold rule as JSON (`{value, method, params}`): what `model.json` stores under
 * `thresholds` and what {@link thresholdFromJSON} rebuilds a rule from. Defined here, by the
 * stage that owns the rules; the model manifest embeds it (the manifest depends on thresholds,
 * not the other way round).
 */
import { z } from 'zod';

export const ThresholdSchema = z.object({
  /** Score at or above which a window is anomalous. */
  value: z.number(),
  /** How the value was chosen: `static`, `quantile`, `best-f1`, `spot`, ... */
  method: z.string(),
  /** Method parameters (e.g. `{ quantile: 0.995 }`). */
  params: z.record(z.string(), z.unknown()).default({}),
});

/** One threshold rule as JSON. */
export type Threshold = z.infer<typeof ThresholdSchema>;

/** The thresholds of a model: a global rule on the window score and optional per-channel rules. */
export interface ThresholdSet {
  /** Rule on the window score. */
  global: Threshold;
  /** Rule c on channel c's score, or null when the model has none. */
  channels?: Threshold[] | null;
}
