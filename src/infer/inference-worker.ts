import fs from 'node:fs';
import path from 'node:path';
import type { Worker } from 'node:worker_threads';
import { SeismoError, type SeismoErrorCode } from '../errors.js';
import { GRAPH_IO, OPTIONAL_GRAPH_OUTPUTS } from '../model/manifest.js';
import type { ChannelLogSpec } from '../score/channel-terms.js';
import { OUTBOX_LOG_TERMS, type Outbox } from './outbox.js';
import { CONTROL, type StepInit, type WorkerRequest, type WorkerResponse } from './protocol.js';
import type { ProviderReport, ProviderRequest } from './providers.js';
import { checkRuntime, nativeInit, type RuntimeReport, type RuntimeRequest } from './runtime.js';
import { startWorker } from './start-worker.js';
import { tailStepGraph } from './step-tails.js';
import { attachFrameRings } from '../window/frame-rings.js';
import { TsRingArena } from '../window/ts-ring-arena.js';

export interface InferenceWorkerOptions {
  /** Default `auto`. */
  provider?: ProviderRequest;
  /** onnxruntime intra-op threads. Default 1. */
  intraOpThreads?: number;
  /** Outputs to fetch. Default `score`, `channel_score` and the optional outputs the graph has (`OPTIONAL_GRAPH_OUTPUTS`). */
  outputs?: string[];
  /** A step graph to score stride-1 windows with ({@link InferenceWorker.runSteps}). */
  step?: StepInit;
  /** Whether window-graph batches may go through a native scorer (see `./runtime.ts`). Default `auto`. */
  runtime?: RuntimeRequest;
}

/** Outputs of one call, by output name; `score` is `[N]`, `channel_score` is `[N, C]` row-major. */
export type InferenceOutputs = Record<string, Float32Array>;

interface Pending {
  resolve: (out: InferenceOutputs, stepped: boolean, boxed: string[] | undefined) => void;
  reject: (err: Error) => void;
}

/** Workers whose threads are running: the process's `exit` hook stops each safely (see CONTROL). */
const running = new Set<{ control: Int32Array }>();
let exitHook = false;

/**
 * At process exit (an uncaught error included) Node terminates worker threads; one terminated
 * inside onnxruntime's `session.run` aborts the process in native teardown instead of letting it
 * exit with its error. So, synchronously at `exit`: stop every worker from starting a run, and
 * wait (bounded) for the runs in progress to return.
 */
function installExitHook(): void {
  if (exitHook) return;
  exitHook = true;
  process.on('exit', () => {
    const deadline = Date.now() + 10_000;
    for (const w of running) Atomics.store(w.control, CONTROL.STOP, 1);
    for (const w of running) {
      for (let busy = Atomics.load(w.control, CONTROL.BUSY); busy > 0 && Date.now() < deadline; busy = Atomics.load(w.control, CONTROL.BUSY)) {
        Atomics.wait(w.control, CONTROL.BUSY, busy, 50);
      }
    }
  });
}

/** The main-thread side of the inference worker: one onnxruntime session in its own thread. */
export class InferenceWorker {
  readonly report: ProviderReport;
  readonly inputNames: string[];
  readonly outputNames: string[];
  /** Whether the worker scores {@link runSteps} batches through a step graph (else the window graph does). */
  readonly step: boolean;
  /** What scores the window graph's batches: the native scorer or onnxruntime, and why. */
  readonly runtime: RuntimeReport;
  private readonly worker: Worker;
  private readonly control: Int32Array;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  /** Outbox slots registered with this worker's thread (see `./outbox.ts`): outbox id -> slots. */
  private readonly outboxes = new Map<number, Set<number>>();
  private closed = false;
  private failure: SeismoError | undefined;
  /** Resolves when the thread has exited, however it ended. */
  private readonly exited: Promise<void>;
  private hasExited = false;

  private constructor(worker: Worker, control: Int32Array, ready: Extract<WorkerResponse, { type: 'ready' }>) {
    this.worker = worker;
    this.control = control;
    this.report = ready.report;
    this.inputNames = ready.inputNames;
    this.outputNames = ready.outputNames;
    this.step = ready.step;
    this.runtime = ready.runtime;
    const handle = { control };
    running.add(handle);
    installExitHook();
    worker.on('message', (msg: WorkerResponse) => this.onMessage(msg));
    worker.on('error', (err) => this.failAll(new SeismoError('ERR_INFERENCE', `inference worker crashed: ${err.message}`, { died: true }, { cause: err })));
    this.exited = new Promise<void>((resolve) => {
      worker.once('exit', (code) => {
        this.hasExited = true;
        running.delete(handle);
        if (!this.closed) this.failAll(new SeismoError('ERR_INFERENCE', `inference worker exited unexpectedly (code ${code})`, { died: true }));
        resolve();
      });
    });
  }

  /**
   * Why the worker can no longer score (its thread crashed or exited), or undefined while it can.
   * An error of one run (e.g. onnxruntime refusing an input) rejects that run only and is not this.
   */
  get dead(): SeismoError | undefined {
    return this.failure;
  }

