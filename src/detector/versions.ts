/**
 * The model versions of a detector: the live one (its worker, manifest, threshold rule and score
 * calibration), the kept ones a rollback can return to, and the switch between them. A switch
 * starts the new worker first and then changes `live` in one synchronous step, so every batch is
 * scored by exactly one version; a retired worker closes once its last batch is delivered.
 *
 * Recovery also lives here: a version whose worker thread died gets a new worker (a bounded
 * number of times: the cause may be transient); a version that cannot score (its runs fail, or
 * its worker keeps dying) is rolled back automatically when an older version is kept.
 */
import { isSeismoError, SeismoError } from '../errors.js';
import { InferenceWorker } from '../infer/inference-worker.js';
import type { ProviderRequest } from '../infer/providers.js';
import type { RuntimeRequest } from '../infer/runtime.js';
import { GRAPH_IO, type Manifest } from '../model/manifest.js';
import { checkCalibration, type ModelDir, readCalibration, readModelDir, type ScoreCalibration } from '../model/model-dir.js';
import { thresholdFromManifest, type ThresholdRule } from '../threshold/index.js';
import type { DetectorEmitter } from './events.js';
import type { SwapEvent, SwapResult } from './types.js';

/** One loaded model version: its worker, its manifest and the rule that decides its scores. */
export interface LiveModel {
  version: number;
  model: ModelDir;
  worker: InferenceWorker;
  rule: ThresholdRule;
  /** Batches of this version not yet delivered; its worker closes when they are done. */
  inFlight: number;
  retired: boolean;
  /** Its score calibration (for `normalizedScores`), if any. */
  calibration?: ScoreCalibration;
  /** Times its worker was restarted after dying. */
  restarts: number;
  /** The recovery under way after a failure of `worker` (shared by every batch that failed with it). */
  recovering?: Promise<LiveModel>;
}

/** What the versions need of the detector's options. */
export interface VersionOptions {
  provider?: ProviderRequest;
  intraOpThreads?: number;
  /** Native scorer or onnxruntime (DetectorOptions.runtime). */
  runtime?: RuntimeRequest;
  /** The detector's stride (default: the model's), series slots and step-graph switch: see {@link startModelWorker}. */
  stride?: number;
  maxSeries?: number;
  stepGraph?: boolean;
  threshold?: number;
  thresholdRule?: ThresholdRule;
  keepVersions?: number;
  workerRestarts?: number;
}

/**
 * Starts the inference worker of a model version, with its step graph when the model has one and
 * the detector streams at stride 1 (unless `stepGraph: false`): stride-1 batches are then scored
 * from per-series state, each call advancing every series of the batch by its new frames, with the
 * window graph's scores.
 */
export function startModelWorker(model: ModelDir, options: VersionOptions): Promise<InferenceWorker> {
  const stride = options.stride ?? model.manifest.stride;
  const step =
    model.step && stride === 1 && options.stepGraph !== false
      ? {
          model: model.step.onnx,
          layout: model.step.layout,
          window: model.manifest.window,
          slots: options.maxSeries ?? DEFAULT_MAX_SERIES,
          // The step graph has no channel_activity output: the worker keeps it per series (no pass over the window per point).
          ...(model.manifest.onnx.outputs.includes(GRAPH_IO.channelActivity) ? { activityStd: [...model.manifest.scaler.std] } : {}),
        }
      : undefined;
  return InferenceWorker.start(model.onnx, { provider: options.provider, intraOpThreads: options.intraOpThreads, runtime: options.runtime, ...(step ? { step } : {}) });
}

/** Series a detector serves when `maxSeries` is not given (DetectorOptions.maxSeries). */
export const DEFAULT_MAX_SERIES = 64;

export class ModelVersions {
  live: LiveModel;
  readonly keepVersions: number;
  /** Kept versions (directories), oldest first, the live one last; bounded by `keepVersions`. */
  private readonly kept: { version: number; model: ModelDir }[] = [];
  /** Score calibrations of the kept versions (read from `calibration.json` or set with {@link setCalibration}). */
  private readonly calibrations = new Map<number, ScoreCalibration>();
  private nextVersion = 2;
  /** Serialises swaps and rollbacks: one new worker starts at a time. */
  private swapping: Promise<unknown> = Promise.resolve();
  /** Workers of retired versions that are shutting down (awaited by `close`). */
  private readonly closing = new Set<Promise<void>>();
  private closed = false;
  /** Restarts of dead workers, all versions together (for stats). */
  restarts = 0;

  /**
   * @param slots series slots every rule is prepared for.
   * @param ensureOpen throws when the detector is closed (checked before each switch).
   */
  constructor(
    model: ModelDir,
    worker: InferenceWorker,
    private readonly options: VersionOptions,
    private readonly slots: number,
    private readonly ensureOpen: () => void,
    private readonly events: DetectorEmitter,
  ) {
    this.keepVersions = options.keepVersions ?? 3;
    const calibration = readCalibration(model.dir);
    this.live = { version: 1, model, worker, rule: this.ruleFor(model.manifest), inFlight: 0, retired: false, calibration, restarts: 0 };
    this.kept.push({ version: 1, model });
    if (calibration) this.calibrations.set(1, calibration);
    this.live.rule.prepare(slots);
  }

  calibration(version = this.live.version): ScoreCalibration | undefined {
    return this.calibrations.get(version);
  }

  setCalibration(calibration: ScoreCalibration, version = this.live.version): void {
    if (!this.kept.some((k) => k.version === version)) throw new SeismoError('ERR_INVALID_OPTION', `model version ${version} is not kept`);
    const checked = checkCalibration(calibration, 'setCalibration');
    this.calibrations.set(version, checked);
    if (version === this.live.version) this.live.calibration = checked;
  }

