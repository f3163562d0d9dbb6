/**
 * Thresholds as post-processing steps after a detector (River's `anomaly.filter`, Merlion's
 * `post_rule`): the model only scores; a {@link ThresholdRule} turns each window's score (and its
 * per-channel shares) into an alarm. Rules are small objects that can be chained (any-of, k-of-n
 * over a rule) and every rule round-trips through the manifest's {@link Threshold} JSON
 * (`{value, method, params}`) via a registry from method name to a `fromJSON` function, so a
 * model directory alone rebuilds the whole decision chain.
 */
import { SeismoError } from '../errors.js';
import { ThresholdSchema, type Threshold } from './schema.js';

/**
 * One decision step. The Detector calls {@link ThresholdRule.decide} once per scored window, in
 * each series' time order; streaming rules (SPOT, DSPOT, k-of-n) keep state per series slot and
 * update it in that call. No method allocates on the per-window path: per-series state is
 * allocated once, when a slot is first seen (or up front by {@link ThresholdRule.prepare}).
 */
export interface ThresholdRule {
  /** The method name this rule serialises under (a key of the registry). */
  readonly method: string;
  /**
   * Sizes per-series state for slots `0 .. slots-1` ahead of time, so the first window of a new
   * series allocates nothing either. Optional to call: slots beyond it are allocated lazily.
   */
  prepare(slots: number): void;
  /**
   * Decides one window and, for streaming rules, learns from it.
   * @param score the window's score (higher = more anomalous). NaN (a window the detector could
   *   not score) returns false and leaves every state untouched.
   * @param channelScores per-channel scores; channel c of this window is `channelScores[offset + c]`
   *   (pass a batch's `[N, C]` array and `offset = i * C`, no subarray needed).
   * @param seriesSlot the detector's slot of the window's series (0-based, small).
   * @param offset index of this window's channel 0 in `channelScores`. Default 0.
   * @returns true when the window is an anomaly.
   */
  decide(score: number, channelScores: Float32Array, seriesSlot: number, offset?: number): boolean;
  /**
   * The score threshold now in force for a series (what an alarm is reported against). Stateless
   * rules return their constant; streaming rules the current estimate (`+Infinity` while a
   * self-initialising rule is still collecting its calibration scores). Rules that have no single
   * score threshold (per-channel) return NaN.
   */
  threshold(seriesSlot: number): number;
  /** Forgets a series' learned state (the slot is reused for another series). */
  resetSlot(seriesSlot: number): void;
  /** The rule as the manifest stores it; `thresholdFromJSON(rule.toJSON())` rebuilds it. */
  toJSON(): Threshold;
}

/** Builds a rule from its JSON. `method` is passed so one class can serve several names. */
export type ThresholdFactory = (json: Threshold) => ThresholdRule;

const registry = new Map<string, ThresholdFactory>();

/** Registers a method name (as written in `model.json`) and how to rebuild it. */
export function registerThreshold(method: string, factory: ThresholdFactory): void {
  registry.set(method, factory);
}

/** Method names a manifest may use. */
export function thresholdMethods(): string[] {
  return [...registry.keys()].sort();
}

/**
 * Rebuilds a rule from its manifest JSON (validated against {@link ThresholdSchema} first).
 * @throws SeismoError `ERR_MODEL_CORRUPT` for an unknown method or malformed params.
 */
export function thresholdFromJSON(json: unknown): ThresholdRule {
  const parsed = ThresholdSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SeismoError('ERR_MODEL_CORRUPT', `threshold ${JSON.stringify(json)} is malformed: ${issue?.path.join('.') || '(root)'}: ${issue?.message}`);
  }
  const factory = registry.get(parsed.data.method);
  if (!factory) {
    throw new SeismoError(
      'ERR_MODEL_CORRUPT',
      `unknown threshold method '${parsed.data.method}'; this seismo knows ${thresholdMethods().join(', ')}. Recalibrate with \`seismo calibrate\` or upgrade seismo.`,
      { method: parsed.data.method },
    );
  }
  return factory(parsed.data);
}

// ---- helpers for the rules' fromJSON: typed reads of params with errors that name the field ----

function bad(method: string, key: string, want: string, got: unknown): never {
  throw new SeismoError('ERR_MODEL_CORRUPT', `threshold '${method}': params.${key} must be ${want}, got ${JSON.stringify(got)}`, { method, key });
}

export function numParam(json: Threshold, key: string, fallback?: number): number {
  const v = json.params[key];
  if (v === undefined && fallback !== undefined) return fallback;
  if (typeof v !== 'number' || !Number.isFinite(v)) return bad(json.method, key, 'a finite number', v);
  return v;
}

export function intParam(json: Threshold, key: string, fallback?: number): number {
  const v = numParam(json, key, fallback);
  if (!Number.isInteger(v) || v < 0) return bad(json.method, key, 'a non-negative integer', v);
  return v;
}

export function numArrayParam(json: Threshold, key: string): number[] {
  const v = json.params[key];
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) return bad(json.method, key, 'an array of finite numbers', v);
  return v as number[];
}

export function optionalRecordParam(json: Threshold, key: string): Record<string, unknown> | null {
  const v = json.params[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'object' || Array.isArray(v)) return bad(json.method, key, 'an object or null', v);
  return v as Record<string, unknown>;
}

/** Grows a per-slot array of lazily created states so that `slot` is valid. */
export function ensureSlot<T>(states: (T | undefined)[], slot: number, make: () => T): T {
  let s = states[slot];
  if (s === undefined) {
    if (!Number.isInteger(slot) || slot < 0) {
      throw new SeismoError('ERR_INVALID_OPTION', `series slot must be a non-negative integer, got ${slot}`);
    }
    s = make();
    states[slot] = s;
  }
  return s;
}
