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
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector, type ScoredBatch } from '../detector.js';
import { isSeismoError, SeismoError } from '../errors.js';
import type { ProviderRequest } from '../infer/providers.js';
import { FineTuner } from '../learn/finetuner.js';
import type { FineTuneParams } from '../learn/finetune-protocol.js';
import type { Manifest } from '../model/manifest.js';
import { readModelDir, writeModelDir } from '../model/model-dir.js';
import { readWeights, writeWeights, type WeightTensor } from '../model/weights.js';
import { loadTraining } from '../training-part.js';
import { quantile } from '../stats/quantile.js';
import type { Threshold } from '../threshold/schema.js';
import { AlarmRateThreshold } from '../threshold/alarm-rate.js';
import { FixedThreshold } from '../threshold/fixed.js';
import type { ThresholdRule } from '../threshold/rule.js';
import { identityScaler, initialModel, nextOnlineManifest } from './initial-model.js';
import { likelihoodNormalizer, type NormalizerFactory, type ScorerFactory } from './normalizer.js';
import { resolvePolicy, type OnlineKind, type OnlinePolicy, type ResolvedPolicy } from './policy.js';
import { emptyCounters, SeriesState, type SeriesCounters } from './series.js';

/** Options of {@link OnlineDetector.create}. */
export interface OnlineDetectorOptions {
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

/** Options of {@link OnlineDetector.resume}: what may differ from the saved run. */
export interface OnlineResumeOptions {
  /** Policy fields to change (e.g. `learning: 'off'`); the others are the saved ones. */
  policy?: Partial<OnlinePolicy>;
  normalizer?: NormalizerFactory;
  scorer?: ScorerFactory;
  alarmRule?: ThresholdRule;
  workDir?: string;
  provider?: ProviderRequest;
  batchSize?: number;
  maxSeries?: number;
  intraOpThreads?: number;
  backend?: string;
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

/** Events of an {@link OnlineDetector}. */
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

/** Saved by {@link OnlineDetector.save} as `online.json`. */
interface SavedState {
  format: 'seismo-online';
  formatVersion: 1;
  kind: OnlineKind;
  channels: string[];
  window: number;
  config: Record<string, unknown>;
  policy: ResolvedPolicy;
  models: { dir: string; updates: number; rejected: number; admittedSince: number; pushedSince: number; train: SavedWindow[] }[];
  series: SavedSeries[];
}

/** One entry of a training buffer, oldest first; `end` in the resumed rings' positions (-1: warm-up). */
interface SavedWindow {
  series: number;
  end: number;
  valid: boolean;
  frames: number[];
}

interface SavedSeries {
  id: string;
  group: number;
  warming: boolean;
  warmTimes?: number[];
  warmFrames?: number[];
  mean: number[];
  std: number[];
  variance: number[];
  last: number[];
  hasLast: boolean;
  lastTime: number | null;
  interval: number | null;
  normalizer: unknown;
  /** The scorer's state, with a scorer. */
  scorer?: unknown;
  /** The last `window - 1` scaled frames and their timestamps: the context of the next window. */
  contextTimes: number[];
  contextFrames: number[];
  /** Samples since the last window that reached the guard threshold (null: none). */
  sinceHot: number | null;
  /** Frames before ring frame 0 once resumed (see `SeriesState.base`). */
  base: number;
  counters: SeriesCounters;
}

export const ONLINE_STATE_FILE = 'online.json';

/** A model and everything learning needs beside it. */
interface ModelGroup {
  index: number;
  /** The version directory `weights` belong to (a version swapped in by someone else has its own). */
  weightsDir: string;
  /** Undefined while a per-series model's worker starts. */
  detector: Detector | undefined;
  weights: WeightTensor[];
  /** False until the first fit is swapped in: its series queue their samples meanwhile. */
  trained: boolean;
  /** Blocking learning: the series queue their samples while an update runs. */
  hold: boolean;
  updating: Promise<void> | undefined;
  /** Training windows, FIFO: frames `[trainWindows, W * C]`, the series index and end of each, valid flag. */
  ring: Float32Array;
  views: Float32Array[];
  ringSeries: Int32Array;
  ringEnd: Float64Array;
  ringValid: Uint8Array;
  ringHead: number;
  ringCount: number;
  admittedSince: number;
  pushedSince: number;
  /** Background learning: no update starts before this time (`performance.now()`, see `learningShare`). */
  nextUpdateAt: number;
  updates: number;
  rejected: number;
  scored: number;
  members: SeriesState[];
  nextDir: number;
}

/** Never alarms: online alarms are decided on the normalised score, per series, by the engine. */
class NoAlarm implements ThresholdRule {
  readonly method = 'online';
  prepare(): void {}
  decide(): boolean {
    return false;
  }
  threshold(): number {
    return NaN;
  }
  resetSlot(): void {}
  toJSON(): Threshold {
    return { value: 0, method: 'online', params: {} };
  }
}

/**
 * An anomaly detector that learns online (see the file comment). Create with
 * {@link OnlineDetector.create} (fresh) or {@link OnlineDetector.resume} (from {@link save}).
 */
export class OnlineDetector {
  readonly kind: OnlineKind;
  readonly channels: readonly string[];
  readonly window: number;
  readonly policy: ResolvedPolicy;
  private readonly config: Record<string, unknown>;
  private readonly options: OnlineDetectorOptions | OnlineResumeOptions;
  private readonly normalizerFactory: NormalizerFactory;
  private readonly alarmRule: ThresholdRule;
  private readonly noChannels = new Float32Array(0);
  private readonly workDir: string;
  private readonly ownsWorkDir: boolean;
  private readonly groups: ModelGroup[] = [];
  private readonly series = new Map<string, SeriesState>();
  private readonly seriesList: SeriesState[] = [];
  private readonly pending = new Set<SeriesState>();
  private readonly listeners: { [K in keyof OnlineEvents]: Set<OnlineEvents[K]> } = { batch: new Set(), anomaly: new Set(), update: new Set(), error: new Set() };
  private tuner: FineTuner | undefined;
  private tuneChain: Promise<unknown> = Promise.resolve();
  private readonly seed: OnlineModelSeed;
  private pumping: Promise<void> | undefined;
  private failure: Error | undefined;
  private closed = false;
  private readonly per: number;
  private readonly raw: Float32Array;
  private readonly scaled: Float32Array;
  private readonly alpha: number;
  private readonly recentDepth: number;

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
    this.scaled = new Float32Array(this.channels.length);
    this.alpha = this.policy.scalerHalfLife > 0 ? 1 - Math.pow(0.5, 1 / this.policy.scalerHalfLife) : 0;
    this.recentDepth = Math.ceil(this.window / this.policy.admitEvery) + 1;
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
      engine.tuner = await FineTuner.start(model.manifest, { backend: options.backend });
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
    const file = path.join(dir, ONLINE_STATE_FILE);
    if (!fs.existsSync(file)) throw new SeismoError('ERR_MODEL_NOT_FOUND', `${file} is missing: not a directory saved by an online detector`, { dir });
    let saved: SavedState;
    try {
      saved = JSON.parse(fs.readFileSync(file, 'utf8')) as SavedState;
    } catch (err) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not valid JSON: ${(err as Error).message}`, { dir });
    }
    if (saved.format !== 'seismo-online' || saved.formatVersion !== 1) throw new SeismoError('ERR_MODEL_VERSION', `${file} is not an online state of format version 1`, { dir });
    const policy = resolvePolicy({ ...saved.policy, ...(options.policy ?? {}) }, saved.window);
    if (policy.sharing !== saved.policy.sharing) throw new SeismoError('ERR_INVALID_OPTION', 'sharing cannot change on resume', { dir });
    const { workDir, owned } = makeWorkDir(options.workDir);
    const first = readModelDir(path.join(dir, saved.models[0]?.dir ?? 'model'));
    const weights0 = readWeights(first.dir);
    if (!weights0) throw new SeismoError('ERR_MODEL_CORRUPT', `${first.dir} has no weights`, { dir });
    const engine = new OnlineDetector({
      kind: saved.kind, channels: saved.channels, window: saved.window, policy, config: saved.config, options, workDir, ownsWorkDir: owned,
      seed: { manifest: first.manifest, onnx: first.onnx, weights: weights0 },
    });
    try {
      if (policy.learning !== 'off') engine.tuner = await FineTuner.start(first.manifest, { backend: options.backend });
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
    this.ingest(s, timestamp, values, 0);
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
      this.ingest(s, timestamps[i]!, frames, i * C);
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
      for (const s of this.pending) queued += s.queueCount;
      if (queued <= maxQueued) return;
      const held = this.groups.filter((g) => !g.trained || g.hold);
      this.schedulePump();
      await this.pumping;
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
      this.schedulePump();
      await this.pumping;
      const held = this.groups.filter((g) => !g.trained || g.hold);
      if (this.pending.size > 0 && held.length > 0) {
        await Promise.all(held.map((g) => g.updating ?? Promise.resolve()));
        this.throwIfFailed();
        if (held.some((g) => !g.trained && !g.updating)) break; // no warm-up done yet: nothing can be scored
        continue;
      }
      if (this.pending.size === 0) break;
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
    const W = this.window;
    const C = this.channels.length;
    const models: SavedState['models'] = [];
    for (const g of this.groups) {
      const rel = this.policy.sharing === 'shared' ? 'model' : path.join('models', String(g.index));
      const target = path.join(dir, rel);
      const current = readModelDir(live(g).modelDir);
      writeModelDir(target, current.manifest, current.onnx);
      writeWeights(target, path.resolve(current.dir) === g.weightsDir ? g.weights : (readWeights(current.dir) ?? g.weights));
      // The whole buffer, withdrawn entries included: they hold their places in the FIFO.
      const train: SavedWindow[] = [];
      for (let k = 0; k < g.ringCount; k++) {
        const idx = (g.ringHead - g.ringCount + k + g.views.length) % g.views.length;
        const owner = this.seriesList[g.ringSeries[idx]!]!;
        const end = g.ringEnd[idx]!;
        train.push({ series: owner.index, end: end < 0 ? -1 : end - this.resumeOffset(owner), valid: g.ringValid[idx] === 1, frames: Array.from(g.views[idx]!) });
      }
      models.push({ dir: rel, updates: g.updates, rejected: g.rejected, admittedSince: g.admittedSince, pushedSince: g.pushedSince, train });
    }
    const series: SavedSeries[] = this.seriesList.map((s) => {
      const tail = s.warming ? { times: [], frames: [] } : s.tail();
      return {
        id: s.id,
        group: s.group,
        warming: s.warming,
        warmTimes: s.warming ? Array.from(s.warmTimes!.subarray(0, s.warmCount)) : undefined,
        warmFrames: s.warming ? Array.from(s.warmFrames!.subarray(0, s.warmCount * C)) : undefined,
        mean: Array.from(s.mean),
        std: Array.from(s.std),
        variance: Array.from(s.variance),
        last: Array.from(s.last),
        hasLast: s.hasLast,
        lastTime: Number.isFinite(s.lastTime) ? s.lastTime : null,
        interval: Number.isFinite(s.interval) ? s.interval : null,
        normalizer: s.normalizer.toJSON(),
        scorer: s.scorer?.toJSON(),
        contextTimes: tail.times,
        contextFrames: tail.frames,
        sinceHot: Number.isFinite(s.lastHot) ? s.lastEnd - s.lastHot : null,
        base: s.base + (s.warming ? 0 : this.resumeOffset(s)),
        counters: { ...s.counters },
      };
    });
    const state: SavedState = { format: 'seismo-online', formatVersion: 1, kind: this.kind, channels: [...this.channels], window: W, config: this.config, policy: this.policy, models, series };
    const tmp = path.join(dir, `.${ONLINE_STATE_FILE}.${process.pid}.tmp`);
    fs.writeFileSync(tmp, JSON.stringify(state));
    fs.renameSync(tmp, path.join(dir, ONLINE_STATE_FILE));
  }

  /** Ring frames of a series that a resumed detector does not push again (all but the last `window - 1`). */
  private resumeOffset(s: SeriesState): number {
    return s.pushed - Math.min(s.sent, this.window - 1);
  }

  /** Stops the workers (an update in progress is abandoned; pending samples are not scored: `flush()` first). */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.tuner?.close();
    await Promise.allSettled(this.groups.map((g) => g.updating));
    await this.pumping?.catch(() => {});
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

  private ingest(s: SeriesState, timestamp: number, values: ArrayLike<number>, offset: number): void {
    const p = this.policy;
    const C = this.channels.length;
    if (!(timestamp > s.lastTime)) {
      if (p.disorder === 'skip' && Number.isFinite(timestamp)) {
        s.counters.disordered++;
        return;
      }
      throw new SeismoError('ERR_TIMESTAMP_ORDER', `series '${s.id}': timestamp ${timestamp} is not after the previous one (${s.lastTime}); the sample was not stored (policy disorder: '${p.disorder}')`, { seriesId: s.id, timestamp });
    }
    let missing = 0;
    for (let c = 0; c < C; c++) {
      const v = values[offset + c];
      if (typeof v !== 'number' || !Number.isFinite(v)) missing++;
      else this.raw[c] = v;
    }
    if (missing > 0) {
      if (p.missing === 'error') {
        throw new SeismoError('ERR_NON_FINITE', `series '${s.id}' at ${timestamp}: ${missing} missing value(s); the sample was not stored (policy missing: 'error'; 'hold' or 'skip' accept it)`, { seriesId: s.id, timestamp });
      }
      if (p.missing === 'skip' || !s.hasLast) {
        s.counters.missingSkipped++;
        return;
      }
      for (let c = 0; c < C; c++) {
        const v = values[offset + c];
        if (typeof v !== 'number' || !Number.isFinite(v)) this.raw[c] = s.last[c]!;
      }
      s.counters.missingHeld++;
    }
    if (!s.warming && s.interval > 0) {
      const step = timestamp - s.lastTime;
      if (step > p.gapFactor * s.interval) {
        const lost = Math.max(1, Math.round(step / s.interval) - 1);
        if (p.gaps === 'error') {
          throw new SeismoError('ERR_STREAM_GAP', `series '${s.id}': ${step} since the previous sample at ${s.lastTime}, about ${lost} samples missing (usual interval ${s.interval}); the sample was not stored (policy gaps: 'error'; 'ignore' or 'hold' accept it)`, { seriesId: s.id, timestamp, missing: lost });
        }
        s.counters.gaps++;
        s.counters.gapMissing += lost;
        if (p.gaps === 'hold') {
          const fill = Math.min(lost, p.maxFill);
          for (let k = 1; k <= fill; k++) {
            const t = s.lastTime + s.interval;
            if (!(t < timestamp)) break;
            // The held sample is the last one again: `accept` copies it into `last` unchanged.
            this.accept(s, t, s.last);
            s.counters.gapFilled++;
          }
        }
      }
    }
    this.accept(s, timestamp, this.raw);
  }

  private accept(s: SeriesState, timestamp: number, raw: Float32Array): void {
    const C = this.channels.length;
    s.lastTime = timestamp;
    if (raw !== s.last) s.last.set(raw);
    s.hasLast = true;
    s.counters.samples++;
    if (s.warming) {
      s.warmTimes![s.warmCount] = timestamp;
      s.warmFrames!.set(raw, s.warmCount * C);
      s.warmCount++;
      if (s.warmCount === this.policy.warmup) this.finishWarmup(s);
      return;
    }
    if (this.alpha > 0) s.adapt(raw, this.alpha);
    if (s.scorer) s.keepRaw(raw);
    s.scale(raw, this.scaled, this.policy.clip);
    this.send(s, timestamp, this.scaled);
  }

  /** Scaled sample into the model's rings, or into the series' queue when the model is not ready. */
  private send(s: SeriesState, timestamp: number, scaled: Float32Array): void {
    const g = this.groups[s.group]!;
    s.noteSent(timestamp, scaled);
    if (!g.trained || g.hold || s.queueCount > 0 || this.draining.has(s)) {
      s.enqueue(timestamp, scaled);
      this.pending.add(s);
    } else {
      try {
        live(g).push(s.id, timestamp, scaled);
        s.pushed++;
        if (this.policy.learning === 'blocking' && ++g.pushedSince >= this.policy.updateEvery * this.policy.admitEvery) this.startBlockingUpdate(g);
      } catch (err) {
        if (!isSeismoError(err, 'ERR_RING_OVERFLOW')) throw err;
        // Scoring lags behind: queue it; the pump writes it when there is room.
        s.enqueue(timestamp, scaled);
        this.pending.add(s);
        this.schedulePump();
      }
    }

  }

  /** The warm-up is complete: fit the scaler, give its windows to training, queue the context of the first scored window. */
  private finishWarmup(s: SeriesState): void {
    const W = this.window;
    const C = this.channels.length;
    const n = s.warmCount;
    s.fitScaler();
    // A scorer sees every sample in order: the warm-up ones have no deep score.
    if (s.scorer) for (let t = 0; t < n; t++) s.scorer.update(s.warmFrames!, NaN, t * C);
    const scaled = new Float32Array(n * C);
    for (let t = 0; t < n; t++) s.scale(s.warmFrames!.subarray(t * C, (t + 1) * C), scaled.subarray(t * C, (t + 1) * C), this.policy.clip);
    const g = this.groups[s.group]!;
    g.members.push(s);
    // The first fit learns from every warm-up window; later warm-ups give every admitEvery-th.
    const every = g.trained || g.updating ? this.policy.admitEvery : 1;
    for (let start = 0; start + W <= n; start += every) this.addTrainingWindow(g, s.index, -1, scaled.subarray(start * C, (start + W) * C));
    if (g.trained) g.admittedSince += Math.floor((n - W) / every) + 1;
    const times = s.warmTimes!;
    s.warming = false;
    s.warmTimes = undefined;
    s.warmFrames = undefined;
    // The last W-1 warm-up samples are the context of the first scored window (they make no window themselves).
    for (let t = n - W + 1; t < n; t++) {
      const frame = scaled.subarray(t * C, (t + 1) * C);
      s.noteSent(times[t]!, frame);
      s.enqueue(times[t]!, frame);
    }
    this.pending.add(s);
    if (!g.trained && !g.updating && g.detector) this.startUpdate(g, true);
    else this.schedulePump();
  }

  /** While a series' queue is long: write it now, and wait until it is back under the mark or its model holds it. */
  private async relieve(s: SeriesState): Promise<void> {
    const g = this.groups[s.group]!;
    if (!g.trained || g.hold) {
      // Waiting for a fit: let it finish rather than growing the queue without bound.
      if (g.updating) await g.updating;
      else await this.groupStarts;
    }
    this.schedulePump();
    await this.pumping;
    this.throwIfFailed();
  }

  // ---- the pump: queued samples into the rings ----

  private readonly draining = new Set<SeriesState>();

  private schedulePump(): void {
    if (this.pumping || this.closed) return;
    this.pumping = this.pump()
      .catch((err: Error) => this.fail(err))
      .finally(() => {
        this.pumping = undefined;
      });
  }

  private async pump(): Promise<void> {
    const C = this.channels.length;
    const p = this.policy;
    for (;;) {
      let progressed = false;
      for (const s of [...this.pending]) {
        const g = this.groups[s.group]!;
        if (!g.trained || g.hold || this.closed) continue;
        const n = s.queueCount;
        if (n === 0) {
          this.pending.delete(s);
          continue;
        }
        // Blocking learning: write up to the sample at which the next update is due, no further.
        const m = p.learning === 'blocking' ? Math.min(n, p.updateEvery * p.admitEvery - g.pushedSince) : n;
        this.draining.add(s);
        try {
          // Samples queued meanwhile are appended after these (a grown queue is a new array; the views stay valid).
          await live(g).write(s.id, s.queueTimes.subarray(0, m), s.queueFrames.subarray(0, m * C));
        } finally {
          this.draining.delete(s);
        }
        s.pushed += m;
        s.queueTimes.copyWithin(0, m, s.queueCount);
        s.queueFrames.copyWithin(0, m * C, s.queueCount * C);
        s.queueCount -= m;
        if (s.queueCount === 0) this.pending.delete(s);
        progressed = true;
        if (p.learning === 'blocking' && (g.pushedSince += m) >= p.updateEvery * p.admitEvery) this.startBlockingUpdate(g);
      }
      if (!progressed) return;
    }
  }

  // ---- models ----

  /** A model's state with its training buffer; its detector comes with {@link attachDetector}. */
  private newGroup(): ModelGroup {
    const size = this.policy.trainWindows;
    const ring = new Float32Array(size * this.per);
    const g: ModelGroup = {
      index: this.groups.length, weightsDir: '', detector: undefined, weights: this.seed.weights, trained: false, hold: false, updating: undefined,
      ring, views: Array.from({ length: size }, (_, k) => ring.subarray(k * this.per, (k + 1) * this.per)),
      ringSeries: new Int32Array(size).fill(-1), ringEnd: new Float64Array(size), ringValid: new Uint8Array(size),
      ringHead: 0, ringCount: 0, admittedSince: 0, pushedSince: 0, nextUpdateAt: 0, updates: 0, rejected: 0, scored: 0, members: [], nextDir: 1,
    };
    this.groups.push(g);
    return g;
  }

  /**
   * Writes the starting version into the work folder and loads a detector on it: the untrained
   * network, or `from`, a saved (trained) model directory.
   */
  private async attachDetector(g: ModelGroup, from: string | undefined): Promise<void> {
    const dir = path.join(this.workDir, `m${g.index}-v0`);
    let weights = this.seed.weights;
    if (from) {
      const m = readModelDir(from);
      writeModelDir(dir, m.manifest, m.onnx);
      weights = readWeights(from) ?? weights;
    } else {
      writeModelDir(dir, this.seed.manifest, this.seed.onnx);
    }
    writeWeights(dir, weights);
    const detector = await Detector.load(dir, {
      stride: 1,
      provider: this.options.provider,
      batchSize: this.options.batchSize,
      maxSeries: this.policy.sharing === 'shared' ? (this.options.maxSeries ?? 1024) : 1,
      intraOpThreads: this.options.intraOpThreads,
      thresholdRule: new NoAlarm(),
      keepVersions: 2,
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
    if (!g.trained && !g.updating && g.ringCount > 0) this.startUpdate(g, true);
    else this.schedulePump();
  }

  /** Adds one scaled window to a model's training buffer; `end` is its last frame in the rings (-1: known good, e.g. warm-up). */
  private addTrainingWindow(g: ModelGroup, series: number, end: number, frames: Float32Array): number {
    const idx = g.ringHead;
    g.views[idx]!.set(frames);
    g.ringSeries[idx] = series;
    g.ringEnd[idx] = end;
    g.ringValid[idx] = 1;
    g.ringHead = (idx + 1) % g.views.length;
    if (g.ringCount < g.views.length) g.ringCount++;
    return idx;
  }

  /** True when every window that overlaps ring entry `idx` has been scored (the guard has decided it). */
  private confirmed(g: ModelGroup, idx: number): boolean {
    const end = g.ringEnd[idx]!;
    if (end < 0) return true;
    const s = this.seriesList[g.ringSeries[idx]!];
    return s !== undefined && s.lastEnd >= end + this.window - 1;
  }

  private onBatch(g: ModelGroup, batch: ScoredBatch): void {
    const n = batch.size;
    const W = this.window;
    const p = this.policy;
    const normalized = new Float32Array(n);
    const anomalies = new Uint8Array(n);
    const learn = p.learning !== 'off';
    let s: SeriesState | undefined;
    for (let i = 0; i < n; i++) {
      const id = batch.seriesIds[i]!;
      if (s === undefined || s.id !== id) s = this.series.get(id)!;
      const raw = batch.scores[i]!;
      // A scorer sees the sample's raw frame (kept since it was sent) with the deep score, settling or not.
      const settling = s.counters.scored < p.settle;
      let z = s.scorer ? s.scorer.update(s.rawFifo!, raw, s.takeRaw()) : settling ? 0 : s.normalizer.update(raw);
      if (settling) z = 0;
      if (Number.isNaN(raw)) {
        normalized[i] = NaN;
        continue;
      }
      const start = batch.starts[i]!;
      const end = start + W - 1;
      normalized[i] = z;
      s.counters.scored++;
      s.lastEnd = end;
      if (!settling && this.alarmRule.decide(z, this.noChannels, s.index)) {
        anomalies[i] = 1;
        // Listeners after this one (an OnlineLearner attached to the detector) see the online alarm.
        batch.anomalies[i] = 1;
        s.counters.alarms++;
      }
      if (z >= p.guardBelow) {
        s.lastHot = end;
        if (learn) this.withdraw(g, s, end);
      } else if (learn && s.lastHot < start && (end + s.base) % p.admitEvery === 0) {
        this.admit(g, s, start, end);
      }
    }
    g.scored += n;
    const out: OnlineBatch = { size: n, seriesIds: batch.seriesIds, timestamps: batch.timestamps, starts: batch.starts, scores: batch.scores, normalized, anomalies, model: g.index, version: batch.version };
    this.emit('batch', out);
    if (this.listeners.anomaly.size > 0) {
      for (let i = 0; i < n; i++) {
        if (anomalies[i]) this.emit('anomaly', { seriesId: batch.seriesIds[i]!, timestamp: batch.timestamps[i]!, start: batch.starts[i]!, score: batch.scores[i]!, normalized: normalized[i]!, model: g.index, version: batch.version });
      }
    }
    if (p.learning === 'background' && g.trained && !g.updating && g.admittedSince >= p.updateEvery && performance.now() >= g.nextUpdateAt) this.startUpdate(g, false);
  }

  /** Copies a window the guard lets through into the training buffer (its frames are in the rings while the batch is delivered). */
  private admit(g: ModelGroup, s: SeriesState, start: number, end: number): void {
    const idx = g.ringHead;
    if (!live(g).windowFrames(s.id, start, g.views[idx]!)) return;
    g.ringSeries[idx] = s.index;
    g.ringEnd[idx] = end;
    g.ringValid[idx] = 1;
    g.ringHead = (idx + 1) % g.views.length;
    if (g.ringCount < g.views.length) g.ringCount++;
    s.recentEntries[s.recentHead] = idx;
    s.recentHead = (s.recentHead + 1) % s.recentEntries.length;
    s.counters.admitted++;
    g.admittedSince++;
  }

  /** A window ending at `end` turned hot: windows admitted from this series that overlap it are withdrawn. */
  private withdraw(g: ModelGroup, s: SeriesState, end: number): void {
    const si = s.index;
    for (let k = 0; k < s.recentEntries.length; k++) {
      const idx = s.recentEntries[k]!;
      if (idx < 0 || g.ringSeries[idx] !== si || !g.ringValid[idx]) continue;
      if (g.ringEnd[idx]! >= end - this.window + 1) {
        g.ringValid[idx] = 0;
        s.counters.withdrawn++;
        s.recentEntries[k] = -1;
      }
    }
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
        if (!this.closed) this.schedulePump();
      });
    g.updating = tracked;
  }

  /** One update: fine-tune a copy of the live version on the valid, decided training windows; check; swap in. */
  private async update(g: ModelGroup, initial: boolean): Promise<void> {
    const t0 = performance.now();
    const at = g.scored;
    const take: number[] = [];
    for (let k = 0; k < g.ringCount; k++) {
      const idx = (g.ringHead - g.ringCount + k + g.views.length) % g.views.length;
      if (g.ringValid[idx] && this.confirmed(g, idx)) take.push(idx);
    }
    g.admittedSince = 0;
    const record = (u: Partial<OnlineUpdate>): OnlineUpdate => ({ model: g.index, initial, accepted: false, windows: take.length, losses: [], parity: NaN, seconds: (performance.now() - t0) / 1000, at, ...u });
    if (take.length < 2) {
      g.rejected++;
      this.emit('update', record({ reason: `${take.length} training window(s) passed the guard; at least 2 are needed` }));
      return;
    }
    const normal = new Float32Array(take.length * this.per);
    take.forEach((idx, k) => normal.set(g.views[idx]!, k * this.per));
    const nCheck = Math.min(take.length, 32);
    const check = normal.slice((take.length - nCheck) * this.per);
    const p = this.policy;
    const params: FineTuneParams = {
      epochs: initial ? p.initialEpochs : p.epochs,
      batchSize: p.batchSize,
      learningRate: p.learningRate,
      anomalyWeight: 0,
      margin: 1,
      seed: p.seed + g.updates + g.rejected,
      rescaleAbove: 0,
    };
    const tuner = this.tuner;
    if (!tuner) throw new SeismoError('ERR_LEARN', 'learning is off for this detector (no fine-tuning worker)');
    // One fine-tuning worker holds one tfjs model: updates of several models take turns.
    // Continue from the live version, whoever made it: an OnlineLearner attached to this model's
    // detector (expert labels) swaps in versions of its own, with their weights beside them.
    const liveDir = live(g).modelDir;
    const start = liveDir === g.weightsDir ? g.weights : (readWeights(liveDir) ?? g.weights);
    const job = this.tuneChain.then(() => tuner.update(start, identityScaler(this.channels.length), normal, 0, 0, new Float32Array(0), check, params));
    this.tuneChain = job.catch(() => {});
    const res = await job;
    if (this.closed) return;
    if (!(res.parity <= 1e-3)) {
      g.rejected++;
      this.emit('update', record({ reason: `ONNX parity ${res.parity.toExponential(2)} above 1e-3`, parity: res.parity, losses: res.losses }));
      return;
    }
    const manifestNow = live(g).manifest;
    const threshold = quantile(res.normalAfter, 0.995);
    const manifest: Manifest = nextOnlineManifest(manifestNow, threshold, res.losses, res.seconds, take.length);
    const dir = path.join(this.workDir, `m${g.index}-v${g.nextDir++}`);
    writeModelDir(dir, manifest, res.onnx);
    writeWeights(dir, res.weights);
    const swap = await live(g).swapModel(dir);
    // The learning budget: rest in proportion to the time this update took.
    if (!initial && this.policy.learning === 'background') g.nextUpdateAt = performance.now() + (performance.now() - t0) * (1 / this.policy.learningShare - 1);
    g.weights = res.weights;
    g.weightsDir = path.resolve(dir);
    g.updates++;
    g.trained = true;
    this.prune(g);
    this.emit('update', record({ accepted: true, version: swap.version, parity: res.parity, losses: res.losses }));
  }

  /** Removes this model's version folders the detector no longer keeps. */
  private prune(g: ModelGroup): void {
    const kept = new Set(live(g).versions().map((v) => path.resolve(v.dir)));
    for (const name of fs.readdirSync(this.workDir)) {
      if (!name.startsWith(`m${g.index}-v`)) continue;
      const full = path.resolve(this.workDir, name);
      if (!kept.has(full)) fs.rmSync(full, { recursive: true, force: true });
    }
  }

  // ---- resume helpers ----

  private restoreSeries(saved: SavedSeries): void {
    const C = this.channels.length;
    const W = this.window;
    const s = new SeriesState(saved.id, this.seriesList.length, saved.group, C, this.policy.warmup, W, this.recentDepth, this.normalizerFactory(saved.normalizer));
    this.attachScorer(s, saved.scorer);
    this.series.set(s.id, s);
    this.seriesList.push(s);
    s.mean.set(saved.mean);
    s.std.set(saved.std);
    s.variance.set(saved.variance);
    s.last.set(saved.last);
    s.hasLast = saved.hasLast;
    s.lastTime = saved.lastTime ?? -Infinity;
    s.interval = saved.interval ?? NaN;
    Object.assign(s.counters, saved.counters);
    if (saved.warming) {
      s.warmCount = saved.warmTimes?.length ?? 0;
      s.warmTimes!.set(saved.warmTimes ?? []);
      s.warmFrames!.set(saved.warmFrames ?? []);
      return;
    }
    s.warming = false;
    s.warmTimes = undefined;
    s.warmFrames = undefined;
    this.groups[s.group]!.members.push(s);
    const context = saved.contextTimes.length;
    if (saved.contextFrames.length !== context * C || context > W - 1) throw new SeismoError('ERR_MODEL_CORRUPT', `series '${s.id}': saved context does not fit window ${W}`, { seriesId: s.id });
    // The rings restart at frame 0 with the context: positions are counted from there.
    s.lastEnd = context - 1;
    s.lastHot = saved.sinceHot === null ? -Infinity : s.lastEnd - saved.sinceHot;
    s.base = saved.base;
    const frames = Float32Array.from(saved.contextFrames);
    for (let t = 0; t < context; t++) {
      const frame = frames.subarray(t * C, (t + 1) * C);
      s.noteSent(saved.contextTimes[t]!, frame);
      s.enqueue(saved.contextTimes[t]!, frame);
    }
    // The context was counted towards the next blocking update before the save: not again.
    this.groups[s.group]!.pushedSince -= context;
    if (context > 0) {
      this.pending.add(s);
      this.schedulePump();
    }
  }

  /** Refills a model's training buffer in the saved order, and each series' memory of the entries it added last (for the guard). */
  private restoreTraining(g: ModelGroup, train: SavedWindow[]): void {
    for (const w of train) {
      if (w.frames.length !== this.per || !this.seriesList[w.series]) throw new SeismoError('ERR_MODEL_CORRUPT', `a saved training window of model ${g.index} does not fit this detector`);
      const idx = this.addTrainingWindow(g, w.series, w.end, Float32Array.from(w.frames));
      g.ringValid[idx] = w.valid ? 1 : 0;
      if (w.end >= 0) {
        const s = this.seriesList[w.series]!;
        s.recentEntries[s.recentHead] = idx;
        s.recentHead = (s.recentHead + 1) % s.recentEntries.length;
      }
    }
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

interface OnlineModelSeed {
  manifest: Manifest;
  onnx: Uint8Array;
  weights: WeightTensor[];
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
  seed: OnlineModelSeed;
}

/** A model's detector, which exists once it is trained or being fitted. */
function live(g: ModelGroup): Detector {
  if (!g.detector) throw new SeismoError('ERR_DISPOSED', `model ${g.index} has no running detector`);
  return g.detector;
}

function channelNames(channels: number | readonly string[]): string[] {
  if (typeof channels === 'number') {
    if (!Number.isInteger(channels) || channels <= 0) throw new SeismoError('ERR_INVALID_OPTION', `channels must be a positive integer or a list of names, got ${channels}`);
    return Array.from({ length: channels }, (_, c) => `c${c}`);
  }
  if (!Array.isArray(channels) || channels.length === 0 || channels.some((c) => typeof c !== 'string' || c.length === 0) || new Set(channels).size !== channels.length) {
    throw new SeismoError('ERR_INVALID_OPTION', `channels must be unique non-empty names, got ${JSON.stringify(channels)}`);
  }
  return [...channels];
}

/** The kind's own default window (what `seismo train` would use). */
function defaultWindow(kind: OnlineKind): number {
  const training = loadTraining(`the online kind '${kind}'`);
  return (training.getKind(kind).resolveConfig(undefined as never, 1) as { window: number }).window;
}

function makeWorkDir(dir: string | undefined): { workDir: string; owned: boolean } {
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    return { workDir: dir, owned: false };
  }
  return { workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-')), owned: true };
}
