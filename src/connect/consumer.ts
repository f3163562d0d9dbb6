/**
 * A detector as one member of a consumer group: it owns some partitions of the input (leases
 * from the {@link Connector}), scores their entries, and commits each partition's results,
 * dead letters, series checkpoints and acknowledgements in one atomic step per round.
 *
 * Why output is exactly once: a round's effects land together or not at all, only under the
 * partition's current lease, and never twice for the same entries. A consumer that dies or
 * stalls loses its leases; the next owner claims the entries it never committed and resumes each
 * series from the last committed checkpoint, so it scores exactly the windows that were not
 * written yet, over the same frames.
 *
 * One Detector serves every owned partition, so windows of all series share inference batches.
 * A series gets a fresh detector key each time it is (re)loaded from a checkpoint: the old key's
 * ring is abandoned (its late windows are ignored), and when the detector runs out of series
 * slots it is replaced by a new one primed from the series tails held in memory.
 *
 * Beside it: `keyed-detector.ts` (the detector, series keys, renewal, results of scored windows),
 * `consumer-series.ts` (per-partition and per-series state, checkpoints cut from it),
 * `checkpoint.ts` (the checkpoint format, and which threshold rules can be checkpointed).
 */
import crypto from 'node:crypto';
import type { DetectorOptions } from '../detector/index.js';
import { isSeismoError, SeismoError } from '../errors.js';
import { readModelDir } from '../model/model-dir.js';
import type { NormalizerFactory } from '../online/normalizer.js';
import { thresholdFromManifest } from '../threshold/index.js';
import { checkpointableRule, decodeCheckpoint } from './checkpoint.js';
import type { Connector, Membership, PartitionCheckpoint, PartitionLease, SourceEntry } from './connector.js';
import { idNewer, Series, type Partition } from './consumer-series.js';
import { KeyedDetector } from './keyed-detector.js';
import { partitionOf } from './partition.js';
import { decodeEntry } from './wire.js';

/** Options of {@link StreamConsumer}. */
export interface StreamConsumerOptions {
  /** The broker side (e.g. a `RedisStreamsConnector`). The consumer starts and closes it. */
  connector: Connector;
  /** Model directory to score with. */
  model: string;
  /**
   * Detector options (provider, batchSize, capacity, threshold, ...). `maxSeries` is the number of
   * series slots before the detector is renewed (default 1024); `overflow` is always `reject`.
   */
  detector?: Omit<DetectorOptions, 'onBatch' | 'onAnomaly' | 'overflow'>;
  /** Entries read per partition per round. Default 64. */
  count?: number;
  /** Longest wait for new entries before the consumer looks at its leases again, ms. Default 200. */
  blockMs?: number;
  /** Heartbeat and lease renewal period, ms. Default a third of the connector's lease time, else 1000. */
  heartbeatMs?: number;
  /** Normalises each series' scores (output field `nscore`); its state is checkpointed. Default none. */
  normalizer?: NormalizerFactory;
  /** Progress and recovery messages (one line each). Default: none. */
  log?: (line: string) => void;
}

/** Running totals of one consumer. */
export interface ConsumerStats {
  entries: number;
  samples: number;
  windows: number;
  deadLetters: number;
  commits: number;
  /** Rounds refused because the lease had moved on (nothing written). */
  fenced: number;
  /** Partitions taken (initial assignment, rebalancing, failover). */
  acquired: number;
  /** Partitions given up in a rebalance or at shutdown. */
  released: number;
  /** Partitions found lost (lease expired while stalled or disconnected). */
  lost: number;
  /** Entries claimed from a previous owner's pending list. */
  claimed: number;
  /** Series resumed from a stored checkpoint. */
  restored: number;
  /** Errors from the broker that made the consumer resynchronise. */
  reconnects: number;
  /** Partitions owned now. */
  owned: number[];
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** See the module comment. */
export class StreamConsumer {
  readonly connector: Connector;
  private readonly o: StreamConsumerOptions;
  private scorer!: KeyedDetector;
  private modelId = '';
  private window = 0;
  private stride = 0;
  private channels = 0;
  private readonly maxSeries: number;
  private readonly owned = new Map<number, Partition>();
  private membership: Membership = { members: [] };
  /** Partitions the heartbeat found lost; dropped at the next round boundary. */
  private readonly lostLeases = new Set<number>();
  private stopping = false;
  private running: Promise<ConsumerStats> | undefined;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private heartbeatBusy = false;
  /** A failure reported by the detector's error event (e.g. a window without a source entry). */
  private readonly counters = { entries: 0, samples: 0, windows: 0, deadLetters: 0, commits: 0, fenced: 0, acquired: 0, released: 0, lost: 0, claimed: 0, restored: 0, reconnects: 0 };

