/**
 * Pieces of a step graph (`model.step.onnx`): the incremental form of a stack of dilated causal
 * convolutions, which scores one new frame per series from the layers' cached columns instead of
 * recomputing a whole window (as fast WaveNet generation does).
 *
 * Contract (`src/infer/step-state.ts` keeps the state and names the tensors). With `F` the widest
 * layer input (`max in`), every cached column is one row of `F` floats (narrower ones padded):
 * - inputs `frame` float32 `[B, C]` (raw units, one new frame per series); `state` float32
 *   `[rows, F]`: the caller's whole store of columns, of every layer with k >= 2 (any number of
 *   rows, passed without a copy); `tap_rows` int64 `[B, taps]`: for each series, layer after
 *   layer, the rows of `state` that hold the layer's input columns at frames `t - (k-1)d, ..., t - d`
 *   (oldest first);
 * - outputs the kind's scores for the window ending at this frame (the window graph's names), and
 *   `columns` float32 `[layers, B, F]`: each layer's input column at frame t (padded to F), which
 *   the caller stores for later steps;
 * - metadata `seismo.step.layers`: the layers as JSON `[{in, dilation, kernel}]`.
 *
 * A layer here is `act(concat(taps, x_t) @ K + b)` with the tfjs kernel `[k, in, out]` read as
 * `[k * in, out]` (tap-major, tap k-1 the current frame): the same sum as the window graph's Conv
 * with `dilations=[d]`, `pads=[d(k-1), 0]`, one column at a time.
 */
import { STEP_IO, STEP_LAYOUT_KEY, type StepLayer, stepSizes, stepWidth } from '../../src/infer/step-state';
import type { CausalConvWeights } from './blocks';
import { DType, type GraphBuilder, attr } from './onnx-graph';

/** Builds the layers of a step graph in the order of a planned layout. */
export class StepLayers {
  /** Name of the raw `frame` input. */
  readonly frame: string;
  /** Widest layer input: the row width of `state` and `columns`. */
  readonly width: number;
  /** Every tap of every layer, `[B, taps, F]`, gathered once from `state`. */
  private readonly taps: string;
  private readonly columns: string[] = [];
  private tap = 0;
  private next = 0;

  /**
   * Declares the `frame` `[B, C]`, `state` `[rows, F]` and `tap_rows` `[B, taps]` inputs for the
   * layers planned (those with k >= 2, in the order {@link conv} will be called on them).
   */
  constructor(
    private readonly g: GraphBuilder,
    channels: number,
    readonly planned: readonly StepLayer[],
  ) {
    this.frame = g.input(STEP_IO.frame, DType.float, ['B', channels]);
    this.width = stepWidth({ layers: planned });
    const state = g.input(STEP_IO.state, DType.float, ['rows', this.width]);
    const rows = g.input(STEP_IO.tapRows, DType.int64, ['B', stepSizes({ layers: planned }).taps]);
    // One Gather for all taps: onnxruntime reads the caller's store in place.
    this.taps = planned.length > 0 ? g.op('Gather', [state, rows], { axis: attr.int(0) }, 'taps') : '';
  }

  /**
   * One causal convolution at the current frame: `x` `[B, in]` -> `[B, out]` (no activation).
   * Kernel-1 layers are a plain MatMul and take no taps.
   */
  conv(x: string, w: CausalConvWeights, prefix: string): string {
    const { kernelSize: k, inputSize: cin, filters: cout } = w;
    const kernel = this.g.floatConst(`${prefix}_K`, w.kernel, [k * cin, cout]);
    let input = x;
    if (k > 1) {
      const l = this.next;
      const plan = this.planned[l];
      if (!plan || plan.in !== cin || plan.dilation !== w.dilation || plan.kernel !== k) {
        throw new Error(`step graph: layer ${prefix} (in ${cin}, dilation ${w.dilation}, kernel ${k}) is not planned layer ${l} ${JSON.stringify(plan)}`);
      }
      this.next++;
      const parts: string[] = [];
      for (let j = 0; j < k - 1; j++) {
        let t = this.g.op('Gather', [this.taps, this.g.int64Const(`${prefix}_tap${j}_at`, [this.tap++], [])], { axis: attr.int(1) }, `${prefix}_tap${j}`); // [B, F]
        if (cin < this.width) t = this.g.op('Slice', [t, this.g.int64Const(`${prefix}_tap${j}_from`, [0], [1]), this.g.int64Const(`${prefix}_tap${j}_to`, [cin], [1]), this.g.int64Const(`${prefix}_tap${j}_axis`, [1], [1])], {}, `${prefix}_tap${j}_in`);
        parts.push(t); // [B, in]
      }
      const padded = cin < this.width ? this.g.op('Pad', [x, this.g.int64Const(`${prefix}_pad`, [0, 0, 0, this.width - cin], [4])], {}, `${prefix}_column_padded`) : x;
      this.columns.push(this.g.op('Unsqueeze', [padded, this.g.int64Const(`${prefix}_axis0`, [0], [1])], {}, `${prefix}_column`)); // [1, B, F]
      input = this.g.op('Concat', [...parts, x], { axis: attr.int(1) }, `${prefix}_window`); // [B, k in]
    }
    return this.g.op('Add', [this.g.op('MatMul', [input, kernel], {}, `${prefix}_mm`), this.g.floatConst(`${prefix}_b`, w.bias, [cout])], {}, `${prefix}_out`);
  }

  /** Declares the `columns` output; returns the metadata entry that describes the layout. */
  finish(): Record<string, string> {
    if (this.next !== this.planned.length) throw new Error(`step graph: ${this.next} of ${this.planned.length} planned layers built`);
    if (this.columns.length > 0) this.g.output(this.g.op('Concat', this.columns, { axis: attr.int(0) }, 'new_columns'), STEP_IO.columns, DType.float, [this.planned.length, 'B', this.width]);
    return { [STEP_LAYOUT_KEY]: JSON.stringify(this.planned) };
  }
}
