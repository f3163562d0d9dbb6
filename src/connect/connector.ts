/**
 * What a message broker must provide for {@link StreamConsumer} to run a group of detectors on
 * it. Redis Streams implements it in `redis-streams.ts`; a Kafka connector would map partitions
 * to topic partitions, leases to the group coordinator's assignment (with the generation id as
 * the fencing token), `commit` to a transaction that produces the results and commits the input
 * offsets (`sendOffsetsToTransaction`), and checkpoints to a compacted topic; NATS JetStream to
 * a stream with subject partitions, a key-value bucket for leases (revision = token) and
 * checkpoints, and acks after a deduplicated publish (`Nats-Msg-Id` = source id + window).
 *
 * The contract that makes output exactly once: `commit` writes the results, dead letters and
 * checkpoint of a partition, and acknowledges its entries, all or nothing, and only while the
 * lease is still held; a replayed commit (same entries) writes nothing.
 */

/** One input entry as delivered. */
export interface SourceEntry {
  /** Broker id, totally ordered within a partition (a Redis stream id, a Kafka offset). */
  id: string;
  partition: number;
  /** `[name, value, ...]` (see `wire.ts`). */
  fields: readonly (Buffer | string)[];
}

/** Exclusive ownership of one partition, fenced by a token that changes on every acquisition. */
export interface PartitionLease {
  partition: number;
  /** Owner name and fencing token; a commit under a stale token is refused. */
  token: string;
}

/** A partition's stored checkpoint: per series state and the last committed entry id. */
export interface PartitionCheckpoint {
  /** Last entry id whose effects are committed ('' = none). */
  lastId: string;
  /** Series id -> opaque checkpoint text (see `checkpoint.ts`). */
  series: Map<string, string>;
}

/** An entry that could not be scored, with why. */
export interface DeadLetter {
  id: string;
  /** `SeismoError` code (`ERR_BAD_ENTRY`, `ERR_BAD_SHAPE`, `ERR_NON_FINITE`, `ERR_TIMESTAMP_ORDER`). */
  code: string;
  reason: string;
  seriesId: string;
}

/** Everything one processing round produced for one partition. */
export interface PartitionCommit {
  /** Entry ids processed, in order (acknowledged by the commit). */
  ids: string[];
  /** Output entries, each a flat `[field, value, ...]` list. */
  results: string[][];
  deadLetters: DeadLetter[];
  /** Series id -> checkpoint text, for the series this round touched. */
  checkpoints: Map<string, string>;
}

/** What a commit did: written, already written (a replay), or refused because the lease is gone. */
export type CommitOutcome = 'committed' | 'duplicate' | 'fenced';

/** Group membership as last seen: live consumer names, sorted. */
export interface Membership {
  members: string[];
}

export interface Connector {
  /** Number of input partitions (fixed for the life of the group). */
  readonly partitions: number;
  /** This consumer's name in the group (unique among live members). */
  readonly name: string;
  /** Creates what the group needs (idempotent) and joins it. */
  start(): Promise<void>;
  /** Says this consumer is alive; returns the live members. */
  heartbeat(): Promise<Membership>;
  /** Extends held leases; returns the partitions whose lease was lost. */
  renew(leases: readonly PartitionLease[]): Promise<number[]>;
  /** Takes a free partition; undefined when another consumer holds it. */
  acquire(partition: number): Promise<PartitionLease | undefined>;
  /** Gives a partition up (after its last commit). */
  release(lease: PartitionLease): Promise<void>;
  /** Entries a previous owner received but never committed, oldest first; they become ours. */
  claim(lease: PartitionLease): Promise<SourceEntry[]>;
  loadCheckpoint(lease: PartitionLease): Promise<PartitionCheckpoint>;
  /**
   * New entries of the given partitions (at most `count` per partition), delivered only for
   * leases still held; waits up to `blockMs` when there are none. `lost` lists partitions whose
   * lease was found gone.
   */
  read(leases: readonly PartitionLease[], count: number, blockMs: number): Promise<{ entries: SourceEntry[]; lost: number[] }>;
  /** Writes one partition's round atomically under its lease (see the module comment). */
  commit(lease: PartitionLease, round: PartitionCommit): Promise<CommitOutcome>;
  /** Leaves the group (others take over at once) and closes connections. */
  close(): Promise<void>;
}
