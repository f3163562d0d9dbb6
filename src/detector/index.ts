/** The streaming detector: facade, batching across series, model versions and events. */
export { Detector } from './detector.js';
export type { AnomalyEvent, DetectorEventName, DetectorEvents, DetectorOptions, DetectorStats, DriftEvent, ScoredBatch, SwapEvent, SwapResult } from './types.js';
