/**
 * One model of online mode and its learning: the detector that scores its series, the weights of
 * its live version, its training buffer, and an update (fine-tune a copy of the live version on
 * the buffer's decided windows, check ONNX parity, write the version, swap it in). When updates
 * start, and what the series do meanwhile, is the engine's (`online-detector.ts`).
 */
import fs from 'node:fs';
import path from 'node:path';
import { Detector } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import type { ProviderRequest } from '../infer/providers.js';
import type { FineTuneParams } from '../learn/finetune-protocol.js';
import type { FineTuner } from '../learn/finetuner.js';
import type { Manifest } from '../model/manifest.js';
import { readModelDir, readWeights, type WeightTensor, writeModelDir, writeWeights } from '../model/model-dir.js';
import { quantile } from '../stats/quantile.js';
import type { Threshold } from '../threshold/schema.js';
import type { ThresholdRule } from '../threshold/rule.js';
import { identityScaler, nextOnlineManifest, type OnlineModel } from './initial-model.js';
import type { ResolvedPolicy } from './policy.js';
import type { SeriesState } from './series.js';
import { TrainingBuffer } from './training-buffer.js';
import type { OnlineUpdate } from './types.js';

/** A model and everything learning needs beside it. */
export interface ModelGroup {
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
  /** Training windows, FIFO (scaled frames `[window, channels]` each). */
  buffer: TrainingBuffer;
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

/** A model's state with an empty training buffer of `trainWindows` windows of `per` values; its detector comes with {@link startModelDetector}. */
export function newModelGroup(index: number, trainWindows: number, per: number, weights: WeightTensor[]): ModelGroup {
  return {
    index, weightsDir: '', detector: undefined, weights, trained: false, hold: false, updating: undefined,
    buffer: new TrainingBuffer(trainWindows, per),
    admittedSince: 0, pushedSince: 0, nextUpdateAt: 0, updates: 0, rejected: 0, scored: 0, members: [], nextDir: 1,
  };
}

/** A model's detector, which exists once it is trained or being fitted. */
export function live(g: ModelGroup): Detector {
  if (!g.detector) throw new SeismoError('ERR_DISPOSED', `model ${g.index} has no running detector`);
  return g.detector;
}

/** Writes a model's live version, with the weights it continues from, as a model directory at `target`. */
export function copyLiveVersion(g: ModelGroup, target: string): void {
  const current = readModelDir(live(g).modelDir);
  writeModelDir(target, current.manifest, current.onnx);
  writeWeights(target, path.resolve(current.dir) === g.weightsDir ? g.weights : (readWeights(current.dir) ?? g.weights));
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

/** How a model's inference detector runs. */
export interface ModelDetectorOptions {
  provider?: ProviderRequest;
  batchSize?: number;
  /** Series its rings are sized for. */
  maxSeries: number;
  intraOpThreads?: number;
}

/**
 * Writes a model's starting version into `workDir` (the untrained `seed`, or `from`, a saved
 * trained model directory) and loads a stride-1 detector on it. Returns the detector and the
 * weights of that version.
 */
export async function startModelDetector(workDir: string, g: ModelGroup, seed: OnlineModel, from: string | undefined, options: ModelDetectorOptions): Promise<{ detector: Detector; weights: WeightTensor[] }> {
  const dir = path.join(workDir, `m${g.index}-v0`);
  let weights = seed.weights;
  if (from) {
    const m = readModelDir(from);
    writeModelDir(dir, m.manifest, m.onnx);
    weights = readWeights(from) ?? weights;
  } else {
    writeModelDir(dir, seed.manifest, seed.onnx);
  }
  writeWeights(dir, weights);
  const detector = await Detector.load(dir, {
    stride: 1,
    provider: options.provider,
    batchSize: options.batchSize,
    maxSeries: options.maxSeries,
    intraOpThreads: options.intraOpThreads,
    thresholdRule: new NoAlarm(),
    keepVersions: 2,
  });
  return { detector, weights };
}

/** One fine-tuning worker holds one tfjs model: updates of several models take turns through this queue. */
export class TuneQueue {
  private chain: Promise<unknown> = Promise.resolve();
  constructor(readonly tuner: FineTuner) {}

  run<T>(job: (tuner: FineTuner) => Promise<T>): Promise<T> {
    const next = this.chain.then(() => job(this.tuner));
    this.chain = next.catch(() => {});
    return next;
  }
}

/** What an update needs from the engine. */
export interface UpdateContext {
  /** Undefined when learning is off. */
  tunes: TuneQueue | undefined;
  workDir: string;
  policy: ResolvedPolicy;
  channels: number;
  /** True when every window overlapping the entry ending at `end` of series `series` has been scored (the guard has decided it). */
  decided: (series: number, end: number) => boolean;
  /** True once the engine is closed: a finished fine-tune is then dropped. */
  closed: () => boolean;
}

/**
 * One update: fine-tune a copy of the live version on the valid, decided training windows; check;
 * write the version and swap it in. Returns the record to report, or undefined when the engine
 * closed meanwhile.
 * @throws SeismoError `ERR_LEARN` when learning is off; what the fine-tuning worker or the swap throws.
 */
export async function updateModel(ctx: UpdateContext, g: ModelGroup, initial: boolean): Promise<OnlineUpdate | undefined> {
  const t0 = performance.now();
  const at = g.scored;
  const take = g.buffer.validIndices(ctx.decided);
  g.admittedSince = 0;
  const record = (u: Partial<OnlineUpdate>): OnlineUpdate => ({ model: g.index, initial, accepted: false, windows: take.length, losses: [], parity: NaN, seconds: (performance.now() - t0) / 1000, at, ...u });
  if (take.length < 2) {
    g.rejected++;
    return record({ reason: `${take.length} training window(s) passed the guard; at least 2 are needed` });
  }
  const per = g.buffer.per;
  const normal = g.buffer.gather(take);
  const nCheck = Math.min(take.length, 32);
  const check = normal.slice((take.length - nCheck) * per);
  const p = ctx.policy;
  const params: FineTuneParams = {
    epochs: initial ? p.initialEpochs : p.epochs,
    batchSize: p.batchSize,
    learningRate: p.learningRate,
    anomalyWeight: 0,
    margin: 1,
    seed: p.seed + g.updates + g.rejected,
    rescaleAbove: 0,
  };
  const tunes = ctx.tunes;
  if (!tunes) throw new SeismoError('ERR_LEARN', 'learning is off for this detector (no fine-tuning worker)');
  // Continue from the live version, whoever made it: an OnlineLearner attached to this model's
  // detector (expert labels) swaps in versions of its own, with their weights beside them.
  const liveDir = live(g).modelDir;
  const start = liveDir === g.weightsDir ? g.weights : (readWeights(liveDir) ?? g.weights);
  const res = await tunes.run((tuner) => tuner.update(start, identityScaler(ctx.channels), normal, 0, 0, new Float32Array(0), check, params));
  if (ctx.closed()) return undefined;
  if (!(res.parity <= 1e-3)) {
    g.rejected++;
    return record({ reason: `ONNX parity ${res.parity.toExponential(2)} above 1e-3`, parity: res.parity, losses: res.losses });
  }
  const manifestNow = live(g).manifest;
  const threshold = quantile(res.normalAfter, 0.995);
  const manifest: Manifest = nextOnlineManifest(manifestNow, threshold, res.losses, res.seconds, take.length);
  const dir = path.join(ctx.workDir, `m${g.index}-v${g.nextDir++}`);
  writeModelDir(dir, manifest, res.onnx);
  writeWeights(dir, res.weights);
  const swap = await live(g).swapModel(dir);
  // The learning budget: rest in proportion to the time this update took.
  if (!initial && p.learning === 'background') g.nextUpdateAt = performance.now() + (performance.now() - t0) * (1 / p.learningShare - 1);
  g.weights = res.weights;
  g.weightsDir = path.resolve(dir);
  g.updates++;
  g.trained = true;
  pruneVersions(g, ctx.workDir);
  return record({ accepted: true, version: swap.version, parity: res.parity, losses: res.losses });
}

/** Removes this model's version folders the detector no longer keeps. */
function pruneVersions(g: ModelGroup, workDir: string): void {
  const kept = new Set(live(g).versions().map((v) => path.resolve(v.dir)));
  for (const name of fs.readdirSync(workDir)) {
    if (!name.startsWith(`m${g.index}-v`)) continue;
    const full = path.resolve(workDir, name);
    if (!kept.has(full)) fs.rmSync(full, { recursive: true, force: true });
  }
}
