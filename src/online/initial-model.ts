/**
 * The model an online detector starts from: a kind's freshly initialised network, exported to
 * ONNX with an identity scaler (each series is scaled by its own scaler before it reaches the
 * rings, so one graph serves series of any level and spread), and the manifests of its versions.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { SeismoError } from '../errors.js';
import { GRAPH_IO, ManifestSchema, MODEL_FILE, MODEL_FORMAT_VERSION, type Manifest } from '../model/manifest.js';
import type { WeightTensor } from '../model/model-dir.js';
import { ONLINE_KINDS, type OnlineKind } from './policy.js';
import { loadTraining } from '../training-part.js';

/** A model version as the online engine keeps it: graph bytes, manifest and the tfjs weights it continues from. */
export interface OnlineModel {
  manifest: Manifest;
  onnx: Uint8Array;
  weights: WeightTensor[];
}

/** What {@link initialModel} needs. */
export interface InitialModelRequest {
  kind: OnlineKind;
  channels: string[];
  window: number;
  /** Kind hyper-parameters (partial; the kind's defaults fill the rest). */
  config?: Record<string, unknown>;
  seed: number;
  /** tfjs backend (see `initBackend`). */
  backend?: string;
}

/** The identity scaler baked into every online graph. */
export function identityScaler(channels: number): { mean: number[]; std: number[] } {
  return { mean: new Array<number>(channels).fill(0), std: new Array<number>(channels).fill(1) };
}

/**
 * Builds a fresh, untrained model of `kind` in tfjs (weights seeded), exports it, and returns
 * it with its manifest. tfjs is loaded here, lazily: a detector resumed from a directory and run
 * with learning off never needs it.
 * @throws SeismoError `ERR_INVALID_OPTION` for a kind that cannot learn online or a bad config.
 */
export async function initialModel(r: InitialModelRequest): Promise<OnlineModel> {
  if (!(ONLINE_KINDS as readonly string[]).includes(r.kind)) {
    throw new SeismoError('ERR_INVALID_OPTION', `kind '${r.kind}' cannot learn online; online kinds: ${ONLINE_KINDS.join(', ')}`, { kind: r.kind });
  }
  const training = loadTraining(`the online kind '${r.kind}'`);
  const { backend } = await training.initBackend(r.backend);
  const spec = training.getKind(r.kind);
  const config = spec.resolveConfig({ ...(r.config ?? {}), window: r.window, seed: r.seed } as never, r.channels.length);
  const model = spec.build(config);
  try {
    const scaler = identityScaler(r.channels.length);
    const onnx = spec.exportOnnx(model, config, r.channels, scaler);
    const weights = model.getWeights().map((w) => ({ shape: w.shape.slice(), data: Float32Array.from(w.dataSync() as Float32Array) }));
    const manifest = ManifestSchema.parse({
      format: 'seismo-model',
      formatVersion: MODEL_FORMAT_VERSION,
      kind: spec.kind,
      hyperParameters: { ...config },
      window: config.window,
      stride: 1,
      channels: [...r.channels],
      scaler,
      score: { ...spec.score },
      // Online alarms are decided on each series' normalised score; this raw value (set from the
      // recent training windows at each update) is for loading the directory as a frozen model.
      thresholds: { global: { value: 1, method: 'static', params: { online: true } }, channels: null },
      // The export's prologue adds `channel_activity` to graphs of 3 frames or more (training/export/blocks.ts).
      onnx: { file: MODEL_FILE, opset: spec.io.opset, inputs: [...spec.io.inputs], outputs: [...spec.io.outputs, ...(config.window >= 3 ? [GRAPH_IO.channelActivity] : [])] },
      training: { backend, epochs: 0, losses: [], valLosses: [], dataFingerprint: 'online', date: new Date().toISOString(), seconds: 0, seed: config.seed },
    });
    return { manifest, onnx, weights };
  } finally {
    const optimizer = model.optimizer;
    model.dispose();
    optimizer?.dispose();
  }
}

/** The manifest of a version an online update made: same model, its threshold, the update appended to its record. */
export function nextOnlineManifest(live: Manifest, threshold: number, losses: number[], seconds: number, windows: number): Manifest {
  return ManifestSchema.parse({
    ...live,
    thresholds: {
      global: Number.isFinite(threshold) && threshold > 0
        ? { value: threshold, method: 'quantile', params: { quantile: 0.995, on: `${windows} recent stream windows admitted for training`, online: true } }
        : live.thresholds.global,
      channels: null,
    },
    training: {
      ...live.training,
      epochs: live.training.epochs + losses.length,
      losses: [...live.training.losses, ...losses].slice(-1000),
      date: new Date().toISOString(),
      seconds: live.training.seconds + seconds,
    },
  });
}

/** Channel names from a count (`c0`, `c1`, ...) or a list of unique non-empty names. */
export function channelNames(channels: number | readonly string[]): string[] {
  if (typeof channels === 'number') {
    if (!Number.isInteger(channels) || channels <= 0) throw new SeismoError('ERR_INVALID_OPTION', `channels must be a positive integer or a list of names, got ${channels}`);
    return Array.from({ length: channels }, (_, c) => `c${c}`);
  }
  if (!Array.isArray(channels) || channels.length === 0 || channels.some((c) => typeof c !== 'string' || c.length === 0) || new Set(channels).size !== channels.length) {
    throw new SeismoError('ERR_INVALID_OPTION', `channels must be unique non-empty names, got ${JSON.stringify(channels)}`);
  }
  return [...channels];
}

/** The kind's own default window (what `seismo train` would use). */
export function defaultWindow(kind: OnlineKind): number {
  const training = loadTraining(`the online kind '${kind}'`);
  return (training.getKind(kind).resolveConfig(undefined as never, 1) as { window: number }).window;
}

/** The folder for model versions: `dir` (made if missing) or a new temporary one the detector owns and removes. */
export function makeWorkDir(dir: string | undefined): { workDir: string; owned: boolean } {
  if (dir) {
    fs.mkdirSync(dir, { recursive: true });
    return { workDir: dir, owned: false };
  }
  return { workDir: fs.mkdtempSync(path.join(os.tmpdir(), 'seismo-online-')), owned: true };
}