  versions(): { version: number; dir: string }[] {
    return this.kept.map((k) => ({ version: k.version, dir: k.model.dir }));
  }

  /** Replaces the live version's rule (no new worker, no new version). */
  setRule(rule: ThresholdRule): void {
    rule.prepare(this.slots);
    this.live.rule = rule;
  }

  swap(model: string | ModelDir): Promise<SwapResult> {
    return this.serialise(async () => {
      const next = typeof model === 'string' ? readModelDir(model) : model;
      checkCompatible(this.live.model.manifest, next.manifest);
      const result = await this.install(next, this.nextVersion);
      this.nextVersion++;
      this.kept.push({ version: result.version, model: next });
      while (this.kept.length > this.keepVersions) this.kept.shift();
      this.pruneCalibrations();
      this.announce({ ...result, kind: 'swap' });
      return result;
    });
  }

  rollback(): Promise<SwapResult> {
    return this.serialise(async () => {
      if (this.kept.length < 2) {
        throw new SeismoError('ERR_NO_PREVIOUS_VERSION', `no model version before ${this.live.version} is kept (keepVersions ${this.keepVersions})`);
      }
      const result = await this.back();
      this.announce({ ...result, kind: 'rollback' });
      return result;
    });
  }

  /**
   * After `worker` (of `model`) failed a batch with `err`: what should score the batch now.
   * A worker whose thread died is restarted (at most `workerRestarts` times per version) and the
   * same version scores again; a version that cannot score is rolled back when it is live and an
   * older version is kept (a `swap` event of kind `auto-rollback`), or, when it is no longer live,
   * the live version takes its batches.
   * @throws SeismoError `ERR_INFERENCE` when nothing can score the batch.
   */
  recover(model: LiveModel, worker: InferenceWorker, err: unknown): Promise<LiveModel> {
    // Replaced already (another batch's failure restarted it, or a switch happened): try again.
    if (model.worker !== worker) return Promise.resolve(model);
    model.recovering ??= this.recovery(model, worker, err).finally(() => {
      model.recovering = undefined;
    });
    return model.recovering;
  }

  private async recovery(model: LiveModel, worker: InferenceWorker, err: unknown): Promise<LiveModel> {
    let reason = err instanceof Error ? err.message : String(err);
    if (this.closed) throw err;
    if (worker.dead && model.restarts < (this.options.workerRestarts ?? 3)) {
      model.restarts++;
      this.restarts++;
      try {
        const fresh = await startModelWorker(model.model, this.options);
        if (this.closed) {
          await fresh.close();
          throw err;
        }
        model.worker = fresh;
        void worker.close();
        return model;
      } catch (startErr) {
        if (this.closed) throw err;
        reason = `${reason}; restarting it failed: ${startErr instanceof Error ? startErr.message : String(startErr)}`;
      }
    } else if (worker.dead) {
      reason = `${reason} (its worker died ${model.restarts + 1} times)`;
    }
    if (model !== this.live) return this.live;
    const fallback = await this.serialise(async () => {
      // A switch may have happened while this waited: then the live version takes over.
      if (model !== this.live) return this.live;
      if (this.kept.length < 2 || this.kept[this.kept.length - 1]!.version !== model.version) return undefined;
      const result = await this.back();
      this.announce({ ...result, kind: 'auto-rollback', reason });
      return this.live;
    }).catch((rollbackErr: unknown) => {
      reason = `${reason}; rolling back failed: ${rollbackErr instanceof Error ? rollbackErr.message : String(rollbackErr)}`;
      return undefined;
    });
    if (fallback) return fallback;
    throw new SeismoError(
      'ERR_INFERENCE',
      `model version ${model.version} cannot score (${reason}) and no other version can take over: swap in a working model or roll back (keepVersions ${this.keepVersions})`,
      { version: model.version },
      { cause: isSeismoError(err) ? err : undefined },
    );
  }

  /** The switch to the kept version before the live one, forgetting the live one. */
  private async back(): Promise<SwapResult> {
    const target = this.kept[this.kept.length - 2]!;
    const result = await this.install(target.model, target.version);
    this.kept.pop();
    this.pruneCalibrations();
    return result;
  }

  private announce(event: SwapEvent): void {
    this.events.emit('swap', event);
  }

  /** A batch of `model` was delivered (or given up): its worker closes after its last one once retired. */
  batchDone(model: LiveModel): void {
    model.inFlight--;
    if (model.retired && model.inFlight === 0) this.retire(model);
  }

  /** Waits for a switch in progress, then stops every worker. */
  async close(): Promise<void> {
    this.closed = true;
    await this.swapping.catch(() => {});
    await this.live.worker.close();
    await Promise.allSettled([...this.closing]);
  }

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
    const worker = await startModelWorker(model, this.options);
    if (this.closed) {
      await worker.close();
      throw new SeismoError('ERR_DISPOSED', 'detector closed while a model was being swapped in');
    }
    let rule: ThresholdRule;
    // A kept version keeps the calibration it had; a new one takes its directory's calibration.json.
    let calibration = this.calibrations.get(version);
    try {
      rule = this.ruleFor(model.manifest);
      rule.prepare(this.slots);
      calibration ??= readCalibration(model.dir);
    } catch (err) {
      await worker.close();
      throw err;
    }
    if (calibration) this.calibrations.set(version, calibration);
    const old = this.live;
    // The switch: one assignment, no await between it and the next dispatch.
    this.live = { version, model, worker, rule, inFlight: 0, retired: false, calibration, restarts: 0 };
    old.retired = true;
    if (old.inFlight === 0) this.retire(old);
    return { version, previous: old.version, dir: model.dir };
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
