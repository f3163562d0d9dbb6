/**
 * One LSTM-AE training step's loss and gradients computed outside tfjs: the LSTM layers on the
 * native kernels (forward saving the gates, backward through time), the repeated code, the
 * per-frame Dense and the mean squared error (with their derivatives) as plain loops over
 * buffers reused from step to step.
 *
 * Why: through tfjs-layers a step of the bench LSTM-AE (issue 17, batch 64 x 64 frames x 8
 * channels) cost ~15 ms of CPU, of which the native LSTM compute was ~4.6 ms. The rest was tfjs
 * around it: the autodiff tape and ~40 small ops forward and backward, the Dense's three
 * matmuls on the wasm backend (~2 ms a step, its gradient products take wasm's slow transposed
 * path), copying every activation out of and back into the wasm heap, and the garbage collector
 * (~5 MB of fresh LSTM state per step). Here only the weights (read), the windows (read) and the
 * weight gradients (handed to the model's optimizer) cross.
 *
 * The math is the model's (training/kinds/lstm-ae/model.ts): encoder LSTM stack (all but the
 * last return sequences), the last hidden state repeated over the W frames, decoder LSTM stack
 * (return sequences), Dense per frame (`y = h Wd + bd`, linear), loss = mean over windows, frames
 * and channels of the squared error (tfjs-layers' `meanSquaredError` averaged over the batch).
 * The LSTM layers run the same native kernels as the tfjs path, the first decoder layer with its
 * input marked repeated (the code, projected once per window; the kernel also sums the repeat's
 * gradient over the frames), the Dense the native conv kernels (kernel size 1); the loss runs in
 * double and is stored in float32. Results agree with tfjs autodiff to float32 rounding, not bit
 * for bit (the Dense's products and the sums are taken in another order than on tfjs' wasm backend).
 *
 * Shapes: N windows, T frames, C channels; all batch-major `[N, T, .]`.
 */
import type { NativeKernels } from '../../src/native';

/** One LSTM layer as the step needs it (gate blocks i, f, c, o; Keras/tfjs-layers layout). */
export interface StepLstm {
  /** Input weights `[in, 4 units]`, recurrent weights `[units, 4 units]`, bias `[4 units]`, as they are now. */
  kernel: Float32Array;
  recurrent: Float32Array;
  bias: Float32Array;
  in: number;
  units: number;
  /** Gate activation: 0 sigmoid, 1 hardSigmoid (the native kernels' code). */
  gate: 0 | 1;
}

/** The network of one step, in forward order. */
export interface LstmAeNet {
  encoder: StepLstm[];
  decoder: StepLstm[];
  /** Per-frame Dense: kernel `[in, out]`, bias `[out]`. */
  dense: { kernel: Float32Array; bias: Float32Array; in: number; out: number };
}

/** Weight gradients of one step, same layout as the weights: `[kernel, recurrent, bias]` per LSTM, `[kernel, bias]` of the Dense. */
export interface LstmAeGrads {
  encoder: [Float32Array, Float32Array, Float32Array][];
  decoder: [Float32Array, Float32Array, Float32Array][];
  dense: [Float32Array, Float32Array];
}

/** Buffers of one batch shape, reused across steps. */
class StepBuffers {
  /** Output of every LSTM, encoder then decoder (`[N, T, H]`; the last encoder's `[N, H]`). */
  readonly outs: Float32Array[];
  /** Gates, cells and hidden states each LSTM's forward saves for its backward: `[T, N, 6H]`. */
  readonly states: Float32Array[];
  /**
   * Gradient w.r.t. each LSTM's input (`[N, T, in]`; the first decoder's `[N, in]`, the gradient
   * w.r.t. the code); the first encoder's is not computed (null).
   */
  readonly dIns: (Float32Array | null)[];
  /** Dense output and the gradient of the loss w.r.t. it: `[N, T, C]`. */
  readonly out: Float32Array;
  readonly dOut: Float32Array;
  /** Gradient w.r.t. the last decoder's output, `[N, T, Hdec]`. */
  readonly dDec: Float32Array;
  readonly grads: LstmAeGrads;

