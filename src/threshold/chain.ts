/**
 * Rules built from rules: any-of (a global threshold and per-channel ones, as DC-VAE flags a
 * window when any channel leaves its band), per-channel (one rule per channel score), and the
 * k-of-n window rule of the LSTM-AE thesis.
 */
import { SeismoError } from '../errors.js';
import type { Threshold } from './schema.js';
import { ensureSlot, intParam, registerThreshold, thresholdFromJSON, type ThresholdRule } from './rule.js';

/** Alarms when any step alarms. Every step sees every window (no short circuit), so streaming steps keep learning. */
export class AnyOfThreshold implements ThresholdRule {
  readonly method = 'any-of';
  readonly steps: readonly ThresholdRule[];

  constructor(steps: ThresholdRule[]) {
    if (steps.length === 0) throw new SeismoError('ERR_INVALID_OPTION', 'any-of needs at least one step');
    this.steps = steps;
  }

  prepare(slots: number): void {
    for (const s of this.steps) s.prepare(slots);
  }

  decide(score: number, channelScores: Float32Array, seriesSlot: number, offset = 0): boolean {
    let fired = false;
    for (let i = 0; i < this.steps.length; i++) {
      if (this.steps[i]!.decide(score, channelScores, seriesSlot, offset)) fired = true;
    }
    return fired;
  }

  /** The first step's threshold: by convention the global one, on the window score. */
  threshold(seriesSlot: number): number {
    return this.steps[0]!.threshold(seriesSlot);
  }

  resetSlot(seriesSlot: number): void {
    for (const s of this.steps) s.resetSlot(seriesSlot);
  }

  toJSON(): Threshold {
    const steps = this.steps.map((s) => s.toJSON());
    return { value: steps[0]!.value, method: this.method, params: { steps } };
  }

  static fromJSON(json: Threshold): AnyOfThreshold {
    const steps = json.params.steps;
    if (!Array.isArray(steps) || steps.length === 0) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `threshold 'any-of': params.steps must be a non-empty array of thresholds`);
    }
    return new AnyOfThreshold(steps.map((s) => thresholdFromJSON(s)));
  }
}

/**
 * One rule per channel, each applied to its channel's score (`channelScores[offset + c]`); alarms
 * when any channel's rule alarms. The manifest keeps these as `thresholds.channels`.
 */
export class PerChannelThreshold implements ThresholdRule {
  readonly method = 'per-channel';
  readonly channels: readonly ThresholdRule[];

  constructor(channels: ThresholdRule[]) {
    if (channels.length === 0) throw new SeismoError('ERR_INVALID_OPTION', 'per-channel needs one rule per channel');
    this.channels = channels;
  }

  prepare(slots: number): void {
    for (const c of this.channels) c.prepare(slots);
  }

  decide(score: number, channelScores: Float32Array, seriesSlot: number, offset = 0): boolean {
    // An unscored window (NaN) carries garbage channel scores: no channel learns from it.
    if (Number.isNaN(score)) return false;
    let fired = false;
    for (let c = 0; c < this.channels.length; c++) {
      if (this.channels[c]!.decide(channelScores[offset + c]!, channelScores, seriesSlot, 0)) fired = true;
    }
    return fired;
  }

  /** No single score threshold: NaN. See {@link PerChannelThreshold.channelThreshold}. */
  threshold(): number {
    return NaN;
  }

  /** The threshold on channel `c`'s score for a series. */
  channelThreshold(c: number, seriesSlot: number): number {
    return this.channels[c]!.threshold(seriesSlot);
  }

  resetSlot(seriesSlot: number): void {
    for (const c of this.channels) c.resetSlot(seriesSlot);
  }

  /** The manifest's `thresholds.channels` array. */
  toChannelsJSON(): Threshold[] {
    return this.channels.map((c) => c.toJSON());
  }

  toJSON(): Threshold {
    // `value` is required by the schema but means nothing here: the channel rules decide.
    return { value: 0, method: this.method, params: { channels: this.toChannelsJSON() } };
  }

