/**
 * The native LSTM-AE scorer alone against onnxruntime alone, on the same exported graph and
 * weights: the reference LSTM-AE (window 64, 8 channels, encoder 32, decoder 16) trained for one
 * epoch (bench/rounds.ts), its weights read back from model.onnx's initializers, stride-1
 * windows of one span per call as the inference worker sends them. Per batch size, rounds
 * alternate between the two (and, with `--wheel`, the PyTorch wheel's scoring peer,
 * bench/pytorch/score_bench.py under that python, one round per process); medians and
 * within-round ratios are reported, with the largest score difference between the two.
 *
 * One thread on each side (onnxruntime intra-op 1; the scorer runs on the calling thread): run
 * it under `taskset -c 0`.
 *
 *   taskset -c 0 node dist/bench/lstm-native.js [--batch-sizes 16,64,256] [--rounds 5] [--seconds 1] [--isa avx2] [--wheel /opt/torch-wheel/bin/python] [--json]
 */
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { onnx } from 'onnx-proto';
import { SeismoError } from '../src/errors.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { type LstmAeIsa, type LstmAeNetSpec, type LstmLayerWeights, loadNative } from '../src/native.js';
import { median } from '../src/stats/quantile.js';
import { trainReferenceModel } from './rounds.js';
import { scriptFlags } from './script-flags.js';

export interface LstmNativeOptions {
  /** Windows per call. Default [16, 64, 256]. */
  batchSizes?: number[];
  /** Rounds per batch size (each side once per round). Default 5. */
  rounds?: number;
  /** Length of one side's round, seconds. Default 1. */
  seconds?: number;
  /** Variant of the native scorer. Default the best this CPU runs. */
  isa?: LstmAeIsa;
  /** Python of the PyTorch wheel to run bench/pytorch/score_bench.py with (one thread); absent: no wheel peer. */
  wheel?: string;
  log?: (line: string) => void;
}

export interface LstmNativeRow {
  batchSize: number;
  /** Median windows/s of the native scorer. */
  native: number;
  /** Median windows/s of onnxruntime alone (graph optimisation `all`, one thread). */
  ort: number;
  /** Median of the within-round ratios native / onnxruntime. */
  nativeOverOrt: number;
  /** Median windows/s of the wheel's peer (the faster of eager and TorchScript), with --wheel. */
  wheel?: number;
  /** Median of the within-round ratios native / wheel. */
  nativeOverWheel?: number;
  /** Largest |native - onnxruntime| / max(1, |onnxruntime|) over score and channel_score of the batch. */
  maxRelDiff: number;
}

export interface LstmNativeResult {
  isa: string;
  rows: LstmNativeRow[];
  /** The wheel's torch version, with --wheel. */
  torch?: string;
  machine: { cpus: number; cpuModel: string; node: string; loadAverage: number[] };
}

function floats(t: onnx.ITensorProto): Float32Array {
  const raw = t.rawData!;
  return new Float32Array(raw.buffer.slice(raw.byteOffset, raw.byteOffset + raw.byteLength));
}

/**
 * The spec of an LSTM-AE exported by training/kinds/lstm-ae/export.ts, from its initializers (the
 * exporter's names: enc<i>_W/_R/_B, dec<i>_..., out_kernel, out_bias, scaler_mean, scaler_std)
 * and the gate activation of its LSTM nodes. Enough for this bench's own reference model; the
 * detector's checked reader is src/infer's.
 */
