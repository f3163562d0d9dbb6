/**
 * The Detector facade: loads a model directory, takes samples (`push`, `write`), hands complete
 * windows to the inference worker in batches and delivers the scores, in dispatch order, as
 * events. The stages live beside it: `batcher.ts` (series, rings, batches), `versions.ts` (model
 * versions, swap, rollback), `pipeline.ts` (batches in flight, delivery), `events.ts` (the event seam), `types.ts` (public shapes).
 * Why it is one file of about 400 lines: it is the public class, and what is left here is its
 * documented calls (each a check and a delegation to a stage) and the checks of its options.
 */
import { expectArrayLike, expectFloat32Array, isArrayLike, isSeismoError, SeismoError } from '../errors.js';
import type { InferenceWorker } from '../infer/inference-worker.js';
import type { ProviderReport } from '../infer/providers.js';
import { checkRuntime, type RuntimeReport } from '../infer/runtime.js';
import type { Manifest } from '../model/manifest.js';
import { type ModelDir, readModelDir, type ScoreCalibration } from '../model/model-dir.js';
import type { ThresholdRule } from '../threshold/index.js';
import { WindowBatcher } from './batcher.js';
import { DetectorEmitter } from './events.js';
import { ScoringPipeline } from './pipeline.js';
import type { DetectorEventName, DetectorEvents, DetectorOptions, DetectorStats, SwapResult } from './types.js';
import { DEFAULT_MAX_SERIES, ModelVersions, startModelWorker } from './versions.js';

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

  private readonly events = new DetectorEmitter();
  private readonly batcher: WindowBatcher;
  private readonly models: ModelVersions;
  private readonly pipeline: ScoringPipeline;
  private readonly scratch: Float32Array;
  private closed = false;
  private closing: Promise<void> | undefined;

  private constructor(model: ModelDir, worker: InferenceWorker, options: DetectorOptions) {
    const m = model.manifest;
    if (options.onBatch) this.on('batch', options.onBatch);
    if (options.onAnomaly) this.on('anomaly', options.onAnomaly);
    this.window = m.window;
    this.channels = m.channels;
    this.stride = options.stride ?? m.stride;
    this.batchSize = options.batchSize ?? defaultBatchSize(this.stride === 1 && worker.step, options.maxLatencyMs);
    const maxSeries = options.maxSeries ?? DEFAULT_MAX_SERIES;
    // From the batch size asked for, or 64: a step detector's larger default batch is many series'
    // frames, and rings sized for one series to fill it would take 13x the memory per series.
    this.capacity = options.capacity ?? Math.max(4 * this.window, this.window + 4 * (options.batchSize ?? 64) * this.stride);
    if (this.capacity < this.window + this.stride) {
      throw new SeismoError('ERR_INVALID_OPTION', `capacity ${this.capacity} must hold at least a window and a stride (${this.window + this.stride} frames)`);
    }
    // Swaps and rollbacks stay possible after a scoring failure (they are how to recover).
    const open = (): void => {
      if (this.closed) throw new SeismoError('ERR_DISPOSED', 'detector used after close()');
    };
    this.models = new ModelVersions(model, worker, options, maxSeries, open, this.events);
    this.batcher = new WindowBatcher({
      window: this.window,
      stride: this.stride,
      channels: m.channels.length,
      capacity: this.capacity,
      batchSize: this.batchSize,
      maxSeries,
      overflow: options.overflow ?? 'reject',
    });
    this.pipeline = new ScoringPipeline(this.batcher, this.models, this.events, {
      channels: this.channels,
      batchSize: this.batchSize,
      maxInFlight: options.maxInFlight ?? 2,
      topChannels: options.topChannels ?? 3,
      attribution: options.attribution,
      maxLatencyMs: options.maxLatencyMs,
    });
    this.scratch = new Float32Array(m.channels.length);
  }

  /** The live model's manifest. */
  get manifest(): Manifest {
    return this.models.live.model.manifest;
  }

  /** The execution provider of the live model's worker. */
  get provider(): ProviderReport {
    return this.models.live.worker.report;
  }

  /** What scores the live model's windows (the native scorer or onnxruntime), and why not the native one (see {@link DetectorOptions.runtime}). */
  get runtime(): RuntimeReport {
    return this.models.live.worker.runtime;
  }

  /** Turns each window's score into a decision (the live version's rule); streaming rules learn per series as they go. */
  get thresholdRule(): ThresholdRule {
    return this.models.live.rule;
  }

  /** The live model version (1 for the model loaded first). */
  get version(): number {
    return this.models.live.version;
  }

  /** The live model's directory. */
  get modelDir(): string {
    return this.models.live.model.dir;
  }

  /** The score calibration of a kept version (default: the live one); undefined when it has none. */
  calibration(version?: number): ScoreCalibration | undefined {
    return this.models.calibration(version);
  }

  /**
   * Sets the score calibration of a kept version (default: the live one), from then on used for
   * `normalizedScores` of the batches that version scores (batches already delivered keep theirs).
   * A model directory's `calibration.json` sets it when the model is loaded or swapped in.
   * @throws SeismoError `ERR_INVALID_OPTION` when the version is not kept, `ERR_MODEL_CORRUPT` on a malformed calibration.
   */
  setCalibration(calibration: ScoreCalibration, version?: number): void {
    this.models.setCalibration(calibration, version);
  }

  /** Kept model versions, oldest first, the live one last. */
  versions(): { version: number; dir: string }[] {
    return this.models.versions();
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
    return this.events.on(name, listener);
  }

  /** Whether anything listens to `name`. */
  listening(name: DetectorEventName): boolean {
    return this.events.listening(name);
  }

  /**
   * Calls the listeners of `name` in subscription order. A listener that throws is reported as an
   * `error` event (`ERR_LISTENER`) and the rest still run. An `ERR_LISTENER` nobody listens to, or
   * an `error` listener that throws, becomes a process warning rather than vanishing.
   * @internal for the detector's stages and the components that report through it (drift).
   */
  emit<K extends DetectorEventName>(name: K, ...args: Parameters<DetectorEvents[K]>): void {
    this.events.emit(name, ...args);
  }

  /**
   * Replaces the threshold rule of the live version, with no new worker and no new version: the
   * batches dispatched from now on are decided by `rule`, those already in flight by the rule
   * live when they were dispatched (as across a swap). `rule` is prepared for every series slot;
   * a streaming rule starts from what it holds. Swapping in or rolling back to another version
   * takes that version's rules again (or the `thresholdRule` option), as before.
   * @throws SeismoError `ERR_INVALID_OPTION` when `rule` is not a threshold rule, `ERR_DISPOSED` after close.
   */
  setThresholdRule(rule: ThresholdRule): void {
    this.ensureOpen();
    if (!rule || typeof rule.decide !== 'function' || typeof rule.threshold !== 'function' || typeof rule.prepare !== 'function') {
      throw new SeismoError('ERR_INVALID_OPTION', 'setThresholdRule needs a ThresholdRule (decide, threshold, prepare), e.g. thresholdFromManifest(manifest) or a SpotThreshold');
    }
    this.models.setRule(rule);
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
    const worker = await startModelWorker(model, options);
    try {
      return new Detector(model, worker, options);
    } catch (err) {
      await worker.close();
      throw err;
    }
  }

  /**
   * Pushes one sample of a series.
   * @param timestamp finite, strictly increasing per series (any unit; epoch ms by convention).
   * @param values one value per channel, in the model's channel order; each must be finite as a float32.
   * @throws SeismoError `ERR_BAD_SHAPE`, `ERR_NON_FINITE` (a NaN or infinite timestamp or value, or a
   *   value beyond the float32 range), `ERR_TIMESTAMP_ORDER`, `ERR_TOO_MANY_SERIES`,
   *   `ERR_RING_OVERFLOW` (reject policy: wait for `drain()` and push again). A sample that throws
   *   is not stored and changes nothing (a new series does not take a slot); every sample that returns is scored.
   */
  push(seriesId: string, timestamp: number, values: ArrayLike<number>): void {
    this.ensureOpen();
    expectSeriesId(seriesId);
    // The message only on failure: built for every sample, it was an allocation per sample.
    if (!isArrayLike(values)) expectArrayLike(values, `series '${seriesId}': values`);
    const scratch = this.scratch;
    const channels = scratch.length;
    if (values.length !== channels) {
      throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': sample has ${values.length} values, the model takes ${channels} (${this.channels.join(', ')})`, { seriesId });
    }
    for (let c = 0; c < channels; c++) scratch[c] = values[c]!;
    // Checked as stored (a finite double beyond the float32 range becomes Infinity): 0 * v is
    // NaN exactly when v is NaN or infinite, one branch for the whole sample; the culprit is
    // looked for only when there is one.
    let p = 0;
    for (let c = 0; c < channels; c++) p += 0 * scratch[c]!;
    if (p !== 0) {
      for (let c = 0; c < channels; c++) {
        if (!Number.isFinite(scratch[c]!)) throw nonFinite(seriesId, timestamp, this.channels[c]!, values[c]!, 'the sample was not stored');
      }
    }
    // One lookup of the series: a new one (undefined) takes its slot only once the sample passed.
    const batcher = this.batcher;
    const known = batcher.find(seriesId);
    this.checkTimestamp(seriesId, timestamp, batcher.lastTimeOf(known), -1);
    const slot = known ?? batcher.slotFor(seriesId);
    try {
      batcher.storeOne(slot, timestamp, scratch);
    } catch (err) {
      // The ring's own message speaks of slots and releases; say what a caller of push() can do.
      if (!isSeismoError(err, 'ERR_RING_OVERFLOW')) throw err;
      throw new SeismoError(
        'ERR_RING_OVERFLOW',
        `series '${seriesId}': its ring is full (${this.capacity} samples not yet scored) and push() does not wait; ` +
          'a synchronous loop over many rows never lets scoring run. Use `await detector.write(seriesId, timestamps, frames)` ' +
          '(it waits for room), or on this error `await detector.drain(seriesId)` and push the sample again; ' +
          "or raise `capacity`, or choose `overflow: 'drop-oldest'`. The sample was not stored",
        { ...err.details, seriesId, capacity: this.capacity },
        { cause: err },
      );
    }
    this.pipeline.pump();
  }

  /**
   * Pushes many samples of one series, waiting for room in its ring when scoring lags behind.
   * The whole call is validated first: on a bad sample it throws and stores none of them (and a
   * new series does not take a slot). Should scoring fail while the call waits for room, the
   * rows stored before stay stored and the error says how many (`details.stored`).
   * @param timestamps `[n]`, finite, strictly increasing and after the series' last timestamp.
   * @param frames `[n, channels]` row-major, finite.
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
    // 0 * v is NaN exactly when v is NaN or infinite: one branch-free pass over the block, and
    // the search for the culprit only when there is one (a per-record block is mostly values).
    // Four sums, so that each add need not wait for the one before (a 38-channel block of 1,024
    // records is 39k adds).
    let p0 = 0;
    let p1 = 0;
    let p2 = 0;
    let p3 = 0;
    const whole = frames.length - (frames.length % 4);
    for (let i = 0; i < whole; i += 4) {
      p0 += 0 * frames[i]!;
      p1 += 0 * frames[i + 1]!;
      p2 += 0 * frames[i + 2]!;
      p3 += 0 * frames[i + 3]!;
    }
    for (let i = whole; i < frames.length; i++) p0 += 0 * frames[i]!;
    if (p0 + p1 + p2 + p3 !== 0) {
      for (let i = 0; i < frames.length; i++) {
        if (!Number.isFinite(frames[i]!)) throw nonFinite(seriesId, timestamps[Math.floor(i / channels)]!, this.channels[i % channels]!, frames[i]!, 'nothing of this write was stored', Math.floor(i / channels));
      }
    }
    const known = this.batcher.find(seriesId);
    let last = this.batcher.lastTimeOf(known);
    for (let i = 0; i < n; i++) {
      this.checkTimestamp(seriesId, timestamps[i]!, last, i);
      last = timestamps[i]!;
    }
    const slot = known ?? this.batcher.slotFor(seriesId);
    let done = 0;
    try {
      while (done < n) {
        const room = this.batcher.room(slot);
        if (room <= 0) {
          await this.pipeline.makeRoom();
          this.ensureOpen();
          continue;
        }
        const take = Math.min(room, n - done);
        this.batcher.store(slot, timestamps, done, frames.subarray(done * channels, (done + take) * channels), take);
        this.pipeline.pump();
        done += take;
      }
    } catch (err) {
      if (done === 0 || !isSeismoError(err)) throw err;
      throw new SeismoError(err.code, `${err.message} (the first ${done} of the ${n} rows of this write were stored)`, { ...err.details, seriesId, stored: done }, { cause: err });
    }
  }

  /**
   * Waits for room, not for the whole backlog: resolves once the ring of `seriesId` (default: of
   * every series) can take a sample again, so that a push rejected with `ERR_RING_OVERFLOW` fits.
   * Each round waits for the oldest batch in flight to be delivered, which frees its frames (with
   * nothing in flight it sends the pending windows, a partial batch, first). Unlike {@link flush},
   * it neither sends every pending window nor waits for all of them to be scored.
   */
  async drain(seriesId?: string): Promise<void> {
    this.ensureOpen();
    const slot = seriesId === undefined ? undefined : this.batcher.find(seriesId);
    if (seriesId !== undefined && slot === undefined) return;
    await this.pipeline.drain(slot);
  }

  /** Scores every complete window pushed so far, partial batches included, and waits for the results. */
  async flush(): Promise<void> {
    this.ensureOpen();
    await this.pipeline.flush();
  }

  /**
   * Swaps in another model without stopping the stream. The new model's worker starts first (the
   * old one keeps scoring meanwhile); then, in one synchronous step, every window dispatched from
   * then on goes to the new version, while batches already dispatched are scored and decided by
   * the old one. Every window is scored exactly once by exactly one version, and batches are
   * delivered in dispatch order, so each series sees its versions in increasing order. The old
   * worker closes once its last batch is delivered. Announced as a `swap` event (kind `swap`).
   *
   * Threshold: without a `threshold`/`thresholdRule` option, the new version decides with the
   * rules of its own `model.json` (streaming rules start afresh); a rule given as an option stays.
   * @param model a model directory path, or one already read by `readModelDir`.
   * @returns the new version number.
   * @throws SeismoError `ERR_MODEL_MISMATCH` when its channels, window or stride differ from the
   *   live model's (nothing changes then), `ERR_MODEL_*` / `ERR_PROVIDER_UNAVAILABLE` as `load`.
   */
  async swapModel(model: string | ModelDir): Promise<SwapResult> {
    const result = await this.models.swap(model);
    this.pipeline.clearFailure();
    return result;
  }

  /**
   * Goes back to the kept version before the live one (same switch as {@link swapModel}); the
   * version rolled back from is forgotten. Announced as a `swap` event (kind `rollback`). Works
   * after a failure too (a version that cannot score): the detector then takes calls again.
   * @throws SeismoError `ERR_NO_PREVIOUS_VERSION` when no older version is kept.
   */
  async rollback(): Promise<SwapResult> {
    const result = await this.models.rollback();
    this.pipeline.clearFailure();
    return result;
  }

  /**
   * Copies the raw frames of one window (`[window, channels]` row-major) while they are still in
   * the series' ring: always true inside a `batch` listener for the windows of that batch (nothing
   * is pushed while it runs). Returns undefined when the frames were overwritten.
   */
  windowFrames(seriesId: string, start: number, out?: Float32Array): Float32Array | undefined {
    return this.batcher.windowFrames(seriesId, start, out);
  }

  /**
   * Whether the live model version scores this detector's windows through its step graph (stride
   * 1, a model with `model.step.onnx`, `stepGraph` not false): one frame per series from per-series
   * state, with the window graph's scores.
   */
  get stepGraph(): boolean {
    return this.stride === 1 && this.models.live.worker.step;
  }

  stats(): DetectorStats {
    return {
      series: this.batcher.seriesIds.length,
      framesPushed: this.batcher.framesPushed,
      windowsScored: this.pipeline.windowsScored,
      windowsDropped: this.batcher.windowsDropped,
      batches: this.pipeline.batches,
      anomalies: this.pipeline.anomalies,
      windowsFailed: this.pipeline.windowsFailed,
      workerRestarts: this.models.restarts,
      windowsStepped: this.pipeline.windowsStepped,
    };
  }

  /**
   * Flushes nothing: stops the workers and frees the rings. Pending windows are not scored.
   * Always returns, also after a worker died; a second call waits for the first to finish.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.closed = true;
      await this.pipeline.close();
      await this.models.close();
      this.batcher.dispose();
    })();
    return this.closing;
  }

  // ---- internals ----

  private ensureOpen(): void {
    if (this.closed) throw new SeismoError('ERR_DISPOSED', 'detector used after close()');
    this.pipeline.throwIfFailed();
  }

  private checkTimestamp(seriesId: string, t: number, last: number, row: number): void {
    // The hot path: nothing is built unless the timestamp is refused.
    if (Number.isFinite(t) && t > last) return;
    const where = row >= 0 ? ` (row ${row})` : '';
    const stored = row >= 0 ? 'nothing of this write was stored' : 'the sample was not stored';
    if (!Number.isFinite(t)) {
      throw new SeismoError('ERR_NON_FINITE', `series '${seriesId}': timestamp ${t}${where} is not a finite number; ${stored}`, { seriesId, ...(row >= 0 ? { row } : { timestamp: t }) });
    }
    if (!(t > last)) {
      throw new SeismoError('ERR_TIMESTAMP_ORDER', `series '${seriesId}': timestamp ${t}${where} is not after the previous one (${last}); ${stored}`, { seriesId, ...(row >= 0 ? { row } : { timestamp: t }) });
    }
  }
}

function nonFinite(seriesId: string, timestamp: number, channel: string, value: number, stored: string, row?: number): SeismoError {
  const what = Number.isFinite(value) ? `${value}, beyond the float32 range (±3.4e38)` : String(value);
  return new SeismoError('ERR_NON_FINITE', `series '${seriesId}' at ${timestamp}: channel '${channel}' is ${what}; clean, rescale or impute it before pushing (${stored})`, { seriesId, timestamp, ...(row === undefined ? {} : { row }) });
}

/**
 * The batch size when `DetectorOptions.batchSize` is not given: 64, or {@link STEP_BATCH_SIZE}
 * for a detector that streams through a step graph (stride 1) and bounds the wait with
 * `maxLatencyMs`. A step call advances each series of a batch by all its frames in it, so its
 * fixed cost is shared by more points in a larger batch (at 100 series, batch 64 gave 7.8x the
 * window graph's points/s, 1,024 20.5x: docs/benchmarks.md); without `maxLatencyMs` a partial
 * batch waits for `flush()`/`drain()`, so the default stays 64 there (at a low rate, a window
 * would wait for 1,024 others).
 */
