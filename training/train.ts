/**
 * The training pipeline every kind shares: check the frames, fit the scaler, cut and split the
 * windows, train (the kind's own way or the shared loop), set the threshold on the held-out
 * windows, export the graph and fill in the manifest.
 */
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { SeismoError } from '../src/errors';
import { onnx as onnxProto } from 'onnx-proto';
import { type Manifest, ManifestSchema, MODEL_FILE, MODEL_FORMAT_VERSION, STEP_MODEL_FILE } from '../src/model/manifest';
import { hasChannelActivity } from './export/blocks';
import { windowActivity } from '../src/score/channel-terms';
import { initBackend } from './backend';
import { quantileAboveTies } from '../src/threshold/fixed';
import { applyScaler, fitScaler, fitWindows, splitStarts, type TrainProgress, windowStarts, gatherWindows } from './fit';
import { getKind, type KindConfigs } from './kinds/index';
import { reconstructionScores } from './score';

/** Quantile of the validation window scores that becomes the global threshold. */
export const THRESHOLD_QUANTILE = 0.995;

export type { KindConfigs };

/** A training request. */
export interface TrainRequest<K extends keyof KindConfigs = keyof KindConfigs> {
  /** Registered model kind. */
  kind: K;
  /** Raw training frames, row-major `[T, C]` (frame t, channel c at `t * C + c`), raw units. */
  frames: Float32Array;
  /** Channel names, length C, in column order. */
  channels: string[];
  /** Hyper-parameters; missing fields take the kind's defaults. */
  config?: Partial<KindConfigs[K]>;
  /** Overrides `config.seed`. */
  seed?: number;
  /**
   * Frames between the starts of consecutive training windows (default 1); also written to the
   * manifest as the streaming stride.
   */
  stride?: number;
  /** tfjs backend to try first (see {@link initBackend}); the usual order follows if it fails. */
  backend?: string;
  /** Called per batch and per epoch (synchronously, from the training loop). */
  onProgress?: (p: TrainProgress) => void;
}

/** What {@link trainModel} returns. */
export interface TrainResult {
  /** Contents of `model.json` (already validated against `ManifestSchema`). */
  manifest: Manifest;
  /** Contents of `model.onnx`. */
  onnx: Uint8Array;
  /** Contents of `model.step.onnx`, when the kind exports one for this model (`manifest.step` names it). */
  step?: Uint8Array;
  /** The trained tfjs model (its input/output is scaled `[N, W, C]`), for parity tests. */
  model: tfl.LayersModel;
  /**
   * `[n]` the scores of the windows the threshold was set on (the validation windows; the
   * training windows when there is no validation split), as the exported graph computes them
   * (within export parity): the reference for a score calibration of this model.
   */
  referenceScores: Float32Array;
  /** `[n, C]` the same windows' `channel_score`: the reference of the per-channel attribution statistics. */
  referenceChannelScores: Float32Array;
  /** `[n, C]` their `channel_activity`, when the graph has that output (windows of 3 frames or more). */
  referenceActivity?: Float32Array;
  /** Which windows `referenceScores` are. */
  referenceOn: 'validation' | 'training';
  /** Frees the tfjs model's tensors. */
  dispose(): void;
}

function validateFrames(frames: Float32Array, channels: string[]): number {
  if (!(frames instanceof Float32Array)) throw new SeismoError('ERR_BAD_SHAPE', 'frames must be a Float32Array (row-major [T, C]).', {});
  if (!Array.isArray(channels) || channels.length === 0 || channels.some((c) => typeof c !== 'string' || c.length === 0)) {
    throw new SeismoError('ERR_BAD_SHAPE', 'channels must be a non-empty array of non-empty channel names.', { channels });
  }
  if (new Set(channels).size !== channels.length) throw new SeismoError('ERR_BAD_SHAPE', `channel names must be unique: ${JSON.stringify(channels)}.`, { channels });
  const C = channels.length;
  if (frames.length % C !== 0) {
    throw new SeismoError('ERR_BAD_SHAPE', `frames has ${frames.length} values, not a multiple of the ${C} channels; expected row-major [T, ${C}].`, {
      values: frames.length,
      channels: C,
    });
  }
  for (let i = 0; i < frames.length; i++) {
    if (!Number.isFinite(frames[i]!)) {
      const row = Math.floor(i / C);
      const channel = channels[i % C];
      throw new SeismoError('ERR_NON_FINITE', `frames[${row}] channel "${channel}" is ${frames[i]}; training data must be finite (drop or interpolate gaps first).`, {
        row,
        channel,
      });
    }
  }
  return frames.length / C;
}

