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

export { ThresholdSchema, type Threshold };

export const ManifestSchema = z.object({
  format: z.literal('seismo-model'),
  formatVersion: z.number().int(),
  /** Registered model kind, e.g. `lstm-ae`. */
  kind: z.string().min(1),
  /** Kind-specific hyper-parameters, exactly as used for training. */
  hyperParameters: z.record(z.string(), z.unknown()),
  /** Frames per window. */
  window: z.number().int().positive(),
  /** Frames between the starts of consecutive windows when streaming. */
  stride: z.number().int().positive(),
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
    file: z.string().default(MODEL_FILE),
    opset: z.number().int().min(17),
    inputs: z.array(z.string()),
    outputs: z.array(z.string()),
  }),
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
});
export type Manifest = z.infer<typeof ManifestSchema>;
