/**
 * The LSTM training kernels alone at the training bench's shapes (`seismo bench train`: batch 64,
 * window 64; encoder LSTM 8 -> 32 returning its last state, decoder LSTM 32 -> 16 on the repeated
 * code), per compiled variant the CPU runs (avx512, avx2, baseline): CPU milliseconds per call of
 * forward and backward, alternating the variants round by round so that they share the machine's
 * load. Also the decoder on the materialized repeat (`[B, T, 32]`, the form before the kernels took
 * a repeated input), to show what the repeated input saves.
 *
 * Run: `node dist/bench/lstm-train-kernels.js [--rounds 3] [--calls 64]` (after `npm run build`);
 * pin it with `taskset -c 0` for one-core figures. Prints one JSON object.
 */
import { loadNative, type KernelIsa, type NativeKernels } from '../src/native.js';

interface Case {
  name: string;
  F: number;
  H: number;
  sequences: boolean;
  repeated: boolean;
  /** Whether backward computes dx (the training step skips the first layer's). */
  dx: boolean;
}

const CASES: Case[] = [
  { name: 'encoder 8->32 (last state, no dx)', F: 8, H: 32, sequences: false, repeated: false, dx: false },
  { name: 'decoder 32->16 (repeated input)', F: 32, H: 16, sequences: true, repeated: true, dx: true },
  { name: 'decoder 32->16 (materialized repeat)', F: 32, H: 16, sequences: true, repeated: false, dx: true },
];

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(name);
  return i > 0 ? Number(process.argv[i + 1]) : fallback;
}

function cpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** CPU ms per call of forward and backward of one case, `calls` calls each after one untimed. */
function timeCase(k: NativeKernels, c: Case, calls: number): { forward: number; backward: number } {
  const [B, T] = [64, 64];
  const { F, H, sequences, repeated } = c;
  const fill = (n: number, f: (i: number) => number) => Float32Array.from({ length: n }, (_, i) => f(i));
  const x = fill(B * (repeated ? 1 : T) * F, (i) => Math.sin(i));
  const W = fill(F * 4 * H, (i) => 0.1 * Math.cos(i));
  const U = fill(H * 4 * H, (i) => 0.1 * Math.sin(0.7 * i));
  const b = new Float32Array(4 * H);
  const y = new Float32Array(B * (sequences ? T : 1) * H);
  const state = new Float32Array(T * B * 6 * H);
  const dy = fill(y.length, (i) => Math.cos(0.3 * i));
  const dx = c.dx ? new Float32Array(x.length) : null;
  const [dW, dU, db] = [new Float32Array(W.length), new Float32Array(U.length), new Float32Array(b.length)];
  const fwd = () => k.lstmForward(x, W, U, b, y, state, B, T, F, H, 0, sequences, repeated);
  const bwd = () => k.lstmBackward(x, W, U, state, dy, dx, dW, dU, db, B, T, F, H, 0, sequences, repeated);
  const time = (f: () => void) => {
    f();
    const t0 = cpuMs();
    for (let i = 0; i < calls; i++) f();
    return (cpuMs() - t0) / calls;
  };
  return { forward: time(fwd), backward: time(bwd) };
}

function main(): void {
  const rounds = arg('--rounds', 3);
  const calls = arg('--calls', 64);
  const k = loadNative();
  const before = k.kernelIsa();
  const isas: KernelIsa[] = (['avx512', 'avx2', 'baseline'] as const).filter((i) => i === 'baseline' || (i === 'avx2' ? k.cpuHasAvx2 : k.cpuHasAvx512));
  const samples: Record<string, Record<string, { forward: number[]; backward: number[] }>> = {};
  try {
    for (let r = 0; r < rounds; r++) {
      for (const isa of isas) {
        k.kernelIsa(isa);
        for (const c of CASES) {
          const t = timeCase(k, c, calls);
          const s = ((samples[isa] ??= {})[c.name] ??= { forward: [], backward: [] });
          s.forward.push(t.forward);
          s.backward.push(t.backward);
        }
      }
    }
  } finally {
    k.kernelIsa(before);
  }
  const median = (v: number[]) => [...v].sort((a, b) => a - b)[Math.floor(v.length / 2)]!;
  const result: Record<string, Record<string, { forwardMs: number; backwardMs: number }>> = {};
  for (const [isa, cases] of Object.entries(samples)) {
    for (const [name, s] of Object.entries(cases)) {
      (result[isa] ??= {})[name] = { forwardMs: +median(s.forward).toFixed(3), backwardMs: +median(s.backward).toFixed(3) };
    }
  }
  console.log(JSON.stringify({ batch: 64, window: 64, calls, rounds, defaultIsa: before, cpuMsPerCall: result }, null, 1));
}

main();
