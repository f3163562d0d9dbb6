/**
 * Samples of online mode on their way into a model's rings, after the sample gate: a warming
 * series keeps them (and, once complete, fits its scaler, gives its windows to training and queues
 * the context of its first window); later ones are scaled and pushed, or queued while the model is
 * not ready (not yet fitted, held for a blocking update, rings full). The pump writes the queues
 * when their model can take them. Per sample nothing is allocated (queues grow by doubling).
 */
import { isSeismoError } from '../errors.js';
import { live, type ModelGroup } from './online-model.js';
import type { ResolvedPolicy } from './policy.js';
import type { SampleSink } from './sample-gate.js';
import type { SeriesState } from './series.js';

/** What the feeder needs from the engine. */
export interface FeederHost {
  readonly groups: readonly ModelGroup[];
  closed(): boolean;
  /** Starts a model's update (the first fit when `initial`). */
  startUpdate(g: ModelGroup, initial: boolean): void;
  /** Blocking learning: holds the model's series and starts its update. */
  startBlockingUpdate(g: ModelGroup): void;
  /** The pump failed: the engine reports it and fails later calls. */
  fail(err: Error): void;
}

export class SampleFeeder implements SampleSink {
  /** Series with samples in their queues. */
  readonly pending = new Set<SeriesState>();
  /** The pump while it runs. */
  pumping: Promise<void> | undefined;
  /** Series whose queue the pump is writing: new samples queue behind it. */
  private readonly draining = new Set<SeriesState>();
  private readonly channels: number;
  private readonly scaled: Float32Array;
  /** Weight of a new sample in the scaler's adaptation (0: the warm-up scaler is kept). */
  private readonly alpha: number;

  constructor(
    private readonly host: FeederHost,
    private readonly policy: ResolvedPolicy,
    channels: number,
    private readonly window: number,
  ) {
    this.channels = channels;
    this.scaled = new Float32Array(channels);
    this.alpha = policy.scalerHalfLife > 0 ? 1 - Math.pow(0.5, 1 / policy.scalerHalfLife) : 0;
  }

  accept(s: SeriesState, timestamp: number, raw: Float32Array): void {
    const C = this.channels;
    s.lastTime = timestamp;
    if (raw !== s.last) s.last.set(raw);
    s.hasLast = true;
    s.counters.samples++;
    if (s.warming) {
      s.warmTimes![s.warmCount] = timestamp;
      s.warmFrames!.set(raw, s.warmCount * C);
      s.warmCount++;
      if (s.warmCount === this.policy.warmup) this.finishWarmup(s);
      return;
    }
    if (this.alpha > 0) s.adapt(raw, this.alpha);
    if (s.scorer) s.keepRaw(raw);
    s.scale(raw, this.scaled, this.policy.clip);
    this.send(s, timestamp, this.scaled);
  }

  /** Scaled sample into the model's rings, or into the series' queue when the model is not ready. */
  private send(s: SeriesState, timestamp: number, scaled: Float32Array): void {
    const g = this.host.groups[s.group]!;
    s.noteSent(timestamp, scaled);
    if (!g.trained || g.hold || s.queueCount > 0 || this.draining.has(s)) {
      s.enqueue(timestamp, scaled);
      this.pending.add(s);
    } else {
      try {
        live(g).push(s.id, timestamp, scaled);
        s.pushed++;
        if (this.policy.learning === 'blocking' && ++g.pushedSince >= this.policy.updateEvery * this.policy.admitEvery) this.host.startBlockingUpdate(g);
      } catch (err) {
        if (!isSeismoError(err, 'ERR_RING_OVERFLOW')) throw err;
        // Scoring lags behind: queue it; the pump writes it when there is room.
        s.enqueue(timestamp, scaled);
        this.pending.add(s);
        this.schedulePump();
      }
    }
  }

  /** The warm-up is complete: fit the scaler, give its windows to training, queue the context of the first scored window. */
  private finishWarmup(s: SeriesState): void {
    const W = this.window;
    const C = this.channels;
    const n = s.warmCount;
    s.fitScaler();
    // A scorer sees every sample in order: the warm-up ones have no deep score.
    if (s.scorer) for (let t = 0; t < n; t++) s.scorer.update(s.warmFrames!, NaN, t * C);
    const scaled = new Float32Array(n * C);
    for (let t = 0; t < n; t++) s.scale(s.warmFrames!.subarray(t * C, (t + 1) * C), scaled.subarray(t * C, (t + 1) * C), this.policy.clip);
    const g = this.host.groups[s.group]!;
    g.members.push(s);
    // The first fit learns from every warm-up window; later warm-ups give every admitEvery-th.
    const every = g.trained || g.updating ? this.policy.admitEvery : 1;
    for (let start = 0; start + W <= n; start += every) g.buffer.add(s.index, -1, scaled.subarray(start * C, (start + W) * C));
    if (g.trained) g.admittedSince += Math.floor((n - W) / every) + 1;
    const times = s.warmTimes!;
    s.warming = false;
    s.warmTimes = undefined;
    s.warmFrames = undefined;
    // The last W-1 warm-up samples are the context of the first scored window (they make no window themselves).
    for (let t = n - W + 1; t < n; t++) {
      const frame = scaled.subarray(t * C, (t + 1) * C);
      s.noteSent(times[t]!, frame);
      s.enqueue(times[t]!, frame);
    }
    this.pending.add(s);
    if (!g.trained && !g.updating && g.detector) this.host.startUpdate(g, true);
    else this.schedulePump();
  }

  schedulePump(): void {
    if (this.pumping || this.host.closed()) return;
    this.pumping = this.pump()
      .catch((err: Error) => this.host.fail(err))
      .finally(() => {
        this.pumping = undefined;
      });
  }

  private async pump(): Promise<void> {
    const C = this.channels;
    const p = this.policy;
    for (;;) {
      let progressed = false;
      for (const s of [...this.pending]) {
        const g = this.host.groups[s.group]!;
        if (!g.trained || g.hold || this.host.closed()) continue;
        const n = s.queueCount;
        if (n === 0) {
          this.pending.delete(s);
          continue;
        }
        // Blocking learning: write up to the sample at which the next update is due, no further.
        const m = p.learning === 'blocking' ? Math.min(n, p.updateEvery * p.admitEvery - g.pushedSince) : n;
        this.draining.add(s);
        try {
          // Samples queued meanwhile are appended after these (a grown queue is a new array; the views stay valid).
          await live(g).write(s.id, s.queueTimes.subarray(0, m), s.queueFrames.subarray(0, m * C));
        } finally {
          this.draining.delete(s);
        }
        s.pushed += m;
        s.queueTimes.copyWithin(0, m, s.queueCount);
        s.queueFrames.copyWithin(0, m * C, s.queueCount * C);
        s.queueCount -= m;
        if (s.queueCount === 0) this.pending.delete(s);
        progressed = true;
        if (p.learning === 'blocking' && (g.pushedSince += m) >= p.updateEvery * p.admitEvery) this.host.startBlockingUpdate(g);
      }
      if (!progressed) return;
    }
  }
}
