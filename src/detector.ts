import { expectArrayLike, expectFloat32Array, isSeismoError, SeismoError } from './errors.js';
import { InferenceWorker, type InferenceOutputs } from './infer/inference-worker.js';
import type { ProviderReport, ProviderRequest } from './infer/providers.js';
import type { Manifest } from './model/manifest.js';
import { readModelDir, type ModelDir } from './model/model-dir.js';
import { checkCalibration, normalizeScore, readCalibration, type ScoreCalibration } from './learn/calibration.js';
import { thresholdFromManifest, type ThresholdRule } from './threshold/index.js';
import { FrameRings, type OverflowPolicy } from './window/frame-rings.js';

export interface DetectorOptions {
  /** Execution provider. `auto` (default) tries CUDA, then CPU, and reports why. */
  provider?: ProviderRequest;
  /** Windows per inference call. Default 64. */
  batchSize?: number;
  /** Most distinct series this detector serves; each gets one ring. Default 64. */
  maxSeries?: number;
  /** Frames retained per series. Default `max(4 * window, window + 4 * batchSize * stride)`. */
  capacity?: number;
  /** What a full ring does (see {@link OverflowPolicy}). Default `reject`. */
  overflow?: OverflowPolicy;
  /** Batches sent to the worker before the next is held back. Default 2 (one runs, one waits). */
  maxInFlight?: number;
  /** Frames between window starts. Default: the model's stride. */
  stride?: number;
  /**
   * Score at or above which a window is an anomaly (a static threshold that replaces the model's
   * stored rules). Default: the rules stored in `model.json` (global, and per channel if calibrated).
   */
  threshold?: number;
  /** A threshold rule to use instead (e.g. a streaming `SpotThreshold`); overrides `threshold`. */
  thresholdRule?: ThresholdRule;
  /** Channels named in an anomaly event, most contributing first. Default 3. */
  topChannels?: number;
  /** onnxruntime intra-op threads. Default 1. */
  intraOpThreads?: number;
  /** Shorthand for `detector.on('batch', onBatch)`: called with every scored batch (all windows, anomalous or not). */
  onBatch?: (batch: ScoredBatch) => void;
  /** Shorthand for `detector.on('anomaly', onAnomaly)`: called with every window whose score reaches the threshold. */
  onAnomaly?: (event: AnomalyEvent) => void;
  /**
   * Model versions kept for {@link Detector.rollback}, the live one included. Older ones are
   * forgotten (their directories are not deleted). Default 3.
   */
  keepVersions?: number;
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
  /** The channels that contribute most to the score, largest first. */
  channels: { name: string; score: number }[];
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
   * `src/learn/calibration.ts`); NaN where that version has no calibration.
   */
  normalizedScores: Float32Array;
}

/** Running totals since the detector was loaded. */
export interface DetectorStats {
  series: number;
  framesPushed: number;
  windowsScored: number;
  /** Windows lost because drop-oldest overwrote their frames before they were scored. */
  windowsDropped: number;
  batches: number;
  anomalies: number;
}

interface Batch {
  size: number;
  slots: Int32Array;
  starts: Float64Array;
  /** The model version live when the batch was dispatched: it scores and decides the batch. */
  model: LiveModel;
}

/** One loaded model version: its worker, its manifest and the rule that decides its scores. */
interface LiveModel {
  version: number;
  model: ModelDir;
  worker: InferenceWorker;
  rule: ThresholdRule;
  /** Batches of this version not yet delivered; its worker closes when they are done. */
  inFlight: number;
  retired: boolean;
  /** Its score calibration (for `normalizedScores`), if any. */
  calibration?: ScoreCalibration;
}

/**
 * Streaming anomaly detector over one model directory.
 *
 * Samples of many series are pushed into native ring buffers (one slot per series), cut into
 * windows, and scored in batches by onnxruntime in a worker thread that reads the rings in
 * place. Results arrive as events (`detector.on('batch' | 'anomaly' | ...)`); `flush()` scores
 * what is pending.
 */
export class Detector {
  readonly window: number;
  readonly stride: number;
  readonly channels: readonly string[];
  readonly batchSize: number;
  readonly capacity: number;

  /**
   * Listeners per event. Copy on write: `on` and its unsubscribe replace the array, so `emit`
   * iterates a stable array without copying it (a listener may unsubscribe while it runs).
   */
  private readonly listeners: { [K in DetectorEventName]: DetectorEvents[K][] } = { batch: [], anomaly: [], swap: [], drift: [], error: [] };

