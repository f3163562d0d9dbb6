/**
 * The model directory, and the one module that reads and writes its files:
 *
 *   model.json        the manifest (./manifest.ts), with the SHA-256 of every other file
 *   model.onnx        the graph (the name is `manifest.onnx.file`, always inside the directory)
 *   weights.json/.bin the trainable state (./weights-format.ts), optional
 *   calibration.json  the score calibration, optional
 *
 * A model is written as a unit, by a small redo log: every new file is first written (and
 * fsynced) under a hidden staging name; then one record, `.seismo-commit.json`, naming the files
 * to rename and to delete, is renamed into place: that rename is the commit point. Applying the
 * record renames the staged files over the old ones and deletes the record. A process killed
 * before the commit point leaves the old model (and staging files that the next write deletes);
 * killed after it, the record is complete, readers already see the new model through it, and the
 * next write finishes applying it. So a reader sees the old model or the new one, never a mix,
 * and files beside the model (the user's own, other versions) are never touched. Why not a new
 * folder and a rename: a directory cannot be renamed over a non-empty one, and the gap between
 * moving the old folder away and the new one in would leave no model at all.
 *
 * The checksums in model.json catch what the redo log cannot: a `model.onnx` copied in from
 * another training (of the same kind and shape, so the graph's metadata agree) or damaged on disk.
 *
 * One writer per directory at a time (`train`, `calibrate`, a learner's version): concurrent
 * readers are safe, concurrent writers to the same directory are not supported.
 *
 * This file is the way in (everything outside src/model/ imports from here); its parts live beside
 * it: `commit.ts` (the redo log), `dir-view.ts` (reading a directory that may be mid-commit),
 * `graph-check.ts` (model.onnx against model.json), `calibration-file.ts` (calibration.json's shape),
 * `weights-format.ts` (weights.json + weights.bin), `manifest.ts` (model.json's schema).
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeismoError } from '../errors.js';
import { calibrationText, CALIBRATION_FILE, type ScoreCalibration } from './calibration-file.js';
import { commit, COMMIT_FILE, recover } from './commit.js';
import { consistently, describeIssues, DirView } from './dir-view.js';
import { checkGraph, checkStepGraph } from './graph-check.js';
import { MANIFEST_FILE, ManifestSchema, type Manifest } from './manifest.js';
import type { StepLayout } from '../infer/step-state.js';
import { decodeWeights, encodeWeights, sha256, WEIGHTS_FILE, WEIGHTS_INDEX_FILE, type WeightTensor } from './weights-format.js';

// The model directory is the one way in to its files: its parts are re-exported here.
export { CALIBRATION_FILE, checkCalibration, type ScoreCalibration } from './calibration-file.js';
export { checkGraph, checkStepGraph } from './graph-check.js';
export { WEIGHTS_FILE, WEIGHTS_INDEX_FILE, type WeightTensor } from './weights-format.js';

/** A model directory read from disk and checked: the manifest agrees with the ONNX graph. */
export interface ModelDir {
  dir: string;
  manifest: Manifest;
  /** The bytes of `model.onnx`. */
  onnx: Uint8Array;
  /** The score calibration stored with the model, if any (`calibration.json`). */
  calibration?: ScoreCalibration;
  /** The step graph (`manifest.step.file`) and its state layout, when the model has one. */
  step?: { onnx: Uint8Array; layout: StepLayout };
}

/** The optional files written with a model as part of the same unit. */
export interface ModelDirExtras {
  /** Trainable state in tfjs `getWeights()` order (what an online learner continues from). */
  weights?: readonly WeightTensor[];
  /** Score calibration of this graph on normal windows. */
  calibration?: ScoreCalibration;
  /**
   * The bytes of the step graph that `manifest.step` declares. Without them the directory is
   * written without a step graph (and `manifest.step` is dropped): a manifest copied from another
   * version must not name a graph of other weights.
   */
  step?: Uint8Array;
}

/** Largest `model.onnx` read: protobuf's own limit on a message. */
const MAX_ONNX_BYTES = 2 ** 31 - 1;
/** Files a model directory may hold besides the graph; a fresh model replaces (or drops) each. */
const MODEL_FILES = [MANIFEST_FILE, WEIGHTS_INDEX_FILE, WEIGHTS_FILE, CALIBRATION_FILE] as const;

// ---------------------------------------------------------------------------------------------
// Reading

/**
 * Reads `model.json`, `model.onnx` and `calibration.json` from `dir` and checks them against each
 * other.
 * @throws SeismoError `ERR_MODEL_NOT_FOUND` (no directory or file), `ERR_MODEL_CORRUPT` (unparsable
 *   JSON or ONNX, manifest fields missing or out of bounds, a file name that leaves the directory,
 *   a directory or device where a file should be), `ERR_MODEL_VERSION` (format version unknown),
 *   `ERR_MODEL_MISMATCH` (channels, window, kind or version differ from the graph's; a file whose
 *   checksum is not the one model.json records).
 */