  constructor(options: StreamConsumerOptions) {
    this.o = options;
    this.connector = options.connector;
    this.maxSeries = options.detector?.maxSeries ?? 1024;
  }

  stats(): ConsumerStats {
    return { ...this.counters, owned: [...this.owned.keys()].sort((a, b) => a - b) };
  }

  /**
   * Joins the group and consumes until {@link stop}; resolves with the totals once drained.
   * @throws SeismoError `ERR_CONNECTOR` when the broker cannot be reached at start, `ERR_MODEL_*`,
   *   `ERR_INVALID_OPTION` for a streaming threshold rule (its per-series state cannot be checkpointed yet).
   */
  start(): Promise<ConsumerStats> {
    this.running ??= this.run();
    return this.running;
  }

  /** Drains: finishes and commits the current round, gives up every partition, leaves the group. */
  async stop(): Promise<ConsumerStats> {
    this.stopping = true;
    return this.running ?? this.stats();
  }

  private log(line: string): void {
    this.o.log?.(`[${this.connector.name}] ${line}`);
  }

  private async run(): Promise<ConsumerStats> {
    const model = readModelDir(this.o.model);
    const rule = this.o.detector?.thresholdRule ?? thresholdFromManifest(model.manifest, { override: this.o.detector?.threshold });
    if (!checkpointableRule(rule.toJSON())) {
      throw new SeismoError(
        'ERR_INVALID_OPTION',
        `threshold rule '${rule.method}' learns per series, and its state cannot be checkpointed yet; a new owner would decide against a missing history. Use a fixed threshold (--threshold) or the model's calibrated one.`,
      );
    }
    this.modelId = crypto.createHash('sha256').update(model.onnx).digest('hex').slice(0, 16);
    this.window = model.manifest.window;
    this.stride = this.o.detector?.stride ?? model.manifest.stride;
    this.channels = model.manifest.channels.length;
    this.scorer = new KeyedDetector({
      model: this.o.model,
      detector: this.o.detector,
      maxSeries: this.maxSeries,
      window: this.window,
      stride: this.stride,
      onWindow: () => {
        this.counters.windows++;
      },
      log: (line) => this.log(line),
    });
    await this.scorer.load();
    try {
      await this.connector.start();
      const period = this.o.heartbeatMs ?? Math.max(50, Math.floor(((this.connector as { leaseMs?: number }).leaseMs ?? 3000) / 3));
      this.membership = await this.connector.heartbeat();
      this.heartbeatTimer = setInterval(() => void this.beat(), period);
      await this.loop();
    } finally {
      if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
      await this.shutdown();
    }
    // After the shutdown: the totals include the partitions released on the way out.
    return this.stats();
  }

  /** Heartbeat and lease renewal, off the processing loop so a long round does not lose leases. */
  private async beat(): Promise<void> {
    if (this.heartbeatBusy) return;
    this.heartbeatBusy = true;
    try {
      this.membership = await this.connector.heartbeat();
      const lost = await this.connector.renew([...this.owned.values()].map((p) => p.lease));
      for (const p of lost) this.lostLeases.add(p);
    } catch {
      // Broker unreachable: the loop sees it too and resynchronises; leases may expire meanwhile.
    } finally {
      this.heartbeatBusy = false;
    }
  }

