// The oracle of the native LSTM-AE scorer (native/lstm_ae_score.h) and of everything that feeds
// it: the exported LSTM-AE graph's semantics in float64, written straight from the definitions
// (training/export/blocks.ts: windowPrologue, lstm, repeatTimeMajor, dense, reconstructionScore,
// channelActivity) with no attempt at speed, plus a builder of small exported graphs with their
// spec, so that tests can run the same weights through onnxruntime, this reference and the addon.
import { dense, kerasToOnnxGates, lstm, reconstructionScore, repeatTimeMajor, swapBatchTime, windowPrologue } from '../../training/export/blocks.js';
import { GraphBuilder } from '../../training/export/onnx-graph.js';
import type { LstmAeNetSpec, LstmLayerWeights } from '../../src/native.js';

/** What the graph outputs for n windows, in float64. */
export interface LstmAeReferenceOutputs {
  /** `[n]`: the window's mean squared reconstruction error (sum of its channelScore row). */
  score: Float64Array;
  /** `[n, C]`: `mean_t (rec - scaled)^2 / C`. */
  channelScore: Float64Array;
  /** `[n, C]`: `mean_{t>=1} |scaled_t - scaled_{t-1}|`, or null when the window is shorter than 3 frames. */
  channelActivity: Float64Array | null;
  /** `[n, W, C]`: the reconstruction, scaled units. */
  reconstruction: Float64Array;
}

function gateFn(kind: LstmLayerWeights['gate']): (z: number) => number {
  return kind === 'sigmoid' ? (z) => 1 / (1 + Math.exp(-z)) : (z) => Math.min(1, Math.max(0, 0.2 * z + 0.5));
}

/**
 * One ONNX LSTM layer (forward, zero initial state) over a sequence `xs` of W vectors of
 * `layer.inputSize`: `z = W x_t + Wb + R h_{t-1} + Rb`, gate blocks i, o, f, c;
 * `c_t = f(z_f) c_{t-1} + f(z_i) tanh(z_c)`, `h_t = f(z_o) tanh(c_t)`. Returns every h_t.
 */
export function lstmLayerReference(layer: LstmLayerWeights, xs: readonly Float64Array[]): Float64Array[] {
  const { inputSize: F, units: H, W, R, B } = layer;
  const f = gateFn(layer.gate);
  let h = new Float64Array(H);
  const c = new Float64Array(H);
  const out: Float64Array[] = [];
  const z = new Float64Array(4 * H);
  for (const x of xs) {
    for (let r = 0; r < 4 * H; r++) {
      let s = B[r]! + B[4 * H + r]!;
      for (let k = 0; k < F; k++) s += W[r * F + k]! * x[k]!;
      for (let k = 0; k < H; k++) s += R[r * H + k]! * h[k]!;
      z[r] = s;
    }
    const next = new Float64Array(H);
    for (let j = 0; j < H; j++) {
      const i = f(z[j]!);
      const o = f(z[H + j]!);
      const fg = f(z[2 * H + j]!);
      const g = Math.tanh(z[3 * H + j]!);
      c[j] = fg * c[j]! + i * g;
      next[j] = o * Math.tanh(c[j]!);
    }
    h = next;
    out.push(h);
  }
  return out;
}

/**
 * Scores n windows of `frames` (`[rows, C]`) as the exported LSTM-AE graph defines them, in
 * float64: window i is rows `starts[i] .. starts[i] + W - 1`, scaled `(x - mean) / std`; the
 * encoder stack's last h (the code) is repeated W times into the decoder stack; the Linear
 * output `rec = h K + b` is compared with the scaled window. NaN propagates as in the graph.
 */
export function scoreLstmAeReference(spec: LstmAeNetSpec, frames: Float32Array, starts: ArrayLike<number | bigint>, n: number): LstmAeReferenceOutputs {
  const { window: Wn, channels: C } = spec;
  const rows = frames.length / C;
  const Hout = spec.decoder[spec.decoder.length - 1]!.units;
  const score = new Float64Array(n);
  const channelScore = new Float64Array(n * C);
  const channelActivity = Wn >= 3 ? new Float64Array(n * C) : null;
  const reconstruction = new Float64Array(n * Wn * C);
  for (let w = 0; w < n; w++) {
    const s0 = Number(starts[w]!);
    if (!Number.isInteger(s0) || s0 < 0 || s0 + Wn > rows) throw new RangeError(`window ${w}: start ${s0} outside [0, ${rows - Wn}]`);
    const scaled: Float64Array[] = [];
    for (let t = 0; t < Wn; t++) {
      const v = new Float64Array(C);
      for (let ch = 0; ch < C; ch++) v[ch] = (frames[(s0 + t) * C + ch]! - spec.scalerMean[ch]!) / spec.scalerStd[ch]!;
      scaled.push(v);
    }
    let seq: Float64Array[] = scaled;
    for (const layer of spec.encoder) seq = lstmLayerReference(layer, seq);
    const code = seq[Wn - 1]!;
    seq = Array.from({ length: Wn }, () => code);
    for (const layer of spec.decoder) seq = lstmLayerReference(layer, seq);
    for (let t = 0; t < Wn; t++) {
      for (let ch = 0; ch < C; ch++) {
        let r = spec.outBias ? spec.outBias[ch]! : 0;
        for (let k = 0; k < Hout; k++) r += seq[t]![k]! * spec.outKernel[k * C + ch]!;
        reconstruction[(w * Wn + t) * C + ch] = r;
        const d = r - scaled[t]![ch]!;
        channelScore[w * C + ch] += (d * d) / Wn / C;
      }
    }
    for (let ch = 0; ch < C; ch++) score[w] += channelScore[w * C + ch]!;
    if (channelActivity) {
      for (let ch = 0; ch < C; ch++) {
        let a = 0;
        for (let t = 1; t < Wn; t++) a += Math.abs(scaled[t]![ch]! - scaled[t - 1]![ch]!);
        channelActivity[w * C + ch] = a / (Wn - 1);
      }
    }
  }
  return { score, channelScore, channelActivity, reconstruction };
}

