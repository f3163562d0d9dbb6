/**
 * `seismo serve`: the live dashboard, labelling in a browser, HTTP ingestion and Prometheus
 * metrics around one model (see src/serve/server.ts for the routes).
 *
 *   seismo serve --model <dir> [--work <dir>] [--port 8080] [--host 127.0.0.1] [--token <t>]
 *   seismo serve --eval scores.csv --labels labels.csv [--model <dir>]
 *   seismo serve --model <dir> --replay <csv|synthetic> [--replay-rate 50]   # something to watch
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Command } from 'commander';
import { Detector } from '../detector/index.js';
import { SeismoError } from '../errors.js';
import { generateSeries } from '../ingest/synthetic.js';
import { readSeriesCsv } from '../ingest/csv.js';
import { OnlineLearner } from '../learn/online.js';
import { WEIGHTS_INDEX_FILE } from '../model/model-dir.js';
import { encodeBinaryBatch } from '../serve/ingest.js';
import { isLoopback, startServer } from '../serve/server.js';
import { alignChannels } from './detect.js';
import { action, writeEnvelope, type CommonOptions } from './output.js';
import { describeRuntime } from '../infer/runtime.js';
import { intOption, PROVIDER_HELP, providerOption, RUNTIME_HELP, runtimeOption } from './options.js';

interface ServeCliOptions extends CommonOptions {
  model?: string;
  work?: string;
  eval?: string;
  labels?: string;
  port: string;
  host: string;
  token?: string;
  provider: string;
  runtime: string;
  batchSize?: string;
  maxSeries?: string;
  logLevel: string;
  replay?: string;
  replayRate: string;
}

export function registerServe(program: Command): void {
  program
    .command('serve')
    .description('serve a live dashboard (series, scores, alarms, the label queue, versions, evaluation), HTTP ingestion and /metrics')
    .option('--model <dir>', 'model directory to run live (ingestion at POST /api/series/<id>/samples)')
    .option('--work <dir>', "attach an online learner: its versions and label queue live here (answer its questions in the page)")
    .option('--eval <csv>', 'scores CSV (seismo detect --out) for the evaluation view; with --labels')
    .option('--labels <csv>', 'labels CSV (timestamp,label) for the evaluation view')
    .option('--port <n>', 'port (0: any free one)', '8080')
    .option('--host <addr>', 'address to bind; beyond loopback every write needs the bearer token', '127.0.0.1')
    .option('--token <t>', 'bearer token for writes (default: generated and printed when --host is not loopback; also $SEISMO_TOKEN)')
    .option('--provider <name>', PROVIDER_HELP, 'auto')
    .option('--runtime <name>', RUNTIME_HELP, 'auto')
    .option('--batch-size <n>', 'windows per inference call (default 64)')
    .option('--max-series <n>', 'distinct series served at most (default 64)')
    .option('--replay <csv|synthetic>', "stream a CSV (or a generated series with planted anomalies) into the server over its own HTTP route, as series 'replay'")
    .option('--replay-rate <rows/s>', 'rows per second of --replay', '50')
    .option('--log-level <level>', 'pino log level on stderr: fatal|error|warn|info|debug|silent', 'info')
    .option('--json', 'print {"ok": true, "command": "serve", "result": {"url": ..., "token": ...}} on stdout once listening')
    .action(
      action<ServeCliOptions, []>(async (opts) => {
        if (!opts.model && !opts.eval) throw new SeismoError('ERR_INVALID_OPTION', 'give --model <dir> (live) or --eval <scores.csv> --labels <labels.csv> (evaluation), or both');
        if ((opts.eval === undefined) !== (opts.labels === undefined)) throw new SeismoError('ERR_INVALID_OPTION', '--eval and --labels go together');
        if (opts.replay && !opts.model) throw new SeismoError('ERR_INVALID_OPTION', '--replay needs --model');
        const replayRate = intOption('--replay-rate', opts.replayRate)!;
        if (replayRate <= 0) throw new SeismoError('ERR_INVALID_OPTION', `--replay-rate must be a positive integer, got ${replayRate}`);
        if (opts.work && !opts.model) throw new SeismoError('ERR_INVALID_OPTION', '--work needs --model (the learner fine-tunes the served model)');
        const provider = providerOption(opts.provider);
        const port = intOption('--port', opts.port)!;
        const loopback = isLoopback(opts.host);
        let token = opts.token ?? process.env.SEISMO_TOKEN;
        const generated = token === undefined && !loopback;
        if (generated) token = crypto.randomBytes(24).toString('base64url');
        if (token !== undefined && token.length < 16) throw new SeismoError('ERR_INVALID_OPTION', 'the token must be at least 16 characters');

        const detector = opts.model
          ? await Detector.load(opts.model, { provider, runtime: runtimeOption(opts.runtime), batchSize: intOption('--batch-size', opts.batchSize), maxSeries: intOption('--max-series', opts.maxSeries) })
          : undefined;
        let learner: OnlineLearner | undefined;
        try {
          if (opts.work && detector) {
            if (!fs.existsSync(`${detector.modelDir}/${WEIGHTS_INDEX_FILE}`)) {
              throw new SeismoError('ERR_INVALID_OPTION', `--work needs a model directory with its training weights (${WEIGHTS_INDEX_FILE}); ${detector.modelDir} has none: retrain it with \`seismo train\``);
            }
            learner = await OnlineLearner.attach(detector, { workDir: opts.work, queue: { persist: true } });
          }
          const server = await startServer({
            detector,
            learner,
            evaluation: opts.eval ? { scores: opts.eval, labels: opts.labels! } : undefined,
            modelDir: opts.model,
            token,
            port,
            host: opts.host,
            logger: { level: opts.logLevel, stream: process.stderr },
          });
          process.stderr.write(`seismo serve: ${server.url}${detector ? ` (model ${detector.modelDir}, ${describeRuntime(detector.runtime, detector.provider.provider)})` : ''}${learner ? `, learner in ${opts.work}` : ''}\n`);
          if (token !== undefined) {
            process.stderr.write(generated ? `seismo serve: bound to ${opts.host}; writes need  Authorization: Bearer ${token}  (open ${server.url}?token=${token})\n` : 'seismo serve: writes need the bearer token given\n');
          }
          if (opts.json) writeEnvelope({ ok: true, command: 'serve', result: { url: server.url, token: generated ? token : undefined } });
          const stopReplay = new AbortController();
          const replaying = opts.replay && detector ? replay(opts.replay, detector.channels, server.url, token, replayRate, stopReplay.signal) : Promise.resolve();
          replaying.catch((err: unknown) => process.stderr.write(`seismo serve: replay stopped: ${(err as Error).message}\n`));
          await new Promise<void>((resolve) => {
            const stop = (): void => {
              process.off('SIGINT', stop);
              process.off('SIGTERM', stop);
              resolve();
            };
            process.on('SIGINT', stop);
            process.on('SIGTERM', stop);
          });
          process.stderr.write('seismo serve: stopping\n');
          stopReplay.abort();
          await replaying.catch(() => {});
          await server.close();
        } finally {
          await learner?.close();
          await detector?.close();
        }
        // The JSON line was printed once listening; nothing more on stdout.
      }),
    );
}

/**
 * Streams a series into the server through its own ingestion route (the path a client takes), as
 * series `replay`, `rate` rows a second in chunks of about a tenth of a second, looping over the
 * file with timestamps that keep increasing. `synthetic`: a generated series with planted
 * anomalies, its channels named after the model's.
 */
