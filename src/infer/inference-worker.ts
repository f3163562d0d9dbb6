import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { SeismoError, type SeismoErrorCode } from '../errors.js';
import type { WorkerRequest, WorkerResponse } from './protocol.js';
import type { ProviderReport, ProviderRequest } from './providers.js';
import { startWorker } from './start-worker.js';

export interface InferenceWorkerOptions {
  /** Default `auto`. */
  provider?: ProviderRequest;
  /** onnxruntime intra-op threads. Default 1. */
  intraOpThreads?: number;
  /** Outputs to fetch. Default `['score', 'channel_score']`. */
  outputs?: string[];
}

/** Outputs of one call, by output name; `score` is `[N]`, `channel_score` is `[N, C]` row-major. */
export type InferenceOutputs = Record<string, Float32Array>;

interface Pending {
  resolve: (out: InferenceOutputs) => void;
  reject: (err: Error) => void;
}

/** The main-thread side of the inference worker: one onnxruntime session in its own thread. */
export class InferenceWorker {
  readonly report: ProviderReport;
  readonly inputNames: string[];
  readonly outputNames: string[];
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private closed = false;
  private failure: Error | undefined;

  private constructor(worker: Worker, ready: Extract<WorkerResponse, { type: 'ready' }>) {
    this.worker = worker;
    this.report = ready.report;
    this.inputNames = ready.inputNames;
    this.outputNames = ready.outputNames;
    worker.on('message', (msg: WorkerResponse) => this.onMessage(msg));
    worker.on('error', (err) => this.failAll(new SeismoError('ERR_INFERENCE', `inference worker crashed: ${err.message}`, {}, { cause: err })));
    worker.on('exit', (code) => {
      if (!this.closed) this.failAll(new SeismoError('ERR_INFERENCE', `inference worker exited unexpectedly (code ${code})`));
    });
  }

  /** Starts the worker and creates the session; rejects with the provider's or model's error. */
  static async start(model: Uint8Array, options: InferenceWorkerOptions = {}): Promise<InferenceWorker> {
    const worker = startWorker(workerFile());
    const ready = await new Promise<Extract<WorkerResponse, { type: 'ready' }>>((resolve, reject) => {
      const onMessage = (msg: WorkerResponse): void => {
        worker.off('error', onError);
        worker.off('message', onMessage);
        if (msg.type === 'ready') resolve(msg);
        else if (msg.type === 'error') reject(new SeismoError(msg.code as SeismoErrorCode, msg.message));
      };
      const onError = (err: Error): void => reject(new SeismoError('ERR_INFERENCE', `inference worker failed to start: ${err.message}`, {}, { cause: err }));
      worker.on('message', onMessage);
      worker.once('error', onError);
      const init: WorkerRequest = {
        type: 'init',
        model,
        provider: options.provider ?? 'auto',
        intraOpThreads: options.intraOpThreads ?? 1,
        outputs: options.outputs ?? ['score', 'channel_score'],
      };
      worker.postMessage(init);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    return new InferenceWorker(worker, ready);
  }

  /**
   * Scores windows that lie in a ring arena (zero copy: the worker reads the arena in place).
   * @param rowStart first arena row of the span; `rowCount` rows follow.
   * @param starts window starts, in rows relative to `rowStart`.
   */
  runArena(arenaId: number, rowStart: number, rowCount: number, starts: BigInt64Array): Promise<InferenceOutputs> {
    return this.request((id) => ({ type: 'run', id, arenaId, rowStart, rowCount, starts }));
  }

  /** Scores windows of frames held in JS memory (`[T, channels]` row-major; copied to the worker). */
  runFrames(frames: Float32Array, channels: number, starts: BigInt64Array): Promise<InferenceOutputs> {
    return this.request((id) => ({ type: 'runFrames', id, frames, channels, starts }));
  }

  /** Batches sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.failAll(new SeismoError('ERR_DISPOSED', 'inference worker closed before the batch was scored'));
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    const timer = setTimeout(() => void this.worker.terminate(), 2000);
    await exited;
    clearTimeout(timer);
  }

  private request(make: (id: number) => WorkerRequest): Promise<InferenceOutputs> {
    if (this.closed) return Promise.reject(new SeismoError('ERR_DISPOSED', 'inference worker is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<InferenceOutputs>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.worker.postMessage(make(id));
    });
  }

  private onMessage(msg: WorkerResponse): void {
    if (msg.type === 'ready') return;
    if (msg.type === 'error' && msg.id === null) {
      this.failAll(new SeismoError(msg.code as SeismoErrorCode, msg.message));
      return;
    }
    const pending = this.pending.get(msg.id!);
    if (!pending) return;
    this.pending.delete(msg.id!);
    if (msg.type === 'result') pending.resolve(msg.outputs);
    else pending.reject(new SeismoError(msg.code as SeismoErrorCode, `inference failed: ${msg.message}`));
  }

  private failAll(err: Error): void {
    if (!this.closed) this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/** The worker entry: built `.js` beside this file, or the `.ts` source under tsx. */
function workerFile(): string {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `ort-worker${ext}`);
  if (!fs.existsSync(file)) throw new SeismoError('ERR_INFERENCE', `inference worker script missing: ${file}; reinstall seismo`);
  return file;
}
