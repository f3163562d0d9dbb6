/**
 * Per-series score normalisation for the online engine: any normaliser that follows the shared
 * contract (`update(raw) -> [0, 1]`, `toJSON()` restorable) can be plugged in; the default is the
 * anomaly likelihood of `src/score/normalize.ts`.
 */
import { SeismoError } from '../errors.js';
import { EnsembleScorer, type EnsembleOptions, type EnsembleState } from '../score/ensemble.js';
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

/** Makes a series' scorer, fresh or from the JSON its `toJSON` wrote; `scorerName` names it in logs and stats (default `custom`). */
export type ScorerFactory = ((state?: unknown) => SeriesScorer) & { scorerName?: string };

/**
 * The built-in scorer: the `ensemble` of src/score/ensemble.ts per series (each channel's value
 * levels and their succession learnt online, beside the deep model's gated normalised score).
 * Its context novelty learns its levels from the first `warmup` samples of a series (pass the
 * online policy's warm-up, so that levels are fixed when judging starts), unless a context sets
 * its own `warmup`. A saved state is restored as saved (its options win).
 * @param channels values per sample.
 * @param options the ensemble's options (see {@link EnsembleOptions}); default: its defaults.
 * @param warmup samples from which each context fixes its value range (>= 2).
 */
export function ensembleScorer(channels: number, options: EnsembleOptions = {}, warmup?: number): ScorerFactory {
  const resolved: EnsembleOptions = { ...options, contexts: (options.contexts ?? [{}]).map((c) => ({ ...(warmup === undefined ? {} : { warmup }), ...c })) };
  // Checks the options now, at creation, not at the first series.
  new EnsembleScorer(channels, resolved);
  const factory = (state?: unknown): SeriesScorer => (state === undefined ? new EnsembleScorer(channels, resolved) : EnsembleScorer.fromJSON(state as EnsembleState));
  return Object.assign(factory, { scorerName: 'ensemble' });
}

/**
 * The scorer factory that restores scorer states saved without one being passed to resume: the
 * built-in `ensemble` (its options and channel count come from the saved state). Undefined when
 * no state was saved with a scorer.
 * @throws SeismoError `ERR_INVALID_OPTION` when a state is of a scorer this library does not know
 *   (a custom factory): resume must be given the same factory.
 */
export function savedScorerFactory(states: readonly unknown[]): ScorerFactory | undefined {
  const first = states.find((s) => s !== undefined && s !== null);
  if (first === undefined) return undefined;
  const format = (first as { format?: unknown }).format;
  if (format !== 'seismo-ensemble') {
    throw new SeismoError('ERR_INVALID_OPTION', `the saved series were scored by a custom scorer (state format ${JSON.stringify(format)}): pass the same scorer factory to OnlineDetector.resume (options.scorer)`);
  }
  const saved = EnsembleScorer.fromJSON(first as EnsembleState);
  const factory = (state?: unknown): SeriesScorer => (state === undefined ? new EnsembleScorer(saved.channels, saved.options) : EnsembleScorer.fromJSON(state as EnsembleState));
  return Object.assign(factory, { scorerName: 'ensemble' });
}
