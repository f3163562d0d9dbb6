/**
 * `seismo detect --online`: score a raw stream with a detector that learns as it goes (no model
 * directory, no training file). Reads a CSV file, standard input (`--data -`) or a file that keeps
 * growing (`--follow`), and writes each sample's score and each alarm as they come.
 */
import fs from 'node:fs';
import path from 'node:path';
import { SeismoError } from '../errors.js';
import { CsvRowStream, type RowHandler } from '../online/csv-stream.js';
import { OnlineDetector } from '../online/online-detector.js';
import type { OnlineBatch } from '../online/types.js';
import { ONLINE_KINDS, type OnlineKind, type OnlinePolicy, resolvePolicy } from '../online/policy.js';
import { defaultWindow } from '../online/initial-model.js';
import { ensembleScorer, type ScorerFactory } from '../online/normalizer.js';
import type { EnsembleOptions } from '../score/ensemble.js';
import type { CommonOptions } from './output.js';
import { intOption, providerOption } from './options.js';

/** The options of `seismo detect` that the online mode reads. */
export interface OnlineDetectOptions extends CommonOptions {
  data: string;
  kind: string;
  provider: string;
  out?: string;
  batchSize?: string;
  follow?: boolean;
  idleExit?: string;
  series?: string;
  seriesColumn?: string;
  window?: string;
  warmup?: string;
  learning?: string;
  alarmsPer10k?: string;
  missing?: string;
  gaps?: string;
  config?: string;
  save?: string;
  resume?: string;
  maxSeries?: string;
  scorer?: string;
  scorerConfig?: string;
}

/** What turns the deep model's raw scores into the normalised score that alarms: see `--scorer`. */
export const ONLINE_SCORERS = ['likelihood', 'ensemble'] as const;

/** Reads a positive number option. */
function numberOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const v = Number(value);
  if (!Number.isFinite(v) || v <= 0) throw new SeismoError('ERR_INVALID_OPTION', `${name} must be a positive number, got '${value}'`);
  return v;
}

function choice<T extends string>(name: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined;
  if (!(allowed as readonly string[]).includes(value)) throw new SeismoError('ERR_INVALID_OPTION', `${name} must be one of ${allowed.join(', ')}, got '${value}'`);
  return value as T;
}

/** Reads a JSON file named by an option. */
function readJsonOption<T>(name: string, file: string): T {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as T;
  } catch (err) {
    throw new SeismoError('ERR_INVALID_OPTION', `${name} ${file}: ${(err as Error).message}`);
  }
}

/**
 * The scorer of `--scorer` as a factory of the channel count (undefined: the likelihood
 * normaliser, the engine's default). The ensemble's contexts fix their value levels on the
 * policy's warm-up, so that levels are known when judging starts.
 */
function onlineScorer(opts: OnlineDetectOptions, kind: OnlineKind, policy: OnlinePolicy): ((channels: number) => ScorerFactory) | undefined {
  const name = choice('--scorer', opts.scorer, ONLINE_SCORERS);
  if (opts.resume && (name !== undefined || opts.scorerConfig !== undefined)) {
    throw new SeismoError('ERR_INVALID_OPTION', '--resume continues with the scorer the detector was saved with: drop --scorer and --scorer-config');
  }
  if (opts.scorerConfig !== undefined && name !== 'ensemble') throw new SeismoError('ERR_INVALID_OPTION', '--scorer-config sets the ensemble\'s options: add --scorer ensemble');
  if (name !== 'ensemble') return undefined;
  // Without a config: NAB's cross-validated pick, which has no deep part (docs/benchmarks.md: the
  // gated deep score tied at best and cost false alarms below gate 0.9); the deep model still
  // learns and its raw score is still written.
  const options = opts.scorerConfig === undefined ? { deep: null } : readJsonOption<EnsembleOptions>('--scorer-config', opts.scorerConfig);
  const warmup = resolvePolicy(policy, intOption('--window', opts.window) ?? defaultWindow(kind)).warmup;
  return (channels) => ensembleScorer(channels, options, warmup);
}

