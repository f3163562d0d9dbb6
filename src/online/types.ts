/**
 * The public shapes of online mode: the options of a fresh or resumed `OnlineDetector`, and
 * what its events and `stats()` report. The engine itself is `online-detector.ts`.
 */
import type { ProviderRequest } from '../infer/providers.js';
import type { ThresholdRule } from '../threshold/rule.js';
import type { likelihoodNormalizer, NormalizerFactory, ScorerFactory } from './normalizer.js';
import type { OnlineKind, OnlinePolicy } from './policy.js';
import type { SeriesCounters } from './series.js';

/** What a running online detector is given beside its kind and policy: the same fresh or resumed. */
export interface OnlineRuntimeOptions {
  /**
   * Makes each series' score normaliser (raw score -> [0, 1]), fresh or from saved state.
   * Default: {@link likelihoodNormalizer} (`createNormalizer` of `src/score/normalize.ts`) with its defaults.
   */
  normalizer?: NormalizerFactory;
  /**
   * A per-series scorer that sees every raw sample beside the deep model's raw score (e.g. the
   * ensemble of `src/score/ensemble.ts`) and whose output is the normalised score; it replaces
   * `normalizer`. Saved and restored with the series.
   */
  scorer?: ScorerFactory;
  /**
   * The rule that turns each series' normalised scores into alarms (called with the series' index
   * as its slot). Default: `policy.threshold` as a fixed value when given, else
   * `new AlarmRateThreshold({ alarmsPer10k: policy.alarmsPer10k })`.
   */
  alarmRule?: ThresholdRule;
  /** Folder for the model versions it makes. Default: a new temporary folder, removed by `close()`. */
  workDir?: string;
  /** onnxruntime provider. Default `auto`. */
  provider?: ProviderRequest;
  /** Windows per inference call. Default 64. */
  batchSize?: number;
  /** Most series of the shared model (its rings are sized for them). Default 1024. */
  maxSeries?: number;
  /** onnxruntime intra-op threads per inference worker. Default 1. */
  intraOpThreads?: number;
  /** tfjs backend of the fine-tuning worker and the initial model (see `initBackend`). */
  backend?: string;
}

/** Options of `OnlineDetector.create`. */
export interface OnlineDetectorOptions extends OnlineRuntimeOptions {
  /** Model kind: `deepant` (forecaster), `dc-vae`, `lstm-ae`, `dense-ae`. */
  kind: OnlineKind;
  /** Channel names, in the order of the values pushed; or a count (named `c0`, `c1`, ...). */
  channels: number | readonly string[];
  /** Frames per window. Default: the kind's default (deepant 48, the others 64 or their own). */
  window?: number;
  /** Kind hyper-parameters (partial; see `seismo train`'s configs). `window` and `seed` come from here and the policy. */
  config?: Record<string, unknown>;
  /** Warm-up, learning, guard, threshold, missing values and gaps (see {@link OnlinePolicy}). */
  policy?: OnlinePolicy;
}

/** Options of `OnlineDetector.resume`: what may differ from the saved run. */
export interface OnlineResumeOptions extends OnlineRuntimeOptions {
  /** Policy fields to change (e.g. `learning: 'off'`); the others are the saved ones. */
  policy?: Partial<OnlinePolicy>;
}

/** Scores of one inference call, in the online engine's terms; arrays are indexed by window. */
export interface OnlineBatch {
  size: number;
  seriesIds: string[];
  /** Timestamp of each window's last sample: the sample the score is about. */
  timestamps: Float64Array;
  /** Each window's first frame in its series' rings (with the series id, the reference an `OnlineLearner` label takes). */
  starts: Float64Array;
  /** `[size]` raw scores (higher = more anomalous; NaN where a window could not be scored). */
  scores: Float32Array;
  /** `[size]` normalised scores in [0, 1] (the series' normaliser). */
  normalized: Float32Array;
  /** 1 where the normalised score reached the policy's threshold. */
  anomalies: Uint8Array;
  /** `[size, channels]` each channel's attribution (see the Detector's `ScoredBatch.attribution`). */
  attribution: Float32Array;
  /** The model (0 with `sharing: 'shared'`) and its version that scored the batch. */
  model: number;
  version: number;
}

/** One alarm. */
export interface OnlineAnomaly {
  seriesId: string;
  timestamp: number;
  /** The window's first frame in the series' rings: `{ seriesId, start }` labels it through an `OnlineLearner`. */
  start: number;
  score: number;
  normalized: number;
  model: number;
  version: number;
  /** The three channels the window is most about, most anomalous first, with their shares (as the Detector's `AnomalyEvent.channels`). */
  channels: { name: string; score: number }[];
}

/** One update attempt of a model. */
export interface OnlineUpdate {
  model: number;
  /** True for the first fit (from fresh weights, on the warm-up). */
  initial: boolean;
  accepted: boolean;
  /** Why it was rejected. */
  reason?: string;
  /** Version swapped in (accepted updates). */
  version?: number;
  /** Windows trained on. */
  windows: number;
  /** Mean loss per epoch. */
  losses: number[];
  /** Largest relative tfjs / onnxruntime score difference of the new version. */
  parity: number;
  seconds: number;
  /** Windows this model had scored when the update started. */
  at: number;
}

/** Events of an `OnlineDetector`. */
export interface OnlineEvents {
  batch: (batch: OnlineBatch) => void;
  anomaly: (event: OnlineAnomaly) => void;
  update: (update: OnlineUpdate) => void;
  /** A listener threw, an update failed in an unexpected way, or writing into the rings failed. */
  error: (error: Error) => void;
}

/** Running totals (counters summed over series, and the models' learning). */
export interface OnlineStats extends SeriesCounters {
  series: number;
  /** Series still warming up. */
  warming: number;
  /** Samples waiting in series queues (model being fitted, held for an update, rings full). */
  queued: number;
  models: number;
  updates: number;
  rejectedUpdates: number;
  /** Live version of each model. */
  versions: number[];
}
