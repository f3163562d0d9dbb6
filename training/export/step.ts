/**
 * Pieces of a step graph (`model.step.onnx`): the incremental form of a stack of dilated causal
 * convolutions, which advances each series by T new frames from the layers' cached columns
 * instead of recomputing a whole window per frame (as fast WaveNet generation does). T = 1 is
 * steady streaming; a larger T (a series with several new frames in one batch) makes one call
 * serve them all, so the fixed cost of a call is shared by T frames.
 *
 * Contract (`src/infer/step-state.ts` keeps the state and names the tensors): with `width` the
 * sum of the layers' input features,
 * - inputs `frames` float32 `[B, T, C]` (raw units); `history` float32 `[B, M, width]`: for each
 *   series and layer (block of `in` columns at the layer's offset), the layer's input at frames
 *   `t0 - (k-1)d, ...` in its first `min(M, (k-1)d)` rows, where `t0` is the call's first frame
 *   and M is at least `min(T, d)` for every kernel-2 layer and `(k-1)d` for wider ones
 *   (`historyDepth`);
 * - outputs the kind's scores at every new frame (the window graph's names, with a T axis after
 *   B), and `columns` float32 `[B, T, width]`: each layer's input at each new frame, which the
 *   caller stores for later calls;
 * - metadata `seismo.step.layers`: the layers as JSON `[{in, dilation, kernel}]`.
 *
 * A layer is `act(concat(taps, x_t) @ K + b)` with the tfjs kernel `[k, in, out]` read as
 * `[k * in, out]` (tap-major, tap k-1 the current frame): the same sum as the window graph's Conv
 * with `dilations=[d]`, `pads=[d(k-1), 0]`, for T frames at once (one MatMul over `B * T` rows).
 * Tap j of the T frames is rows `j d .. j d + T - 1` of the layer's past rows followed by its
 * input: with k = 2 and `min(T, d)` past rows, the first T rows of that concatenation.
 */
import { STEP_IO, STEP_LAYOUT_KEY, type StepLayer, stepOffsets, stepWidth } from '../../src/infer/step-state';
import type { CausalConvWeights } from './blocks';
import { DType, type GraphBuilder, attr } from './onnx-graph';

/** Builds the layers of a step graph in the order of a planned layout. */
export class StepLayers {
  /** Name of the raw `frames` input `[B, T, C]`. */
  readonly frames: string;
  /** Row width of `history` and `columns`. */
  readonly width: number;
  private readonly history: string;
  private readonly offsets: number[];
  private readonly columns: string[] = [];
  /** `[1]` int64: T, and T + j d per tap offset used (made once each). */
  private readonly ends = new Map<number, string>();
  private next = 0;
  /** `[3]` int64 shapes `[B, T, n]` (made once per n). */
  private readonly shapes = new Map<number, string>();

  /**
   * Declares the `frames` `[B, T, C]` and `history` `[B, M, width]` inputs for the layers planned
   * (those with k >= 2, in the order {@link conv} will be called on them).
   */
  constructor(
    private readonly g: GraphBuilder,
    channels: number,
    readonly planned: readonly StepLayer[],
  ) {
    this.frames = g.input(STEP_IO.frames, DType.float, ['B', 'T', channels]);
    this.width = stepWidth({ layers: planned });
    this.offsets = stepOffsets({ layers: planned });
    this.history = g.input(STEP_IO.history, DType.float, ['B', 'M', this.width]);
    this.ends.set(0, g.op('Shape', [this.frames], { start: attr.int(1), end: attr.int(2) }, 'frames_T'));
  }

  /** `[1]` int64 holding `T + shift`. */
  private end(shift: number): string {
    let name = this.ends.get(shift);
    if (!name) {
      name = this.g.op('Add', [this.ends.get(0)!, this.g.int64Const(`T_plus_${shift}`, [shift], [1])], {}, `frames_T_plus_${shift}`);
      this.ends.set(shift, name);
    }
    return name;
  }

