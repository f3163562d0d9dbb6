/**
 * ONNX export of the flat-window reconstruction kinds (dense-ae; also VAE's deterministic path
 * and PCA, which are dense chains too): `frames` + `starts` -> windows, scaled -> Reshape
 * `[N, W*C]` -> Dense chain -> Reshape `[N, W, C]` -> reconstruction error.
 */
import { contractIO, type DenseStep, type ScalerParams, denseChain, flattenWindows, reconstructionScore, seismoMetadata, unflattenWindows, windowPrologue } from './blocks';
import { GraphBuilder } from './onnx-graph';

/** Inputs and outputs of an exported flat reconstruction graph, in order. */
export const FLAT_RECONSTRUCTION_IO = contractIO(['reconstruction']);

/**
 * A flat-window reconstruction graph from its dense chain.
 * @param steps the chain from flat scaled input `[N, W*C]` to flat reconstruction `[N, W*C]`.
 */
export function exportFlatReconstruction(
  kind: string,
  steps: readonly DenseStep[],
  window: number,
  channelNames: readonly string[],
  scaler: ScalerParams,
  docString: string,
): Uint8Array {
  const C = channelNames.length;
  const g = new GraphBuilder();
  const { scaled } = windowPrologue(g, window, scaler); // [N, W, C]
  const flat = flattenWindows(g, scaled, window, C); // [N, W*C]
  const recFlat = denseChain(g, flat, steps, 'net'); // [N, W*C]
  const rec = unflattenWindows(g, recFlat, window, C, 'reconstruction_windows'); // [N, W, C]
  reconstructionScore(g, scaled, rec, window, C);
  return g.encode({ graphName: `seismo_${kind.replace(/-/g, '_')}`, docString, metadata: seismoMetadata(kind, window, channelNames) });
}

