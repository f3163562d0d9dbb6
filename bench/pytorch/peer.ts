/**
 * The PyTorch peers of `seismo bench --pytorch`, `bench lstm-scoring` and `bench train --pytorch`:
 * Debian's python3-torch on one thread, run once per round (bench/pytorch/score_bench.py,
 * train_bench.py), each with the BLAS it is given (bench/pytorch/torch_blas.py: the system's
 * OpenBLAS, or Debian's non-free MKL given to that one process through LD_LIBRARY_PATH). Every
 * peer reports what it computed with, proven from inside its process (the library torch's
 * `sgemm_` resolved to, MKL's own verbose lines counted over one step).
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { SeismoError } from '../../src/errors.js';
import { PACKAGE_ROOT } from '../../src/native.js';

/**
 * BLAS choices of the PyTorch peer (bench/pytorch/torch_blas.py):
 * - `openblas`: the system's `libblas.so.3` alternative as installed (OpenBLAS here), one thread;
 * - `mkl`: Debian's MKL 2020.4 (`apt-get install libmkl-rt`), sequential, its own CPU dispatch;
 * - `mkl-avx512`: as `mkl`, told the CPU is Intel's so that it dispatches its AVX-512 kernels on
 *   AMD CPUs too (a one-function shim, bench/pytorch/mkl_intel_cpu.c, preloaded into that process).
 */
export const PYTORCH_BLAS = ['openblas', 'mkl', 'mkl-avx512'] as const;
export type PytorchBlas = (typeof PYTORCH_BLAS)[number];

/** What a peer computed with, as its process reports it (bench/pytorch/torch_blas.py `report`). */
export interface PytorchBackends {
  /** The `--blas` choice. */
  selected: PytorchBlas;
  /** One line: the library that ran the GEMMs, MKL's version, dispatch and calls counted. */
  summary: string;
  /** The library torch's `sgemm_` resolves to (dladdr from libtorch_cpu.so's scope). */
  sgemm: string;
  /** With MKL: MKL calls per function during one probe step (one forward pass, or one training step). */
  mklCallsInProbe?: Record<string, number>;
  /** Every other field of the report (mapped BLAS libraries, oneDNN, MKL environment, threads). */
  [key: string]: unknown;
}

/** Parses `--pytorch-blas` (comma-separated {@link PYTORCH_BLAS}); undefined gives `['openblas']`. */
export function parsePytorchBlas(list: string | undefined): PytorchBlas[] {
  if (list === undefined) return ['openblas'];
  const names = list.split(',').map((s) => s.trim()).filter(Boolean);
  const bad = names.filter((n) => !(PYTORCH_BLAS as readonly string[]).includes(n));
  if (names.length === 0 || bad.length > 0) {
    throw new SeismoError('ERR_INVALID_OPTION', `--pytorch-blas takes a comma-separated list of ${PYTORCH_BLAS.join(', ')}; got '${list}'`, { list });
  }
  return [...new Set(names)] as PytorchBlas[];
}

/** The python executable of a `pytorch` option: true gives Debian's `/usr/bin/python3`. */
export function pythonOf(option: boolean | string | undefined): string | undefined {
  return option ? (typeof option === 'string' ? option : '/usr/bin/python3') : undefined;
}

function script(name: string): string {
  // From the package root, not __dirname: tsc does not copy the .py files into dist/.
  const file = path.join(PACKAGE_ROOT, 'bench', 'pytorch', name);
  if (!fs.existsSync(file)) {
    throw new SeismoError('ERR_INVALID_OPTION', `PyTorch peer script not found at ${file} (it ships with a source checkout of seismo, not the npm package).`, { script: file });
  }
  return file;
}

