/**
 * The learner's side of the fine-tuning worker thread: fine-tunes there (tfjs), then checks the
 * exported graph here with onnxruntime through the detector's own helper (an {@link InferenceWorker}
 * of its own): the check windows, the normal windows trained on and the anomalies, and the parity
 * of the check windows' scores against tfjs.
 */
import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { SeismoError } from '../errors.js';
import { InferenceWorker } from '../infer/inference-worker.js';
import { GRAPH_IO } from '../model/manifest.js';
import { startWorker } from '../infer/start-worker.js';
import type { Manifest } from '../model/manifest.js';
import { requireTrainingPart } from '../training-part.js';
import type { FineTuneParams, FineTuneRequest, FineTuneResponse, WeightTensor } from './finetune-protocol.js';

/** What the worker sends back: the fine-tuned weights, the exported graph and the tfjs scores. */
type Tuned = Extract<FineTuneResponse, { type: 'done' }>;

/** A fine-tune, exported and checked. */
export interface FineTuneResult {
  onnx: Uint8Array;
  weights: WeightTensor[];
  /** Mean loss per epoch. */
  losses: number[];
  /** Scores of `check` by the starting weights (tfjs) and by the exported graph (onnxruntime). */
  checkBefore: Float32Array;
  checkAfter: Float32Array;
  /** `[n, C]` the exported graph's `channel_score` of `check`, and its `channel_activity` when it has one: the new version's channel statistics. */
  checkChannelScores: Float32Array;
  checkActivity?: Float32Array;
  /** Scores by the exported graph of the normal windows trained on (`normal`, less the anchor after a rescale) and of `anomaly`. */
  normalAfter: Float32Array;
  anomalyAfter: Float32Array;
  /** The scaler baked into the new graph (the live one unless it was refitted). */
  scaler: { mean: number[]; std: number[] };
  rescaled: boolean;
  /** Largest |tfjs - onnxruntime| score difference over the check windows, relative to max(1, |score|). */
  parity: number;
  /** Seconds of the fine-tune and export (in the worker). */
  seconds: number;
}

