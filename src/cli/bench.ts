import type { Command } from 'commander';
import { SeismoError } from '../errors.js';
import { action, say } from './output.js';
import { intOption, PROVIDER_HELP, providerOption, RUNTIME_HELP, runtimeOption } from './options.js';
import { type BenchOptions, DATA_EXPERIMENTS, pytorchBlasOption, pytorchOption, runDataExperiment, runLatencyBench, runOnlineMode, runPerRecordBench, runProviders, runSecondCoreBench, runStep, seismoCompute } from './bench-experiments.js';

/** Registers `seismo bench [experiment]`: the experiments of docs/benchmarks.md, each printing a table or, with --json, one object. */
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
    .option('--pytorch-blas <list>', 'train, throughput, lstm-scoring (implies --pytorch): the PyTorch peers, comma-separated, one process each per round: openblas (Debian\'s torch on the system alternative), mkl (Debian\'s libmkl-rt, this process only), mkl-avx512 (MKL with its Intel AVX-512 dispatch forced), wheel (the PyTorch CPU wheel, MKL + oneDNN, run by --pytorch-wheel\'s python; skipped when absent); default openblas')
    .option('--pytorch-wheel <python>', 'with --pytorch-blas wheel: python of the PyTorch CPU wheel\'s venv (default $SEISMO_PYTORCH_WHEEL, else /opt/torch-wheel/bin/python; bench/pytorch/install-wheel.sh makes it)')
    .option('--runtime <name>', `throughput: ${RUNTIME_HELP}`, 'auto')
    .option('--onednn', 'throughput: also run the oneDNN C++ LSTM-AE peer (bench/onednn: oneDNN\'s fused LSTM primitive, one thread; needs g++ and libdnnl-dev, skipped otherwise) in the same rounds')
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
    // `--rounds` defaults to 5 for throughput; train and lstm-scoring have defaults of their own,
    // so they must know whether the 5 was typed (`--rounds 5`) or is commander's default.
    .hook('preAction', (_command, actionCommand) => {
      actionCommand.setOptionValue('roundsGiven', actionCommand.getOptionValueSource('rounds') === 'cli');
    })
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
            pytorch: pytorchOption(opts),
            pytorchBlas: pytorchBlasOption(opts),
            pytorchWheel: opts.pytorchWheel,
            models: models as ('lstmAe' | 'dcVae')[] | undefined,
            // --rounds defaults to 5 for the throughput rounds; train's default is one round.
            rounds: opts.roundsGiven ? intOption('--rounds', opts.rounds) : undefined,
            log: (line) => process.stderr.write(`${line}\n`),
          });
          say(opts, `tfjs backend '${r.backend}', kernels ${r.kernels}, ${r.machine.cpus} cpus, load ${r.machine.loadAvg1mBefore.toFixed(2)} -> ${r.machine.loadAvg1mAfter.toFixed(2)}`);
          for (const s of r.skipped ?? []) say(opts, `  ${s.peer} skipped: ${s.reason}`);
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
            // The first epoch of every process (allocations, JIT, oneDNN primitive creation): not in s/epoch.
            const warm = [m.warmupEpochSeconds ? `seismo ${m.warmupEpochSeconds.map((x) => x.toFixed(3)).join(', ')}` : '', ...(m.pytorchPeers ?? []).map((p) => `pytorch/${p.blas} ${(p.warmupEpochSeconds ?? (p.warmupSeconds === undefined ? [] : [p.warmupSeconds])).map((x) => x.toFixed(3)).join(', ')}`)].filter(Boolean);
            if (warm.length > 0 && m.pytorchPeers) say(opts, `    warm-up epoch (s, per round): ${warm.join('; ')}`);
          }
          return { experiment, ...r, ...(r.pytorchBackends ? { seismoCompute: seismoCompute('training', r.kernels) } : {}) };
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
            pytorchWheel: opts.pytorchWheel,
            rounds: opts.roundsGiven ? intOption('--rounds', opts.rounds) : undefined,
            seconds: Number(opts.seconds),
            log: (line) => process.stderr.write(`${line}\n`),
          });
          say(opts, `LSTM-AE scoring (window 64, 8 channels, encoder 32, decoder 16), one thread, windows/s; ${r.machine.cpus} cpus, load ${r.machine.loadAvg1mBefore.toFixed(1)} -> ${r.machine.loadAvg1mAfter.toFixed(1)}`);
          const first = r.rows[0];
          if (r.pytorch) say(opts, `  ${seismoCompute('scoring', undefined, first?.pipeline.runtime === 'native-lstm-ae' ? { requested: 'auto', runtime: 'native-lstm-ae', isa: first.native.isa } : undefined)}`);
          for (const p of r.pytorch?.peers ?? []) say(opts, `  pytorch ${r.pytorch!.torch} --blas ${p.blas}: ${p.backends.summary}${p.blas === 'wheel' ? '' : `, oneDNN ${String(p.backends['mkldnn'])}`}`);
          for (const row of r.rows) {
            const levels = Object.entries(row.ort).map(([k, v]) => `${k} ${v.toFixed(0)}`).join(', ');
            const peers = Object.entries(row.pytorchByBlas ?? {}).map(([b, v]) => `${b} ${v.toFixed(0)}`).join(', ');
            say(opts, `  batch ${String(row.batchSize).padStart(4)}: onnxruntime ${levels}${row.pytorch === undefined ? '' : `; pytorch ${peers} (ort all / strongest pytorch ${row.ratioAllToPytorch!.toFixed(2)}x)`}`);
            say(opts, `              LSTM-AE core: fused LSTM op ${row.core.fused.toFixed(0)}, unrolled ${row.core.unrolled.toFixed(0)} (x${row.core.unrolledToFused.toFixed(2)} per round; max |diff| ${row.core.maxAbsDiff.toExponential(1)})`);
            // The native scorer and the pipeline with it, against the strongest PyTorch peer round by round.
            const peerRounds = row.pytorchBlas ? row.rounds[`pytorch-${row.pytorchBlas}`] : undefined;
            const pipeRounds = row.rounds['pipeline-auto'];
            const perRound = peerRounds && pipeRounds ? pipeRounds.map((v, i) => v / peerRounds[i]!) : undefined;
            const vsPeer = perRound ? `; pipeline / pytorch ${row.pytorchBlas} per round ${perRound.map((x) => x.toFixed(2)).join(', ')}` : '';
            say(opts, `              native scorer (${row.native.isa}) ${row.native.windowsPerSec.toFixed(0)} (x${row.native.toOrt.toFixed(2)} of onnxruntime); pipeline ${row.pipeline.runtime} ${row.pipeline.native.toFixed(0)}, onnxruntime ${row.pipeline.onnxruntime.toFixed(0)}${vsPeer}`);
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
          pytorch: pytorchOption(opts),
          pytorchBlas: pytorchBlasOption(opts),
          pytorchWheel: opts.pytorchWheel,
          onednn: opts.onednn === true,
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          runtime: runtimeOption(opts.runtime ?? 'auto'),
          log: (line) => process.stderr.write(`${line}\n`),
        });
        say(opts, `model ${r.model.kind} (window ${r.model.window}, ${r.model.channels} channels), batch ${r.batchSize}, provider ${r.provider}, pipeline runtime ${r.runtime.runtime}${r.runtime.isa ? ` (${r.runtime.isa})` : ''}, ${r.machine.cpus} cpus, load ${r.machine.loadAvg1mBefore.toFixed(2)} -> ${r.machine.loadAvg1mAfter.toFixed(2)}`);
        say(opts, `  onnxruntime alone   ${r.ortWindowsPerSec.toFixed(0).padStart(10)} windows/s`);
        say(opts, `  seismo pipeline     ${r.pipelineWindowsPerSec.toFixed(0).padStart(10)} windows/s  (ratio ${r.ratio.toFixed(3)})`);
        say(opts, `  ring ingest         ${(r.ingestSamplesPerSec / 1e6).toFixed(2).padStart(10)} M samples/s`);
        for (const s of r.skipped ?? []) say(opts, `  ${s.peer} skipped: ${s.reason}`);
        const peered = r.pytorchPeers !== undefined || r.onednn !== undefined;
        if (peered) say(opts, `  ${seismoCompute('scoring', undefined, r.runtime)}`);
        for (const p of r.pytorchPeers ?? []) {
          const strongest = p === r.pytorch && r.pytorchPeers!.length > 1 ? ', the strongest peer' : '';
          say(opts, `  pytorch/${p.blas.padEnd(10)} ${p.windowsPerSec.toFixed(0).padStart(10)} windows/s  (pipeline/pytorch ${p.pipelineRatio.toFixed(2)}x, ort/pytorch ${p.ortRatio.toFixed(2)}x; within rounds ${p.roundRatios.pipeline.toFixed(2)}x, ${p.roundRatios.ort.toFixed(2)}x; pipeline/pytorch per round ${p.pipelineRatioRounds.map((x) => x.toFixed(2)).join(', ')}${strongest})`);
          say(opts, `      torch ${p.torch} (${p.python}): ${p.backends.summary}${p.blas === 'wheel' ? '' : `, oneDNN ${String(p.backends['mkldnn'])}`}`);
        }
        if (r.onednn) {
          const o = r.onednn;
          say(opts, `  oneDNN C++ peer  ${o.windowsPerSec.toFixed(0).padStart(10)} windows/s  (pipeline/oneDNN ${o.pipelineRatio.toFixed(2)}x, ort/oneDNN ${o.ortRatio.toFixed(2)}x; within rounds ${o.roundRatios.pipeline.toFixed(2)}x, ${o.roundRatios.ort.toFixed(2)}x; per round ${o.pipelineRatioRounds.map((x) => x.toFixed(2)).join(', ')}; oneDNN ${o.dnnl} lstm_forward + matmul, ${o.threads} thread)`);
        }
        return { experiment, ...r, ...(peered ? { seismoCompute: seismoCompute('scoring', undefined, r.runtime) } : {}) };
      }),
    );
}
