/**
 * One DC-VAE training step's loss and gradients computed outside tfjs: the dilated convolutions
 * and the two Gaussian heads on the native conv kernels, the activations, the reparameterisation
 * and the loss (with their derivatives) as plain loops over preallocated Float32Arrays.
 *
 * Why: through tfjs-layers a step of the bench DC-VAE (issue 7) took ~45 ms, of which the native
 * conv compute was ~7 ms. The rest was tfjs overhead around it: the split/concat of every
 * Gaussian head (forward and backward; the wasm backend copies a last-axis slice row by row),
 * copying each activation out of and back into the wasm heap for every conv op and its
 * gradient, the autodiff tape, and ~1 GC per step from the per-op allocations. Here the
 * activations never enter tfjs: they live in buffers reused from step to step, and only the
 * weights (read), the sampling noise (drawn by the model's own seeded layer, so the stream is the
 * same as on the tfjs path) and the weight gradients (handed to the model's optimizer) cross.
 *
 * The math is exactly the model's (see `training/dc-vae.ts`): per frame
 * `sum_c NLL(x_c | mu_c, exp(logVar_c)) + klWeight * sum_l KL_l`, averaged over frames and
 * windows; log-variances clipped to `[-bound, bound]` with tfjs' clipByValue gradient (passed
 * where `-bound <= raw <= bound`, both ends included); relu's gradient where the pre-activation
 * is > 0 (tfjs' `step`), tanh's `1 - y^2`. Elementwise math runs in double and is stored in
 * float32, so results agree with the tfjs path to float32 rounding, not bit for bit.
 *
 * Shapes: N windows, T frames, C channels, L latent features, F filters; all batch-major.
 */
import type * as tf from '@tensorflow/tfjs-core';
import type { NativeKernels } from '../../src/native';
import type { ConvActivation } from '../ops/layers';

/** One causal dilated conv of the stack, as the step needs it. */
export interface StepConv {
  /** Kernel `[k, Cin, Cout]` and bias `[Cout]` as they are now. */
  kernel: Float32Array;
  bias: Float32Array;
  taps: number;
  dilation: number;
  in: number;
  out: number;
  activation: ConvActivation;
}

/** One kernel-1 Gaussian head: `[N, T, Cin] -> [N, T, 2U]` (means, then raw log-variances). */
export interface StepHead {
  kernel: Float32Array;
  bias: Float32Array;
  in: number;
  units: number;
  logVarBound: number;
}

/** The network of one step, in forward order. */
export interface StepNet {
  encoder: StepConv[];
  encoderHead: StepHead;
  decoder: StepConv[];
  decoderHead: StepHead;
  klWeight: number;
}

/** Weight gradients of one step, same layout as the weights (kernel, bias per layer). */
export interface StepGrads {
  encoder: [Float32Array, Float32Array][];
  encoderHead: [Float32Array, Float32Array];
  decoder: [Float32Array, Float32Array][];
  decoderHead: [Float32Array, Float32Array];
}

const HALF_LOG_2PI = 0.5 * Math.log(2 * Math.PI);

/**
 * Buffers of one batch size, reused across steps (allocating ~3 MB of activations per step is
 * what made the garbage collector run about once per step).
 */
class StepBuffers {
  /** Post-activation output of every conv, encoder then decoder: `[N, T, out]`. */
  readonly acts: Float32Array[];
  /** Gradient w.r.t. each conv's output (then, in place, w.r.t. its pre-activation). */
  readonly dActs: Float32Array[];
  /** Int32Array views of acts and dActs (relu on the float bits, see activateInPlace). */
  readonly actBits: Int32Array[];
  readonly dActBits: Int32Array[];
  /** Heads' raw outputs `[N, T, 2U]` and their gradients. */
  readonly encHead: Float32Array;
  readonly dEncHead: Float32Array;
  readonly decHead: Float32Array;
  readonly dDecHead: Float32Array;
  /** Latent sigma `exp(logVar / 2)` (clipped logVar) `[N, T, L]`, the sample z and its gradient. */
  readonly sigmaZ: Float64Array;
  readonly z: Float32Array;
  readonly dz: Float32Array;
  /** Gradient w.r.t. the network input (computed by the first conv's backward, unused). */
  readonly dInput: Float32Array;
  readonly grads: StepGrads;

