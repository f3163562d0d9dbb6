/**
 * The trainable state of a model version, kept beside its graph: `weights.json` (the tensors'
 * shapes in tfjs `model.getWeights()` order, and the SHA-256 of the `model.onnx` they belong to)
 * and `weights.bin` (their float32 values, little-endian, one after the other).
 *
 * Scoring needs only the ONNX graph. Continued training (the online learner) needs these: with
 * them a learner can attach to a model directory written by `seismo train`, by another process,
 * or by itself before a restart, instead of only to a model trained in the same process.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeFileAtomic } from '../atomic-file.js';
import { SeismoError } from '../errors.js';
import { MODEL_FILE } from './manifest.js';

/** One tensor of a model's trainable state. */
export interface WeightTensor {
  shape: number[];
  /** Row-major values; length = product of `shape`. */
  data: Float32Array;
}

export const WEIGHTS_INDEX_FILE = 'weights.json';
export const WEIGHTS_FILE = 'weights.bin';
const WEIGHTS_FORMAT = 1;

interface WeightsIndex {
  format: number;
  /** SHA-256 (hex) of the `model.onnx` exported from these weights: a stale pair is refused. */
  onnxSha256: string;
  shapes: number[][];
  bytes: number;
}

function sha256(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

function assertLittleEndian(): void {
  // The file is little-endian; a Float32Array is in the platform's order. Every platform seismo
  // ships a prebuilt addon for is little-endian: say so rather than write a file that reads wrong.
  if (os.endianness() !== 'LE') throw new SeismoError('ERR_INVALID_OPTION', 'weights files are little-endian; this platform is big-endian');
}

/**
 * Writes `weights.json` and `weights.bin` into the model directory `dir`, which must already hold
 * the `model.onnx` exported from these weights.
 * @throws SeismoError `ERR_MODEL_NOT_FOUND` without `model.onnx`; `ERR_BAD_SHAPE` when a tensor's
 *   data does not match its shape; `ERR_NON_FINITE` on NaN or infinite values.
 */
export function writeWeights(dir: string, weights: WeightTensor[]): void {
  assertLittleEndian();
  const onnxPath = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(onnxPath)) throw new SeismoError('ERR_MODEL_NOT_FOUND', `${onnxPath} is missing: write the model directory before its weights`, { dir });
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
  const index: WeightsIndex = { format: WEIGHTS_FORMAT, onnxSha256: sha256(fs.readFileSync(onnxPath)), shapes: weights.map((w) => [...w.shape]), bytes: all.byteLength };
  writeFileAtomic(path.join(dir, WEIGHTS_FILE), new Uint8Array(all.buffer));
  // The index last: a directory with an index has complete weights.
  writeFileAtomic(path.join(dir, WEIGHTS_INDEX_FILE), `${JSON.stringify(index)}\n`);
}

/**
 * Reads the weights saved beside `dir`'s `model.onnx`; `undefined` when the directory has none
 * (a model directory without them scores as well, it just cannot be fine-tuned).
 * @throws SeismoError `ERR_MODEL_CORRUPT` on an unreadable index or a data file of the wrong
 *   size; `ERR_MODEL_MISMATCH` when they were saved for another `model.onnx`.
 */
export function readWeights(dir: string): WeightTensor[] | undefined {
  assertLittleEndian();
  const indexPath = path.join(dir, WEIGHTS_INDEX_FILE);
  if (!fs.existsSync(indexPath)) return undefined;
  let index: WeightsIndex;
  try {
    index = JSON.parse(fs.readFileSync(indexPath, 'utf8')) as WeightsIndex;
  } catch (cause) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${indexPath} is not valid JSON: ${(cause as Error).message}`, { file: indexPath }, { cause });
  }
  const shapesOk = Array.isArray(index?.shapes) && index.shapes.every((s) => Array.isArray(s) && s.every((d) => Number.isInteger(d) && d >= 0));
  if (index?.format !== WEIGHTS_FORMAT || !shapesOk || typeof index.onnxSha256 !== 'string') {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${indexPath} is not a seismo weights index (format ${WEIGHTS_FORMAT})`, { file: indexPath });
  }
  const onnxPath = path.join(dir, MODEL_FILE);
  if (!fs.existsSync(onnxPath) || sha256(fs.readFileSync(onnxPath)) !== index.onnxSha256) {
    throw new SeismoError('ERR_MODEL_MISMATCH', `${indexPath} was saved for another ${MODEL_FILE}: the directory mixes files of two models (retrain, or delete the weights files to score only)`, { file: indexPath });
  }
  const binPath = path.join(dir, WEIGHTS_FILE);
  const floats = index.shapes.reduce((a, s) => a + s.reduce((x, y) => x * y, 1), 0);
  const bytes = fs.existsSync(binPath) ? fs.readFileSync(binPath) : undefined;
  if (!bytes || bytes.byteLength !== floats * 4) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${binPath} ${bytes ? `holds ${bytes.byteLength} bytes` : 'is missing'}; ${WEIGHTS_INDEX_FILE} describes ${floats * 4}`, { file: binPath });
  }
  // One copy out of the file buffer (which may not be 4-byte aligned), then views per tensor.
  const all = new Float32Array(floats);
  new Uint8Array(all.buffer).set(bytes);
  let at = 0;
  return index.shapes.map((shape) => {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = all.subarray(at, at + n);
    at += n;
    return { shape: [...shape], data };
  });
}
