/**
 * Writing input entries from Node: the producer side of the wire contract (`wire.ts`,
 * `partition.ts`). Producers in other languages write the same fields to the same streams.
 */
import { Redis } from 'ioredis';
import { SeismoError } from '../errors.js';
import { checkPartitions, partitionOf, partitionStream } from './partition.js';
import { encodeEntry } from './wire.js';

/** Options of {@link RedisProducer}. */
export interface RedisProducerOptions {
  /** Server URL. Default `redis://127.0.0.1:6379`. Ignored when `client` is given. */
  url?: string;
  /** An ioredis client to use (not closed by {@link RedisProducer.close}). */
  client?: Redis;
  /** Input stream name; entries go to `<stream>:<p>`. */
  stream: string;
  /** Number of partitions (the consumers' `--partitions`). */
  partitions: number;
  /** Values per sample (the model's channel count). */
  channels: number;
  /** Write `t64`/`f32` binary fields (default) rather than `t`/`x` JSON. */
  binary?: boolean;
}

/** One entry to write: samples of one series. */
export interface ProducerEntry {
  seriesId: string;
  /** `[n]` strictly increasing timestamps. */
  timestamps: ArrayLike<number>;
  /** `[n, channels]` row-major. */
  frames: ArrayLike<number>;
}

export class RedisProducer {
  readonly options: RedisProducerOptions;
  private readonly client: Redis;
  private readonly owned: boolean;

  constructor(options: RedisProducerOptions) {
    checkPartitions(options.partitions);
    if (!Number.isInteger(options.channels) || options.channels < 1) {
      throw new SeismoError('ERR_INVALID_OPTION', `channels must be a positive integer, got ${options.channels}`);
    }
    this.options = options;
    this.owned = options.client === undefined;
    this.client = options.client ?? new Redis(options.url ?? 'redis://127.0.0.1:6379');
    // Connection errors reject the commands that meet them (and the client reconnects); without a
    // listener ioredis would also print each one.
    if (this.owned) this.client.on('error', () => {});
  }

  /** The stream a series' entries go to. */
  streamOf(seriesId: string): string {
    return partitionStream(this.options.stream, partitionOf(seriesId, this.options.partitions));
  }

  /** Appends one entry; resolves with its stream id. */
  async add(seriesId: string, timestamps: ArrayLike<number>, frames: ArrayLike<number>): Promise<string> {
    const fields = encodeEntry(seriesId, timestamps, frames, this.options.channels, this.options.binary ?? true);
    return String(await this.client.xadd(this.streamOf(seriesId), '*', ...fields));
  }

  /** Appends many entries in one round trip (a pipeline); resolves with their ids, in order. */
  async addMany(entries: readonly ProducerEntry[]): Promise<string[]> {
    const pipe = this.client.pipeline();
    for (const e of entries) pipe.xadd(this.streamOf(e.seriesId), '*', ...encodeEntry(e.seriesId, e.timestamps, e.frames, this.options.channels, this.options.binary ?? true));
    const replies = (await pipe.exec()) ?? [];
    return replies.map(([err, id]) => {
      if (err) throw new SeismoError('ERR_CONNECTOR', `XADD failed: ${err.message}`, {}, { cause: err });
      return String(id);
    });
  }

  async close(): Promise<void> {
    if (this.owned) await this.client.quit();
  }
}
