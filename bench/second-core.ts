/**
 * What a second core buys (`seismo bench --threads 2`): in one run, rounds alternating,
 * - onnxruntime alone with 1 and with N intra-op threads (the same session options otherwise);
 * - the pipeline (one detector, one worker) with 1 and with N intra-op threads;
 * - N detectors (N workers, 1 intra-op thread each) in one process, each fed its own series
 *   concurrently: scale-out by inference workers rather than inside one operator.
 * Figures are windows/s, medians over rounds; ratios are to the 1-thread figure of the same kind.
 */
import os from 'node:os';
import { Detector } from '../src/detector/index.js';
import { createSession, type ProviderRequest } from '../src/infer/providers.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { median } from '../src/stats/quantile.js';
import { ortRounds, withReferenceModel, writeChunks } from './rounds.js';

export interface SecondCoreOptions {
  /** Model directory; default the reference LSTM-AE of `seismo bench`. */
  model?: string;
  /** Threads (and workers) to compare against one. Default 2. */
  threads?: number;
  /** Windows per inference call. Default 64. */
  batchSize?: number;
  rounds?: number;
  seconds?: number;
  provider?: ProviderRequest;
  log?: (line: string) => void;
}

export interface SecondCoreResult {
  model: { kind: string; window: number; channels: number };
  threads: number;
  batchSize: number;
  /** windows/s, medians over rounds. */
  ort1: number;
  ortN: number;
  pipeline1: number;
  pipelineN: number;
  workersN: number;
  ratios: { ortThreads: number; pipelineThreads: number; pipelineWorkers: number };
  /** The same ratios within each round, median over rounds (steadier under a changing load). */
  roundRatios: { ortThreads: number; pipelineThreads: number; pipelineWorkers: number };
  rounds: Record<'ort1' | 'ortN' | 'pipeline1' | 'pipelineN' | 'workersN', number[]>;
  machine: { cpus: number; cpuModel: string; node: string; loadAvg1mBefore: number; loadAvg1mAfter: number };
}

export async function runSecondCore(options: SecondCoreOptions = {}): Promise<SecondCoreResult> {
  const log = options.log ?? (() => undefined);
  const N = options.threads ?? 2;
  const batch = options.batchSize ?? 64;
  const rounds = options.rounds ?? 5;
  const seconds = options.seconds ?? 2;
  const loadBefore = os.loadavg()[0]!;
  return withReferenceModel(options.model, log, async (dir) => {
    const closers: (() => Promise<unknown>)[] = [];
    try {
      const model = readModelDir(dir);
      const W = model.manifest.window;
      const C = model.manifest.channels.length;
      const total = 1 << 16;
      const stream = generateSeries({ length: total, channels: C, seed: 2, anomalies: [] }).table.frames;

      const ortRound = async (threads: number): Promise<() => Promise<number>> => {
        const { session } = await createSession(model.onnx, { provider: options.provider, intraOpThreads: threads });
        closers.push(() => session.release());
        return ortRounds(session, { stream, window: W, channels: C, batch, seconds });
      };

      let clock = 0;
      /** Writes chunks of 64 samples into each detector's own series concurrently; windows/s of them all. */
      const pipelineRound = async (detectors: Detector[]): Promise<number> => {
        const before = detectors.reduce((s, d) => s + d.stats().windowsScored, 0);
        const t0 = performance.now();
        await Promise.all(
          detectors.map(async (d, k) => {
            // Each detector from its own place in the stream; timestamps go on from round to round.
            const cursor = { row: (k * 4096) % total, clock };
            await writeChunks(d, 's', stream, C, seconds, cursor);
            clock = Math.max(clock, cursor.clock);
          }),
        );
        return (detectors.reduce((s, d) => s + d.stats().windowsScored, 0) - before) / ((performance.now() - t0) / 1000);
      };
      const load = async (threads: number): Promise<Detector> => {
        const d = await Detector.load(dir, { provider: options.provider, batchSize: batch, stride: 1, intraOpThreads: threads });
        closers.push(() => d.close());
        return d;
      };

      const ort1 = await ortRound(1);
      const ortN = await ortRound(N);
      const one = [await load(1)];
      const oneN = [await load(N)];
      const many: Detector[] = [];
      for (let k = 0; k < N; k++) many.push(await load(1));
      for (const set of [one, oneN, many]) await pipelineRound(set); // warm-up: sessions, JIT

      const r: SecondCoreResult['rounds'] = { ort1: [], ortN: [], pipeline1: [], pipelineN: [], workersN: [] };
      for (let i = 0; i < rounds; i++) {
        r.ort1.push(await ort1());
        r.ortN.push(await ortN());
        r.pipeline1.push(await pipelineRound(one));
        r.pipelineN.push(await pipelineRound(oneN));
        r.workersN.push(await pipelineRound(many));
        log(
          `round ${i + 1}/${rounds}: ort ${r.ort1.at(-1)!.toFixed(0)} / ${r.ortN.at(-1)!.toFixed(0)} (${N} threads), pipeline ${r.pipeline1.at(-1)!.toFixed(0)} / ${r.pipelineN.at(-1)!.toFixed(0)} (${N} threads) / ${r.workersN.at(-1)!.toFixed(0)} (${N} workers) windows/s`,
        );
      }
      const m = Object.fromEntries(Object.entries(r).map(([k, v]) => [k, median(v)])) as Record<keyof SecondCoreResult['rounds'], number>;
      return {
        model: { kind: model.manifest.kind, window: W, channels: C },
        threads: N,
        batchSize: batch,
        ...m,
        ratios: { ortThreads: m.ortN / m.ort1, pipelineThreads: m.pipelineN / m.pipeline1, pipelineWorkers: m.workersN / m.pipeline1 },
        roundRatios: {
          ortThreads: median(r.ortN.map((v, i) => v / r.ort1[i]!)),
          pipelineThreads: median(r.pipelineN.map((v, i) => v / r.pipeline1[i]!)),
          pipelineWorkers: median(r.workersN.map((v, i) => v / r.pipeline1[i]!)),
        },
        rounds: r,
        machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAvg1mBefore: loadBefore, loadAvg1mAfter: os.loadavg()[0]! },
      };
    } finally {
      for (const close of closers) await close();
    }
  });
}
