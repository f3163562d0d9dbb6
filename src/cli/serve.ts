/**
 * `seismo serve`: the live dashboard, labelling in a browser, HTTP ingestion and Prometheus
 * metrics around one model (see src/serve/server.ts for the routes).
 *
 *   seismo serve --model <dir> [--work <dir>] [--port 8080] [--host 127.0.0.1] [--token <t>]
 *   seismo serve --eval scores.csv --labels labels.csv [--model <dir>]
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import type { Command } from 'commander';
import { Detector } from '../detector.js';
import { SeismoError } from '../errors.js';
import { PROVIDER_REQUESTS, type ProviderRequest } from '../infer/providers.js';
import { OnlineLearner } from '../learn/online.js';
import { WEIGHTS_INDEX_FILE } from '../model/weights.js';
import { isLoopback, startServer } from '../serve/server.js';
import { intOption } from './train.js';
import { action, type CommonOptions } from './output.js';

interface ServeCliOptions extends CommonOptions {
  model?: string;
  work?: string;
  eval?: string;
  labels?: string;
  port: string;
  host: string;
  token?: string;
  provider: string;
  batchSize?: string;
  maxSeries?: string;
  logLevel: string;
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
    .option('--provider <name>', `execution provider: ${PROVIDER_REQUESTS.join('|')}`, 'auto')
    .option('--batch-size <n>', 'windows per inference call (default 64)')
    .option('--max-series <n>', 'distinct series served at most (default 64)')
    .option('--log-level <level>', 'pino log level on stderr: fatal|error|warn|info|debug|silent', 'info')
    .option('--json', 'print {"url": ..., "token": ...} on stdout once listening')
    .action(
      action<ServeCliOptions, []>(async (opts) => {
        if (!opts.model && !opts.eval) throw new SeismoError('ERR_INVALID_OPTION', 'give --model <dir> (live) or --eval <scores.csv> --labels <labels.csv> (evaluation), or both');
        if ((opts.eval === undefined) !== (opts.labels === undefined)) throw new SeismoError('ERR_INVALID_OPTION', '--eval and --labels go together');
        if (opts.work && !opts.model) throw new SeismoError('ERR_INVALID_OPTION', '--work needs --model (the learner fine-tunes the served model)');
        if (!PROVIDER_REQUESTS.includes(opts.provider as ProviderRequest)) throw new SeismoError('ERR_INVALID_OPTION', `--provider must be one of ${PROVIDER_REQUESTS.join(', ')}, got '${opts.provider}'`);
        const port = intOption('--port', opts.port)!;
        const loopback = isLoopback(opts.host);
        let token = opts.token ?? process.env.SEISMO_TOKEN;
        const generated = token === undefined && !loopback;
        if (generated) token = crypto.randomBytes(24).toString('base64url');
        if (token !== undefined && token.length < 16) throw new SeismoError('ERR_INVALID_OPTION', 'the token must be at least 16 characters');

        const detector = opts.model
          ? await Detector.load(opts.model, { provider: opts.provider as ProviderRequest, batchSize: intOption('--batch-size', opts.batchSize), maxSeries: intOption('--max-series', opts.maxSeries) })
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
          process.stderr.write(`seismo serve: ${server.url}${detector ? ` (model ${detector.modelDir}, ${detector.provider.provider})` : ''}${learner ? `, learner in ${opts.work}` : ''}\n`);
          if (token !== undefined) {
            process.stderr.write(generated ? `seismo serve: bound to ${opts.host}; writes need  Authorization: Bearer ${token}  (open ${server.url}?token=${token})\n` : 'seismo serve: writes need the bearer token given\n');
          }
          if (opts.json) process.stdout.write(`${JSON.stringify({ url: server.url, token: generated ? token : undefined })}\n`);
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
          await server.close();
        } finally {
          await learner?.close();
          await detector?.close();
        }
        // The JSON line was printed at start; nothing more on stdout.
        opts.json = false;
        return {};
      }),
    );
}
