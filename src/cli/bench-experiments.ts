/**
 * The experiments of `seismo bench` that need more than a line to run and print: each loads its
 * bench module on demand (bench/*.ts, not part of the library's import graph), runs it and prints
 * its table; `./bench.ts` wires them to the command line.
 */
import { SeismoError } from '../errors.js';
import { PROVIDER_REQUESTS, type ProviderRequest } from '../infer/providers.js';
import { ONLINE_KINDS, type OnlineKind } from '../online/policy.js';
import { Progress, say, type CommonOptions } from './output.js';
import { intOption, providerOption } from './options.js';

/** Options of `seismo bench`, as commander hands them over (strings until parsed). */
export interface BenchOptions extends CommonOptions {
  model?: string;
  batchSize: string;
  rounds: string;
  seconds: string;
  provider: string;
  epochs?: string;
  tfjs?: boolean;
  pytorch?: boolean | string;
  pytorchBlas?: string;
  pytorchWheel?: string;
  onednn?: boolean;
  runtime?: string;
  /** Whether `--rounds` was given on the command line (set by a preAction hook; its default 5 is throughput's). */
  roundsGiven?: boolean;
  data?: string;
  models?: string;
  online?: boolean;
  seed?: string;
  committee?: boolean;
  quick?: boolean;
  deep?: string;
  providers?: string;
  batchSizes?: string;
  stepBatchSize?: string;
  series?: string;
  samples?: string;
  kind?: string;
  seeds?: string;
  family?: string;
  perRecord?: boolean | string;
  latency?: boolean;
  threads?: string;
  maxLatencyMs?: string;
}

/** `--pytorch-blas`, parsed by the bench's own module (loaded on demand, as the benches are). */
export function pytorchBlasOption(opts: BenchOptions): import('../../bench/pytorch/peer.js').PytorchBlas[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parsePytorchBlas } = require('../../bench/pytorch/peer.js') as typeof import('../../bench/pytorch/peer.js');
  return parsePytorchBlas(opts.pytorchBlas);
}

/** `--pytorch`, implied by `--pytorch-blas` (a peer list asks for the peers). */
export function pytorchOption(opts: BenchOptions): boolean | string | undefined {
  return opts.pytorch ?? (opts.pytorchBlas !== undefined ? true : undefined);
}

/** What seismo's side of a PyTorch comparison computes with (the peers print theirs). */
export function seismoCompute(what: 'scoring' | 'training', kernels?: string, runtime?: import('../infer/runtime.js').RuntimeReport): string {
  if (what === 'training') return `seismo trains with its addon's kernels, ${kernels ?? 'unknown'} (Eigen GEMMs and register-blocked recurrent products, no BLAS library), and tfjs' Adam arithmetic in JavaScript on the gradient buffers (training/native-ops/adam.ts), the model's state in tfjs variables on the wasm backend`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const version = (require('onnxruntime-node') as { env: { versions: { node?: string } } }).env.versions.node ?? 'unknown';
  const ort = `onnxruntime-node ${version}, CPU EP (MLAS kernels, no BLAS library), 1 intra-op thread`;
  // What ran the pipeline's graph as its worker reported it (bench/throughput.ts `runtime`); onnxruntime alone is always the session.
  if (runtime?.runtime === 'native-lstm-ae') return `seismo's pipeline scores with the addon's native LSTM-AE scorer (${runtime.isa ?? 'unknown'} variant, no BLAS library), one thread; onnxruntime alone: ${ort}`;
  return `seismo scores with ${ort}${runtime?.reason ? ` (native scorer not used: ${runtime.reason})` : ''}`;
}

/** Experiments that read a dataset, and where their data lives in a checkout of the datasets. */
export const DATA_EXPERIMENTS: Record<string, string> = {
  kdd: 'kdd99/',
  nab: 'nab/ (data/, labels/, config/)',
  power: 'power_demand/',
  smtp: 'kdd99/',
  http: 'kdd99/',
  'smtp-http': 'kdd99/',
};

function requireData(experiment: string, data: string | undefined): string {
  if (!data) {
    throw new SeismoError('ERR_INVALID_OPTION', `bench ${experiment} needs --data <path> (${DATA_EXPERIMENTS[experiment]})`);
  }
  return data;
}

