/**
 * The model directory, and the one module that reads and writes its files:
 *
 *   model.json        the manifest (./manifest.ts), with the SHA-256 of every other file
 *   model.onnx        the graph (the name is `manifest.onnx.file`, always inside the directory)
 *   weights.json/.bin the trainable state (./weights.ts), optional
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
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { SeismoError } from '../errors.js';
import {
  CalibrationSchema,
  FileNameSchema,
  GRAPH_INPUTS,
  GRAPH_IO,
  GRAPH_OUTPUTS,
  MANIFEST_FILE,
  ManifestSchema,
  MODEL_FILE,
  MODEL_FORMAT_VERSION,
  type Manifest,
} from './manifest.js';
import type { ChannelCalibration } from '../score/attribution.js';
import { parseStepLayout, STEP_LAYOUT_KEY, type StepLayout } from '../infer/step-state.js';
import { decodeWeights, encodeWeights, sha256, WEIGHTS_FILE, WEIGHTS_INDEX_FILE, type WeightTensor } from './weights-format.js';

/** File of a model directory holding its score calibration. */
export const CALIBRATION_FILE = 'calibration.json';

/** Where a version's normal scores lie, on the log scale (see src/score/calibration.ts for the math). */
export interface ScoreCalibration {
  /** Median of ln(score) over the reference windows. */
  center: number;
  /** 1.4826 * median absolute deviation of ln(score) (or its mean-absolute-deviation fallback), > 0. */
  scale: number;
  /** Reference windows it was fitted on. */
  windows: number;
  /** What the reference windows were, in words (e.g. `validation windows`, `recent unlabelled windows`). */
  on: string;
  /** Per-channel normal error statistics for channel attribution (src/score/attribution.ts), when fitted. */
  channels?: ChannelCalibration;
}

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
const COMMIT_FILE = '.seismo-commit.json';
/** Files a model directory may hold besides the graph; a fresh model replaces (or drops) each. */
const MODEL_FILES = [MANIFEST_FILE, WEIGHTS_INDEX_FILE, WEIGHTS_FILE, CALIBRATION_FILE] as const;

/** The redo record: staged file -> final name, then files to delete. */
interface CommitRecord {
  format: 1;
  /** Final name -> staging name (both inside the directory). */
  put: Record<string, string>;
  remove: string[];
}

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

/**
 * Checks a calibration's shape.
 * @param source names it in the error.
 * @throws SeismoError `ERR_MODEL_CORRUPT`.
 */
export function checkCalibration(raw: unknown, source: string): ScoreCalibration {
  const parsed = CalibrationSchema.safeParse(raw);
  if (!parsed.success) throw new SeismoError('ERR_MODEL_CORRUPT', `${source}: a score calibration needs a finite center and a positive scale`, { source });
  return parsed.data;
}

/** Checks the ONNX graph's metadata and signature against the manifest. */
export function checkGraph(manifest: Manifest, bytes: Uint8Array, source = MODEL_FILE): void {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${source} is not an ONNX model: ${(cause as Error).message}`, { file: source }, { cause });
  }
  const graph = model.graph;
  if (!graph || !graph.node || graph.node.length === 0) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${source} holds no ONNX graph`, { file: source });
  }
  const meta = new Map(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
  const mismatch = (what: string, graphValue: unknown, manifestValue: unknown): never => {
    throw new SeismoError(
      'ERR_MODEL_MISMATCH',
      `${source} and ${MANIFEST_FILE} disagree on ${what}: graph ${JSON.stringify(graphValue)}, manifest ${JSON.stringify(manifestValue)}. ` +
        'The directory mixes files of two models: export both files again.',
      { file: source, what },
    );
  };
  const graphVersion = Number(meta.get('seismo.formatVersion'));
  if (graphVersion !== manifest.formatVersion) mismatch('format version', meta.get('seismo.formatVersion') ?? null, manifest.formatVersion);
  if ((meta.get('seismo.kind') ?? '') !== manifest.kind) mismatch('model kind', meta.get('seismo.kind') ?? null, manifest.kind);
  if (Number(meta.get('seismo.window')) !== manifest.window) mismatch('window length', meta.get('seismo.window') ?? null, manifest.window);
  let graphChannels: unknown = null;
  try {
    graphChannels = JSON.parse(meta.get('seismo.channels') ?? 'null');
  } catch {
    // reported as a mismatch below
  }
  if (JSON.stringify(graphChannels) !== JSON.stringify(manifest.channels)) mismatch('channels', graphChannels, manifest.channels);

  const inputs = graph.input ?? [];
  const frames = inputs.find((i) => i.name === GRAPH_IO.frames);
  const width = frames?.type?.tensorType?.shape?.dim?.[1]?.dimValue;
  if (!GRAPH_INPUTS.every((name) => inputs.some((i) => i.name === name))) mismatch('inputs', inputs.map((i) => i.name), GRAPH_INPUTS);
  if (width !== undefined && width !== null && Number(width) !== manifest.channels.length) {
    mismatch('channel count', Number(width), manifest.channels.length);
  }
  const outputs = (graph.output ?? []).map((o) => o.name);
  for (const required of GRAPH_OUTPUTS) {
    if (!outputs.includes(required)) mismatch(`output '${required}'`, outputs, manifest.onnx.outputs);
  }
}

