/**
 * Train a kind and write its model directory in one call: what `seismo train`, the demo and the
 * benchmarks do. The directory is written as one unit (graph, manifest, weights, calibration; see
 * src/model/model-dir.ts), so a run killed at any point leaves the old model or the new one.
 */
import path from 'node:path';
import { channelTermOf, fitActivityCalibration, fitChannelCalibration, termAverageOf } from '../src/score/channel-terms';
import { fitCalibration } from '../src/score/calibration';
import type { Manifest } from '../src/model/manifest';
import { writeModelDir, type ScoreCalibration } from '../src/model/model-dir';
import type { TrainProgress } from './fit';
import { trainModel, type KindConfigs } from './train';

/** Options of {@link trainToDir}. */
export interface TrainToDirOptions {
  /** Hyper-parameters of the kind (checked against its schema; unknown keys are refused). */
  config?: Record<string, unknown>;
  /** Frames between window starts, for training and streaming. Default 1. */
  stride?: number;
  /** Overrides `config.seed`. */
  seed?: number;
  /** tfjs backend to try first. */
  backend?: string;
  /**
   * Weight of the newest window in each series' running mean of a channel's error term, which
   * the channel statistics are fitted with and the detector then applies (src/score/attribution.ts;
   * 1 = none). Default: the kind's (`termAverageOf` its score definition).
   */
  attributionAverage?: number;
  /** Called per batch and per epoch, synchronously from the training loop. */
  onProgress?: (p: TrainProgress) => void;
}

/** What a training run produced, as the CLI and the benchmarks report it. */
export interface TrainSummary {
  kind: string;
  /** Absolute path of the model directory. */
  out: string;
  backend: string;
  epochs: number;
  /** Wall-clock seconds of training (scaler to export). */
  seconds: number;
  secondsPerEpoch: number;
  finalLoss: number;
  finalValLoss: number;
  threshold: number;
  window: number;
  channels: string[];
}

/**
 * Trains `kind` on raw frames (row-major `[T, C]`, raw units) and writes the model directory
 * `out`: graph, manifest, the weights an online learner continues from, and the score calibration
 * on the windows the threshold was set on (when at least 2 of their scores are finite).
 * @throws what {@link trainModel} and `writeModelDir` throw.
 */
export async function trainToDir(kind: string, frames: Float32Array, channels: string[], out: string, options: TrainToDirOptions = {}): Promise<{ manifest: Manifest; summary: TrainSummary }> {
  const result = await trainModel({
    kind: kind as keyof KindConfigs,
    frames,
    channels,
    config: options.config as never,
    stride: options.stride,
    seed: options.seed,
    backend: options.backend,
    onProgress: options.onProgress,
  });
  try {
    const finite = result.referenceScores.filter(Number.isFinite).length;
    // With it the detector reports normalizedScores from the first version on, on the scale later
    // (fine-tuned) versions share.
    const calibration: ScoreCalibration | undefined = finite >= 2 ? fitCalibration(result.referenceScores, `${finite} ${result.referenceOn} windows`) : undefined;
    // Each channel's normal error terms on the same windows: attribution compares a channel with itself.
    const channelStats = calibration
      ? fitChannelCalibration(result.referenceChannelScores, result.referenceScores, channels.length, channelTermOf(result.manifest.score.definition), options.attributionAverage ?? termAverageOf(result.manifest.score.definition))
      : undefined;
    const activityStats = result.referenceActivity ? fitActivityCalibration(result.referenceActivity, channels.length) : undefined;
    if (calibration && channelStats) calibration.channels = activityStats ? { ...channelStats, activity: activityStats } : channelStats;
    const weights = result.model.getWeights().map((w) => ({ shape: w.shape.slice(), data: w.dataSync() as Float32Array }));
    writeModelDir(out, result.manifest, result.onnx, { weights, calibration, ...(result.step ? { step: result.step } : {}) });
  } finally {
    result.dispose();
  }
  const m = result.manifest;
  const summary: TrainSummary = {
    kind: m.kind,
    out: path.resolve(out),
    backend: m.training.backend,
    epochs: m.training.epochs,
    seconds: m.training.seconds,
    secondsPerEpoch: m.training.epochs > 0 ? m.training.seconds / m.training.epochs : 0,
    finalLoss: m.training.losses.at(-1) ?? NaN,
    finalValLoss: m.training.valLosses.at(-1) ?? NaN,
    threshold: m.thresholds.global.value,
    window: m.window,
    channels: m.channels,
  };
  return { manifest: m, summary };
}
