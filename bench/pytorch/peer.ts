/**
 * The PyTorch peers of `seismo bench --pytorch`, `bench lstm-scoring` and `bench train --pytorch`,
 * on one thread, run once per round (bench/pytorch/score_bench.py, train_bench.py): Debian's
 * python3-torch with the BLAS it is given (bench/pytorch/torch_blas.py: the system's OpenBLAS, or
 * Debian's non-free MKL given to that one process through LD_LIBRARY_PATH), and the PyTorch CPU
 * wheel (`wheel`: MKL and oneDNN inside libtorch_cpu.so) run by its own python, a venv made by
 * bench/pytorch/install-wheel.sh. Every peer reports what it computed with, proven from inside its
 * process (the library torch's `sgemm_` resolved to, MKL's own verbose lines over one step; for
 * the wheel also oneDNN's verbose lines and the aten ops torch.profiler saw).
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
 *   AMD CPUs too (a one-function shim, bench/pytorch/mkl_intel_cpu.c, preloaded into that process);
 * - `wheel`: the PyTorch CPU wheel (torch 2.x+cpu: MKL 2024 linked into libtorch_cpu.so, oneDNN 3,
 *   whose fused RNN primitive runs `nn.LSTM`), run by {@link wheelPython}'s python, not `--pytorch`'s.
 */
export const PYTORCH_BLAS = ['openblas', 'mkl', 'mkl-avx512', 'wheel'] as const;
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

/** Where bench/pytorch/install-wheel.sh puts the wheel's venv by default. */
export const DEFAULT_WHEEL_PYTHON = '/opt/torch-wheel/bin/python';

/**
 * The python of the `wheel` peer: `option` (`--pytorch-wheel <python>`), else the environment's
 * `SEISMO_PYTORCH_WHEEL`, else {@link DEFAULT_WHEEL_PYTHON}.
 */
export function wheelPython(option?: string, env: NodeJS.ProcessEnv = process.env): string {
  return option || env['SEISMO_PYTORCH_WHEEL'] || DEFAULT_WHEEL_PYTHON;
}

/** One PyTorch peer process: its BLAS choice and the python that runs it. */
export interface PytorchPeerProcess {
  blas: PytorchBlas;
  python: string;
}

/** A peer left out of a run, and why (said in the run's log and JSON). */
export interface SkippedPeer {
  peer: string;
  reason: string;
}

/**
 * The peer processes of a run: every `blas` choice with its python (`python` for Debian's torch,
 * `wheel` for the wheel's). The wheel peer is optional: when its python is not there it is
 * skipped, with a reason that says how to install it, rather than failing the run.
 */
export function resolvePytorchPeers(blasList: readonly PytorchBlas[], python: string, wheel?: string, exists: (file: string) => boolean = fs.existsSync): { peers: PytorchPeerProcess[]; skipped: SkippedPeer[] } {
  const peers: PytorchPeerProcess[] = [];
  const skipped: SkippedPeer[] = [];
  for (const blas of blasList) {
    if (blas !== 'wheel') {
      peers.push({ blas, python });
      continue;
    }
    const py = wheelPython(wheel);
    if (exists(py)) peers.push({ blas, python: py });
    else skipped.push({ peer: 'pytorch/wheel', reason: `${py} not found: bench/pytorch/install-wheel.sh makes that venv (or pass --pytorch-wheel <python> / set SEISMO_PYTORCH_WHEEL)` });
  }
  return { peers, skipped };
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
    const hint = blas === 'wheel' ? `make the wheel's venv with bench/pytorch/install-wheel.sh, or pass --pytorch-wheel <python with torch 2.x+cpu>` : blas === 'openblas' ? "install Debian's python3-torch or pass --pytorch <python>" : "install Debian's python3-torch and libmkl-rt (apt-get install libmkl-rt, answering no to making it the system BLAS)";
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
  if (backends.selected === 'wheel') {
    // The wheel's MKL lives in libtorch_cpu.so; a torch whose sgemm_ is elsewhere is not that wheel.
    if (!/libtorch_cpu\.so/.test(backends.sgemm) || backends['torchMkl'] !== true) {
      throw new SeismoError('ERR_INVALID_OPTION', `PyTorch peer --blas wheel: this torch (${String(backends['torchVersion'] ?? 'unknown')}) is not the MKL wheel: sgemm_ resolved to ${backends.sgemm || 'nothing'}, MKL ${backends['torchMkl'] === true ? 'available' : 'not built in'}; point --pytorch-wheel at a venv made by bench/pytorch/install-wheel.sh`, { sgemm: backends.sgemm });
    }
    return backends;
  }
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
