/**
 * Online mode: a detector made from a model kind and a policy, with no model directory and no
 * training file. It learns from the stream it scores.
 *
 * The way of a sample: the series' policy for missing values, disorder and gaps; then its first
 * `warmup` samples are kept aside (they fit the series' scaler and give the first training
 * windows); from then on every sample is scaled by its series' scaler and pushed into the rings of
 * the series' model, and every window (stride 1) is scored there by the live version in the
 * inference worker. Each raw score goes through the series' normaliser to a score in [0, 1]; at or
 * above the policy's threshold it is an alarm.
 *
 * Learning: scored windows far enough from every alarm (the guard) are copied into the model's
 * training buffer; each `updateEvery` admitted windows, the fine-tuning worker continues training
 * a copy of the live version on the buffer, exports it, checks its ONNX parity, and the new
 * version is swapped in while the stream goes on (each window is scored once, by one version).
 * The first fit runs on the first series' warm-up windows, from fresh weights; samples that
 * arrive meanwhile wait in their series' queue (nothing is dropped).
 *
 * One model serves every series of the same shape (`sharing: 'shared'`): the graph's scaler is the
 * identity and each series brings its own scaler, normaliser and guard state. `per-series` gives
 * every series a model and an inference worker of its own (for a few series).
 *
 * The stages live beside this facade, in the order a sample meets them: `sample-gate.ts` (disorder,
 * missing values, gaps), `feeder.ts` (warm-up, scaling, queues and the pump into the rings),
 * `judge-batch.ts` (normalised scores, alarms, the guard), `training-buffer.ts`, `online-model.ts`
 * (a model, its detector and one update), `saved-state.ts` (`online.json`), `types.ts` (public
 * shapes). What stays here, and why it is one file of about 500 lines: the engine's lifecycle
 * (create, resume, save, close), its public calls (push, write, drain, flush, idle, stats) and when
 * updates start and what waits for them — the waits in `drain`/`flush`/`relieve` and the update
 * tracking read the same few fields of every model, and split apart they would have to be exposed
 * to each other.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Detector, ScoredBatch } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import { FineTuner } from '../learn/finetuner.js';
import { readModelDir, readWeights } from '../model/model-dir.js';
import { AlarmRateThreshold } from '../threshold/alarm-rate.js';
import { FixedThreshold } from '../threshold/fixed.js';
import type { ThresholdRule } from '../threshold/rule.js';
import { SampleFeeder } from './feeder.js';
import { channelNames, defaultWindow, initialModel, makeWorkDir, type OnlineModel } from './initial-model.js';
import { judgeBatch, type JudgeContext } from './judge-batch.js';
import { likelihoodNormalizer, savedScorerFactory, type NormalizerFactory } from './normalizer.js';
import { copyLiveVersion, live, newModelGroup, startModelDetector, TuneQueue, updateModel, type ModelGroup, type UpdateContext } from './online-model.js';
import { resolvePolicy, type OnlineKind, type ResolvedPolicy } from './policy.js';
import { gateSample } from './sample-gate.js';
import { readSavedState, restoreSeries, saveSeries, writeSavedState, type SavedSeries, type SavedState, type SavedWindow } from './saved-state.js';
import { emptyCounters, SeriesState, type SeriesCounters } from './series.js';
import { topChannels, topChannelsScratch, type TopChannelsScratch } from '../score/top-channels.js';
import type { OnlineDetectorOptions, OnlineEvents, OnlineResumeOptions, OnlineStats } from './types.js';


/**
 * An anomaly detector that learns online (see the file comment). Create with
 * {@link OnlineDetector.create} (fresh) or {@link OnlineDetector.resume} (from {@link save}).
 */
