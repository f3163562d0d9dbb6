/**
 * Recognises an exported LSTM-AE graph (training/kinds/lstm-ae/export.ts over the blocks of
 * training/export/blocks.ts) in a model.onnx and reads the network out of it, for the addon's
 * fused scorer (`LstmAeScorer`, src/native.ts), which scores such a model ~1.5-2x faster than
 * onnxruntime's LSTM op on one thread. The model directory's contract is unchanged: the weights
 * come from the graph's initializers, and onnxruntime stays the reference and the fallback.
 *
 * The native scorer computes a fixed function, so a graph is accepted only when its whole data
 * flow is that function: every node is matched from the outputs back to the inputs (ops,
 * attributes, constants, shapes, which tensor feeds which), and a graph with any node, input,
 * output or attribute the pattern does not account for is not recognised, with the reason. A
 * graph that merely looks similar (a Tanh gate, a clip, a reversed direction, an initial state,
 * peepholes, another window offset) therefore scores through onnxruntime, never wrongly here.
 *
 * Runs on the main thread (InferenceWorker.start), which has onnx-proto loaded already; the
 * inference worker gets the extracted spec in its init message (see `./step-tails.ts` for why
 * onnx-proto stays out of the worker).
 */
import { onnx } from 'onnx-proto';
import { GRAPH_IO } from '../model/manifest.js';
// TEMPORARY until kernel's src/native.ts declares them (CONTRACTS.md): the same shapes.
export interface LstmLayerWeights { inputSize: number; units: number; W: Float32Array; R: Float32Array; B: Float32Array; gate: 'sigmoid' | 'hardSigmoid' }
export interface LstmAeNetSpec { window: number; channels: number; scalerMean: Float32Array; scalerStd: Float32Array; encoder: LstmLayerWeights[]; decoder: LstmLayerWeights[]; outKernel: Float32Array; outBias: Float32Array | null }
export interface NativeLstmAeScorer { readonly isa: string; score(frames: Float32Array, starts: BigInt64Array, n: number, score: Float32Array, channelScore: Float32Array, channelActivity: Float32Array | null, reconstruction: Float32Array | null): void }

/** The graph outputs the native scorer can give (`NativeLstmAeScorer.score`). */
export const LSTM_AE_NATIVE_OUTPUTS: readonly string[] = [GRAPH_IO.score, GRAPH_IO.channelScore, GRAPH_IO.channelActivity, 'reconstruction'];

/** An LSTM-AE read out of its graph. */
export interface LstmAeNet {
  spec: LstmAeNetSpec;
  /** The graph's outputs, all of which {@link LstmAeNet.spec} computes (a subset of {@link LSTM_AE_NATIVE_OUTPUTS}). */
  outputs: string[];
}

/** What {@link extractLstmAeNet} found: the network, or why the graph is not one it can score. */
export type LstmAeNetExtraction = { net: LstmAeNet; reason?: undefined } | { net?: undefined; reason: string };

/** Thrown inside the matcher at the first thing that does not fit; becomes the reason. */
class NotRecognised extends Error {}

function no(why: string): never {
  throw new NotRecognised(why);
}

const FLOAT = onnx.TensorProto.DataType.FLOAT;
const INT64 = onnx.TensorProto.DataType.INT64;
const A = onnx.AttributeProto.AttributeType;
/** Opsets whose forms of the matched ops are the exporter's: Squeeze/Unsqueeze/ReduceSum axes as inputs (13+), ReduceMean axes as an attribute (until 17). */
const OPSETS = { min: 13, max: 17 } as const;

/** protobufjs gives int64 fields as numbers or Long objects. */
function int(v: number | { toString(): string } | null | undefined): number {
  return v === null || v === undefined ? 0 : typeof v === 'number' ? v : Number(v.toString());
}

function text(b: Uint8Array): string {
  return new TextDecoder().decode(b);
}

function sameInts(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((v, i) => v === b[i]);
}

/** The graph as the matcher walks it: producers by tensor, constants, and which nodes were matched. */
class Graph {
  private readonly producer = new Map<string, onnx.INodeProto>();
  private readonly constants = new Map<string, onnx.ITensorProto>();
  readonly matched = new Set<onnx.INodeProto>();

