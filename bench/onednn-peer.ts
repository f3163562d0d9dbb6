/**
 * The oneDNN scoring peer: the reference LSTM-AE scored on ONE thread with oneDNN's fused
 * `lstm_forward` primitive and a matmul (bench/onednn/lstm_ae_peer.cc, compiled here with g++
 * against Debian's libdnnl-dev). PyTorch 2.x's CPU `nn.LSTM` (fp32, inference) runs that same
 * primitive through `aten::mkldnn_rnn_layer`, so this bounds what the PyTorch wheel's LSTM path can
 * do with oneDNN, which Debian's torch 1.13 (the `--pytorch` peers) predates. Rounds alternate with
 * seismo's onnxruntime-alone and pipeline rounds (bench/rounds.ts) in one run, as bench/throughput.ts
 * alternates with the PyTorch peers, so that the ratios share the machine's load.
 *
 * Run on its own: `npx tsx bench/onednn-peer.ts [--rounds 5] [--seconds 2] [--batch 64] [--json]`.
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../src/detector/index.js';
import { SeismoError } from '../src/errors.js';
import { createSession } from '../src/infer/providers.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { PACKAGE_ROOT } from '../src/native.js';
import { median } from '../src/stats/quantile.js';
import { ortRounds, withReferenceModel, writeChunks } from './rounds.js';
import { scriptFlags } from './script-flags.js';

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

export interface OnednnPeerOptions {
  /** Measurement rounds. Default 5. */
  rounds?: number;
  /** Seconds per round, each side. Default 2. */
  seconds?: number;
  /** Windows per inference call, both sides. Default 64. */
  batchSize?: number;
  /** Progress lines. */
  log?: (line: string) => void;
}

export interface OnednnPeerResult {
  batchSize: number;
  /** Medians over rounds, windows/s. */
  ortWindowsPerSec: number;
  pipelineWindowsPerSec: number;
  onednnWindowsPerSec: number;
  /** Ratios taken within each round, median over rounds (each round's sides ran back to back). */
  roundRatios: { pipelineOverOnednn: number; ortOverOnednn: number };
  rounds: { ort: number[]; pipeline: number[]; onednn: number[] };
  dnnl: string;
  threads: number;
  machine: { cpus: number; cpuModel: string; node: string; loadAverage: number[] };
}

/**
 * Alternating rounds of onnxruntime alone, seismo's pipeline (chunks of 64 samples into one
 * series, stride 1) and the oneDNN peer (a new process per round) on the reference LSTM-AE.
 */
export async function runOnednnPeer(options: OnednnPeerOptions = {}): Promise<OnednnPeerResult> {
  const log = options.log ?? (() => {});
  const batch = options.batchSize ?? 64;
  const rounds = options.rounds ?? 5;
  const seconds = options.seconds ?? 2;
  const build = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-onednn-'));
  try {
    const exe = compileOnednnPeer(build);
    return await withReferenceModel(undefined, log, async (dir) => {
      const model = readModelDir(dir);
      const C = model.manifest.channels.length;
      const stream = generateSeries({ length: 1 << 16, channels: C, seed: 2, anomalies: [] }).table.frames;
      const { session } = await createSession(model.onnx, {});
      const ortRound = await ortRounds(session, { stream, window: model.manifest.window, channels: C, batch, seconds });
      const detector = await Detector.load(dir, { batchSize: batch, stride: 1, maxSeries: rounds + 1 });
      const cursor = { row: 0, clock: 0 };
      let series = 0;
      const pipelineRound = (): Promise<number> => {
        cursor.row = 0;
        return writeChunks(detector, `onednn-${series++}`, stream, C, seconds, cursor);
      };
      const ort: number[] = [];
      const pipeline: number[] = [];
      const onednn: number[] = [];
      let last: OnednnScoring | undefined;
      try {
        await pipelineRound(); // warm-up: worker session, JIT
        for (let r = 0; r < rounds; r++) {
          ort.push(await ortRound());
          pipeline.push(await pipelineRound());
          last = runOnednnScoring(exe, batch, seconds);
          onednn.push(last.windowsPerSec);
          log(`round ${r + 1}/${rounds}: ort ${ort.at(-1)!.toFixed(0)}, pipeline ${pipeline.at(-1)!.toFixed(0)}, oneDNN ${onednn.at(-1)!.toFixed(0)} windows/s`);
        }
      } finally {
        await detector.close();
        await session.release();
      }
      return {
        batchSize: batch,
        ortWindowsPerSec: median(ort),
        pipelineWindowsPerSec: median(pipeline),
        onednnWindowsPerSec: median(onednn),
        roundRatios: { pipelineOverOnednn: median(pipeline.map((p, i) => p / onednn[i]!)), ortOverOnednn: median(ort.map((o, i) => o / onednn[i]!)) },
        rounds: { ort, pipeline, onednn },
        dnnl: last!.dnnl,
        threads: last!.threads,
        machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAverage: os.loadavg() },
      };
    });
  } finally {
    fs.rmSync(build, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const flags = scriptFlags({ numbers: ['rounds', 'seconds', 'batch'], booleans: ['json'] });
  runOnednnPeer({ rounds: flags.rounds, seconds: flags.seconds, batchSize: flags.batch, log: (l) => process.stderr.write(`${l}\n`) })
    .then((r) => {
      if (flags.json) return console.log(JSON.stringify(r));
      console.log(`oneDNN ${r.dnnl} LSTM-AE peer, ${r.threads} thread, batch ${r.batchSize}: ${r.onednnWindowsPerSec.toFixed(0)} windows/s`);
      console.log(`onnxruntime alone ${r.ortWindowsPerSec.toFixed(0)}, pipeline ${r.pipelineWindowsPerSec.toFixed(0)} windows/s`);
      console.log(`pipeline / oneDNN ${r.roundRatios.pipelineOverOnednn.toFixed(2)}, onnxruntime / oneDNN ${r.roundRatios.ortOverOnednn.toFixed(2)} (within-round medians)`);
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    });
}
