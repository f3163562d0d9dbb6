/**
 * A small typed builder for ONNX graphs over the protobufjs classes of `onnx-proto`.
 *
 * Exporters describe a graph as a sequence of ops on tensor names, the way the ONNX spec reads;
 * the builder keeps names unique, stores constants as little-endian `raw_data` (compact, and what
 * onnxruntime reads fastest), and writes the model header (IR version 8, opset 17) in one place.
 */
import { onnx } from 'onnx-proto';

/** ONNX IR version written into every model (ONNX 1.10+; onnxruntime 1.10+ reads it). */
export const IR_VERSION = 8;
/** Default-domain opset of every exported graph (the manifest contract requires >= 17). */
export const OPSET = 17;

/** ONNX tensor element types that seismo graphs use. */
export const DType = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
} as const;
export type DType = (typeof DType)[keyof typeof DType];

/**
 * A typed attribute value. ONNX distinguishes INT from FLOAT attributes and a JS number cannot
 * say which it is (`beta: 1` must stay a float for HardSigmoid), so every value is tagged.
 */
export type Attr =
  | { type: 'int'; value: number }
  | { type: 'float'; value: number }
  | { type: 'string'; value: string }
  | { type: 'ints'; value: readonly number[] }
  | { type: 'floats'; value: readonly number[] }
  | { type: 'strings'; value: readonly string[] };

/** Constructors for {@link Attr}. */
export const attr = {
  int: (value: number): Attr => ({ type: 'int', value }),
  float: (value: number): Attr => ({ type: 'float', value }),
  string: (value: string): Attr => ({ type: 'string', value }),
  ints: (value: readonly number[]): Attr => ({ type: 'ints', value }),
  floats: (value: readonly number[]): Attr => ({ type: 'floats', value }),
  strings: (value: readonly string[]): Attr => ({ type: 'strings', value }),
};

/** A dimension of a graph input/output: a fixed size, or a symbolic name for a dynamic one. */
export type Dim = number | string;

const utf8 = new TextEncoder();

function toAttributeProto(name: string, a: Attr): onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  switch (a.type) {
    case 'int':
      if (!Number.isSafeInteger(a.value)) throw new RangeError(`attribute ${name}: ${a.value} is not an integer`);
      return { name, type: T.INT, i: a.value };
    case 'float':
      return { name, type: T.FLOAT, f: a.value };
    case 'string':
      return { name, type: T.STRING, s: utf8.encode(a.value) };
    case 'ints':
      return { name, type: T.INTS, ints: [...a.value] };
    case 'floats':
      return { name, type: T.FLOATS, floats: [...a.value] };
    case 'strings':
      return { name, type: T.STRINGS, strings: a.value.map((s) => utf8.encode(s)) };
  }
}

