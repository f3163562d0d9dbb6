/**
 * BiGAN anomaly detector as in Zenati et al., "Efficient GAN-Based Anomaly Detection" (2018):
 * an encoder E (x -> z), a generator G (z -> x) and a discriminator D on (x, z) pairs are trained
 * adversarially (Donahue et al.'s BiGAN): D tells (x, E(x)) from (G(z), z); E and G try to fool it.
 * At convergence E inverts G, so a normal window is reconstructed well by G(E(x)).
 *
 * Score (the paper's A(x), with its L1 norms), on the flattened scaled window x (D = W*C values):
 *   L_G(x) = || x - G(E(x)) ||_1
 *   L_D(x) = || f(x, E(x)) - f(G(E(x)), E(x)) ||_1     (f: D's last hidden layer, "feature matching")
 *   score  = alpha * L_G + (1 - alpha) * L_D           (alpha default 0.9)
 * channel_score[c] = alpha * r_c + (1 - alpha) * L_D * (r_c + eps/C) / (L_G + eps), where r_c is
 * channel c's |x - G(E(x))| summed over the window's frames and eps = 1e-8: the feature-matching
 * term, which lives in D's feature space and has no channel axis, is shared out in proportion to
 * each channel's part of the reconstruction error (evenly when that error is 0). The shares sum to
 * 1, and `score` is computed as the sum of `channel_score` on both sides.
 *
 * Networks (the paper's KDD architecture; leaky ReLU slope 0.1; no dropout, so that training is
 * reproducible from the seed alone):
 *   E: Dense(64) LeakyReLU -> Dense(latent)        G: Dense(64) ReLU -> Dense(128) ReLU -> Dense(D)
 *   D: x -> Dense(128) LeakyReLU; z -> Dense(128) LeakyReLU; concat -> Dense(128) LeakyReLU = f
 *      -> Dense(1) logit.
 * Losses (sigmoid cross-entropy on logits): D: (x, E(x)) -> 1, (G(z), z) -> 0; E and G: the
 * labels swapped. Adam with beta1 0.5 for both; z ~ N(0, I), seeded per step.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type BaseTrainConfig, type FitResult } from '../../fit';
import { applyPart, fitCustom, flatWindows, partLayers, restoreWeights, seedSequence, snapshotWeights, variablesOf } from '../../classic/common';
import type { KindTrainContext } from '../../kind-spec';
import type { BiganConfig } from './config';

export { type BiganConfig, BIGAN_DEFAULTS, resolveBiganConfig } from './config';

/** Leaky ReLU slope of E and D (the paper's code uses 0.1). */
export const BIGAN_LEAKY_ALPHA = 0.1;
/** Keeps the feature-matching share defined when the reconstruction error is exactly 0. */
export const BIGAN_SHARE_EPS = 1e-8;

/** Layer name prefixes of the parts. */
export const BIGAN_PARTS = { encoder: 'enc_', generator: 'gen_', dx: 'dx_', dz: 'dz_', joint: 'dj_', head: 'dhead' } as const;

/**
 * All three networks in one tfjs model (so one `getWeights`/`dispose` covers them): input
 * `[B, W, C]`; outputs G(E(x)) `[B, W, C]` and D's logit on (x, E(x)) `[B, 1]`. Training and
 * scoring apply the parts by name prefix ({@link BIGAN_PARTS}).
 */
export function buildBigan(config: BiganConfig): tfl.LayersModel {
  const { window: W, channels: C } = config;
  const D = W * C;
  const next = seedSequence(config.seed);
  const dense = (name: string, units: number, activation: 'relu' | 'linear') =>
    tfl.layers.dense({ name, units, activation, kernelInitializer: tfl.initializers.glorotUniform({ seed: next() }), biasInitializer: 'zeros' });
  const lrelu = (name: string) => tfl.layers.leakyReLU({ name, alpha: BIGAN_LEAKY_ALPHA });
  const chain = (x: tfl.SymbolicTensor, layers: tfl.layers.Layer[]) => layers.reduce((y, l) => l.apply(y) as tfl.SymbolicTensor, x);

  const input = tfl.input({ shape: [W, C], name: 'windows' });
  const xFlat = tfl.layers.flatten({ name: 'flatten' }).apply(input) as tfl.SymbolicTensor;
  const enc = config.encoderUnits.flatMap((u, i) => [dense(`enc_${i}`, u, 'linear'), lrelu(`enc_${i}_lrelu`)]);
  enc.push(dense(`enc_${config.encoderUnits.length}`, config.latent, 'linear'));
  const gen = config.generatorUnits.map((u, i) => dense(`gen_${i}`, u, 'relu'));
  gen.push(dense(`gen_${config.generatorUnits.length}`, D, 'linear'));
  const H = config.discriminatorUnits;
  const dx = [dense('dx_0', H, 'linear'), lrelu('dx_0_lrelu')];
  const dz = [dense('dz_0', H, 'linear'), lrelu('dz_0_lrelu')];
  const dj = [dense('dj_0', H, 'linear'), lrelu('dj_0_lrelu')];
  const head = dense(BIGAN_PARTS.head, 1, 'linear');

  const z = chain(xFlat, enc);
  const rec = tfl.layers.reshape({ targetShape: [W, C], name: 'unflatten' }).apply(chain(z, gen)) as tfl.SymbolicTensor;
  const joint = tfl.layers.concatenate({ name: 'd_concat', axis: -1 }).apply([chain(xFlat, dx), chain(z, dz)]) as tfl.SymbolicTensor;
  const logit = head.apply(chain(joint, dj)) as tfl.SymbolicTensor;
  const model = tfl.model({ name: 'bigan', inputs: input, outputs: [rec, logit] });
  ALPHAS.set(model, config.alpha);
  return model;
}

