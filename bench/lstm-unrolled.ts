/**
 * The LSTM-AE core (encoder LSTM C->32, last state repeated, decoder LSTM 32->16, Dense 16->C)
 * built twice with the same random weights: once with ONNX's fused `LSTM` op (as seismo exports
 * it), once unrolled into per-step MatMul / Split / Sigmoid / Tanh / Mul / Add nodes, where the
 * decoder's input projection is computed once per window instead of once per step (its input is
 * the same code at every step). Both take windows `[W, N, C]` time-major and return the
 * reconstruction `[W, N, C]`; no gather, scaling or score around them, so the difference is the
 * LSTM's form alone. Used by `seismo bench lstm-scoring`.
 */
import { lstm, repeatTimeMajor } from '../training/export/blocks.js';
import { attr, DType, GraphBuilder } from '../training/export/onnx-graph.js';

export interface LstmCoreShape {
  window: number;
  channels: number;
  encoder: number;
  decoder: number;
}

/** Deterministic weights in [-0.3, 0.3] (values do not change the cost). */
function weights(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 2 ** 32 - 0.5) * 0.6;
  }
  return out;
}

/** The Keras-layout weights both forms share (gate blocks i, f, c, o). */
function coreWeights(s: LstmCoreShape) {
  const { channels: C, encoder: H1, decoder: H2 } = s;
  return {
    K1: weights(C * 4 * H1, 1), R1: weights(H1 * 4 * H1, 2), b1: weights(4 * H1, 3),
    K2: weights(H1 * 4 * H2, 4), R2: weights(H2 * 4 * H2, 5), b2: weights(4 * H2, 6),
    Wo: weights(H2 * C, 7), bo: weights(C, 8),
  };
}

/** The fused form, as seismo exports it: two ONNX `LSTM` ops (`lstm()` of training/export/blocks.ts). */
export function fusedLstmCore(s: LstmCoreShape): Uint8Array {
  const { window: W, channels: C, encoder: H1, decoder: H2 } = s;
  const w = coreWeights(s);
  const g = new GraphBuilder();
  const x = g.input('x', DType.float, [W, 'N', C]);
  const act = { recurrentActivation: 'sigmoid', activation: 'tanh' } as const;
  const code = lstm(g, x, { kernel: w.K1, recurrentKernel: w.R1, bias: w.b1, inputSize: C, units: H1, ...act }, false, 'enc'); // [N, H1]
  const seq = lstm(g, repeatTimeMajor(g, code, W), { kernel: w.K2, recurrentKernel: w.R2, bias: w.b2, inputSize: H1, units: H2, ...act }, true, 'dec'); // [W, N, H2]
  const rec = g.op('Add', [g.op('MatMul', [seq, g.floatConst('Wo', w.Wo, [H2, C])]), g.floatConst('bo', w.bo, [C])]);
  g.output(rec, 'y', DType.float, [W, 'N', C]);
  return g.encode({ graphName: 'fused_lstm_core' });
}

/** One unrolled step: z = xp + h R; gates i, f, c, o (Keras order); returns [h, c]. */
function step(g: GraphBuilder, xp: string, h: string | undefined, c: string | undefined, R: string, H: number): [string, string] {
  const z = h ? g.op('Add', [xp, g.op('MatMul', [h, R])]) : xp;
  const [zi, zf, zc, zo] = g.node('Split', [z, g.int64Const(g.fresh('split'), [H, H, H, H], [4])], { axis: attr.int(1) }, [g.fresh('zi'), g.fresh('zf'), g.fresh('zc'), g.fresh('zo')]);
  const i = g.op('Sigmoid', [zi!]);
  const cand = g.op('Tanh', [zc!]);
  const o = g.op('Sigmoid', [zo!]);
  const ic = g.op('Mul', [i, cand]);
  const cNext = c ? g.op('Add', [g.op('Mul', [g.op('Sigmoid', [zf!]), c]), ic]) : ic;
  return [g.op('Mul', [o, g.op('Tanh', [cNext])]), cNext];
}

/** The unrolled form: per-step nodes; the encoder's input projection is one MatMul for all steps, the decoder's one per window. */
export function unrolledLstmCore(s: LstmCoreShape): Uint8Array {
  const { window: W, channels: C, encoder: H1, decoder: H2 } = s;
  const w = coreWeights(s);
  const g = new GraphBuilder();
  const x = g.input('x', DType.float, [W, 'N', C]);
  // Input projection of every step at once: [W, N, 4H1].
  const xp = g.op('Add', [g.op('MatMul', [x, g.floatConst('K1', w.K1, [C, 4 * H1])]), g.floatConst('b1', w.b1, [4 * H1])]);
  const steps = g.node('Split', [xp, g.int64Const('wsplit', new Array<number>(W).fill(1), [W])], { axis: attr.int(0) }, Array.from({ length: W }, (_, t) => `xp${t}`));
  const R1 = g.floatConst('R1', w.R1, [H1, 4 * H1]);
  const sq0 = g.int64Const('ax0', [0], [1]);
  let h: string | undefined;
  let c: string | undefined;
  for (let t = 0; t < W; t++) [h, c] = step(g, g.op('Squeeze', [steps[t]!, sq0]), h, c, R1, H1);
  // The decoder sees the code at every step: its input projection once, [N, 4H2].
  const dp = g.op('Add', [g.op('MatMul', [h!, g.floatConst('K2', w.K2, [H1, 4 * H2])]), g.floatConst('b2', w.b2, [4 * H2])]);
  const R2 = g.floatConst('R2', w.R2, [H2, 4 * H2]);
  const hs: string[] = [];
  let h2: string | undefined;
  let c2: string | undefined;
  for (let t = 0; t < W; t++) {
    [h2, c2] = step(g, dp, h2, c2, R2, H2);
    hs.push(g.op('Unsqueeze', [h2, sq0]));
  }
  const seq = g.op('Concat', hs, { axis: attr.int(0) }); // [W, N, H2]
  const rec = g.op('Add', [g.op('MatMul', [seq, g.floatConst('Wo', w.Wo, [H2, C])]), g.floatConst('bo', w.bo, [C])]);
  g.output(rec, 'y', DType.float, [W, 'N', C]);
  return g.encode({ graphName: 'unrolled_lstm_core' });
}
