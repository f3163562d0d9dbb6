/**
 * The scoring pipeline: batches in flight to the inference workers, their delivery strictly in
 * dispatch order (so that rules see each series in time order and ring releases only move
 * forward), and what a delivery produces (scores, decisions, `batch` and `anomaly` events).
 *
 * A batch whose worker fails is not lost: its frames stay in the rings until it is delivered, so
 * the versions' recovery (a restarted worker, or an automatic rollback) scores it again, once.
 * Only when nothing can score it does the pipeline fail: the `error` event, then every pending
 * and later call rejects with the coded error until a swap or rollback succeeds.
 */
import { isSeismoError, SeismoError } from '../errors.js';
import type { InferenceOutputs } from '../infer/inference-worker.js';
import { Outbox } from '../infer/outbox.js';
import { GRAPH_IO } from '../model/manifest.js';
import { ChannelAttribution, checkAttributionOptions, FLAGGED_WINDOW, LEARN_WINDOW, SKIP_WINDOW, type ChannelAttributionOptions } from '../score/attribution.js';
import { channelTermOf, termAverageOf, type ChannelLogSpec } from '../score/channel-terms.js';
import { AttributionMemory, topChannels, topChannelsScratch, type TopChannelsScratch } from '../score/top-channels.js';
import { normalizeScore } from '../score/calibration.js';
import type { Batch, WindowBatcher } from './batcher.js';
import type { DetectorEmitter } from './events.js';
import type { AnomalyEvent } from './types.js';
import type { LiveModel, ModelVersions } from './versions.js';
import type { ScoreCalibration } from '../model/model-dir.js';

export interface PipelineOptions {
  channels: readonly string[];
  batchSize: number;
  maxInFlight: number;
  topChannels: number;
  /** Channel attribution's online tracking (src/score/attribution.ts). */
  attribution?: ChannelAttributionOptions;
  /** See `DetectorOptions.maxLatencyMs`; undefined: partial batches go only on flush/drain. */
  maxLatencyMs?: number;
}

export class ScoringPipeline {
  windowsScored = 0;
  /** Windows that the step graph scored (stride 1), the others going through the window graph. */
  windowsStepped = 0;
  /** Windows of batches that nothing could score (given up with an `error` event). */
  windowsFailed = 0;
  batches = 0;
  anomalies = 0;
  closed = false;
  /** Deliveries of the batches in flight, oldest first. */
  private readonly inFlight: Promise<void>[] = [];
  /** The delivery of the batch dispatched last: each batch delivers after the one before it. */
  private lastDelivery: Promise<void> = Promise.resolve();
  private failure: Error | undefined;
  /** Each version's attribution state, with the calibration it was made from (a new calibration restarts it). */
  private readonly attributions = new WeakMap<LiveModel, { from: ScoreCalibration | undefined; state: ChannelAttribution }>();
  /** Scratch for an event's ranking and shares (C each): events allocate only what they hand out. */
  private readonly top: TopChannelsScratch;
  /** The attribution state made last, and its model's kind (a version without statistics starts from it). */
  private lastAttribution: { kind: string; state: ChannelAttribution } | undefined;
  private readonly memory: AttributionMemory | undefined;
  /** See `attributionScratch`. */
  private scratchRows = new Float32Array(0);
  /** See `windowScratch`. */
  private scratchWindows = { decisions: new Uint8Array(0), thresholds: new Float64Array(0), timestamps: new Float64Array(0) };
  /** Shared slots the workers write a batch's outputs into, one per batch in flight (see src/infer/outbox.ts). */
  private readonly outbox: Outbox;
  /** The max-latency deadline of the windows pending now (armed while some are, with `maxLatencyMs`). */
  private deadline: ReturnType<typeof setTimeout> | undefined;
  /** Windows whose deadline has passed and that are not dispatched yet: they go even as a partial batch. */
  private overdue = 0;

  constructor(
    private readonly batcher: WindowBatcher,
    private readonly models: ModelVersions,
    private readonly events: DetectorEmitter,
    private readonly o: PipelineOptions,
  ) {
    this.top = topChannelsScratch(o.channels.length);
    checkAttributionOptions(o.attribution);
    const memory = o.attribution?.memory ?? 0.3;
    this.memory = memory < 1 ? new AttributionMemory(batcher.slots, o.channels.length, memory) : undefined;
    // The outputs every batch reads, and `channel_activity` when the live model's graph has it (a
    // version without it just leaves that part unused; one with it that the layout lacks sends it).
    const C = o.channels.length;
    const outputs: { name: string; width: number }[] = [{ name: GRAPH_IO.score, width: 1 }, { name: GRAPH_IO.channelScore, width: C }];
    if (models.live.model.manifest.onnx.outputs.includes(GRAPH_IO.channelActivity)) outputs.push({ name: GRAPH_IO.channelActivity, width: C });
    this.outbox = new Outbox({ windows: o.batchSize, outputs, logTerms: C }, o.maxInFlight);
  }

