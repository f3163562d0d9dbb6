/**
 * The Redis Streams connector: partition streams `<stream>:<p>` read by one consumer group,
 * partition leases with fencing tokens, checkpoints in a hash per partition, results and dead
 * letters in streams. Every step that must not interleave with another consumer's is a Lua
 * script (`redis-scripts.ts`).
 *
 * Keys (`<ns>` = `<stream>:<group>`): `<ns>:members` (sorted set of live consumers),
 * `<ns>:lease:<p>` (owner/token, with a TTL), `<ns>:epoch:<p>` (token counter),
 * `<ns>:ckpt:<p>` (hash: `s:<series id>` -> checkpoint, `_last` -> last committed entry id).
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import { SeismoError } from '../errors.js';
import type { CommitOutcome, Connector, Membership, PartitionCheckpoint, PartitionCommit, PartitionLease, SourceEntry } from './connector.js';
import { checkPartitions, partitionStream } from './partition.js';
import { ACQUIRE, COMMIT, HEARTBEAT, READ, RELEASE, RENEW } from './redis-scripts.js';

/** Options of {@link RedisStreamsConnector}. */
export interface RedisStreamsOptions {
  /** Server URL. Default `redis://127.0.0.1:6379`. */
  url?: string;
  /** Input stream name; partition p is the stream `<stream>:<p>`. */
  stream: string;
  /** Consumer group name (created on the partition streams if missing, reading from their start). */
  group: string;
  /** Output stream: one entry per scored window. */
  outStream: string;
  /** Dead-letter stream for entries that cannot be scored. Default `<stream>:dead`. */
  deadStream?: string;
  /** Number of partition streams (the producers' N). */
  partitions: number;
  /** This consumer's name, unique in the group. Default `<hostname>-<pid>-<random>`. */
  name?: string;
  /**
   * Milliseconds without a heartbeat after which a consumer counts as gone: its partition leases
   * expire and other consumers take them, claiming its pending entries. Default 5000.
   */
  leaseMs?: number;
  /**
   * Trim each partition stream up to its last committed entry (XTRIM MINID) at every commit.
   * Only when this group is the streams' only reader. Default false.
   */
  trim?: boolean;
}

type Reply = unknown[];

function buf(v: unknown): string {
  return Buffer.isBuffer(v) ? v.toString('utf8') : String(v);
}

/** See the module comment. */
export class RedisStreamsConnector implements Connector {
  readonly partitions: number;
  readonly name: string;
  readonly leaseMs: number;
  private readonly o: RedisStreamsOptions;
  private readonly ns: string;
  private readonly deadStream: string;
  /** Scripts, claims, heartbeats. */
  private readonly cmd: Redis;
  /** Only the blocking wait (a blocked connection answers nothing else). */
  private readonly blocker: Redis;
  /** Newest id seen per partition: where a blocking wait starts. */
  private readonly seen = new Map<number, string>();