export class OnlineDetector {
  readonly kind: OnlineKind;
  readonly channels: readonly string[];
  readonly window: number;
  readonly policy: ResolvedPolicy;
  /** What turns the raw scores into normalised ones: `likelihood` (the default normaliser), or the scorer factory's `scorerName` (`ensemble`, else `custom`). */
  get scorerName(): string {
    return this.options.scorer ? (this.options.scorer.scorerName ?? 'custom') : 'likelihood';
  }
  private readonly config: Record<string, unknown>;
  /** Scratch of the alarms' channel ranking (made at the first alarm). */
  private topScratch: TopChannelsScratch | undefined;
  private readonly options: OnlineDetectorOptions | OnlineResumeOptions;
  private readonly normalizerFactory: NormalizerFactory;
  private readonly alarmRule: ThresholdRule;
  private readonly workDir: string;
  private readonly ownsWorkDir: boolean;
  private readonly groups: ModelGroup[] = [];
  private readonly series = new Map<string, SeriesState>();
  private readonly seriesList: SeriesState[] = [];
  private readonly listeners: { [K in keyof OnlineEvents]: Set<OnlineEvents[K]> } = { batch: new Set(), anomaly: new Set(), update: new Set(), error: new Set() };
  /** The fine-tuning worker's queue (undefined when learning is off). */
  private tunes: TuneQueue | undefined;
  private readonly seed: OnlineModel;
  private failure: Error | undefined;
  private closed = false;
  private readonly per: number;
  private readonly raw: Float32Array;
  private readonly recentDepth: number;
  /** Where the sample gate hands accepted samples: warm-up, scaling, the rings or the queues. */
  private readonly feeder: SampleFeeder;
  /** What updates need from this engine. */
  private readonly updateContext: UpdateContext;
  /** What judging a scored batch needs from this engine. */
  private readonly judge: JudgeContext;

  private constructor(init: EngineInit) {
    this.kind = init.kind;
    this.channels = init.channels;
    this.window = init.window;
    this.policy = init.policy;
    this.config = init.config;
    this.options = init.options;
    this.normalizerFactory = init.options.normalizer ?? likelihoodNormalizer();
    this.alarmRule = init.options.alarmRule ?? (this.policy.threshold !== undefined ? new FixedThreshold(this.policy.threshold, 'static', { on: 'normalised score' }) : new AlarmRateThreshold({ alarmsPer10k: this.policy.alarmsPer10k }));
    this.workDir = init.workDir;
    this.ownsWorkDir = init.ownsWorkDir;
    this.seed = init.seed;
    this.per = this.window * this.channels.length;
    this.raw = new Float32Array(this.channels.length);
    this.recentDepth = Math.ceil(this.window / this.policy.admitEvery) + 1;
    this.updateContext = {
      tunes: undefined,
      workDir: this.workDir,
      policy: this.policy,
      channels: this.channels.length,
      decided: (series, end) => this.decided(series, end),
      closed: () => this.closed,
    };
    this.feeder = new SampleFeeder(
      { groups: this.groups, closed: () => this.closed, startUpdate: (g, initial) => this.startUpdate(g, initial), startBlockingUpdate: (g) => this.startBlockingUpdate(g), fail: (err) => this.fail(err) },
      this.policy,
      this.channels.length,
      this.window,
    );
    this.judge = { series: this.series, policy: this.policy, window: this.window, alarmRule: this.alarmRule };
  }