/** Runs the online mode of `seismo detect`; returns the JSON summary. */
export async function detectOnline(opts: OnlineDetectOptions): Promise<Record<string, unknown>> {
  const provider = providerOption(opts.provider);
  const kind = choice('--kind', opts.kind, ONLINE_KINDS) as OnlineKind;
  if (opts.follow && opts.data === '-') throw new SeismoError('ERR_INVALID_OPTION', '--follow reads a file that grows; standard input (--data -) is followed anyway until it closes');
  if (opts.out === '-' && opts.json) throw new SeismoError('ERR_INVALID_OPTION', '--out - and --json both write to stdout: write the scores to a file, or drop --json');
  const policy: OnlinePolicy = {
    warmup: intOption('--warmup', opts.warmup),
    learning: choice('--learning', opts.learning, ['background', 'blocking', 'off'] as const),
    alarmsPer10k: numberOption('--alarms-per-10k', opts.alarmsPer10k),
    missing: choice('--missing', opts.missing, ['hold', 'skip', 'error'] as const),
    gaps: choice('--gaps', opts.gaps, ['ignore', 'hold', 'error'] as const),
  };
  for (const k of Object.keys(policy) as (keyof OnlinePolicy)[]) if (policy[k] === undefined) delete policy[k];
  const config = opts.config === undefined ? undefined : readJsonOption<Record<string, unknown>>('--config', opts.config);
  const scorer = onlineScorer(opts, kind, policy);
  const log = (line: string): void => {
    process.stderr.write(`${line}\n`);
  };
  const source = opts.data === '-' ? 'stdin' : opts.data;
  const reader = new CsvRowStream({ seriesColumn: opts.seriesColumn, defaultSeries: opts.series ?? (opts.data === '-' ? 'stdin' : path.basename(opts.data).replace(/\.csv$/i, '')), source });
  if (opts.data !== '-' && !fs.existsSync(opts.data)) throw new SeismoError('ERR_CSV_PARSE', `${opts.data}: file not found`, { file: opts.data });

  const out = opts.out === undefined ? undefined : opts.out === '-' ? process.stdout : fs.createWriteStream(opts.out);
  out?.write('series,timestamp,score,normalized,anomaly,version\n');
  let detector: OnlineDetector | undefined;
  const alarms: { series: string; timestamp: string; normalized: number }[] = [];
  let alarmCount = 0;
  const updates: { version?: number; accepted: boolean; windows: number; seconds: number; reason?: string }[] = [];
  const stamp = (t: number): string => (reader.dates ? new Date(t).toISOString() : String(t));
  const onBatch = (b: OnlineBatch): void => {
    let text = '';
    for (let i = 0; i < b.size; i++) {
      if (out) text += `${b.seriesIds[i]},${stamp(b.timestamps[i]!)},${b.scores[i]},${b.normalized[i]},${b.anomalies[i]},${b.version}\n`;
      if (b.anomalies[i]) {
        alarmCount++;
        if (alarms.length < 100) alarms.push({ series: b.seriesIds[i]!, timestamp: stamp(b.timestamps[i]!), normalized: b.normalized[i]! });
        log(`alarm ${b.seriesIds[i]} ${stamp(b.timestamps[i]!)} normalized ${b.normalized[i]!.toFixed(4)} score ${b.scores[i]!.toPrecision(4)}`);
      }
    }
    if (out && text) out.write(text);
  };
  const start = async (channels: string[]): Promise<OnlineDetector> => {
    const common = { provider, batchSize: intOption('--batch-size', opts.batchSize), maxSeries: intOption('--max-series', opts.maxSeries) };
    const d = opts.resume
      ? await OnlineDetector.resume(opts.resume, { ...common, policy })
      : await OnlineDetector.create({ ...common, kind, channels, window: intOption('--window', opts.window), config, policy, scorer: scorer?.(channels.length) });
    if (JSON.stringify(d.channels) !== JSON.stringify(channels)) {
      await d.close();
      throw new SeismoError('ERR_BAD_SHAPE', `the stream has channels [${channels.join(', ')}], the resumed detector [${d.channels.join(', ')}]`);
    }
    d.on('batch', onBatch);
    d.on('update', (u) => {
      updates.push({ version: u.version, accepted: u.accepted, windows: u.windows, seconds: u.seconds, reason: u.reason });
      log(u.accepted ? `model ${u.initial ? 'fitted on the warm-up' : 'updated'}: v${u.version} (${u.windows} windows, ${u.seconds.toFixed(1)} s)` : `update rejected: ${u.reason}`);
    });
    d.on('error', (e) => log(`error: ${e.message}`));
    log(`online ${d.kind} (window ${d.window}, warm-up ${d.policy.warmup} samples, learning ${d.policy.learning}, scorer ${d.scorerName}) on ${d.channels.length} channel(s): ${d.channels.join(', ')}`);
    return d;
  };

  // Rows wait here until the header is known and the detector has started.
  let buffered: { id: string; t: number; v: Float64Array }[] = [];
  const onRow: RowHandler = (id, t, values) => {
    if (detector) detector.push(id, t, values);
    else buffered.push({ id, t, v: Float64Array.from(values) });
  };
  const t0 = performance.now();
  const afterPiece = async (): Promise<void> => {
    if (!detector && reader.channels) {
      detector = await start(reader.channels);
      for (const r of buffered) detector.push(r.id, r.t, r.v);
      buffered = [];
    }
    await detector?.drain(8192);
  };

  let stopped = false;
  const onSignal = (): void => {
    stopped = true;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (opts.data === '-') {
      process.stdin.setEncoding('utf8');
      for await (const piece of process.stdin) {
        reader.feed(piece as string, onRow);
        await afterPiece();
        if (stopped) break;
      }
    } else {
      await readFile(opts.data, !!opts.follow, numberOption('--idle-exit', opts.idleExit), () => stopped, async (piece) => {
        reader.feed(piece, onRow);
        await afterPiece();
      });
    }
    reader.end(onRow);
    await afterPiece();
    if (!detector) throw new SeismoError('ERR_CSV_PARSE', `${source}: no header line`);
    await detector.flush();
    const stats = detector.stats();
    const seconds = (performance.now() - t0) / 1000;
    if (opts.save) {
      await detector.save(opts.save);
      log(`saved to ${opts.save} (resume with --resume ${opts.save})`);
    }
    log(`${stats.samples} samples of ${stats.series} series, ${stats.scored} scored, ${stats.warming} series still warming up, ${alarmCount} alarms, ${stats.updates} model updates, ${seconds.toFixed(1)} s`);
    if (stats.missingHeld + stats.missingSkipped + stats.gaps + stats.disordered > 0) {
      log(`missing values: ${stats.missingHeld} held, ${stats.missingSkipped} skipped; gaps: ${stats.gaps} (${stats.gapMissing} samples missing, ${stats.gapFilled} filled); out of order: ${stats.disordered} skipped`);
    }
    return { kind: detector.kind, window: detector.window, scorer: detector.scorerName, policy: detector.policy, rows: reader.rows, stats, alarms: alarmCount, firstAlarms: alarms, updates, seconds, samplesPerSec: stats.samples / seconds, out: opts.out ?? null, saved: opts.save ?? null };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await detector?.close();
    if (out && out !== process.stdout) await new Promise<void>((resolve) => (out as fs.WriteStream).end(resolve));
  }
}