/** Shape and weights' scale of a small exported LSTM-AE for tests. */
export interface LstmAeFixtureShape {
  /** Frames per window W. */
  window: number;
  /** Channels C. */
  channels: number;
  /** Units of each encoder layer (>= 1 layers). */
  encoder: readonly number[];
  /** Units of each decoder layer (>= 1 layers). */
  decoder: readonly number[];
  /** Gate activation of every layer. Default sigmoid. */
  gate?: LstmLayerWeights['gate'];
  /** Whether the Linear output has a bias (tfjs Dense default: yes). Default true. */
  outBias?: boolean;
  /** Weights uniform in [-scale, scale]; larger pushes gates into saturation. Default 0.6. */
  scale?: number;
  /** Seed of the weights. Default 1. */
  seed?: number;
}

/** Deterministic uniform numbers in [-scale, scale] (LCG; the values only need to be varied). */
export function uniform(n: number, seed: number, scale: number): Float32Array {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 2 * scale;
  }
  return out;
}

/** Keras gate block of each ONNX position (ONNX i, o, f, c; Keras i, f, c, o), as blocks.ts maps it. */
const KERAS_GATE_FOR_ONNX = [0, 3, 1, 2] as const;

/**
 * A random-weight LSTM-AE exported through training/export's blocks exactly as
 * `exportLstmAe` chains them (prologue, time-major encoder/decoder stacks, Linear, score
 * epilogue), and the {@link LstmAeNetSpec} of the same weights in ONNX layouts.
 */
export function lstmAeFixture(shape: LstmAeFixtureShape): { onnx: Uint8Array; spec: LstmAeNetSpec } {
  const { window: Wn, channels: C } = shape;
  const gate = shape.gate ?? 'sigmoid';
  const scale = shape.scale ?? 0.6;
  let seed = (shape.seed ?? 1) * 1000;
  const next = (n: number, s = scale) => uniform(n, ++seed, s);
  const mean = Array.from(next(C, 2));
  const std = Array.from(next(C, 1), (v) => 0.5 + Math.abs(v));
  const g = new GraphBuilder();
  const { scaled } = windowPrologue(g, Wn, { mean, std });
  let x = swapBatchTime(g, scaled);
  let features = C;
  const layers = (units: readonly number[], stack: 'enc' | 'dec'): LstmLayerWeights[] =>
    units.map((H, i) => {
      const kernel = next(features * 4 * H);
      const recurrentKernel = next(H * 4 * H);
      const bias = next(4 * H);
      const returnSequences = stack === 'dec' || i < units.length - 1;
      x = lstm(g, x, { kernel, recurrentKernel, bias, inputSize: features, units: H, recurrentActivation: gate, activation: 'tanh' }, returnSequences, `${stack}${i}`);
      if (stack === 'enc' && i === units.length - 1) x = repeatTimeMajor(g, x, Wn);
      const B = new Float32Array(8 * H);
      for (let og = 0; og < 4; og++) B.set(bias.subarray(KERAS_GATE_FOR_ONNX[og]! * H, (KERAS_GATE_FOR_ONNX[og]! + 1) * H), og * H);
      const layer: LstmLayerWeights = { inputSize: features, units: H, W: kerasToOnnxGates(kernel, features, H), R: kerasToOnnxGates(recurrentKernel, H, H), B, gate };
      features = H;
      return layer;
    });
  const encoder = layers(shape.encoder, 'enc');
  const decoder = layers(shape.decoder, 'dec');
  x = swapBatchTime(g, x);
  const outKernel = next(features * C);
  const outBias = shape.outBias === false ? null : next(C);
  const rec = dense(g, x, { kernel: outKernel, bias: outBias ?? undefined, inputSize: features, units: C }, 'out');
  reconstructionScore(g, scaled, rec, Wn, C);
  const onnx = g.encode({ graphName: 'lstm_ae_fixture' });
  return {
    onnx,
    spec: { window: Wn, channels: C, scalerMean: Float32Array.from(mean), scalerStd: Float32Array.from(std), encoder, decoder, outKernel, outBias },
  };
}
