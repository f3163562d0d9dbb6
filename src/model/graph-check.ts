/**
 * The check that a model directory's `model.onnx` is the graph its `model.json` describes: the
 * seismo metadata (format version, kind, window, channels) and the graph contract's inputs and
 * outputs (see `./manifest.ts`).
 */
import { onnx } from 'onnx-proto';
import { SeismoError } from '../errors.js';
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