  static fromJSON(json: Threshold): PerChannelThreshold {
    const channels = json.params.channels;
    if (!Array.isArray(channels) || channels.length === 0) {
      throw new SeismoError('ERR_MODEL_CORRUPT', `threshold 'per-channel': params.channels must be a non-empty array of thresholds`);
    }
    return new PerChannelThreshold(channels.map((c) => thresholdFromJSON(c)));
  }
}

/** Options of {@link KOfNThreshold}. */
export interface KOfNOptions {
  /** Alarms needed among the last `n` windows. 1 <= k <= n. */
  k: number;
  /**
   * Windows looked back over, the newest included. The natural choice is `ceil(window / stride)`:
   * the windows that overlap the newest window's first frame, i.e. every window that saw its
   * frames. At most 4096.
   */
  n: number;
}

interface KOfNState {
  ring: Uint8Array;
  head: number;
  count: number;
}

/**
 * The LSTM-AE thesis' window rule, stated for window scores: the thesis flags a window when at
 * least k of its points' reconstruction errors exceed the point threshold. seismo's models score
 * whole windows, so a "point" is a window of the stream: window i of a series is an anomaly when
 * at least `k` of that series' windows i-n+1 .. i (those seen so far, at the start) are above the
 * inner rule. With `n = ceil(window / stride)` these are exactly the windows that contain window
 * i's first frame. k = 1 is the inner rule unchanged; larger k suppresses isolated alarms at the
 * cost of a delay of up to k-1 windows.
 */
export class KOfNThreshold implements ThresholdRule {
  readonly method = 'k-of-n';
  readonly inner: ThresholdRule;
  readonly k: number;
  readonly n: number;
  private readonly states: (KOfNState | undefined)[] = [];

  constructor(inner: ThresholdRule, options: KOfNOptions) {
    const { k, n } = options;
    if (!Number.isInteger(n) || n < 1 || n > 4096) throw new SeismoError('ERR_INVALID_OPTION', `k-of-n: n must be an integer in [1, 4096], got ${n}`);
    if (!Number.isInteger(k) || k < 1 || k > n) throw new SeismoError('ERR_INVALID_OPTION', `k-of-n: k must be an integer in [1, n=${n}], got ${k}`);
    this.inner = inner;
    this.k = k;
    this.n = n;
  }

  prepare(slots: number): void {
    this.inner.prepare(slots);
    for (let s = 0; s < slots; s++) this.state(s);
  }

  decide(score: number, channelScores: Float32Array, seriesSlot: number, offset = 0): boolean {
    if (Number.isNaN(score)) return false;
    const hit = this.inner.decide(score, channelScores, seriesSlot, offset) ? 1 : 0;
    const st = this.state(seriesSlot);
    st.count += hit - st.ring[st.head]!;
    st.ring[st.head] = hit;
    st.head = st.head + 1 === this.n ? 0 : st.head + 1;
    return st.count >= this.k;
  }

  threshold(seriesSlot: number): number {
    return this.inner.threshold(seriesSlot);
  }

  resetSlot(seriesSlot: number): void {
    this.inner.resetSlot(seriesSlot);
    this.states[seriesSlot] = undefined;
  }

  toJSON(): Threshold {
    const inner = this.inner.toJSON();
    return { value: inner.value, method: this.method, params: { k: this.k, n: this.n, inner } };
  }

  static fromJSON(json: Threshold): KOfNThreshold {
    return new KOfNThreshold(thresholdFromJSON(json.params.inner), { k: intParam(json, 'k'), n: intParam(json, 'n') });
  }

  private state(slot: number): KOfNState {
    return ensureSlot(this.states, slot, () => ({ ring: new Uint8Array(this.n), head: 0, count: 0 }));
  }
}

registerThreshold('any-of', AnyOfThreshold.fromJSON);
registerThreshold('per-channel', PerChannelThreshold.fromJSON);
registerThreshold('k-of-n', KOfNThreshold.fromJSON);