  private async loop(): Promise<void> {
    const count = this.o.count ?? 64;
    const blockMs = this.o.blockMs ?? 200;
    let failures = 0;
    while (!this.stopping) {
      try {
        this.dropLost();
        await this.rebalance();
        if (this.owned.size === 0) {
          await sleep(Math.min(blockMs, 100));
          continue;
        }
        const { entries, lost } = await this.connector.read([...this.owned.values()].map((p) => p.lease), count, blockMs);
        for (const p of lost) this.drop(p, 'lease lost');
        if (entries.length > 0) await this.process(entries);
        failures = 0;
      } catch (err) {
        if (isSeismoError(err) && err.code !== 'ERR_CONNECTOR') throw err;
        failures++;
        this.counters.reconnects++;
        this.log(`broker error (${(err as Error).message}); resynchronising`);
        // What Redis holds is the truth: forget every partition's in-memory state and reload it.
        for (const p of [...this.owned.keys()]) this.drop(p, 'resync', true);
        await sleep(Math.min(100 * failures, 1000));
      }
    }
  }

  /** Partitions this consumer should own: p goes to the (p mod M)-th live member by name. */
  private desired(): Set<number> | undefined {
    const members = this.membership.members;
    const me = members.indexOf(this.connector.name);
    // Not (yet) seen as a member, e.g. just woken from a stall: decide after the next heartbeat.
    if (me < 0) return undefined;
    const out = new Set<number>();
    for (let p = 0; p < this.connector.partitions; p++) if (p % members.length === me) out.add(p);
    return out;
  }

  private async rebalance(): Promise<void> {
    const want = this.desired();
    if (!want) return;
    for (const [p, part] of [...this.owned]) {
      if (want.has(p)) continue;
      // Everything of this partition is committed at a round boundary: hand it over.
      this.drop(p, 'rebalanced away');
      await this.connector.release(part.lease);
      this.counters.released++;
    }
    for (const p of want) {
      if (this.owned.has(p) || this.stopping) continue;
      const lease = await this.connector.acquire(p);
      if (!lease) continue;
      this.counters.acquired++;
      await this.open(lease);
    }
  }

  /** Takes over a partition: its checkpoint, then the entries a previous owner left uncommitted. */
  private async open(lease: PartitionLease): Promise<void> {
    const ckpt: PartitionCheckpoint = await this.connector.loadCheckpoint(lease);
    const part: Partition = { lease, lastId: ckpt.lastId, stored: ckpt.series, series: new Map(), ids: [], results: [], dead: [], touched: new Set() };
    this.owned.set(lease.partition, part);
    const claimed = await this.connector.claim(lease);
    this.counters.claimed += claimed.length;
    this.log(`partition ${lease.partition}: taken (${lease.token}), ${ckpt.series.size} series checkpointed, ${claimed.length} entries claimed`);
    const chunk = Math.max(1, this.o.count ?? 64);
    for (let i = 0; i < claimed.length && this.owned.get(lease.partition) === part; i += chunk) {
      await this.process(claimed.slice(i, i + chunk));
    }
  }

  private dropLost(): void {
    for (const p of this.lostLeases) {
      if (this.owned.has(p)) this.drop(p, 'lease lost');
    }
    this.lostLeases.clear();
  }

  /** Forgets a partition's in-memory state (its series' detector keys are abandoned). */
  private drop(p: number, why: string, quiet = false): void {
    const part = this.owned.get(p);
    if (!part) return;
    for (const s of part.series.values()) this.scorer.forget(s);
    this.owned.delete(p);
    if (why === 'lease lost') this.counters.lost++;
    if (!quiet) this.log(`partition ${p}: ${why}`);
  }

  /** Every series of every owned partition. */
  private liveSeries(): Series[] {
    return [...this.owned.values()].flatMap((p) => [...p.series.values()]);
  }

  /** The series' state in this partition: in memory, else from its checkpoint, else new. */
  private async seriesOf(part: Partition, seriesId: string): Promise<Series> {
    let s = part.series.get(seriesId);
    if (s) return s;
    s = new Series(seriesId, part, this.window, this.channels);
    const stored = part.stored.get(seriesId);
    let tail: { times: Float64Array; frames: Float32Array } = { times: new Float64Array(0), frames: new Float32Array(0) };
    if (stored !== undefined) {
      const c = decodeCheckpoint(stored, seriesId, this.channels);
      s.frames = c.frames;
      s.windowsTotal = c.windows;
      s.lastTime = c.lastTime;
      tail = { times: c.tailTimes, frames: c.tailFrames };
      // Normaliser state belongs to the model that produced the scores; another model starts afresh.
      if (this.o.normalizer) s.normalizer = this.o.normalizer(c.model === this.modelId ? c.normalizer : undefined);
      this.counters.restored++;
    } else if (this.o.normalizer) {
      s.normalizer = this.o.normalizer();
    }
    await this.scorer.prime(s, tail.times, tail.frames, () => this.liveSeries());
    part.series.set(seriesId, s);
    return s;
  }

