/**
 * One-class SVM baseline (Schölkopf et al., "Estimating the support of a high-dimensional
 * distribution", 2001) with the RBF kernel, trained by libsvm (libsvm-js, see
 * `classic/libsvm.ts`) on a seeded subsample of the flattened scaled training windows.
 *
 * Score: minus libsvm's decision function, so higher = more anomalous and 0 is the boundary:
 *   score(x) = rho - sum_i alpha_i * exp(-gamma * |x - sv_i|^2)
 * Channel attribution: the score is shared out by where x is far from the data, measured against
 * its nearest support vector sv* (the closest point of the learned support; it stays defined when
 * x is so far out that every kernel value underflows to 0):
 *   share_d = ((x_d - sv*_d)^2 + eps/D) / (|x - sv*|^2 + eps),   eps = 1e-8,
 *   channel_score[c] = score * sum over the window's frames t of share_{t*C + c}.
 * The shares sum to 1, and `score` is computed as the sum of `channel_score` on both sides, so
 * the contract's identity holds; an inlier (negative score) gets negative channel entries.
 *
 * The tfjs model is a container for the fitted numbers (a custom layer holding the support
 * vectors, alphas and rho, whose `call` computes the score), so the shared pipeline, the
 * threshold and the parity tests treat it like every other kind.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import type { BaseTrainConfig, FitResult } from '../../fit';
import { flatWindows, meanWindowScore, subsampleStarts, windowRows } from '../../classic/common';
import { trainOneClassSvm } from '../../classic/libsvm';
import type { KindTrainContext } from '../../kind-spec';
import type { OcsvmConfig } from './config';

export { type OcsvmConfig, OCSVM_DEFAULTS, resolveOcsvmConfig } from './config';

/** Keeps the nearest-support-vector shares defined when x sits on a support vector. */
export const OCSVM_SHARE_EPS = 1e-8;

/** Name of the layer that holds the fitted SVM. */
export const OCSVM_LAYER = 'ocsvm_decision';

/**
 * Scores of flattened scaled windows `[N, D]` from the SVM's numbers (the exported graph's formulas).
 * @param sv `[M, D]`; @param coef `[M]`; @param rho `[1]`.
 */
export function ocsvmScoreTensors(x: tf.Tensor2D, sv: tf.Tensor2D, coef: tf.Tensor1D, rho: tf.Tensor1D, gamma: number, window: number): { score: tf.Tensor1D; channelScore: tf.Tensor2D } {
  return tf.tidy(() => {
    const [N, D] = x.shape;
    const C = D / window;
    const xx = tf.sum(tf.square(x), 1, true); // [N, 1]
    const ss = tf.sum(tf.square(sv), 1); // [M]
    // |x - s|^2 = |x|^2 - 2 x.s + |s|^2, clamped at 0 against cancellation.
    const d2 = tf.maximum(tf.add(tf.sub(xx, tf.mul(tf.matMul(x, sv, false, true), 2)), ss), 0); // [N, M]
    const k = tf.exp(tf.mul(d2, -gamma));
    const base = tf.sub(rho, tf.matMul(k, tf.reshape(coef, [-1, 1]))); // [N, 1]
    const nearest = tf.gather(sv, tf.argMin(d2, 1)); // [N, D]
    const sq = tf.squaredDifference(x, nearest);
    const share = tf.div(tf.add(sq, OCSVM_SHARE_EPS / D), tf.add(tf.sum(sq, 1, true), OCSVM_SHARE_EPS)); // [N, D]
    const channelShare = tf.sum(tf.reshape(share, [N, window, C]), 1); // [N, C]
    const channelScore = tf.mul(base, channelShare) as tf.Tensor2D;
    return { score: tf.sum(channelScore, 1) as tf.Tensor1D, channelScore };
  });
}

interface OcsvmLayerArgs {
  name?: string;
  /** Support vectors M, features D. */
  count: number;
  dims: number;
  gamma: number;
  window: number;
}

