/**
 * LSTM-AE scoring, onnxruntime against PyTorch on one thread (`seismo bench lstm-scoring`): the
 * reference LSTM-AE (window 64, 8 channels, encoder 32, decoder 16) at several batch sizes,
 * onnxruntime at each graph optimisation level (`disabled`, `basic`, `extended`, `all`; seismo's
 * worker uses `all`), and the PyTorch peer (bench/pytorch/score_bench.py, the faster of eager and
 * TorchScript) at the same batch sizes, rounds alternating, medians reported. Beside them, the
 * LSTM-AE core alone in two forms with the same weights (bench/lstm-unrolled.ts): ONNX's fused
 * `LSTM` op, as seismo exports it, and the same network unrolled into per-step MatMul nodes.
 * And the addon's fused LSTM-AE scorer (src/native.ts `LstmAeScorer`, what the inference worker
 * scores such a model with by default) on the same frames and starts, its largest difference
 * from onnxruntime's outputs, and the whole pipeline (a Detector fed in blocks) with
 * `runtime: 'auto'` (the native scorer) and `runtime: 'onnxruntime'` in the same alternating rounds.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import * as ort from 'onnxruntime-node';
import { generateSeries } from '../src/ingest/synthetic.js';
import { Detector } from '../src/detector/index.js';
import { extractLstmAeNet } from '../src/infer/lstm-ae-net.js';
import { loadNative, type LstmAeIsa } from '../src/native.js';
import { readModelDir } from '../src/model/model-dir.js';
import { median } from '../src/stats/quantile.js';
import { fusedLstmCore, unrolledLstmCore } from './lstm-unrolled.js';
import { ortRounds, trainReferenceModel, writeChunks } from './rounds.js';
import { resolvePytorchPeers, runPytorchScoring, type PytorchBackends, type PytorchBlas } from './pytorch/peer.js';

export const GRAPH_LEVELS = ['disabled', 'basic', 'extended', 'all'] as const;
type Level = (typeof GRAPH_LEVELS)[number];

export interface LstmScoringOptions {
  /** Batch sizes. Default [64, 256]. */
  batchSizes?: number[];
  /** Graph optimisation levels of onnxruntime. Default all four. */
  levels?: readonly Level[];
  /** Python with torch for the peer; false to skip it. Default `/usr/bin/python3`. */
  pytorch?: boolean | string;
  /** BLAS of the PyTorch peer, one peer process per entry in every round (bench/pytorch/peer.ts). Default `['openblas']`. */
  pytorchBlas?: readonly PytorchBlas[];
  /** Python of the `wheel` peer (bench/pytorch/peer.ts wheelPython); skipped, and said so, when absent. */
  pytorchWheel?: string;
  rounds?: number;
  seconds?: number;
  log?: (line: string) => void;
}

export interface LstmScoringRow {
  batchSize: number;
  /** windows/s per graph optimisation level, medians. */
  ort: Record<string, number>;
  /** The strongest PyTorch peer at this batch (highest median windows/s). */
  pytorch?: number;
  /** Which peer that was. */
  pytorchBlas?: PytorchBlas;
  /** Median windows/s of every PyTorch peer. */
  pytorchByBlas?: Partial<Record<PytorchBlas, number>>;
  /** onnxruntime at `all` / the strongest PyTorch peer. */
  ratioAllToPytorch?: number;
  /** The LSTM-AE core alone (no gather, scaling, score), level `all`: fused LSTM op vs unrolled, windows/s. */
  core: { fused: number; unrolled: number; unrolledToFused: number; maxAbsDiff: number };
  /**
   * The addon's LSTM-AE scorer on onnxruntime's batch (score and channel_score, as `ortRounds`
   * fetches): windows/s, its ratio to onnxruntime at `all` within each round (median), its ISA
   * variant and its largest difference from onnxruntime's outputs relative to max(1, |x|).
   */
  native: { windowsPerSec: number; toOrt: number; isa: LstmAeIsa; maxRelDiff: number };
  /**
   * The whole pipeline (Detector, stride 1, fed in blocks of 64 samples) at this batch size with
   * `runtime: 'auto'` (the native scorer) and `runtime: 'onnxruntime'`, windows/s, and native /
   * onnxruntime within each round (median).
   */
  pipeline: { native: number; onnxruntime: number; nativeToOrt: number; runtime: string };
  rounds: Record<string, number[]>;
}

export interface LstmScoringResult {
  rows: LstmScoringRow[];
  /** Per PyTorch peer: what it computed with, and which mode (eager, TorchScript) won each round. */
  pytorch?: { torch: string; peers: { blas: PytorchBlas; backends: PytorchBackends; modes: string[] }[] };
  machine: { cpus: number; cpuModel: string; node: string; loadAvg1mBefore: number; loadAvg1mAfter: number };
}