export function readModelDir(dir: string): ModelDir {
  return consistently(dir, (view) => {
    const { manifest } = view.manifest();
    const bytes = view.read(manifest.onnx.file, 'graph', MAX_ONNX_BYTES);
    if (!bytes) throw new SeismoError('ERR_MODEL_NOT_FOUND', `${path.join(dir, manifest.onnx.file)} is missing (named by ${MANIFEST_FILE})`, { dir });
    // The graph's own checks first: a truncated file says so, rather than only that its checksum differs.
    checkGraph(manifest, bytes, path.join(dir, manifest.onnx.file));
    view.verify(manifest, manifest.onnx.file, bytes);
    const calibration = view.calibration(manifest);
    let step: ModelDir['step'];
    if (manifest.step) {
      const file = path.join(dir, manifest.step.file);
      const stepBytes = view.read(manifest.step.file, 'step graph', MAX_ONNX_BYTES);
      if (!stepBytes) throw new SeismoError('ERR_MODEL_NOT_FOUND', `${file} is missing (named by ${MANIFEST_FILE}); export the model again, or delete the 'step' entry to score through ${manifest.onnx.file} alone`, { dir });
      step = { onnx: stepBytes, layout: checkStepGraph(manifest, stepBytes, file) };
      view.verify(manifest, manifest.step.file, stepBytes);
    }
    return { dir, manifest, onnx: bytes, ...(calibration ? { calibration } : {}), ...(step ? { step } : {}) };
  });
}

/**
 * Reads the weights saved with `dir`'s graph; `undefined` when the directory has none (a model
 * directory without them scores as well, it just cannot be fine-tuned).
 * @throws SeismoError `ERR_MODEL_CORRUPT` on an unreadable index or a data file of the wrong
 *   size; `ERR_MODEL_MISMATCH` when they were saved for another `model.onnx`.
 */
export function readWeights(dir: string): WeightTensor[] | undefined {
  return consistently(dir, (view) => {
    const { manifest } = view.manifest();
    const index = view.read(WEIGHTS_INDEX_FILE, 'weights index', 1 << 26);
    if (!index) return undefined;
    const graph = view.read(manifest.onnx.file, 'graph', MAX_ONNX_BYTES);
    const bin = view.read(WEIGHTS_FILE, 'weights', MAX_ONNX_BYTES);
    // The format's own checks first (a truncated file says so), then that they are this model's.
    const weights = decodeWeights(Buffer.from(index).toString('utf8'), bin, graph ? sha256(graph) : '', path.join(dir, WEIGHTS_INDEX_FILE), path.join(dir, WEIGHTS_FILE));
    view.verify(manifest, WEIGHTS_INDEX_FILE, index);
    view.verify(manifest, WEIGHTS_FILE, bin!);
    return weights;
  });
}

/**
 * Reads `calibration.json` from a model directory; undefined when there is none.
 * @throws SeismoError `ERR_MODEL_CORRUPT` when it does not parse, `ERR_MODEL_MISMATCH` when it
 *   is not the calibration model.json was written with.
 */
export function readCalibration(dir: string): ScoreCalibration | undefined {
  return consistently(dir, (view) => view.calibration(view.exists(MANIFEST_FILE) ? view.manifest().manifest : undefined));
}

// ---------------------------------------------------------------------------------------------
// Writing

/**
 * Writes a model directory as one unit: the graph, the manifest (with the checksum of every
 * file), and the weights and calibration when given. Files of an earlier model in `dir` that the
 * new one does not have (its weights, its calibration) are deleted in the same unit; files that
 * are not a model's are left alone. A reader, and a process killed at any point, sees the old
 * model or the new one, never a mix.
 * @throws SeismoError `ERR_INVALID_OPTION` when the manifest does not validate, and what
 *   {@link checkGraph} throws when it does not describe `bytes`; `ERR_BAD_SHAPE`/`ERR_NON_FINITE`
 *   for malformed weights; `ERR_MODEL_CORRUPT` for a calibration without a finite center and scale.
 */
