/** Messages between the learner and its fine-tuning worker thread. */

import type { WeightTensor } from '../model/model-dir.js';

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
      /** tfjs scores of `check` by the starting weights and by the fine-tuned ones (the learner compares the latter with onnxruntime's). */
      checkBefore: Float32Array;
      checkTf: Float32Array;
      /** The scaler baked into the new graph (the live one unless it was refitted). */
      scaler: { mean: number[]; std: number[] };
      rescaled: boolean;
      seconds: number;
    }
  | { type: 'error'; id: number | null; message: string };
