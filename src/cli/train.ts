import fs from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { SeismoError } from '../errors.js';
import { readSeriesCsv } from '../ingest/csv.js';
import { readJsonFile } from '../ingest/json-file.js';
import type { Manifest } from '../model/manifest.js';
import { writeModelDir } from '../model/model-dir.js';
import { writeWeights } from '../model/weights.js';
import { CALIBRATION_FILE, fitCalibration, writeCalibration } from '../score/calibration.js';
import { action, checkOutputDir, Progress, say, type CommonOptions } from './output.js';

interface TrainOptions extends CommonOptions {
  model: string;
  data: string;
  out: string;
  config?: string;
  epochs?: string;
  stride?: string;
  seed?: string;
}

/** What a training run produced, as the CLI reports it. */
export interface TrainSummary {
  kind: string;
  out: string;
  backend: string;
  epochs: number;
  seconds: number;
  secondsPerEpoch: number;
  finalLoss: number;
  finalValLoss: number;
  threshold: number;
  window: number;
  channels: string[];
}

/**
 * Trains `kind` on raw frames (row-major `[T, C]`) and writes the model directory `out`.
 * tfjs is loaded here, not at start-up: detecting needs only onnxruntime and the addon.
 */
export async function trainToDir(
  kind: string,
  frames: Float32Array,
  channels: string[],
  out: string,
  options: { config?: Record<string, unknown>; stride?: number; seed?: number; quiet?: boolean },
): Promise<{ manifest: Manifest; summary: TrainSummary }> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const training = require('../../training/index.js') as typeof import('../../training/index.js');
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
  let result;
  let batches = 1;
  let lastEpoch = '';
  try {
    result = await training.trainModel({
      kind: kind as 'lstm-ae',
      frames,
      channels,
      config: options.config as never,
      stride: options.stride,
      seed: options.seed,
      onProgress: (p) => {
        if (!progress) return;
        if (p.phase === 'batch') {
          batches = p.batches;
          progress.update((p.epoch - 1) * p.batches + p.batch, `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)}`, p.epochs * p.batches);
        } else {
          lastEpoch = `epoch ${p.epoch}/${p.epochs} loss ${p.loss.toFixed(4)} val ${Number.isNaN(p.valLoss) ? '-' : p.valLoss.toFixed(4)} (${p.seconds.toFixed(1)} s/epoch)`;
          progress.update(p.epoch * batches, lastEpoch);
        }
      },
    });
  } finally {
    progress?.stop();
  }
  if (lastEpoch && !options.quiet && !process.stderr.isTTY) process.stderr.write(`train ${kind}: done, ${lastEpoch}\n`);
  try {
    writeModelDir(out, result.manifest, result.onnx);
    // Beside the graph, the trainable state: what an online learner continues training from.
    writeWeights(out, result.model.getWeights().map((w) => ({ shape: w.shape.slice(), data: w.dataSync() as Float32Array })));
    // And the score calibration on the windows the threshold was set on: the detector then reports
    // normalizedScores from the first version on, on the scale later (fine-tuned) versions share.
    const finite = result.referenceScores.filter(Number.isFinite).length;
    if (finite >= 2) writeCalibration(out, fitCalibration(result.referenceScores, `${finite} ${result.referenceOn} windows`));
    else fs.rmSync(path.join(out, CALIBRATION_FILE), { force: true }); // never a stale one of an earlier model in the same folder
  } finally {
    result.dispose();
  }
  const m = result.manifest;
  const summary: TrainSummary = {
    kind: m.kind,
    out: path.resolve(out),
    backend: m.training.backend,
    epochs: m.training.epochs,
    seconds: m.training.seconds,
    secondsPerEpoch: m.training.epochs > 0 ? m.training.seconds / m.training.epochs : 0,
    finalLoss: m.training.losses.at(-1) ?? NaN,
    finalValLoss: m.training.valLosses.at(-1) ?? NaN,
    threshold: m.thresholds.global.value,
    window: m.window,
    channels: m.channels,
  };
  return { manifest: m, summary };
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

export function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new SeismoError('ERR_INVALID_OPTION', `${name} must be an integer, got '${value}'`);
  return n;
}

export function registerTrain(program: Command): void {
  program
    .command('train')
    .description('train a model on a CSV (first column timestamp, one column per channel) and write a model directory')
    .requiredOption('--model <kind>', 'model kind (lstm-ae)')
    .requiredOption('--data <csv>', 'training data: normal behaviour')
    .requiredOption('--out <dir>', 'model directory to write (model.onnx + model.json)')
    .option('--config <json>', 'JSON file of hyper-parameters (see docs for each kind)')
    .option('--epochs <n>', 'maximum epochs (overrides the config)')
    .option('--stride <n>', 'frames between window starts, for training and streaming (default 1)')
    .option('--seed <n>', 'seed of initializers and shuffling (overrides the config)')
    .option('--json', 'print a JSON summary on stdout')
    .action(
      action<TrainOptions, []>(async (opts) => {
        checkOutputDir(opts.out, '--out');
        const config = readConfig(opts.config);
        const epochs = intOption('--epochs', opts.epochs);
        if (epochs !== undefined) config.epochs = epochs;
        const table = await readSeriesCsv(opts.data);
        const { summary } = await trainToDir(opts.model, table.frames, table.channels, opts.out, {
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