/** Runs one of the dataset experiments, printing a table; returns its JSON. */
export async function runDataExperiment(experiment: string, opts: BenchOptions): Promise<Record<string, unknown>> {
  const data = requireData(experiment, opts.data);
  const log = (line: string): void => void process.stderr.write(`${line}\n`);
  if (experiment === 'kdd') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runKdd } = require('../../bench/kdd.js') as typeof import('../../bench/kdd.js');
    const r = await runKdd({ data, models: opts.models?.split(','), log });
    say(opts, r.protocol);
    say(opts, `  ${'model'.padEnd(9)} ${'ROC AUC'.padStart(8)} ${'PR AUC'.padStart(8)} ${'prec'.padStart(7)} ${'recall'.padStart(7)} ${'F1'.padStart(7)} ${'F2'.padStart(7)}`);
    for (const [kind, m] of Object.entries(r.models)) {
      say(opts, `  ${kind.padEnd(9)} ${m.rocAuc.toFixed(4).padStart(8)} ${m.prAuc.toFixed(4).padStart(8)} ${m.precision.toFixed(4).padStart(7)} ${m.recall.toFixed(4).padStart(7)} ${m.f1.toFixed(4).padStart(7)} ${m.f2.toFixed(4).padStart(7)}`);
    }
    return { experiment, ...r };
  }
  if (experiment === 'nab') {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { runNabBench } = require('../../bench/nab.js') as typeof import('../../bench/nab.js');
    if (opts.deep !== undefined && !(ONLINE_KINDS as readonly string[]).includes(opts.deep)) {
      throw new SeismoError('ERR_INVALID_OPTION', `--deep must be one of ${ONLINE_KINDS.join(', ')}, got '${opts.deep}'`);
    }
    const progress = new Progress(opts.deep ? `nab ${opts.deep} online, files` : 'nab settings', opts.deep ? 58 : opts.quick ? 1 : 24);
    const r = await runNabBench({ data, log, seed: intOption('--seed', opts.seed), quick: opts.quick === true, deep: opts.deep as OnlineKind | undefined, onFile: (done, total) => progress.update(done, '', total) });
    progress.stop();
    const f = (x: { standard: number; rewardLowFP: number; rewardLowFN: number }) =>
      `${x.standard.toFixed(2).padStart(6)} ${x.rewardLowFP.toFixed(2).padStart(7)} ${x.rewardLowFN.toFixed(2).padStart(7)}`;
    say(opts, `${r.detector} (${r.setting.name}): ${r.protocol}`);
    say(opts, `  ${''.padEnd(44)} standard  low-FP  low-FN`);
    say(opts, `  ${`whole corpus, ${r.files} files (exact search)`.padEnd(44)} ${f(r)}`);
    say(opts, `  ${'whole corpus, NAB v1.0 local search'.padEnd(44)} ${f(r.local)}`);
    if (r.folds) {
      for (const k of ['A', 'B'] as const) {
        const fold = r.folds[k];
        say(opts, `  ${`fold ${k} (${fold.files.length} files), ${fold.pickedOnOther} picked on ${k === 'A' ? 'B' : 'A'}`.padEnd(44)} ${f(fold.heldOut)}`);
        say(opts, `  ${`  same, at ${k === 'A' ? 'B' : 'A'}'s thresholds`.padEnd(44)} ${f(fold.heldOutAtOtherThresholds)}`);
        say(opts, `  ${`  default setting on fold ${k}`.padEnd(44)} ${f(fold.defaultSetting)}`);
      }
    }
    for (const [cat, c] of Object.entries(r.categories)) say(opts, `  ${`${cat} (${c.files} files)`.padEnd(44)} ${f(c)}`);
    if (r.deep) say(opts, `  deep: ${r.deep.kind} through the online engine (learning from the stream), ${r.deep.seconds.toFixed(0)} s for all files`);
    say(opts, `  wall time ${r.seconds.toFixed(1)} s (streaming ${r.streamSeconds.toFixed(1)} s for ${r.grid.length || 1} settings, ${(r.samplesPerSecond / 1e3).toFixed(0)}k samples/s)`);
    return { experiment, ...r };
  }
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runStream } = require('../../bench/streams.js') as typeof import('../../bench/streams.js');
  const r = await runStream(experiment as 'power', { data, epochs: intOption('--epochs', opts.epochs), seed: intOption('--seed', opts.seed), log, online: opts.online === true, committee: opts.committee === true });
  say(opts, `${experiment}: ${r.protocol}`);
  say(opts, `  static ROC AUC ${r.aucStatic.toFixed(4)} over ${r.windows} windows (${r.anomalousWindows} anomalous); trained on ${r.trainWindows} head windows in ${r.trainSeconds.toFixed(1)} s`);
  if (r.aucUpdating !== undefined) {
    say(opts, `  updating ROC AUC ${r.aucUpdating.toFixed(4)} (raw scores pooled over versions; on the normalised scale ${r.aucUpdatingNormalized?.toFixed(4) ?? 'n/a: a version had no calibration'}) with ${r.updates} updates (${r.rejectedUpdates} rejected, ${r.recalibrations} recalibrations), ${r.labels} labels of ${r.questions} questions`);
  }
  return { ...r };
}

