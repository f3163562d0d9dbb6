/**
 * The parts of training that every window-based model kind shares: the scaler, cutting windows,
 * a seeded, early-stopping training loop over windows, and quantiles for thresholds.
 *
 * Windows are never materialised for the whole data set: the scaled frames live in one `[T, C]`
 * tensor and each batch is cut from it with one `gather` on `[B, W]` indices, the same way the
 * exported ONNX graph cuts them, so memory stays at T*C instead of N*W*C.
 */
import { mulberry32 as seededRandom, shuffled } from '../src/ingest/random.js';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { SeismoError } from '../src/errors';

/** Training hyper-parameters that every kind shares. */
export interface BaseTrainConfig {
  /** Frames per window (W). Default depends on the kind (lstm-ae: 64). */
  window: number;
  /** Passes over the training windows, at most (early stopping may end sooner). Default 50. */
  epochs: number;
  /** Windows per gradient step. Default 64. */
  batchSize: number;
  /** Adam learning rate. Default 1e-3. */
  learningRate: number;
  /**
   * Fraction of the windows held out for validation (early stopping, threshold), taken from the
   * end of the series, because stride-1 windows overlap and a random split would leak. In [0, 1).
   * Default 0.2.
   */
  validationSplit: number;
  /** Epochs without a validation-loss improvement before training stops; 0 disables. Default 5. */
  patience: number;
  /** Seed of every initializer and of the batch shuffling; same seed + data = same model. Default 42. */
  seed: number;
}

/** The training defaults every kind shares (the window is each kind's own). */
export const TRAIN_DEFAULTS: Readonly<Omit<BaseTrainConfig, 'window'>> = Object.freeze({
  epochs: 50,
  batchSize: 64,
  learningRate: 1e-3,
  validationSplit: 0.2,
  patience: 5,
  seed: 42,
});

/** Progress of a training run, for progress bars and logs. Losses are MSE in scaled units. */
export type TrainProgress =
  | {
      phase: 'batch';
      /** 1-based epoch. */
      epoch: number;
      epochs: number;
      /** 1-based batch within the epoch. */
      batch: number;
      batches: number;
      /** Loss of this batch. */
      loss: number;
    }
  | {
      phase: 'epoch';
      epoch: number;
      epochs: number;
      /** Mean training loss over the epoch. */
      loss: number;
      /** Validation loss after the epoch (NaN without a validation set). */
      valLoss: number;
      /** Wall-clock seconds of this epoch. */
      seconds: number;
      /** True when this epoch is the best so far (its weights are kept). */
      best: boolean;
    };

/** Per-channel scaler. */
export interface Scaler {
  /** Per-channel mean, raw units, length C. */
  mean: number[];
  /** Per-channel standard deviation, raw units, length C, all > 0. */
  std: number[];
}

/** Relative std below which a channel counts as constant. */
const CONSTANT_STD = 1e-6;

/**
 * Fits a per-channel mean/std scaler.
 *
 * A constant channel (std below 1e-6 of max(1, |mean|)) gets std 1 rather than a floored tiny std:
 * its scaled value is 0 in training either way, and std 1 keeps a later change of that channel at
 * its raw size instead of multiplying it by a million and swamping every other channel's score.
 *
 * @param frames row-major `[T, C]` raw values.
 */
export function fitScaler(frames: Float32Array, channels: number): Scaler {
  const T = frames.length / channels;
  const mean = new Array<number>(channels).fill(0);
  const m2 = new Array<number>(channels).fill(0);
  for (let t = 0; t < T; t++) for (let c = 0; c < channels; c++) mean[c]! += frames[t * channels + c]!;
  for (let c = 0; c < channels; c++) mean[c]! /= T;
  for (let t = 0; t < T; t++)
    for (let c = 0; c < channels; c++) {
      const d = frames[t * channels + c]! - mean[c]!;
      m2[c]! += d * d;
    }
  const std = m2.map((s, c) => {
    const sd = Math.sqrt(s / T);
    return sd < CONSTANT_STD * Math.max(1, Math.abs(mean[c]!)) ? 1 : sd;
  });
  return { mean, std };
}

/** Scales `[T, C]` raw frames into a new Float32Array. */
export function applyScaler(frames: Float32Array, scaler: Scaler): Float32Array {
  const C = scaler.mean.length;
  const out = new Float32Array(frames.length);
  for (let i = 0; i < frames.length; i++) out[i] = (frames[i]! - scaler.mean[i % C]!) / scaler.std[i % C]!;
  return out;
}

/** Window start rows `0, stride, 2*stride, ...` of every full window in T frames. */
export function windowStarts(frames: number, window: number, stride: number): Int32Array {
  const n = frames < window ? 0 : Math.floor((frames - window) / stride) + 1;
  return Int32Array.from({ length: n }, (_, i) => i * stride);
}

/**
 * Splits window starts into train and validation: validation is the last `fraction` of the
 * windows, and training windows that overlap any validation frame are dropped (a purge gap), so
 * validation loss and the threshold it sets are measured on frames the model never fit.
 */
export function splitStarts(starts: Int32Array, window: number, fraction: number): { train: Int32Array; val: Int32Array } {
  const nVal = fraction > 0 ? Math.max(1, Math.floor(starts.length * fraction)) : 0;
  if (nVal === 0) return { train: starts, val: new Int32Array(0) };
  const val = starts.slice(starts.length - nVal);
  const firstVal = val[0]!;
  const train = starts.filter((s) => s + window <= firstVal);
  return { train, val };
}

/**
 * Cuts windows from a `[T, C]` frames tensor.
 * @param starts window start rows, length B.
 * @returns `[B, W, C]`.
 */
