/** The learner's side of the fine-tuning worker thread. */
import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { SeismoError } from '../errors.js';
import { startWorker } from '../infer/start-worker.js';
import type { Manifest } from '../model/manifest.js';
import type { FineTuneParams, FineTuneRequest, FineTuneResponse, WeightTensor } from './finetune-protocol.js';

export type FineTuneResult = Extract<FineTuneResponse, { type: 'done' }>;

/** One fine-tuning worker: a tfjs copy of the model that trains off the scoring thread. */
export class FineTuner {
  readonly backend: string;
  private readonly worker: Worker;
  private readonly pending = new Map<number, { resolve: (r: FineTuneResult) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private closed = false;

  private constructor(worker: Worker, backend: string) {
    this.worker = worker;
    this.backend = backend;
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
      return new FineTuner(worker, backend);
    } catch (err) {
      await worker.terminate();
      throw err;
    }
  }

  /**
   * Fine-tunes from `weights`; every array argument is raw windows `[n, W, C]`. `normal` holds
   * `labelledNormal` labelled windows first and `anchorNormal` anchor windows last (replayed ones between).
   */
  update(weights: WeightTensor[], scaler: { mean: number[]; std: number[] }, normal: Float32Array, labelledNormal: number, anchorNormal: number, anomaly: Float32Array, check: Float32Array, params: FineTuneParams): Promise<FineTuneResult> {
    if (this.closed) return Promise.reject(new SeismoError('ERR_DISPOSED', 'fine-tuner is closed'));
    const id = this.nextId++;
    return new Promise<FineTuneResult>((resolve, reject) => {
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

function workerFile(): string {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `finetune-worker${ext}`);
  if (!fs.existsSync(file)) throw new SeismoError('ERR_LEARN', `fine-tune worker script missing: ${file}; reinstall seismo`);
  return file;
}