  /** One round: push every entry, score every complete window, commit each partition. */
  private async process(entries: SourceEntry[]): Promise<void> {
    const parts = new Set<Partition>();
    for (const e of entries) {
      const part = this.owned.get(e.partition);
      if (!part) continue;
      // Already committed (cannot happen while commits are atomic; a replay would otherwise
      // make the whole round look like a duplicate).
      if (part.lastId && !idNewer(e.id, part.lastId)) continue;
      parts.add(part);
      part.ids.push(e.id);
      this.counters.entries++;
      let batch;
      try {
        batch = decodeEntry(e.fields, this.channels);
        const owner = partitionOf(batch.seriesId, this.connector.partitions);
        if (owner !== e.partition) {
          throw new SeismoError('ERR_BAD_ENTRY', `series '${batch.seriesId}' belongs to partition ${owner} (FNV-1a 32 of its UTF-8 mod ${this.connector.partitions}), not ${e.partition}`);
        }
      } catch (err) {
        this.deadLetter(part, e.id, err, '');
        continue;
      }
      const s = await this.seriesOf(part, batch.seriesId);
      if (!(batch.timestamps[0]! > s.lastTime)) {
        this.deadLetter(part, e.id, new SeismoError('ERR_TIMESTAMP_ORDER', `series '${s.seriesId}': first timestamp ${batch.timestamps[0]} is not after ${s.lastTime}`), s.seriesId);
        continue;
      }
      const n = batch.timestamps.length;
      // The entry is known before its frames go in: its windows may be delivered during write().
      s.entries.push({ id: e.id, end: s.written + n });
      s.remember(batch.timestamps, batch.frames, s.written);
      await this.scorer.write(s, batch.timestamps, batch.frames);
      s.written += n;
      s.frames += n;
      s.lastTime = batch.timestamps[n - 1]!;
      part.touched.add(s);
      this.counters.samples += n;
    }
    await this.scorer.detector.flush();
    // Never commit a round the detector reported trouble with: the consumer stops uncommitted.
    if (this.scorer.failure) throw this.scorer.failure;
    for (const part of parts) await this.commit(part);
  }

  private deadLetter(part: Partition, id: string, err: unknown, seriesId: string): void {
    const code = isSeismoError(err) ? err.code : 'ERR_BAD_ENTRY';
    part.dead.push({ id, code, reason: (err as Error).message, seriesId });
    this.counters.deadLetters++;
  }

  private async commit(part: Partition): Promise<void> {
    const p = part.lease.partition;
    if (this.owned.get(p) !== part || part.ids.length === 0) return;
    const checkpoints = new Map<string, string>();
    for (const s of part.touched) checkpoints.set(s.seriesId, s.checkpoint(this.modelId, this.scorer.detector.version, this.stride));
    const round = { ids: part.ids, results: part.results, deadLetters: part.dead, checkpoints };
    part.ids = [];
    part.results = [];
    part.dead = [];
    part.touched = new Set();
    const outcome = await this.connector.commit(part.lease, round);
    if (outcome === 'committed') {
      part.lastId = round.ids[round.ids.length - 1]!;
      // Later rounds must not re-read an older checkpoint of these series.
      for (const [id, text] of checkpoints) part.stored.set(id, text);
      this.counters.commits++;
      return;
    }
    if (outcome === 'fenced') {
      this.counters.fenced++;
      this.drop(p, 'lease lost');
      return;
    }
    // A duplicate: these entries were committed already. Reload the partition from Redis.
    this.drop(p, 'duplicate round; resynchronising');
  }

  private async shutdown(): Promise<void> {
    for (const [p, part] of [...this.owned]) {
      this.drop(p, 'released at shutdown', true);
      try {
        await this.connector.release(part.lease);
        this.counters.released++;
      } catch {
        // The lease expires by itself.
      }
    }
    await this.connector.close();
    await this.scorer?.close();
  }
}
