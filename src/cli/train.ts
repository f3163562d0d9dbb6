import fs from 'node:fs';
import type { Command } from 'commander';
import { SeismoError } from '../errors.js';
import { readSeriesCsv } from '../ingest/csv.js';
import { readJsonFile } from '../ingest/json-file.js';
import type { Manifest } from '../model/manifest.js';
import { loadTraining } from '../training-part.js';
import type { TrainSummary } from '../../training/train-to-dir.js';
import { BUILTIN_KINDS } from '../../training/kinds/names.js';
import { action, checkOutputDir, Progress, say, type CommonOptions } from './output.js';
import { intOption } from './options.js';

interface TrainOptions extends CommonOptions {
  kind?: string;
  /** Deprecated alias of `kind` (every other command's `--model` names a model directory). */
  model?: string;
  data: string;
  out: string;
  config?: string;
  epochs?: string;
  stride?: string;
  seed?: string;
}

export type { TrainSummary } from '../../training/train-to-dir.js';

/**
 * {@link trainToDir} with the CLI's progress bar and its line on stderr about the tfjs backend
 * and kernels (none with `quiet`). tfjs is loaded here, not at start-up: detecting needs only
 * onnxruntime and the addon.
 */
export async function trainWithProgress(
  kind: string,
  frames: Float32Array,
  channels: string[],
  out: string,
  options: { config?: Record<string, unknown>; stride?: number; seed?: number; quiet?: boolean },
): Promise<{ manifest: Manifest; summary: TrainSummary }> {
  const training = loadTraining(`seismo train (${kind})`);
  const { backend, tried } = await training.initBackend();
  if (!options.quiet) {
    const skipped = tried.filter((t) => t.error).map((t) => `${t.name} (${t.error!.split('\n')[0]!.slice(0, 80)})`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { describeKernelPath } = require('../../training/native-ops/kernels.js') as typeof import('../../training/native-ops/kernels.js');
    process.stderr.write(
      `training ${kind} on tfjs backend '${backend}', kernels ${describeKernelPath()}${skipped.length ? `; not available: ${skipped.join(', ')}` : ''}\n`,
    );
  }
  const progress = options.quiet ? undefined : new Progress(`train ${kind}`, 1);
  let batches = 1;
  let lastEpoch = '';
  let trained;
  try {
    trained = await training.trainToDir(kind, frames, channels, out, {
      config: options.config,
      stride: options.stride,
      seed: options.seed,
      onProgress: progress
        ? (p) => {
            if (p.phase === 'batch') {
              batches = p.batches;
              progress.update((p.epoch - 1) * p.batches + p.batch, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`, p.epochs * p.batches);
            } else {
              lastEpoch = `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} val ${Number.isNaN(p.valLoss) ? '-' : p.valLoss.toFixed(4)} (${p.seconds < 10 ? p.seconds.toPrecision(2) : p.seconds.toFixed(0)} s/epoch)`;
              progress.update(p.epoch * batches, lastEpoch);
            }
          }
        : undefined,
    });
  } finally {
    progress?.stop();
  }
  if (lastEpoch && !options.quiet && !process.stderr.isTTY) process.stderr.write(`train ${kind}: done, ${lastEpoch}\n`);
  return trained;
}

/** Reads `--config <json>`: a JSON object of hyper-parameters. */
export function readConfig(file: string | undefined): Record<string, unknown> {
  if (!file) return {};
  const parsed = readJsonFile(file, 'check --config');
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new SeismoError('ERR_INVALID_OPTION', `--config ${file} must hold a JSON object of hyper-parameters`);
  }
  return parsed as Record<string, unknown>;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model on a CSV (first column timestamp, one column per channel) and write a model directory')
    .option('--kind <kind>', `model kind: ${BUILTIN_KINDS.join(', ')} (each kind's settings: docs/config.md)`)
    .option('--model <kind>', 'deprecated alias of --kind, kept for one release')
    .requiredOption('--data <csv>', 'training data: normal behaviour')
    .requiredOption('--out <dir>', 'model directory to write (model.onnx + model.json)')
    .option('--config <json>', 'JSON file of the kind\'s settings; unknown names are refused (docs/config.md)')
    .option('--epochs <n>', 'maximum epochs (overrides the config)')
    .option('--stride <n>', 'frames between window starts, for training and streaming (default 1)')
    .option('--seed <n>', 'seed of initializers and shuffling (overrides the config)')
    .option('--json', 'print a JSON summary on stdout')
    .action(
      action<TrainOptions, []>(async (opts) => {
        const kind = trainKind(opts);
        checkOutputDir(opts.out, '--out');
        const config = readConfig(opts.config);
        const epochs = intOption('--epochs', opts.epochs);
        if (epochs !== undefined) config.epochs = epochs;
        const table = await readSeriesCsv(opts.data);
        const { summary } = await trainWithProgress(kind, table.frames, table.channels, opts.out, {
          config,
          stride: intOption('--stride', opts.stride),
          seed: intOption('--seed', opts.seed),
        });
        say(opts, `trained ${summary.kind} on ${table.length} rows x ${table.channels.length} channels with tfjs '${summary.backend}': ` +
          `${summary.epochs} epochs in ${summary.seconds.toFixed(1)} s, val loss ${summary.finalValLoss.toFixed(4)}, threshold ${summary.threshold.toPrecision(4)} -> ${summary.out}`);
        return { ...summary, rows: table.length };
      }),
    );
}

/**
 * The kind to train, from `--kind` or its deprecated alias `--model`.
 * @throws SeismoError `ERR_INVALID_OPTION` when neither or two different ones are given, or the kind is unknown.
 */
export function trainKind(opts: Pick<TrainOptions, 'kind' | 'model'>): string {
  if (opts.model !== undefined) {
    if (opts.kind !== undefined && opts.kind !== opts.model) {
      throw new SeismoError('ERR_INVALID_OPTION', `--kind ${opts.kind} and --model ${opts.model} disagree: give the kind once, as --kind`);
    }
    process.stderr.write(`seismo train: --model <kind> is deprecated and goes in the next release; use --kind ${opts.model} (--model names a model directory in every other command)\n`);
  }
  const kind = opts.kind ?? opts.model;
  if (kind === undefined) throw new SeismoError('ERR_INVALID_OPTION', `seismo train needs --kind <kind>, one of ${BUILTIN_KINDS.join(', ')}`);
  if (!(BUILTIN_KINDS as readonly string[]).includes(kind)) {
    throw new SeismoError('ERR_TRAINING', `unknown model kind '${kind}': --kind takes one of ${BUILTIN_KINDS.join(', ')}`, { kind, known: [...BUILTIN_KINDS] });
  }
  return kind;
}
