/**
 * A series' checkpoint: what a new owner needs to go on scoring a series exactly where the last
 * owner stopped. The ring tail is the frames after the last scored window's start + stride (fewer
 * than a window), so the next window the new owner cuts is the one the old owner would have cut
 * next, over the same frames; the normaliser state carries the score scale learned so far; the
 * model id says which model that state belongs to.
 */
import { SeismoError } from '../errors.js';
import { FIXED_METHODS } from '../threshold/index.js';

/** Checkpoint format version. */
export const CHECKPOINT_VERSION = 1;

export interface SeriesCheckpoint {
  /** Identity of the model that produced the state (sha256 prefix of `model.onnx`). */
  model: string;
  /** The consumer's model version number when written (1 = as loaded). */
  modelVersion: number;
  /** Frames of this series consumed since it began (all owners together). */
  frames: number;
  /** Windows of this series scored since it began. */
  windows: number;
  /** The series' last timestamp (later entries must be after it). */
  lastTime: number;
  /** `[L]` timestamps of the ring tail, L < window. */
  tailTimes: Float64Array;
  /** `[L, channels]` the ring tail's frames. */
  tailFrames: Float32Array;
  /** The score normaliser's state, when the consumer normalises. */
  normalizer?: unknown;
}

function b64(a: Float64Array | Float32Array): string {
  return Buffer.from(a.buffer, a.byteOffset, a.byteLength).toString('base64');
}

/** As JSON text (the typed arrays as base64 of their little-endian bytes). */
export function encodeCheckpoint(c: SeriesCheckpoint): string {
  return JSON.stringify({
    v: CHECKPOINT_VERSION,
    model: c.model,
    modelVersion: c.modelVersion,
    frames: c.frames,
    windows: c.windows,
    lastTime: c.lastTime,
    t: b64(c.tailTimes),
    x: b64(c.tailFrames),
    ...(c.normalizer === undefined ? {} : { norm: c.normalizer }),
  });
}

/**
 * @throws SeismoError `ERR_CONNECTOR` for a checkpoint this version cannot read (it never guesses:
 *   scoring a series against a wrong history is what checkpoints exist to prevent).
 */
export function decodeCheckpoint(text: string, seriesId: string, channels: number): SeriesCheckpoint {
  const fail = (why: string): never => {
    throw new SeismoError('ERR_CONNECTOR', `checkpoint of series '${seriesId}' is unreadable (${why}); delete it to start the series afresh`, { seriesId });
  };
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return fail('not JSON');
  }
  if (o.v !== CHECKPOINT_VERSION) fail(`format version ${String(o.v)}, this seismo reads ${CHECKPOINT_VERSION}`);
  const t = Buffer.from(String(o.t ?? ''), 'base64');
  const x = Buffer.from(String(o.x ?? ''), 'base64');
  if (t.length % 8 !== 0 || x.length !== (t.length / 8) * channels * 4) fail(`tail of ${t.length / 8} timestamps and ${x.length} bytes of frames for ${channels} channels`);
  const tailTimes = new Float64Array(t.length / 8);
  const tailFrames = new Float32Array(x.length / 4);
  t.copy(new Uint8Array(tailTimes.buffer));
  x.copy(new Uint8Array(tailFrames.buffer));
  const num = (k: string): number => (typeof o[k] === 'number' ? (o[k] as number) : fail(`field ${k} missing`));
  return {
    model: String(o.model ?? ''),
    modelVersion: num('modelVersion'),
    frames: num('frames'),
    windows: num('windows'),
    // JSON has no -Infinity: a series with no frame yet has lastTime null.
    lastTime: o.lastTime === null ? -Infinity : num('lastTime'),
    tailTimes,
    tailFrames,
    normalizer: o.norm,
  };
}

/**
 * True when every step of a threshold rule (its JSON) is a fixed threshold: nothing per series to
 * checkpoint. Streaming rules (SPOT, DSPOT, k-of-n, alarm-rate) keep per-series state a checkpoint
 * does not carry yet.
 */
export function checkpointableRule(json: unknown): boolean {
  if (Array.isArray(json)) return json.every(checkpointableRule);
  if (json === null || typeof json !== 'object') return true;
  const o = json as Record<string, unknown>;
  if (typeof o.method === 'string' && !(FIXED_METHODS as readonly string[]).includes(o.method) && o.method !== 'any-of' && o.method !== 'per-channel') return false;
  return Object.values(o).every(checkpointableRule);
}
