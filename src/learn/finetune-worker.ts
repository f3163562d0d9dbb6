/**
 * The fine-tuning worker thread: holds a tfjs copy of the model, continues training it from the
 * live version's weights on the update buffers and exports it to ONNX, off the scoring thread
 * (tfjs training blocks its thread for seconds). Checking the export against onnxruntime is the
 * {@link FineTuner}'s (on the calling side, through the detector's inference worker).
 *
 * Training runs through training's one loop (`trainLoop`: seeded shuffling, divergence check) with
 * a step of its own. Loss: the kind's own training loss on the normal windows (`fineTuneLoss` in
 * the registry: reconstruction error for the autoencoders, the Gaussian NLL + KL for DC-VAE, the
 * forecast error for DeepAnT), plus `anomalyWeight` times a hinge on the labelled anomalies'
 * scores, `relu(log(margin) - log(score))`, which pushes them up to at least `margin` (the live
 * threshold times a factor) without rewarding them without bound.
 */
import { parentPort } from 'node:worker_threads';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { mulberry32 } from '../stats/random.js';
import { applyScaler, fitScaler, getKind, initBackend, listKinds, type ModelKindSpec, type Scaler } from '../../training/index.js';
import { trainLoop } from '../../training/fit.js';
import type { FineTuneParams, FineTuneRequest, FineTuneResponse, WeightTensor } from './finetune-protocol.js';

const port = parentPort!;
let state: { kind: string; config: Record<string, unknown>; channels: string[]; scaler: Scaler; model: tfl.LayersModel } | undefined;

port.on('message', (msg: FineTuneRequest) => {
  void handle(msg).catch((err: Error) => {
    port.postMessage({ type: 'error', id: msg.type === 'update' ? msg.id : null, message: err.stack ?? err.message } satisfies FineTuneResponse);
  });
});

async function handle(msg: FineTuneRequest): Promise<void> {
  if (msg.type === 'close') {
    state?.model.dispose();
    port.close();
    return;
  }
  if (msg.type === 'init') {
    const { backend } = await initBackend(msg.backend);
    const spec = getKind(msg.kind);
    if (!spec.fineTuneLoss) {
      const tunable = listKinds().filter((k) => getKind(k).fineTuneLoss);
      throw new Error(`model kind '${msg.kind}' cannot be fine-tuned online (fine-tunable kinds: ${tunable.join(', ')}); retrain it on recent data with \`seismo train\` instead`);
    }
    const config = spec.resolveConfig(msg.config as never, msg.channels.length);
    state = { kind: msg.kind, config: config as unknown as Record<string, unknown>, channels: msg.channels, scaler: msg.scaler, model: spec.build(config) };
    port.postMessage({ type: 'ready', backend } satisfies FineTuneResponse);
    return;
  }
  if (!state) throw new Error('fine-tune worker used before init');
  const t0 = performance.now();
  const { model } = state;
  let scaler: Scaler = msg.scaler;
  const spec = getKind(state.kind);
  const W = state.config.window as number;
  const C = state.channels.length;
  const per = W * C;
  const setWeights = (weights: WeightTensor[]): void => {
    const tensors = weights.map((w) => tf.tensor(w.data, w.shape));
    model.setWeights(tensors);
    tf.dispose(tensors);
  };
  setWeights(msg.weights);
  const tfScores = (raw: Float32Array): Float32Array => {
    if (raw.length === 0) return new Float32Array(0);
    return tf.tidy(() => spec.scoreWindows(model, tf.tensor3d(applyScaler(raw, scaler), [raw.length / per, W, C])).score.dataSync() as Float32Array);
  };
  const checkBefore = tfScores(msg.check);
  // A stream whose normal behaviour left the scaler's range (a new service, new units) cannot be
  // learned by a few steps in the old scaled space: refit the scaler on the normal windows and
  // let fine-tuning adapt the weights to it. The scaler stays for later updates.
  let rescaled = false;
  let normal = msg.normal;
  if (msg.params.rescaleAbove > 0 && msg.labelledNormal > 0) {
    // Per channel, over the labelled normal windows only (the replay holds the old regime): one
    // channel far outside its old range is enough to dominate the reconstruction error.
    const z = new Float64Array(C);
    const n = msg.labelledNormal * per;
    for (let i = 0; i < n; i++) z[i % C] += Math.abs((msg.normal[i]! - scaler.mean[i % C]!) / scaler.std[i % C]!);
    if (Math.max(...z) / (n / C) > msg.params.rescaleAbove) {
      // Means move to the new data; a spread never shrinks below the live one, because a channel
      // that happens to be (near) constant in a small update sample would otherwise get a tiny
      // std and turn every later change of it into an enormous score.
      // The anchor describes the regime the input just left: neither the scaler nor the update learns it.
      normal = msg.normal.subarray(0, msg.normal.length - msg.anchorNormal * per);
      const fitted = fitScaler(normal, C);
      scaler = { mean: fitted.mean, std: fitted.std.map((s, c) => Math.max(s, scaler.std[c]!)) };
      rescaled = true;
    }
  }
  const losses = await fineTune(spec, state.config, model, W, C, applyScaler(normal, scaler), applyScaler(msg.anomaly, scaler), msg.params);
  const onnx = spec.exportOnnx(model, state.config as never, state.channels, scaler);
  const checkTf = tfScores(msg.check);
  const weights = model.getWeights().map((w) => ({ shape: w.shape.slice(), data: Float32Array.from(w.dataSync() as Float32Array) }));
  const res: FineTuneResponse = { type: 'done', id: msg.id, onnx, weights, losses, scaler: { mean: [...scaler.mean], std: [...scaler.std] }, rescaled, checkBefore, checkTf, seconds: (performance.now() - t0) / 1000 };
  port.postMessage(res, [onnx.buffer as ArrayBuffer, ...weights.map((w) => w.data.buffer as ArrayBuffer)]);
}

