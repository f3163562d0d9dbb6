import fs from 'node:fs';
import path from 'node:path';
import { onnx } from 'onnx-proto';
import { writeFileAtomic } from '../atomic-file.js';
import { SeismoError } from '../errors.js';
import { MANIFEST_FILE, ManifestSchema, MODEL_FILE, MODEL_FORMAT_VERSION, type Manifest } from './manifest.js';

/** A model directory read from disk and checked: the manifest agrees with the ONNX graph. */
export interface ModelDir {
  dir: string;
  manifest: Manifest;
  /** The bytes of `model.onnx`. */
  onnx: Uint8Array;
}

/**
 * Reads `model.json` and `model.onnx` from `dir` and checks them against each other.
 * @throws SeismoError `ERR_MODEL_NOT_FOUND` (no directory or file), `ERR_MODEL_CORRUPT` (unparsable
 *   JSON or ONNX, manifest fields missing), `ERR_MODEL_VERSION` (format version unknown),
 *   `ERR_MODEL_MISMATCH` (channels, window, kind or version differ from the graph's).
 */
export function readModelDir(dir: string): ModelDir {
  const manifestPath = path.join(dir, MANIFEST_FILE);
  if (!fs.existsSync(dir) || !fs.statSync(dir).isDirectory()) {
    throw new SeismoError('ERR_MODEL_NOT_FOUND', `model directory not found: ${dir} (train one with \`seismo train --out ${dir}\`)`, { dir });
  }
  if (!fs.existsSync(manifestPath)) {
    throw new SeismoError('ERR_MODEL_NOT_FOUND', `${manifestPath} is missing: not a seismo model directory`, { dir });
  }
  let raw: unknown;
  try {
    raw = JSON.parse(fs.readFileSync(manifestPath, 'utf8'));
  } catch (cause) {
    throw new SeismoError('ERR_MODEL_CORRUPT', `${manifestPath} is not valid JSON: ${(cause as Error).message}`, { file: manifestPath }, { cause });
  }
  const version = (raw as { formatVersion?: unknown })?.formatVersion;
  if (typeof version === 'number' && version !== MODEL_FORMAT_VERSION) {
    throw new SeismoError(
      'ERR_MODEL_VERSION',
      `${manifestPath} has format version ${version}; this seismo reads version ${MODEL_FORMAT_VERSION}. Retrain the model or use the matching seismo release.`,
      { file: manifestPath, version },
    );
  }
  const parsed = ManifestSchema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join('.') || '(root)'}: ${i.message}`).join('; ');
    throw new SeismoError('ERR_MODEL_CORRUPT', `${manifestPath} is not a valid seismo manifest: ${issues}`, { file: manifestPath });
  }
  const manifest = parsed.data;
  const onnxPath = path.join(dir, manifest.onnx.file);
  if (!fs.existsSync(onnxPath)) {
    throw new SeismoError('ERR_MODEL_NOT_FOUND', `${onnxPath} is missing (named by ${MANIFEST_FILE})`, { dir });
  }
  const bytes = new Uint8Array(fs.readFileSync(onnxPath));
  checkGraph(manifest, bytes, onnxPath);
  return { dir, manifest, onnx: bytes };
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
  const frames = inputs.find((i) => i.name === 'frames');
  const width = frames?.type?.tensorType?.shape?.dim?.[1]?.dimValue;
  if (!frames || !inputs.some((i) => i.name === 'starts')) mismatch('inputs', inputs.map((i) => i.name), ['frames', 'starts']);
  if (width !== undefined && width !== null && Number(width) !== manifest.channels.length) {
    mismatch('channel count', Number(width), manifest.channels.length);
  }
  const outputs = (graph.output ?? []).map((o) => o.name);
  for (const required of ['score', 'channel_score']) {
    if (!outputs.includes(required)) mismatch(`output '${required}'`, outputs, manifest.onnx.outputs);
  }
}

/**
 * Writes a model directory. Files are written beside their final names and renamed, so a reader
 * never sees half a model.
 */
export function writeModelDir(dir: string, manifest: Manifest, bytes: Uint8Array): void {
  checkGraph(manifest, bytes);
  fs.mkdirSync(dir, { recursive: true });
  const files: [string, string | Uint8Array][] = [
    [manifest.onnx.file, bytes],
    [MANIFEST_FILE, `${JSON.stringify(manifest, null, 2)}\n`],
  ];
  for (const [name, content] of files) writeFileAtomic(path.join(dir, name), content);
}