  /** Starts the worker and creates the session; rejects with the provider's or model's error. */
  static async start(model: Uint8Array, options: InferenceWorkerOptions = {}): Promise<InferenceWorker> {
    const runtime = checkRuntime(options.runtime);
    // Read here, before the thread starts: the worker gets the network (or the reason there is none).
    const native = nativeInit(model, runtime);
    const control = new Int32Array(new SharedArrayBuffer(CONTROL.LENGTH * Int32Array.BYTES_PER_ELEMENT));
    const worker = startWorker(workerFile(), { workerData: { control } });
    const ready = await new Promise<Extract<WorkerResponse, { type: 'ready' }>>((resolve, reject) => {
      const onMessage = (msg: WorkerResponse): void => {
        worker.off('error', onError);
        worker.off('exit', onExit);
        worker.off('message', onMessage);
        if (msg.type === 'ready') resolve(msg);
        else if (msg.type === 'error') reject(new SeismoError(msg.code as SeismoErrorCode, msg.message));
      };
      const onError = (err: Error): void => reject(new SeismoError('ERR_INFERENCE', `inference worker failed to start: ${err.message}`, {}, { cause: err }));
      const onExit = (code: number): void => reject(new SeismoError('ERR_INFERENCE', `inference worker exited while starting (code ${code})`));
      worker.on('message', onMessage);
      worker.once('error', onError);
      worker.once('exit', onExit);
      const init: WorkerRequest = {
        type: 'init',
        model,
        provider: options.provider ?? 'auto',
        intraOpThreads: options.intraOpThreads ?? 1,
        outputs: options.outputs ?? [GRAPH_IO.score, GRAPH_IO.channelScore, ...OPTIONAL_GRAPH_OUTPUTS],
        ...(options.step ? { step: withTails(options.step) } : {}),
        runtime,
        native,
      };
      worker.postMessage(init);
    }).catch(async (err: unknown) => {
      await worker.terminate();
      throw err;
    });
    return new InferenceWorker(worker, control, ready);
  }

  /**
   * Scores windows that lie in a ring arena (zero copy: the worker reads the arena in place).
   * @param rowStart first arena row of the span; `rowCount` rows follow.
   * @param starts window starts, in rows relative to `rowStart`.
   * @param outbox a slot of shared memory for the outputs (see `./outbox.ts`): the returned
   *   `score`, `channel_score` and `channel_activity` are then views of it, valid until the
   *   caller gives the slot back; with `logs`, the worker also writes each window's `ln e_c` there
   *   (`box.logTermsOf(slot, logs, n)`).
   */
  runArena(arenaId: number, rowStart: number, rowCount: number, starts: BigInt64Array, outbox?: { box: Outbox; slot: number; logs?: ChannelLogSpec }): Promise<InferenceOutputs> {
    if (TsRingArena.owns(arenaId)) {
      // The TypeScript rings (no addon) live in this thread's memory only: the worker gets a copy of the rows.
      const a = attachFrameRings(arenaId);
      return this.runFrames(a.view.slice(rowStart * a.channels, (rowStart + rowCount) * a.channels), a.channels, starts);
    }
    if (!outbox) return this.request((id) => ({ type: 'run', id, arenaId, rowStart, rowCount, starts }));
    const { box, slot, logs } = outbox;
    this.register(box, slot);
    return this.requestWith(
      (id) => ({ type: 'run', id, arenaId, rowStart, rowCount, starts, outbox: { id: box.id, slot, ...(logs ? { logs } : {}) } }),
      (outputs, _stepped, boxed) => unbox(outputs, boxed, outbox, starts.length),
    );
  }

  /** Registers an outbox slot with this worker's thread, once per worker and slot, before the first request that names it (messages arrive in order). */
  private register(box: Outbox, slot: number): void {
    let known = this.outboxes.get(box.id);
    if (!known) this.outboxes.set(box.id, (known = new Set()));
    if (!known.has(slot) && !this.closed && !this.failure) {
      this.worker.postMessage({ type: 'outbox', id: box.id, slot, buffer: box.buffers[slot]!, layout: box.layout } satisfies WorkerRequest);
      known.add(slot);
    }
  }

  /**
   * Scores stride-1 windows that lie in a ring arena, as {@link runArena} does, through the step
   * graph when the worker has one (same scores; see `./step-scorer.ts`).
   * @param slots series slot of each window (a series' windows in time order).
   * @param frames index in its series of each window's first frame (the worker finds the window
   *   in the arena from its slot and frame).
   * @param span where the windows lie as {@link runArena} takes them: asked only when the batch
   *   goes through the window graph instead (the TypeScript rings, which the worker cannot view).
   * @param outbox as for {@link runArena}: the step scorer writes the outputs into the slot.
   */
  runSteps(arenaId: number, slots: Int32Array, frames: Float64Array, span: () => { rowStart: number; rowCount: number; starts: BigInt64Array }, outbox?: { box: Outbox; slot: number; logs?: ChannelLogSpec }): Promise<{ outputs: InferenceOutputs; stepped: boolean }> {
    // The step graph reads the arena in the worker, which cannot view the TypeScript rings (no
    // addon): those windows go through the window graph.
    if (TsRingArena.owns(arenaId)) {
      const { rowStart, rowCount, starts } = span();
      return this.runArena(arenaId, rowStart, rowCount, starts).then((outputs) => ({ outputs, stepped: false }));
    }
    if (outbox) this.register(outbox.box, outbox.slot);
    const logs = outbox?.logs;
    return this.requestWith(
      (id) => ({ type: 'steps', id, arenaId, slots, frames, ...(outbox ? { outbox: { id: outbox.box.id, slot: outbox.slot, ...(logs ? { logs } : {}) } } : {}) }),
      (outputs, stepped, boxed) => ({ outputs: outbox ? unbox(outputs, boxed, outbox, slots.length) : outputs, stepped }),
    );
  }

