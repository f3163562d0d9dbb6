/**
 * The parts of training that every window-based model kind shares: the scaler, cutting windows,
 * a seeded, early-stopping training loop over windows, and quantiles for thresholds.
 *
 * Windows are never materialised for the whole data set: the scaled frames live in one `[T, C]`
 * tensor and each batch is cut from it with one `gather` on `[B, W]` indices, the same way the
 * exported ONNX graph cuts them, so memory stays at T*C instead of N*W*C.
 */
import { mulberry32 as seededRandom, shuffled } from '../src/stats/random.js';
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

/**
 * Frames up to this many floats (32 MiB) are copied to the host once per training run, and each
 * batch is cut from that copy in JavaScript; beyond it, each batch is one `tf.gather` as before.
 */
const HOST_CUT_MAX_FLOATS = 8 << 20;

/**
 * Cuts the windows of many batches from one frames tensor: the same values as
 * {@link gatherWindows} (a copy either way). On tfjs' wasm backend a gather of a batch of
 * 64 x 64 x 8 costs ~0.7 ms, about 4% of an LSTM-AE training step; a host copy is one
 * `Float32Array.set` per window.
 */
export function windowCutter(frames: tf.Tensor2D, window: number): (starts: ArrayLike<number>) => tf.Tensor3D {
  const [T, C] = frames.shape;
  if (frames.dtype !== 'float32' || T * C > HOST_CUT_MAX_FLOATS) return (starts) => gatherWindows(frames, starts, window);
  const host = frames.dataSync() as Float32Array;
  const span = window * C;
  return (starts) => {
    const out = new Float32Array(starts.length * span);
    for (let b = 0; b < starts.length; b++) {
      const from = starts[b]! * C;
      out.set(host.subarray(from, from + span), b * span);
    }
    return tf.tensor3d(out, [starts.length, window, C]);
  };
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

/** Settings of `trainLoop`: window length and the epoch loop's knobs. */
export interface TrainLoopSettings {
  /** Window length W. */
  window: number;
  epochs: number;
  batchSize: number;
  /** Epochs without improvement of the monitored loss before stopping; 0 disables. */
  patience: number;
  seed: number;
  /**
   * The generator of the batch order, when the caller draws from the same seeded stream between
   * batches (online fine-tuning draws its anomalies from it); default `seededRandom(seed)`.
   */
  rand?: () => number;
  onProgress?: (p: TrainProgress) => void;
}

/** What a model brings to `trainLoop`. */
export interface TrainLoopHooks {
  /**
   * One optimisation step on a batch of scaled windows `[B, W, C]`; `step` counts from 0 over the
   * whole run (so noise seeds derived from it differ per step and repeat per run).
   * @returns the batch's training loss.
   */
  step(windows: tf.Tensor3D, step: number): number | Promise<number>;
  /** Mean monitored loss of a batch of validation windows (deterministic: no noise, no updates). */
  valLoss(windows: tf.Tensor3D): number;
  /** Copies of every weight, for restoring the best epoch. */
  snapshot(): tf.Tensor[];
  /** Puts a snapshot back. */
  restore(weights: tf.Tensor[]): void;
  /**
   * Keep the best epoch's weights (by validation loss, else training loss) at the end. Off for
   * adversarial training, where neither loss says which generator is best.
   */
  restoreBest: boolean;
}

/**
 * The epoch loop every model trains with: seeded shuffling, windows cut from `frames` per batch,
 * validation loss after every epoch, early stopping, divergence check, progress events, and
 * (optionally) the best epoch's weights restored at the end.
 *
 * @param frames scaled frames `[T, C]`.
 * @param train training window starts; @param val validation window starts (may be empty).
 * @throws SeismoError `ERR_TRAINING` when a batch loss is NaN/Infinity.
 */
export async function trainLoop(frames: tf.Tensor2D, train: Int32Array, val: Int32Array, o: TrainLoopSettings, h: TrainLoopHooks): Promise<FitResult> {
  const rand = o.rand ?? seededRandom(o.seed);
  const batches = Math.ceil(train.length / o.batchSize);
  const losses: number[] = [];
  const valLosses: number[] = [];
  let best = Infinity;
  let bestEpoch = 0;
  let bestWeights: tf.Tensor[] | undefined;
  let sinceBest = 0;
  let step = 0;
  const cut = windowCutter(frames, o.window);
  try {
    for (let epoch = 1; epoch <= o.epochs; epoch++) {
      const t0 = performance.now();
      const order = shuffled(train, rand);
      let sum = 0;
      for (let b = 0; b < batches; b++) {
        const part = order.subarray(b * o.batchSize, (b + 1) * o.batchSize);
        const windows = cut(part);
        let loss: number;
        try {
          loss = await h.step(windows, step++);
        } finally {
          windows.dispose();
        }
        if (!Number.isFinite(loss)) {
          throw new SeismoError('ERR_TRAINING', `Training diverged: loss is ${loss} at epoch ${epoch}, batch ${b + 1}. Lower the learning rate or check the data.`, { epoch, batch: b + 1 });
        }
        sum += loss * part.length;
        o.onProgress?.({ phase: 'batch', epoch, epochs: o.epochs, batch: b + 1, batches, loss });
        // Yield now and then so progress output and timers get a turn during long epochs.
        if (b % 64 === 63) await new Promise((r) => setImmediate(r));
      }
      const loss = sum / train.length;
      losses.push(loss);
      let valLoss = NaN;
      if (val.length > 0) {
        let vs = 0;
        for (let i = 0; i < val.length; i += o.batchSize) {
          const part = val.subarray(i, i + o.batchSize);
          const windows = cut(part);
          try {
            vs += h.valLoss(windows) * part.length;
          } finally {
            windows.dispose();
          }
        }
        valLoss = vs / val.length;
        valLosses.push(valLoss);
      }
      // Without validation windows the training loss decides what "best" means.
      const monitored = val.length > 0 ? valLoss : loss;
      const improved = monitored < best;
      if (improved) {
        best = monitored;
        bestEpoch = epoch;
        sinceBest = 0;
        if (h.restoreBest) {
          tf.dispose(bestWeights ?? []);
          bestWeights = h.snapshot();
        }
      } else {
        sinceBest++;
      }
      o.onProgress?.({ phase: 'epoch', epoch, epochs: o.epochs, loss, valLoss, seconds: (performance.now() - t0) / 1000, best: improved });
      if (o.patience > 0 && sinceBest >= o.patience) break;
    }
    if (h.restoreBest && bestWeights && bestEpoch !== losses.length) h.restore(bestWeights);
    else if (!h.restoreBest) bestEpoch = losses.length;
  } finally {
    tf.dispose(bestWeights ?? []);
  }
  return { losses, valLosses, epochs: losses.length, bestEpoch };
}

/** Options of {@link fitWindows}. */
export interface FitOptions extends TrainLoopSettings {
  /** Builds the (input, target) pair of a batch from its windows `[B, W, C]`; autoencoders: identity. */
  targets?: (windows: tf.Tensor3D) => { x: tf.Tensor; y: tf.Tensor };
}

/**
 * Trains a compiled tfjs-layers model on windows cut from `frames` through `trainLoop`:
 * `trainOnBatch` per batch, `evaluate` for the validation loss, best weights restored.
 *
 * @param frames scaled frames `[T, C]`.
 * @param train training window starts; @param val validation window starts (may be empty).
 * @throws SeismoError `ERR_TRAINING` when the loss becomes NaN/Infinity.
 */
export function fitWindows(model: tfl.LayersModel, frames: tf.Tensor2D, train: Int32Array, val: Int32Array, options: FitOptions): Promise<FitResult> {
  const targets = options.targets ?? ((w: tf.Tensor3D) => ({ x: w, y: w }));
  const first = (out: tf.Scalar | tf.Scalar[] | number | number[]) => (Array.isArray(out) ? out[0]! : out);
  return trainLoop(frames, train, val, options, {
    restoreBest: true,
    step: async (windows) => {
      const { x, y } = targets(windows);
      try {
        return first(await model.trainOnBatch(x, y)) as number;
      } finally {
        tf.dispose([x, y]);
      }
    },
    valLoss: (windows) =>
      tf.tidy(() => {
        const { x, y } = targets(windows);
        return (first(model.evaluate(x, y, { batchSize: windows.shape[0] }) as tf.Scalar | tf.Scalar[]) as tf.Scalar).dataSync()[0]!;
      }),
    snapshot: () => model.getWeights().map((w) => tf.clone(w)),
    restore: (weights) => model.setWeights(weights),
  });
}
