/**
 * Per-series score normalisation for the online engine: any normaliser that follows the shared
 * contract (`update(raw) -> [0, 1]`, `toJSON()` restorable) can be plugged in; the default is the
 * anomaly likelihood of `src/score/normalize.ts`.
 */
import { createNormalizer, type NormalizerOptions, type NormalizerState } from '../score/normalize.js';

/** One series' causal score normaliser (the shared `ScoreNormalizer` contract). */
export interface SeriesNormalizer {
  /** Feeds one raw score (higher = more anomalous); returns the normalised score in [0, 1]. */
  update(raw: number): number;
  /** Plain JSON that the factory restores from. */
  toJSON(): unknown;
}

/** Makes a series' normaliser, fresh or from the JSON its `toJSON` wrote. */
export type NormalizerFactory = (state?: unknown) => SeriesNormalizer;

/** The default factory: `createNormalizer(options)`, or the saved state (whose options win). */
export function likelihoodNormalizer(options: NormalizerOptions = {}): NormalizerFactory {
  return (state?: unknown) => createNormalizer(options, state as NormalizerState | undefined);
}

/**
 * A per-series scorer that sees every sample, not only the deep model's raw score: e.g. a
 * detector that learns each value's context beside the deep model (`src/score/ensemble.ts`).
 * It takes the place of the normaliser: its output is the normalised score.
 */
export interface SeriesScorer {
  /**
   * Feeds one sample of the series, in stream order (warm-up samples included) and returns its
   * normalised score in [0, 1].
   * @param frame raw values (after the missing-value policy); channel c at `frame[offset + c]`.
   * @param deepRaw the deep model's raw score of the window ending at this sample; NaN during warm-up.
   */
  update(frame: ArrayLike<number>, deepRaw: number, offset?: number): number;
  toJSON(): unknown;
}

/** Makes a series' scorer, fresh or from the JSON its `toJSON` wrote. */
export type ScorerFactory = (state?: unknown) => SeriesScorer;