  private readonly rings: FrameRings;
  private live: LiveModel;
  /** Kept versions (directories), oldest first, the live one last; bounded by `keepVersions`. */
  private readonly kept: { version: number; model: ModelDir }[] = [];
  /** Score calibrations of the kept versions (read from `calibration.json` or set with {@link setCalibration}). */
  private readonly calibrations = new Map<number, ScoreCalibration>();
  private readonly keepVersions: number;
  private nextVersion = 2;
  private readonly options: DetectorOptions;
  /** Serialises swaps and rollbacks: one new worker starts at a time. */
  private swapping: Promise<unknown> = Promise.resolve();
  /** The delivery of the batch dispatched last: each batch delivers after the one before it. */
  private lastDelivery: Promise<void> = Promise.resolve();
  /** Workers of retired versions that are shutting down (awaited by `close`). */
  private readonly closing = new Set<Promise<void>>();
  private readonly maxInFlight: number;
  private readonly topChannels: number;
  private readonly slotOf = new Map<string, number>();
  private readonly seriesIds: string[] = [];
  // Per slot, as typed arrays so the hot path allocates nothing.
  private readonly written: Float64Array;
  private readonly nextStart: Float64Array;
  private readonly lastTime: Float64Array;
  private readonly times: Float64Array;
  private readonly queued: Uint8Array;
  private readonly queue: Int32Array;
  private queueHead = 0;
  private queueSize = 0;
  private pendingWindows = 0;
  private readonly scratch: Float32Array;
  private readonly inFlight: Promise<void>[] = [];
  private readonly counters: DetectorStats = { series: 0, framesPushed: 0, windowsScored: 0, windowsDropped: 0, batches: 0, anomalies: 0 };
  private failure: Error | undefined;
  private closed = false;

  private constructor(model: ModelDir, worker: InferenceWorker, options: DetectorOptions) {
    const m = model.manifest;
    this.options = options;
    this.keepVersions = options.keepVersions ?? 3;
    if (options.onBatch) this.on('batch', options.onBatch);
    if (options.onAnomaly) this.on('anomaly', options.onAnomaly);
    this.window = m.window;
    this.channels = m.channels;
    this.stride = options.stride ?? m.stride;
    this.live = { version: 1, model, worker, rule: this.ruleFor(m), inFlight: 0, retired: false };
    this.kept.push({ version: 1, model });
    const calibration = readCalibration(model.dir);
    if (calibration) this.calibrations.set(1, calibration);
    this.live.calibration = calibration;
    this.batchSize = options.batchSize ?? 64;
    this.maxInFlight = options.maxInFlight ?? 2;
    this.topChannels = options.topChannels ?? 3;
    const maxSeries = options.maxSeries ?? 64;
    this.capacity = options.capacity ?? Math.max(4 * this.window, this.window + 4 * this.batchSize * this.stride);
    if (this.capacity < this.window + this.stride) {
      throw new SeismoError('ERR_INVALID_OPTION', `capacity ${this.capacity} must hold at least a window and a stride (${this.window + this.stride} frames)`);
    }
    this.rings = new FrameRings({ channels: m.channels.length, capacity: this.capacity, slots: maxSeries, overflow: options.overflow ?? 'reject' });
    this.written = new Float64Array(maxSeries);
    this.nextStart = new Float64Array(maxSeries);
    this.lastTime = new Float64Array(maxSeries).fill(-Infinity);
    this.times = new Float64Array(maxSeries * this.capacity);
    this.queued = new Uint8Array(maxSeries);
    this.queue = new Int32Array(maxSeries);
    this.scratch = new Float32Array(m.channels.length);
    this.live.rule.prepare(maxSeries);
  }

  /** The live model's manifest. */
  get manifest(): Manifest {
    return this.live.model.manifest;
  }

  /** The execution provider of the live model's worker. */
  get provider(): ProviderReport {
    return this.live.worker.report;
  }

  /** Turns each window's score into a decision (the live version's rule); streaming rules learn per series as they go. */
  get thresholdRule(): ThresholdRule {
    return this.live.rule;
  }

  /** The live model version (1 for the model loaded first). */
  get version(): number {
    return this.live.version;
  }

  /** The live model's directory. */
  get modelDir(): string {
    return this.live.model.dir;
  }

