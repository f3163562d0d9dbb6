/**
 * Context novelty: a per-series, per-channel streaming detector that learns which value levels,
 * and which level follows which, the series has shown so far, and scores each sample by how
 * improbable its level is in its context.
 *
 * Why: on NAB, forecast error alone stays below 40 (the value is judged against a prediction,
 * and noisy series are always mispredicted a little), while the detectors above 55 learn the
 * context of each value online (CAD OSE, KNN-CAD, HTM, ARTime). The essence we keep from them:
 * quantise the value coarsely, count what has been seen, and call the unseen unusual. Our own
 * choices:
 *
 * - Levels. The first `warmup` samples fix a range [lo, lo + span]; a value's level is
 *   `floor((x - lo) / span * levels)`, NOT clipped: a value beyond the warm-up range lands on a
 *   level never seen, which is what an out-of-range spike or a level shift is.
 * - Context model. Orders 0..`order` (level alone, level after the previous level, ...), each
 *   with additive smoothing `alpha` over the distinct levels seen so far plus one for the unseen,
 *   averaged: P(x) = mean_k (c_k(ctx, x) + alpha) / (c_k(ctx) + alpha * (S + 1)). A tiny alpha
 *   makes a never-seen level cost ~log(n / alpha): the longer a series behaved, the more its
 *   first novelty means.
 * - Output. The predictive probability P is a tail probability in the sense of
 *   src/score/normalize.ts, so the score is `tailToNormalized(P)`: the same scale as the
 *   normaliser's, and the same alarm-rate threshold applies.
 *
 * Cost: O(1) per sample (a few hash-map reads and writes keyed by packed integers); memory grows
 * with the number of distinct levels and level pairs seen, which is bounded by how far the
 * values range (levels are clamped to +-32767): a few hundred entries on NAB's series.
 */
import { SeismoError } from '../errors.js';
import { tailToNormalized } from './normalize.js';

/** Options of {@link ContextNovelty}. */
export interface ContextNoveltyOptions {
  /** Levels across the warm-up range. Coarser levels forgive noise, finer ones see more. Default 8. */
  levels?: number;
  /** Highest context order: 0 = level alone, 1 = also the level after the previous one, 2 = after the previous two. Default 1. */
  order?: number;
  /** Additive smoothing of the counts; smaller = a never-seen level is more surprising. Default 0.001. */
  alpha?: number;
  /** Samples that fix the level range (and are learnt from, scored 0). At least 2. Default 600. */
  warmup?: number;
  /** Improbability in decades mapped to 0.5, as the normaliser's `decades`. Default 10. */
  decades?: number;
}

/** Plain-JSON state of one {@link ContextNovelty}. */
export interface ContextNoveltyState {
  options: Required<ContextNoveltyOptions>;
  /** Samples seen. */
  n: number;
  /** Levels counted (samples seen once the warm-up is over). */
  learnt: number;
  /** Warm-up values held until the range is fixed (empty after). */
  pending: number[];
  lo: number;
  span: number;
  /** The last `order` levels, oldest first. */
  history: number[];
  /** Count tables per order as [key, count] pairs: `counts[k]` for (context, level), `contexts[k]` for the context alone. */
  counts: Array<Array<[number, number]>>;
  contexts: Array<Array<[number, number]>>;
  /** Distinct levels seen. */
  distinct: number;
}

const MAX_LEVEL = 32767;
const OFFSET = 32768;
const BASE = 65536;

function resolve(o: ContextNoveltyOptions): Required<ContextNoveltyOptions> {
  const r: Required<ContextNoveltyOptions> = {
    levels: o.levels ?? 8,
    order: o.order ?? 1,
    alpha: o.alpha ?? 0.001,
    warmup: o.warmup ?? 600,
    decades: o.decades ?? 10,
  };
  const fail = (what: string): never => {
    throw new SeismoError('ERR_INVALID_OPTION', `context novelty: ${what}`);
  };
  if (!Number.isInteger(r.levels) || r.levels < 2 || r.levels > 1024) fail(`levels must be an integer in [2, 1024], got ${r.levels}`);
  if (!Number.isInteger(r.order) || r.order < 0 || r.order > 2) fail(`order must be 0, 1 or 2, got ${r.order}`);
  if (!(r.alpha > 0)) fail(`alpha must be > 0, got ${r.alpha}`);
  if (!Number.isInteger(r.warmup) || r.warmup < 2) fail(`warmup must be an integer >= 2, got ${r.warmup}`);
  if (!(r.decades > 0)) fail(`decades must be > 0, got ${r.decades}`);
  return r;
}

/** One channel of one series. */
export class ContextNovelty {
  readonly options: Readonly<Required<ContextNoveltyOptions>>;
  private n = 0;
  private pending: Float64Array | null;
  private pendingCount = 0;
  private lo = 0;
  private span = 1;
  private readonly history: Int32Array;
  private readonly counts: Map<number, number>[];
  private readonly contexts: Map<number, number>[];
  private distinct = 0;
  /** Levels counted so far (the warm-up's once the range is fixed, then one per sample). */
  private learnt = 0;