// alpha is a scoring setting, not a weight: kept beside the model so that `scoreWindows`, which
// gets only the model, scores with the alpha the model was built (and is exported) with.
const ALPHAS = new WeakMap<tfl.LayersModel, number>();

/** The score's alpha of a model from {@link buildBigan}. */
export function biganAlpha(model: tfl.LayersModel): number {
  const a = ALPHAS.get(model);
  if (a === undefined) throw new Error(`model ${model.name} was not built by buildBigan`);
  return a;
}

/** The parts of a BiGAN model, for eager use. */
function parts(model: tfl.LayersModel) {
  return {
    enc: partLayers(model, BIGAN_PARTS.encoder),
    gen: partLayers(model, BIGAN_PARTS.generator),
    dx: partLayers(model, BIGAN_PARTS.dx),
    dz: partLayers(model, BIGAN_PARTS.dz),
    dj: partLayers(model, BIGAN_PARTS.joint),
    head: [model.getLayer(BIGAN_PARTS.head)],
  };
}

type Parts = ReturnType<typeof parts>;

/** D's feature layer f(x, z) `[B, H]` (x branch first in the concatenation, as in the graph). */
function features(p: Parts, x: tf.Tensor, z: tf.Tensor): tf.Tensor {
  return applyPart(p.dj, tf.concat([applyPart(p.dx, x), applyPart(p.dz, z)], 1));
}

/**
 * tfjs-side scores of scaled windows `[N, W, C]` (the formulas of the exported graph).
 * @returns `score` `[N]`, `channelScore` `[N, C]`, `reconstruction` G(E(x)) `[N, W, C]`.
 */
export function biganScores(model: tfl.LayersModel, windows: tf.Tensor3D, alpha: number): { score: tf.Tensor1D; channelScore: tf.Tensor2D; reconstruction: tf.Tensor3D } {
  return tf.tidy(() => {
    const [N, W, C] = windows.shape;
    const p = parts(model);
    const x = flatWindows(windows);
    const z = applyPart(p.enc, x);
    const xr = applyPart(p.gen, z);
    const r = tf.sum(tf.reshape(tf.abs(tf.sub(x, xr)), [N, W, C]), 1); // [N, C]
    const lg = tf.sum(r, 1, true); // [N, 1]
    const ld = tf.sum(tf.abs(tf.sub(features(p, x, z), features(p, xr, z))), 1, true); // [N, 1]
    const share = tf.div(tf.add(r, BIGAN_SHARE_EPS / C), tf.add(lg, BIGAN_SHARE_EPS));
    const channelScore = tf.add(tf.mul(r, alpha), tf.mul(tf.mul(ld, 1 - alpha), share)) as tf.Tensor2D;
    return { score: tf.sum(channelScore, 1) as tf.Tensor1D, channelScore, reconstruction: tf.reshape(xr, [N, W, C]) as tf.Tensor3D };
  });
}

/** Trains E, G and D adversarially (seeded); returns the model with the last epoch's weights. */
export async function trainBigan(ctx: KindTrainContext<BiganConfig>): Promise<{ model: tfl.LayersModel; fit: FitResult }> {
  const { config } = ctx;
  const model = buildBigan(config);
  const p = parts(model);
  const dOpt = tf.train.adam(config.learningRate, 0.5);
  const geOpt = tf.train.adam(config.learningRate, 0.5);
  const dVars = variablesOf([...p.dx, ...p.dz, ...p.dj, ...p.head]);
  const geVars = variablesOf([...p.enc, ...p.gen]);
  const bce = (logits: tf.Tensor, label: number) => tf.losses.sigmoidCrossEntropy(label === 1 ? tf.onesLike(logits) : tf.zerosLike(logits), logits);
  const logit = (x: tf.Tensor, z: tf.Tensor) => applyPart(p.head, features(p, x, z));
  try {
    const fit = await fitCustom(ctx, {
      restoreBest: false,
      step: (windows, step) =>
        tf.tidy(() => {
          const x = flatWindows(windows);
          const zPrior = tf.randomNormal([x.shape[0], config.latent], 0, 1, 'float32', config.seed * 7919 + step);
          const dLoss = dOpt.minimize(() => {
            const real = logit(x, applyPart(p.enc, x));
            const fake = logit(applyPart(p.gen, zPrior), zPrior);
            return tf.add(bce(real, 1), bce(fake, 0)) as tf.Scalar;
          }, true, dVars)!;
          geOpt.minimize(() => {
            const real = logit(x, applyPart(p.enc, x));
            const fake = logit(applyPart(p.gen, zPrior), zPrior);
            return tf.add(bce(real, 0), bce(fake, 1)) as tf.Scalar;
          }, false, geVars);
          // The discriminator's loss is the reported training loss (near 2 ln 2 = 1.386 at equilibrium).
          return dLoss.dataSync()[0]!;
        }),
      // Mean anomaly score of the validation windows: what early stopping watches if patience > 0.
      valLoss: (windows) => tf.tidy(() => tf.mean(biganScores(model, windows, config.alpha).score).dataSync()[0]!),
      snapshot: () => snapshotWeights([model]),
      restore: (w) => restoreWeights([model], w),
    });
    return { model, fit };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    dOpt.dispose();
    geOpt.dispose();
  }
}