/**
 * Reads a file in pieces; with `follow`, keeps reading what is appended (polling every 100 ms)
 * until `stop()` says so (a signal) or, with `idleExit`, the file has not grown for that many seconds.
 */
async function readFile(file: string, follow: boolean, idleExit: number | undefined, stop: () => boolean, onPiece: (text: string) => Promise<void>): Promise<void> {
  const fd = fs.openSync(file, 'r');
  const buffer = Buffer.alloc(1 << 20);
  let position = 0;
  let idleSince = performance.now();
  let carry = Buffer.alloc(0);
  try {
    for (;;) {
      const n = fs.readSync(fd, buffer, 0, buffer.length, position);
      if (n > 0) {
        position += n;
        idleSince = performance.now();
        // Keep a multi-byte character split across reads whole: decode up to the last newline.
        const bytes = Buffer.concat([carry, buffer.subarray(0, n)]);
        const cut = bytes.lastIndexOf(0x0a) + 1;
        carry = Buffer.from(bytes.subarray(cut));
        if (cut > 0) await onPiece(bytes.subarray(0, cut).toString('utf8'));
        if (stop()) break;
        continue;
      }
      if (!follow || stop()) break;
      if (idleExit !== undefined && performance.now() - idleSince >= idleExit * 1000) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    if (carry.length > 0) await onPiece(carry.toString('utf8'));
  } finally {
    fs.closeSync(fd);
  }
}
