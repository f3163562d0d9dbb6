/**
 * seismo: streaming time-series anomaly detection with deep models.
 *
 * The data's way through the package: `ingest` (CSV, datasets, synthetic series) -> `window`
 * (native ring buffers) -> `infer` (onnxruntime in a worker thread) -> `score` -> events, and
 * `evaluate` for metrics. `Detector` is the facade over the streaming path; training lives in
 * `seismo/training` (TensorFlow.js), which a deployed detector does not load.
 */
export { Detector, type DetectorOptions, type AnomalyEvent, type ScoredBatch, type DetectorStats } from './detector.js';
export { SeismoError, isSeismoError, type SeismoErrorCode } from './errors.js';
export { FrameRings, attachFrameRings, type FrameRingsOptions, type OverflowPolicy, type SlotState } from './window/frame-rings.js';
export { createSession, PROVIDER_REQUESTS, type ProviderRequest, type ProviderReport, type SessionOptions } from './infer/providers.js';
export { InferenceWorker, type InferenceWorkerOptions, type InferenceOutputs } from './infer/inference-worker.js';
export { readModelDir, writeModelDir, checkGraph, type ModelDir } from './model/model-dir.js';
export { readWeights, writeWeights } from './model/model-dir.js';
export { WEIGHTS_FILE, WEIGHTS_INDEX_FILE } from './model/weights.js';
export { ManifestSchema, MODEL_FORMAT_VERSION, MODEL_FILE, MANIFEST_FILE, type Manifest, type Threshold } from './model/manifest.js';
export { scoreTable, type TableScores } from './score/score-table.js';
export { createNormalizer, normalizedToTail, tailToNormalized, type NormalizerOptions, type NormalizerState, type ScoreNormalizer } from './score/normalize.js';
export { ContextNovelty, type ContextNoveltyOptions, type ContextNoveltyState } from './score/context.js';
export { EnsembleScorer, type EnsembleOptions, type EnsembleState, type EnsembleParts, type LinearForecastOptions, type DeepScoreOptions } from './score/ensemble.js';
export { AlarmRateThreshold, type AlarmRateOptions } from './threshold/alarm-rate.js';
export * from './ingest/index.js';
export * from './evaluate/index.js';
export { type SwapResult } from './detector.js';
export * from './learn/index.js';
export * from './online/index.js';
export * from './connect/index.js';
