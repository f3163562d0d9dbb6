/**
 * Model kinds that `trainModel` can train and export, by name. A kind brings its config
 * defaults/validation, its tfjs model, its tfjs-side window scores and its ONNX exporter; the
 * generic pipeline (scaler, windows, training loop, threshold, manifest) is shared. DC-VAE,
 * DeepAnT, dense AE plug in with {@link registerKind}.
 */
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { SeismoError } from '../src/errors';
import { exportLstmAe, LSTM_AE_IO } from './export/lstm-ae';
import { type BaseTrainConfig, type FitOptions, type FitResult, fitWindows, type Scaler, type TrainProgress } from './fit';
import { buildLstmAe, type LstmAeConfig, resolveLstmAeConfig } from './lstm-ae';
import { type ReconstructionScoreTensors, reconstructionScores } from './score';
import { buildDcVae, dcVaeLoss, dcVaeScores, dcVaeTargets, type DcVaeConfig, resolveDcVaeConfig } from './dc-vae';
import { buildDeepAnt, deepAntScores, deepAntTargets, type DeepAntConfig, resolveDeepAntConfig } from './deepant';
import { DC_VAE_IO, exportDcVae } from './export/dc-vae';
import { DEEPANT_IO, exportDeepAnt } from './export/deepant';
import { buildDenseAe, type DenseAeConfig, resolveDenseAeConfig } from './dense-ae';
import { buildPca, type PcaConfig, resolvePcaConfig, trainPca } from './pca';
import { buildVae, resolveVaeConfig, trainVae, type VaeConfig } from './vae';
import { exportDenseAe, FLAT_RECONSTRUCTION_IO } from './export/dense-ae';
import { exportPca } from './export/pca';
import { exportVae } from './export/vae';
import { biganAlpha, biganScores, buildBigan, type BiganConfig, resolveBiganConfig, trainBigan } from './bigan';
import { buildOcsvm, type OcsvmConfig, ocsvmScores, resolveOcsvmConfig, trainOcsvm } from './ocsvm';
import { BIGAN_IO, exportBigan } from './export/bigan';
import { exportOcsvm, OCSVM_IO } from './export/ocsvm';

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
   * Trains the kind its own way, instead of `build` + the shared `trainOnBatch` loop: for losses
   * that a compiled LayersModel cannot express (VAE's ELBO, BiGAN's adversarial game) and for
   * closed-form fits (PCA, one-class SVM). Returns the trained model that `scoreWindows` and
   * `exportOnnx` take. Optional; without it `trainModel` uses `build` and `fitWindows`.
   */
  readonly train?: (context: KindTrainContext<Config>) => Promise<{ model: tfl.LayersModel; fit: FitResult }>;
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

// Kinds are stored type-erased; each spec is only ever called with the config it resolved itself.
const kinds = new Map<string, ModelKindSpec<any>>();

/**
 * Registers a model kind.
 * @throws SeismoError `ERR_INVALID_OPTION` when the name is taken (re-registering would silently
 *   change what existing model directories mean).
 */
export function registerKind<Config extends BaseTrainConfig>(spec: ModelKindSpec<Config>): void {
  if (kinds.has(spec.kind)) throw new SeismoError('ERR_INVALID_OPTION', `Model kind "${spec.kind}" is already registered.`, { kind: spec.kind });
  kinds.set(spec.kind, spec);
}

/**
 * Looks a kind up.
 * @throws SeismoError `ERR_TRAINING` for an unknown kind, listing the known ones.
 */
export function getKind(kind: string): ModelKindSpec<BaseTrainConfig> {
  const spec = kinds.get(kind);
  if (!spec) throw new SeismoError('ERR_TRAINING', `Unknown model kind "${kind}". Known kinds: ${[...kinds.keys()].join(', ')}.`, { kind, known: [...kinds.keys()] });
  return spec;
}

/** Names of the registered kinds. */
export function listKinds(): string[] {
  return [...kinds.keys()];
}

/** Mean squared reconstruction error: the compiled loss of the autoencoder kinds. */
function reconstructionLoss(model: tfl.LayersModel, _config: unknown, windows: tf.Tensor3D): tf.Scalar {
  return tf.tidy(() => tf.mean(tf.squaredDifference(model.apply(windows, { training: true }) as tf.Tensor, windows)) as tf.Scalar);
}

registerKind<LstmAeConfig>({
  kind: 'lstm-ae',
  score: {
    definition: 'mse',
    description: 'Mean squared reconstruction error over the window (all frames and channels), on scaled data; channel_score[c] is channel c\'s share.',
  },
  io: LSTM_AE_IO,
  resolveConfig: resolveLstmAeConfig,
  build: buildLstmAe,
  scoreWindows: (model, windows) => reconstructionScores(model, windows),
  exportOnnx: exportLstmAe,
  fineTuneLoss: reconstructionLoss,
});


/**
 * Trains a kind whose batch targets depend on its config (DC-VAE: the latent width; DeepAnT: the
 * horizon) through the shared loop: `ModelKindSpec.targets` gets no config, `train` does.
 */