  constructor(readonly g: onnx.IGraphProto) {
    for (const t of g.initializer ?? []) {
      if (!t.name || this.constants.has(t.name)) no(`initializer ${String(t.name)} is unnamed or named twice`);
      this.constants.set(t.name, t);
    }
    for (const n of g.node ?? []) {
      for (const o of n.output ?? []) {
        if (o === '') continue;
        if (this.producer.has(o) || this.constants.has(o)) no(`tensor ${o} is written twice`);
        this.producer.set(o, n);
      }
    }
  }

  /** The node of type `op` that writes `tensor` (through any Identity nodes), marked as matched. */
  node(tensor: string, op: string, what: string): onnx.INodeProto {
    const n = this.producer.get(this.throughIdentity(tensor));
    if (!n || n.opType !== op) no(`${what}: expected ${op} writing ${tensor}, found ${n ? n.opType : 'no node'}`);
    if (n.domain && n.domain !== 'ai.onnx') no(`${what}: ${op} of domain ${n.domain}`);
    this.matched.add(n);
    return n;
  }

  /** `tensor` with the Identity nodes before it skipped (each marked as matched unless `peek`). */
  throughIdentity(tensor: string, peek = false): string {
    let hops = 0;
    for (let n = this.producer.get(tensor); n && n.opType === 'Identity'; n = this.producer.get(tensor)) {
      if ((n.input ?? []).length !== 1 || (n.attribute ?? []).length !== 0) no(`Identity writing ${tensor} has other inputs or attributes`);
      if (++hops > this.producer.size) no('the graph has a cycle');
      if (!peek) this.matched.add(n);
      tensor = n.input![0]!;
    }
    return tensor;
  }

  /** The op type that writes `tensor` (through Identity), or undefined for a graph input or constant; matches nothing. */
  opOf(tensor: string): string | undefined {
    return this.producer.get(this.throughIdentity(tensor, true))?.opType ?? undefined;
  }

  /** Whether a node (not a constant or graph input) writes `tensor`. */
  isNodeOutput(tensor: string): boolean {
    return this.opOf(tensor) !== undefined;
  }

  /** The shape of a constant. */
  constantShape(tensor: string, what: string): number[] {
    const t = this.constants.get(tensor);
    if (!t) no(`${what}: ${tensor} is not a constant of the graph`);
    return (t.dims ?? []).map(int);
  }

  /** Whether `tensor` is (through Identity) `other`. */
  same(tensor: string, other: string): boolean {
    return this.throughIdentity(tensor) === this.throughIdentity(other);
  }

  /** The values of a float32 constant whose shape is `dims` (a scalar: `[]` or `[1]`). */
  floats(tensor: string, dims: readonly number[] | 'scalar', what: string): Float32Array {
    const t = this.constant(tensor, FLOAT, what);
    const shape = (t.dims ?? []).map(int);
    if (dims === 'scalar' ? shape.length > 1 || (shape.length === 1 && shape[0] !== 1) : !sameInts(shape, dims)) {
      no(`${what}: shape [${shape.join(', ')}], expected ${dims === 'scalar' ? 'a scalar' : `[${dims.join(', ')}]`}`);
    }
    const count = shape.reduce((a, b) => a * b, 1);
    let out: Float32Array;
    if (t.rawData && t.rawData.length > 0) {
      if (t.rawData.length !== count * 4) no(`${what}: ${t.rawData.length} bytes for ${count} floats`);
      // A copy: raw_data need not be 4-byte aligned within the decoded buffer (and the spec outlives it).
      out = new Float32Array(count);
      new Uint8Array(out.buffer).set(t.rawData);
    } else {
      out = Float32Array.from(t.floatData ?? []);
    }
    if (out.length !== count) no(`${what}: ${out.length} values for ${count} (external data is not read here)`);
    return out;
  }

