import type { Command } from 'commander';
import { SeismoError } from '../errors.js';
import { PROVIDER_REQUESTS, type ProviderRequest } from '../infer/providers.js';
import { ONLINE_KINDS, type OnlineKind } from '../online/policy.js';
import { action, Progress, say, type CommonOptions } from './output.js';
import { intOption, PROVIDER_HELP, providerOption } from './options.js';

interface BenchOptions extends CommonOptions {
  model?: string;
  batchSize: string;
  rounds: string;
  seconds: string;
  provider: string;
  epochs?: string;
  tfjs?: boolean;
  pytorch?: boolean | string;
  pytorchBlas?: string;
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
function pytorchBlasOption(opts: BenchOptions): import('../../bench/pytorch/peer.js').PytorchBlas[] {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { parsePytorchBlas } = require('../../bench/pytorch/peer.js') as typeof import('../../bench/pytorch/peer.js');
  return parsePytorchBlas(opts.pytorchBlas);
}

/** What seismo's side of a PyTorch comparison computes with (the peers print theirs). */
function seismoCompute(what: 'scoring' | 'training', kernels?: string): string {
  if (what === 'training') return `seismo trains with its addon's kernels, ${kernels ?? 'unknown'} (Eigen GEMMs, no BLAS library), and tfjs' wasm backend for the optimiser`;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const version = (require('onnxruntime-node') as { env: { versions: { node?: string } } }).env.versions.node ?? 'unknown';
  return `seismo scores with onnxruntime-node ${version}, CPU EP (MLAS kernels, no BLAS library), 1 intra-op thread`;
}

/** Experiments that read a dataset, and where their data lives in a checkout of the datasets. */
const DATA_EXPERIMENTS: Record<string, string> = {
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
async function runDataExperiment(experiment: string, opts: BenchOptions): Promise<Record<string, unknown>> {
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
async function runProviders(opts: BenchOptions): Promise<Record<string, unknown>> {
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
async function runOnlineMode(opts: BenchOptions): Promise<Record<string, unknown>> {
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

async function runPerRecordBench(opts: BenchOptions): Promise<Record<string, unknown>> {
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

async function runLatencyBench(opts: BenchOptions): Promise<Record<string, unknown>> {
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

async function runSecondCoreBench(opts: BenchOptions): Promise<Record<string, unknown>> {
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
async function runStep(opts: BenchOptions): Promise<Record<string, unknown>> {
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
    say(opts, `  ${String(row.series).padStart(6)} series: step ${row.stepPointsPerSec.toFixed(0).padStart(8)} points/s, window ${row.windowPointsPerSec.toFixed(0).padStart(8)} points/s, ratio ${row.ratio.toFixed(1)}x (per round ${row.roundRatio.toFixed(1)}x; ${(100 * row.steppedShare).toFixed(0)}% of windows stepped)`);
  }
  return { experiment: 'step', ...r };
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('benchmarks: throughput (onnxruntime vs pipeline vs ingest), train (epoch times), and the published evaluations on datasets (docs/benchmarks.md)')
    .argument('[experiment]', `throughput | train | lstm-scoring | providers | online-mode | step | soak | attribution | ${Object.keys(DATA_EXPERIMENTS).join(' | ')}`, 'throughput')
    .option('--data <path>', 'dataset folder for kdd, nab, power, smtp, http, smtp-http')
    .option('--models <kinds>', 'kdd: comma-separated model kinds (default: dense-ae,vae,bigan,ocsvm,pca); train: lstmAe and/or dcVae; attribution: kinds (default every kind and deepant-bahdanau)')
    .option('--model <dir>', 'model directory (default: the reference LSTM-AE, trained briefly)')
    .option('--batch-size <n>', 'windows per inference call', '64')
    .option('--step-batch-size <n>', 'step: windows per inference call of the step path (default 4096)')
    .option('--rounds <n>', 'alternating measurement rounds (figures are medians)', '5')
    .option('--seconds <n>', 'seconds per round; soak: seconds of streaming', '2')
    .option('--provider <name>', PROVIDER_HELP, 'auto')
    .option('--providers <list>', 'providers: comma-separated providers to compare, the first is the parity reference (default cpu,webgpu)')
    .option('--batch-sizes <list>', 'providers: comma-separated batch sizes (default 256,1024,4096); lstm-scoring: (default 64,256)')
    .option('--epochs <n>', 'train: timed epochs per model after one warm-up (default 3); power/smtp/http: maximum training epochs (default 40)')
    .option('--tfjs', 'train: also time the pure-tfjs path (slow)')
    .option('--seed <n>', 'power/smtp/http/smtp-http: training seed (default 1); nab: seed of the two-fold split by file name (default 1)')
    .option('--quick', 'nab: score the default setting only (no cross-validation grid)')
    .option('--deep <kind>', 'nab: also run this kind through the online engine (learning from the stream) as the ensemble\'s gated deep component (minutes)')
    .option('--online', 'power/smtp/http/smtp-http: also replay the stream with online updates from a simulated expert (aucUpdating, updates)')
    .option('--committee', 'with --online: query by committee (the replaced version scores the uncertain windows; half the questions go to where they disagree)')
    .option('--pytorch [python]', 'train, throughput, lstm-scoring: also run the PyTorch reference on one thread (default /usr/bin/python3)')
    .option('--pytorch-blas <list>', 'with --pytorch (and lstm-scoring): BLAS of the PyTorch peer, comma-separated, one peer each per round: openblas (the system alternative), mkl (Debian\'s libmkl-rt, this process only), mkl-avx512 (MKL with its Intel AVX-512 dispatch forced); default openblas')
    .option('--series <list>', 'online-mode, step: comma-separated series counts (default 1,100,10000); soak: series streamed (default 1000)')
    .option('--samples <n>', 'online-mode: samples scored per series count (default 100000)')
    .option('--kind <kind>', 'online-mode: model kind (default deepant); step: the reference model trained without --model, dc-vae (default) or deepant')
    .option('--seeds <list>', 'attribution: comma-separated generator seeds (default 11,12,13)')
    .option('--family <name>', 'attribution: series family, unseen (reported) or service (where settings were chosen); default unseen')
    .option('--per-record [kinds]', 'throughput of the per-record kinds (window 1) through the pipeline vs onnxruntime alone (default kinds: dense-ae,vae,pca,ocsvm,bigan; batch 1024)')
    .option('--latency', 'latency from write() to event at 10% and 90% of saturation, full batches vs --max-latency-ms')
    .option('--max-latency-ms <ms>', 'with --latency: the max-latency batching policy compared (default 5)')
    .option('--threads <n>', 'what a second core buys: onnxruntime and the pipeline with n intra-op threads, and n inference workers, against 1')
    .option('--json', 'print the figures as JSON on stdout')
    .action(
      action<BenchOptions, [string]>(async (experiment, opts) => {
        if (experiment === 'train') {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { runTrainBench } = require('../../bench/train.js') as typeof import('../../bench/train.js');
          const models = opts.models?.split(',').map((m) => m.trim());
          if (models && !models.every((m) => m === 'lstmAe' || m === 'dcVae')) throw new SeismoError('ERR_INVALID_OPTION', `bench train --models takes lstmAe and/or dcVae, got ${opts.models}`);
          const r = await runTrainBench({
            epochs: intOption('--epochs', opts.epochs) ?? 3,
            tfjs: opts.tfjs === true,
            pytorch: opts.pytorch,
            pytorchBlas: pytorchBlasOption(opts),
            models: models as ('lstmAe' | 'dcVae')[] | undefined,
            // --rounds defaults to 5 for the throughput rounds; train's default is one round.
            rounds: opts.rounds === '5' ? undefined : intOption('--rounds', opts.rounds),
            log: (line) => process.stderr.write(`${line}\n`),
          });
          say(opts, `tfjs backend '${r.backend}', kernels ${r.kernels}, ${r.machine.cpus} cpus, load ${r.machine.loadAvg1mBefore.toFixed(2)} -> ${r.machine.loadAvg1mAfter.toFixed(2)}`);
          if (r.pytorchBackends) say(opts, `  ${seismoCompute('training', r.kernels)}`);
          for (const name of ['lstmAe', 'dcVae'] as const) {
            const m = r[name];
            if (!m) continue;
            const perRound = m.ratioRounds ? `; per round ${m.ratioRounds.map((x) => x.toFixed(2)).join(', ')}` : '';
            const extra = [m.tfjs ? `tfjs-only ${m.tfjs.secPerEpoch.toFixed(3)}` : '', m.pytorch ? `pytorch ${m.pytorch.secPerEpoch.toFixed(3)} (ratio ${m.ratioToPytorch!.toFixed(2)}x${perRound})` : '']
              .filter(Boolean)
              .join(', ');
            const cpu = m.cpuSecPerEpoch === undefined ? '' : ` (cpu ${m.cpuSecPerEpoch.toFixed(3)} s)`;
            say(opts, `  ${name.padEnd(7)} ${m.secPerEpoch.toFixed(3).padStart(8)} s/epoch${cpu} [${m.path}]${extra ? `  ${extra}` : ''}`);
            for (const p of m.pytorchPeers ?? []) {
              const rr = p.ratioRounds ? `; per round ${p.ratioRounds.map((x) => x.toFixed(2)).join(', ')}` : '';
              const cpu = p.cpuRatio === undefined ? '' : `; cpu ${p.cpuSecPerEpoch!.toFixed(3)} s/epoch, ${p.cpuRatio.toFixed(2)}x`;
              say(opts, `    pytorch/${p.blas.padEnd(10)} ${p.secPerEpoch.toFixed(3).padStart(8)} s/epoch (seismo/pytorch ${p.ratio.toFixed(2)}x${rr}${cpu}): ${r.pytorchBackends?.[p.blas]?.summary ?? ''}`);
            }
          }
          return { experiment, ...r };
        }
        if (experiment === 'providers') return runProviders(opts);
        if (experiment === 'lstm-scoring') {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { runLstmScoring } = require('../../bench/lstm-scoring.js') as typeof import('../../bench/lstm-scoring.js');
          const batchSizes = opts.batchSizes?.split(',').map((b) => intOption('--batch-sizes', b.trim())!);
          const r = await runLstmScoring({
            batchSizes,
            pytorch: opts.pytorch ?? true,
            pytorchBlas: pytorchBlasOption(opts),
            rounds: opts.rounds === '5' ? undefined : intOption('--rounds', opts.rounds),
            seconds: Number(opts.seconds),
            log: (line) => process.stderr.write(`${line}\n`),
          });
          say(opts, `LSTM-AE scoring (window 64, 8 channels, encoder 32, decoder 16), one thread, windows/s; ${r.machine.cpus} cpus, load ${r.machine.loadAvg1mBefore.toFixed(1)} -> ${r.machine.loadAvg1mAfter.toFixed(1)}`);
          if (r.pytorch) say(opts, `  ${seismoCompute('scoring')}`);
          for (const p of r.pytorch?.peers ?? []) say(opts, `  pytorch ${r.pytorch!.torch} --blas ${p.blas}: ${p.backends.summary}, oneDNN ${String(p.backends['mkldnn'])}`);
          for (const row of r.rows) {
            const levels = Object.entries(row.ort).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
            const peers = Object.entries(row.pytorchByBlas ?? {}).map(([b, v]) => `${b} ${v.toFixed(0)}`).join(', ');
            say(opts, `  batch ${String(row.batchSize).padStart(4)}: onnxruntime ${levels}${row.pytorch === undefined ? '' : `; pytorch ${peers} (ort all / strongest pytorch ${row.ratioAllToPytorch!.toFixed(2)}x)`}`);
            say(opts, `              LSTM-AE core: fused LSTM op ${row.core.fused.toFixed(0)}, unrolled ${row.core.unrolled.toFixed(0)} (x${row.core.unrolledToFused.toFixed(2)} per round; max |diff| ${row.core.maxAbsDiff.toExponential(1)})`);
          }
          return { experiment, ...r };
        }
        if (experiment === 'step') return runStep(opts);
        if (experiment === 'soak') {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { runSoak } = require('../../bench/soak.js') as typeof import('../../bench/soak.js');
          const r = await runSoak({
            seconds: Number(opts.seconds),
            series: intOption('--series', opts.series ?? '1000'),
            model: opts.model,
            log: (line) => process.stderr.write(`${line}\n`),
          });
          say(opts, `soak: ${r.series} series for ${r.seconds} s, ${r.samplesWritten} samples written, ${r.windowsScored} windows scored; ${r.machine.cpus} cpus`);
          say(opts, `  RSS ${r.rssWarmMiB} MiB warm -> ${r.rssEndMiB} MiB at the end; event-loop lag max ${r.lagMaxMs} ms`);
          return { experiment, ...r };
        }
        if (experiment === 'online-mode') return runOnlineMode(opts);
        if (experiment === 'attribution') {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { runAttributionBench, summaryTable } = require('../../bench/attribution.js') as typeof import('../../bench/attribution.js');
          const family = opts.family ?? 'unseen';
          if (family !== 'unseen' && family !== 'service') throw new SeismoError('ERR_INVALID_OPTION', `--family must be unseen or service, got '${family}'`);
          const seeds = (opts.seeds ?? '11,12,13').split(',').map((v) => intOption('--seeds', v.trim())!);
          const results = await runAttributionBench({ kinds: opts.models?.split(',').map((k) => k.trim()), seeds, family, log: (line) => process.stderr.write(`${line}\n`) });
          say(opts, 'HitRate@100% per kind and anomaly type, mean over seeds: attribution (raw channel_score shares)');
          say(opts, summaryTable(results));
          return { experiment, family, seeds, results };
        }
        if (experiment in DATA_EXPERIMENTS) return runDataExperiment(experiment, opts);
        if (experiment === 'redis') {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { runRedisBench } = require('../../bench/redis.js') as typeof import('../../bench/redis.js');
          const r = await runRedisBench({ model: opts.model, log: (line) => process.stderr.write(`${line}\n`) });
          const k = (x: number): string => `${(x / 1e3).toFixed(1)}k`;
          say(opts, `model ${r.model.kind} (window ${r.model.window}, stride ${r.model.stride}, ${r.model.channels} channels); ${r.workload.series} series, ${r.workload.samples} samples in entries of ${r.workload.entrySize}, ${r.workload.partitions} partitions; ${r.machine.cpus} cpus, load ${r.machine.loadAvg1m.toFixed(2)}`);
          say(opts, `  in process (one Detector)   ${k(r.inProcessSamplesPerSec).padStart(9)} samples/s`);
          say(opts, `  Redis, 1 consumer           ${k(r.oneConsumerSamplesPerSec).padStart(9)} samples/s`);
          say(opts, `  Redis, 2 consumers          ${k(r.twoConsumersSamplesPerSec).padStart(9)} samples/s  (x${r.scaling.toFixed(2)} of one)`);
          say(opts, `  XADD -> result entry        p50 ${r.latency.p50Ms} ms, p99 ${r.latency.p99Ms} ms at ${k(r.latency.rateSamplesPerSec)} samples/s (${r.latency.windows} windows)`);
          say(opts, `  memory per partition        ${(r.memory.checkpointBytesPerPartition / 1024).toFixed(1)} KiB of checkpoints in Redis (${r.memory.seriesPerPartition} series); ${(r.memory.detectorBytesPerSeries / 1024).toFixed(1)} KiB of consumer state per series`);
          return { experiment, ...r };
        }
        if (experiment !== 'throughput') {
          throw new SeismoError('ERR_INVALID_OPTION', `unknown experiment '${experiment}': available: throughput, train, redis, ${Object.keys(DATA_EXPERIMENTS).join(', ')}`);
        }
        if (opts.perRecord) return runPerRecordBench(opts);
        if (opts.latency) return runLatencyBench(opts);
        if (opts.threads !== undefined) return runSecondCoreBench(opts);
        // Loaded on demand: it pulls in training (tfjs), which other commands never need.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { runThroughput } = require('../../bench/throughput.js') as typeof import('../../bench/throughput.js');
        const r = await runThroughput({
          model: opts.model,
          batchSize: intOption('--batch-size', opts.batchSize),
          rounds: intOption('--rounds', opts.rounds),
          seconds: Number(opts.seconds),
          provider: providerOption(opts.provider),
          pytorch: opts.pytorch,
          pytorchBlas: pytorchBlasOption(opts),
          log: (line) => process.stderr.write(`${line}\n`),
        });
        say(opts, `model ${r.model.kind} (window ${r.model.window}, ${r.model.channels} channels), batch ${r.batchSize}, provider ${r.provider}, ${r.machine.cpus} cpus`);
        say(opts, `  onnxruntime alone   ${r.ortWindowsPerSec.toFixed(0).padStart(10)} windows/s`);
        say(opts, `  seismo pipeline     ${r.pipelineWindowsPerSec.toFixed(0).padStart(10)} windows/s  (ratio ${r.ratio.toFixed(3)})`);
        say(opts, `  ring ingest         ${(r.ingestSamplesPerSec / 1e6).toFixed(2).padStart(10)} M samples/s`);
        if (r.pytorchPeers) say(opts, `  ${seismoCompute('scoring')}`);
        for (const p of r.pytorchPeers ?? []) {
          const strongest = p === r.pytorch && r.pytorchPeers!.length > 1 ? ', the strongest peer' : '';
          say(opts, `  pytorch/${p.blas.padEnd(10)} ${p.windowsPerSec.toFixed(0).padStart(10)} windows/s  (pipeline/pytorch ${p.pipelineRatio.toFixed(2)}x, ort/pytorch ${p.ortRatio.toFixed(2)}x; per round ${p.roundRatios.pipeline.toFixed(2)}x, ${p.roundRatios.ort.toFixed(2)}x${strongest}; torch ${p.torch}: ${p.backends.summary}, oneDNN ${String(p.backends['mkldnn'])})`);
        }
        return { experiment, ...r };
      }),
    );
}
