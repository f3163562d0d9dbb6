/**
 * Pieces of a step graph (`model.step.onnx`): the incremental form of a stack of dilated causal
 * convolutions, which advances each series by T new frames from the layers' cached columns
 * instead of recomputing a whole window per frame (as fast WaveNet generation does). T = 1 is
 * steady streaming; a larger T (a series with several new frames in one batch) makes one call
 * serve them all, so the fixed cost of a call is shared by T frames.
 *
 * Contract (`src/infer/step-state.ts` keeps the state and names the tensors): with `width` the
 * sum of the layers' input features,
 * - inputs `frames` float32 `[T, B, C]` (raw units; time-major, so that joining and cutting
 *   along time are block copies), and per layer l `history_l` float32 `[m, B, in]`: the layer's
 *   input at frames `t0 - (k-1)d, ...` (oldest first), where `t0` is the call's first frame and m
 *   is `min(T, d)` for a kernel-2 layer, `(k-1)d` for a wider one (`historyRows`);
 * - outputs the kind's scores at every new frame (the window graph's names, with a T axis before
 *   B: `[T, B]`, `[T, B, C]`), and `columns` float32 `[T * B * width]`: layer after layer, the
 *   layer's input at each new frame (`[T, B, in]`), which the caller stores for later calls;
 * - metadata `seismo.step.layers`: the layers as JSON `[{in, dilation, kernel}]`.
 *
 * A layer is `act(sum_j tap_j @ K_j + b)` with the tfjs kernel `[k, in, out]` (tap k-1 the
 * current frame): the same sum as the window graph's Conv with `dilations=[d]`,
 * `pads=[d(k-1), 0]`, for T frames at once, each tap one Gemm over `B * T` rows (the bias in the
 * first, the activation fused into the last by onnxruntime). Tap j of the T frames is frames
 * `j d .. j d + T - 1` of the layer's past frames followed by its input (with kernel 2: the past
 * frames, then the first `T - m` new ones).
 */
import { STEP_IO, STEP_LAYOUT_KEY, type StepLayer, historyInput, stepWidth } from '../../src/infer/step-state';
import type { CausalConvWeights } from './blocks';
import { DType, type GraphBuilder, attr } from './onnx-graph';

/** A stream planned by {@link StepLayers.stream}: its new columns, its past ones, and how far back it is read. */
export interface StepStream {
  /** The new columns `[T, B, in]`. */
  readonly x: string;
  /** The history input `[reach, B, in]` (none when `reach` is 0). */
  readonly past: string | undefined;
  readonly reach: number;
  readonly prefix: string;
}

/** Builds the layers of a step graph in the order of a planned layout. */
export class StepLayers {
  /** Name of the raw `frames` input `[T, B, C]`. */
  readonly frames: string;
  /** Floats of every layer's input side by side (a frame's share of `columns`). */
  readonly width: number;
  private readonly columns: string[] = [];
  /** `[1]` int64: T, and T + j d per tap offset used (made once each). */
  private readonly ends = new Map<number, string>();
  private next = 0;
  /** `[3]` int64 shapes `[T, B, n]` (made once per n). */
  private readonly shapes = new Map<number, string>();
  private flatShape: string | undefined;

