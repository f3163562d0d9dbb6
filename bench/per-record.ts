/**
 * Per-record kinds (window 1: dense-ae, vae, pca, ocsvm, bigan) through the whole pipeline
 * against onnxruntime alone, in one run, rounds alternating (`seismo bench --per-record`).
 *
 * A per-record window is one frame, so the pipeline's costs per window are its costs per frame:
 * validation, the ring write, the batch bookkeeping, the delivery (rule, events). Records arrive
 * in blocks (`detector.write` of `[chunk, C]`, one native ring write per block), the way an
 * ingestion service or a log reader hands them over; onnxruntime alone runs the same graph on a
 * prepared `[batch, C]` tensor with the same session options as the worker.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Detector } from '../src/detector/index.js';
import { createSession, type ProviderRequest } from '../src/infer/providers.js';
import { generateSeries } from '../src/ingest/synthetic.js';
import { readModelDir } from '../src/model/model-dir.js';
import { median } from '../src/stats/quantile.js';
import { trainToDir } from '../training/train-to-dir.js';
import { ortRounds, writeChunks } from './rounds.js';

/** The kinds that score one record per window. */
export const PER_RECORD_KINDS = ['dense-ae', 'vae', 'pca', 'ocsvm', 'bigan'] as const;

export interface PerRecordOptions {
  /** Kinds to measure. Default all of {@link PER_RECORD_KINDS}. */
  kinds?: readonly string[];
  /** Channels per record. Default 38 (KDD Cup 99's numeric features). */
  channels?: number;
  /** Windows (records) per inference call, both sides. Default 1024. */
  batchSize?: number;
  /** Records per `detector.write` call. Default 1024. */
  chunk?: number;
  /** Alternating rounds. Default 5. */
  rounds?: number;
  /** Seconds per round and side. Default 2. */
  seconds?: number;
  provider?: ProviderRequest;
  log?: (line: string) => void;
}

export interface PerRecordKindResult {
  kind: string;
  ortWindowsPerSec: number;
  pipelineWindowsPerSec: number;
  /** pipeline / onnxruntime alone. */
  ratio: number;
  /** The same ratio within each round, median over rounds (steadier under a changing load). */
  roundRatio: number;
  /** Share of the pipeline's windows that were anomalies (each one builds an `anomaly` event). */
  anomalyShare: number;
  /**
   * CPU time of the whole process per 1,024 windows, ms (median over rounds): onnxruntime alone
   * (one thread) and the pipeline (main thread and inference worker together). Their ratio is
   * what the throughput ratio tends to when the machine has one core's worth to give (a shared
   * machine under load), where the two threads of the pipeline cannot run side by side.
   */
  cpuPerBatchMs: {
    ort: number;
    pipeline: number;
    /**
     * The pipeline's main thread alone (ingest, rules, attribution, events), from
     * `/proc/self/task/<pid>/stat` (Linux; undefined elsewhere); the rest of `pipeline` is the
     * inference worker (onnxruntime and the attribution's logarithms) and V8's helper threads.
     */
    pipelineMain?: number;
  };
  /**
   * What the ratio tends to when two cores are free for the pipeline's two threads, from the CPU
   * times above: `ort / max(pipelineMain, pipeline - pipelineMain)` (an estimate: it assumes
   * each thread runs at the speed it ran at here, which on a loaded machine is slower than on a
   * quiet one for both sides alike). Undefined where the main thread's time is not known.
   */
  twoCoreRatioEstimate?: number;
  rounds: { ort: number[]; pipeline: number[] };
}

export interface PerRecordResult {
  channels: number;
  batchSize: number;
  chunk: number;
  provider: string;
  kinds: PerRecordKindResult[];
  machine: { cpus: number; cpuModel: string; node: string; loadAvg1m: number };
}