  /** Scores windows of frames held in JS memory (`[T, channels]` row-major; copied to the worker). */
  runFrames(frames: Float32Array, channels: number, starts: BigInt64Array): Promise<InferenceOutputs> {
    return this.request((id) => ({ type: 'runFrames', id, frames, channels, starts }));
  }

  /** Batches sent and not yet answered. */
  get inFlight(): number {
    return this.pending.size;
  }

  /** Asks the worker to release its session and exit; stops it after 2 s if it has not. Returns at once when it is already gone. */
  async close(): Promise<void> {
    if (this.closed) return this.exited;
    this.closed = true;
    this.failAll(new SeismoError('ERR_DISPOSED', 'inference worker closed before the batch was scored'));
    if (this.hasExited) return;
    this.worker.postMessage({ type: 'close' } satisfies WorkerRequest);
    const timer = setTimeout(() => void this.terminate(), 2000);
    await this.exited;
    clearTimeout(timer);
  }

  /**
   * Stops the thread without a goodbye, as a crash would (requests in flight fail with
   * `ERR_INFERENCE` unless the worker was closed). A run in progress is waited out first:
   * terminating a thread inside onnxruntime's `session.run` aborts the process.
   */
  async terminate(): Promise<void> {
    if (this.hasExited) return;
    Atomics.store(this.control, CONTROL.STOP, 1);
    const deadline = Date.now() + 30_000;
    while (Atomics.load(this.control, CONTROL.BUSY) > 0 && Date.now() < deadline) {
      // A run lasts milliseconds to a few hundred: poll rather than block the event loop.
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await this.worker.terminate();
    await this.exited;
  }

  private request(make: (id: number) => WorkerRequest): Promise<InferenceOutputs> {
    return this.requestWith(make, (outputs) => outputs);
  }

  /** Sends a request; its result (outputs, and whether the step graph scored them) becomes what `shape` makes of it. */
  private requestWith<T>(make: (id: number) => WorkerRequest, shape: (outputs: InferenceOutputs, stepped: boolean, boxed: string[] | undefined) => T): Promise<T> {
    if (this.closed) return Promise.reject(new SeismoError('ERR_DISPOSED', 'inference worker is closed'));
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: (out, stepped, boxed) => resolve(shape(out, stepped, boxed)), reject });
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
    if (msg.type === 'result') pending.resolve(msg.outputs, msg.stepped === true, msg.outbox);
    else pending.reject(new SeismoError(msg.code as SeismoErrorCode, `inference failed: ${msg.message}`));
  }

  private failAll(err: SeismoError): void {
    if (!this.closed) this.failure ??= err;
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}

/**
 * A step init with its graph's tails form (see `./step-tails.ts`), derived here: the main thread
 * has onnx-proto loaded already, the worker would load it for this alone. A graph it cannot
 * derive one from goes without (every call then fetches the full columns).
 */
function withTails(step: StepInit): StepInit {
  if (step.tails) return step;
  let tails: Uint8Array | undefined;
  try {
    tails = tailStepGraph(step.model, step.layout);
  } catch {
    tails = undefined;
  }
  return tails ? { ...step, tails } : step;
}

/** A reply's outputs with those the worker wrote into the request's outbox slot (`boxed`) as views of it. */
function unbox(outputs: InferenceOutputs, boxed: string[] | undefined, outbox: { box: Outbox; slot: number; logs?: ChannelLogSpec }, n: number): InferenceOutputs {
  if (!boxed) return outputs;
  const { box, slot, logs } = outbox;
  for (const name of boxed) {
    // The logs are the outbox's to hand out (`logTermsOf`), with the spec they were made with.
    if (name === OUTBOX_LOG_TERMS) box.logsWith[slot] = logs;
    else outputs[name] = box.views.view(slot, name, n)!;
  }
  return outputs;
}

/** The worker entry: built `.js` beside this file, or the `.ts` source under tsx. */
function workerFile(): string {
  const ext = path.extname(__filename);
  const file = path.join(__dirname, `ort-worker${ext}`);
  if (!fs.existsSync(file)) throw new SeismoError('ERR_INFERENCE', `inference worker script missing: ${file}; reinstall seismo`);
  return file;
}
