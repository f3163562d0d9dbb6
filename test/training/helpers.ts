/**
 * Fixtures and the ORT side of the training tests: a seeded multichannel sine mixture, and
 * running exported bytes through onnxruntime-node in the contract's frames + starts form.
 */
import { runModel } from '../helpers/ort-run';
import * as tf from '@tensorflow/tfjs-core';
import type * as tfl from '@tensorflow/tfjs-layers';
import { seededRandom } from '../../training/fit';

/**
 * A seeded mixture of sines with noise, row-major `[T, C]`, channels on different scales and
 * offsets (so the scaler matters) and with different periods (so the channels are not copies).
 */
export function sineMixture(frames: number, channels: number, seed = 1): Float32Array {
  const rand = seededRandom(seed);
  const out = new Float32Array(frames * channels);
  for (let t = 0; t < frames; t++) {
    for (let c = 0; c < channels; c++) {
      const p1 = 11 + 5 * c;
      const p2 = 37 + 3 * c;
      const v = Math.sin((2 * Math.PI * t) / p1) + 0.5 * Math.sin((2 * Math.PI * t) / p2 + c) + 0.1 * (rand() - 0.5);
      out[t * channels + c] = (c + 1) * 10 * v + 100 * c;
    }
  }
  return out;
}

/** Outputs of one ORT run, row-major. */
export interface OrtScores {
  reconstruction: Float32Array;
  channelScore: Float32Array;
  score: Float32Array;
  /** Shapes by output name. */
  dims: Record<string, readonly number[]>;
}

/**
 * Runs exported model bytes on raw frames `[T, C]` and window starts, one intra-op thread
 * (what the design notes measured fastest here, and polite to the shared cores).
 */
export async function runOrt(onnx: Uint8Array, frames: Float32Array, channels: number, starts: readonly number[]): Promise<OrtScores> {
  const out = await runModel(onnx, frames, channels, starts);
  return {
    reconstruction: out['reconstruction']!.data,
    channelScore: out['channel_score']!.data,
    score: out['score']!.data,
    dims: Object.fromEntries(Object.entries(out).map(([k, v]) => [k, v.dims])),
  };
}

/** Largest absolute elementwise difference; throws on a length mismatch. */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/**
 * Overwrites every weight with seeded uniform values in [-scale, scale]: every gate block and
 * bias differs from its init, so an exporter that mixes up weights cannot go unnoticed.
 */
export function scrambleWeights(model: tfl.LayersModel, seed: number, scale: number): void {
  const rand = seededRandom(seed);
  for (const layer of model.layers) {
    const ws = layer.getWeights();
    if (ws.length === 0) continue;
    const fresh = ws.map((w) => tf.tensor(Float32Array.from({ length: w.size }, () => (2 * rand() - 1) * scale), w.shape));
    layer.setWeights(fresh);
    tf.dispose(fresh);
  }
}
