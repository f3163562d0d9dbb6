/**
 * PCA reconstruction-error baseline (Shyu et al., "A novel anomaly detection scheme based on
 * principal component classifier", 2003, in its reconstruction form): project a flattened window
 * (`D = W * C` scaled features) onto the top-k principal components of the normal training
 * windows and back; the mean squared residual is the score.
 *
 * The principal components come from ml-pca 4.x (eigendecomposition of the covariance matrix via
 * ml-matrix). The fitted projection is stored as a linear autoencoder, so the tfjs side, the
 * exporter (a MatMul graph) and the parity tests are the dense AE's:
 *   enc_0: z = x V_k - mean V_k      (Dense k, linear, kernel V_k [D, k])
 *   dec_0: x' = z V_k^T + mean       (Dense D, linear, kernel V_k^T [k, D])
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { PCA } from 'ml-pca';
import type { BaseTrainConfig, FitResult } from '../../fit';
import { meanWindowScore, subsampleStarts, windowRows } from '../../classic/common';
import type { KindTrainContext } from '../../kind-spec';
import { reconstructionScores } from '../../score';
import type { PcaConfig } from './config';

export { type PcaConfig, PCA_DEFAULTS, resolvePcaConfig } from './config';

/** The linear AE that holds a PCA projection with `k` components (weights zero until fitted). */
function linearAe(W: number, C: number, k: number): tfl.LayersModel {
  const model = tfl.sequential({ name: 'pca' });
  model.add(tfl.layers.flatten({ inputShape: [W, C], name: 'flatten' }));
  model.add(tfl.layers.dense({ name: 'enc_0', units: k, activation: 'linear', kernelInitializer: 'zeros', biasInitializer: 'zeros' }));
  model.add(tfl.layers.dense({ name: 'dec_0', units: W * C, activation: 'linear', kernelInitializer: 'zeros', biasInitializer: 'zeros' }));
  model.add(tfl.layers.reshape({ targetShape: [W, C], name: 'unflatten' }));
  return model;
}

/**
 * The unfitted PCA model: a linear AE with `components` (or, in explained-variance mode, W*C)
 * components and zero weights. `trainModel` fits it through {@link trainPca} instead.
 */
export function buildPca(config: PcaConfig): tfl.LayersModel {
  return linearAe(config.window, config.channels, config.components ?? config.window * config.channels);
}

/**
 * Fits the components on (a seeded subsample of) the training windows and returns the linear AE
 * holding them. "Losses" are the mean reconstruction MSE on training and validation windows.
 */
export async function trainPca(ctx: KindTrainContext<PcaConfig>): Promise<{ model: tfl.LayersModel; fit: FitResult }> {
  const { config, frames, train, val } = ctx;
  const t0 = performance.now();
  const W = config.window;
  const C = config.channels;
  const D = W * C;
  const rows = windowRows(frames, subsampleStarts(train, config.maxWindows, config.seed), W);
  // Eigendecomposition of the D x D covariance: cheaper than an SVD of the n x D data when n >> D.
  const pca = new PCA(rows, { method: rows.length > D ? 'covarianceMatrix' : 'SVD', center: true, scale: false });
  const explained = pca.getExplainedVariance();
  const U = pca.getEigenvectors(); // [D, D'], columns are components
  const means = pca.toJSON().means;
  // Components by decreasing variance, whatever order the decomposition returned them in.
  const order = explained.map((v, i) => [v, i] as const).sort((a, b) => b[0] - a[0]).map(([, i]) => i);
  let k = config.components ?? 0;
  if (k === 0) {
    let cum = 0;
    const total = explained.reduce((a, b) => a + b, 0);
    // A data set with no variance at all explains everything with one component.
    while (k < order.length && (cum < config.explainedVariance * total - 1e-12 || k === 0)) cum += explained[order[k++]!]!;
  }
  k = Math.min(k, U.columns);
  const V = new Float32Array(D * k); // [D, k]
  const Vt = new Float32Array(k * D); // [k, D]
  for (let j = 0; j < k; j++) {
    for (let d = 0; d < D; d++) {
      const v = U.get(d, order[j]!);
      V[d * k + j] = v;
      Vt[j * D + d] = v;
    }
  }
  const encBias = new Float32Array(k);
  for (let j = 0; j < k; j++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += means[d]! * V[d * k + j]!;
    encBias[j] = -s;
  }
  const model = linearAe(W, C, k);
  const weights = [tf.tensor2d(V, [D, k]), tf.tensor1d(encBias), tf.tensor2d(Vt, [k, D]), tf.tensor1d(Float32Array.from(means))];
  model.setWeights(weights);
  tf.dispose(weights);
  const loss = meanWindowScore(frames, train, W, (w) => reconstructionScores(model, w).score);
  const valLosses = val.length > 0 ? [meanWindowScore(frames, val, W, (w) => reconstructionScores(model, w).score)] : [];
  ctx.onProgress?.({ phase: 'epoch', epoch: 1, epochs: 1, loss, valLoss: valLosses[0] ?? NaN, seconds: (performance.now() - t0) / 1000, best: true });
  return { model, fit: { losses: [loss], valLosses, epochs: 1, bestEpoch: 1 } };
}

/** Number of components a fitted PCA model keeps. */
export function pcaComponents(model: tfl.LayersModel): number {
  return (model.getLayer('enc_0').getWeights()[0]!.shape as number[])[1]!;
}