async function replay(source: string, channels: readonly string[], url: string, token: string | undefined, rate: number, signal: AbortSignal): Promise<void> {
  let time: Float64Array;
  let frames: Float32Array;
  if (source === 'synthetic') {
    const s = generateSeries({ length: 8192, channels: channels.length, seed: 5, normalPrefix: 0.1, start: Date.now() - 8192 * 60000, step: 60000 });
    time = s.table.time;
    frames = s.table.frames;
  } else {
    const table = await readSeriesCsv(source);
    time = table.time;
    frames = alignChannels(table, channels);
  }
  const C = channels.length;
  const n = time.length;
  if (n < 2) throw new SeismoError('ERR_CSV_PARSE', `${source} holds fewer than 2 rows: nothing to replay`);
  const step = (time[n - 1]! - time[0]!) / (n - 1);
  const chunk = Math.max(1, Math.round(rate / 10));
  const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
  if (token !== undefined) headers.authorization = `Bearer ${token}`;
  let row = 0;
  let offset = 0;
  const started = performance.now();
  let sent = 0;
  while (!signal.aborted) {
    const take = Math.min(chunk, n - row);
    const times = Float64Array.from({ length: take }, (_, i) => time[row + i]! + offset);
    const res = await fetch(`${url}api/series/replay/samples`, { method: 'POST', headers, body: encodeBinaryBatch(times, frames.subarray(row * C, (row + take) * C)), signal }).catch((err: unknown) => {
      if (signal.aborted) return undefined;
      throw err;
    });
    if (!res) return;
    if (res.status === 429) {
      await sleep(1000 * Number(res.headers.get('retry-after') ?? 1), signal);
      continue;
    }
    if (res.status !== 200) throw new SeismoError('ERR_INVALID_OPTION', `the server refused replayed rows: HTTP ${res.status} ${await res.text()}`);
    await res.arrayBuffer();
    row += take;
    sent += take;
    if (row >= n) {
      // Loop, shifted in time so that every timestamp stays after the last one sent.
      row = 0;
      offset += time[n - 1]! - time[0]! + step;
    }
    await sleep(Math.max(0, (sent / rate) * 1000 - (performance.now() - started)), signal);
  }
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    }, { once: true });
  });
}