/**
 * Trains a model kind on raw frames and exports it.
 *
 * Fits a per-channel scaler on `frames`, cuts windows (stride `request.stride`), holds out the
 * last `validationSplit` of them, trains with early stopping, sets the global threshold to the
 * 0.995 quantile of the validation window scores (training scores without validation), and
 * exports the ONNX graph. The caller owns the result and must call `dispose()`.
 *
 * @throws SeismoError `ERR_BAD_SHAPE` (frames length not a multiple of C, bad channel names),
 *   `ERR_NON_FINITE` (NaN/Infinity in frames), `ERR_TRAINING` (unknown kind, too few frames,
 *   divergence), `ERR_INVALID_OPTION` (bad config).
 */
export async function trainModel<K extends keyof KindConfigs>(request: TrainRequest<K>): Promise<TrainResult> {
  const spec = getKind(request.kind);
  const T = validateFrames(request.frames, request.channels);
  const C = request.channels.length;
  const stride = request.stride ?? 1;
  if (!Number.isSafeInteger(stride) || stride <= 0) throw new SeismoError('ERR_INVALID_OPTION', `stride must be a positive integer, got ${stride}.`, { stride });
  const config = spec.resolveConfig({ ...(request.config ?? {}), ...(request.seed !== undefined ? { seed: request.seed } : {}) }, C);
  const W = config.window;

  const starts = windowStarts(T, W, stride);
  const { train, val } = splitStarts(starts, W, config.validationSplit);
  if (train.length === 0) {
    // With a purge gap, validation needs its own windows plus W-1 frames between the sets.
    const need = config.validationSplit > 0 ? 2 * W + W - 1 : W;
    throw new SeismoError(
      'ERR_TRAINING',
      `Too few frames to train: ${T} frames give ${starts.length} windows of ${W} (stride ${stride}), and none is left for training after holding out validationSplit ${config.validationSplit}. Give at least ~${need} frames, a smaller window, or validationSplit 0.`,
      { frames: T, window: W, stride, validationSplit: config.validationSplit },
    );
  }

  const { backend } = await initBackend(request.backend);
  const t0 = performance.now();
  const scaler = fitScaler(request.frames, C);
  const scaledFrames = applyScaler(request.frames, scaler);
  const framesT = tf.tensor2d(scaledFrames, [T, C]);
  let model: tfl.LayersModel | undefined;
  try {
    let fit: Awaited<ReturnType<typeof fitWindows>>;
    if (spec.train) {
      // Kinds with their own loss or a closed-form fit (see ModelKindSpec.train).
      ({ model, fit } = await spec.train({ config, frames: framesT, train, val, onProgress: request.onProgress }));
    } else {
      model = spec.build(config);
      fit = await fitWindows(model, framesT, train, val, {
        window: W,
        epochs: config.epochs,
        batchSize: config.batchSize,
        patience: config.patience,
        seed: config.seed,
        targets: spec.targets,
        onProgress: request.onProgress,
      });
    }
    const thresholdStarts = val.length > 0 ? val : train;
    const { scores, channelScores } = windowScores(spec, model, framesT, thresholdStarts, W, config.batchSize);
    // The graph's model-free `channel_activity` of the same windows (its host twin), for attribution.
    const activity = hasChannelActivity(W) ? windowActivity(scaledFrames, C, W, thresholdStarts) : undefined;
    // Above ties: a series constant in training scores 0 everywhere, and a threshold of 0 would
    // flag every window of it (`score >= threshold`).
    const threshold = quantileAboveTies(Float64Array.from(scores).sort(), THRESHOLD_QUANTILE);
    const onnx = spec.exportOnnx(model, config, request.channels, scaler);
    const step = spec.exportStep?.(model, config, request.channels, scaler);
    const seconds = (performance.now() - t0) / 1000;
    const manifest = ManifestSchema.parse({
      format: 'seismo-model',
      formatVersion: MODEL_FORMAT_VERSION,
      kind: spec.kind,
      hyperParameters: { ...config },
      window: W,
      stride,
      channels: [...request.channels],
      scaler: { mean: scaler.mean, std: scaler.std },
      score: { ...spec.score },
      thresholds: {
        global: {
          value: threshold,
          method: 'quantile',
          params: { quantile: THRESHOLD_QUANTILE, windows: thresholdStarts.length, on: val.length > 0 ? 'validation' : 'training' },
        },
        channels: null,
      },
      // The kind's outputs, then the optional ones its graph has (channel_activity, attention).
      onnx: { file: MODEL_FILE, opset: spec.io.opset, inputs: [...spec.io.inputs], outputs: [...spec.io.outputs, ...graphOutputNames(onnx).filter((n) => !spec.io.outputs.includes(n))] },
      ...(step ? { step: { file: STEP_MODEL_FILE, opset: spec.io.opset, inputs: step.inputs, outputs: step.outputs } } : {}),
      training: {
        backend,
        epochs: fit.epochs,
        losses: fit.losses,
        valLosses: fit.valLosses,
        dataFingerprint: createHash('sha256').update(new Uint8Array(request.frames.buffer, request.frames.byteOffset, request.frames.byteLength)).digest('hex'),
        date: new Date().toISOString(),
        seconds,
        seed: config.seed,
      },
    });
    const trained = model;
    return { manifest, onnx, ...(step ? { step: step.onnx } : {}), model: trained, referenceScores: Float32Array.from(scores), referenceChannelScores: channelScores, ...(activity ? { referenceActivity: activity } : {}), referenceOn: val.length > 0 ? 'validation' : 'training', dispose: () => disposeModel(trained) };
  } catch (err) {
    if (model) disposeModel(model);
    throw err;
  } finally {
    framesT.dispose();
  }
}

