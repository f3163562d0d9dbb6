/** Messages between the learner and its fine-tuning worker thread. */

import type { WeightTensor } from '../model/weights.js';

/** A model's trainable state: tfjs weights in `model.getWeights()` order. */
export type { WeightTensor };

/** Fine-tuning hyper-parameters (see {@link FineTuneOptions} in online.ts for their meaning). */
export interface FineTuneParams {
  epochs: number;
  batchSize: number;
  learningRate: number;
  anomalyWeight: number;
  margin: number;
  seed: number;
  /**
   * Refit the per-channel scaler on the normal windows first when, in some channel, the labelled ones' mean |z| under the live
   * scaler exceeds this (normal data under its own scaler sits near 0.8); 0 never refits.
   */
  rescaleAbove: number;
}

export type FineTuneRequest =
  | {
      type: 'init';
      kind: string;
      /** The manifest's hyper-parameters (the resolved config the model was built with). */
      config: Record<string, unknown>;
      channels: string[];
      scaler: { mean: number[]; std: number[] };
      backend?: string;
    }
  | {
      type: 'update';
      id: number;
      /** Weights to start from, and the scaler baked into that version's graph. */
      weights: WeightTensor[];
      scaler: { mean: number[]; std: number[] };
      /** Raw windows `[n, W, C]` to reconstruct well, and `[m, W, C]` to reconstruct badly. */
      normal: Float32Array;
      anomaly: Float32Array;
      /** The first `labelledNormal` windows of `normal` are labelled; the rest are replayed. */
      labelledNormal: number;
      /** The last `anchorNormal` windows of `normal` are the anchor (the starting model's training sample): left out when the scaler is refitted. */
      anchorNormal: number;
      /** Raw windows `[k, W, C]` scored before and after (held-out check, calibration). */
      check: Float32Array;
      params: FineTuneParams;
    }
  | { type: 'close' };

export type FineTuneResponse =
  | { type: 'ready'; backend: string }
  | {
      type: 'done';
      id: number;
      onnx: Uint8Array;
      weights: WeightTensor[];
      /** Mean loss per epoch. */
      losses: number[];
      /** Scores of `check` by the starting weights (tfjs) and by the exported graph (onnxruntime). */
      checkBefore: Float32Array;
      checkAfter: Float32Array;
      /** Scores by the exported graph of the normal windows trained on (`normal`, less the anchor after a rescale) and of `anomaly`. */
      normalAfter: Float32Array;
      anomalyAfter: Float32Array;
      /** The scaler baked into the new graph (the live one unless it was refitted). */
      scaler: { mean: number[]; std: number[] };
      rescaled: boolean;
      /** Largest |tfjs - onnxruntime| score difference over the check windows, relative to max(1, |score|). */
      parity: number;
      seconds: number;
    }
  | { type: 'error'; id: number | null; message: string };