  /** The score calibration of a kept version (default: the live one); undefined when it has none. */
  calibration(version = this.live.version): ScoreCalibration | undefined {
    return this.calibrations.get(version);
  }

  /**
   * Sets the score calibration of a kept version (default: the live one), from then on used for
   * `normalizedScores` of the batches that version scores (batches already delivered keep theirs).
   * A model directory's `calibration.json` sets it when the model is loaded or swapped in.
   * @throws SeismoError `ERR_INVALID_OPTION` when the version is not kept, `ERR_MODEL_CORRUPT` on a malformed calibration.
   */
  setCalibration(calibration: ScoreCalibration, version = this.live.version): void {
    if (!this.kept.some((k) => k.version === version)) throw new SeismoError('ERR_INVALID_OPTION', `model version ${version} is not kept`);
    const checked = checkCalibration(calibration, 'setCalibration');
    this.calibrations.set(version, checked);
    if (version === this.live.version) this.live.calibration = checked;
  }

  /** Kept model versions, oldest first, the live one last. */
  versions(): { version: number; dir: string }[] {
    return this.kept.map((k) => ({ version: k.version, dir: k.model.dir }));
  }

  /** The score threshold now in force for the first series (per series with streaming rules). */
  get threshold(): number {
    return this.thresholdRule.threshold(0);
  }