  /**
   * Dispatches full batches while the workers have room, and overdue windows (past `maxLatencyMs`)
   * even as a partial batch. With `maxLatencyMs`, arms the deadline of what stays pending.
   */
  pump(): void {
    while (this.inFlight.length < this.o.maxInFlight && (this.batcher.pendingWindows >= this.o.batchSize || (this.overdue > 0 && this.batcher.pendingWindows > 0))) {
      this.overdue = Math.max(0, this.overdue - this.dispatch());
    }
    if (this.batcher.pendingWindows === 0) this.overdue = 0;
    else if (this.o.maxLatencyMs !== undefined && this.deadline === undefined && !this.closed && !this.failure) {
      // One timer for everything pending now: windows that complete later ride on it and go
      // early, which at low rates is the point; at saturation full batches go first anyway.
      this.deadline = setTimeout(this.onDeadline, this.o.maxLatencyMs);
    }
  }

  /** The deadline passed: whatever is pending now goes as soon as a worker has room. */
  private readonly onDeadline = (): void => {
    this.deadline = undefined;
    if (this.closed || this.failure) return;
    this.overdue = this.batcher.pendingWindows;
    this.pump();
  };

  /**
   * Waits for room, not for the backlog: until the ring of `slot` (default: of every series) can
   * take a frame again. Each round waits for the oldest batch in flight to be delivered (which
   * frees its frames), sending a partial batch first when nothing is in flight.
   */
  async drain(slot?: number): Promise<void> {
    this.throwIfFailed();
    while (slot === undefined ? this.batcher.anyFull() : this.batcher.room(slot) <= 0) await this.makeRoom();
  }

  /** Scores every complete window stored so far, partial batches included. */
  async flush(): Promise<void> {
    while (this.batcher.pendingWindows > 0 || this.inFlight.length > 0) {
      while (this.batcher.pendingWindows > 0 && this.inFlight.length < this.o.maxInFlight) this.dispatch();
      if (this.inFlight.length > 0) await this.inFlight[0];
      this.throwIfFailed();
    }
  }

  /** Waits until the oldest batch in flight is delivered (its frames are then free), dispatching a partial batch if none is. */
  async makeRoom(): Promise<void> {
    this.throwIfFailed();
    if (this.inFlight.length === 0) {
      if (this.batcher.pendingWindows === 0) {
        throw new SeismoError('ERR_RING_OVERFLOW', 'ring full with no window to score: capacity is too small for the window and stride');
      }
      this.dispatch();
    }
    await this.inFlight[0];
    this.throwIfFailed();
  }