  constructor(
    readonly N: number,
    readonly T: number,
    readonly C: number,
    net: StepNet,
  ) {
    const convs = [...net.encoder, ...net.decoder];
    const frames = N * T;
    this.acts = convs.map((c) => new Float32Array(frames * c.out));
    this.dActs = convs.map((c) => new Float32Array(frames * c.out));
    this.actBits = this.acts.map((a) => new Int32Array(a.buffer, a.byteOffset, a.length));
    this.dActBits = this.dActs.map((a) => new Int32Array(a.buffer, a.byteOffset, a.length));
    const L = net.encoderHead.units;
    this.encHead = new Float32Array(frames * 2 * L);
    this.dEncHead = new Float32Array(frames * 2 * L);
    this.decHead = new Float32Array(frames * 2 * net.decoderHead.units);
    this.dDecHead = new Float32Array(frames * 2 * net.decoderHead.units);
    this.sigmaZ = new Float64Array(frames * L);
    this.z = new Float32Array(frames * L);
    this.dz = new Float32Array(frames * L);
    this.dInput = new Float32Array(frames * C);
    const pair = (w: { kernel: Float32Array; bias: Float32Array }): [Float32Array, Float32Array] => [new Float32Array(w.kernel.length), new Float32Array(w.bias.length)];
    this.grads = { encoder: net.encoder.map(pair), encoderHead: pair(net.encoderHead), decoder: net.decoder.map(pair), decoderHead: pair(net.decoderHead) };
  }

  fits(N: number, T: number, C: number): boolean {
    return this.N === N && this.T === T && this.C === C;
  }
}

/**
 * Applies the activation in place on a conv output (`bits`: an Int32Array view of the same
 * memory). relu works on the float bits: `v & ~(v >> 31)` zeroes every float with the sign bit
 * set and keeps the rest. Why not `if (y < 0) y = 0`: the sign of a pre-activation is a coin
 * flip, and the mispredicted branch made these loops ~3x slower than the conv they follow.
 */
function activateInPlace(y: Float32Array, bits: Int32Array, activation: ConvActivation): void {
  if (activation === 'relu') {
    for (let i = 0; i < bits.length; i++) {
      const v = bits[i]!;
      bits[i] = v & ~(v >> 31);
    }
  } else if (activation === 'tanh') {
    for (let i = 0; i < y.length; i++) y[i] = Math.tanh(y[i]!);
  }
}

/**
 * Turns dL/dy into dL/d(pre-activation) in place, from the activation's output y (float views
 * and Int32Array views of the same memory). relu: keeps dy where y > 0 (tfjs' relu gradient,
 * `step(pre) = pre > 0`), branch-free as above: y >= 0 after relu, so its bits are a
 * non-negative int, and `(v | -v) >> 31` is all ones exactly when v != 0, i.e. y > 0.
 */
function activationBackwardInPlace(dy: Float32Array, dyBits: Int32Array, y: Float32Array, yBits: Int32Array, activation: ConvActivation): void {
  if (activation === 'relu') {
    for (let i = 0; i < dyBits.length; i++) {
      const v = yBits[i]!;
      dyBits[i] = dyBits[i]! & ((v | -v) >> 31);
    }
  } else if (activation === 'tanh') {
    for (let i = 0; i < dy.length; i++) dy[i] = dy[i]! * (1 - y[i]! * y[i]!);
  }
}

/**
 * The loss and gradients of one DC-VAE training step, with buffers kept between calls. Not
 * thread-safe; one instance per model.
 */
export class DcVaeStep {
  private buffers?: StepBuffers;

  constructor(private readonly kernels: NativeKernels) {}

