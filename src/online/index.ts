/** Online mode: detectors that learn from the stream they score, with no model directory. */
export {
  OnlineDetector,
  ONLINE_STATE_FILE,
  type OnlineAnomaly,
  type OnlineBatch,
  type OnlineDetectorOptions,
  type OnlineEvents,
  type OnlineResumeOptions,
  type OnlineStats,
  type OnlineUpdate,
} from './online-detector.js';
export { ONLINE_KINDS, resolvePolicy, type GapPolicy, type LearningMode, type MissingPolicy, type OnlineKind, type OnlinePolicy, type ResolvedPolicy } from './policy.js';
export { likelihoodNormalizer, type NormalizerFactory, type ScorerFactory, type SeriesNormalizer, type SeriesScorer } from './normalizer.js';
export type { SeriesCounters } from './series.js';
