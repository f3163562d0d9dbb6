/**
 * Dense variational autoencoder baseline (Kingma & Welling 2014; as an anomaly detector An & Cho,
 * "Variational autoencoder based anomaly detection using reconstruction probability", 2015).
 *
 * Encoder: Flatten -> hidden Dense stack -> two heads, `mu` and `logvar` (`[B, latent]`).
 * Training: `z = mu + exp(logvar / 2) * eps` with seeded standard-normal `eps` (the seed of step
 * s is `seed * 7919 + s`, so a run is reproducible and every step draws fresh noise); decoder
 * hidden Dense stack -> Dense(D, linear). Loss per window, averaged over the batch:
 *   0.5 * sum_d (x_d - x'_d)^2  +  klWeight * KL(N(mu, exp(logvar)) || N(0, I))
 * i.e. the negative ELBO under a unit-variance Gaussian decoder (constants dropped).
 *
 * Inference is deterministic: the decoder takes the latent mean (`z = mu`), and the score is the
 * mean squared reconstruction error over the window (the other reconstruction kinds' score),
 * not a sampled reconstruction probability, so that scores are reproducible and the exported
 * graph needs no random op. Validation loss (early stopping) is the same ELBO at `z = mu`.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs-layers';
import { type BaseTrainConfig, type FitResult } from '../../fit';
import { type HiddenActivation, applyPart, denseLayer, fitCustom, flatWindows, partLayers, restoreWeights, seedSequence, snapshotWeights, variablesOf } from '../../classic/common';
import type { KindTrainContext } from '../../kind-spec';
import type { VaeConfig } from './config';

export { type VaeConfig, VAE_DEFAULTS, resolveVaeConfig } from './config';

/** Layer names: the inference path is enc_h* -> enc_mu -> dec_*, in that order in the model. */
export const VAE_LAYERS = { encoderHidden: 'enc_h', mu: 'enc_mu', decoder: 'dec_', logvar: 'vae_logvar' } as const;

/**
 * The VAE's inference model: `[B, W, C]` -> encoder -> mu -> decoder -> `[B, W, C]` (what
 * `predict`, the scores and the export use). The `logvar` head lives in a second model that only
 * training needs: see {@link trainVae}.
 */
export function buildVae(config: VaeConfig): tfl.LayersModel {
  return buildVaeParts(config).model;
}

function buildVaeParts(config: VaeConfig): { model: tfl.LayersModel; logvar: tfl.LayersModel } {
  const { window: W, channels: C } = config;
  const next = seedSequence(config.seed);
  const model = tfl.sequential({ name: 'vae' });
  model.add(tfl.layers.flatten({ inputShape: [W, C], name: 'flatten' }));
  config.encoderUnits.forEach((u, i) => model.add(denseLayer(`${VAE_LAYERS.encoderHidden}${i}`, u, config.activation, next())));
  model.add(denseLayer(VAE_LAYERS.mu, config.latent, 'linear', next()));
  const dec = config.decoderUnits ?? [];
  dec.forEach((u, i) => model.add(denseLayer(`${VAE_LAYERS.decoder}${i}`, u, config.activation, next())));
  model.add(denseLayer(`${VAE_LAYERS.decoder}out`, W * C, 'linear', next()));
  model.add(tfl.layers.reshape({ targetShape: [W, C], name: 'unflatten' }));
  const logvar = tfl.sequential({ name: 'vae_logvar_head' });
  // Zero-initialised: training starts at unit posterior variance, a gentle start for the KL term.
  logvar.add(tfl.layers.dense({ name: VAE_LAYERS.logvar, units: config.latent, inputDim: config.encoderUnits.at(-1)!, kernelInitializer: 'zeros', biasInitializer: 'zeros' }));
  return { model, logvar };
}

/** Negative ELBO per window, batch mean, and its parts. */
function elbo(model: tfl.LayersModel, logvarHead: tfl.LayersModel, windows: tf.Tensor3D, eps: tf.Tensor2D | null, klWeight: number, training: boolean): tf.Scalar {
  const x = flatWindows(windows);
  const h = applyPart(partLayers(model, VAE_LAYERS.encoderHidden), x, training);
  const mu = applyPart([model.getLayer(VAE_LAYERS.mu)], h, training);
  const logvar = applyPart(logvarHead.layers, h, training);
  const z = eps ? tf.add(mu, tf.mul(tf.exp(tf.mul(logvar, 0.5)), eps)) : mu;
  const rec = applyPart(partLayers(model, VAE_LAYERS.decoder), z, training);
  const recLoss = tf.mul(tf.sum(tf.squaredDifference(rec, x), 1), 0.5);
  const kl = tf.mul(tf.sum(tf.sub(tf.add(tf.square(mu), tf.exp(logvar)), tf.add(logvar, 1)), 1), 0.5);
  return tf.mean(tf.add(recLoss, tf.mul(kl, klWeight))) as tf.Scalar;
}

/** Trains the VAE with seeded reparameterisation noise; returns the inference model. */
export async function trainVae(ctx: KindTrainContext<VaeConfig>): Promise<{ model: tfl.LayersModel; fit: FitResult }> {
  const { config } = ctx;
  const { model, logvar } = buildVaeParts(config);
  const optimizer = tf.train.adam(config.learningRate);
  try {
    const trainable = [
      ...partLayers(model, VAE_LAYERS.encoderHidden),
      model.getLayer(VAE_LAYERS.mu),
      ...partLayers(model, VAE_LAYERS.decoder),
      ...logvar.layers,
    ];
    const vars = variablesOf(trainable);
    const fit = await fitCustom(ctx, {
      restoreBest: true,
      step: (windows, step) =>
        tf.tidy(() => {
          const eps = tf.randomNormal([windows.shape[0], config.latent], 0, 1, 'float32', config.seed * 7919 + step) as tf.Tensor2D;
          const cost = optimizer.minimize(() => elbo(model, logvar, windows, eps, config.klWeight, true), true, vars);
          return cost!.dataSync()[0]!;
        }),
      valLoss: (windows) => tf.tidy(() => elbo(model, logvar, windows, null, config.klWeight, false).dataSync()[0]!),
      snapshot: () => snapshotWeights([model, logvar]),
      restore: (w) => restoreWeights([model, logvar], w),
    });
    return { model, fit };
  } catch (err) {
    model.dispose();
    throw err;
  } finally {
    // Only training needs the logvar head and Adam's moments.
    logvar.dispose();
    optimizer.dispose();
  }
}