export async function runLstmScoring(options: LstmScoringOptions = {}): Promise<LstmScoringResult> {
  const log = options.log ?? (() => undefined);
  const batchSizes = options.batchSizes ?? [64, 256];
  const levels = options.levels ?? GRAPH_LEVELS;
  const rounds = options.rounds ?? 3;
  const seconds = options.seconds ?? 2;
  const python = options.pytorch === false ? undefined : typeof options.pytorch === 'string' ? options.pytorch : '/usr/bin/python3';
  const loadBefore = os.loadavg()[0]!;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-bench-'));
  const sessions: ort.InferenceSession[] = [];
  const detectorsToClose: Detector[] = [];
  try {
    await trainReferenceModel(dir, log);
    const model = readModelDir(dir);
    const W = model.manifest.window;
    const C = model.manifest.channels.length;
    const stream = generateSeries({ length: 8192, channels: C, seed: 2, anomalies: [] }).table.frames;
    const runners = new Map<string, () => Promise<number>>();
    for (const level of levels) {
      // The worker's session options (src/infer/providers.ts), the level aside.
      const session = await ort.InferenceSession.create(model.onnx, { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: level });
      sessions.push(session);
      for (const batch of batchSizes) {
        runners.set(`${batch}/${level}`, await ortRounds(session, { stream, window: W, channels: C, batch, seconds, warmup: 10 }));
      }
    }
    const shape = { window: W, channels: C, encoder: 32, decoder: 16 };
    const coreOptions = { executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, graphOptimizationLevel: 'all' as const };
    const cores = { fused: await ort.InferenceSession.create(fusedLstmCore(shape), coreOptions), unrolled: await ort.InferenceSession.create(unrolledLstmCore(shape), coreOptions) };
    sessions.push(cores.fused, cores.unrolled);
    const parity = new Map<number, number>();
    for (const batch of batchSizes) {
      const x = new ort.Tensor('float32', Float32Array.from({ length: W * batch * C }, (_, i) => stream[i % stream.length]!), [W, batch, C]);
      const a = (await cores.fused.run({ x })).y!.data as Float32Array;
      const b = (await cores.unrolled.run({ x })).y!.data as Float32Array;
      let diff = 0;
      for (let i = 0; i < a.length; i++) diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
      parity.set(batch, diff);
      for (const [form, session] of Object.entries(cores)) {
        runners.set(`${batch}/core-${form}`, async () => {
          let windows = 0;
          const t0 = performance.now();
          while (performance.now() - t0 < seconds * 1000) {
            await session.run({ x });
            windows += batch;
          }
          return windows / ((performance.now() - t0) / 1000);
        });
      }
    }
    // The native scorer, on the batch ortRounds feeds onnxruntime (the first batch + W - 1 frames, stride-1 starts).
    const found = extractLstmAeNet(model.onnx);
    if (!found.net) throw new Error(`the reference model is not read as an LSTM-AE: ${found.reason}`);
    const spec = found.net.spec;
    const scorer = new (loadNative().LstmAeScorer)(spec);
    const nativeParity = new Map<number, number>();
    const allSession = sessions[levels.indexOf('all')] ?? sessions[0]!;
    for (const batch of batchSizes) {
      const rows = batch + W - 1;
      const frames = stream.slice(0, rows * C);
      const starts = BigInt64Array.from({ length: batch }, (_, i) => BigInt(i));
      const score = new Float32Array(batch);
      const channelScore = new Float32Array(batch * C);
      const activity = new Float32Array(batch * C);
      const reconstruction = new Float32Array(batch * W * C);
      scorer.score(frames, starts, batch, score, channelScore, activity, reconstruction);
      const ref = await allSession.run({ frames: new ort.Tensor('float32', frames, [rows, C]), starts: new ort.Tensor('int64', starts, [batch]) });
      let diff = 0;
      const outs: [string, Float32Array][] = [['score', score], ['channel_score', channelScore], ['channel_activity', activity], ['reconstruction', reconstruction]];
      for (const [name, got] of outs) {
        const want = ref[name]!.data as Float32Array;
        for (let i = 0; i < want.length; i++) diff = Math.max(diff, Math.abs(got[i]! - want[i]!) / Math.max(1, Math.abs(want[i]!)));
      }
      nativeParity.set(batch, diff);
      runners.set(`${batch}/native`, () => {
        let windows = 0;
        const t0 = performance.now();
        while (performance.now() - t0 < seconds * 1000) {
          scorer.score(frames, starts, batch, score, channelScore, null, null);
          windows += batch;
        }
        return Promise.resolve(windows / ((performance.now() - t0) / 1000));
      });
    }
    // The pipeline with each scorer: one detector per (batch, scorer), each round a new series.
    let pipelineRuntime = '';
    for (const batch of batchSizes) {
      for (const choice of ['auto', 'onnxruntime'] as const) {
        const detector = await Detector.load(dir, { runtime: choice, batchSize: batch, stride: 1, maxSeries: rounds + 2 });
        detectorsToClose.push(detector);
        if (choice === 'auto') pipelineRuntime = `${detector.runtime.runtime}${detector.runtime.reason ? ` (${detector.runtime.reason})` : ''}`;
        let series = 0;
        const cursor = { row: 0, clock: 0 };
        const round = (): Promise<number> => {
          cursor.row = 0;
          return writeChunks(detector, `s${series++}`, stream, C, seconds, cursor);
        };
        await writeChunks(detector, `s${series++}`, stream, C, Math.min(1, seconds), cursor); // warm-up
        runners.set(`${batch}/pipeline-${choice}`, round);
      }
    }
    log(`pipeline runtime (runtime auto): ${pipelineRuntime}; native scorer ${scorer.isa}`);
    const rates = new Map<string, number[]>();
    const push = (k: string, v: number): void => {
      rates.set(k, [...(rates.get(k) ?? []), v]);
    };
    const resolved = python ? resolvePytorchPeers(options.pytorchBlas ?? ['openblas'], python, options.pytorchWheel) : { peers: [], skipped: [] };
    for (const s of resolved.skipped) log(`${s.peer} skipped: ${s.reason}`);
    const blasList = resolved.peers.map((p) => p.blas);
    const peers = resolved.peers.map((p) => ({ ...p, backends: undefined as PytorchBackends | undefined, modes: [] as string[] }));
    let torchVersion = '';
    for (let r = 0; r < rounds; r++) {
      for (const batch of batchSizes) {
        const parts: string[] = [];
        for (const level of levels) {
          const v = await runners.get(`${batch}/${level}`)!();
          push(`${batch}/${level}`, v);
          parts.push(`${level} ${v.toFixed(0)}`);
        }
        for (const form of ['fused', 'unrolled']) {
          const v = await runners.get(`${batch}/core-${form}`)!();
          push(`${batch}/core-${form}`, v);
          parts.push(`core ${form} ${v.toFixed(0)}`);
        }
        for (const k of ['native', 'pipeline-auto', 'pipeline-onnxruntime']) {
          const v = await runners.get(`${batch}/${k}`)!();
          push(`${batch}/${k}`, v);
          parts.push(`${k} ${v.toFixed(0)}`);
        }
        for (const peer of peers) {
          const t = runPytorchScoring(peer.python, batch, seconds, peer.blas);
          push(`${batch}/pytorch-${peer.blas}`, t.windowsPerSec);
          peer.modes.push(t.mode);
          peer.backends = t.backends;
          torchVersion = t.torch;
          parts.push(`pytorch/${peer.blas} ${t.windowsPerSec.toFixed(0)} (${t.mode})`);
        }
        log(`round ${r + 1}/${rounds}, batch ${batch}: ${parts.join(', ')} windows/s`);
      }
    }
    const rows: LstmScoringRow[] = batchSizes.map((batch) => {
      const ortMedians = Object.fromEntries(levels.map((l) => [l, median(rates.get(`${batch}/${l}`)!)]));
      const byBlas = Object.fromEntries(blasList.map((b) => [b, median(rates.get(`${batch}/pytorch-${b}`)!)])) as Partial<Record<PytorchBlas, number>>;
      const best = blasList.reduce<PytorchBlas | undefined>((a, b) => (a === undefined || byBlas[b]! > byBlas[a]! ? b : a), undefined);
      const torch = best === undefined ? undefined : byBlas[best];
      const roundsOf = Object.fromEntries([...levels, 'core-fused', 'core-unrolled', 'native', 'pipeline-auto', 'pipeline-onnxruntime', ...blasList.map((b) => `pytorch-${b}`)].map((k) => [k, rates.get(`${batch}/${k}`)!]));
      const within = (a: string, b: string): number => median(rates.get(`${batch}/${a}`)!.map((v, i) => v / rates.get(`${batch}/${b}`)![i]!));
      const fused = median(rates.get(`${batch}/core-fused`)!);
      const unrolled = median(rates.get(`${batch}/core-unrolled`)!);
      return {
        batchSize: batch,
        ort: ortMedians,
        core: { fused, unrolled, unrolledToFused: median(rates.get(`${batch}/core-unrolled`)!.map((u, i) => u / rates.get(`${batch}/core-fused`)![i]!)), maxAbsDiff: parity.get(batch)! },
        native: { windowsPerSec: median(rates.get(`${batch}/native`)!), toOrt: within('native', levels.includes('all') ? 'all' : levels[0]!), isa: scorer.isa, maxRelDiff: nativeParity.get(batch)! },
        pipeline: { native: median(rates.get(`${batch}/pipeline-auto`)!), onnxruntime: median(rates.get(`${batch}/pipeline-onnxruntime`)!), nativeToOrt: within('pipeline-auto', 'pipeline-onnxruntime'), runtime: pipelineRuntime },
        ...(torch === undefined ? {} : { pytorch: torch, pytorchBlas: best, pytorchByBlas: byBlas, ratioAllToPytorch: (ortMedians['all'] ?? NaN) / torch }),
        rounds: roundsOf,
      };
    });
    return {
      rows,
      ...(peers.length > 0 ? { pytorch: { torch: torchVersion, peers: peers.map((p) => ({ blas: p.blas, backends: p.backends!, modes: p.modes })) } } : {}),
      machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAvg1mBefore: loadBefore, loadAvg1mAfter: os.loadavg()[0]! },
    };
  } finally {
    for (const d of detectorsToClose) await d.close();
    for (const s of sessions) await s.release();
    fs.rmSync(dir, { recursive: true, force: true });
  }
}