export function specOfExportedLstmAe(bytes: Uint8Array, window: number, channels: number): LstmAeNetSpec {
  const graph = onnx.ModelProto.decode(bytes).graph!;
  const init = new Map((graph.initializer ?? []).map((t) => [t.name!, t]));
  const get = (name: string): onnx.ITensorProto => {
    const t = init.get(name);
    if (!t) throw new SeismoError('ERR_MODEL_MISMATCH', `bench/lstm-native: the graph has no initializer ${name}`);
    return t;
  };
  const gate = (prefix: string): LstmLayerWeights['gate'] => {
    const node = (graph.node ?? []).find((n) => n.opType === 'LSTM' && n.input?.[1] === `${prefix}_W`);
    const first = node?.attribute?.find((a) => a.name === 'activations')?.strings?.[0];
    return first && new TextDecoder().decode(first) === 'HardSigmoid' ? 'hardSigmoid' : 'sigmoid';
  };
  const stack = (prefix: string): LstmLayerWeights[] => {
    const out: LstmLayerWeights[] = [];
    for (let i = 0; init.has(`${prefix}${i}_W`); i++) {
      const w = get(`${prefix}${i}_W`);
      const [, fourH, F] = w.dims!.map(Number) as [number, number, number];
      out.push({ inputSize: F, units: fourH / 4, W: floats(w), R: floats(get(`${prefix}${i}_R`)), B: floats(get(`${prefix}${i}_B`)), gate: gate(`${prefix}${i}`) });
    }
    return out;
  };
  return {
    window,
    channels,
    scalerMean: floats(get('scaler_mean')),
    scalerStd: floats(get('scaler_std')),
    encoder: stack('enc'),
    decoder: stack('dec'),
    outKernel: floats(get('out_kernel')),
    outBias: init.has('out_bias') ? floats(get('out_bias')) : null,
  };
}

function maxRelDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!) / Math.max(1, Math.abs(b[i]!)));
  return m;
}

/** One round of the wheel's peer in its own process: windows/s and the torch version. */
function wheelRound(python: string, batch: number, seconds: number): { windowsPerSec: number; torch: string } {
  const script = path.resolve(__dirname, '..', '..', 'bench', 'pytorch', 'score_bench.py');
  const local = path.resolve(__dirname, 'pytorch', 'score_bench.py');
  const file = fs.existsSync(local) ? local : script;
  const r = spawnSync(python, [file, '--rounds', '1', '--seconds', String(seconds), '--batch', String(batch), '--json'], {
    env: { ...process.env, OMP_NUM_THREADS: '1', MKL_NUM_THREADS: '1' },
    encoding: 'utf8',
    maxBuffer: 1 << 24,
  });
  if (r.status !== 0) throw new SeismoError('ERR_INVALID_OPTION', `bench/lstm-native: ${python} ${file} failed: ${r.stderr || r.error?.message}`);
  const lines = r.stdout.trim().split('\n');
  return JSON.parse(lines[lines.length - 1]!) as { windowsPerSec: number; torch: string };
}