  /** The values of an int64 constant whose shape is `dims`. */
  ints(tensor: string, dims: readonly number[], what: string): number[] {
    const t = this.constant(tensor, INT64, what);
    const shape = (t.dims ?? []).map(int);
    if (!sameInts(shape, dims)) no(`${what}: shape [${shape.join(', ')}], expected [${dims.join(', ')}]`);
    const count = dims.reduce((a, b) => a * b, 1);
    let out: number[];
    if (t.rawData && t.rawData.length > 0) {
      if (t.rawData.length !== count * 8) no(`${what}: ${t.rawData.length} bytes for ${count} int64`);
      const copy = new Uint8Array(count * 8);
      copy.set(t.rawData);
      out = Array.from(new BigInt64Array(copy.buffer), Number);
    } else {
      out = (t.int64Data ?? []).map(int);
    }
    if (out.length !== count) no(`${what}: ${out.length} values for ${count}`);
    return out;
  }

  private constant(tensor: string, type: number, what: string): onnx.ITensorProto {
    const t = this.constants.get(tensor);
    if (!t) no(`${what}: ${tensor} is not a constant of the graph`);
    if (t.dataType !== type) no(`${what}: element type ${String(t.dataType)}, expected ${type}`);
    if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) no(`${what}: stored as external data`);
    return t;
  }
}

/** A node's attributes, each checked against what the pattern allows; an attribute not listed is refused. */
function attributes(n: onnx.INodeProto, allowed: Record<string, number>, what: string): Map<string, onnx.IAttributeProto> {
  const out = new Map<string, onnx.IAttributeProto>();
  for (const a of n.attribute ?? []) {
    const name = a.name ?? '';
    if (allowed[name] === undefined) no(`${what}: attribute ${name} is not part of the exported graph`);
    if (a.type !== allowed[name]) no(`${what}: attribute ${name} of type ${String(a.type)}`);
    if (a.refAttrName) no(`${what}: attribute ${name} refers to a function's attribute`);
    out.set(name, a);
  }
  return out;
}

/** The node's inputs; `count` of them (trailing empty optional ones are ignored). */
function inputs(n: onnx.INodeProto, count: number, what: string): string[] {
  const list = [...(n.input ?? [])];
  while (list.length > count && list[list.length - 1] === '') list.pop();
  if (list.length !== count) no(`${what}: ${n.opType} with ${list.length} inputs, expected ${count}`);
  return list;
}

/** A one-input, no-attribute-but-`allowed` node reading `count` inputs: its inputs. */
function plain(g: Graph, tensor: string, op: string, count: number, what: string): string[] {
  const n = g.node(tensor, op, what);
  attributes(n, {}, what);
  if ((n.output ?? []).length !== 1) no(`${what}: ${op} with ${(n.output ?? []).length} outputs`);
  return inputs(n, count, what);
}

/** `[a, b]` of a commutative two-input node, with `isFirst(x)` telling which operand is `a`. */
function operands(list: string[], isFirst: (x: string) => boolean): [string, string] {
  return isFirst(list[0]!) ? [list[0]!, list[1]!] : [list[1]!, list[0]!];
}

/** The int64 axes constant of a Squeeze/Unsqueeze/ReduceSum: one axis. */
function axis(g: Graph, tensor: string, want: number, what: string): void {
  const [v] = g.ints(tensor, [1], `${what} axes`);
  if (v !== want) no(`${what}: axis ${v}, expected ${want}`);
}

function keepdims0(n: onnx.INodeProto, extra: Record<string, number>, what: string): Map<string, onnx.IAttributeProto> {
  const attrs = attributes(n, { keepdims: A.INT, ...extra }, what);
  if (!attrs.has('keepdims') || int(attrs.get('keepdims')!.i) !== 0) no(`${what}: keepdims is not 0`);
  return attrs;
}

function transposed(g: Graph, tensor: string, what: string): string {
  const n = g.node(tensor, 'Transpose', what);
  const attrs = attributes(n, { perm: A.INTS }, what);
  if (!sameInts((attrs.get('perm')?.ints ?? []).map(int), [1, 0, 2])) no(`${what}: Transpose perm is not [1, 0, 2]`);
  return inputs(n, 1, what)[0]!;
}