function run(python: string, file: string, args: string[], blas: PytorchBlas, stderr: 'pipe' | 'inherit'): string {
  const r = spawnSync(python, [file, '--json', '--blas', blas, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', stderr], maxBuffer: 1 << 22 });
  if (r.status !== 0) {
    const last = (r.stderr ?? '').trim().split('\n').at(-1) ?? '';
    const hint = blas === 'openblas' ? "install Debian's python3-torch or pass --pytorch <python>" : "install Debian's python3-torch and libmkl-rt (apt-get install libmkl-rt, answering no to making it the system BLAS)";
    throw new SeismoError('ERR_INVALID_OPTION', `PyTorch peer (${path.basename(file)} --blas ${blas}) failed (${r.error?.message ?? `exit ${r.status}${last ? `: ${last}` : ''}`}); ${hint}.`, { python, blas });
  }
  return r.stdout.trim().split('\n').at(-1)!;
}

/**
 * Refuses a peer that did not compute with the BLAS it was asked for: an MKL peer whose `sgemm_`
 * is not MKL's (the loader found another `libblas.so.3` first) would report OpenBLAS figures under
 * MKL's name. The default peer takes the system's BLAS as installed, whatever it is, and says so.
 * @throws SeismoError `ERR_INVALID_OPTION` naming the library that ran.
 */
export function checkPeerBlas(backends: PytorchBackends): PytorchBackends {
  if (backends.selected !== 'openblas' && !/libmkl_rt\.so/.test(backends.sgemm)) {
    throw new SeismoError('ERR_INVALID_OPTION', `PyTorch peer --blas ${backends.selected}: torch's sgemm_ resolved to ${backends.sgemm || 'nothing'}, not MKL's libmkl_rt.so; check LD_LIBRARY_PATH and that libmkl-rt is installed (apt-get install libmkl-rt)`, { blas: backends.selected, sgemm: backends.sgemm });
  }
  return backends;
}

/** One scoring round of bench/pytorch/score_bench.py: windows/s of the faster of eager and TorchScript. */
export function runPytorchScoring(
  python: string,
  batch: number,
  seconds: number,
  blas: PytorchBlas = 'openblas',
): { windowsPerSec: number; mode: string; torch: string; backends: PytorchBackends } {
  const out = JSON.parse(run(python, script('score_bench.py'), ['--rounds', '1', '--seconds', String(seconds), '--batch', String(batch)], blas, 'pipe')) as {
    windowsPerSec: number;
    mode: string;
    torch: string;
    backends: PytorchBackends;
  };
  return { windowsPerSec: out.windowsPerSec, mode: out.mode, torch: out.torch, backends: checkPeerBlas(out.backends) };
}

/** Epoch timing of one model in bench/pytorch/train_bench.py. */
export interface PytorchEpochs {
  secPerEpoch: number;
  epochSeconds: number[];
  /** CPU seconds of the process per timed epoch (`time.process_time`), median, and every one. */
  cpuSecPerEpoch?: number;
  epochCpuSeconds?: number[];
  lastLoss: number;
  warmupSeconds?: number;
}

/** bench/pytorch/train_bench.py for `models`: epoch timings per model, and what it computed with. */
export function runPytorchTraining(
  python: string,
  epochs: number,
  models: readonly string[],
  blas: PytorchBlas = 'openblas',
  log: (line: string) => void = () => undefined,
): { models: Record<string, PytorchEpochs>; torch: string; backends: PytorchBackends } {
  const file = script('train_bench.py');
  log(`running the PyTorch reference: ${python} ${path.relative(process.cwd(), file)} --blas ${blas} (1 thread)`);
  const out = JSON.parse(run(python, file, ['--epochs', String(epochs), '--models', models.join(',')], blas, 'inherit')) as Record<string, unknown> & { torch: string; backends: PytorchBackends };
  const timings = Object.fromEntries(Object.entries(out).filter(([k]) => models.includes(k))) as Record<string, PytorchEpochs>;
  log(`  pytorch --blas ${blas}: ${out.backends.summary}`);
  return { models: timings, torch: out.torch, backends: checkPeerBlas(out.backends) };
}
