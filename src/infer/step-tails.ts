/**
 * A second form of a step graph, made by the inference worker when it loads one: each layer's
 * `columns_l` output replaced by its last `min(T, (k - 1) d + P)` frames (`tail_l`), P being a
 * new input {@link TAIL_PAD}: all that the layer's ring keeps of a call in which every series
 * advances by T frames but those padded by at most P (a series' last real frames are then within
 * the tail). A batch of 4,096 windows of 100 series ticking together is ~41 frames of each, some
 * series one frame fewer: one call with P = 1.
 *
 * Why: onnxruntime-node (1.30) copies every output it returns into a new ArrayBuffer, a
 * preallocated one too (it writes the caller's buffer, then returns a copy). The columns are
 * ~1 KB per frame for the default DC-VAE, so at 100 series x 41 frames a call allocated 4.4 MB
 * that V8 then collected ("external memory pressure" scavenges every ~50 ms): fetching the
 * columns cost ~0.2-0.3 us per frame, a quarter of the call. The tails of a call of T = 41 are
 * 18% of its columns (P = 0). onnxruntime runs every node of a graph whatever is fetched, so
 * the tails cannot be extra outputs of the graph the scorer also calls with T = 1 (there they
 * are all the columns again, and a Slice per layer is a copy and a kernel dispatch more): they
 * are a graph of their own, and the scorer picks one of the two per call (see `StepScorer`).
 *
 * Derived from the exported graph rather than exported beside it, so that every step graph with
 * per-layer columns gains it, and the model directory's contract is unchanged. The main thread
 * derives it (`InferenceWorker.start`, which has onnx-proto loaded already to check the model
 * directory) and hands the bytes over: loading onnx-proto in the inference worker made its heap
 * larger, and V8 then ran a major collection there every ~0.3 s instead of one in 5 s.
 */
import { onnx } from 'onnx-proto';
import { type StepLayout, ringLength, stepColumns, stepTail, TAIL_PAD } from './step-state.js';

/** ONNX element type int64. */
const INT64 = 7;

function int64Tensor(name: string, values: number[]): onnx.TensorProto {
  return onnx.TensorProto.create({ name, dataType: INT64, dims: [values.length], rawData: new Uint8Array(BigInt64Array.from(values, (v) => BigInt(v)).buffer) });
}

function node(opType: string, name: string, input: string[], output: string[], attribute: onnx.IAttributeProto[] = []): onnx.NodeProto {
  return onnx.NodeProto.create({ opType, name, input, output, attribute });
}

/**
 * The tails form of a step graph (see the file comment), or undefined when the graph has no
 * per-layer `columns_l` outputs (graphs exported before them) or its names collide with the
 * tails'. The tensors named `columns_l` stay (the layers read them) but are no longer outputs.
 */
export function tailStepGraph(bytes: Uint8Array, layout: StepLayout): Uint8Array | undefined {
  const model = onnx.ModelProto.decode(bytes);
  const g = model.graph;
  if (!g?.output || !g.node || !g.input) return undefined;
  const frames = g.input.find((v) => v.name === 'frames');
  if (!frames) return undefined;
  const taken = new Set<string>([...g.node.flatMap((n) => [...(n.output ?? []), n.name ?? '']), ...(g.initializer ?? []).map((t) => t.name ?? ''), ...g.input.map((v) => v.name ?? '')]);
  const ours = (name: string): string => {
    if (taken.has(name)) throw new Error(`tail graph: ${name} already named in the graph`);
    taken.add(name);
    return name;
  };
  try {
    const outputs: onnx.IValueInfoProto[] = [];
    // Rows-form columns (`[T B, in]`) are cut at B times the tail's frames: B from `frames`.
    let batch: string | undefined;
    const batchOf = (): string => {
      if (!batch) {
        batch = ours('seismo_tail_B');
        g.node!.push(node('Shape', batch, ['frames'], [batch], [onnx.AttributeProto.create({ name: 'start', type: onnx.AttributeProto.AttributeType.INT, i: 1 }), onnx.AttributeProto.create({ name: 'end', type: onnx.AttributeProto.AttributeType.INT, i: 2 })]));
      }
      return batch;
    };
    const pad = ours(TAIL_PAD);
    g.input.push(onnx.ValueInfoProto.create({ name: pad, type: { tensorType: { elemType: INT64, shape: { dim: [{ dimValue: 1 }] } } } }));
    const axis = ours('seismo_tail_axis0');
    const end = ours('seismo_tail_end');
    g.initializer!.push(int64Tensor(axis, [0]), int64Tensor(end, [Number.MAX_SAFE_INTEGER]));
    for (let l = 0; l < layout.layers.length; l++) {
      const columns = g.output.find((o) => o.name === stepColumns(l));
      const dims = columns?.type?.tensorType?.shape?.dim;
      if (!columns || !dims || (dims.length !== 2 && dims.length !== 3)) return undefined;
      const reach = ringLength(layout.layers[l]!);
      // A negative start counts from the end, clamped to the first frame when T is below the reach.
      const reachConst = ours(`seismo_tail_${l}_reach`);
      g.initializer!.push(int64Tensor(reachConst, [-reach]));
      let from = ours(`seismo_tail_${l}_from`);
      g.node.push(node('Sub', from, [reachConst, pad], [from])); // -(reach + P)
      if (dims.length === 2) {
        const rows = ours(`seismo_tail_${l}_rows_from`);
        g.node.push(node('Mul', rows, [batchOf(), from], [rows]));
        from = rows;
      }
      const name = ours(stepTail(l));
      g.node.push(node('Slice', name, [stepColumns(l), from, end, axis], [name]));
      const cin = layout.layers[l]!.in;
      const tailDims = dims.length === 2 ? [{ dimParam: `F${l}B` }, { dimValue: cin }] : [{ dimParam: `F${l}` }, { dimParam: 'B' }, { dimValue: cin }];
      outputs.push(onnx.ValueInfoProto.create({ name, type: { tensorType: { elemType: 1, shape: { dim: tailDims } } } }));
    }
    const isColumns = new Set(layout.layers.map((_, l) => stepColumns(l)));
    g.output = [...g.output.filter((o) => !isColumns.has(o.name ?? '')), ...outputs];
  } catch {
    return undefined;
  }
  return onnx.ModelProto.encode(model).finish();
}