  /**
   * A fresh online detector: builds the kind's untrained network, starts an inference worker on
   * it and the fine-tuning worker. Nothing is scored before the first fit on a warm-up.
   * @throws SeismoError `ERR_INVALID_OPTION` (kind, channels, window, policy), `ERR_LEARN` when
   *   the fine-tuning worker cannot start, `ERR_PROVIDER_UNAVAILABLE`.
   */
  static async create(options: OnlineDetectorOptions): Promise<OnlineDetector> {
    const channels = channelNames(options.channels);
    const window = options.window ?? defaultWindow(options.kind);
    if (!Number.isInteger(window) || window < 2) throw new SeismoError('ERR_INVALID_OPTION', `online window must be an integer of at least 2, got ${window}`);
    const policy = resolvePolicy(options.policy, window);
    const model = await initialModel({ kind: options.kind, channels, window, config: options.config, seed: policy.seed, backend: options.backend });
    const { workDir, owned } = makeWorkDir(options.workDir);
    const engine = new OnlineDetector({
      kind: options.kind, channels, window, policy, config: model.manifest.hyperParameters, options, workDir, ownsWorkDir: owned,
      seed: { manifest: model.manifest, onnx: model.onnx, weights: model.weights },
    });
    try {
      engine.startTuner(await FineTuner.start(model.manifest, { backend: options.backend }));
      if (policy.sharing === 'shared') await engine.attachDetector(engine.newGroup(), undefined);
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  /**
   * Loads a detector saved with {@link save} and resumes where it stopped: the models' live
   * versions and weights, each series' scaler, normaliser, guard state, counters and the last
   * `window - 1` samples (so the next sample's score is the one it would have had).
   * @throws SeismoError `ERR_MODEL_NOT_FOUND` / `ERR_MODEL_CORRUPT` for a missing or malformed directory, as {@link create}.
   */
  static async resume(dir: string, options: OnlineResumeOptions = {}): Promise<OnlineDetector> {
    const saved = readSavedState(dir);
    const policy = resolvePolicy({ ...saved.policy, ...(options.policy ?? {}) }, saved.window);
    if (policy.sharing !== saved.policy.sharing) throw new SeismoError('ERR_INVALID_OPTION', 'sharing cannot change on resume', { dir });
    const { workDir, owned } = makeWorkDir(options.workDir);
    const first = readModelDir(path.join(dir, saved.models[0]?.dir ?? 'model'));
    const weights0 = readWeights(first.dir);
    if (!weights0) throw new SeismoError('ERR_MODEL_CORRUPT', `${first.dir} has no weights`, { dir });
    const engine = new OnlineDetector({
      kind: saved.kind, channels: saved.channels, window: saved.window, policy, config: saved.config, workDir, ownsWorkDir: owned,
      // A detector saved with the built-in ensemble scorer resumes with it without being told.
      options: { ...options, scorer: options.scorer ?? savedScorerFactory(saved.series.map((s) => s.scorer)) },
      seed: { manifest: first.manifest, onnx: first.onnx, weights: weights0 },
    });
    try {
      if (policy.learning !== 'off') engine.startTuner(await FineTuner.start(first.manifest, { backend: options.backend }));
      for (const m of saved.models) {
        const g = engine.newGroup();
        await engine.attachDetector(g, path.join(dir, m.dir));
        g.updates = m.updates;
        g.rejected = m.rejected;
        g.admittedSince = m.admittedSince;
        g.pushedSince = m.pushedSince;
      }
      for (const s of saved.series) engine.restoreSeries(s);
      for (const [i, m] of saved.models.entries()) engine.restoreTraining(engine.groups[i]!, m.train);
    } catch (err) {
      await engine.close();
      throw err;
    }
    return engine;
  }

  /** Subscribes to an event; returns the unsubscribe function. A listener that throws is reported as an `error` event. */
  on<K extends keyof OnlineEvents>(name: K, listener: OnlineEvents[K]): () => void {
    this.listeners[name].add(listener);
    return () => {
      this.listeners[name].delete(listener);
    };
  }

  /** The inference detector of a model (0 with `sharing: 'shared'`): its versions, provider, raw events. */
  detector(model = 0): Detector {
    const g = this.groups[model];
    if (!g?.detector) throw new SeismoError('ERR_INVALID_OPTION', `no model ${model} is running: this detector has ${this.groups.length}`);
    return g.detector;
  }

  /** Models so far (1 with `sharing: 'shared'`, one per series with `per-series`). */
  get models(): number {
    return this.groups.length;
  }

  /**
   * Pushes one sample of a series. Missing values (NaN) and gaps follow the policy. Scoring is
   * asynchronous: results arrive through `on('batch')` / `on('anomaly')`; `flush()` scores what is pending.
   * @param timestamp increasing per series (any unit; epoch ms by convention).
   * @param values one value per channel, in {@link channels} order; NaN where missing.
   * @throws SeismoError `ERR_BAD_SHAPE`, `ERR_NON_FINITE` (`missing: 'error'`), `ERR_STREAM_GAP`
   *   (`gaps: 'error'`), `ERR_TIMESTAMP_ORDER` (`disorder: 'error'`), `ERR_TOO_MANY_SERIES`,
   *   `ERR_INVALID_OPTION` (more than `maxModels` series with a model each). A sample that throws is not stored.
   */
  push(seriesId: string, timestamp: number, values: ArrayLike<number>): void {
    this.ensureOpen();
    if (values.length !== this.channels.length) {
      throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': sample has ${values.length} values, the detector takes ${this.channels.length} (${this.channels.join(', ')})`, { seriesId });
    }
    const s = this.series.get(seriesId) ?? this.addSeries(seriesId);
    gateSample(s, this.policy, timestamp, values, 0, this.raw, this.feeder);
  }

  /**
   * Pushes many samples of one series (`frames` `[n, channels]` row-major, NaN where missing),
   * then waits while more than `maxQueued` samples wait in queues (back-pressure for a fast reader).
   * Samples are validated one by one as by {@link push}: on a throw, the samples before it are stored.
   */
  async write(seriesId: string, timestamps: ArrayLike<number>, frames: ArrayLike<number>, maxQueued = 4096): Promise<void> {
    this.ensureOpen();
    const C = this.channels.length;
    if (frames.length !== timestamps.length * C) {
      throw new SeismoError('ERR_BAD_SHAPE', `series '${seriesId}': ${frames.length} values for ${timestamps.length} timestamps of ${C} channels`, { seriesId });
    }
    const s = this.series.get(seriesId) ?? this.addSeries(seriesId);
    for (let i = 0; i < timestamps.length; i++) {
      gateSample(s, this.policy, timestamps[i]!, frames, i * C, this.raw, this.feeder);
      if (s.queueCount > maxQueued) await this.relieve(s);
    }
  }

  /**
   * Back-pressure for a reader that pushes faster than scoring goes: resolves once at most
   * `maxQueued` samples wait in series queues (or none can move: a model is still being fitted
   * and nothing else waits).
   */
  async drain(maxQueued = 4096): Promise<void> {
    this.ensureOpen();
    for (;;) {
      let queued = 0;
      for (const s of this.feeder.pending) queued += s.queueCount;
      if (queued <= maxQueued) return;
      const held = this.groups.filter((g) => !g.trained || g.hold);
      this.feeder.schedulePump();
      await this.feeder.pumping;
      this.throwIfFailed();
      const waiting = held.map((g) => g.updating).filter((u): u is Promise<void> => u !== undefined);
      if (waiting.length > 0) await Promise.all(waiting);
      else if (held.length > 0 && held.every((g) => !g.trained)) {
        await this.groupStarts;
        if (this.groups.every((g) => !g.trained && !g.updating)) return;
      }
      this.throwIfFailed();
    }
  }

  /** Scores every sample pushed so far (waiting for the first fit, and for updates in blocking mode). */
  async flush(): Promise<void> {
    this.ensureOpen();
    for (;;) {
      // Per-series models whose workers are still starting fit their warm-up once started.
      await this.groupStarts;
      this.feeder.schedulePump();
      await this.feeder.pumping;
      const held = this.groups.filter((g) => !g.trained || g.hold);
      if (this.feeder.pending.size > 0 && held.length > 0) {
        await Promise.all(held.map((g) => g.updating ?? Promise.resolve()));
        this.throwIfFailed();
        if (held.some((g) => !g.trained && !g.updating)) break; // no warm-up done yet: nothing can be scored
        continue;
      }
      if (this.feeder.pending.size === 0) break;
    }
    for (const g of this.groups) await g.detector?.flush();
    this.throwIfFailed();
  }

  /** Resolves when no update runs (after a `flush`, the stream's learning has caught up). */
  async idle(): Promise<void> {
    for (;;) {
      const running = this.groups.map((g) => g.updating).filter((u): u is Promise<void> => u !== undefined);
      if (running.length === 0) return;
      await Promise.all(running);
    }
  }

  stats(): OnlineStats {
    const total = emptyCounters();
    let warming = 0;
    let queued = 0;
    for (const s of this.seriesList) {
      for (const k of Object.keys(total) as (keyof SeriesCounters)[]) total[k] += s.counters[k];
      if (s.warming) warming++;
      queued += s.queueCount;
    }
    return {
      ...total,
      series: this.seriesList.length,
      warming,
      queued,
      models: this.groups.length,
      updates: this.groups.reduce((a, g) => a + g.updates, 0),
      rejectedUpdates: this.groups.reduce((a, g) => a + g.rejected, 0),
      versions: this.groups.map((g) => g.detector?.version ?? 0),
    };
  }

  /**
   * Saves everything needed to resume into `dir`: `online.json` (options, policy, per-series
   * state) and the live version of each model as a model directory (`model/`, or `models/<i>/`
   * per series) with its weights. Flushes first and waits for running updates.
   */
  async save(dir: string): Promise<void> {
    await this.flush();
    await this.idle();
    this.throwIfFailed();
    fs.mkdirSync(dir, { recursive: true });
    const models: SavedState['models'] = [];
    for (const g of this.groups) {
      const rel = this.policy.sharing === 'shared' ? 'model' : path.join('models', String(g.index));
      copyLiveVersion(g, path.join(dir, rel));
      // The whole buffer, withdrawn entries included: they hold their places in the FIFO.
      const train: SavedWindow[] = g.buffer.entries().map((e) => ({ series: e.series, end: e.end < 0 ? -1 : e.end - this.resumeOffset(this.seriesList[e.series]!), valid: e.valid, frames: Array.from(e.frames) }));
      models.push({ dir: rel, updates: g.updates, rejected: g.rejected, admittedSince: g.admittedSince, pushedSince: g.pushedSince, train });
    }
    const series: SavedSeries[] = this.seriesList.map((s) => saveSeries(s, s.warming ? 0 : this.resumeOffset(s)));
    const state: SavedState = { format: 'seismo-online', formatVersion: 1, kind: this.kind, channels: [...this.channels], window: this.window, config: this.config, policy: this.policy, models, series };
    writeSavedState(dir, state);
  }

  /** Ring frames of a series that a resumed detector does not push again (all but the last `window - 1`). */
  private resumeOffset(s: SeriesState): number {
    return s.pushed - Math.min(s.sent, this.window - 1);
  }

  /** Stops the workers (an update in progress is abandoned; pending samples are not scored: `flush()` first). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tunes?.tuner.close();
    await Promise.allSettled(this.groups.map((g) => g.updating));
    await this.feeder.pumping?.catch(() => {});
    await Promise.allSettled(this.groups.map((g) => g.detector?.close()));
    if (this.ownsWorkDir) fs.rmSync(this.workDir, { recursive: true, force: true });
  }

  // ---- series and samples ----

  private addSeries(id: string): SeriesState {
    let group = 0;
    if (this.policy.sharing === 'per-series') {
      if (this.groups.length >= this.policy.maxModels) {
        throw new SeismoError('ERR_INVALID_OPTION', `series '${id}' would need model ${this.groups.length + 1}; the policy allows ${this.policy.maxModels} (maxModels), or share one model`, { seriesId: id });
      }
      // Its model's detector starts in the background; the series queues its samples until that model is fitted.
      const g = this.newGroup();
      group = g.index;
      this.groupStarts = this.groupStarts.then(() => this.attachDetector(g, undefined)).catch((err: Error) => this.fail(err));
    } else if (this.seriesList.length >= (this.options.maxSeries ?? 1024)) {
      throw new SeismoError('ERR_TOO_MANY_SERIES', `series '${id}' would be number ${this.seriesList.length + 1}; this detector serves ${this.options.maxSeries ?? 1024}. Create it with a larger maxSeries.`, { seriesId: id });
    }
    const s = new SeriesState(id, this.seriesList.length, group, this.channels.length, this.policy.warmup, this.window, this.recentDepth, this.normalizerFactory());
    this.attachScorer(s, undefined);
    this.series.set(id, s);
    this.seriesList.push(s);
    return s;
  }

  private attachScorer(s: SeriesState, state: unknown): void {
    const factory = this.options.scorer;
    if (!factory) return;
    s.scorer = factory(state);
    s.rawFifo = new Float32Array(64 * this.channels.length);
  }

  /** Per-series models start one after another in the background. */
  private groupStarts: Promise<unknown> = Promise.resolve();

  /** While a series' queue is long: write it now, and wait until it is back under the mark or its model holds it. */
  private async relieve(s: SeriesState): Promise<void> {
    const g = this.groups[s.group]!;
    if (!g.trained || g.hold) {
      // Waiting for a fit: let it finish rather than growing the queue without bound.
      if (g.updating) await g.updating;
      else await this.groupStarts;
    }
    this.feeder.schedulePump();
    await this.feeder.pumping;
    this.throwIfFailed();
  }

  // ---- models ----

  /** A model's state with its training buffer; its detector comes with {@link attachDetector}. */
  private newGroup(): ModelGroup {
    const g = newModelGroup(this.groups.length, this.policy.trainWindows, this.per, this.seed.weights);
    this.groups.push(g);
    return g;
  }

  /**
   * Writes the starting version into the work folder and loads a detector on it: the untrained
   * network, or `from`, a saved (trained) model directory.
   */
  private async attachDetector(g: ModelGroup, from: string | undefined): Promise<void> {
    const { detector, weights } = await startModelDetector(this.workDir, g, this.seed, from, {
      provider: this.options.provider,
      batchSize: this.options.batchSize,
      maxSeries: this.policy.sharing === 'shared' ? (this.options.maxSeries ?? 1024) : 1,
      intraOpThreads: this.options.intraOpThreads,
    });
    if (this.closed) {
      await detector.close();
      return;
    }
    detector.on('batch', (batch) => this.onBatch(g, batch));
    // The detector's own failures (a listener, a batch, a worker) reach this detector's listeners.
    detector.on('error', (err) => this.emit('error', err));
    g.detector = detector;
    g.weights = weights;
    g.weightsDir = path.resolve(detector.modelDir);
    g.trained = from !== undefined;
    // A per-series model whose series finished its warm-up while the detector was starting.
    if (!g.trained && !g.updating && g.buffer.count > 0) this.startUpdate(g, true);
    else this.feeder.schedulePump();
  }

  /** True when every window that overlaps a training entry of `series` ending at `end` has been scored (the guard has decided it). */
  private decided(series: number, end: number): boolean {
    if (end < 0) return true;
    const s = this.seriesList[series];
    return s !== undefined && s.lastEnd >= end + this.window - 1;
  }

  private onBatch(g: ModelGroup, batch: ScoredBatch): void {
    const out = judgeBatch(this.judge, g, batch);
    this.emit('batch', out);
    if (this.listeners.anomaly.size > 0) {
      for (let i = 0; i < out.size; i++) {
        if (out.anomalies[i]) {
          const channels = topChannels(out.attribution, i * this.channels.length, this.channels, 3, (this.topScratch ??= topChannelsScratch(this.channels.length)));
          this.emit('anomaly', { seriesId: out.seriesIds[i]!, timestamp: out.timestamps[i]!, start: out.starts[i]!, score: out.scores[i]!, normalized: out.normalized[i]!, model: g.index, version: out.version, channels });
        }
      }
    }
    const p = this.policy;
    if (p.learning === 'background' && g.trained && !g.updating && g.admittedSince >= p.updateEvery && performance.now() >= g.nextUpdateAt) this.startUpdate(g, false);
  }

  private startBlockingUpdate(g: ModelGroup): void {
    g.hold = true;
    g.pushedSince = 0;
    const run = (async () => {
      // Every sample sent before the hold is scored by the live version first: the update sees the
      // same windows, and lands at the same stream position, in every run.
      await live(g).flush();
      await this.update(g, false);
    })();
    this.track(g, run);
  }

  private startUpdate(g: ModelGroup, initial: boolean): void {
    this.track(g, this.update(g, initial));
  }

  private track(g: ModelGroup, run: Promise<void>): void {
    const tracked = run
      .catch((err: Error) => {
        if (!this.closed) this.fail(err);
      })
      .finally(() => {
        g.updating = undefined;
        g.hold = false;
        if (!this.closed) this.feeder.schedulePump();
      });
    g.updating = tracked;
  }

  /** One update (see `updateModel`), reported as an `update` event. */
  private async update(g: ModelGroup, initial: boolean): Promise<void> {
    const record = await updateModel(this.updateContext, g, initial);
    if (record) this.emit('update', record);
  }

  // ---- resume helpers ----

  private restoreSeries(saved: SavedSeries): void {
    const C = this.channels.length;
    const W = this.window;
    const s = new SeriesState(saved.id, this.seriesList.length, saved.group, C, this.policy.warmup, W, this.recentDepth, this.normalizerFactory(saved.normalizer));
    this.attachScorer(s, saved.scorer);
    this.series.set(s.id, s);
    this.seriesList.push(s);
    const context = restoreSeries(s, saved, W);
    if (context < 0) return; // still warming up
    this.groups[s.group]!.members.push(s);
    // The context was counted towards the next blocking update before the save: not again.
    this.groups[s.group]!.pushedSince -= context;
    if (context > 0) {
      this.feeder.pending.add(s);
      this.feeder.schedulePump();
    }
  }

  /** Refills a model's training buffer in the saved order, and each series' memory of the entries it added last (for the guard). */
  private restoreTraining(g: ModelGroup, train: SavedWindow[]): void {
    for (const w of train) {
      if (w.frames.length !== this.per || !this.seriesList[w.series]) throw new SeismoError('ERR_MODEL_CORRUPT', `a saved training window of model ${g.index} does not fit this detector`);
      const idx = g.buffer.add(w.series, w.end, w.frames);
      g.buffer.setValid(idx, w.valid);
      if (w.end >= 0) {
        const s = this.seriesList[w.series]!;
        s.recentEntries[s.recentHead] = idx;
        s.recentHead = (s.recentHead + 1) % s.recentEntries.length;
      }
    }
  }

  private startTuner(tuner: FineTuner): void {
    this.tunes = new TuneQueue(tuner);
    this.updateContext.tunes = this.tunes;
  }

  // ---- events and failures ----

  private emit<K extends keyof OnlineEvents>(name: K, value: Parameters<OnlineEvents[K]>[0]): void {
    for (const listener of this.listeners[name]) {
      try {
        (listener as (v: typeof value) => void)(value);
      } catch (err) {
        if (name === 'error') continue;
        this.emit('error', err instanceof Error ? err : new Error(String(err)));
      }
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    this.emit('error', err);
  }

  private ensureOpen(): void {
    if (this.closed) throw new SeismoError('ERR_DISPOSED', 'online detector used after close()');
    this.throwIfFailed();
  }

  private throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }
}

interface EngineInit {
  kind: OnlineKind;
  channels: string[];
  window: number;
  policy: ResolvedPolicy;
  config: Record<string, unknown>;
  options: OnlineDetectorOptions | OnlineResumeOptions;
  workDir: string;
  ownsWorkDir: boolean;
  seed: OnlineModel;
}