/**
 * Continues training from the current weights through `trainLoop`: the normal windows (scaled,
 * `[n, W, C]`) laid end to end are the loop's frames, one window starting every W rows; each step
 * adds a few labelled anomalies drawn with replacement (they are few and must not be forgotten
 * within an epoch). No validation split and no early stopping: the update's checks come after.
 * @returns the mean loss per epoch.
 */
async function fineTune(spec: ModelKindSpec, config: Record<string, unknown>, model: tfl.LayersModel, W: number, C: number, normalScaled: Float32Array, anomalyScaled: Float32Array, p: FineTuneParams): Promise<number[]> {
  const kindLoss = spec.fineTuneLoss!;
  const nN = normalScaled.length / (W * C);
  const nA = anomalyScaled.length / (W * C);
  if (nN === 0) return [];
  const frames = tf.tensor2d(normalScaled, [nN * W, C]);
  const anomaly = tf.tensor3d(anomalyScaled, [nA, W, C]);
  const optimizer = tf.train.adam(p.learningRate);
  const vars = model.trainableWeights.map((w) => (w as unknown as { read(): tf.Variable }).read());
  const logMargin = Math.log(Math.max(p.margin, 1e-12));
  // One seeded stream for the batch order and the anomaly draws: the same buffers and seed give the same update.
  const rand = mulberry32(p.seed);
  const perStep = Math.min(nA, Math.max(1, Math.ceil(p.batchSize / 4)));
  try {
    const fit = await trainLoop(frames, Int32Array.from({ length: nN }, (_, i) => i * W), new Int32Array(0), { window: W, epochs: p.epochs, batchSize: p.batchSize, patience: 0, seed: p.seed, rand }, {
      restoreBest: false,
      snapshot: () => [],
      restore: () => {},
      valLoss: () => NaN,
      step: (windows) => {
        const idxA = Int32Array.from({ length: perStep }, () => Math.floor(rand() * nA));
        const cost = optimizer.minimize(
          () =>
            tf.tidy(() => {
              let loss = kindLoss(model, config as never, windows) as tf.Scalar;
              if (nA > 0 && p.anomalyWeight > 0) {
                const x = tf.gather(anomaly, tf.tensor1d(idxA, 'int32')) as tf.Tensor3D;
                // The score the exported graph computes (differentiable on the tfjs side), so the margin is in threshold units for every kind.
                const score = spec.scoreWindows(model, x).score;
                const hinge = tf.mean(tf.relu(tf.sub(logMargin, tf.log(tf.add(score, 1e-12)))));
                loss = tf.add(loss, tf.mul(p.anomalyWeight, hinge));
              }
              return loss;
            }),
          true,
          vars,
        );
        const v = cost!.dataSync()[0]!;
        cost!.dispose();
        return v;
      },
    });
    return fit.losses;
  } finally {
    optimizer.dispose();
    tf.dispose([frames, anomaly]);
  }
}
