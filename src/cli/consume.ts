import type { Command } from 'commander';
import { StreamConsumer } from '../connect/consumer.js';
import { likelihoodNormalizer } from '../online/normalizer.js';
import { RedisStreamsConnector } from '../connect/redis-streams.js';
import { SeismoError } from '../errors.js';
import { action, say, type CommonOptions } from './output.js';
import { intOption, PROVIDER_HELP, providerOption } from './options.js';

interface ConsumeOptions extends CommonOptions {
  redis: string;
  stream: string;
  group: string;
  model: string;
  outStream: string;
  deadStream?: string;
  partitions: string;
  name?: string;
  leaseMs: string;
  count: string;
  blockMs: string;
  batchSize: string;
  maxSeries: string;
  provider: string;
  threshold?: string;
  trim?: boolean;
  normalize?: boolean;
  quiet?: boolean;
}

export function registerConsume(program: Command): void {
  program
    .command('consume')
    .description('score Redis Streams as one member of a consumer group: partitions <stream>:<p>, results on --out-stream, exactly once (see docs/scale-out.md)')
    .option('--redis <url>', 'Redis server', 'redis://127.0.0.1:6379')
    .requiredOption('--stream <name>', 'input stream name; partition p is the stream <name>:<p>')
    .requiredOption('--group <name>', 'consumer group (one group = one set of detectors sharing the partitions)')
    .requiredOption('--model <dir>', 'model directory (model.onnx + model.json)')
    .requiredOption('--out-stream <name>', 'output stream: one entry per scored window (src, series, t, score, threshold, anomaly)')
    .option('--dead-stream <name>', 'dead-letter stream for entries that cannot be scored (default <stream>:dead)')
    .option('--partitions <n>', 'number of partition streams (the producers\' N)', '8')
    .option('--name <name>', 'this consumer\'s name in the group (default host-pid-random)')
    .option('--lease-ms <ms>', 'silence after which a consumer counts as gone and its partitions move', '5000')
    .option('--count <n>', 'entries read per partition per round', '64')
    .option('--block-ms <ms>', 'longest wait for new entries', '200')
    .option('--batch-size <n>', 'windows per inference call', '64')
    .option('--max-series <n>', 'series slots of the detector (renewed when used up)', '1024')
    .option('--provider <name>', PROVIDER_HELP, 'auto')
    .option('--threshold <x>', 'override the model\'s threshold')
    .option('--trim', 'trim each partition up to its last committed entry (XTRIM MINID); only when this group is the only reader')
    .option('--normalize', 'also write each window\'s normalised score (field nscore, per-series anomaly likelihood in [0, 1), its state checkpointed)')
    .option('--quiet', 'no progress lines on stderr')
    .option('--json', 'print a JSON summary on stdout when stopped')
    .action(
      action<ConsumeOptions, []>(async (opts) => {
        const provider = providerOption(opts.provider);
        const threshold = opts.threshold === undefined ? undefined : Number(opts.threshold);
        if (threshold !== undefined && !Number.isFinite(threshold)) throw new SeismoError('ERR_INVALID_OPTION', `--threshold must be a number, got '${opts.threshold}'`);
        const connector = new RedisStreamsConnector({
          url: opts.redis,
          stream: opts.stream,
          group: opts.group,
          outStream: opts.outStream,
          deadStream: opts.deadStream,
          partitions: intOption('--partitions', opts.partitions)!,
          name: opts.name,
          leaseMs: intOption('--lease-ms', opts.leaseMs),
          trim: opts.trim,
        });
        const log = opts.quiet ? undefined : (line: string): void => void process.stderr.write(`${line}\n`);
        const consumer = new StreamConsumer({
          connector,
          model: opts.model,
          count: intOption('--count', opts.count),
          blockMs: intOption('--block-ms', opts.blockMs),
          detector: { provider, batchSize: intOption('--batch-size', opts.batchSize), maxSeries: intOption('--max-series', opts.maxSeries), threshold },
          normalizer: opts.normalize ? likelihoodNormalizer() : undefined,
          log,
        });
        // SIGTERM / SIGINT drain: the round in flight is committed, partitions are handed over.
        const stop = (): void => {
          log?.(`[${connector.name}] draining`);
          void consumer.stop();
        };
        process.once('SIGTERM', stop);
        process.once('SIGINT', stop);
        const t0 = performance.now();
        log?.(`[${connector.name}] consuming ${opts.stream}:0..${connector.partitions - 1} as group '${opts.group}' on ${opts.redis}`);
        try {
          const stats = await consumer.start();
          const seconds = (performance.now() - t0) / 1000;
          say(opts, `${stats.entries} entries, ${stats.samples} samples, ${stats.windows} windows in ${seconds.toFixed(1)} s; ${stats.deadLetters} dead letters; ${stats.acquired} partitions taken, ${stats.lost} lost`);
          return { name: connector.name, seconds, ...stats };
        } finally {
          process.off('SIGTERM', stop);
          process.off('SIGINT', stop);
        }
      }),
    );
}
