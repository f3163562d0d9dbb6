// The one way tests run a model in onnxruntime directly (not through the Detector): the graph
// contract's frames + starts form, every output with its dims. Parity tests compare these outputs
// with tfjs, the detector tests with what the worker pipeline scored.
import * as ort from 'onnxruntime-node';
import { quietOnnxruntime } from '../../src/infer/providers.js';

// The first session of the process fixes onnxruntime's log level: the same as the detector's.
quietOnnxruntime();

/** Every output of one run, row-major, with its dims. */
export type OrtOutputs = Record<string, { data: Float32Array; dims: readonly number[] }>;

/** One intra-op thread: polite to the shared cores, and what the design notes measured fastest. */
export async function runModel(bytes: Uint8Array, frames: Float32Array, channels: number, starts: ArrayLike<number>): Promise<OrtOutputs> {
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: 1, interOpNumThreads: 1 });
  try {
    const out = await session.run({
      frames: new ort.Tensor('float32', frames, [frames.length / channels, channels]),
      starts: new ort.Tensor('int64', BigInt64Array.from(Array.from(starts, (s) => BigInt(s))), [starts.length]),
    });
    return Object.fromEntries(Object.entries(out).map(([k, v]) => [k, { data: v.data as Float32Array, dims: v.dims }]));
  } finally {
    await session.release();
  }
}

/** Largest `|a - b| / max(1, |b|)`; throws on a length mismatch. */
export function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`length ${a.length} != ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}