/** Providers side by side on one model: windows/s per batch size and score parity with the first. */
export async function runProviders(opts: BenchOptions): Promise<Record<string, unknown>> {
  if (!opts.model) throw new SeismoError('ERR_INVALID_OPTION', 'bench providers needs --model <dir> (e.g. one written by seismo train)');
  const providers = (opts.providers ?? 'cpu,webgpu').split(',').map((p) => p.trim());
  for (const p of providers) {
    if (!PROVIDER_REQUESTS.includes(p as ProviderRequest)) throw new SeismoError('ERR_INVALID_OPTION', `--providers: unknown provider '${p}' (${PROVIDER_REQUESTS.join('|')})`);
  }
  const batchSizes = (opts.batchSizes ?? '256,1024,4096').split(',').map((b) => intOption('--batch-sizes', b.trim())!);
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runProvidersBench } = require('../../bench/providers.js') as typeof import('../../bench/providers.js');
  const r = await runProvidersBench({
    model: opts.model,
    providers: providers as ProviderRequest[],
    batchSizes,
    rounds: intOption('--rounds', opts.rounds),
    seconds: Number(opts.seconds),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  say(opts, `model ${r.model.kind} (window ${r.model.window}, ${r.model.channels} channels)`);
  for (const row of r.rows) {
    if (row.error) say(opts, `  ${row.requested.padEnd(7)} batch ${String(row.batchSize).padStart(5)}  could not run: ${row.error}`);
    else say(opts, `  ${row.requested.padEnd(7)} batch ${String(row.batchSize).padStart(5)}  ort ${row.ortWindowsPerSec!.toFixed(0).padStart(9)}  pipeline ${row.pipelineWindowsPerSec!.toFixed(0).padStart(9)} windows/s  max |score diff| ${row.maxAbsScoreDiff!.toExponential(2)}`);
  }
  return { experiment: 'providers', ...r };
}

/** The online mode: samples/s and memory per series at several series counts, the cost of learning, and (with --data <NAB root>) the NAB corpus's wall time. */
export async function runOnlineMode(opts: BenchOptions): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runOnlineModeBench } = require('../../bench/online-mode.js') as typeof import('../../bench/online-mode.js');
  const series = opts.series?.split(',').map((n) => intOption('--series', n.trim())!);
  const r = await runOnlineModeBench({
    series,
    samples: intOption('--samples', opts.samples),
    kind: opts.kind as never,
    rounds: intOption('--rounds', opts.rounds === '5' ? undefined : opts.rounds),
    nab: opts.data,
    log: (line) => process.stderr.write(`${line}\n`),
  });
  say(opts, r.protocol);
  for (const row of r.scale) {
    const mem = Number.isNaN(row.bytesPerSeries) ? '' : `, ${(row.bytesPerSeries / 1024).toFixed(1)} KiB per series`;
    say(opts, `  ${String(row.series).padStart(6)} series: ${row.samplesPerSec.toFixed(0).padStart(8)} samples/s${mem} (${row.updates} updates)`);
  }
  say(opts, `  allocated per series: ${Object.entries(r.perSeriesAllocations).map(([k, v]) => `${k} ${v} B`).join('; ')}`);
  say(opts, `  learning on / off: ${r.learning.learningWindowsPerSec.toFixed(0)} / ${r.learning.frozenWindowsPerSec.toFixed(0)} windows/s = ratio ${r.learning.ratio.toFixed(2)} (${r.learning.updates} updates)`);
  if (r.nab) say(opts, `  NAB: ${r.nab.files} files, ${r.nab.points} points in ${r.nab.seconds.toFixed(0)} s wall, ${r.nab.cpuSeconds.toFixed(0)} s CPU (${r.nab.pointsPerSec.toFixed(0)} points/s, ${r.nab.updates} updates, ${r.nab.disordered} repeated timestamps skipped; ${r.nab.learning})`);
  return { experiment: 'online-mode', ...r };
}

