import { z } from 'zod';
import { ThresholdSchema, type Threshold } from '../threshold/schema.js';

/**
 * `model.json`: the manifest that sits beside `model.onnx` in a model directory.
 *
 * The ONNX graph contract (every model kind, written by `training/export`):
 * - inputs  `frames` float32 `[T, C]`: a contiguous span of raw (unscaled) frames, one row per
 *           time step, one column per channel, in the order of `channels`;
 *           `starts` int64 `[N]`: the row in `frames` where each window begins.
 *   The graph cuts the windows itself (`Gather`), so a span of a ring buffer goes to
 *   onnxruntime as one view with no copy, and a plain batch of windows is the special case
 *   `frames = windows.reshape(N * W, C)`, `starts = [0, W, 2W, ...]`.
 * - The graph scales with the stored scaler ((x - mean) / std) before the model body.
 * - outputs `score` float32 `[N]` (higher = more anomalous) and `channel_score` float32 `[N, C]`
 *   (each channel's share: `score[n] == sum_c channel_score[n, c]`); kinds may add outputs
 *   (e.g. `reconstruction` `[N, W, C]`, on the scaled data).
 * - `metadata_props` carry `seismo.formatVersion`, `seismo.kind`, `seismo.window`,
 *   `seismo.channels` so that loading can check the manifest against the graph.
 */
export const MODEL_FORMAT_VERSION = 1;
export const MODEL_FILE = 'model.onnx';
export const MANIFEST_FILE = 'model.json';
/**
 * The optional step graph beside `model.onnx` (causal convolutional kinds whose window covers
 * their receptive field): new frames of each series and the past columns its layers read in, the
 * scores of the windows ending at those frames out (contract in `training/export/step.ts`).
 */
export const STEP_MODEL_FILE = 'model.step.onnx';

export { ThresholdSchema, type Threshold };

/**
 * Names of the graph contract's inputs and outputs (see above), said once: the exporters write
 * them, {@link ModelDir} loading checks them, inference feeds and fetches them.
 */
export const GRAPH_IO = {
  /** Input: raw frames `[T, C]` float32. */
  frames: 'frames',
  /** Input: window starts `[N]` int64 (rows of `frames`). */
  starts: 'starts',
  /** Output: window score `[N]` float32, higher = more anomalous. */
  score: 'score',
  /** Output: each channel's share of the score `[N, C]` float32. */
  channelScore: 'channel_score',
  /**
   * Optional output: each channel's mean absolute step over the window `[N, C]` float32, in scaled
   * units (model-free; channel attribution compares it with the channel's normal activity).
   * Graphs of windows shorter than 3 frames, and graphs exported before seismo added it, lack it.
   */
  channelActivity: 'channel_activity',
  /**
   * Optional output: attention weights `[N, S]` float32 over S past steps of the window (each row
   * sums to 1): which part of the history the model leaned on. DeepAnT with attention `bahdanau`:
   * S pooled steps, step j covering the history frames `j * poolSize^2 .. (j + 1) * poolSize^2 - 1`.
   */
  attention: 'attention',
} as const;

/** Outputs the detector fetches when a graph has them (attribution terms, attention weights). */
export const OPTIONAL_GRAPH_OUTPUTS: readonly string[] = [GRAPH_IO.channelActivity, GRAPH_IO.attention];

/** Inputs every seismo graph has, in order. */
export const GRAPH_INPUTS: readonly string[] = [GRAPH_IO.frames, GRAPH_IO.starts];
/** Outputs every seismo graph has (kinds may add more). */
export const GRAPH_OUTPUTS: readonly string[] = [GRAPH_IO.score, GRAPH_IO.channelScore];

/**
 * Longest window, and largest stride, a manifest may ask for. A detector keeps about
 * `window + 4 * batchSize * stride` frames per series (src/detector/detector.ts), so a stride of 1e6 read
 * from a damaged or hostile model.json would ask for gigabytes per series before the first
 * window; no model seismo trains comes near these.
 */
export const MAX_WINDOW = 65_536;
export const MAX_STRIDE = 4_096;

/**
 * Deepest JSON nesting accepted in `thresholds`: a chain of chains is a handful of levels deep,
 * and rebuilding a rule recurses once per level, so a model.json nested thousands deep would
 * overflow the stack while loading instead of being refused with a code.
 */
export const MAX_THRESHOLD_DEPTH = 64;

/**
 * A file name inside the model directory: no separators, not `.`/`..`, so a model.json can never
 * name a file outside its own folder (`../../dev/zero`).
 */
export const FileNameSchema = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]*$/, 'must be a plain file name inside the model directory (letters, digits, ".", "_", "-"; no path)');