  /**
   * Subscribes to an event (see {@link DetectorEvents}). Several listeners may watch the same
   * event; none replaces another.
   * @returns a function that unsubscribes this listener (calling it again does nothing).
   * @throws SeismoError `ERR_INVALID_OPTION` for an unknown event name or a listener that is not a function.
   */
  on<K extends DetectorEventName>(name: K, listener: DetectorEvents[K]): () => void {
    const list = this.listeners[name] as DetectorEvents[K][] | undefined;
    if (!list) throw new SeismoError('ERR_INVALID_OPTION', `unknown detector event '${String(name)}'; events are ${Object.keys(this.listeners).join(', ')}`);
    if (typeof listener !== 'function') throw new SeismoError('ERR_INVALID_OPTION', `the listener of '${name}' must be a function, got ${typeof listener}`);
    (this.listeners[name] as DetectorEvents[K][]) = [...list, listener];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const now = this.listeners[name] as DetectorEvents[K][];
      const at = now.indexOf(listener);
      if (at >= 0) (this.listeners[name] as DetectorEvents[K][]) = [...now.slice(0, at), ...now.slice(at + 1)];
    };
  }

  /** Whether anything listens to `name` (lets the hot path skip building an event nobody reads). */
  listening(name: DetectorEventName): boolean {
    return this.listeners[name].length > 0;
  }

  /**
   * Calls the listeners of `name` in subscription order. A listener that throws is reported as an
   * `error` event (`ERR_LISTENER`) and the rest still run. An `error` nobody listens to, or one
   * whose listener throws, becomes a process warning rather than vanishing.
   * @internal for the detector's stages and the components that report through it (drift).
   */
  emit<K extends DetectorEventName>(name: K, ...args: Parameters<DetectorEvents[K]>): void {
    const list = this.listeners[name] as ((...a: Parameters<DetectorEvents[K]>) => void)[];
    for (let i = 0; i < list.length; i++) {
      try {
        list[i]!(...args);
      } catch (err) {
        if (name === 'error') warn(err);
        else this.emit('error', listenerError(name, err));
      }
    }
    if (name === 'error' && list.length === 0 && isSeismoError(args[0], 'ERR_LISTENER')) warn(args[0]);
  }

  /**
   * Replaces the threshold rule of the live version, with no new worker and no new version: the
   * batches delivered from now on are decided by `rule` (prepared for every series slot; a
   * streaming rule starts from what it holds). Swapping in or rolling back to another version
   * takes that version's rules again (or the `thresholdRule` option), as before.
   * @throws SeismoError `ERR_INVALID_OPTION` when `rule` is not a threshold rule, `ERR_DISPOSED` after close.
   */
  setThresholdRule(rule: ThresholdRule): void {
    this.ensureOpen();
    if (!rule || typeof rule.decide !== 'function' || typeof rule.threshold !== 'function' || typeof rule.prepare !== 'function') {
      throw new SeismoError('ERR_INVALID_OPTION', 'setThresholdRule needs a ThresholdRule (decide, threshold, prepare), e.g. thresholdFromManifest(manifest) or a SpotThreshold');
    }
    rule.prepare(this.rings.slots);
    this.live.rule = rule;
  }

  /**
   * Loads a model directory and starts the inference worker.
   * @throws SeismoError `ERR_MODEL_*` for a missing or inconsistent model directory,
   *   `ERR_PROVIDER_UNAVAILABLE` when the requested provider cannot run here.
   */
  static async load(dir: string, options: DetectorOptions = {}): Promise<Detector> {
    if (typeof dir !== 'string') throw new SeismoError('ERR_INVALID_OPTION', `Detector.load: the model directory must be a path (string), got ${dir === null ? 'null' : typeof dir}`);
    options ??= {};
    validateOptions(options);
    const model = readModelDir(dir);
    const worker = await InferenceWorker.start(model.onnx, { provider: options.provider, intraOpThreads: options.intraOpThreads });
    try {
      return new Detector(model, worker, options);
    } catch (err) {
      await worker.close();
      throw err;
    }
  }

  /**
   * Pushes one sample of a series.
   * @param timestamp strictly increasing per series (any unit; epoch ms by convention).
   * @param values one value per channel, in the model's channel order.
   * @throws SeismoError `ERR_BAD_SHAPE`, `ERR_NON_FINITE`, `ERR_TIMESTAMP_ORDER`, `ERR_TOO_MANY_SERIES`,
   *   `ERR_RING_OVERFLOW` (reject policy: wait for `drain()` and push again). A sample that throws
   *   is not stored; every sample that returns is scored.
   */
  push(seriesId: string, timestamp: number, values: ArrayLike<number>): void {
    this.ensureOpen();
    expectSeriesId(seriesId);
    expectArrayLike(values, `series '${seriesId}': values`);
    const channels = this.scratch.length;
    if (values.length !== channels) {
      throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': sample has ${values.length} values, the model takes ${channels} (${this.channels.join(', ')})`, { seriesId });
    }
    for (let c = 0; c < channels; c++) {
      const v = values[c]!;
      if (!Number.isFinite(v)) {
        throw new SeismoError('ERR_NON_FINITE', `series '${seriesId}' at ${timestamp}: channel '${this.channels[c]}' is ${v}; clean or impute it before pushing`, { seriesId, timestamp });
      }
      this.scratch[c] = v;
    }
    const slot = this.slotFor(seriesId);
    this.checkTime(seriesId, slot, timestamp);
    this.store(slot, timestamp, this.scratch, 1);
  }

  /**
   * Pushes many samples of one series, waiting for room in its ring when scoring lags behind.
   * The whole call is validated first: on a bad sample it throws and stores none of them.
   * @param timestamps `[n]`, strictly increasing and after the series' last timestamp.
   * @param frames `[n, channels]` row-major.
   */
  async write(seriesId: string, timestamps: ArrayLike<number>, frames: Float32Array): Promise<void> {
    this.ensureOpen();
    expectSeriesId(seriesId);
    expectArrayLike(timestamps, `series '${seriesId}': timestamps`);
    expectFloat32Array(frames, `series '${seriesId}': frames`);
    const channels = this.scratch.length;
    const n = timestamps.length;
    if (frames.length !== n * channels) {
      throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': ${frames.length} values for ${n} timestamps of ${channels} channels`, { seriesId });
    }
    for (let i = 0; i < frames.length; i++) {
      if (!Number.isFinite(frames[i]!)) {
        const row = Math.floor(i / channels);
        throw new SeismoError('ERR_NON_FINITE', `series '${seriesId}' at ${timestamps[row]}: channel '${this.channels[i % channels]}' is ${frames[i]}; nothing of this write was stored`, { seriesId, row });
      }
    }
    const slot = this.slotFor(seriesId);
    let last = this.lastTime[slot]!;
    for (let i = 0; i < n; i++) {
      const t = timestamps[i]!;
      if (!(t > last)) {
        throw new SeismoError('ERR_TIMESTAMP_ORDER', `series '${seriesId}': timestamp ${t} (row ${i}) is not after ${last}; nothing of this write was stored`, { seriesId, row: i });
      }
      last = t;
    }
    let done = 0;
    while (done < n) {
      const room = this.capacity - (this.written[slot]! - this.releasedOf(slot));
      if (room <= 0) {
        await this.makeRoom();
        continue;
      }
      const take = Math.min(room, n - done);
      for (let i = 0; i < take; i++) this.times[slot * this.capacity + ((this.written[slot]! + i) % this.capacity)] = timestamps[done + i]!;
      this.lastTime[slot] = timestamps[done + take - 1]!;
      this.store(slot, NaN, frames.subarray(done * channels, (done + take) * channels), take);
      done += take;
    }
  }

  /** Resolves when the in-flight batches are scored (pushes may then fit again). */
  async drain(): Promise<void> {
    while (this.inFlight.length > 0) await this.inFlight[0];
    this.throwIfFailed();
  }

  /** Scores every complete window pushed so far, partial batches included, and waits for the results. */
  async flush(): Promise<void> {
    this.ensureOpen();
    while (this.pendingWindows > 0 || this.inFlight.length > 0) {
      while (this.pendingWindows > 0 && this.inFlight.length < this.maxInFlight) this.dispatch();
      if (this.inFlight.length > 0) await this.inFlight[0];
      this.throwIfFailed();
    }
  }

  /**
   * Swaps in another model without stopping the stream. The new model's worker starts first (the
   * old one keeps scoring meanwhile); then, in one synchronous step, every window dispatched from
   * then on goes to the new version, while batches already dispatched are scored and decided by
   * the old one. Every window is scored exactly once by exactly one version, and batches are
   * delivered in dispatch order, so each series sees its versions in increasing order. The old
   * worker closes once its last batch is delivered.
   *
   * Threshold: without a `threshold`/`thresholdRule` option, the new version decides with the
   * rules of its own `model.json` (streaming rules start afresh); a rule given as an option stays.
   * @param model a model directory path, or one already read by `readModelDir`.
   * @returns the new version number.
   * @throws SeismoError `ERR_MODEL_MISMATCH` when its channels, window or stride differ from the
   *   live model's (nothing changes then), `ERR_MODEL_*` / `ERR_PROVIDER_UNAVAILABLE` as `load`.
   */
  swapModel(model: string | ModelDir): Promise<SwapResult> {
    return this.serialise(async () => {
      const next = typeof model === 'string' ? readModelDir(model) : model;
      checkCompatible(this.live.model.manifest, next.manifest);
      const result = await this.install(next, this.nextVersion);
      this.nextVersion++;
      this.kept.push({ version: result.version, model: next });
      while (this.kept.length > this.keepVersions) this.kept.shift();
      this.pruneCalibrations();
      this.emit('swap', { ...result, kind: 'swap' });
      return result;
    });
  }

  /**
   * Goes back to the kept version before the live one (same switch as {@link swapModel}); the
   * version rolled back from is forgotten.
   * @throws SeismoError `ERR_NO_PREVIOUS_VERSION` when no older version is kept.
   */
  rollback(): Promise<SwapResult> {
    return this.serialise(async () => {
      if (this.kept.length < 2) {
        throw new SeismoError('ERR_NO_PREVIOUS_VERSION', `no model version before ${this.live.version} is kept (keepVersions ${this.keepVersions})`);
      }
      const target = this.kept[this.kept.length - 2]!;
      const result = await this.install(target.model, target.version);
      this.kept.pop();
      this.pruneCalibrations();
      this.emit('swap', { ...result, kind: 'rollback' });
      return result;
    });
  }

  /**
   * Copies the raw frames of one window (`[window, channels]` row-major) while they are still in
   * the series' ring: always true inside `onBatch` for the windows of that batch (nothing is
   * pushed while it runs). Returns undefined when the frames were overwritten.
   */
  windowFrames(seriesId: string, start: number, out?: Float32Array): Float32Array | undefined {
    const slot = this.slotOf.get(seriesId);
    if (slot === undefined) return undefined;
    const end = start + this.window;
    const written = this.written[slot]!;
    if (!(start >= 0 && end <= written && start >= written - this.capacity)) return undefined;
    const view = this.rings.span(slot, start, end);
    const copy = out ?? new Float32Array(view.length);
    copy.set(view);
    return copy;
  }

  stats(): DetectorStats {
    return { ...this.counters, series: this.seriesIds.length };
  }

  /** Flushes nothing: stops the worker and frees the rings. Pending windows are not scored. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.swapping.catch(() => {});
    await Promise.allSettled(this.inFlight);
    await this.live.worker.close();
    await Promise.allSettled([...this.closing]);
    this.rings.dispose();
  }

  // ---- internals ----

  private ruleFor(m: Manifest): ThresholdRule {
    return this.options.thresholdRule ?? thresholdFromManifest(m, { override: this.options.threshold });
  }

  private retire(model: LiveModel): void {
    const closing = model.worker.close().finally(() => this.closing.delete(closing));
    this.closing.add(closing);
  }

  private serialise<T>(work: () => Promise<T>): Promise<T> {
    const run = this.swapping.catch(() => {}).then(() => {
      this.ensureOpen();
      return work();
    });
    this.swapping = run;
    return run;
  }

  /** Forgets the calibrations of versions no longer kept (batches in flight hold their own). */
  private pruneCalibrations(): void {
    const kept = new Set(this.kept.map((k) => k.version));
    for (const v of [...this.calibrations.keys()]) if (!kept.has(v)) this.calibrations.delete(v);
  }

  /** Starts `model`'s worker, then switches to it synchronously and retires the old version. */
  private async install(model: ModelDir, version: number): Promise<SwapResult> {
    const worker = await InferenceWorker.start(model.onnx, { provider: this.options.provider, intraOpThreads: this.options.intraOpThreads });
    if (this.closed) {
      await worker.close();
      throw new SeismoError('ERR_DISPOSED', 'detector closed while a model was being swapped in');
    }
    let rule: ThresholdRule;
    try {
      rule = this.ruleFor(model.manifest);
      rule.prepare(this.rings.slots);
    } catch (err) {
      await worker.close();
      throw err;
    }
    // A kept version keeps the calibration it had; a new one takes its directory's calibration.json.
    let calibration = this.calibrations.get(version);
    try {
      calibration ??= readCalibration(model.dir);
    } catch (err) {
      await worker.close();
      throw err;
    }
    if (calibration) this.calibrations.set(version, calibration);
    const old = this.live;
    // The switch: one assignment, no await between it and the next dispatch.
    this.live = { version, model, worker, rule, inFlight: 0, retired: false, calibration };
    old.retired = true;
    if (old.inFlight === 0) this.retire(old);
    return { version, previous: old.version, dir: model.dir };
  }

  private store(slot: number, timestamp: number, frames: Float32Array, count: number): void {
    const before = this.readyOf(slot);
    const written = this.rings.push(slot, frames, count);
    if (count === 1 && !Number.isNaN(timestamp)) {
      this.times[slot * this.capacity + (this.written[slot]! % this.capacity)] = timestamp;
      this.lastTime[slot] = timestamp;
    }
    this.written[slot] = written;
    this.counters.framesPushed += count;
    const ready = this.readyOf(slot);
    if (ready > before) {
      this.pendingWindows += ready - before;
      if (this.queued[slot] === 0) this.enqueue(slot);
    }
    while (this.pendingWindows >= this.batchSize && this.inFlight.length < this.maxInFlight) this.dispatch();
  }

  private readyOf(slot: number): number {
    const span = this.written[slot]! - this.window - this.nextStart[slot]!;
    return span >= 0 ? Math.floor(span / this.stride) + 1 : 0;
  }

  /** Frames of `slot` the ring may overwrite: those before the oldest window not yet scored. */
  private releasedOf(slot: number): number {
    return this.rings.state(slot).released;
  }

  private slotFor(seriesId: string): number {
    let slot = this.slotOf.get(seriesId);
    if (slot === undefined) {
      slot = this.seriesIds.length;
      if (slot >= this.rings.slots) {
        throw new SeismoError('ERR_TOO_MANY_SERIES', `series '${seriesId}' would be number ${slot + 1}; this detector serves ${this.rings.slots}. Load it with a larger maxSeries.`, { seriesId });
      }
      this.slotOf.set(seriesId, slot);
      this.seriesIds.push(seriesId);
    }
    return slot;
  }

  private checkTime(seriesId: string, slot: number, timestamp: number): void {
    if (!(timestamp > this.lastTime[slot]!)) {
      throw new SeismoError(
        'ERR_TIMESTAMP_ORDER',
        `series '${seriesId}': timestamp ${timestamp} is not after the previous one (${this.lastTime[slot]}); the sample was not stored`,
        { seriesId, timestamp },
      );
    }
  }

  private enqueue(slot: number): void {
    this.queue[(this.queueHead + this.queueSize) % this.queue.length] = slot;
    this.queueSize++;
    this.queued[slot] = 1;
  }

  /** Sends up to `batchSize` ready windows to the worker, oldest series first. */
  private dispatch(): void {
    const batch: Batch = { size: 0, slots: new Int32Array(this.batchSize), starts: new Float64Array(this.batchSize), model: this.live };
    while (batch.size < this.batchSize && this.queueSize > 0) {
      const slot = this.queue[this.queueHead]!;
      // Under drop-oldest, windows whose first frames were overwritten are gone: skip and count them.
      const oldest = this.written[slot]! - this.capacity;
      if (this.nextStart[slot]! < oldest) {
        const lost = Math.ceil((oldest - this.nextStart[slot]!) / this.stride);
        this.nextStart[slot] = this.nextStart[slot]! + lost * this.stride;
        this.counters.windowsDropped += lost;
        this.pendingWindows -= lost;
      }
      const take = Math.min(this.readyOf(slot), this.batchSize - batch.size);
      for (let i = 0; i < take; i++) {
        batch.slots[batch.size] = slot;
        batch.starts[batch.size] = this.nextStart[slot]!;
        batch.size++;
        this.nextStart[slot] = this.nextStart[slot]! + this.stride;
      }
      this.pendingWindows -= take;
      if (this.readyOf(slot) === 0) {
        this.queued[slot] = 0;
        this.queueHead = (this.queueHead + 1) % this.queue.length;
        this.queueSize--;
      }
    }
    if (batch.size === 0) return;
    // One contiguous row range of the arena covers every window of the batch: send it as a view.
    let rowStart = Infinity;
    let rowEnd = 0;
    for (let i = 0; i < batch.size; i++) {
      const row = this.rings.rowOf(batch.slots[i]!, batch.starts[i]!);
      if (row < rowStart) rowStart = row;
      if (row + this.window > rowEnd) rowEnd = row + this.window;
    }
    const starts = new BigInt64Array(batch.size);
    // Window starts are small non-negative integers: write the low 32-bit words, no BigInt per window.
    const words = new Int32Array(starts.buffer);
    for (let i = 0; i < batch.size; i++) words[2 * i] = this.rings.rowOf(batch.slots[i]!, batch.starts[i]!) - rowStart;
    const model = batch.model;
    model.inFlight++;
    const scored = model.worker.runArena(this.rings.id, rowStart, rowEnd - rowStart, starts);
    // Across a swap two workers run at once: deliver strictly in dispatch order anyway, so that
    // rules see each series in time order and ring releases only move forward.
    const previous = this.lastDelivery;
    const done = Promise.all([scored, previous])
      .then(([out]) => this.deliver(batch, out))
      .catch((err: Error) => {
        this.failure ??= err;
      })
      .finally(() => {
        model.inFlight--;
        if (model.retired && model.inFlight === 0) this.retire(model);
        this.inFlight.splice(this.inFlight.indexOf(done), 1);
        if (!this.closed && !this.failure) {
          while (this.pendingWindows >= this.batchSize && this.inFlight.length < this.maxInFlight) this.dispatch();
        }
      });
    this.lastDelivery = done;
    this.inFlight.push(done);
  }

  private deliver(batch: Batch, out: InferenceOutputs): void {
    const scores = out.score!;
    const channelScores = out.channel_score!;
    const channels = this.channels.length;
    const seriesIds = new Array<string>(batch.size);
    const timestamps = new Float64Array(batch.size);
    const anomalies = new Uint8Array(batch.size);
    const thresholds = new Float64Array(batch.size);
    const normalizedScores = new Float32Array(batch.size).fill(NaN);
    const calibration = batch.model.calibration;
    const rule = batch.model.rule;
    for (let i = 0; i < batch.size; i++) {
      const slot = batch.slots[i]!;
      const start = batch.starts[i]!;
      seriesIds[i] = this.seriesIds[slot]!;
      if (start < this.written[slot]! - this.capacity) {
        // drop-oldest overwrote this window while it was scored: its score is not trusted.
        scores[i] = NaN;
        thresholds[i] = NaN;
        this.counters.windowsDropped++;
        continue;
      }
      if (calibration) normalizedScores[i] = normalizeScore(scores[i]!, calibration);
      const last = start + this.window - 1;
      timestamps[i] = this.times[slot * this.capacity + (last % this.capacity)]!;
      // Windows of a series reach the rule once each and in time order, as streaming rules need.
      const anomalous = rule.decide(scores[i]!, channelScores, slot, i * channels);
      thresholds[i] = rule.threshold(slot);
      if (anomalous) {
        anomalies[i] = 1;
        this.counters.anomalies++;
        if (this.listeners.anomaly.length > 0) this.emit('anomaly', this.event(seriesIds[i]!, timestamps[i]!, scores[i]!, thresholds[i]!, channelScores.subarray(i * channels, (i + 1) * channels)));
      }
    }
    // Windows of one series come back in order: frames before the next window are free.
    for (let i = 0; i < batch.size; i++) {
      const slot = batch.slots[i]!;
      if (i + 1 < batch.size && batch.slots[i + 1] === slot) continue;
      this.rings.release(slot, Math.min(batch.starts[i]! + this.stride, this.written[slot]!));
    }
    this.counters.windowsScored += batch.size;
    this.counters.batches++;
    if (this.listeners.batch.length > 0) this.emit('batch', { size: batch.size, seriesIds, timestamps, starts: batch.starts.subarray(0, batch.size), scores, channelScores, anomalies, thresholds, version: batch.model.version, normalizedScores });
  }

  private event(seriesId: string, timestamp: number, score: number, threshold: number, channelScores: Float32Array): AnomalyEvent {
    const order = Array.from(channelScores.keys()).sort((a, b) => channelScores[b]! - channelScores[a]!);
    const channels = order.slice(0, this.topChannels).map((c) => ({ name: this.channels[c]!, score: channelScores[c]! }));
    return { seriesId, timestamp, score, threshold, channels };
  }

  private async makeRoom(): Promise<void> {
    if (this.inFlight.length === 0) {
      if (this.pendingWindows === 0) {
        throw new SeismoError('ERR_RING_OVERFLOW', 'ring full with no window to score: capacity is too small for the window and stride');
      }
      this.dispatch();
    }
    await this.inFlight[0];
    this.throwIfFailed();
  }

  private ensureOpen(): void {
    if (this.closed) throw new SeismoError('ERR_DISPOSED', 'detector used after close()');
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

/** A swapped-in model must cut and read windows exactly as the live one does. */
function checkCompatible(live: Manifest, next: Manifest): void {
  const differ = (what: string, a: unknown, b: unknown): never => {
    throw new SeismoError('ERR_MODEL_MISMATCH', `cannot swap in a model with another ${what}: live ${JSON.stringify(a)}, new ${JSON.stringify(b)}`, { what });
  };
  if (JSON.stringify(live.channels) !== JSON.stringify(next.channels)) differ('channel list', live.channels, next.channels);
  if (live.window !== next.window) differ('window', live.window, next.window);
  if (live.stride !== next.stride) differ('stride', live.stride, next.stride);
}

function validateOptions(o: DetectorOptions): void {
  const positiveInt = ['batchSize', 'maxSeries', 'capacity', 'maxInFlight', 'stride', 'topChannels', 'intraOpThreads', 'keepVersions'] as const;
  for (const key of positiveInt) {
    const v = o[key];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) {
      throw new SeismoError('ERR_INVALID_OPTION', `Detector option ${key} must be a positive integer, got ${String(v)}`);
    }
  }
  if (o.threshold !== undefined && !Number.isFinite(o.threshold)) {
    throw new SeismoError('ERR_INVALID_OPTION', `Detector option threshold must be a finite number, got ${o.threshold}`);
  }
}

/** A listener's exception as the `error` event reports it. */
function listenerError(event: DetectorEventName, err: unknown): SeismoError {
  const message = err instanceof Error ? err.message : String(err);
  return new SeismoError('ERR_LISTENER', `a '${event}' listener threw: ${message}; the detector carried on (fix the listener)`, { event }, { cause: err });
}

function warn(err: unknown): void {
  process.emitWarning(err instanceof Error ? err : new Error(String(err)), { code: isSeismoError(err) ? err.code : 'ERR_LISTENER' });
}

/** A series id is a string (it keys per-series state and appears in every event). */
function expectSeriesId(seriesId: unknown): asserts seriesId is string {
  if (typeof seriesId !== 'string') throw new SeismoError('ERR_INVALID_OPTION', `a series id must be a string, got ${seriesId === null ? 'null' : typeof seriesId}`);
}