/** Holds the support vectors `[M, D]`, alphas `[M]` and rho `[1]`; `call` maps `[N, D]` to the score `[N]`. */
class OcsvmDecision extends tfl.layers.Layer {
  static readonly className = 'SeismoOcsvmDecision';
  readonly count: number;
  readonly dims: number;
  readonly gamma: number;
  readonly window: number;
  constructor(args: OcsvmLayerArgs) {
    super({ name: args.name ?? OCSVM_LAYER, trainable: false });
    this.count = args.count;
    this.dims = args.dims;
    this.gamma = args.gamma;
    this.window = args.window;
  }
  override build(): void {
    const zeros = tfl.initializers.zeros();
    this.addWeight('support_vectors', [this.count, this.dims], 'float32', zeros, undefined, false);
    this.addWeight('coef', [this.count], 'float32', zeros, undefined, false);
    this.addWeight('rho', [1], 'float32', zeros, undefined, false);
    this.built = true;
  }
  override computeOutputShape(inputShape: tfl.Shape | tfl.Shape[]): tfl.Shape {
    const s = (Array.isArray(inputShape[0]) ? inputShape[0] : inputShape) as tfl.Shape;
    return [s[0]!];
  }
  override call(inputs: tf.Tensor | tf.Tensor[]): tf.Tensor {
    const x = (Array.isArray(inputs) ? inputs[0]! : inputs) as tf.Tensor2D;
    const [sv, coef, rho] = this.getWeights() as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
    return tf.tidy(() => ocsvmScoreTensors(x, sv, coef, rho, this.gamma, this.window).score);
  }
  override getConfig(): tf.serialization.ConfigDict {
    return { ...super.getConfig(), count: this.count, dims: this.dims, gamma: this.gamma, window: this.window };
  }
}
tf.serialization.registerClass(OcsvmDecision);

/** The fitted numbers of an OCSVM model (for the exporter and tests). */
export function ocsvmParams(model: tfl.LayersModel): { sv: Float32Array; coef: Float32Array; rho: number; gamma: number; count: number; dims: number } {
  const layer = model.getLayer(OCSVM_LAYER) as OcsvmDecision;
  const [sv, coef, rho] = layer.getWeights().map((t) => t.dataSync() as Float32Array);
  return { sv: sv!, coef: coef!, rho: rho![0]!, gamma: layer.gamma, count: layer.count, dims: layer.dims };
}

/** tfjs-side scores of scaled windows `[N, W, C]`. */
export function ocsvmScores(model: tfl.LayersModel, windows: tf.Tensor3D): { score: tf.Tensor1D; channelScore: tf.Tensor2D } {
  const layer = model.getLayer(OCSVM_LAYER) as OcsvmDecision;
  const [sv, coef, rho] = layer.getWeights() as [tf.Tensor2D, tf.Tensor1D, tf.Tensor1D];
  return tf.tidy(() => ocsvmScoreTensors(flatWindows(windows), sv, coef, rho, layer.gamma, layer.window));
}

function container(W: number, C: number, count: number, gamma: number): tfl.LayersModel {
  const model = tfl.sequential({ name: 'ocsvm' });
  model.add(tfl.layers.flatten({ inputShape: [W, C], name: 'flatten' }));
  model.add(new OcsvmDecision({ count, dims: W * C, gamma, window: W }));
  return model;
}

/**
 * A one-class SVM is fitted, not built from a config: this builds an empty container (one zero
 * support vector, gamma 1 if `'scale'`) of the right input shape; `trainModel` uses {@link trainOcsvm}.
 */
export function buildOcsvm(config: OcsvmConfig): tfl.LayersModel {
  return container(config.window, config.channels, 1, config.gamma === 'scale' ? 1 : config.gamma);
}

/** Fits libsvm's one-class SVM on (a seeded subsample of) the training windows. "Losses": mean score on training / validation windows. */
export async function trainOcsvm(ctx: KindTrainContext<OcsvmConfig>): Promise<{ model: tfl.LayersModel; fit: FitResult }> {
  const { config, frames, train, val } = ctx;
  const t0 = performance.now();
  const W = config.window;
  const C = config.channels;
  const D = W * C;
  const chosen = subsampleStarts(train, config.maxWindows, config.seed);
  const rows = windowRows(frames, chosen, W);
  let gamma: number;
  if (config.gamma === 'scale') {
    const values = rows.length * D;
    let mean = 0;
    for (const row of rows) for (const v of row) mean += v;
    mean /= values;
    let v2 = 0;
    for (const row of rows) for (const v of row) v2 += (v - mean) ** 2;
    const variance = v2 / values;
    gamma = variance > 0 ? 1 / (D * variance) : 1;
  } else {
    gamma = config.gamma;
  }
  const svm = trainOneClassSvm(rows, { nu: config.nu, gamma, tolerance: config.tolerance, cacheSize: 100 });
  const model = container(W, C, svm.count, gamma);
  const weights = [tf.tensor2d(Float32Array.from(svm.supportVectors), [svm.count, D]), tf.tensor1d(Float32Array.from(svm.coef)), tf.tensor1d([svm.rho])];
  model.setWeights(weights);
  tf.dispose(weights);
  const loss = meanWindowScore(frames, train, W, (w) => ocsvmScores(model, w).score);
  const valLosses = val.length > 0 ? [meanWindowScore(frames, val, W, (w) => ocsvmScores(model, w).score)] : [];
  ctx.onProgress?.({ phase: 'epoch', epoch: 1, epochs: 1, loss, valLoss: valLosses[0] ?? NaN, seconds: (performance.now() - t0) / 1000, best: true });
  return { model, fit: { losses: [loss], valLosses, epochs: 1, bestEpoch: 1 } };
}
