/**
 * seismo: streaming time-series anomaly detection with deep models.
 *
 * The package's entry points, one per stage a user calls (each a `package.json` export, for
 * `import` and `require` alike):
 * - `seismo` (this file): the {@link Detector} and its events, errors, CSV in and out, scoring a
 *   whole table, score normalisation, and online learning with an expert in the loop.
 * - `seismo/threshold`: threshold rules (fixed, SPOT, DSPOT, chains) and their tuning.
 * - `seismo/evaluate`: metrics (ROC/PR AUC, VUS, range-based, affiliation, NAB).
 * - `seismo/datasets`: NAB, KDD Cup 99, power demand loaders and the synthetic generator.
 * - `seismo/training`: training in TensorFlow.js and the ONNX export (a deployed detector does not
 *   load it).
 * - `seismo/serve`: the dashboard, HTTP ingestion and metrics as a fastify plugin or server.
 * Further stages (online mode, broker connectors) get their own entry point the
 * same way: a line in `package.json` "exports"; the ESM files, the API docs and the test that
 * imports every entry point by name all read that list.
 *
 * Everything else under src/ is internal and may change without notice.
 */

// The streaming detector.
export { Detector } from './detector/index.js';
export type { AnomalyEvent, DetectorEventName, DetectorEvents, DetectorOptions, DetectorStats, DriftEvent, ScoredBatch, SwapEvent, SwapResult } from './detector/index.js';
export { PROVIDER_REQUESTS, type ProviderReport, type ProviderRequest } from './infer/providers.js';
export { RUNTIME_REQUESTS, type RuntimeReport, type RuntimeRequest } from './infer/runtime.js';
export { ManifestSchema, type Manifest } from './model/manifest.js';
export type { ModelDir, ScoreCalibration, WeightTensor } from './model/model-dir.js';
export type { StepLayer, StepLayout } from './infer/step-state.js';
export type { ThresholdRule } from './threshold/rule.js';

// Errors: every deliberate failure is a SeismoError with a stable code.
export { isSeismoError, SeismoError, type SeismoErrorCode } from './errors.js';

// The native ring buffers under the detector (zero-copy windows of many series).
export { FrameRings, type FrameRingsOptions, type OverflowPolicy, type SlotState } from './window/frame-rings.js';
export type { RingImplementation } from './native.js';

// Data in and out: CSV in the DC-VAE convention (timestamp first, one column per channel).
export {
  alignLabels,
  parseLabelsCsv,
  parseSeriesCsv,
  readLabelsCsv,
  readSeriesCsv,
  writeSeriesCsv,
  type LabelTable,
  type ReadSeriesOptions,
  type SeriesTable,
} from './ingest/csv.js';

// Scores: a whole table through a detector, and scores on one scale.
export { scoreTable, type TableScores } from './score/score-table.js';
export { IntervalMerger, mergeIntervals, type AnomalyInterval, type IntervalOptions, type IntervalSource, type ScoreTableInput } from './score/intervals.js';
export { fitCalibration, MIN_SCALE, normalizeScores } from './score/calibration.js';
export type { AttributionSource, ChannelAttributionOptions } from './score/attribution.js';
export type { ChannelCalibration, ChannelTerm } from './score/channel-terms.js';
export { createNormalizer, normalizedToTail, tailToNormalized, type NormalizerOptions, type NormalizerState, type ScoreNormalizer } from './score/normalize.js';
export { ContextNovelty, type ContextNoveltyOptions, type ContextNoveltyState } from './score/context.js';
export { EnsembleScorer, type DeepScoreOptions, type EnsembleOptions, type EnsembleParts, type EnsembleState, type LinearForecastOptions, type ResolvedEnsembleOptions } from './score/ensemble.js';

// Online learning with an expert in the loop.
export {
  OnlineLearner,
  type DriftEvent as LearnerDriftEvent,
  type FineTuneOptions,
  type LabelOutcome,
  type LearnerStats,
  type OnlineLearnerOptions,
  type UpdateRecord,
} from './learn/online.js';
export { ExpertSimulator, type ExpertSimulatorOptions } from './learn/expert.js';
export { appendAnswers, readQueueFile, type AnswersRead, type LabelAnswer, type LabelQueue, type QueueItem, type RejectedAnswer } from './learn/label-queue.js';
export type { BufferedWindow, WindowBuffer, WindowRef } from './learn/buffers.js';
export type { QueryReason } from './learn/select.js';
export { PageHinkley, type DriftSignal, type PageHinkleyOptions } from './learn/drift.js';

// Online mode: detectors that learn from the stream they score, with no model directory.
export * from './online/index.js';
export * from './connect/index.js';
