/**
 * Shared checks of the per-record baseline kinds (dense-ae, vae, bigan, pca, ocsvm): train on a
 * small seeded series, run the exported graph in onnxruntime on the contract's frames + starts,
 * and compare with the kind's tfjs-side scores.
 */
import assert from 'node:assert/strict';
import * as tf from '@tensorflow/tfjs-core';
import { cutScaledWindows, getKind, type KindConfigs, trainModel, type TrainResult } from '../../training/index';
import { maxAbsDiff, sineMixture } from './helpers';
import { runModel } from '../helpers/ort-run';

export const CHANNELS = ['a', 'b', 'c'];

/** tfjs-side score and channel_score of the windows at `starts`. */
export function tfjsScores(result: TrainResult, frames: Float32Array, starts: readonly number[]): { score: Float32Array; channelScore: Float32Array } {
  const W = result.manifest.window;
  const C = result.manifest.channels.length;
  const windows = tf.tensor3d(cutScaledWindows(frames, result.manifest.scaler, W, starts), [starts.length, W, C]);
  try {
    const s = getKind(result.manifest.kind).scoreWindows(result.model, windows);
    try {
      return { score: s.score.dataSync() as Float32Array, channelScore: s.channelScore.dataSync() as Float32Array };
    } finally {
      tf.dispose([s.score, s.channelScore, ...('reconstruction' in s ? [s.reconstruction] : [])]);
    }
  } finally {
    windows.dispose();
  }
}

/** A series with a planted anomaly: frames [200, 212) of channel 1 pushed far off. */
export function plantedSeries(T = 300): { frames: Float32Array; labels: Uint8Array } {
  const frames = sineMixture(T, CHANNELS.length, 5);
  const labels = new Uint8Array(T);
  for (let t = 200; t < 212; t++) {
    frames[t * CHANNELS.length + 1]! += 400;
    labels[t] = 1;
  }
  return { frames, labels };
}

/**
 * Trains `kind` on clean frames, then checks on test frames with planted anomalies: ORT == tfjs
 * (<= tol, relative to max(1, |score|)), channel_score sums to score, scores finite, anomalies
 * ranked above normal frames (ROC AUC > 0.9).
 */
export async function checkKind<K extends keyof KindConfigs>(kind: K, config: Partial<KindConfigs[K]>, tol = 1e-4): Promise<TrainResult> {
  const train = sineMixture(300, CHANNELS.length, 3);
  const result = await trainModel({ kind, frames: train, channels: CHANNELS, config });
  const W = result.manifest.window;
  const { frames, labels } = plantedSeries();
  const starts = Array.from({ length: 300 - W + 1 }, (_, i) => i);
  const out = await runModel(result.onnx, frames, CHANNELS.length, starts);
  const js = tfjsScores(result, frames, starts);
  const scale = Math.max(1, ...Array.from(out['score']!.data, Math.abs));
  assert.ok(maxAbsDiff(js.score, out['score']!.data) <= tol * scale, `score parity ${maxAbsDiff(js.score, out['score']!.data)}`);
  assert.ok(maxAbsDiff(js.channelScore, out['channel_score']!.data) <= tol * scale, `channel_score parity ${maxAbsDiff(js.channelScore, out['channel_score']!.data)}`);
  const C = CHANNELS.length;
  out['score']!.data.forEach((s, n) => {
    assert.ok(Number.isFinite(s));
    let sum = 0;
    for (let c = 0; c < C; c++) sum += out['channel_score']!.data[n * C + c]!;
    assert.ok(Math.abs(sum - s) <= 1e-5 * Math.max(1, Math.abs(s)), `window ${n}: channel sum ${sum} != score ${s}`);
  });
  // A window is anomalous when its last frame is (the streaming convention).
  const windowLabels = starts.map((s) => labels[s + W - 1]!);
  assert.ok(auc(windowLabels, out['score']!.data) > 0.9, `AUC ${auc(windowLabels, out['score']!.data)}`);
  return result;
}

/** ROC AUC by the rank-sum formula (ties count half). */
export function auc(labels: ArrayLike<number>, scores: ArrayLike<number>): number {
  let pos = 0;
  let neg = 0;
  let wins = 0;
  for (let i = 0; i < labels.length; i++) {
    if (!labels[i]) continue;
    pos++;
    for (let j = 0; j < labels.length; j++) {
      if (labels[j]) continue;
      if (scores[i]! > scores[j]!) wins++;
      else if (scores[i] === scores[j]) wins += 0.5;
    }
  }
  for (let j = 0; j < labels.length; j++) if (!labels[j]) neg++;
  return wins / (pos * neg);
}