  constructor(
    readonly N: number,
    readonly T: number,
    readonly C: number,
    net: LstmAeNet,
  ) {
    const layers = [...net.encoder, ...net.decoder];
    const lastEnc = net.encoder.length - 1;
    this.outs = layers.map((l, i) => new Float32Array(N * (i === lastEnc ? 1 : T) * l.units));
    this.states = layers.map((l) => new Float32Array(T * N * 6 * l.units));
    this.dIns = layers.map((l, i) => (i === 0 ? null : new Float32Array(N * (i === lastEnc + 1 ? 1 : T) * l.in)));
    this.out = new Float32Array(N * T * C);
    this.dOut = new Float32Array(N * T * C);
    this.dDec = new Float32Array(N * T * net.dense.in);
    const triple = (l: StepLstm): [Float32Array, Float32Array, Float32Array] => [new Float32Array(l.kernel.length), new Float32Array(l.recurrent.length), new Float32Array(l.bias.length)];
    this.grads = {
      encoder: net.encoder.map(triple),
      decoder: net.decoder.map(triple),
      dense: [new Float32Array(net.dense.kernel.length), new Float32Array(net.dense.bias.length)],
    };
  }

  fits(N: number, T: number, C: number, net: LstmAeNet): boolean {
    return this.N === N && this.T === T && this.C === C && this.grads.encoder.length === net.encoder.length && this.grads.decoder.length === net.decoder.length;
  }
}

/** Runs LSTM-AE training steps on the native kernels (see the file comment). */
export class LstmAeStep {
  private buffers?: StepBuffers;

  constructor(private readonly kernels: NativeKernels) {}

  /**
   * Loss and weight gradients of one batch.
   * @param x windows `[N, T, C]`; @param y targets `[N, T, C]` (the windows, for an autoencoder).
   * @returns the loss and the gradients, in buffers reused by the next call (copy them first).
   */
  run(net: LstmAeNet, x: Float32Array, y: Float32Array, N: number, T: number, C: number): { loss: number; grads: LstmAeGrads } {
    if (!this.buffers?.fits(N, T, C, net)) this.buffers = new StepBuffers(N, T, C, net);
    const b = this.buffers;
    const k = this.kernels;
    const layers = [...net.encoder, ...net.decoder];
    const E = net.encoder.length;
    // Forward: the encoder stack, then the decoder stack. The first decoder layer reads the code
    // `[N, Hcode]` as a repeated input (the same x at every frame): the kernel projects it once
    // per window instead of once per frame, and no repeated copy is made.
    let input = x;
    for (let i = 0; i < layers.length; i++) {
      const l = layers[i]!;
      k.lstmForward(input, l.kernel, l.recurrent, l.bias, b.outs[i]!, b.states[i]!, N, T, l.in, l.units, l.gate, i !== E - 1, i === E);
      input = b.outs[i]!;
    }
    // The Dense per frame is a kernel-1 convolution (kernel [1, D, C] = the Dense's [D, C]): the
    // native conv kernels' GEMMs, forward and backward.
    const { kernel: Wd, bias: bd, in: D } = net.dense;
    const dec = b.outs[layers.length - 1]!;
    const out = b.out;
    k.convForward(dec, Wd, bd, out, N, T, D, C, 1, 1);
    // The squared error and its gradient: d loss / d out = 2 (out - y) / (N T C).
    const count = N * T * C;
    const scale = 2 / count;
    const dOut = b.dOut;
    let sum = 0;
    for (let i = 0; i < count; i++) {
      const e = out[i]! - y[i]!;
      sum += e * e;
      dOut[i] = scale * e;
    }
    const loss = sum / count;
    const g = b.grads;
    const dDec = b.dDec;
    k.convBackward(dec, Wd, dOut, dDec, g.dense[0], g.dense[1], N, T, D, C, 1, 1);
    let dy = dDec;
    // Backward, last layer first. The first decoder's dx is the code's gradient (the repeat's
    // sum over the frames, taken in the kernel); the first encoder's input gradient is not needed.
    for (let i = layers.length - 1; i >= 0; i--) {
      const l = layers[i]!;
      const lg = i < E ? g.encoder[i]! : g.decoder[i - E]!;
      const layerInput = i === 0 ? x : b.outs[i - 1]!;
      k.lstmBackward(layerInput, l.kernel, l.recurrent, b.states[i]!, dy, b.dIns[i]!, lg[0], lg[1], lg[2], N, T, l.in, l.units, l.gate, i !== E - 1, i === E);
      if (i > 0) dy = b.dIns[i]!;
    }
    return { loss, grads: g };
  }
}
