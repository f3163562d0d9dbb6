/**
 * What a model kind is to the shared pipeline (training/train.ts), and the pieces several kinds
 * share. The kinds themselves live in training/kinds/<kind>/ (config, model, export, spec); the
 * registry in training/kinds/index.ts. Nothing here imports a kind.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import type { z } from 'zod';
import { type BaseTrainConfig, type FitOptions, type FitResult, fitWindows, type Scaler, type TrainProgress } from './fit';
import type { ReconstructionScoreTensors } from './score';

/** Everything the shared pipeline needs to know about one model kind. */
export interface ModelKindSpec<Config extends BaseTrainConfig = BaseTrainConfig> {
  /** Registry name, also `manifest.kind` and `seismo.kind` in the graph. */
  readonly kind: string;
  /** What `score` means (`manifest.score`). */
  readonly score: { readonly definition: string; readonly description: string };
  /** Names of the exported graph's inputs/outputs and its opset (`manifest.onnx`). */
  readonly io: { readonly inputs: readonly string[]; readonly outputs: readonly string[]; readonly opset: number };
  /** Completes and validates a user config; `channels` comes from the data. */
  resolveConfig(partial: Partial<Config> | undefined, channels: number): Config;
  /** A compiled, freshly initialised tfjs model. */
  build(config: Config): tfl.LayersModel;
  /** (input, target) of a training batch from its scaled windows `[B, W, C]`; default: autoencoder. */
  readonly targets?: FitOptions['targets'];
  /** tfjs-side scores of scaled windows `[N, W, C]`, equal to what the exported graph computes. */
  scoreWindows(model: tfl.LayersModel, windows: tf.Tensor3D): ReconstructionScoreTensors | Pick<ReconstructionScoreTensors, 'score' | 'channelScore'>;
  /** The bytes of `model.onnx` for a trained model. */
  exportOnnx(model: tfl.LayersModel, config: Config, channelNames: readonly string[], scaler: Scaler): Uint8Array;
  /**
   * The bytes of `model.step.onnx` (the incremental graph for stride-1 scoring, see
   * `training/export/step.ts`) and its graph inputs/outputs, or undefined when this model has
   * none (its window does not cover its receptive field). Optional: kinds without one score
   * every stride through the window graph.
   */
  readonly exportStep?: (model: tfl.LayersModel, config: Config, channelNames: readonly string[], scaler: Scaler) => { onnx: Uint8Array; inputs: string[]; outputs: string[] } | undefined;
  /**
   * Trains the kind its own way, instead of `build` + the shared `trainOnBatch` loop: for losses
   * that a compiled LayersModel cannot express (VAE's ELBO, BiGAN's adversarial game) and for
   * closed-form fits (PCA, one-class SVM). Returns the trained model that `scoreWindows` and
   * `exportOnnx` take. Optional; without it `trainModel` uses `build` and `fitWindows`.
   */
  readonly train?: (context: KindTrainContext<Config>) => Promise<{ model: tfl.LayersModel; fit: FitResult }>;
  /**
   * Hyper-parameters with their defaults, ranges, units and meaning: `resolveConfig` checks a
   * config against it and docs/config.md is generated from it.
   */
  readonly schema: z.ZodObject;
  /**
   * The kind's training loss of a batch of scaled windows `[B, W, C]`, as a differentiable scalar
   * (dropout and sampling in training mode): what the online learner (src/learn) minimises on
   * normal windows when it continues training a version. Absent: the kind cannot be fine-tuned
   * online (closed-form fits, adversarial or custom training loops); retrain it instead.
   */
  readonly fineTuneLoss?: (model: tfl.LayersModel, config: Config, windows: tf.Tensor3D) => tf.Scalar;
}

/** What {@link ModelKindSpec.train} gets from the shared pipeline. */
export interface KindTrainContext<Config extends BaseTrainConfig = BaseTrainConfig> {
  /** The resolved config. */
  config: Config;
  /** Scaled frames `[T, C]` (owned by the pipeline: do not dispose). */
  frames: tf.Tensor2D;
  /** Window starts for training and for validation (validation may be empty). */
  train: Int32Array;
  val: Int32Array;
  onProgress?: (p: TrainProgress) => void;
}

/** Mean squared reconstruction error: the compiled loss of the autoencoder kinds. */
export function reconstructionLoss(model: tfl.LayersModel, _config: unknown, windows: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(model.apply(windows, { training: true }) as tf.Tensor, windows)) as tf.Scalar);
}

/**
 * Trains a kind whose batch targets depend on its config (DC-VAE: the latent width; DeepAnT: the
 * horizon) through the shared loop: `ModelKindSpec.targets` gets no config, `train` does.
 */
export function fitWithTargets<Config extends BaseTrainConfig>(
  build: (config: Config) => tfl.LayersModel,
  targets: (config: Config) => NonNullable<FitOptions['targets']>,
): NonNullable<ModelKindSpec<Config>['train']> {
  return async ({ config, frames, train, val, onProgress }) => {
    const model = build(config);
    try {
      const fit = await fitWindows(model, frames, train, val, {
        window: config.window,
        epochs: config.epochs,
        batchSize: config.batchSize,
        patience: config.patience,
        seed: config.seed,
        targets: targets(config),
        onProgress,
      });
      return { model, fit };
    } catch (err) {
      const optimizer = model.optimizer;
      model.dispose();
      optimizer?.dispose();
      throw err;
    }
  };
}

// Per-record baselines (window 1 = one record; W > 1 = a flattened window). See training/classic/common.ts.
export const MSE_SCORE = {
  definition: 'mse',
  description: "Mean squared reconstruction error over the window's W*C scaled values; channel_score[c] is channel c's squared error summed over the window's frames / (W*C).",
} as const;

