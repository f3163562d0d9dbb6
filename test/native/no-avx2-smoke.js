// Smoke run of the addon's kernels for native/check-no-avx2.sh: under qemu with a CPU model
// without AVX (which raises SIGILL on any AVX instruction) it proves that the addon loads, picks
// the baseline kernels (and the baseline LSTM-AE scorer) and runs them. Usage: node no-avx2-smoke.js <addon.node> [--baseline]
'use strict';
const path = require('node:path');
const b = require(path.resolve(process.argv[2]));
if (process.argv[3] === '--baseline') b.kernelIsa('baseline');
const [N, T, Cin, Cout, k, d] = [2, 16, 3, 4, 2, 2];
const x = Float32Array.from({ length: N * T * Cin }, (_, i) => Math.sin(i));
const w = Float32Array.from({ length: k * Cin * Cout }, (_, i) => Math.cos(i));
const y = new Float32Array(N * T * Cout);
b.convForward(x, w, new Float32Array(Cout), y, N, T, Cin, Cout, k, d);
const dx = new Float32Array(x.length), dw = new Float32Array(w.length), db = new Float32Array(Cout);
b.convBackward(x, w, y, dx, dw, db, N, T, Cin, Cout, k, d);
const [B, S, F, H] = [2, 5, 3, 4];
const lx = Float32Array.from({ length: B * S * F }, (_, i) => Math.sin(i)), lk = Float32Array.from({ length: F * 4 * H }, (_, i) => Math.cos(i) / 3), lu = Float32Array.from({ length: H * 4 * H }, (_, i) => Math.sin(i * 3) / 3);
const ly = new Float32Array(B * S * H), st = new Float32Array(S * B * 6 * H);
b.lstmForward(lx, lk, lu, new Float32Array(4 * H), ly, st, B, S, F, H, 0, true);
const g = [new Float32Array(lx.length), new Float32Array(lk.length), new Float32Array(lu.length), new Float32Array(4 * H)];
b.lstmBackward(lx, lk, lu, st, ly, ...g, B, S, F, H, 0, true);
// Channel attribution's logarithms and a batch of its attribution (native/log_terms*.h): 2 series,
// 6 windows of 7 channels (a tail past the last four), running means, activity and memory.
const [aN, aC] = [6, 7];
const acs = Float32Array.from({ length: aN * aC }, (_, i) => Math.abs(Math.sin(i)) + (i === 9 ? Infinity : 0));
const ascores = Float32Array.from({ length: aN }, (_, i) => 1 + i);
const act = Float32Array.from({ length: aN * aC }, (_, i) => Math.abs(Math.cos(i)));
const logs = new Float64Array(aN * aC);
b.channelLogTerms(2, acs, ascores, aN, aC, 1e-12, logs);
const stats = Float64Array.from({ length: 4 * aC }, (_, i) => (Math.floor(i / aC) % 2 === 0 ? Math.sin(i) - 1 : 0.5 + (i % 3) / 4));
const rows = new Float32Array(aN * aC), running = new Float64Array(2 * aC), started = new Uint8Array(2 * aC), memState = new Float32Array(2 * aC), memSeen = new Uint8Array(2);
b.attributeBatch(aN, aC, Float64Array.of(1, 0.2, 0.01, 0, 0, 1e-12, 1e-6, 0.05), acs, ascores, act, null, Uint8Array.of(1, 1, 2, 1, 0, 1), Int32Array.of(0, 1, 0, 0, 1, 1), rows, stats, running, started, memState, memSeen, 0.3);
// The LSTM-AE scorer (native/lstm_ae_score.h): the variant it picks by itself there, baseline
// asked for here; odd units (tails of every packet), both gate kinds, a batch not a multiple of a block.
const lw = (n, s) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * s + 1) / 2);
const [LW, LC, LH1, LH2] = [6, 3, 5, 7];
const spec = {
  window: LW, channels: LC, scalerMean: lw(LC, 1), scalerStd: Float32Array.from({ length: LC }, (_, i) => 1 + i / 4),
  encoder: [{ inputSize: LC, units: LH1, W: lw(4 * LH1 * LC, 2), R: lw(4 * LH1 * LH1, 3), B: lw(8 * LH1, 4), gate: 'sigmoid' }],
  decoder: [{ inputSize: LH1, units: LH2, W: lw(4 * LH2 * LH1, 5), R: lw(4 * LH2 * LH2, 6), B: lw(8 * LH2, 7), gate: 'hardSigmoid' }],
  outKernel: lw(LH2 * LC, 8), outBias: lw(LC, 9),
};
const scorer = new b.LstmAeScorer(spec, process.argv[3] === '--baseline' ? 'baseline' : undefined);
const ln = 5;
const lstmAe = { score: new Float32Array(ln), channelScore: new Float32Array(ln * LC), activity: new Float32Array(ln * LC), rec: new Float32Array(ln * LW * LC) };
scorer.score(lw(20 * LC, 10), BigInt64Array.of(0n, 3n, 14n, 7n, 1n), ln, lstmAe.score, lstmAe.channelScore, lstmAe.activity, lstmAe.rec);
console.log(JSON.stringify({ isa: b.kernelIsa(), lstmAeIsa: scorer.isa, lstmAe: Object.values(lstmAe).map((a) => Array.from(a)), y: Array.from(y), dx: Array.from(dx), ly: Array.from(ly), grads: g.map((a) => Array.from(a)), logs: Array.from(logs), rows: Array.from(rows), stats: Array.from(stats), memState: Array.from(memState) }));