  constructor(options: RedisStreamsOptions) {
    checkPartitions(options.partitions);
    if (!options.stream || !options.group || !options.outStream) {
      throw new SeismoError('ERR_INVALID_OPTION', 'the Redis connector needs stream, group and outStream names');
    }
    this.o = options;
    this.partitions = options.partitions;
    this.name = options.name ?? `${os.hostname()}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    this.leaseMs = options.leaseMs ?? 5000;
    if (!Number.isInteger(this.leaseMs) || this.leaseMs < 100) throw new SeismoError('ERR_INVALID_OPTION', `leaseMs must be an integer >= 100, got ${this.leaseMs}`);
    this.ns = `${options.stream}:${options.group}`;
    this.deadStream = options.deadStream ?? `${options.stream}:dead`;
    const url = options.url ?? 'redis://127.0.0.1:6379';
    const client = (): Redis =>
      new Redis(url, {
        lazyConnect: true,
        // A command in flight when the connection drops fails instead of being sent again: the
        // consumer then resynchronises from Redis (a resent read could deliver entries twice).
        autoResendUnfulfilledCommands: false,
        maxRetriesPerRequest: 2,
        retryStrategy: (attempt) => Math.min(50 * attempt, 1000),
      });
    this.cmd = client();
    this.blocker = client();
    // Errors surface through the commands that fail; the clients reconnect by themselves.
    this.cmd.on('error', () => {});
    this.blocker.on('error', () => {});
  }

  private stream(p: number): string {
    return partitionStream(this.o.stream, p);
  }

  async start(): Promise<void> {
    try {
      await this.cmd.connect();
      await this.blocker.connect();
    } catch (err) {
      throw new SeismoError('ERR_CONNECTOR', `cannot reach Redis at ${this.o.url ?? 'redis://127.0.0.1:6379'}: ${(err as Error).message}. Start redis-server or pass --redis <url>.`, {}, { cause: err });
    }
    for (let p = 0; p < this.partitions; p++) {
      try {
        await this.cmd.call('XGROUP', 'CREATE', this.stream(p), this.o.group, '0', 'MKSTREAM');
      } catch (err) {
        if (!String((err as Error).message).startsWith('BUSYGROUP')) throw err;
      }
    }
    await this.heartbeat();
  }

  async heartbeat(leave = false): Promise<Membership> {
    const names = (await HEARTBEAT.run(this.cmd, [`${this.ns}:members`], [this.name, this.leaseMs, leave ? '1' : '0'])) as string[];
    return { members: names.map(String).sort() };
  }

  async renew(leases: readonly PartitionLease[]): Promise<number[]> {
    if (leases.length === 0) return [];
    const ok = (await RENEW.run(
      this.cmd,
      leases.map((l) => `${this.ns}:lease:${l.partition}`),
      [this.leaseMs, ...leases.map((l) => l.token)],
    )) as number[];
    return leases.filter((_, i) => Number(ok[i]) !== 1).map((l) => l.partition);
  }

  async acquire(partition: number): Promise<PartitionLease | undefined> {
    const token = await ACQUIRE.run(this.cmd, [`${this.ns}:lease:${partition}`, `${this.ns}:epoch:${partition}`], [this.name, this.leaseMs]);
    if (token === null || token === undefined) return undefined;
    this.seen.delete(partition);
    return { partition, token: String(token) };
  }

  async release(lease: PartitionLease): Promise<void> {
    await RELEASE.run(this.cmd, [`${this.ns}:lease:${lease.partition}`], [lease.token]);
  }

  async claim(lease: PartitionLease): Promise<SourceEntry[]> {
    const out: SourceEntry[] = [];
    const key = this.stream(lease.partition);
    let cursor = '0-0';
    // Min idle 0: the expired lease already proved the previous owner idle for leaseMs, and its
    // fencing keeps it from committing; every entry it held must move to us, however recent.
    for (;;) {
      const r = (await this.cmd.callBuffer('XAUTOCLAIM', key, this.o.group, this.name, 0, cursor, 'COUNT', 256)) as Reply;
      cursor = buf(r[0]);
      for (const e of r[1] as Reply) {
        if (!e) continue;
        const [id, fields] = e as [Buffer, Buffer[] | null];
        if (fields) out.push({ id: buf(id), partition: lease.partition, fields });
      }
      const deleted = (r[2] as Reply | undefined) ?? [];
      // Entries trimmed away while pending: nothing left to score; acknowledge them.
      if (deleted.length > 0) await this.cmd.call('XACK', key, this.o.group, ...deleted.map(buf));
      if (cursor === '0-0') break;
    }
    return out;
  }

  async loadCheckpoint(lease: PartitionLease): Promise<PartitionCheckpoint> {
    const h = await this.cmd.hgetall(`${this.ns}:ckpt:${lease.partition}`);
    const series = new Map<string, string>();
    let lastId = '';
    for (const [k, v] of Object.entries(h)) {
      if (k === '_last') lastId = v;
      else if (k.startsWith('s:')) series.set(k.slice(2), v);
    }
    return { lastId, series };
  }

  async read(leases: readonly PartitionLease[], count: number, blockMs: number): Promise<{ entries: SourceEntry[]; lost: number[] }> {
    const entries: SourceEntry[] = [];
    const lost: number[] = [];
    if (leases.length === 0) return { entries, lost };
    const keys = [...leases.map((l) => `${this.ns}:lease:${l.partition}`), ...leases.map((l) => this.stream(l.partition))];
    const r = (await READ.run(this.cmd, keys, [this.o.group, this.name, count, ...leases.map((l) => l.token)], true)) as Reply[];
    for (const item of r) {
      const [index, status, list, last] = item as [number, number, Reply, Buffer];
      const lease = leases[Number(index)]!;
      if (Number(status) !== 1) {
        lost.push(lease.partition);
        continue;
      }
      this.seen.set(lease.partition, buf(last));
      for (const e of list) {
        const [id, fields] = e as [Buffer, Buffer[] | null];
        if (fields) entries.push({ id: buf(id), partition: lease.partition, fields });
      }
    }
    if (entries.length === 0 && blockMs > 0) {
      // Nothing new: wait on the streams (XREAD delivers nothing to the group) until one grows.
      const held = leases.filter((l) => !lost.includes(l.partition));
      if (held.length > 0) {
        await this.blocker.call('XREAD', 'COUNT', 1, 'BLOCK', blockMs, 'STREAMS', ...held.map((l) => this.stream(l.partition)), ...held.map((l) => this.seen.get(l.partition) ?? '$'));
      }
    }
    return { entries, lost };
  }

  async commit(lease: PartitionLease, round: PartitionCommit): Promise<CommitOutcome> {
    if (round.ids.length === 0) return 'committed';
    const args: (string | number)[] = [
      lease.token,
      this.o.group,
      round.ids[0]!,
      round.ids[round.ids.length - 1]!,
      round.ids.length,
      round.results.length,
      round.deadLetters.length,
      round.checkpoints.size,
      this.o.trim ? '1' : '0',
      ...round.ids,
    ];
    for (const r of round.results) args.push(r.length, ...r);
    for (const d of round.deadLetters) args.push(d.id, d.code, d.reason, d.seriesId);
    // Series fields carry a prefix so that no series id can collide with `_last`.
    for (const [series, ckpt] of round.checkpoints) args.push(`s:${series}`, ckpt);
    const p = lease.partition;
    const outcome = Number(await COMMIT.run(this.cmd, [`${this.ns}:lease:${p}`, `${this.ns}:ckpt:${p}`, this.stream(p), this.o.outStream, this.deadStream], args));
    return outcome === 1 ? 'committed' : outcome === 0 ? 'duplicate' : 'fenced';
  }

  async close(): Promise<void> {
    try {
      await this.heartbeat(true);
    } catch {
      // Leaving is a courtesy (others rebalance at once); the membership entry expires anyway.
    }
    this.blocker.disconnect();
    await this.cmd.quit().catch(() => this.cmd.disconnect());
  }
}