  /**
   * Forward and backward of one batch.
   *
   * @param net the weights as they are now.
   * @param input the network input `[N, T, C]`.
   * @param target the loss' x: element `(n, t, c)` at `target[(n*T + t) * targetStride + c]`
   *   (the model's training target carries x in its first C features).
   * @param noise the reparameterisation's eps `[N, T, L]`.
   * @returns the batch loss (mean over windows of the per-window loss) and the weight gradients
   *   (owned by this object: valid until the next call).
   */
  run(net: StepNet, input: Float32Array, target: Float32Array, targetStride: number, noise: Float32Array, N: number, T: number, C: number): { loss: number; grads: StepGrads } {
    if (!this.buffers?.fits(N, T, C)) this.buffers = new StepBuffers(N, T, C, net);
    const b = this.buffers;
    const k = this.kernels;
    const depth = net.encoder.length;
    const L = net.encoderHead.units;
    const frames = N * T;
    const scale = 1 / frames; // d(mean over windows of mean over frames)/d(per-frame term)

    // Forward: encoder convs, latent head, z = mu + exp(logVar / 2) * eps, decoder convs, head.
    let h = input;
    for (let i = 0; i < depth; i++) {
      const c = net.encoder[i]!;
      k.convForward(h, c.kernel, c.bias, b.acts[i]!, N, T, c.in, c.out, c.taps, c.dilation);
      activateInPlace(b.acts[i]!, b.actBits[i]!, c.activation);
      h = b.acts[i]!;
    }
    const eh = net.encoderHead;
    k.convForward(h, eh.kernel, eh.bias, b.encHead, N, T, eh.in, 2 * L, 1, 1);
    const boundZ = eh.logVarBound;
    let kl = 0;
    for (let f = 0; f < frames; f++) {
      for (let l = 0; l < L; l++) {
        const mu = b.encHead[f * 2 * L + l]!;
        const lv = Math.min(Math.max(b.encHead[f * 2 * L + L + l]!, -boundZ), boundZ);
        // One exp per element (exp(lv) = sigma^2; Math.exp dominated these loops), and sigma is
        // kept for the backward pass.
        const sigma = Math.exp(0.5 * lv);
        const i = f * L + l;
        b.sigmaZ[i] = sigma;
        b.z[i] = mu + sigma * noise[i]!;
        kl += 0.5 * (mu * mu + sigma * sigma - (lv + 1));
      }
    }
    h = b.z;
    for (let j = 0; j < net.decoder.length; j++) {
      const c = net.decoder[j]!;
      const i = depth + j;
      k.convForward(h, c.kernel, c.bias, b.acts[i]!, N, T, c.in, c.out, c.taps, c.dilation);
      activateInPlace(b.acts[i]!, b.actBits[i]!, c.activation);
      h = b.acts[i]!;
    }
    const dh = net.decoderHead;
    k.convForward(h, dh.kernel, dh.bias, b.decHead, N, T, dh.in, 2 * C, 1, 1);

    // Loss and its gradient w.r.t. the decoder head's raw output.
    const boundX = dh.logVarBound;
    let nll = 0;
    for (let f = 0; f < frames; f++) {
      const row = f * 2 * C;
      const xRow = f * targetStride;
      for (let c = 0; c < C; c++) {
        const mu = b.decHead[row + c]!;
        const raw = b.decHead[row + C + c]!;
        const lv = Math.min(Math.max(raw, -boundX), boundX);
        const diff = target[xRow + c]! - mu;
        const invVar = Math.exp(-lv);
        nll += 0.5 * (lv + diff * diff * invVar) + HALF_LOG_2PI;
        b.dDecHead[row + c] = -scale * diff * invVar;
        b.dDecHead[row + C + c] = raw >= -boundX && raw <= boundX ? scale * 0.5 * (1 - diff * diff * invVar) : 0;
      }
    }
    const loss = (nll + net.klWeight * kl) * scale;

    // Backward through the decoder.
    const g = b.grads;
    const lastDec = depth + net.decoder.length - 1;
    k.convBackward(b.acts[lastDec]!, dh.kernel, b.dDecHead, b.dActs[lastDec]!, g.decoderHead[0], g.decoderHead[1], N, T, dh.in, 2 * C, 1, 1);
    for (let j = net.decoder.length - 1; j >= 0; j--) {
      const c = net.decoder[j]!;
      const i = depth + j;
      activationBackwardInPlace(b.dActs[i]!, b.dActBits[i]!, b.acts[i]!, b.actBits[i]!, c.activation);
      const x = j === 0 ? b.z : b.acts[i - 1]!;
      const dx = j === 0 ? b.dz : b.dActs[i - 1]!;
      k.convBackward(x, c.kernel, b.dActs[i]!, dx, g.decoder[j]![0], g.decoder[j]![1], N, T, c.in, c.out, c.taps, c.dilation);
    }

    // Through the sample and the KL term into the latent head's raw output.
    const klScale = scale * net.klWeight;
    for (let f = 0; f < frames; f++) {
      for (let l = 0; l < L; l++) {
        const i = f * L + l;
        const mu = b.encHead[f * 2 * L + l]!;
        const raw = b.encHead[f * 2 * L + L + l]!;
        const sigma = b.sigmaZ[i]!;
        const dz = b.dz[i]!;
        b.dEncHead[f * 2 * L + l] = dz + klScale * mu;
        b.dEncHead[f * 2 * L + L + l] = raw >= -boundZ && raw <= boundZ ? dz * noise[i]! * 0.5 * sigma + klScale * 0.5 * (sigma * sigma - 1) : 0;
      }
    }

    // Backward through the encoder.
    const lastEnc = depth - 1;
    k.convBackward(b.acts[lastEnc]!, eh.kernel, b.dEncHead, b.dActs[lastEnc]!, g.encoderHead[0], g.encoderHead[1], N, T, eh.in, 2 * L, 1, 1);
    for (let i = depth - 1; i >= 0; i--) {
      const c = net.encoder[i]!;
      activationBackwardInPlace(b.dActs[i]!, b.dActBits[i]!, b.acts[i]!, b.actBits[i]!, c.activation);
      const x = i === 0 ? input : b.acts[i - 1]!;
      const dx = i === 0 ? b.dInput : b.dActs[i - 1]!;
      k.convBackward(x, c.kernel, b.dActs[i]!, dx, g.encoder[i]![0], g.encoder[i]![1], N, T, c.in, c.out, c.taps, c.dilation);
    }
    return { loss, grads: g };
  }
}

/** `dataSync` of a tensor as float32 (read-only: it may be the backend's own storage). */
export function floats(t: tf.Tensor): Float32Array {
  return t.dataSync() as Float32Array;
}