function valueInfo(name: string, elemType: DType, dims: readonly Dim[]): onnx.IValueInfoProto {
  return {
    name,
    type: {
      tensorType: {
        elemType,
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  };
}

function product(dims: readonly number[]): number {
  return dims.reduce((a, b) => a * b, 1);
}

/** Options of {@link GraphBuilder.toModel}. */
export interface ModelOptions {
  /** `metadata_props` of the model (string keys and values). */
  metadata?: Readonly<Record<string, string>>;
  /** Graph name (shows in Netron and ORT profiles). */
  graphName?: string;
  /** Free text stored as the model's doc string. */
  docString?: string;
}

/**
 * Accumulates nodes, initializers and the graph signature, then writes a `ModelProto`.
 *
 * Every method returns the name of the tensor it produced, so exporters chain ops by name.
 */
export class GraphBuilder {
  private readonly nodes: onnx.INodeProto[] = [];
  private readonly initializers: onnx.ITensorProto[] = [];
  private readonly inputs: onnx.IValueInfoProto[] = [];
  private readonly outputs: onnx.IValueInfoProto[] = [];
  private readonly names = new Set<string>();
  private counter = 0;

  /** A tensor/node name not used yet, derived from `prefix`. */
  fresh(prefix: string): string {
    let name = prefix;
    while (this.names.has(name)) name = `${prefix}_${++this.counter}`;
    this.names.add(name);
    return name;
  }

  /** Claims `name` exactly (graph inputs/outputs must keep their contract names). */
  private claim(name: string): string {
    if (this.names.has(name)) throw new Error(`ONNX graph: tensor name "${name}" is already used`);
    this.names.add(name);
    return name;
  }

  /** Declares a graph input; returns its name. */
  input(name: string, elemType: DType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(this.claim(name), elemType, dims));
    return name;
  }

  /**
   * Declares `tensor` as a graph output named `name`. When the names differ an Identity node
   * renames it, so exporters need not know in advance which op produces an output.
   */
  output(tensor: string, name: string, elemType: DType, dims: readonly Dim[]): string {
    const outName = tensor === name ? name : this.op('Identity', [tensor], {}, name);
    if (outName !== name) throw new Error(`ONNX graph: output name "${name}" is already used by another tensor`);
    this.outputs.push(valueInfo(outName, elemType, dims));
    return outName;
  }

  /**
   * Declares `tensor` as a graph output named `name` without an Identity: the node that produces
   * it is renamed to write `name` (and its readers read `name`), so onnxruntime writes the
   * output straight into a buffer the caller preallocated (an Identity copies it). A tensor no
   * node produces (a graph input, an initializer) gets the Identity of {@link output}. Call it
   * once every node that reads `tensor` is added (later ones would read the old name).
   */
  outputAsIs(tensor: string, name: string, elemType: DType, dims: readonly Dim[]): string {
    const producer = this.nodes.find((n) => n.output?.includes(tensor));
    if (!producer || tensor === name || this.outputs.some((o) => o.name === tensor)) return this.output(tensor, name, elemType, dims);
    this.claim(name);
    for (const n of this.nodes) {
      n.input = n.input?.map((i) => (i === tensor ? name : i));
      n.output = n.output?.map((o) => (o === tensor ? name : o));
    }
    this.outputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  /**
   * Adds a float32 constant (initializer).
   * @param data values in row-major order; length must equal the product of `dims`.
   * @param dims shape of the constant.
   */
  floatConst(prefix: string, data: ArrayLike<number>, dims: readonly number[]): string {
    if (data.length !== product(dims)) throw new Error(`ONNX const ${prefix}: ${data.length} values for shape [${dims}]`);
    const values = data instanceof Float32Array ? data : Float32Array.from(data);
    return this.rawConst(prefix, DType.float, dims, new Uint8Array(values.buffer.slice(values.byteOffset, values.byteOffset + values.byteLength)));
  }

  /** Adds an int64 constant (initializer); values must be safe integers. */
  int64Const(prefix: string, data: ArrayLike<number>, dims: readonly number[]): string {
    if (data.length !== product(dims)) throw new Error(`ONNX const ${prefix}: ${data.length} values for shape [${dims}]`);
    const values = new BigInt64Array(data.length);
    for (let i = 0; i < data.length; i++) values[i] = BigInt(data[i]!);
    return this.rawConst(prefix, DType.int64, dims, new Uint8Array(values.buffer));
  }

  private rawConst(prefix: string, dataType: DType, dims: readonly number[], rawData: Uint8Array): string {
    // raw_data is little-endian by the ONNX spec; typed arrays are host-endian, and every
    // platform seismo ships prebuilds for (x64, arm64) is little-endian.
    const name = this.fresh(prefix);
    this.initializers.push({ name, dataType, dims: [...dims], rawData });
    return name;
  }

  /**
   * Adds a node with any number of outputs.
   * @param outputs preferred names of the outputs (made unique with a suffix when taken); an empty
   *   string leaves an optional output unused.
   * @returns the output names as written.
   */
  node(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, Attr>>, outputs: readonly string[]): string[] {
    const outNames = outputs.map((o) => (o === '' ? '' : this.fresh(o)));
    this.nodes.push({
      opType,
      name: this.fresh(`${opType}_node`),
      input: [...inputs],
      output: outNames,
      attribute: Object.entries(attrs).map(([k, v]) => toAttributeProto(k, v)),
    });
    return outNames;
  }

  /** Adds a single-output node; returns its output name (`name`, or a fresh one from the op type). */
  op(opType: string, inputs: readonly string[], attrs: Readonly<Record<string, Attr>> = {}, name?: string): string {
    return this.node(opType, inputs, attrs, [name ?? opType.toLowerCase()])[0]!;
  }

  /** The finished model: IR version {@link IR_VERSION}, default-domain opset {@link OPSET}. */
  toModel(options: ModelOptions = {}): onnx.ModelProto {
    return onnx.ModelProto.create({
      irVersion: IR_VERSION,
      opsetImport: [{ domain: '', version: OPSET }],
      producerName: 'seismo',
      producerVersion: '0.1.0',
      docString: options.docString ?? '',
      graph: {
        name: options.graphName ?? 'seismo',
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
    });
  }

  /** Serialises the model to the bytes of a `.onnx` file. */
  encode(options: ModelOptions = {}): Uint8Array {
    return onnx.ModelProto.encode(this.toModel(options)).finish();
  }
}