function defaultBatchSize(stepping: boolean, maxLatencyMs: number | undefined): number {
  return stepping && maxLatencyMs !== undefined ? STEP_BATCH_SIZE : 64;
}

/** A step detector's default batch with `maxLatencyMs` (see {@link defaultBatchSize}). */
const STEP_BATCH_SIZE = 1024;

function validateOptions(o: DetectorOptions): void {
  const positiveInt = ['batchSize', 'maxSeries', 'capacity', 'maxInFlight', 'stride', 'topChannels', 'intraOpThreads', 'keepVersions'] as const;
  for (const key of positiveInt) {
    const v = o[key];
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) {
      throw new SeismoError('ERR_INVALID_OPTION', `Detector option ${key} must be a positive integer, got ${String(v)}`);
    }
  }
  checkRuntime(o.runtime);
  if (o.workerRestarts !== undefined && (!Number.isInteger(o.workerRestarts) || o.workerRestarts < 0)) {
    throw new SeismoError('ERR_INVALID_OPTION', `Detector option workerRestarts must be a non-negative integer, got ${String(o.workerRestarts)}`);
  }
  if (o.maxLatencyMs !== undefined && !(typeof o.maxLatencyMs === 'number' && Number.isFinite(o.maxLatencyMs) && o.maxLatencyMs >= 0 && o.maxLatencyMs <= 2 ** 31 - 1)) {
    throw new SeismoError('ERR_INVALID_OPTION', `Detector option maxLatencyMs must be a number of milliseconds in [0, 2^31), got ${String(o.maxLatencyMs)}`);
  }
  if (o.threshold !== undefined && !Number.isFinite(o.threshold)) {
    throw new SeismoError('ERR_INVALID_OPTION', `Detector option threshold must be a finite number, got ${o.threshold}`);
  }
  if (o.stepGraph !== undefined && typeof o.stepGraph !== 'boolean') {
    throw new SeismoError('ERR_INVALID_OPTION', `Detector option stepGraph must be true or false, got ${String(o.stepGraph)}`);
  }
}

/** A series id is a string (it keys per-series state and appears in every event). */
function expectSeriesId(seriesId: unknown): asserts seriesId is string {
  if (typeof seriesId !== 'string') throw new SeismoError('ERR_INVALID_OPTION', `a series id must be a string, got ${seriesId === null ? 'null' : typeof seriesId}`);
}