export async function runLstmNative(options: LstmNativeOptions = {}): Promise<LstmNativeResult> {
  const log = options.log ?? (() => {});
  const rounds = options.rounds ?? 5;
  const seconds = options.seconds ?? 1;
  const batchSizes = options.batchSizes ?? [16, 64, 256];
  const native = loadNative();
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-lstm-native-'));
  try {
    await trainReferenceModel(tmp, log);
    const model = readModelDir(tmp);
    const { window: W, channels } = model.manifest;
    const C = channels.length;
    const spec = specOfExportedLstmAe(model.onnx, W, C);
    const scorer = new native.LstmAeScorer(spec, options.isa);
    const session = await ort.InferenceSession.create(model.onnx, { intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' });
    const stream = generateSeries({ length: Math.max(...batchSizes) + W + 16, channels: C, seed: 2, anomalies: [] }).table.frames;
    const rows: LstmNativeRow[] = [];
    let torch: string | undefined;
    try {
      for (const B of batchSizes) {
        const span = stream.slice(0, (B + W - 1) * C);
        const starts = BigInt64Array.from({ length: B }, (_, i) => BigInt(i));
        const feeds = { frames: new ort.Tensor('float32', span, [B + W - 1, C]), starts: new ort.Tensor('int64', starts, [B]) };
        const fetches = ['score', 'channel_score'];
        const score = new Float32Array(B);
        const channelScore = new Float32Array(B * C);
        // Parity on this very batch, then warm-up of both sides.
        const ref = await session.run(feeds, fetches);
        scorer.score(span, starts, B, score, channelScore, null, null);
        const diff = Math.max(maxRelDiff(score, ref['score']!.data as Float32Array), maxRelDiff(channelScore, ref['channel_score']!.data as Float32Array));
        for (let i = 0; i < 20; i++) {
          await session.run(feeds, fetches);
          scorer.score(span, starts, B, score, channelScore, null, null);
        }
        const nat: number[] = [];
        const onnxrt: number[] = [];
        const wheel: number[] = [];
        const natOverOrt: number[] = [];
        const natOverWheel: number[] = [];
        for (let r = 0; r < rounds; r++) {
          let windows = 0;
          let t0 = performance.now();
          while (performance.now() - t0 < seconds * 1000) {
            scorer.score(span, starts, B, score, channelScore, null, null);
            windows += B;
          }
          nat.push(windows / ((performance.now() - t0) / 1000));
          windows = 0;
          t0 = performance.now();
          while (performance.now() - t0 < seconds * 1000) {
            await session.run(feeds, fetches);
            windows += B;
          }
          onnxrt.push(windows / ((performance.now() - t0) / 1000));
          natOverOrt.push(nat[r]! / onnxrt[r]!);
          let line = `batch ${B} round ${r + 1}/${rounds}: native (${scorer.isa}) ${nat[r]!.toFixed(0)}, onnxruntime ${onnxrt[r]!.toFixed(0)}`;
          if (options.wheel) {
            const w = wheelRound(options.wheel, B, seconds);
            torch = w.torch;
            wheel.push(w.windowsPerSec);
            natOverWheel.push(nat[r]! / w.windowsPerSec);
            line += `, wheel ${w.windowsPerSec.toFixed(0)}`;
          }
          log(`${line} windows/s`);
        }
        rows.push({
          batchSize: B,
          native: median(nat),
          ort: median(onnxrt),
          nativeOverOrt: median(natOverOrt),
          ...(options.wheel ? { wheel: median(wheel), nativeOverWheel: median(natOverWheel) } : {}),
          maxRelDiff: diff,
        });
      }
    } finally {
      await session.release();
    }
    return {
      isa: scorer.isa,
      rows,
      ...(torch ? { torch } : {}),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAverage: os.loadavg() },
    };
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

if (require.main === module) {
  const flags = scriptFlags({ numbers: ['rounds', 'seconds'], strings: ['batch-sizes', 'isa', 'wheel'], booleans: ['json'] });
  const batchSizes = flags['batch-sizes']?.split(',').map(Number);
  if (batchSizes?.some((b) => !Number.isInteger(b) || b < 1)) throw new SeismoError('ERR_INVALID_OPTION', '--batch-sizes takes positive integers, comma-separated');
  runLstmNative({ batchSizes, rounds: flags.rounds, seconds: flags.seconds, isa: flags.isa as LstmAeIsa | undefined, wheel: flags.wheel, log: (l) => process.stderr.write(`${l}\n`) })
    .then((r) => {
      if (flags.json) return console.log(JSON.stringify(r));
      for (const row of r.rows) {
        const wheel = row.wheel === undefined ? '' : `, wheel ${row.wheel.toFixed(0)} (native / wheel ${row.nativeOverWheel!.toFixed(2)})`;
        console.log(`batch ${row.batchSize}: native (${r.isa}) ${row.native.toFixed(0)}, onnxruntime ${row.ort.toFixed(0)} windows/s (native / onnxruntime ${row.nativeOverOrt.toFixed(2)})${wheel}; max score difference ${row.maxRelDiff.toExponential(1)}`);
      }
    })
    .catch((err: unknown) => {
      console.error(err instanceof Error ? err.message : err);
      process.exitCode = 1;
    });
}