export async function runPerRecord(options: PerRecordOptions = {}): Promise<PerRecordResult> {
  const log = options.log ?? (() => undefined);
  const kinds = options.kinds ?? PER_RECORD_KINDS;
  const C = options.channels ?? 38;
  const batch = options.batchSize ?? 1024;
  const chunk = options.chunk ?? 1024;
  const rounds = options.rounds ?? 5;
  const seconds = options.seconds ?? 2;
  const total = 1 << 16;
  // The models train on the stream's first rows, so that their thresholds flag a realistic share
  // of it (each anomaly builds an event; a threshold that flags everything measures only that).
  const data = generateSeries({ length: total, channels: C, seed: 2, anomalies: [] }).table;
  const stream = data.frames;
  const train = { frames: stream.subarray(0, 2048 * C), channels: data.channels };
  const results: PerRecordKindResult[] = [];
  let provider = 'cpu';
  for (const kind of kinds) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `seismo-bench-${kind}-`));
    try {
      log(`${kind}: training at window 1 on ${C} channels (its weights only need to exist)`);
      await trainToDir(kind, train.frames, train.channels, dir, { config: { window: 1, epochs: 1 }, stride: 1, seed: 1 });
      const model = readModelDir(dir);

      const { session, report } = await createSession(model.onnx, { provider: options.provider });
      provider = report.provider;
      const ortRound = await ortRounds(session, { stream, window: 1, channels: C, batch, seconds });

      const detector = await Detector.load(dir, { provider: options.provider, batchSize: batch, stride: 1 });
      let anomalies = 0;
      detector.on('anomaly', () => {
        anomalies++;
      });
      const cursor = { row: 0, clock: 0 };
      const pipelineRound = (): Promise<number> => writeChunks(detector, 'records', stream, C, seconds, cursor, chunk);

      const ortRates: number[] = [];
      const pipeRates: number[] = [];
      const ortCpu: number[] = [];
      const pipeCpu: number[] = [];
      const pipeMainCpu: number[] = [];
      /** Runs a round; pushes its CPU ms per 1,024 windows (process-wide, and of the main thread into `main`) into `into`. */
      const timed = async (round: () => Promise<number>, into: number[], main?: number[]): Promise<number> => {
        const cpu0 = process.cpuUsage();
        const main0 = mainThreadCpuMs();
        const t0 = performance.now();
        const rate = await round();
        const cpu = process.cpuUsage(cpu0);
        const main1 = mainThreadCpuMs();
        const windows = (rate * (performance.now() - t0)) / 1000;
        into.push((cpu.user + cpu.system) / 1000 / (windows / 1024));
        if (main && main0 !== undefined && main1 !== undefined) main.push((main1 - main0) / (windows / 1024));
        return rate;
      };
      try {
        await pipelineRound(); // warm-up: worker session, JIT
        for (let r = 0; r < rounds; r++) {
          ortRates.push(await timed(ortRound, ortCpu));
          pipeRates.push(await timed(pipelineRound, pipeCpu, pipeMainCpu));
          log(`  ${kind} round ${r + 1}/${rounds}: ort ${ortRates.at(-1)!.toFixed(0)} windows/s, pipeline ${pipeRates.at(-1)!.toFixed(0)} windows/s`);
        }
      } finally {
        await session.release();
      }
      const scored = detector.stats().windowsScored;
      await detector.close();
      const ortMedian = median(ortRates);
      const pipeMedian = median(pipeRates);
      const cpu = { ort: median(ortCpu), pipeline: median(pipeCpu), ...(pipeMainCpu.length === pipeCpu.length ? { pipelineMain: median(pipeMainCpu) } : {}) };
      const twoCore = cpu.pipelineMain !== undefined ? { twoCoreRatioEstimate: cpu.ort / Math.max(cpu.pipelineMain, cpu.pipeline - cpu.pipelineMain) } : {};
      results.push({ kind, ortWindowsPerSec: ortMedian, pipelineWindowsPerSec: pipeMedian, ratio: pipeMedian / ortMedian, roundRatio: median(pipeRates.map((p, i) => p / ortRates[i]!)), anomalyShare: anomalies / scored, cpuPerBatchMs: cpu, ...twoCore, rounds: { ort: ortRates, pipeline: pipeRates } });
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  }
  return {
    channels: C,
    batchSize: batch,
    chunk,
    provider,
    kinds: results,
    machine: { cpus: os.cpus().length, cpuModel: os.cpus()[0]?.model ?? 'unknown', node: process.versions.node, loadAvg1m: os.loadavg()[0]! },
  };
}

/** CPU time of this process's main thread so far, ms (`/proc/self/task/<pid>/stat`, in clock ticks of 10 ms); undefined off Linux. */
function mainThreadCpuMs(): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    // Fields after the parenthesised name: utime and stime are the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  } catch {
    return undefined;
  }
}
