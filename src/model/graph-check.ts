/**
 * The checks that a model directory's graphs are the ones its `model.json` describes: `model.onnx`
 * (the seismo metadata: format version, kind, window, channels; the graph contract's inputs and
 * outputs, see `./manifest.ts`) and the optional step graph (the same metadata, the inputs and
 * outputs `manifest.step` declares, its state layout).
 */
import { onnx } from 'onnx-proto';
import { SeismoError } from '../errors.js';
import { parseStepLayout, STEP_LAYOUT_KEY, type StepLayout } from '../infer/step-state.js';
import { GRAPH_INPUTS, GRAPH_IO, GRAPH_OUTPUTS, MANIFEST_FILE, MODEL_FILE, type Manifest } from './manifest.js';

/**
 * Checks the ONNX graph's metadata and signature against the manifest.
 * @param source names the graph in errors.
 * @throws SeismoError `ERR_MODEL_CORRUPT` (not ONNX, no graph), `ERR_MODEL_MISMATCH` (metadata or signature differ).
 */
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