function fitWithTargets<Config extends BaseTrainConfig>(
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

registerKind<DcVaeConfig>({
  kind: 'dc-vae',
  score: {
    definition: 'gaussian-z',
    description:
      'Deviation of the window\'s last frame from the predicted Gaussian, in predicted standard deviations: channel_score[c] = |x_c - mu_c| / sigma_c / C, score = sum_c channel_score[c] = mean over channels (scaled data). Channel c is anomalous by the paper\'s rule when channel_score[c] * C > alpha (hyperParameters.alpha).',
  },
  io: DC_VAE_IO,
  resolveConfig: resolveDcVaeConfig,
  build: buildDcVae,
  train: fitWithTargets(buildDcVae, dcVaeTargets),
  scoreWindows: (model, windows) => dcVaeScores(model, windows, { channels: windows.shape[2], latent: dcVaeLatent(model) }),
  exportOnnx: exportDcVae,
  fineTuneLoss: (model, config, windows) =>
    tf.tidy(() => {
      const { x, y } = dcVaeTargets(config)(windows);
      return tf.mean(dcVaeLoss(config)(y, model.apply(x, { training: true }) as tf.Tensor)) as tf.Scalar;
    }),
});

/** Latent size of a built DC-VAE, read back from its encoder head (so scoring needs no config). */
function dcVaeLatent(model: tfl.LayersModel): number {
  const shape = model.getLayer('encoder_gaussian').outputShape as number[];
  return shape[2]! / 2;
}

registerKind<DeepAntConfig>({
  kind: 'deepant',
  score: {
    definition: 'forecast-l2',
    description:
      'Euclidean error of the forecast of the window\'s last `horizon` frames from the frames before them (scaled data); channel_score[c] = sq_c / (norm + 1e-12) with sq_c the squared error of channel c, so the shares sum to score.',
  },
  io: DEEPANT_IO,
  resolveConfig: resolveDeepAntConfig,
  build: buildDeepAnt,
  train: fitWithTargets(buildDeepAnt, deepAntTargets),
  // The horizon is the part of the window the model does not read: W minus its input length.
  scoreWindows: (model, windows) => deepAntScores(model, windows, { horizon: windows.shape[1] - (model.inputs[0]!.shape[1] as number) }),
  exportOnnx: exportDeepAnt,
  fineTuneLoss: (model, config, windows) =>
    tf.tidy(() => {
      const { x, y } = deepAntTargets(config)(windows);
      return tf.mean(tf.squaredDifference(model.apply(x, { training: true }) as tf.Tensor, y)) as tf.Scalar;
    }),
});

// Per-record baselines (window 1 = one record; W > 1 = a flattened window). See training/classic/common.ts.
const MSE_SCORE = {
  definition: 'mse',
  description: "Mean squared reconstruction error over the window's W*C scaled values; channel_score[c] is channel c's squared error summed over the window's frames / (W*C).",
} as const;

registerKind<DenseAeConfig>({
  kind: 'dense-ae',
  score: MSE_SCORE,
  io: FLAT_RECONSTRUCTION_IO,
  resolveConfig: resolveDenseAeConfig,
  build: buildDenseAe,
  scoreWindows: (model, windows) => reconstructionScores(model, windows),
  exportOnnx: exportDenseAe,
  fineTuneLoss: reconstructionLoss,
});

registerKind<VaeConfig>({
  kind: 'vae',
  score: {
    definition: 'mse',
    description: `${MSE_SCORE.description} The reconstruction decodes the latent mean (deterministic), not a sample.`,
  },
  io: FLAT_RECONSTRUCTION_IO,
  resolveConfig: resolveVaeConfig,
  build: buildVae,
  train: trainVae,
  scoreWindows: (model, windows) => reconstructionScores(model, windows),
  exportOnnx: exportVae,
});

registerKind<PcaConfig>({
  kind: 'pca',
  score: {
    definition: 'mse',
    description: `${MSE_SCORE.description} The reconstruction is the projection onto the top-k principal components of the training windows.`,
  },
  io: FLAT_RECONSTRUCTION_IO,
  resolveConfig: resolvePcaConfig,
  build: buildPca,
  train: trainPca,
  scoreWindows: (model, windows) => reconstructionScores(model, windows),
  exportOnnx: exportPca,
});

registerKind<BiganConfig>({
  kind: 'bigan',
  score: {
    definition: 'bigan-l1-fm',
    description:
      "alpha * ||x - G(E(x))||_1 + (1 - alpha) * ||f(x, E(x)) - f(G(E(x)), E(x))||_1 on the flattened scaled window (Zenati et al. 2018; f = discriminator's feature layer, alpha in hyperParameters). channel_score[c] = alpha * channel c's L1 error over the window + the feature-matching term shared in proportion to those errors.",
  },
  io: BIGAN_IO,
  resolveConfig: resolveBiganConfig,
  build: buildBigan,
  train: trainBigan,
  // The tfjs side scores with the alpha the model was built (and so exported) with.
  scoreWindows: (model, windows) => biganScores(model, windows, biganAlpha(model)),
  exportOnnx: exportBigan,
  // The contract suite's small fixture (test/contract/kinds.test.ts reads this): a GAN needs more
  // steps than its generic 4 epochs give, so short windows, small nets and a larger step size.
  ...{ contractConfig: { config: { window: 8, epochs: 25, batchSize: 32, learningRate: 2e-3, latent: 4, encoderUnits: [32], generatorUnits: [32], discriminatorUnits: 32 } } },
});

registerKind<OcsvmConfig>({
  kind: 'ocsvm',
  score: {
    definition: 'ocsvm-neg-decision',
    description:
      'rho - sum_i alpha_i exp(-gamma |x - sv_i|^2) on the flattened scaled window (minus libsvm\'s one-class decision function; > 0 outside the learned support). channel_score[c] = score * channel c\'s share of the squared distance to the nearest support vector (summed over the window\'s frames).',
  },
  io: OCSVM_IO,
  resolveConfig: resolveOcsvmConfig,
  build: buildOcsvm,
  train: trainOcsvm,
  scoreWindows: ocsvmScores,
  exportOnnx: exportOcsvm,
});