  /**
   * One causal convolution at T frames: `x` `[B, T, in]` -> rows `[B T, out]` (no activation;
   * {@link unrows} makes them `[B, T, out]` again). Kernel-1 layers are a plain Gemm and take no history.
   */
  conv(x: string, w: CausalConvWeights, prefix: string): string {
    const { kernelSize: k, inputSize: cin, filters: cout, dilation: d } = w;
    const kernel = this.g.floatConst(`${prefix}_K`, w.kernel, [k * cin, cout]);
    let input = x;
    if (k > 1) {
      const l = this.next;
      const plan = this.planned[l];
      if (!plan || plan.in !== cin || plan.dilation !== d || plan.kernel !== k) {
        throw new Error(`step graph: layer ${prefix} (in ${cin}, dilation ${d}, kernel ${k}) is not planned layer ${l} ${JSON.stringify(plan)}`);
      }
      this.next++;
      const g = this.g;
      const off = this.offsets[l]!;
      // The layer's past rows (at most (k-1)d; fewer when M is smaller, see the contract).
      const past = g.op('Slice', [this.history, g.int64Const(`${prefix}_past_from`, [0, off], [2]), g.int64Const(`${prefix}_past_to`, [(k - 1) * d, off + cin], [2]), g.int64Const(`${prefix}_past_axes`, [1, 2], [2])], {}, `${prefix}_past`); // [B, m, in]
      const seq = g.op('Concat', [past, x], { axis: attr.int(1) }, `${prefix}_seq`); // [B, m + T, in]
      const parts: string[] = [];
      for (let j = 0; j < k - 1; j++) {
        parts.push(g.op('Slice', [seq, g.int64Const(`${prefix}_tap${j}_from`, [j * d], [1]), this.end(j * d), g.int64Const(`${prefix}_tap${j}_axis`, [1], [1])], {}, `${prefix}_tap${j}`)); // [B, T, in]
      }
      this.columns.push(x);
      input = g.op('Concat', [...parts, x], { axis: attr.int(2) }, `${prefix}_window`); // [B, T, k in]
    }
    // As rows `[B T, k in]`: a Gemm with its bias (and the activation after it, which onnxruntime
    // fuses into it) in one pass over the output, where MatMul, Add and the activation on `[B, T, out]` take three.
    const rows = this.g.op('Reshape', [input, this.g.int64Const(`${prefix}_rows_shape`, [-1, k * cin], [2])], {}, `${prefix}_rows`);
    return this.g.op('Gemm', [rows, kernel, this.g.floatConst(`${prefix}_b`, w.bias, [cout])], {}, `${prefix}_out`);
  }

  /** `[B T, n]` rows back to `[B, T, n]`. */
  unrows(x: string, n: number, prefix: string): string {
    let shape = this.shapes.get(n);
    if (!shape) {
      shape = this.g.op('Concat', [this.g.op('Shape', [this.frames], { start: attr.int(0), end: attr.int(2) }, `frames_BT_${n}`), this.g.int64Const(`width_${n}`, [n], [1])], { axis: attr.int(0) }, `shape_BT_${n}`);
      this.shapes.set(n, shape);
    }
    return this.g.op('Reshape', [x, shape], {}, `${prefix}_seq3`);
  }

  /** Declares the `columns` output; returns the metadata entry that describes the layout. */
  finish(): Record<string, string> {
    if (this.next !== this.planned.length) throw new Error(`step graph: ${this.next} of ${this.planned.length} planned layers built`);
    if (this.columns.length > 0) this.g.output(this.g.op('Concat', this.columns, { axis: attr.int(2) }, 'new_columns'), STEP_IO.columns, DType.float, ['B', 'T', this.width]);
    return { [STEP_LAYOUT_KEY]: JSON.stringify(this.planned) };
  }
}