/** `bench --per-record`: per-record kinds through the pipeline against onnxruntime alone. */
export async function runPerRecordBench(opts: BenchOptions): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runPerRecord } = require('../../bench/per-record.js') as typeof import('../../bench/per-record.js');
  const r = await runPerRecord({
    kinds: typeof opts.perRecord === 'string' ? opts.perRecord.split(',').map((k) => k.trim()) : undefined,
    // The throughput default (64) is far too small for one-frame windows: default 1024 here.
    batchSize: opts.batchSize === '64' ? undefined : intOption('--batch-size', opts.batchSize),
    rounds: intOption('--rounds', opts.rounds),
    seconds: Number(opts.seconds),
    provider: providerOption(opts.provider),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  say(opts, `per-record kinds (window 1, ${r.channels} channels), batch ${r.batchSize}, writes of ${r.chunk} records, provider ${r.provider}, ${r.machine.cpus} cpus, load ${r.machine.loadAvg1m.toFixed(1)}`);
  for (const k of r.kinds) {
    say(opts, `  ${k.kind.padEnd(9)} onnxruntime ${k.ortWindowsPerSec.toFixed(0).padStart(9)}  pipeline ${k.pipelineWindowsPerSec.toFixed(0).padStart(9)} windows/s  ratio ${k.ratio.toFixed(2)} (per round ${k.roundRatio.toFixed(2)})  (anomalies ${(100 * k.anomalyShare).toFixed(1)}%)  CPU per 1024 windows: onnxruntime ${k.cpuPerBatchMs.ort.toFixed(2)} ms, pipeline ${k.cpuPerBatchMs.pipeline.toFixed(2)} ms${k.cpuPerBatchMs.pipelineMain === undefined ? '' : ` (main thread ${k.cpuPerBatchMs.pipelineMain.toFixed(2)}; two free cores: ratio ~${k.twoCoreRatioEstimate!.toFixed(2)})`}`);
  }
  return { experiment: 'per-record', ...r };
}

/** `bench --latency`: write-to-event latency percentiles at two loads. */
export async function runLatencyBench(opts: BenchOptions): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runLatency } = require('../../bench/latency.js') as typeof import('../../bench/latency.js');
  const maxLatencyMs = opts.maxLatencyMs === undefined ? undefined : Number(opts.maxLatencyMs);
  if (maxLatencyMs !== undefined && !(Number.isFinite(maxLatencyMs) && maxLatencyMs >= 0)) {
    throw new SeismoError('ERR_INVALID_OPTION', `--max-latency-ms must be a number of milliseconds >= 0, got ${opts.maxLatencyMs}`);
  }
  const r = await runLatency({
    model: opts.model,
    batchSize: intOption('--batch-size', opts.batchSize),
    maxLatencyMs,
    rounds: opts.rounds === '5' ? undefined : intOption('--rounds', opts.rounds),
    seconds: Number(opts.seconds),
    provider: providerOption(opts.provider),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  say(opts, `latency, write() of a window's last sample to its batch event: model ${r.model.kind} (window ${r.model.window}, ${r.model.channels} channels), stride 1, batch ${r.batchSize}, ${r.machine.cpus} cpus, load ${r.machine.loadAvg1m.toFixed(1)}`);
  say(opts, `  saturation ${r.saturationWindowsPerSec.toFixed(0)} windows/s`);
  for (const s of r.settings) {
    const policy = s.maxLatencyMs === null ? 'full batches   ' : `maxLatencyMs ${String(s.maxLatencyMs).padEnd(3)}`;
    say(opts, `  ${String(Math.round(s.level * 100)).padStart(3)}% (${s.rate.toFixed(0).padStart(6)} windows/s) ${policy}  p50 ${s.p50Ms.toFixed(2).padStart(7)}  p99 ${s.p99Ms.toFixed(2).padStart(7)}  p99.9 ${s.p999Ms.toFixed(2).padStart(7)} ms  (mean batch ${s.meanBatch.toFixed(1)}, ${s.windows} windows)`);
  }
  return { experiment: 'latency', ...r };
}

/** `bench --threads`: what a second core buys. */
export async function runSecondCoreBench(opts: BenchOptions): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runSecondCore } = require('../../bench/second-core.js') as typeof import('../../bench/second-core.js');
  const threads = intOption('--threads', opts.threads);
  if (threads === undefined || threads < 2) throw new SeismoError('ERR_INVALID_OPTION', `--threads must be an integer >= 2 (it is compared against 1), got ${opts.threads}`);
  const r = await runSecondCore({
    model: opts.model,
    threads,
    batchSize: intOption('--batch-size', opts.batchSize),
    rounds: intOption('--rounds', opts.rounds),
    seconds: Number(opts.seconds),
    provider: providerOption(opts.provider),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  const n = r.threads;
  say(opts, `second core: model ${r.model.kind} (window ${r.model.window}, ${r.model.channels} channels), stride 1, batch ${r.batchSize}; ${r.machine.cpus} cpus, load ${r.machine.loadAvg1mBefore.toFixed(1)} -> ${r.machine.loadAvg1mAfter.toFixed(1)}`);
  say(opts, `  onnxruntime alone, 1 / ${n} intra-op threads   ${r.ort1.toFixed(0).padStart(8)} / ${r.ortN.toFixed(0).padStart(8)} windows/s  (x${r.ratios.ortThreads.toFixed(2)}; per round x${r.roundRatios.ortThreads.toFixed(2)})`);
  say(opts, `  pipeline, 1 / ${n} intra-op threads            ${r.pipeline1.toFixed(0).padStart(8)} / ${r.pipelineN.toFixed(0).padStart(8)} windows/s  (x${r.ratios.pipelineThreads.toFixed(2)}; per round x${r.roundRatios.pipelineThreads.toFixed(2)})`);
  say(opts, `  pipeline, 1 / ${n} inference workers           ${r.pipeline1.toFixed(0).padStart(8)} / ${r.workersN.toFixed(0).padStart(8)} windows/s  (x${r.ratios.pipelineWorkers.toFixed(2)}; per round x${r.roundRatios.pipelineWorkers.toFixed(2)})`);
  return { experiment: 'second-core', ...r };
}

/** Stride-1 scoring: the step graph against the window graph at several series counts (docs/benchmarks.md). */
export async function runStep(opts: BenchOptions): Promise<Record<string, unknown>> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { runStepBench, STEP_BENCH_KINDS } = require('../../bench/step.js') as typeof import('../../bench/step.js');
  if (opts.kind !== undefined && !(STEP_BENCH_KINDS as readonly string[]).includes(opts.kind)) {
    throw new SeismoError('ERR_INVALID_OPTION', `bench step --kind takes ${STEP_BENCH_KINDS.join(' or ')} (the kinds with a step graph), got ${opts.kind}`);
  }
  const r = await runStepBench({
    model: opts.model,
    ...(opts.kind !== undefined ? { kind: opts.kind as (typeof STEP_BENCH_KINDS)[number] } : {}),
    series: opts.series?.split(',').map((n) => intOption('--series', n.trim())!),
    batchSize: intOption('--batch-size', opts.batchSize),
    stepBatchSize: intOption('--step-batch-size', opts.stepBatchSize),
    rounds: intOption('--rounds', opts.rounds),
    seconds: Number(opts.seconds),
    log: (line) => process.stderr.write(`${line}\n`),
  });
  say(opts, `model ${r.model.kind} (window ${r.model.window}, ${r.model.channels} channels), batch ${r.batchSize} (window path) / ${r.stepBatchSize} (step path), ${r.machine.cpus} cpus, load ${r.machine.loadAvg1m.toFixed(2)}`);
  say(opts, `  step state: ${r.stateBytesPerSeries} bytes per series (the dilated layers' columns need at least ${r.minimalStateBytesPerSeries})`);
  for (const row of r.rows) {
    say(opts, `  ${String(row.series).padStart(6)} series: step ${row.stepPointsPerSec.toFixed(0).padStart(8)} points/s, window ${row.windowPointsPerSec.toFixed(0).padStart(8)} points/s, ratio ${row.ratio.toFixed(1)}x (per round ${row.roundRatio.toFixed(1)}x; ${(100 * row.steppedShare).toFixed(0)}% of windows stepped); CPU per point ${row.stepCpuUsPerPoint.toFixed(2)} / ${row.windowCpuUsPerPoint.toFixed(2)} us, one-core ratio ${row.cpuRatio.toFixed(1)}x`);
  }
  return { experiment: 'step', ...r };
}

