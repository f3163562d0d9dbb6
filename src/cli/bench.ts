import type { Command } from 'commander';
import { SeismoError } from '../errors.js';
import { PROVIDER_REQUESTS, type ProviderRequest } from '../infer/providers.js';
import { action, say, type CommonOptions } from './output.js';
import { intOption } from './train.js';

interface BenchOptions extends CommonOptions {
  model?: string;
  batchSize: string;
  rounds: string;
  seconds: string;
  provider: string;
  epochs: string;
  tfjs?: boolean;
  pytorch?: boolean | string;
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('measure throughput: onnxruntime alone, the whole pipeline, and ring ingest')
    .argument('[experiment]', 'throughput | train', 'throughput')
    .option('--model <dir>', 'model directory (default: the reference LSTM-AE, trained briefly)')
    .option('--batch-size <n>', 'windows per inference call', '64')
    .option('--rounds <n>', 'alternating measurement rounds (figures are medians)', '5')
    .option('--seconds <n>', 'seconds per round', '2')
    .option('--provider <name>', `execution provider: ${PROVIDER_REQUESTS.join('|')}`, 'auto')
    .option('--epochs <n>', 'train: timed epochs per model (after one warm-up epoch)', '3')
    .option('--tfjs', 'train: also time the pure-tfjs path (slow)')
    .option('--pytorch [python]', 'train: also run the PyTorch reference on one thread (default /usr/bin/python3)')
    .option('--json', 'print the figures as JSON on stdout')
    .action(
      action<BenchOptions, [string]>(async (experiment, opts) => {
        if (experiment === 'train') {
          // eslint-disable-next-line @typescript-eslint/no-require-imports
          const { runTrainBench } = require('../../bench/train.js') as typeof import('../../bench/train.js');
          const r = await runTrainBench({
            epochs: intOption('--epochs', opts.epochs),
            tfjs: opts.tfjs === true,
            pytorch: opts.pytorch,
            log: (line) => process.stderr.write(`${line}\n`),
          });
          say(opts, `tfjs backend '${r.backend}', kernels ${r.kernels}, ${r.machine.cpus} cpus, load ${r.machine.loadAvg1mBefore.toFixed(2)} -> ${r.machine.loadAvg1mAfter.toFixed(2)}`);
          for (const name of ['lstmAe', 'dcVae'] as const) {
            const m = r[name];
            if (!m) continue;
            const extra = [m.tfjs ? `tfjs-only ${m.tfjs.secPerEpoch.toFixed(3)}` : '', m.pytorch ? `pytorch ${m.pytorch.secPerEpoch.toFixed(3)} (ratio ${m.ratioToPytorch!.toFixed(2)}x)` : '']
              .filter(Boolean)
              .join(', ');
            say(opts, `  ${name.padEnd(7)} ${m.secPerEpoch.toFixed(3).padStart(8)} s/epoch [${m.path}]${extra ? `  ${extra}` : ''}`);
          }
          return { experiment, ...r };
        }
        if (experiment !== 'throughput') {
          throw new SeismoError('ERR_INVALID_OPTION', `unknown experiment '${experiment}': available: throughput, train`);
        }
        // Loaded on demand: it pulls in training (tfjs), which other commands never need.
        // eslint-disable-next-line @typescript-eslint/no-require-imports
        const { runThroughput } = require('../../bench/throughput.js') as typeof import('../../bench/throughput.js');
        const r = await runThroughput({
          model: opts.model,
          batchSize: intOption('--batch-size', opts.batchSize),
          rounds: intOption('--rounds', opts.rounds),
          seconds: Number(opts.seconds),
          provider: opts.provider as ProviderRequest,
          log: (line) => process.stderr.write(`${line}\n`),
        });
        say(opts, `model ${r.model.kind} (window ${r.model.window}, ${r.model.channels} channels), batch ${r.batchSize}, provider ${r.provider}, ${r.machine.cpus} cpus`);
        say(opts, `  onnxruntime alone   ${r.ortWindowsPerSec.toFixed(0).padStart(10)} windows/s`);
        say(opts, `  seismo pipeline     ${r.pipelineWindowsPerSec.toFixed(0).padStart(10)} windows/s  (ratio ${r.ratio.toFixed(3)})`);
        say(opts, `  ring ingest         ${(r.ingestSamplesPerSec / 1e6).toFixed(2).padStart(10)} M samples/s`);
        return { experiment, ...r };
      }),
    );
}
