/**
 * The trainable state of a model version, kept beside its graph: `weights.json` (the tensors'
 * shapes in tfjs `model.getWeights()` order, and the SHA-256 of the `model.onnx` they belong to)
 * and `weights.bin` (their float32 values, little-endian, one after the other).
 *
 * Scoring needs only the ONNX graph. Continued training (the online learner) needs these: with
 * them a learner can attach to a model directory written by `seismo train`, by another process,
 * or by itself before a restart, instead of only to a model trained in the same process.
 *
 * This file is the format only (bytes in, tensors out); reading and writing the files is the
 * model directory's (`./model-dir.ts`: `readWeights`, `writeWeights`, `writeModelDir`).
 */
import { createHash } from 'node:crypto';
import os from 'node:os';
import { SeismoError } from '../errors.js';

/** One tensor of a model's trainable state. */
export interface WeightTensor {
  shape: number[];
  /** Row-major values; length = product of `shape`. */
  data: Float32Array;
}

export const WEIGHTS_INDEX_FILE = 'weights.json';
export const WEIGHTS_FILE = 'weights.bin';
const WEIGHTS_FORMAT = 1;

/** Contents of `weights.json`. */
export interface WeightsIndex {
  format: number;
  /** SHA-256 (hex) of the `model.onnx` exported from these weights: a stale pair is refused. */
  onnxSha256: string;
  shapes: number[][];
  bytes: number;
}

/** SHA-256 of `bytes`, hex. */
export function sha256(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function assertLittleEndian(): void {
  // The file is little-endian; a Float32Array is in the platform's order. Every platform seismo
  // ships a prebuilt addon for is little-endian: say so rather than write a file that reads wrong.
  if (os.endianness() !== 'LE') throw new SeismoError('ERR_INVALID_OPTION', 'weights files are little-endian; this platform is big-endian');
}

/**
 * The two files of `weights` saved for the graph whose SHA-256 is `onnxSha256`.
 * @throws SeismoError `ERR_BAD_SHAPE` when a tensor's data does not match its shape;
 *   `ERR_NON_FINITE` on NaN or infinite values.
 */
export function encodeWeights(weights: readonly WeightTensor[], onnxSha256: string): { index: string; bin: Uint8Array } {
  assertLittleEndian();
  let floats = 0;
  weights.forEach((w, i) => {
    const n = w.shape.reduce((a, b) => a * b, 1);
    if (!w.shape.every((d) => Number.isInteger(d) && d >= 0) || n !== w.data.length) {
      throw new SeismoError('ERR_BAD_SHAPE', `weight tensor ${i} has shape [${w.shape.join(', ')}] but ${w.data.length} values`);
    }
    for (let k = 0; k < n; k++) {
      if (!Number.isFinite(w.data[k]!)) throw new SeismoError('ERR_NON_FINITE', `weight tensor ${i} holds ${w.data[k]} at ${k}: refusing to save a diverged model`);
    }
    floats += n;
  });
  const all = new Float32Array(floats);
  let at = 0;
  for (const w of weights) {
    all.set(w.data, at);
    at += w.data.length;
  }
  const index: WeightsIndex = { format: WEIGHTS_FORMAT, onnxSha256, shapes: weights.map((w) => [...w.shape]), bytes: all.byteLength };
  return { index: `${JSON.stringify(index)}\n`, bin: new Uint8Array(all.buffer) };
}

/**
 * Tensors from the two files.
 * @param indexText contents of `weights.json`; `indexPath`/`binPath` name the files in errors.
 * @param onnxSha256 SHA-256 of the directory's `model.onnx`.
 * @throws SeismoError `ERR_MODEL_CORRUPT` on an unreadable index or a data file of the wrong
 *   size; `ERR_MODEL_MISMATCH` when they were saved for another `model.onnx`.
 */
export function decodeWeights(indexText: string, bin: Uint8Array | undefined, onnxSha256: string, indexPath: string, binPath: string): WeightTensor[] {
  assertLittleEndian();
  let index: WeightsIndex;
  try {
    index = JSON.parse(indexText) as WeightsIndex;
  } catch (cause) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${indexPath} is not valid JSON: ${(cause as Error).message}`, { file: indexPath }, { cause });
  }
  const shapesOk = Array.isArray(index?.shapes) && index.shapes.every((s) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0));
  if (index?.format !== WEIGHTS_FORMAT || !shapesOk || typeof index.onnxSha256 !== 'string') {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${indexPath} is not a seismo weights index (format ${WEIGHTS_FORMAT})`, { file: indexPath });
  }
  if (index.onnxSha256 !== onnxSha256) {
    throw new SeismoError('ERR_MODEL_MISMATCH', `${indexPath} was saved for another model.onnx: the directory mixes files of two models (retrain, or delete the weights files to score only)`, { file: indexPath });
  }
  const floats = index.shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  if (!bin || bin.byteLength !== floats * 4) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${binPath} ${bin ? `holds ${bin.byteLength} bytes` : 'is missing'}; ${WEIGHTS_INDEX_FILE} describes ${floats * 4}`, { file: binPath });
  }
  // One copy out of the file buffer (which may not be 4-byte aligned), then views per tensor.
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(bin);
  let at = 0;
  return index.shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = all.subarray(at, at + n);
    at += n;
    return { shape: [...shape], data };
  });
}