export const ManifestSchema = z.object({
  format: z.literal('seismo-model'),
  formatVersion: z.number().int(),
  /** Registered model kind, e.g. `lstm-ae`. */
  kind: z.string().min(1),
  /** Kind-specific hyper-parameters, exactly as used for training. */
  hyperParameters: z.record(z.string(), z.unknown()),
  /** Frames per window. */
  window: z.number().int().positive().max(MAX_WINDOW),
  /** Frames between the starts of consecutive windows when streaming. */
  stride: z.number().int().positive().max(MAX_STRIDE),
  /** Channel names, in the column order of the graph's `frames` input. */
  channels: z.array(z.string()).min(1),
  /** Per-channel scaler baked into the graph: x_scaled = (x - mean) / std. */
  scaler: z.object({ mean: z.array(z.number()), std: z.array(z.number().positive()) }),
  /** What `score` means, in words and as a short id (`mse`, `gaussian-nll`, `forecast-l2`, ...). */
  score: z.object({ definition: z.string(), description: z.string() }),
  /** Global threshold on `score`, and optional per-channel thresholds on `channel_score`. */
  thresholds: z.object({
    global: ThresholdSchema,
    channels: z.array(ThresholdSchema).nullable().default(null),
  }),
  /** Names of the graph's inputs and outputs. */
  onnx: z.object({
    /** The graph's file name, inside the model directory. */
    file: FileNameSchema.default(MODEL_FILE),
    opset: z.number().int().min(17),
    inputs: z.array(z.string()),
    outputs: z.array(z.string()),
  }),
  /**
   * The step graph, when the model has one: stride-1 scoring uses it instead of `onnx` (same
   * scores). Absent in directories without one; they score through the window graph.
   */
  step: z
    .object({
      file: FileNameSchema.default(STEP_MODEL_FILE),
      opset: z.number().int().min(17),
      inputs: z.array(z.string()),
      outputs: z.array(z.string()),
    })
    .optional(),
  training: z.object({
    /** tfjs backend that trained the model (`tensorflow`, `wasm`, `cpu`, ...). */
    backend: z.string(),
    epochs: z.number().int().nonnegative(),
    losses: z.array(z.number()),
    valLosses: z.array(z.number()),
    /** sha256 of the training frames (float32 bytes), hex. */
    dataFingerprint: z.string(),
    /** ISO-8601 date of the end of training. */
    date: z.string(),
    seconds: z.number().nonnegative(),
    seed: z.number().int(),
  }),
  /**
   * SHA-256 (hex) of every other file of the model directory, by file name, written with them as
   * one unit: a file changed afterwards, or copied in from another model, is refused at load.
   * Absent in directories written before seismo recorded it (they load unchecked).
   */
  files: z.record(FileNameSchema, z.string().regex(/^[0-9a-f]{64}$/, 'must be a hex SHA-256')).optional(),
})
  .superRefine((m, ctx) => {
    const C = m.channels.length;
    if (m.scaler.mean.length !== C || m.scaler.std.length !== C) {
      ctx.addIssue({ code: 'custom', path: ['scaler'], message: `holds ${m.scaler.mean.length} means and ${m.scaler.std.length} standard deviations for ${C} channels` });
    }
    if (jsonDepthExceeds(m.thresholds, MAX_THRESHOLD_DEPTH)) {
      ctx.addIssue({ code: 'custom', path: ['thresholds'], message: `nested deeper than ${MAX_THRESHOLD_DEPTH} levels` });
    }
  });
export type Manifest = z.infer<typeof ManifestSchema>;

/** True when `value` nests objects/arrays deeper than `limit` (iterative: a hostile depth cannot overflow the stack here). */
export function jsonDepthExceeds(value: unknown, limit: number): boolean {
  const stack: [unknown, number][] = [[value, 0]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth + 1 > limit) return true;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return false;
}

/**
 * `calibration.json`: where a version's normal scores lie on the log scale (the math is in the
 * score stage; the file belongs to the model directory).
 */
export const CalibrationSchema = z.object({
  /** Median of ln(score) over the reference windows. */
  center: z.number().finite(),
  /** Robust spread of ln(score), > 0. */
  scale: z.number().finite().positive(),
  /** Reference windows it was fitted on. */
  windows: z.number().finite().catch(0),
  /** What the reference windows were, in words. */
  on: z.string().catch(''),
  /**
   * Per-channel statistics of the normal error terms, for channel attribution
   * (src/score/attribution.ts). Absent in calibrations written before seismo stored them; a
   * malformed one is dropped (attribution then learns them online) rather than refusing the model.
   */
  channels: z
    .object({
      term: z.enum(['channel-score', 'channel-score-squared', 'channel-score-times-score']),
      center: z.array(z.number().finite()),
      scale: z.array(z.number().finite().positive()),
      windows: z.number().finite(),
      // Weight of the running mean of each error term the statistics were fitted on (absent: none).
      average: z.number().gt(0).lte(1).optional(),
      activity: z.object({ center: z.array(z.number().finite()), scale: z.array(z.number().finite().positive()) }).optional().catch(undefined),
    })
    .refine((c) => c.center.length === c.scale.length && c.center.length > 0)
    .optional()
    .catch(undefined),
});