export function gatherWindows(frames: tf.Tensor2D, starts: ArrayLike<number>, window: number): tf.Tensor3D {
  const idx = new Int32Array(starts.length * window);
  for (let b = 0; b < starts.length; b++) for (let t = 0; t < window; t++) idx[b * window + t] = starts[b]! + t;
  return tf.tidy(() => tf.gather(frames, tf.tensor2d(idx, [starts.length, window], 'int32')) as unknown as tf.Tensor3D);
}

/** Seeded uniforms in [0, 1), so batch order is reproducible (tfjs' own shuffle is not seeded). */
export { seededRandom, shuffled };

/** What {@link fitWindows} did. */
export interface FitResult {
  /** Mean training loss per epoch run. */
  losses: number[];
  /** Validation loss per epoch run (empty without validation windows). */
  valLosses: number[];
  /** Epochs actually run. */
  epochs: number;
  /** 1-based epoch whose weights the model holds at the end. */
  bestEpoch: number;
}

/** Options of {@link fitWindows}. */
export interface FitOptions {
  /** Window length W. */
  window: number;
  epochs: number;
  batchSize: number;
  patience: number;
  seed: number;
  /** Builds the (input, target) pair of a batch from its windows `[B, W, C]`; autoencoders: identity. */
  targets?: (windows: tf.Tensor3D) => { x: tf.Tensor; y: tf.Tensor };
  onProgress?: (p: TrainProgress) => void;
}

/**
 * Trains a compiled model on windows cut from `frames`, with seeded shuffling, validation loss
 * after every epoch, early stopping, and restoration of the best epoch's weights.
 *
 * @param frames scaled frames `[T, C]`.
 * @param train training window starts; @param val validation window starts (may be empty).
 * @throws SeismoError `ERR_TRAINING` when the loss becomes NaN/Infinity.
 */
export async function fitWindows(model: tfl.LayersModel, frames: tf.Tensor2D, train: Int32Array, val: Int32Array, options: FitOptions): Promise<FitResult> {
  const targets = options.targets ?? ((w: tf.Tensor3D) => ({ x: w, y: w }));
  const rand = seededRandom(options.seed);
  const batches = Math.ceil(train.length / options.batchSize);
  const losses: number[] = [];
  const valLosses: number[] = [];
  let best = Infinity;
  let bestEpoch = 0;
  let bestWeights: tf.Tensor[] | undefined;
  let sinceBest = 0;
  try {
    for (let epoch = 1; epoch <= options.epochs; epoch++) {
      const t0 = performance.now();
      const order = shuffled(train, rand);
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        const batchStarts = order.subarray(b * options.batchSize, (b + 1) * options.batchSize);
        const windows = gatherWindows(frames, batchStarts, options.window);
        const { x, y } = targets(windows);
        let loss: number;
        try {
          const out = await model.trainOnBatch(x, y);
          loss = Array.isArray(out) ? out[0]! : out;
        } finally {
          tf.dispose([windows, x, y]);
        }
        if (!Number.isFinite(loss)) {
          throw new SeismoError('ERR_TRAINING', `Training diverged: loss is ${loss} at epoch ${epoch}, batch ${b + 1}. Lower the learning rate or check the data.`, {
            epoch,
            batch: b + 1,
          });
        }
        sum += loss * batchStarts.length;
        options.onProgress?.({ phase: 'batch', epoch, epochs: options.epochs, batch: b + 1, batches, loss });
      }
      const loss = sum / train.length;
      losses.push(loss);
      const valLoss = val.length > 0 ? evaluateLoss(model, frames, val, options) : NaN;
      if (val.length > 0) valLosses.push(valLoss);
      // Without validation windows the training loss decides what "best" means.
      const monitored = val.length > 0 ? valLoss : loss;
      const improved = monitored < best;
      if (improved) {
        best = monitored;
        bestEpoch = epoch;
        sinceBest = 0;
        tf.dispose(bestWeights ?? []);
        bestWeights = model.getWeights().map((w) => tf.clone(w));
      } else {
        sinceBest++;
      }
      options.onProgress?.({ phase: 'epoch', epoch, epochs: options.epochs, loss, valLoss, seconds: (performance.now() - t0) / 1000, best: improved });
      if (options.patience > 0 && sinceBest >= options.patience) break;
    }
    if (bestWeights && bestEpoch !== losses.length) model.setWeights(bestWeights);
  } finally {
    tf.dispose(bestWeights ?? []);
  }
  return { losses, valLosses, epochs: losses.length, bestEpoch };
}

/** Mean loss of the model over the windows at `starts`, evaluated in batches. */
function evaluateLoss(model: tfl.LayersModel, frames: tf.Tensor2D, starts: Int32Array, options: FitOptions): number {
  const targets = options.targets ?? ((w: tf.Tensor3D) => ({ x: w, y: w }));
  let sum = 0;
  for (let i = 0; i < starts.length; i += options.batchSize) {
    const part = starts.subarray(i, i + options.batchSize);
    sum += tf.tidy(() => {
      const { x, y } = targets(gatherWindows(frames, part, options.window));
      const out = model.evaluate(x, y, { batchSize: part.length });
      return (Array.isArray(out) ? out[0]! : out).dataSync()[0]!;
    }) * part.length;
  }
  return sum / starts.length;
}

/**
 * The q-quantile of `values` with linear interpolation between order statistics (NumPy's
 * default), so thresholds match what a Python reference computes.
 */
export function quantile(values: ArrayLike<number>, q: number): number {
  if (values.length === 0) throw new RangeError('quantile of an empty array');
  const sorted = Float64Array.from(values).sort();
  const pos = (sorted.length - 1) * q;
  const lo = Math.floor(pos);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
}
