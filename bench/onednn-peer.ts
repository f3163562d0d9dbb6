/**
 * The oneDNN scoring peer: the reference LSTM-AE scored on ONE thread with oneDNN's fused
 * `lstm_forward` primitive and a matmul (bench/onednn/lstm_ae_peer.cc, compiled here with g++
 * against Debian's libdnnl-dev). PyTorch 2.x's CPU `nn.LSTM` (fp32, inference) runs that same
 * primitive through `aten::mkldnn_rnn_layer`, so this bounds what the PyTorch wheel's LSTM path can
 * do with oneDNN. `seismo bench --onednn` (bench/throughput.ts) runs it in the same alternating
 * rounds as onnxruntime alone, the pipeline and the PyTorch peers, so that the ratios share the
 * machine's load; this module compiles and runs it.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SeismoError } from '../src/errors.js';
import { PACKAGE_ROOT } from '../src/native.js';

/** What one run of the compiled peer prints (one JSON line). */
export interface OnednnScoring {
  /** Median windows/s over its rounds. */
  windowsPerSec: number;
  /** windows/s per round. */
  rounds: number[];
  /** Windows per forward pass. */
  batch: number;
  /** `omp_get_max_threads()` as oneDNN's OpenMP runtime sees it: 1 for a one-thread peer. */
  threads: number;
  /** oneDNN's version, e.g. `2.6.3`. */
  dnnl: string;
  /** oneDNN's `cpu_runtime` (2: OpenMP, Debian's build). */
  cpuRuntime: number;
  /** With `params`: per-window score `[batch]` of the params file's span. */
  score?: number[];
  /** With `params`: per-channel shares `[batch * 8]`, row-major. */
  channelScore?: number[];
}

/** Where the peer's sources live (a source checkout: tsc does not copy .cc or .py into dist/). */
export function onednnSource(name: string): string {
  const file = path.join(PACKAGE_ROOT, 'bench', 'onednn', name);
  if (!fs.existsSync(file)) {
    throw new SeismoError('ERR_INVALID_OPTION', `oneDNN peer source not found at ${file} (it ships with a source checkout of seismo, not the npm package).`, { file });
  }
  return file;
}

/**
 * Compiles bench/onednn/lstm_ae_peer.cc into `dir` (g++ -O3, OpenMP, -ldnnl) and returns the executable.
 * @throws SeismoError `ERR_INVALID_OPTION` with the compiler's last line and what to install.
 */
export function compileOnednnPeer(dir: string): string {
  const exe = path.join(dir, 'lstm_ae_peer');
  const r = spawnSync('g++', ['-O3', '-std=c++17', '-fopenmp', '-o', exe, onednnSource('lstm_ae_peer.cc'), '-ldnnl'], { encoding: 'utf8' });
  if (r.status !== 0) {
    const last = (r.stderr ?? '').trim().split('\n').slice(-1)[0] ?? '';
    throw new SeismoError('ERR_INVALID_OPTION', `compiling the oneDNN peer failed (${r.error?.message ?? `exit ${r.status}: ${last}`}); install g++ and Debian's oneDNN: apt-get install g++ libdnnl-dev`, { exe });
  }
  return exe;
}

/**
 * Runs the compiled peer on one thread (OMP_NUM_THREADS=1) for `rounds` rounds of `seconds`.
 * With `params` (a file from bench/onednn/parity.py) it also returns that span's scores.
 * @throws SeismoError `ERR_INVALID_OPTION` when it fails or ran on more than one thread.
 */
export function runOnednnScoring(exe: string, batch: number, seconds: number, rounds = 1, params?: string): OnednnScoring {
  const args = ['--batch', String(batch), '--seconds', String(seconds), '--rounds', String(rounds), ...(params ? ['--params', params] : [])];
  const r = spawnSync(exe, args, { encoding: 'utf8', env: { ...process.env, OMP_NUM_THREADS: '1' }, maxBuffer: 1 << 22 });
  if (r.status !== 0) {
    throw new SeismoError('ERR_INVALID_OPTION', `oneDNN peer failed (${r.error?.message ?? `exit ${r.status}: ${(r.stderr ?? '').trim()}`}); rebuild it with compileOnednnPeer`, { exe });
  }
  const out = JSON.parse(r.stdout.trim().split('\n').at(-1)!) as OnednnScoring;
  // A peer on more threads than seismo's one would not be a like-for-like figure.
  if (out.threads !== 1) throw new SeismoError('ERR_INVALID_OPTION', `oneDNN peer ran on ${out.threads} threads, not 1; unset OMP settings that override OMP_NUM_THREADS`, { threads: out.threads });
  return out;
}