/** One fine-tuning worker: a tfjs copy of the model that trains off the scoring thread. */
export class FineTuner {
  readonly backend: string;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: Tuned) => void; reject: (e: Error) => void }>();
  private readonly window: number;
  private readonly channels: number;
  private nextId = 1;
  private closed = false;

  private constructor(worker: Worker, backend: string, window: number, channels: number) {
    this.worker = worker;
    this.backend = backend;
    this.window = window;
    this.channels = channels;
    worker.on('message', (msg: FineTuneResponse) => {
      if (msg.type === 'ready') return;
      const p = msg.id === null ? undefined : this.pending.get(msg.id);
      if (msg.type === 'error' && !p) {
        this.failAll(new SeismoError('ERR_LEARN', `fine-tune worker failed: ${msg.message}`));
        return;
      }
      if (!p) return;
      this.pending.delete(msg.id!);
      if (msg.type === 'done') p.resolve(msg);
      else p.reject(new SeismoError('ERR_LEARN', `fine-tuning failed: ${msg.message}`));
    });
    worker.on('error', (err) => this.failAll(new SeismoError('ERR_LEARN', `fine-tune worker crashed: ${err.message}`, {}, { cause: err })));
    worker.on('exit', (code) => {
      if (!this.closed) this.failAll(new SeismoError('ERR_LEARN', `fine-tune worker exited unexpectedly (code ${code})`));
    });
  }

  /** Starts the worker and builds the model kind of `manifest` in it (tfjs backend chosen there). */
  static async start(manifest: Manifest, options: { backend?: string } = {}): Promise<FineTuner> {
    // The worker imports tfjs: say what to install here, before a thread fails on a missing module.
    requireTrainingPart('online learning (fine-tuning)');
    const worker = startWorker(workerFile());
    try {
      const backend = await new Promise<string>((resolve, reject) => {
        const onMessage = (msg: FineTuneResponse): void => {
          worker.off('message', onMessage);
          if (msg.type === 'ready') resolve(msg.backend);
          else if (msg.type === 'error') reject(new SeismoError('ERR_LEARN', `fine-tune worker failed to start: ${msg.message}`));
        };
        worker.on('message', onMessage);
        worker.once('error', (err) => reject(new SeismoError('ERR_LEARN', `fine-tune worker failed to start: ${err.message}`, {}, { cause: err })));
        const init: FineTuneRequest = {
          type: 'init',
          kind: manifest.kind,
          config: manifest.hyperParameters,
          channels: [...manifest.channels],
          scaler: { mean: [...manifest.scaler.mean], std: [...manifest.scaler.std] },
          backend: options.backend,
        };
        worker.postMessage(init);
      });
      return new FineTuner(worker, backend, manifest.window, manifest.channels.length);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  /**
   * Fine-tunes from `weights`; every array argument is raw windows `[n, W, C]`. `normal` holds
   * `labelledNormal` labelled windows first and `anchorNormal` anchor windows last (replayed ones between).
   */
  async update(weights: WeightTensor[], scaler: { mean: number[]; std: number[] }, normal: Float32Array, labelledNormal: number, anchorNormal: number, anomaly: Float32Array, check: Float32Array, params: FineTuneParams): Promise<FineTuneResult> {
    const tuned = await this.tune(weights, scaler, normal, labelledNormal, anchorNormal, anomaly, check, params);
    const per = this.window * this.channels;
    const trained = tuned.rescaled ? normal.subarray(0, normal.length - anchorNormal * per) : normal;
    const [checked, normalOut, anomalyOut] = await scoreGraph(tuned.onnx, [check, trained, anomaly], this.window, this.channels);
    const checkAfter = checked!.score;
    const normalAfter = normalOut!.score;
    const anomalyAfter = anomalyOut!.score;
    let parity = 0;
    for (let i = 0; i < checkAfter.length; i++) parity = Math.max(parity, Math.abs(checkAfter[i]! - tuned.checkTf[i]!) / Math.max(1, Math.abs(tuned.checkTf[i]!)));
    const { onnx, weights: tunedWeights, losses, checkBefore, scaler: tunedScaler, rescaled, seconds } = tuned;
    return {
      onnx, weights: tunedWeights, losses, checkBefore, checkAfter, checkChannelScores: checked!.channelScore, ...(checked!.activity ? { checkActivity: checked!.activity } : {}),
      normalAfter, anomalyAfter, scaler: tunedScaler, rescaled, parity, seconds,
    };
  }

  private tune(weights: WeightTensor[], scaler: { mean: number[]; std: number[] }, normal: Float32Array, labelledNormal: number, anchorNormal: number, anomaly: Float32Array, check: Float32Array, params: FineTuneParams): Promise<Tuned> {
    if (this.closed) return Promise.reject(new SeismoError('ERR_DISPOSED', 'fine-tuner is closed'));
    const id = this.nextId++;
    return new Promise<Tuned>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage({ type: 'update', id, weights, scaler, normal, labelledNormal, anchorNormal, anomaly, check, params } satisfies FineTuneRequest);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new SeismoError('ERR_DISPOSED', 'fine-tuner closed before the update finished'));
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies FineTuneRequest);
    // An update in progress holds the thread: do not wait for it.
    const timer = setTimeout(() => void this.worker.terminate(), 1000);
    await exited;
    clearTimeout(timer);
  }

  private failAll(err: Error): void {
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/**
 * Scores raw windows (`[n, window, channels]` each) with an ONNX graph in an inference worker of
 * its own (the detector's helper), and closes it.
 */
/** Scores, channel scores and (when the graph has it) channel activity of each set of raw windows. */
async function scoreGraph(onnx: Uint8Array, sets: Float32Array[], window: number, channels: number): Promise<{ score: Float32Array; channelScore: Float32Array; activity?: Float32Array }[]> {
  const worker = await InferenceWorker.start(onnx, { provider: 'cpu', intraOpThreads: 1 });
  try {
    const out: { score: Float32Array; channelScore: Float32Array; activity?: Float32Array }[] = [];
    for (const raw of sets) {
      const n = raw.length / (window * channels);
      if (n === 0) {
        out.push({ score: new Float32Array(0), channelScore: new Float32Array(0) });
        continue;
      }
      const r = await worker.runFrames(raw, channels, BigInt64Array.from({ length: n }, (_, i) => BigInt(i * window)));
      const activity = r[GRAPH_IO.channelActivity];
      out.push({ score: Float32Array.from(r.score!), channelScore: Float32Array.from(r.channel_score!), ...(activity ? { activity: Float32Array.from(activity) } : {}) });
    }
    return out;
  } finally {
    await worker.close();
  }
}

function workerFile(): string {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `finetune-worker${ext}`);
  if (!fs.existsSync(file)) throw new SeismoError('ERR_LEARN', `fine-tune worker script missing: ${file}; reinstall seismo`);
  return file;
}
