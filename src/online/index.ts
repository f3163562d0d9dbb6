/** Online mode: detectors that learn from the stream they score, with no model directory. */
export { OnlineDetector } from './online-detector.js';
export { ONLINE_STATE_FILE } from './saved-state.js';
export type { OnlineAnomaly, OnlineBatch, OnlineDetectorOptions, OnlineEvents, OnlineResumeOptions, OnlineRuntimeOptions, OnlineStats, OnlineUpdate } from './types.js';
export { ONLINE_KINDS, resolvePolicy, type GapPolicy, type LearningMode, type MissingPolicy, type OnlineKind, type OnlinePolicy, type ResolvedPolicy } from './policy.js';
export { ensembleScorer, likelihoodNormalizer, type NormalizerFactory, type ScorerFactory, type SeriesNormalizer, type SeriesScorer } from './normalizer.js';
export type { SeriesCounters } from './series.js';
