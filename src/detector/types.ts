/**
 * The Detector's public shapes: its options, what it delivers (batches, anomalies, swaps, drift)
 * and its events. No behaviour here, so every stage of src/detector/ can name them.
 */
import type { SeismoError } from '../errors.js';
import type { AttributionSource, ChannelAttributionOptions } from '../score/attribution.js';
// For the TSDoc links only (type import: no runtime cycle).
import type { ProviderRequest } from '../infer/providers.js';
import type { RuntimeRequest } from '../infer/runtime.js';
import type { ThresholdRule } from '../threshold/index.js';
import type { OverflowPolicy } from '../window/frame-rings.js';

export interface DetectorOptions {
  /** Execution provider. `auto` (default) tries CUDA, then CPU, and reports why. */
  provider?: ProviderRequest;
  /**
   * Windows per inference call. Default 64, except for a detector that streams through a step
   * graph (stride 1, see `stepGraph`) with `maxLatencyMs` set: 1,024 there. Stride-1 streaming
   * through a step graph gains from larger batches, since one call then advances each series by
   * several frames (at 100 series 1,024 gave ~20x the window graph's points/s where 64 gave ~8x,
   * docs/benchmarks.md), and `maxLatencyMs` bounds how long a window waits for such a batch to
   * fill; without it a partial batch waits for `flush()`/`drain()`, so the default stays 64. The
   * default `capacity` is computed from the batch size given here, or 64.
   */
  batchSize?: number;
  /** Most distinct series this detector serves; each gets one ring. Default 64. */
  maxSeries?: number;
  /** Frames retained per series. Default `max(4 * window, window + 4 * batchSize * stride)`, with `batchSize` as given (64 when not). */
  capacity?: number;
  /** What a full ring does (see {@link OverflowPolicy}). Default `reject`. */
  overflow?: OverflowPolicy;
  /** Batches sent to the worker before the next is held back. Default 2 (one runs, one waits). */
  maxInFlight?: number;
  /**
   * Max-latency batching, milliseconds: a complete window waits at most this long for its batch
   * to fill; then the windows pending go as a partial batch (as soon as a worker has room, so at
   * most `maxInFlight` batches are ahead of it). Bounds the time from the `write()`/`push()` that
   * completes a window to its `batch`/`anomaly` event at low rates, at the cost of smaller
   * batches (more inference calls per window). At saturation full batches go first and nothing
   * changes. The clock is a timer on the event loop (resolution ~1 ms; `0` sends partial batches
   * on the loop's next turn). Default: none, partial batches go only on `flush()`/`drain()`.
   */
  maxLatencyMs?: number;
  /** Frames between window starts. Default: the model's stride. */
  stride?: number;
  /**
   * Score at or above which a window is an anomaly (a static threshold that replaces the model's
   * stored rules). Default: the rules stored in `model.json` (global, and per channel if calibrated).
   */
  threshold?: number;
  /** A threshold rule to use instead (e.g. a streaming `SpotThreshold`); overrides `threshold`. */
  thresholdRule?: ThresholdRule;
  /** Channels named in an anomaly event, most anomalous first. Default 3. */
  topChannels?: number;
  /** Channel attribution: how fast each channel's normal error statistics follow the stream (see {@link ChannelAttributionOptions}). */
  attribution?: ChannelAttributionOptions;
  /**
   * Whether stride-1 streaming uses the model's step graph (`model.step.onnx`: DC-VAE models whose
   * window covers their receptive field, DeepAnT models without attention): each new frame is scored from per-series state instead
   * of recomputing its window, with the same scores. Default true; models without a step graph,
   * and other strides, always use the window graph.
   */
  stepGraph?: boolean;
  /** onnxruntime intra-op threads. Default 1. */
  intraOpThreads?: number;
  /**
   * What runs the model's window graph. `auto` (default): LSTM-AE models whose graph is exactly
   * what seismo exports go through the native addon's fused LSTM-AE scorer (same outputs as
   * onnxruntime within 1e-5 relative to max(1, |x|); 2.5-3x onnxruntime's windows/s on one
   * thread), when the addon loads, the provider is the CPU and the CPU has AVX2 (the scorer's
   * baseline variant is slower than onnxruntime); every other model, and every case where it
   * cannot run, through onnxruntime. `onnxruntime`: always onnxruntime. {@link Detector.runtime} says
   * which one runs and why not the native one.
   */
  runtime?: RuntimeRequest;
  /** Shorthand for `detector.on('batch', onBatch)`: called with every scored batch (all windows, anomalous or not). */
  onBatch?: (batch: ScoredBatch) => void;
  /** Shorthand for `detector.on('anomaly', onAnomaly)`: called with every window whose score reaches the threshold. */
  onAnomaly?: (event: AnomalyEvent) => void;
  /**
   * Model versions kept for {@link Detector.rollback}, the live one included. Older ones are
   * forgotten (their directories are not deleted). Default 3.
   */
  keepVersions?: number;
  /**
   * Times a version's inference worker is restarted after its thread died (a crash, an exit, out
   * of memory), its unscored windows then scored once by the new worker. Past that, or when a
   * restart fails, the version counts as unable to score (rolled back when an older one is kept,
   * else every pending and later call fails with `ERR_INFERENCE`). Default 3.
   */
  workerRestarts?: number;
}

/** What {@link Detector.swapModel} and {@link Detector.rollback} report. */
export interface SwapResult {
  /** Version now live. */
  version: number;
  /** Version that was live before. */
  previous: number;
  /** The live model's directory. */
  dir: string;
}