export function writeModelDir(dir: string, manifest: Manifest, bytes: Uint8Array, extras: ModelDirExtras = {}): void {
  const parsed = ManifestSchema.safeParse(manifest);
  if (!parsed.success) throw new SeismoError('ERR_INVALID_OPTION', `cannot write ${dir}: the manifest does not validate: ${describeIssues(parsed.error)}`, { dir });
  const m = parsed.data;
  checkGraph(m, bytes);
  const put = new Map<string, string | Uint8Array>([[m.onnx.file, bytes]]);
  if (m.step && extras.step) {
    checkStepGraph(m, extras.step, m.step.file);
    put.set(m.step.file, extras.step);
  } else {
    delete m.step;
  }
  if (extras.weights) {
    const w = encodeWeights(extras.weights, sha256(bytes));
    put.set(WEIGHTS_INDEX_FILE, w.index);
    put.set(WEIGHTS_FILE, w.bin);
  }
  if (extras.calibration) put.set(CALIBRATION_FILE, calibrationText(extras.calibration));
  const files = Object.fromEntries([...put].map(([name, content]) => [name, sha256(content)]));
  put.set(MANIFEST_FILE, manifestText({ ...m, files }));
  commit(dir, put, () => {
    let previous: Manifest | undefined;
    try {
      previous = new DirView(dir).manifest().manifest;
    } catch {
      previous = undefined; // no model yet, or a damaged one: nothing of it to keep track of
    }
    // Everything the previous model had that this one does not: a stale calibration or weights
    // beside a new graph would be read as this model's.
    const old = new Set<string>([...MODEL_FILES, ...Object.keys(previous?.files ?? {})]);
    if (previous) old.add(previous.onnx.file);
    return [...old].filter((name) => !put.has(name));
  });
}

/**
 * Saves `weights` with the graph already in `dir` (one unit with the manifest's checksums).
 * @throws SeismoError `ERR_MODEL_NOT_FOUND` without a model in `dir`; `ERR_BAD_SHAPE` when a
 *   tensor's data does not match its shape; `ERR_NON_FINITE` on NaN or infinite values.
 */
export function writeWeights(dir: string, weights: readonly WeightTensor[]): void {
  update(dir, 'its weights', (view, manifest) => {
    const graph = view.read(manifest.onnx.file, 'graph', MAX_ONNX_BYTES);
    if (!graph) throw new SeismoError('ERR_MODEL_NOT_FOUND', `${path.join(dir, manifest.onnx.file)} is missing: write the model directory before its weights`, { dir });
    const w = encodeWeights(weights, sha256(graph));
    return new Map<string, string | Uint8Array>([
      [WEIGHTS_INDEX_FILE, w.index],
      [WEIGHTS_FILE, w.bin],
    ]);
  });
}

/**
 * Saves the score calibration of the model in `dir`.
 * @throws SeismoError `ERR_MODEL_NOT_FOUND` without a model in `dir`; `ERR_MODEL_CORRUPT` for a
 *   calibration without a finite center and a positive scale.
 */
export function writeCalibration(dir: string, calibration: ScoreCalibration): void {
  const text = calibrationText(calibration);
  update(dir, 'its calibration', () => new Map([[CALIBRATION_FILE, text]]));
}

/**
 * Replaces `thresholds` in `dir`'s model.json, keeping every other field (unknown ones included).
 * @throws SeismoError `ERR_MODEL_NOT_FOUND` without a model in `dir`; `ERR_MODEL_CORRUPT` when the
 *   result does not validate.
 */
export function writeThresholds(dir: string, thresholds: Manifest['thresholds']): void {
  update(dir, 'its thresholds', () => new Map(), (raw) => {
    raw.thresholds = thresholds;
  });
}

function manifestText(manifest: unknown): string {
  return `${JSON.stringify(manifest, null, 2)}\n`;
}

/**
 * Commits `files` (and the manifest, with their checksums) into the existing model in `dir`.
 * `editRaw` may change other fields of the raw manifest JSON.
 */
function update(dir: string, what: string, files: (view: DirView, manifest: Manifest) => Map<string, string | Uint8Array>, editRaw?: (raw: Record<string, unknown>) => void): void {
  if (!fs.existsSync(path.join(dir, MANIFEST_FILE)) && !fs.existsSync(path.join(dir, COMMIT_FILE))) {
    throw new SeismoError('ERR_MODEL_NOT_FOUND', `${path.join(dir, MANIFEST_FILE)} is missing: write the model directory before ${what}`, { dir });
  }
  recover(dir);
  const view = new DirView(dir);
  const { manifest, raw } = view.manifest();
  const put = files(view, manifest);
  const record = raw as Record<string, unknown>;
  editRaw?.(record);
  let sums = manifest.files;
  if (!sums) {
    // A directory from before checksums: certify the graph it holds now, as the new files are made for it.
    const graph = view.read(manifest.onnx.file, 'graph', MAX_ONNX_BYTES);
    sums = graph ? { [manifest.onnx.file]: sha256(graph) } : {};
  }
  record.files = { ...sums, ...Object.fromEntries([...put].map(([name, content]) => [name, sha256(content)])) };
  const checked = ManifestSchema.safeParse(record);
  if (!checked.success) throw new SeismoError('ERR_MODEL_CORRUPT', `the updated ${MANIFEST_FILE} does not validate: ${describeIssues(checked.error)}`, { dir });
  put.set(MANIFEST_FILE, manifestText(record));
  commit(dir, put, () => []);
}