  /**
   * Declares the `frames` `[T, B, C]` input, and a `history_l` input per layer planned (those
   * with k >= 2, in the order {@link conv} will be called on them).
   */
  constructor(
    private readonly g: GraphBuilder,
    channels: number,
    readonly planned: readonly StepLayer[],
  ) {
    this.frames = g.input(STEP_IO.frames, DType.float, ['T', 'B', channels]);
    this.width = stepWidth({ layers: planned });
    this.ends.set(0, g.op('Shape', [this.frames], { start: attr.int(0), end: attr.int(1) }, 'frames_T'));
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
   * One causal convolution at T frames: `x` `[T, B, in]` -> rows `[T B, out]` (no activation;
   * {@link unrows} makes them `[T, B, out]` again). Kernel-1 layers are a plain Gemm and take no history.
   */
  conv(x: string, w: CausalConvWeights, prefix: string): string {
    const { kernelSize: k, inputSize: cin, filters: cout, dilation: d } = w;
    const g = this.g;
    const rows = (t: string, name: string) => g.op('Reshape', [t, g.int64Const(`${name}_shape`, [-1, cin], [2])], {}, name); // [T B, in]
    // The current frame's tap carries the bias; the past taps add to it (Gemm's C input): no
    // concatenation of taps along the features, which onnxruntime copies value row by value row.
    const current = w.kernel.subarray((k - 1) * cin * cout);
    let y = g.op('Gemm', [rows(x, `${prefix}_x_rows`), g.floatConst(`${prefix}_K${k - 1}`, current, [cin, cout]), g.floatConst(`${prefix}_b`, w.bias, [cout])], {}, `${prefix}_tap${k - 1}_out`);
    if (k > 1) {
      const l = this.next;
      const plan = this.planned[l];
      if (!plan || plan.in !== cin || plan.dilation !== d || plan.kernel !== k) {
        throw new Error(`step graph: layer ${prefix} (in ${cin}, dilation ${d}, kernel ${k}) is not planned layer ${l} ${JSON.stringify(plan)}`);
      }
      this.next++;
      const past = g.input(historyInput(l), DType.float, [`m${l}`, 'B', cin]);
      const axis0 = g.int64Const(`${prefix}_axis0`, [0], [1]);
      // Kernel 2: the tap is the m = min(T, d) past frames followed by the first T - m new ones
      // (none when T <= d): one copy of T frames. Wider kernels cut their taps out of the past and
      // new frames joined.
      const seq = k === 2 ? undefined : g.op('Concat', [past, x], { axis: attr.int(0) }, `${prefix}_seq`); // [m + T, B, in]
      for (let j = 0; j < k - 1; j++) {
        const tap = seq
          ? g.op('Slice', [seq, g.int64Const(`${prefix}_tap${j}_from`, [j * d], [1]), this.end(j * d), axis0], {}, `${prefix}_tap${j}`) // [T, B, in]
          : g.op('Concat', [past, g.op('Slice', [x, g.int64Const(`${prefix}_new_from`, [0], [1]), g.op('Sub', [this.ends.get(0)!, g.op('Shape', [past], { start: attr.int(0), end: attr.int(1) }, `${prefix}_m`)], {}, `${prefix}_new_count`), axis0], {}, `${prefix}_new`)], { axis: attr.int(0) }, `${prefix}_tap${j}`); // [T, B, in]
        y = g.op('Gemm', [rows(tap, `${prefix}_tap${j}_rows`), g.floatConst(`${prefix}_K${j}`, w.kernel.subarray(j * cin * cout, (j + 1) * cin * cout), [cin, cout]), y], {}, `${prefix}_tap${j}_out`);
      }
      // [T B in]: this layer's block of `columns` (blocks joined end to end: one copy each).
      this.columns.push(g.op('Reshape', [x, this.flat()], {}, `${prefix}_column`));
    }
    return y; // [T B, out]
  }

  /**
   * A per-frame stream `x` `[T, B, in]` that the graph reads at any delay up to `reach` frames
   * back (not a convolution's fixed taps: a max-pooling over the last frames, the strided reads of
   * a Dense layer over a whole window, a window's first frames). Planned as the contiguous layer
   * `{in, dilation: 1, kernel: reach + 1}`, whose history is all `reach` past columns whatever T
   * (`historyRows`): the stream at frames `t0 - reach .. t0 - 1`. {@link delayed} and
   * {@link delayedStack} read it. `reach` 0 plans nothing.
   */
  stream(x: string, cin: number, reach: number, prefix: string): StepStream {
    if (reach === 0) return { x, past: undefined, reach, prefix };
    const g = this.g;
    const l = this.next;
    const plan = this.planned[l];
    if (!plan || plan.in !== cin || plan.dilation !== 1 || plan.kernel !== reach + 1) {
      throw new Error(`step graph: stream ${prefix} (in ${cin}, reach ${reach}) is not planned layer ${l} ${JSON.stringify(plan)}`);
    }
    this.next++;
    const past = g.input(historyInput(l), DType.float, [`m${l}`, 'B', cin]);
    this.columns.push(g.op('Reshape', [x, this.flat()], {}, `${prefix}_column`));
    return { x, past, reach, prefix };
  }

  /**
   * The stream at `delay` frames before each new frame, `[T, B, in]`: the `min(T, delay)` past
   * columns from `t0 - delay`, then the first `T - min(T, delay)` new ones (one copy of T frames;
   * with one frame per series a call copies one past column, not the whole history).
   */
  delayed(s: StepStream, delay: number, prefix: string): string {
    if (delay < 0 || delay > s.reach) throw new Error(`step graph: delay ${delay} outside the reach ${s.reach} of ${s.prefix}`);
    if (delay === 0) return s.x;
    const g = this.g;
    const axis0 = g.int64Const(`${prefix}_axis0`, [0], [1]);
    const m = g.op('Min', [this.ends.get(0)!, g.int64Const(`${prefix}_delay`, [delay], [1])], {}, `${prefix}_m`); // [1]: min(T, delay)
    const from = g.int64Const(`${prefix}_from`, [s.reach - delay], [1]);
    const old = g.op('Slice', [s.past!, from, g.op('Add', [from, m], {}, `${prefix}_old_end`), axis0], {}, `${prefix}_old`);
    const recent = g.op('Slice', [s.x, g.int64Const(`${prefix}_new_from`, [0], [1]), g.op('Sub', [this.ends.get(0)!, m], {}, `${prefix}_new_count`), axis0], {}, `${prefix}_new`);
    return g.op('Concat', [old, recent], { axis: attr.int(0) }, prefix);
  }

  /**
   * The stream at several delays before each new frame, `[n T, B, in]` (delay-major: the T frames
   * of `delays[i]` are rows `i T .. (i + 1) T - 1`, so a Reshape makes `[n, T B, in]`), each as
   * {@link delayed} copies it.
   */
  delayedStack(s: StepStream, delays: readonly number[], prefix: string): string {
    const parts = delays.map((d, i) => this.delayed(s, d, `${prefix}_${i}`));
    return parts.length === 1 ? parts[0]! : this.g.op('Concat', parts, { axis: attr.int(0) }, prefix);
  }

  /** `[1]` int64 `[-1]` (flattens). */
  private flat(): string {
    this.flatShape ??= this.g.int64Const('flat_shape', [-1], [1]);
    return this.flatShape;
  }

  /** `[T B, n]` rows back to `[T, B, n]`. */
  unrows(x: string, n: number, prefix: string): string {
    let shape = this.shapes.get(n);
    if (!shape) {
      shape = this.g.op('Concat', [this.g.op('Shape', [this.frames], { start: attr.int(0), end: attr.int(2) }, `frames_TB_${n}`), this.g.int64Const(`width_${n}`, [n], [1])], { axis: attr.int(0) }, `shape_TB_${n}`);
      this.shapes.set(n, shape);
    }
    return this.g.op('Reshape', [x, shape], {}, `${prefix}_seq3`);
  }

  /** Declares the `columns` output; returns the metadata entry that describes the layout. */
  finish(): Record<string, string> {
    if (this.next !== this.planned.length) throw new Error(`step graph: ${this.next} of ${this.planned.length} planned layers built`);
    if (this.columns.length > 0) this.g.output(this.g.op('Concat', this.columns, { axis: attr.int(0) }, 'new_columns'), STEP_IO.columns, DType.float, [`T*B*${this.width}`]);
    return { [STEP_LAYOUT_KEY]: JSON.stringify(this.planned) };
  }
}