/**
 * Checks a step graph against the manifest (same kind, window and channels in its metadata; the
 * inputs and outputs `manifest.step` names) and reads its state layout.
 * @throws SeismoError `ERR_MODEL_CORRUPT`, `ERR_MODEL_MISMATCH`.
 */
export function checkStepGraph(manifest: Manifest, bytes: Uint8Array, source: string): StepLayout {
  let model: onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (cause) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${source} is not an ONNX model: ${(cause as Error).message}`, { file: source }, { cause });
  }
  const meta = new Map(model.metadataProps.map((p) => [p.key ?? '', p.value ?? '']));
  const same =
    Number(meta.get('seismo.formatVersion')) === manifest.formatVersion &&
    meta.get('seismo.kind') === manifest.kind &&
    Number(meta.get('seismo.window')) === manifest.window &&
    meta.get('seismo.channels') === JSON.stringify(manifest.channels);
  if (!same) {
    throw new SeismoError('ERR_MODEL_MISMATCH', `${source} is not the step graph of this ${MANIFEST_FILE} (kind, window, channels or format version differ): export both files again`, { file: source });
  }
  const names = (list: { name?: string | null }[] | null | undefined) => (list ?? []).map((v) => v.name ?? '');
  const inputs = names(model.graph?.input);
  const outputs = names(model.graph?.output);
  const declared = manifest.step!;
  if (!declared.inputs.every((n) => inputs.includes(n)) || !declared.outputs.every((n) => outputs.includes(n)) || !GRAPH_OUTPUTS.every((n) => outputs.includes(n))) {
    throw new SeismoError('ERR_MODEL_MISMATCH', `${source} lacks inputs or outputs that ${MANIFEST_FILE} declares for it: export both files again`, { file: source });
  }
  return parseStepLayout(meta.get(STEP_LAYOUT_KEY), source);
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
  commit(dir, put, (previous) => {
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

function calibrationText(calibration: ScoreCalibration): string {
  return `${JSON.stringify(checkCalibration(calibration, 'calibration'), null, 2)}\n`;
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

/**
 * Stages `put`, commits the record, applies it. `removals` gets the manifest the directory held
 * before (if it parses) and names the files to delete in the same unit.
 */
function commit(dir: string, put: Map<string, string | Uint8Array>, removals: (previous: Manifest | undefined) => string[]): void {
  fs.mkdirSync(dir, { recursive: true });
  recover(dir);
  let previous: Manifest | undefined;
  try {
    previous = new DirView(dir).manifest().manifest;
  } catch {
    previous = undefined; // no model yet, or a damaged one: nothing of it to keep track of
  }
  const token = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const record: CommitRecord = { format: 1, put: {}, remove: removals(previous) };
  const written: string[] = [];
  try {
    for (const [name, content] of put) {
      const staged = `.${name}.${token}.staged`;
      written.push(staged);
      writeDurable(path.join(dir, staged), content);
      record.put[name] = staged;
    }
    const tmp = `.seismo-commit.${token}.tmp`;
    written.push(tmp);
    writeDurable(path.join(dir, tmp), JSON.stringify(record));
    fs.renameSync(path.join(dir, tmp), path.join(dir, COMMIT_FILE)); // the commit point
  } catch (err) {
    for (const name of written) fs.rmSync(path.join(dir, name), { force: true });
    throw err;
  }
  fsyncDir(dir);
  apply(dir, record);
}

/** Carries out a committed record; idempotent, so a reader's or a second writer's replay is harmless. */
function apply(dir: string, record: CommitRecord): void {
  for (const [name, staged] of Object.entries(record.put)) {
    try {
      fs.renameSync(path.join(dir, staged), path.join(dir, name));
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err; // already applied
    }
  }
  for (const name of record.remove) fs.rmSync(path.join(dir, name), { force: true });
  fsyncDir(dir);
  fs.rmSync(path.join(dir, COMMIT_FILE), { force: true });
}

/**
 * Finishes a write that was committed but not applied, and deletes what killed writers left
 * behind: staging files of uncommitted writes and temp files, of processes no longer alive.
 */
function recover(dir: string): void {
  const record = readRecord(dir);
  if (record) apply(dir, record);
  let names: string[];
  try {
    names = fs.readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    // `.<file>.<pid>-<hex>.staged`, `.seismo-commit.<pid>-<hex>.tmp`, and writeFileAtomic's `.<file>.<pid>.tmp`.
    const m = /^\..+\.(\d+)(?:-[0-9a-f]+)?\.(?:staged|tmp)$/.exec(name);
    if (m && !processAlive(Number(m[1]))) fs.rmSync(path.join(dir, name), { force: true });
  }
}

function processAlive(pid: number): boolean {
  if (pid === process.pid) return false; // our own leftovers are from a write that already failed
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function writeDurable(file: string, content: string | Uint8Array): void {
  const fd = fs.openSync(file, 'w');
  try {
    fs.writeFileSync(fd, content);
    fs.fsyncSync(fd);
  } finally {
    fs.closeSync(fd);
  }
}

function fsyncDir(dir: string): void {
  let fd: number | undefined;
  try {
    fd = fs.openSync(dir, 'r');
    fs.fsyncSync(fd);
  } catch {
    // Some file systems refuse to fsync a directory; the renames are still ordered for readers.
  } finally {
    if (fd !== undefined) fs.closeSync(fd);
  }
}

function readRecord(dir: string): CommitRecord | undefined {
  let text: string;
  try {
    text = fs.readFileSync(path.join(dir, COMMIT_FILE), 'utf8');
  } catch {
    return undefined;
  }
  let record: CommitRecord;
  try {
    record = JSON.parse(text) as CommitRecord;
  } catch (cause) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${path.join(dir, COMMIT_FILE)} is not valid JSON: ${(cause as Error).message}`, { dir }, { cause });
  }
  const names = [...Object.keys(record?.put ?? {}), ...Object.values(record?.put ?? {}), ...(Array.isArray(record?.remove) ? record.remove : [null])];
  if (record?.format !== 1 || !names.every((n) => typeof n === 'string' && !n.includes('/') && !n.includes('\\') && n !== '..' && n !== '.')) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${path.join(dir, COMMIT_FILE)} is not a seismo commit record`, { dir });
  }
  return record;
}

// ---------------------------------------------------------------------------------------------
// A consistent view of a directory that may be mid-commit

/** The directory as the last committed record says it is, without changing anything on disk. */
class DirView {
  private readonly record: CommitRecord | undefined;
  private readonly realDir: string;
  private parsed: { manifest: Manifest; raw: unknown } | undefined;

  constructor(readonly dir: string) {
    let stat: fs.Stats | undefined;
    try {
      stat = fs.statSync(dir);
    } catch {
      stat = undefined;
    }
    if (!stat?.isDirectory()) throw new SeismoError('ERR_MODEL_NOT_FOUND', `model directory not found: ${dir} (train one with \`seismo train --out ${dir}\`)`, { dir });
    this.realDir = fs.realpathSync(dir);
    this.record = readRecord(dir);
  }

  /** Path holding the current content of `name`, or undefined when the model has no such file. */
  private locate(name: string): string | undefined {
    const staged = this.record?.put[name];
    if (staged !== undefined && fs.existsSync(path.join(this.dir, staged))) return path.join(this.dir, staged);
    if (this.record?.remove.includes(name)) return undefined;
    const file = path.join(this.dir, name);
    return fs.existsSync(file) || isSymlink(file) ? file : undefined;
  }

  exists(name: string): boolean {
    return this.locate(name) !== undefined;
  }

  /**
   * The bytes of `name`, or undefined when absent.
   * @throws SeismoError `ERR_MODEL_CORRUPT` when it is not a regular file inside the directory
   *   or is larger than `maxBytes`.
   */
  read(name: string, what: string, maxBytes: number): Uint8Array | undefined {
    const checkedName = FileNameSchema.safeParse(name);
    if (!checkedName.success) throw new SeismoError('ERR_MODEL_CORRUPT', `${MANIFEST_FILE} names the ${what} file ${JSON.stringify(name)}: not a plain file name inside ${this.dir}`, { dir: this.dir, name });
    const file = this.locate(name);
    if (file === undefined) return undefined;
    let real: string;
    try {
      real = fs.realpathSync(file);
    } catch (cause) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) is a link to nothing`, { file }, { cause });
    }
    if (path.dirname(real) !== this.realDir) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) links to ${real}, outside the model directory: the files of a model stay inside it`, { file, real });
    }
    const stat = fs.statSync(real);
    if (stat.isDirectory()) throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) is a directory, not a file: put the model's file there (or train again)`, { file });
    if (!stat.isFile()) throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) is not a regular file`, { file });
    if (stat.size > maxBytes) throw new SeismoError('ERR_MODEL_CORRUPT', `${file} (the ${what}) holds ${stat.size} bytes, more than the ${maxBytes} a model's ${what} may`, { file, bytes: stat.size });
    return new Uint8Array(fs.readFileSync(real));
  }

  /** The checked manifest (and its raw JSON, for rewrites that keep unknown fields). */
  manifest(): { manifest: Manifest; raw: unknown } {
    if (this.parsed) return this.parsed;
    const file = path.join(this.dir, MANIFEST_FILE);
    const bytes = this.read(MANIFEST_FILE, 'manifest', 1 << 26);
    if (!bytes) throw new SeismoError('ERR_MODEL_NOT_FOUND', `${file} is missing: not a seismo model directory`, { dir: this.dir });
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (cause) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not valid JSON: ${(cause as Error).message}`, { file }, { cause });
    }
    const version = (raw as { formatVersion?: unknown })?.formatVersion;
    if (typeof version === 'number' && version !== MODEL_FORMAT_VERSION) {
      throw new SeismoError(
        'ERR_MODEL_VERSION',
        `${file} has format version ${version}; this seismo reads version ${MODEL_FORMAT_VERSION}. Retrain the model or use the matching seismo release.`,
        { file, version },
      );
    }
    const parsed = ManifestSchema.safeParse(raw);
    if (!parsed.success) throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not a valid seismo manifest: ${describeIssues(parsed.error)}`, { file });
    this.parsed = { manifest: parsed.data, raw };
    return this.parsed;
  }

  /** Checks `bytes` of `name` against the checksum the manifest records (when it records one). */
  verify(manifest: Manifest, name: string, bytes: Uint8Array): void {
    const expected = manifest.files?.[name];
    if (expected === undefined) return;
    if (sha256(bytes) !== expected) {
      throw new SeismoError(
        'ERR_MODEL_MISMATCH',
        `${path.join(this.dir, name)} is not the file ${MANIFEST_FILE} was written with (its SHA-256 differs): it was changed on disk or copied in from another model. Train or export the model again.`,
        { file: path.join(this.dir, name) },
      );
    }
  }

  calibration(manifest: Manifest | undefined): ScoreCalibration | undefined {
    const bytes = this.read(CALIBRATION_FILE, 'calibration', 1 << 20);
    if (!bytes) return undefined;
    const file = path.join(this.dir, CALIBRATION_FILE);
    let raw: unknown;
    try {
      raw = JSON.parse(Buffer.from(bytes).toString('utf8'));
    } catch (cause) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `${file} is not valid JSON: ${(cause as Error).message}`, { file }, { cause });
    }
    const calibration = checkCalibration(raw, file);
    if (manifest) this.verify(manifest, CALIBRATION_FILE, bytes);
    return calibration;
  }

  /** What changes when a writer commits: the record, and the manifest's inode. */
  static signature(dir: string): string {
    let record = '';
    let inode = '';
    try {
      record = fs.readFileSync(path.join(dir, COMMIT_FILE), 'utf8');
    } catch {
      // no commit in progress
    }
    try {
      inode = String(fs.statSync(path.join(dir, MANIFEST_FILE)).ino);
    } catch {
      // no manifest
    }
    return `${record}|${inode}`;
  }
}

function isSymlink(file: string): boolean {
  try {
    return fs.lstatSync(file).isSymbolicLink();
  } catch {
    return false;
  }
}

/**
 * Runs `read` on a view of `dir`; when it fails while a writer commits in the same directory
 * (its files changed under the read), reads again: a reader sees the old model or the new one.
 */
function consistently<T>(dir: string, read: (view: DirView) => T): T {
  for (let attempt = 0; ; attempt++) {
    const before = DirView.signature(dir);
    try {
      return read(new DirView(dir));
    } catch (err) {
      if (attempt >= 4 || DirView.signature(dir) === before) throw err;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 10 * (attempt + 1));
    }
  }
}

function describeIssues(error: { issues: readonly { path: readonly PropertyKey[]; message: string }[] }): string {
  return error.issues
    .slice(0, 5)
    .map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`)
    .join('; ');
}