/** Names of a graph's outputs, in graph order. */
function graphOutputNames(bytes: Uint8Array): string[] {
  return (onnxProto.ModelProto.decode(bytes).graph?.output ?? []).map((o) => o.name ?? '');
}

/**
 * Frees a model and its optimizer: LayersModel.dispose() leaves an optimizer passed in as an
 * object (not a name) alone, and Adam holds two moment tensors per weight.
 */
function disposeModel(model: tfl.LayersModel): void {
  const optimizer = model.optimizer;
  model.dispose();
  optimizer?.dispose();
}

function windowScores(
  spec: ReturnType<typeof getKind>,
  model: tfl.LayersModel,
  frames: tf.Tensor2D,
  starts: Int32Array,
  window: number,
  batchSize: number,
): { scores: Float32Array; channelScores: Float32Array } {
  const C = frames.shape[1];
  const out = new Float32Array(starts.length);
  const channelScores = new Float32Array(starts.length * C);
  for (let i = 0; i < starts.length; i += batchSize) {
    const part = starts.subarray(i, i + batchSize);
    const [s, cs] = tf.tidy(() => {
      const scored = spec.scoreWindows(model, gatherWindows(frames, part, window));
      return [scored.score.dataSync() as Float32Array, scored.channelScore.dataSync() as Float32Array];
    });
    out.set(s, i);
    channelScores.set(cs, i * C);
  }
  return { scores: out, channelScores };
}

/** tfjs-side scores of a batch of windows (plain arrays). */
export interface PredictedScores {
  /** `[N, W, C]` row-major, scaled units. */
  reconstruction: Float32Array;
  /** `[N, C]` row-major. */
  channelScore: Float32Array;
  /** `[N]`. */
  score: Float32Array;
}

/**
 * Runs a reconstruction model (LSTM-AE) on scaled windows in tfjs and scores them with the same
 * formulas as the exported graph: the reference side of the export parity tests.
 *
 * @param windows scaled windows `[N, W, C]`: a tensor, or a row-major Float32Array with `shape`.
 */
export function predictScores(model: tfl.LayersModel, windows: tf.Tensor3D | { data: Float32Array; shape: [number, number, number] }): PredictedScores {
  const owned = windows instanceof tf.Tensor ? undefined : tf.tensor3d(windows.data, windows.shape);
  try {
    const r = reconstructionScores(model, owned ?? (windows as tf.Tensor3D));
    try {
      return {
        reconstruction: r.reconstruction.dataSync() as Float32Array,
        channelScore: r.channelScore.dataSync() as Float32Array,
        score: r.score.dataSync() as Float32Array,
      };
    } finally {
      tf.dispose([r.reconstruction, r.channelScore, r.score]);
    }
  } finally {
    owned?.dispose();
  }
}

/**
 * Cuts and scales windows from raw frames on the host, exactly as the exported graph's prologue
 * does: window n is rows `starts[n] .. starts[n] + W - 1`, scaled per channel.
 *
 * @param frames raw `[T, C]` row-major.
 * @returns scaled windows `[N, W, C]` row-major.
 */
export function cutScaledWindows(frames: Float32Array, scaler: { mean: readonly number[]; std: readonly number[] }, window: number, starts: ArrayLike<number>): Float32Array {
  const C = scaler.mean.length;
  const out = new Float32Array(starts.length * window * C);
  for (let n = 0; n < starts.length; n++) {
    for (let t = 0; t < window; t++) {
      const src = (starts[n]! + t) * C;
      const dst = (n * window + t) * C;
      for (let c = 0; c < C; c++) out[dst + c] = (frames[src + c]! - scaler.mean[c]!) / scaler.std[c]!;
    }
  }
  return out;
}