/** The gate activations the native scorer has; `undefined` for any other LSTM configuration. */
function gateOf(attrs: Map<string, onnx.IAttributeProto>, what: string): LstmLayerWeights['gate'] {
  const acts = attrs.get('activations')?.strings?.map(text);
  const alpha = attrs.get('activation_alpha')?.floats ?? [];
  const beta = attrs.get('activation_beta')?.floats ?? [];
  if (!acts) {
    if (alpha.length > 0 || beta.length > 0) no(`${what}: activation_alpha/beta without activations`);
    return 'sigmoid'; // ONNX's defaults: Sigmoid, Tanh, Tanh
  }
  if (acts.length !== 3 || acts[1] !== 'Tanh' || acts[2] !== 'Tanh') no(`${what}: activations ${JSON.stringify(acts)}, expected [f, Tanh, Tanh]`);
  if (acts[0] === 'Sigmoid') {
    if (alpha.length > 0 || beta.length > 0) no(`${what}: activation_alpha/beta with Sigmoid gates`);
    return 'sigmoid';
  }
  // Keras' hardSigmoid, clip(0.2 x + 0.5, 0, 1), as the exporter writes it (float32 attribute values).
  if (acts[0] === 'HardSigmoid' && alpha.length === 1 && beta.length === 1 && alpha[0] === Math.fround(0.2) && beta[0] === Math.fround(0.5)) return 'hardSigmoid';
  no(`${what}: gate activation ${acts[0]} (alpha ${JSON.stringify(alpha)}, beta ${JSON.stringify(beta)}); the native scorer has Sigmoid and HardSigmoid(0.2, 0.5)`);
}

/**
 * The LSTM node that writes `tensor` as its output `which` (0 Y, 1 Y_h, and no other output used):
 * its weights and its input X.
 */
function lstmLayer(g: Graph, tensor: string, which: 0 | 1, what: string): { layer: LstmLayerWeights; x: string } {
  const n = g.node(tensor, 'LSTM', what);
  const outs = [...(n.output ?? [])];
  while (outs.length > which + 1 && outs[outs.length - 1] === '') outs.pop();
  if (outs.length !== which + 1 || outs[which] !== tensor || outs.some((o, i) => i !== which && o !== '')) {
    no(`${what}: the LSTM must give only its ${which === 0 ? 'Y' : 'Y_h'} output (outputs ${JSON.stringify(n.output)})`);
  }
  const list = [...(n.input ?? [])];
  while (list.length > 3 && list[list.length - 1] === '') list.pop();
  if (list.length < 3 || list.length > 4 || list.slice(0, 3).some((i) => i === '')) {
    no(`${what}: LSTM inputs ${JSON.stringify(n.input)} (sequence lengths, initial states and peepholes are not part of the exported graph)`);
  }
  const attrs = attributes(n, { hidden_size: A.INT, activations: A.STRINGS, activation_alpha: A.FLOATS, activation_beta: A.FLOATS, direction: A.STRING, input_forget: A.INT, layout: A.INT }, what);
  const direction = attrs.get('direction');
  if (direction && text(direction.s ?? new Uint8Array()) !== 'forward') no(`${what}: direction ${text(direction.s ?? new Uint8Array())}`);
  if (int(attrs.get('input_forget')?.i) !== 0) no(`${what}: input_forget is set`);
  if (int(attrs.get('layout')?.i) !== 0) no(`${what}: layout 1 (batch-major)`);
  const hidden = attrs.get('hidden_size');
  if (!hidden) no(`${what}: no hidden_size`);
  const H = int(hidden.i);
  if (!(H > 0)) no(`${what}: hidden_size ${H}`);
  const gate = gateOf(attrs, what);
  const wShape = g.constantShape(list[1]!, `${what} W`);
  if (wShape.length !== 3 || wShape[0] !== 1 || wShape[1] !== 4 * H || !(wShape[2]! > 0)) no(`${what}: W of shape [${wShape.join(', ')}] for hidden_size ${H}`);
  const F = wShape[2]!;
  const W = g.floats(list[1]!, [1, 4 * H, F], `${what} W`);
  const R = g.floats(list[2]!, [1, 4 * H, H], `${what} R`);
  const B = list.length === 4 && list[3] !== '' ? g.floats(list[3]!, [1, 8 * H], `${what} B`) : new Float32Array(8 * H);
  return { layer: { inputSize: F, units: H, W, R, B, gate }, x: list[0]! };
}