/** What the `swap` event reports: a {@link SwapResult} and how the switch came about. */
export interface SwapEvent extends SwapResult {
  /**
   * `swap`: {@link Detector.swapModel}; `rollback`: {@link Detector.rollback}; `auto-rollback`: the
   * detector went back by itself because the live version failed at inference (see `reason`).
   */
  kind: 'swap' | 'rollback' | 'auto-rollback';
  /** Why an `auto-rollback` happened (the failure's message). */
  reason?: string;
}

/** A drift statistic that crossed its alarm level (reported by whoever watches for drift, e.g. the online learner). */
export interface DriftEvent {
  /** The series it was seen on; absent for a statistic over all series. */
  seriesId?: string;
  /** Which statistic fired (e.g. `page-hinkley:input`). */
  statistic: string;
  /** The statistic's value when it fired. */
  value: number;
  /** Timestamp of the window that made it fire, as pushed. */
  timestamp: number;
}

/**
 * The events of a {@link Detector}, subscribed with {@link Detector.on}. Listeners run
 * synchronously, in subscription order; one that throws is reported as an `error` event (code
 * `ERR_LISTENER`) and the others still run: a listener never breaks the pipeline.
 */
export interface DetectorEvents {
  /** Every scored batch (all windows, anomalous or not), in dispatch order. */
  batch: (batch: ScoredBatch) => void;
  /** Every window whose score reaches its threshold. */
  anomaly: (event: AnomalyEvent) => void;
  /** A model version went live (swap, rollback, automatic rollback). */
  swap: (event: SwapEvent) => void;
  /** A drift statistic fired. */
  drift: (event: DriftEvent) => void;
  /** Something failed without a caller to tell: a listener threw, a batch failed, the worker died. Always coded. */
  error: (error: SeismoError) => void;
}

/** Names of the {@link DetectorEvents}. */
export type DetectorEventName = keyof DetectorEvents;

/** One anomalous window. */
export interface AnomalyEvent {
  seriesId: string;
  /** Timestamp of the window's last frame, as pushed. */
  timestamp: number;
  score: number;
  /** The score threshold in force for this series when the window was decided (NaN for rules without one). */
  threshold: number;
  /**
   * The channels this window is most about, most anomalous first, each with its share of the
   * attribution (shares of all channels sum to 1). Ranked by each channel's error against that
   * channel's own normal errors (src/score/attribution.ts), so a quiet channel that breaks
   * outranks a noisy one; by the raw `channel_score` shares while `attribution` is `raw-share`.
   */
  channels: { name: string; score: number }[];
  /** How `channels` was ranked: `channel-z` (each channel against itself) or `raw-share` (no channel statistics yet). */
  attribution: AttributionSource;
  /**
   * The model's attention weights over the window's past steps (sum 1), for models whose graph
   * outputs them (DeepAnT with attention `bahdanau`: step j covers history frames
   * `j * poolSize^2 .. (j + 1) * poolSize^2 - 1`): which part of the history the forecast leaned on.
   */
  attention?: Float32Array;
}

/** Scores of one inference call; arrays are indexed by window. */
export interface ScoredBatch {
  size: number;
  seriesIds: string[];
  /** Timestamp of each window's last frame. */
  timestamps: Float64Array;
  /** Index of each window's first frame in its series (0 = the first frame pushed). */
  starts: Float64Array;
  /** `[size]`. */
  scores: Float32Array;
  /** `[size, channels]` row-major. */
  channelScores: Float32Array;
  /** 1 where the threshold rule called the window an anomaly. */
  anomalies: Uint8Array;
  /** The score threshold in force for each window's series when it was decided. */
  thresholds: Float64Array;
  /**
   * The model version that scored every window of this batch (1 = the model loaded first; each
   * {@link Detector.swapModel} numbers the new model one higher; a rollback goes back to the
   * kept version's number).
   */
  version: number;
  /**
   * `[size]` the scores on one scale across versions: each window's robust z-score under the
   * calibration of the version that scored it (`(ln score - center) / scale`, see
   * `src/score/calibration.ts`); NaN where that version has no calibration.
   */
  normalizedScores: Float32Array;
  /**
   * `[size, channels]` row-major: each channel's attribution, higher = more to blame. With
   * `attributionSource` `channel-z`, the channel's robust z against its own normal errors
   * (`(ln e_c - center_c) / scale_c`, src/score/attribution.ts); with `raw-share`, the raw
   * `channel_score`. NaN for windows whose score is not trusted.
   */
  attribution: Float32Array;
  /** How this batch's `attribution` was computed (the same for every window of a batch). */
  attributionSource: AttributionSource;
  /** `[size, attentionSteps]` row-major: attention weights over past steps (see {@link AnomalyEvent.attention}), when the graph outputs them. */
  attention?: Float32Array;
  /** Steps per window of `attention`. */
  attentionSteps?: number;
}

/** Running totals since the detector was loaded. */
export interface DetectorStats {
  series: number;
  framesPushed: number;
  /** Windows scored and delivered (not those dropped). */
  windowsScored: number;
  /** Windows lost because drop-oldest overwrote their frames before they were scored. */
  windowsDropped: number;
  batches: number;
  anomalies: number;
  /** Windows given up because no model version could score them (reported by an `error` event). */
  windowsFailed: number;
  /** Inference workers restarted after their thread died. */
  workerRestarts: number;
  /** Windows scored through the model's step graph (see `DetectorOptions.stepGraph`); the others went through the window graph. */
  windowsStepped: number;
}
