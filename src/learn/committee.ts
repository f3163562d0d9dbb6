/**
 * Query by committee: the version the last update replaced (kept for rollback anyway) scores a
 * pool of each mini-batch's windows in an inference worker of its own, and half of the questions
 * go to the windows the two versions disagree on most (see `selectByCommittee`). Selections run
 * one after another, in stream order; scoring never waits for them.
 */
import { InferenceWorker } from '../infer/inference-worker.js';
import { relativeLogScore, selectByCommittee, type Candidate, type QueryReason } from './select.js';

/** A window offered to the committee, with its frames already copied. */
export interface PoolEntry<T> {
  candidate: Candidate;
  frames: Float32Array;
  item: T;
}

/** The committee's second member and the chain of its selections. */
export class Committee {
  private member: { worker: InferenceWorker; threshold: number } | undefined;
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  /** True once there is a replaced version to compare with. */
  get ready(): boolean {
    return this.member !== undefined;
  }

  /** The promise of the selections queued so far. */
  get pending(): Promise<void> {
    return this.chain;
  }

  /** Makes `onnx` (the version an update replaced) the second member. */
  async setMember(onnx: Uint8Array, threshold: number): Promise<void> {
    const worker = await InferenceWorker.start(onnx, { provider: 'cpu', intraOpThreads: 1 });
    if (this.closed) {
      await worker.close();
      return;
    }
    const old = this.member;
    this.member = { worker, threshold };
    // Selections already queued may still use the old member: close it after them.
    if (old) this.chain = this.chain.then(() => old.worker.close());
  }

  /**
   * Has the member score the pool (raw windows, `window` frames of `channels` each), then calls
   * `ask` with the chosen entries. `budget` is read when the scores are in (the queue moved on).
   */
  select<T>(pool: PoolEntry<T>[], window: number, channels: number, budget: () => number, band: number, rand: () => number, ask: (entry: PoolEntry<T>, reason: QueryReason) => void): void {
    const member = this.member;
    if (!member || pool.length === 0) return;
    const per = window * channels;
    this.chain = this.chain.then(async () => {
      if (this.closed) return;
      const frames = new Float32Array(pool.length * per);
      pool.forEach((p, j) => frames.set(p.frames, j * per));
      const disagreement = new Map<number, number>();
      try {
        const out = await member.worker.runFrames(frames, channels, BigInt64Array.from(pool, (_, j) => BigInt(j * window)));
        pool.forEach((p, j) => {
          const d = Math.abs(relativeLogScore(p.candidate.score, p.candidate.threshold) - relativeLogScore(out.score![j]!, member.threshold));
          if (Number.isFinite(d)) disagreement.set(p.candidate.index, d);
        });
      } catch {
        // The member could not score (closed by a later swap): select by uncertainty alone.
      }
      if (this.closed) return;
      const byIndex = new Map(pool.map((p) => [p.candidate.index, p]));
      for (const { candidate, reason } of selectByCommittee(pool.map((p) => p.candidate), disagreement, budget(), band, rand)) ask(byIndex.get(candidate.index)!, reason);
    });
  }

  async close(): Promise<void> {
    this.closed = true;
    await this.chain;
    await this.member?.worker.close();
    this.member = undefined;
  }
}