/** A layer that returns its sequence: `Squeeze(Y, axes [1])` of an LSTM. */
function sequenceLayer(g: Graph, tensor: string, what: string): { layer: LstmLayerWeights; x: string } {
  const [y, axes] = plain(g, tensor, 'Squeeze', 2, what);
  axis(g, axes!, 1, `${what} Squeeze`);
  return lstmLayer(g, y!, 0, what);
}

/**
 * Reads an exported LSTM-AE out of model.onnx bytes, or says why the graph is not one (any
 * difference from the exporter's data flow; see the file comment). Never throws.
 */
export function extractLstmAeNet(bytes: Uint8Array): LstmAeNetExtraction {
  try {
    return { net: extract(bytes) };
  } catch (err) {
    if (err instanceof NotRecognised) return { reason: err.message };
    return { reason: `the graph could not be read: ${err instanceof Error ? err.message : String(err)}` };
  }
}

function extract(bytes: Uint8Array): LstmAeNet {
  const model = onnx.ModelProto.decode(bytes);
  const g0 = model.graph;
  if (!g0) no('no graph');
  for (const o of model.opsetImport ?? []) {
    const v = int(o.version);
    if ((o.domain ?? '') === '' || o.domain === 'ai.onnx') {
      if (v < OPSETS.min || v > OPSETS.max) no(`opset ${v} (recognised: ${OPSETS.min}-${OPSETS.max})`);
    }
  }
  if ((model.functions ?? []).length > 0 || (g0.sparseInitializer ?? []).length > 0) no('the graph has functions or sparse initializers');
  const g = new Graph(g0);

  // Inputs: exactly the contract's frames [T, C] float32 and starts [N] int64 (an initializer
  // listed as an input could be overridden at run time, so none is).
  const ins = g0.input ?? [];
  if (ins.length !== 2) no(`${ins.length} graph inputs, expected frames and starts`);
  const frames = ins.find((v) => v.name === GRAPH_IO.frames);
  const starts = ins.find((v) => v.name === GRAPH_IO.starts);
  if (!frames || !starts) no('graph inputs are not frames and starts');
  const fDims = frames.type?.tensorType?.shape?.dim ?? [];
  if (frames.type?.tensorType?.elemType !== FLOAT || fDims.length !== 2 || !(int(fDims[1]!.dimValue) > 0)) no('frames is not float32 [T, C] with C fixed');
  const sDims = starts.type?.tensorType?.shape?.dim ?? [];
  if (starts.type?.tensorType?.elemType !== INT64 || sDims.length !== 1) no('starts is not int64 [N]');
  const C = int(fDims[1]!.dimValue);

  // Outputs: score and channel_score, optionally channel_activity and reconstruction; nothing else.
  const outs = (g0.output ?? []).map((o) => o.name ?? '');
  if (new Set(outs).size !== outs.length) no('an output is declared twice');
  for (const o of outs) if (!LSTM_AE_NATIVE_OUTPUTS.includes(o)) no(`output ${o} is not one the native scorer gives`);
  if (!outs.includes(GRAPH_IO.score) || !outs.includes(GRAPH_IO.channelScore)) no('score or channel_score is not an output');
  for (const o of g0.output ?? []) if (o.type?.tensorType?.elemType !== FLOAT) no(`output ${o.name} is not float32`);

  // Epilogue: score = ReduceSum(share, [1]); channel_score = share = ReduceMean((rec - scaled)^2, [1]) / C.
  const sumNode = g.node(GRAPH_IO.score, 'ReduceSum', 'score');
  keepdims0(sumNode, { noop_with_empty_axes: A.INT }, 'score');
  if (int(sumNode.attribute?.find((a) => a.name === 'noop_with_empty_axes')?.i) !== 0) no('score: noop_with_empty_axes set');
  const [share, scoreAxes] = inputs(sumNode, 2, 'score');
  axis(g, scoreAxes!, 1, 'score ReduceSum');
  if (!g.same(GRAPH_IO.channelScore, share!)) no('score is not the sum of channel_score');
  const [perChannel, count] = plain(g, share!, 'Div', 2, 'channel_score');
  const [cCount] = g.floats(count!, 'scalar', 'channel count');
  if (cCount !== C) no(`channel_score divides by ${cCount}, not the ${C} channels`);
  const meanNode = g.node(perChannel!, 'ReduceMean', 'channel mean');
  const meanAttrs = keepdims0(meanNode, { axes: A.INTS }, 'channel mean');
  if (!sameInts((meanAttrs.get('axes')?.ints ?? []).map(int), [1])) no('channel mean: axes are not [1]');
  const [squared] = inputs(meanNode, 1, 'channel mean');
  const [d1, d2] = plain(g, squared!, 'Mul', 2, 'squared error');
  if (d1 !== d2) no('squared error is not a residual times itself');
  const residual = plain(g, d1!, 'Sub', 2, 'residual');

  // The residual's operands (either order: it is squared): the reconstruction (the Dense's MatMul
  // or Add) and the scaled windows (the scaler's Div).
  const [rec, scaled] = operands(residual, (t) => g.opOf(t) !== 'Div');
  // Prologue: scaled = (Gather(frames, Unsqueeze(starts, [1]) + [[0 .. W-1]], axis 0) - mean) / std.
  const [centred, std] = plain(g, scaled!, 'Div', 2, 'scaler');
  const [windows, mean] = plain(g, centred!, 'Sub', 2, 'scaler');
  const scalerMean = g.floats(mean!, [C], 'scaler mean');
  const scalerStd = g.floats(std!, [C], 'scaler std');
  const gather = g.node(windows!, 'Gather', 'windows');
  const gAttrs = attributes(gather, { axis: A.INT }, 'windows');
  if (int(gAttrs.get('axis')?.i) !== 0) no('windows: Gather axis is not 0');
  const [framesIn, index] = inputs(gather, 2, 'windows');
  if (framesIn !== GRAPH_IO.frames) no('windows are not gathered from frames');
  const [a, b] = plain(g, index!, 'Add', 2, 'window index');
  const [startsCol, offsets] = operands([a!, b!], (t) => g.isNodeOutput(t));
  const [startsIn, unsqAxes] = plain(g, startsCol, 'Unsqueeze', 2, 'window index');
  if (startsIn !== GRAPH_IO.starts) no('window index is not built from starts');
  axis(g, unsqAxes!, 1, 'window index Unsqueeze');
  const offsetShape = g.constantShape(offsets, 'window offsets');
  if (offsetShape.length !== 2 || offsetShape[0] !== 1 || !(offsetShape[1]! > 0)) no(`window offsets of shape [${offsetShape.join(', ')}]`);
  const W = offsetShape[1]!;
  const offs = g.ints(offsets, [1, W], 'window offsets');
  if (offs.some((v, i) => v !== i)) no('window offsets are not 0 .. W-1');

  // The body: Transpose -> encoder LSTMs (the last gives Y_h) -> Unsqueeze + Expand to W frames ->
  // decoder LSTMs -> Transpose -> Dense, walked back from the Dense.
  let body: string;
  let outBias: Float32Array | null = null;
  let kernelName: string;
  if (g.opOf(rec!) === 'Add') {
    const [p, q] = plain(g, rec!, 'Add', 2, 'dense');
    const [mm, bias] = operands([p!, q!], (t) => g.isNodeOutput(t));
    outBias = g.floats(bias, [C], 'dense bias');
    [body, kernelName] = plain(g, mm, 'MatMul', 2, 'dense') as [string, string];
  } else {
    [body, kernelName] = plain(g, rec!, 'MatMul', 2, 'dense') as [string, string];
  }
  const kShape = g.constantShape(kernelName, 'dense kernel');
  if (kShape.length !== 2 || kShape[1] !== C || !(kShape[0]! > 0)) no(`dense kernel of shape [${kShape.join(', ')}] for ${C} channels`);
  const outKernel = g.floats(kernelName, kShape, 'dense kernel');

  const decoder: LstmLayerWeights[] = [];
  let x = transposed(g, body, 'decoder output');
  for (;;) {
    if (decoder.length > (g0.node ?? []).length) no('the graph has a cycle');
    const { layer, x: input } = sequenceLayer(g, x, `decoder layer -${decoder.length + 1}`);
    decoder.unshift(layer);
    if (g.opOf(input) === 'Expand') {
      x = input;
      break;
    }
    x = input;
  }
  const [repeatIn, repeatShape] = plain(g, x, 'Expand', 2, 'repeat');
  const shape = g.ints(repeatShape!, [3], 'repeat shape');
  if (!sameInts(shape, [W, 1, 1])) no(`repeat shape [${shape.join(', ')}], expected [${W}, 1, 1]`);
  const [last, lastAxes] = plain(g, repeatIn!, 'Unsqueeze', 2, 'repeat');
  axis(g, lastAxes!, 0, 'repeat Unsqueeze');
  const [yh, yhAxes] = plain(g, last!, 'Squeeze', 2, 'encoder state');
  axis(g, yhAxes!, 0, 'encoder state Squeeze');
  const encoder: LstmLayerWeights[] = [];
  let { layer, x: input } = lstmLayer(g, yh!, 1, 'last encoder layer');
  encoder.unshift(layer);
  while (g.opOf(input) === 'Squeeze') {
    if (encoder.length > (g0.node ?? []).length) no('the graph has a cycle');
    ({ layer, x: input } = sequenceLayer(g, input, `encoder layer -${encoder.length + 1}`));
    encoder.unshift(layer);
  }
  if (!g.same(transposed(g, input, 'encoder input'), scaled!)) no('the encoder does not read the scaled windows');

  // Widths chain: C -> encoder -> decoder -> the Dense's rows.
  let width = C;
  for (const [i, l] of [...encoder, ...decoder].entries()) {
    if (l.inputSize !== width) no(`LSTM layer ${i}: input size ${l.inputSize}, expected ${width}`);
    width = l.units;
  }
  if (kShape[0] !== width) no(`dense kernel has ${kShape[0]} rows for ${width} units`);

  // channel_activity = ReduceSum(|scaled[:, 1:W] - scaled[:, 0:W-1]|, [1]) * 1/(W-1).
  if (outs.includes(GRAPH_IO.channelActivity)) {
    if (W < 3) no(`channel_activity at window ${W}`);
    const [p, q] = plain(g, GRAPH_IO.channelActivity, 'Mul', 2, 'channel_activity');
    const [sum, scale] = operands([p!, q!], (t) => g.isNodeOutput(t));
    const [factor] = g.floats(scale, 'scalar', 'activity scale');
    if (factor !== Math.fround(1 / (W - 1))) no(`channel_activity scale ${factor}, expected 1/${W - 1}`);
    const sumNode2 = g.node(sum, 'ReduceSum', 'activity sum');
    keepdims0(sumNode2, {}, 'activity sum');
    const [abs, sumAxes] = inputs(sumNode2, 2, 'activity sum');
    axis(g, sumAxes!, 1, 'activity ReduceSum');
    const [step] = plain(g, abs!, 'Abs', 1, 'activity');
    const [later, earlier] = plain(g, step!, 'Sub', 2, 'activity step');
    const slice = (t: string, from: number, to: number, what: string): void => {
      const [src, s, e, ax] = plain(g, t, 'Slice', 4, what);
      if (!g.same(src!, scaled!)) no(`${what} does not slice the scaled windows`);
      const got = [g.ints(s!, [1], what)[0], g.ints(e!, [1], what)[0], g.ints(ax!, [1], what)[0]];
      if (!sameInts(got as number[], [from, to, 1])) no(`${what}: frames [${got.join(', ')}], expected [${from}, ${to}) of axis 1`);
    };
    slice(later!, 1, W, 'activity later');
    slice(earlier!, 0, W - 1, 'activity earlier');
  }
  if (outs.includes('reconstruction') && !g.same('reconstruction', rec!)) no('reconstruction is not the Dense output');

  // Every node must be part of the pattern: anything else would be computed by onnxruntime and not here.
  const extra = (g0.node ?? []).filter((n) => !g.matched.has(n));
  if (extra.length > 0) no(`${extra.length} node(s) not part of the exported LSTM-AE (first: ${extra[0]!.opType} ${extra[0]!.name ?? ''})`);

  return { spec: { window: W, channels: C, scalerMean, scalerStd, encoder, decoder, outKernel, outBias }, outputs: outs };
}
