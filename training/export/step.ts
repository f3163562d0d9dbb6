/**
 * Pieces of a step graph (`model.step.onnx`): the incremental form of a stack of dilated causal
 * convolutions, which scores one new frame per series from the layers' cached columns instead of
 * recomputing a whole window (as fast WaveNet generation does).
 *
 * Contract (`src/infer/step-state.ts` keeps the state and names the tensors):
 * - inputs `frame` float32 `[B, C]` (raw units, one new frame per series); for every layer l
 *   with k >= 2, `state_<l>` float32 `[rows, in]`: the caller's whole store of that layer's
 *   columns (any number of rows, passed without a copy); `tap_rows` int64 `[B, taps]`: for each
 *   series, layer after layer, the rows of `state_<l>` that hold the layer's input columns at
 *   frames `t - (k-1)d, ..., t - d` (oldest first);
 * - outputs the kind's scores for the window ending at this frame (the window graph's names), and
 *   `column_<l>` float32 `[B, in]`: layer l's input column at frame t, which the caller stores
 *   for later steps;
 * - metadata `seismo.step.layers`: the layers as JSON `[{in, dilation, kernel}]`.
 *
 * A layer here is `act(concat(taps, x_t) @ K + b)` with the tfjs kernel `[k, in, out]` read as
 * `[k * in, out]` (tap-major, tap k-1 the current frame): the same sum as the window graph's Conv
 * with `dilations=[d]`, `pads=[d(k-1), 0]`, one column at a time.
 */
import { STEP_IO, STEP_LAYOUT_KEY, type StepLayer, stepSizes } from '../../src/infer/step-state';
import type { CausalConvWeights } from './blocks';
import { DType, type GraphBuilder, attr } from './onnx-graph';

/** Builds the layers of a step graph in the order of a planned layout. */
export class StepLayers {
  /** Name of the raw `frame` input. */
  readonly frame: string;
  private readonly rows: string;
  private tap = 0;
  private next = 0;

  /**
   * Declares the `frame` `[B, C]` and `tap_rows` `[B, taps]` inputs, and one `state_<l>` input per
   * planned layer (those with k >= 2, in the order {@link conv} will be called on them).
   */
  constructor(
    private readonly g: GraphBuilder,
    channels: number,
    readonly planned: readonly StepLayer[],
  ) {
    this.frame = g.input(STEP_IO.frame, DType.float, ['B', channels]);
    this.rows = g.input(STEP_IO.tapRows, DType.int64, ['B', stepSizes({ layers: planned }).taps]);
    planned.forEach((l, i) => g.input(STEP_IO.state(i), DType.float, [`R${i}`, l.in]));
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
        // Row of the state holding this tap's column, per series: one row of `in` floats each.
        const rows = this.g.op('Gather', [this.rows, this.g.int64Const(`${prefix}_tap${j}_at`, [this.tap++], [])], { axis: attr.int(1) }, `${prefix}_tap${j}_rows`); // [B]
        parts.push(this.g.op('Gather', [STEP_IO.state(l), rows], { axis: attr.int(0) }, `${prefix}_tap${j}`)); // [B, in]
      }
      this.g.output(x, STEP_IO.column(l), DType.float, ['B', cin]);
      input = this.g.op('Concat', [...parts, x], { axis: attr.int(1) }, `${prefix}_window`); // [B, k in]
    }
    return this.g.op('Add', [this.g.op('MatMul', [input, kernel], {}, `${prefix}_mm`), this.g.floatConst(`${prefix}_b`, w.bias, [cout])], {}, `${prefix}_out`);
  }

  /** Checks that every planned layer was built; returns the metadata entry that describes the layout. */
  finish(): Record<string, string> {
    if (this.next !== this.planned.length) throw new Error(`step graph: ${this.next} of ${this.planned.length} planned layers built`);
    return { [STEP_LAYOUT_KEY]: JSON.stringify(this.planned) };
  }
}
