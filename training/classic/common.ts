/**
 * What the per-record baseline kinds (dense-ae, vae, bigan, pca, ocsvm) share:
 * feed-forward parts stored as name-prefixed layers of one tfjs model (so one `getWeights` /
 * `dispose` covers every part, and the exporter finds each part by its prefix), and a training
 * loop for kinds whose step is not `model.trainOnBatch` (VAE's ELBO, BiGAN's adversarial game).
 *
 * A window is flattened frame-major to `D = W * C` features; with the default window 1 a window
 * is one record (KDD Cup 99 connections), with W > 1 these kinds are the usual flat-window
 * baselines on time series.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { DenseStep } from '../export/blocks';
import type { KindTrainContext } from '../kind-spec';
import { type BaseTrainConfig, type FitResult, type TrainLoopHooks, gatherWindows, seededRandom, trainLoop } from '../fit';

/** Activations a hidden Dense layer of these kinds may use (each has a one-op ONNX twin). */
export const HIDDEN_ACTIVATIONS = ['relu', 'tanh', 'sigmoid'] as const;
export type HiddenActivation = (typeof HIDDEN_ACTIVATIONS)[number];

/** Seeds for successive initializers: one shared seed would give every layer the same matrix. */
export function seedSequence(seed: number): () => number {
  let k = 0;
  return () => seed * 1000 + ++k;
}

/** A Dense layer named `name`, glorot-uniform kernel from `seed`, zero bias. */
export function denseLayer(name: string, units: number, activation: HiddenActivation | 'linear', seed: number, inputDim?: number): tfl.layers.Layer {
  return tfl.layers.dense({
    name,
    units,
    activation,
    kernelInitializer: tfl.initializers.glorotUniform({ seed }),
    biasInitializer: 'zeros',
    ...(inputDim !== undefined ? { inputDim } : {}),
  });
}

/** The layers of `model` whose names start with `prefix`, in the model's (topological) order. */
export function partLayers(model: tfl.LayersModel, prefix: string): tfl.layers.Layer[] {
  const layers = model.layers.filter((l) => l.name.startsWith(prefix));
  if (layers.length === 0) throw new Error(`model ${model.name} has no layers named ${prefix}*`);
  return layers;
}

/** Applies a part's layers eagerly to a concrete tensor (training steps and tfjs-side scores). */
export function applyPart(layers: readonly tfl.layers.Layer[], x: tf.Tensor, training = false): tf.Tensor {
  let y = x;
  for (const l of layers) y = l.apply(y, { training }) as tf.Tensor;
  return y;
}

/** A part's layers as ONNX {@link DenseStep}s (Dense with its activation, or LeakyReLU). */
export function denseSteps(layers: readonly tfl.layers.Layer[]): DenseStep[] {
  return layers.map((l) => {
    const cls = l.getClassName();
    const cfg = l.getConfig();
    if (cls === 'LeakyReLU') return { type: 'leakyRelu', alpha: Number(cfg['alpha']) };
    if (cls !== 'Dense') throw new Error(`layer ${l.name}: ${cls} has no ONNX export here`);
    const act = cfg['activation'];
    if (act !== 'linear' && act !== 'relu' && act !== 'tanh' && act !== 'sigmoid') throw new Error(`layer ${l.name}: activation ${String(act)} has no ONNX export here`);
    const [kernel, bias] = l.getWeights().map((t) => t.dataSync() as Float32Array);
    const [inputSize, units] = l.getWeights()[0]!.shape as [number, number];
    return { type: 'dense', activation: act, weights: { kernel: kernel!, bias, inputSize, units } };
  });
}

/** Flattens scaled windows `[N, W, C]` to `[N, W*C]` (frame-major, as the graph's Reshape). */
export function flatWindows(windows: tf.Tensor3D): tf.Tensor2D {
  const [N, W, C] = windows.shape;
  return tf.reshape(windows, [N, W * C]);
}

/** What a kind brings to {@link fitCustom}. */
export type CustomFitHooks = TrainLoopHooks;

/**
 * The shared epoch loop ({@link trainLoop}) around a kind's own step function, with the loop's
 * settings read from the kind's training context.
 *
 * @throws SeismoError `ERR_TRAINING` when a batch loss is NaN/Infinity.
 */
export function fitCustom(ctx: KindTrainContext, hooks: CustomFitHooks): Promise<FitResult> {
  return trainLoop(ctx.frames, ctx.train, ctx.val, { ...ctx.config, onProgress: ctx.onProgress }, hooks);
}

/** Copies of a model's weights (for {@link CustomFitHooks.snapshot}). */
export function snapshotWeights(models: readonly tfl.LayersModel[]): tf.Tensor[] {
  return models.flatMap((m) => m.getWeights().map((w) => tf.clone(w)));
}

/** Restores weights taken by {@link snapshotWeights} from the same models. */
export function restoreWeights(models: readonly tfl.LayersModel[], weights: tf.Tensor[]): void {
  let i = 0;
  for (const m of models) {
    const n = m.getWeights().length;
    m.setWeights(weights.slice(i, i + n));
    i += n;
  }
}

/** Variables of layers (for optimizer.minimize's var list). */
export function variablesOf(layers: readonly tfl.layers.Layer[]): tf.Variable[] {
  return layers.flatMap((l) => l.trainableWeights.map((w) => w.read() as tf.Variable));
}

/**
 * Seeded subsample of window starts, keeping their order (OCSVM and PCA fit on at most this many
 * windows; both are O(n^2) or O(n D^2) in memory or time).
 */
export function subsampleStarts(starts: Int32Array, max: number, seed: number): Int32Array {
  if (starts.length <= max) return starts;
  const rand = seededRandom(seed);
  const idx = Int32Array.from({ length: starts.length }, (_, i) => i);
  // Partial Fisher-Yates: the first `max` slots become a uniform sample.
  for (let i = 0; i < max; i++) {
    const j = i + Math.floor(rand() * (starts.length - i));
    const t = idx[i]!;
    idx[i] = idx[j]!;
    idx[j] = t;
  }
  const chosen = idx.subarray(0, max).sort();
  return Int32Array.from(chosen, (i) => starts[i]!);
}

/** Flattened scaled windows at `starts` as rows (float64 arrays, as ml-matrix and libsvm take them). */
export function windowRows(frames: tf.Tensor2D, starts: Int32Array, window: number): number[][] {
  const rows: number[][] = [];
  for (let i = 0; i < starts.length; i += 1024) {
    const part = starts.subarray(i, i + 1024);
    const data = tf.tidy(() => gatherWindows(frames, part, window).dataSync() as Float32Array);
    const D = data.length / part.length;
    for (let n = 0; n < part.length; n++) rows.push(Array.from(data.subarray(n * D, (n + 1) * D)));
  }
  return rows;
}

/**
 * Mean window score over `starts`, in chunks: the "loss" that closed-form fits (PCA, OCSVM)
 * report for their training and validation windows.
 * @param score scores of scaled windows `[N, W, C]` -> `[N]`.
 */
export function meanWindowScore(frames: tf.Tensor2D, starts: Int32Array, window: number, score: (windows: tf.Tensor3D) => tf.Tensor): number {
  let sum = 0;
  for (let i = 0; i < starts.length; i += 1024) {
    const part = starts.subarray(i, i + 1024);
    sum += tf.tidy(() => tf.sum(score(gatherWindows(frames, part, window))).dataSync()[0]!);
  }
  return sum / starts.length;
}