  /** Stops dispatching and waits for what is in flight. */
  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.deadline);
    this.deadline = undefined;
    await Promise.allSettled(this.inFlight);
  }

  throwIfFailed(): void {
    if (this.failure) throw this.failure;
  }

  /** A switch succeeded: the versions can score again, so the pipeline takes calls again. */
  clearFailure(): void {
    this.failure = undefined;
  }

  /** Sends up to `batchSize` ready windows to the live version's worker; returns how many. */
  private dispatch(): number {
    const live = this.models.live;
    const batch = this.batcher.next(live, live.worker.step && this.batcher.stride === 1);
    if (!batch) return 0;
    batch.model.inFlight++;
    // Both graphs write a batch's outputs into a slot (the step scorer directly, as it steps).
    const slot = this.outbox.take();
    // The worker computes the attribution's logarithms too when this version's attribution state
    // exists already (not created here: states are made at delivery, in order, see attributionOf).
    const had = this.attributions.get(live);
    const logs = slot !== undefined && had && had.from === live.calibration ? had.state.logSpec : undefined;
    const scored = this.score(batch, slot, logs);
    // Across a swap two workers run at once: deliver strictly in dispatch order anyway.
    const previous = this.lastDelivery;
    let scoredOk = false;
    const done = Promise.all([scored, previous])
      .then(([out]) => {
        scoredOk = true;
        this.deliver(batch, out, slot);
      })
      .catch((err: unknown) => {
        if (!scoredOk) this.abandon(batch);
        this.fail(err);
      })
      .finally(() => {
        if (slot !== undefined) this.outbox.give(slot);
        this.models.batchDone(batch.model);
        this.inFlight.splice(this.inFlight.indexOf(done), 1);
        if (!this.closed && !this.failure) this.pump();
      });
    this.lastDelivery = done;
    this.inFlight.push(done);
    return batch.size;
  }

  /** Runs a batch on its version's worker; after a failure, on what the versions' recovery names. */
  private async score(batch: Batch, slot: number | undefined, logs: ChannelLogSpec | undefined): Promise<InferenceOutputs> {
    const span = this.batcher.span(batch);
    for (;;) {
      const model = batch.model;
      const worker = model.worker;
      try {
        // Stride 1 with a step graph: each series' state continues from its previous window.
        if (worker.step && this.batcher.stride === 1) {
          const outbox = slot === undefined ? undefined : { box: this.outbox, slot, logs };
          const { outputs, stepped } = await worker.runSteps(this.batcher.rings.id, span.rowStart, span.rowCount, span.starts, batch.slots.subarray(0, batch.size), batch.starts.subarray(0, batch.size), outbox);
          if (stepped) this.windowsStepped += batch.size;
          return outputs;
        }
        return await worker.runArena(this.batcher.rings.id, span.rowStart, span.rowCount, span.starts, slot === undefined ? undefined : { box: this.outbox, slot, logs });
      } catch (err) {
        if (this.closed) throw err;
        const next = await this.models.recover(model, worker, err);
        if (next !== model) {
          next.inFlight++;
          batch.model = next;
          batch.rule = next.rule;
          this.models.batchDone(model);
        }
      }
    }
  }

  /** Gives up a batch nothing could score: its windows are counted lost and its frames freed (else a full ring would stay full). */
  private abandon(batch: Batch): void {
    this.windowsFailed += batch.size;
    if (!this.closed) this.batcher.release(batch);
  }

  /** A batch nothing could score (or whose delivery threw): report it once, and fail the calls. */
  private fail(err: unknown): void {
    // Closing abandons what is in flight; that is no failure.
    if (this.closed && isSeismoError(err, 'ERR_DISPOSED')) return;
    const error = isSeismoError(err) ? err : new SeismoError('ERR_INFERENCE', `scoring a batch failed: ${err instanceof Error ? err.message : String(err)}`, {}, { cause: err });
    if (this.failure) return;
    this.failure = error;
    this.events.emit('error', error);
  }

  private deliver(batch: Batch, out: InferenceOutputs, outboxSlot: number | undefined): void {
    const scores = out.score!;
    const channelScores = out.channel_score!;
    // From the window graph, or kept per series by a step worker (the step graph has no such output).
    const activity = out[GRAPH_IO.channelActivity];
    // Attention weights over past steps, from graphs that output them (DeepAnT's `bahdanau`).
    const attention = out[GRAPH_IO.attention];
    const steps = attention ? attention.length / batch.size : 0;
    const channels = this.o.channels.length;
    const n = batch.size;
    // What only a `batch` event hands out is made only when someone listens for it: at window 1
    // a batch is 1024 records, and these arrays (the attribution most) were allocated and
    // garbage-collected per batch. Without a listener the attribution goes to a scratch reused
    // from batch to batch (the memory and the events need each window's row, nothing keeps it).
    const report = this.events.listening('batch');
    const seriesIds = report ? new Array<string>(n) : undefined;
    const timestamps = report ? new Float64Array(n) : undefined;
    const anomalies = report ? new Uint8Array(n) : undefined;
    const thresholds = report ? new Float64Array(n) : undefined;
    const normalizedScores = report ? new Float32Array(n).fill(NaN) : undefined;
    const calibration = batch.model.calibration;
    const attribution = report ? new Float32Array(n * channels).fill(NaN) : this.attributionScratch(n * channels);
    const attr = this.attributionOf(batch.model);
    const attributionSource = attr.source;
    // ln e_c from the worker when it computed them for this very state (else attributeAndLearn does).
    const logTerms = outboxSlot === undefined ? undefined : this.outbox.logTermsOf(outboxSlot, attr.logSpec, n);
    const memory = attributionSource === 'channel-z' ? this.memory : undefined;
    const rule = batch.rule;
    const announce = this.events.listening('anomaly');
    const batcher = this.batcher;
    const slots = batch.slots;
    const { decisions, thresholds: flaggedAt, timestamps: flaggedTimes } = this.windowScratch(n);
    let scored = 0;
    let flagged = 0;
    // First the rule, window by window (each series' windows reach it once each and in time
    // order, as streaming rules need); then the attribution of the whole batch in one call, and
    // the memory; then the events. Each of these states sees the windows in the same order as a
    // window-by-window loop would, so every value is the same.
    for (let i = 0; i < n; i++) {
      const slot = slots[i]!;
      const start = batch.starts[i]!;
      if (seriesIds) seriesIds[i] = batcher.seriesIds[slot]!;
      if (batcher.overwritten(slot, start)) {
        // drop-oldest overwrote this window while it was scored: its score is not trusted.
        scores[i] = NaN;
        if (thresholds) thresholds[i] = NaN;
        batcher.windowsDropped++;
        decisions[i] = SKIP_WINDOW;
        continue;
      }
      scored++;
      const score = scores[i]!;
      if (normalizedScores && calibration) normalizedScores[i] = normalizeScore(score, calibration);
      (timestamps ?? flaggedTimes)[i] = batcher.timestampOf(slot, start);
      const anomalous = rule.decide(score, channelScores, slot, i * channels);
      // The threshold in force for this window (a streaming rule moves it with the next ones).
      if (thresholds) thresholds[i] = rule.threshold(slot);
      else if (anomalous) flaggedAt[i] = rule.threshold(slot);
      decisions[i] = anomalous ? FLAGGED_WINDOW : LEARN_WINDOW;
      if (anomalous) {
        flagged++;
        if (anomalies) anomalies[i] = 1;
      }
    }
    // The windows' attribution and, where the rule let them pass, what they teach the channels'
    // normal errors (only unflagged windows do); each row then folded into its series' memory.
    attr.attributeAndLearnBatch(channelScores, scores, activity, n, decisions, slots, attribution, logTerms, memory);
    this.anomalies += flagged;
    if (flagged > 0 && announce) {
      for (let i = 0; i < n; i++) {
        if (decisions[i] !== FLAGGED_WINDOW) continue;
        const slot = slots[i]!;
        const timestamp = (timestamps ?? flaggedTimes)[i]!;
        const threshold = (thresholds ?? flaggedAt)[i]!;
        const event = this.event(batcher.seriesIds[slot]!, timestamp, scores[i]!, threshold, attribution, i * channels, attributionSource);
        if (attention) event.attention = attention.slice(i * steps, (i + 1) * steps);
        this.events.emit('anomaly', event);
      }
    }
    batcher.release(batch);
    this.windowsScored += scored;
    this.batches++;
    if (report) {
      // Listeners may keep what a batch event hands them: not the outbox slot, which the next batch reuses.
      const shared = scores.buffer instanceof SharedArrayBuffer;
      this.events.emit('batch', { size: n, seriesIds: seriesIds!, timestamps: timestamps!, starts: batch.starts.subarray(0, n), scores: shared ? scores.slice() : scores, channelScores: shared ? channelScores.slice() : channelScores, anomalies: anomalies!, thresholds: thresholds!, version: batch.model.version, normalizedScores: normalizedScores!, attribution, attributionSource, ...(attention ? { attention, attentionSteps: steps } : {}) });
    }
  }

  /** Each window's decision in `deliver` (`SKIP_WINDOW`, ...), threshold and timestamp when no `batch` event takes them: arrays grown as needed. */
  private windowScratch(length: number): { decisions: Uint8Array; thresholds: Float64Array; timestamps: Float64Array } {
    if (this.scratchWindows.decisions.length < length) this.scratchWindows = { decisions: new Uint8Array(length), thresholds: new Float64Array(length), timestamps: new Float64Array(length) };
    return this.scratchWindows;
  }

  /** The attribution rows of a batch nobody takes as a `batch` event: one array, grown as needed. */
  private attributionScratch(length: number): Float32Array {
    if (this.scratchRows.length < length) this.scratchRows = new Float32Array(length);
    return this.scratchRows;
  }

  private attributionOf(model: LiveModel): ChannelAttribution {
    const had = this.attributions.get(model);
    if (had && had.from === model.calibration) return had.state;
    const m = model.model.manifest;
    const term = channelTermOf(m.score.definition);
    // A version without channel statistics of its own (an online update, a learner's version
    // written without them) starts from those of the version it follows when both are of the same
    // kind, and tracks from there, rather than ranking by raw shares while it warms up.
    const inherited = this.lastAttribution && this.lastAttribution.kind === m.kind ? this.lastAttribution.state.snapshot(0) : undefined;
    const stats = model.calibration?.channels ?? (inherited?.term === term ? inherited : undefined);
    const state = new ChannelAttribution(this.o.channels.length, stats, { average: termAverageOf(m.score.definition), ...this.o.attribution, term }, this.batcher.slots);
    this.attributions.set(model, { from: model.calibration, state });
    this.lastAttribution = { kind: m.kind, state };
    return state;
  }

  private event(seriesId: string, timestamp: number, score: number, threshold: number, attribution: Float32Array, offset: number, source: AnomalyEvent['attribution']): AnomalyEvent {
    return { seriesId, timestamp, score, threshold, channels: topChannels(attribution, offset, this.o.channels, this.o.topChannels, this.top), attribution: source };
  }

}