  constructor(options: ContextNoveltyOptions = {}, state?: ContextNoveltyState) {
    this.options = resolve(state ? state.options : options);
    const o = this.options;
    this.history = new Int32Array(o.order);
    this.counts = Array.from({ length: o.order + 1 }, () => new Map<number, number>());
    this.contexts = Array.from({ length: o.order + 1 }, () => new Map<number, number>());
    this.pending = new Float64Array(o.warmup);
    if (state) this.restore(state);
  }

  /**
   * Feeds one value and returns its score in [0, 1) (0 during the warm-up). NaN returns NaN
   * and changes nothing.
   */
  update(x: number): number {
    if (Number.isNaN(x)) return NaN;
    this.n++;
    if (this.pending !== null) {
      this.pending[this.pendingCount++] = x;
      if (this.pendingCount === this.pending.length) this.fixRange();
      return 0;
    }
    return this.learn(this.level(x));
  }

  /** The plain-JSON state; `new ContextNovelty(undefined, state)` resumes from it. */
  toJSON(): ContextNoveltyState {
    const o = this.options;
    const history: number[] = [];
    for (let k = Math.min(this.learnt, o.order); k >= 1; k--) history.push(this.history[k - 1]!);
    return {
      options: { ...o },
      n: this.n,
      learnt: this.learnt,
      pending: this.pending ? Array.from(this.pending.subarray(0, this.pendingCount)) : [],
      lo: this.lo,
      span: this.span,
      history,
      counts: this.counts.map((m) => [...m.entries()]),
      contexts: this.contexts.map((m) => [...m.entries()]),
      distinct: this.distinct,
    };
  }

  private restore(s: ContextNoveltyState): void {
    const bad = (what: string): never => {
      throw new SeismoError('ERR_MODEL_CORRUPT', `context novelty state: ${what}`);
    };
    const o = this.options;
    if (!Number.isFinite(s.lo) || !(s.span > 0) || !Number.isInteger(s.n) || s.n < 0 || !Number.isInteger(s.learnt) || s.learnt < 0) bad('lo, span, n and learnt must be finite (span > 0, n and learnt >= 0)');
    if (!Array.isArray(s.counts) || s.counts.length !== o.order + 1 || !Array.isArray(s.contexts) || s.contexts.length !== o.order + 1) bad(`needs ${o.order + 1} count tables`);
    if (!Array.isArray(s.pending) || s.pending.length > o.warmup) bad('pending holds more values than the warm-up');
    this.n = s.n;
    this.learnt = s.learnt;
    this.lo = s.lo;
    this.span = s.span;
    this.distinct = s.distinct;
    s.counts.forEach((t, k) => t.forEach(([key, c]) => this.counts[k]!.set(key, c)));
    s.contexts.forEach((t, k) => t.forEach(([key, c]) => this.contexts[k]!.set(key, c)));
    // history is stored oldest first; the ring keeps the most recent at index 0.
    const h = s.history.slice(-o.order);
    for (let i = 0; i < h.length; i++) this.history[i] = h[h.length - 1 - i]!;
    if (s.n >= o.warmup) this.pending = null;
    else {
      this.pendingCount = 0;
      for (const v of s.pending) this.pending![this.pendingCount++] = v;
    }
  }

  private fixRange(): void {
    const p = this.pending!;
    let lo = Infinity;
    let hi = -Infinity;
    for (let i = 0; i < p.length; i++) {
      if (p[i]! < lo) lo = p[i]!;
      if (p[i]! > hi) hi = p[i]!;
    }
    // A flat warm-up: levels 1% of the value wide (or an absolute sliver at 0), so that any
    // later change is a new level instead of a division by zero.
    let span = hi - lo;
    if (!(span > 0)) span = Math.max(Math.abs(lo) * 0.01 * this.options.levels, 1e-9);
    this.lo = lo;
    this.span = span;
    this.pending = null;
    // The warm-up is learnt from, in order, like any later sample.
    for (let i = 0; i < p.length; i++) this.learn(this.level(p[i]!));
  }

  private level(x: number): number {
    const l = Math.floor(((x - this.lo) / this.span) * this.options.levels);
    return l > MAX_LEVEL ? MAX_LEVEL : l < -MAX_LEVEL ? -MAX_LEVEL : l;
  }

  /** Scores a level against the counts so far, then counts it. */
  private learn(x: number): number {
    const o = this.options;
    const seen = this.learnt < o.order ? this.learnt : o.order;
    const denomLevels = this.distinct + 1;
    let p = 0;
    let orders = 0;
    for (let k = 0; k <= o.order; k++) {
      // Contexts the stream has not reached yet (the first samples) are skipped, not invented.
      if (k > seen) break;
      let ctx = 0;
      for (let j = 0; j < k; j++) ctx = ctx * BASE + (this.history[j]! + OFFSET);
      const key = ctx * BASE + (x + OFFSET);
      const cx = this.counts[k]!.get(key) ?? 0;
      const c = this.contexts[k]!.get(ctx) ?? 0;
      p += (cx + o.alpha) / (c + o.alpha * denomLevels);
      orders++;
      if (k === 0 && cx === 0) this.distinct++;
      this.counts[k]!.set(key, cx + 1);
      this.contexts[k]!.set(ctx, c + 1);
    }
    for (let j = o.order - 1; j > 0; j--) this.history[j] = this.history[j - 1]!;
    if (o.order > 0) this.history[0] = x;
    this.learnt++;
    return tailToNormalized(p / orders, o.decades);
  }
}
