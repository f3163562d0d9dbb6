// Worker thread that owns the onnxruntime session: session.run() blocks its thread for the whole
// inference (128 ms at batch 1024 was measured), so it must not run on the event loop that
// ingests samples. An LSTM-AE graph that the main thread recognised (`./lstm-ae-net.ts`) is
// scored here by the addon's fused scorer instead (`startNative`), synchronously, on the same
// frames; the session stays the fallback (see `./runtime.ts`).
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { isSeismoError } from '../errors.js';
import { GRAPH_IO, OPTIONAL_GRAPH_OUTPUTS } from '../model/manifest.js';
import { channelLogTerms, type ChannelLogSpec } from '../score/channel-terms.js';
import { attachFrameRings } from '../window/frame-rings.js';
import { createSession, type ProviderRequest } from './providers.js';
import { CONTROL, nativeScorerPays, type StepInit, type WorkerRequest, type WorkerResponse } from './protocol.js';
import { OUTBOX_LOG_TERMS, OutboxViews } from './outbox.js';
import { StepScorer } from './step-scorer.js';
import { historyInput, STEP_IO, stepColumns } from './step-state.js';
// Types only: onnx-proto (which runtime.ts loads) stays out of this thread.
import type { NativeInit, RuntimeReport, RuntimeRequest } from './runtime.js';
import { loadNative, type NativeLstmAeScorer, type NativeLstmAeScorerConstructor } from '../native.js';

const port = parentPort!;
let session: ort.InferenceSession | undefined;
let outputs: string[] = [];
/** Shared with the main thread (see CONTROL): BUSY while inside session.run, STOP once it wants this thread gone. */
const control = (workerData as { control?: Int32Array } | undefined)?.control ?? new Int32Array(CONTROL.LENGTH);
const arenas = new Map<number, { view: Float32Array; channels: number; capacity: number }>();
/** Shared output slots registered by the main thread (see `./outbox.ts`), by id. */
const outboxes = new Map<number, OutboxViews>();
/** The step graph's scorer, when the model has one (see `steps`). */
let stepper: StepScorer | undefined;
let stepSession: ort.InferenceSession | undefined;
/** The step graph's tails form (see `./step-tails.ts`), when it could be made. */
let tailSession: ort.InferenceSession | undefined;
/** The stepped batch under way (see the `steps` message). */
let stepChain: Promise<void> = Promise.resolve();
/**
 * The addon's LSTM-AE scorer, when it scores this worker's window-graph batches instead of the
 * session (see `startNative`), with the width of each output it gives per window.
 */
let native: { scorer: NativeLstmAeScorer; widths: { name: string; width: number }[]; activity: boolean; reconstruction: boolean } | undefined;

function send(msg: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function arena(id: number): { view: Float32Array; channels: number; capacity: number } {
  let a = arenas.get(id);
  if (!a) {
    a = attachFrameRings(id);
    arenas.set(id, a);
  }
  return a;
}

/**
 * Counts a run in BUSY (see CONTROL) before looking at STOP (the stopper does the reverse): either
 * the stopper sees it and waits for it, or it sees STOP and the run does not start. BUSY counts:
 * runs are queued (onnxruntime-node starts each one from a setImmediate), several may be under way.
 * False when the worker is stopping (the main thread fails the request when the thread exits);
 * after true, {@link leaveBusy} once the run is over.
 */
function enterBusy(): boolean {
  Atomics.add(control, CONTROL.BUSY, 1);
  if (Atomics.load(control, CONTROL.STOP) !== 1) return true;
  leaveBusy();
  return false;
}

function leaveBusy(): void {
  Atomics.sub(control, CONTROL.BUSY, 1);
  Atomics.notify(control, CONTROL.BUSY);
}

/** Runs `work` counted in BUSY; undefined when the worker is stopping. */
async function busy<T>(work: () => Promise<T>): Promise<T | undefined> {
  if (!enterBusy()) return undefined;
  try {
    return await work();
  } finally {
    leaveBusy();
  }
}

function reply(id: number, out: Record<string, Float32Array>, stepped = false, boxed?: string[]): void {
  const transfer: ArrayBuffer[] = [];
  for (const data of Object.values(out)) {
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) transfer.push(data.buffer as ArrayBuffer);
  }
  send({ type: 'result', id, outputs: out, ...(stepped ? { stepped } : {}), ...(boxed && boxed.length > 0 ? { outbox: boxed } : {}) }, transfer);
}

/** Arena rows of each window's first frame in a `steps` request (reused from request to request). */
let stepRows = new Int32Array(0);

/**
 * Stride-1 windows through the step graph (each call advances every series of the batch by all
 * its frames, up to a cap: see StepScorer). The main thread sends these only to a worker whose
 * `ready` said it has a step graph.
 */
async function steps(msg: Extract<WorkerRequest, { type: 'steps' }>): Promise<void> {
  if (!stepper) throw new Error('inference worker: a stepped batch, but this worker has no step graph');
  const n = msg.slots.length;
  const a = arena(msg.arenaId);
  // Frame f of slot s lies at arena row s * 2 capacity + f mod capacity (FrameRings.rowOf).
  if (stepRows.length < n) stepRows = new Int32Array(Math.max(n, 2 * stepRows.length));
  const rows = stepRows;
  const rowsPerSlot = 2 * a.capacity;
  const cap = a.capacity;
  for (let i = 0; i < n; i++) {
    // Frame indices are float64, whose `%` calls into the C library: an int32 remainder while they fit.
    const f = msg.frames[i]!;
    rows[i] = msg.slots[i]! * rowsPerSlot + (f < 2_147_483_648 ? (f | 0) % cap : f % cap);
  }
  const scorer = stepper;
  // The outputs the request's outbox slot has room for are written there by the scorer itself
  // (no result arrays allocated and posted per batch); the others are sent.
  const box = msg.outbox ? outboxes.get(msg.outbox.id) : undefined;
  let into: Record<string, Float32Array | undefined> | undefined;
  if (box) {
    into = {};
    for (const o of box.layout.outputs) into[o.name] = box.view(msg.outbox!.slot, o.name, n);
  }
  const result = await busy(() => scorer.score(n, msg.slots, msg.frames, a.view, rows, into));
  if (!result) return;
  const out: Record<string, Float32Array> = {};
  const boxed: string[] = [];
  for (const [name, data] of Object.entries(result)) {
    if (into?.[name] !== undefined && data.buffer === into[name]!.buffer) boxed.push(name);
    else out[name] = data;
  }
  if (box) boxLogTerms(box, msg.outbox!, n, result[GRAPH_IO.score], result[GRAPH_IO.channelScore], boxed);
  reply(msg.id, out, true, boxed);
}

async function startStep(step: StepInit, provider: ProviderRequest, intraOpThreads: number, wanted: string[], channels: number): Promise<void> {
  let s: ort.InferenceSession;
  try {
    ({ session: s } = await createSession(step.model, { provider, intraOpThreads }));
  } catch {
    return; // the window graph scores every batch; `ready.step` says the step graph is not in use
  }
  // The step graph gives the scores the pipeline needs; outputs only some window graphs add
  // (e.g. reconstructions) are not in it, and batches scored by steps come without them.
  const outputs = wanted.filter((name) => s.outputNames.includes(name));
  // A step graph of an earlier contract (other inputs, or `columns` not flat) is left unused: the window graph scores.
  const rank = (list: readonly ort.InferenceSession.ValueMetadata[], name: string): number => {
    const m = list.find((v) => v.name === name);
    return m && m.isTensor ? m.shape.length : -1;
  };
  // The columns: one output per layer, or (graphs exported before those) one flat `columns`.
  const columns = step.layout.layers.every((_, l) => rank(s.outputMetadata, stepColumns(l)) >= 2) || rank(s.outputMetadata, STEP_IO.columns) === 1;
  const contract =
    s.inputNames.length === step.layout.layers.length + 1 &&
    rank(s.inputMetadata, STEP_IO.frames) === 3 &&
    step.layout.layers.every((_, l) => rank(s.inputMetadata, historyInput(l)) === 3) &&
    columns;
  if (!contract || !outputs.includes('score') || !outputs.includes('channel_score')) {
    await s.release();
    return;
  }
  stepSession = s;
  // The tails form, made by the main thread: optional (the scorer steps every call through `s` without it).
  try {
    if (step.tails) ({ session: tailSession } = await createSession(step.tails, { provider, intraOpThreads }));
  } catch {
    tailSession = undefined;
  }
  const activity = step.activityStd && wanted.includes(GRAPH_IO.channelActivity) && step.activityStd.length === channels ? { activityStd: step.activityStd } : {};
  stepper = new StepScorer(s, ort.Tensor, step.layout, { window: step.window, channels, slots: step.slots, outputs: activity.activityStd ? [...outputs, GRAPH_IO.channelActivity] : outputs, ...activity, ...(tailSession ? { tailSession } : {}) });
}

/**
 * Starts the native scorer for the window graph when the main thread found a network for it
 * (`init.native`), the addon has one, the session runs on the CPU (an explicit GPU provider
 * stays in charge) and the scorer gives every output asked for; says what runs and why.
 */
function startNative(requested: RuntimeRequest, init: NativeInit, provider: string, wanted: readonly string[]): RuntimeReport {
  const onnxruntime = (reason: string): RuntimeReport => ({ requested, runtime: 'onnxruntime', reason });
  if (!init.lstmAe) return onnxruntime(init.reason);
  if (provider !== 'cpu') return onnxruntime(`the session runs on ${provider}; the native scorer runs on the CPU`);
  const { spec, outputs: given } = init.lstmAe;
  const missing = wanted.filter((name) => !given.includes(name));
  if (missing.length > 0) return onnxruntime(`the native scorer does not give ${missing.join(', ')}`);
  let Scorer: NativeLstmAeScorerConstructor | undefined;
  try {
    // Undefined on an addon built before the scorer (a stale build/Release of an older ABI fails to load instead).
    Scorer = (loadNative() as { LstmAeScorer?: NativeLstmAeScorerConstructor }).LstmAeScorer;
  } catch (err) {
    return onnxruntime(`the native addon is unavailable: ${err instanceof Error ? err.message : String(err)}`);
  }
  if (!Scorer) return onnxruntime('the native addon has no LSTM-AE scorer');
  let scorer: NativeLstmAeScorer;
  try {
    scorer = new Scorer(spec);
  } catch (err) {
    return onnxruntime(`the native scorer refused the network: ${err instanceof Error ? err.message : String(err)}`);
  }
  // Its baseline variant (a CPU without AVX2) is slower than onnxruntime's LSTM op (16.5k against
  // 18.3k windows/s at batch 64, docs/benchmarks.md): only the vectorised variants pay.
  if (!nativeScorerPays(scorer.isa)) return onnxruntime(`the native scorer's ${scorer.isa} variant (this CPU has no AVX2) is slower than onnxruntime`);
  const C = spec.channels;
  const widths = wanted.map((name) => ({ name, width: name === 'reconstruction' ? spec.window * C : name === GRAPH_IO.score ? 1 : C }));
  native = { scorer, widths, activity: wanted.includes(GRAPH_IO.channelActivity), reconstruction: wanted.includes('reconstruction') };
  return { requested, runtime: 'native-lstm-ae', isa: scorer.isa };
}

/**
 * Scores a window-graph batch through the native scorer: frames read in place (a view of the
 * ring arena for `run`), outputs written straight into the request's outbox slot where it has
 * room for them, else into new arrays that are transferred with the reply. Synchronous.
 */
function runNative(id: number, frames: Float32Array, starts: BigInt64Array, outbox?: { id: number; slot: number; logs?: ChannelLogSpec }): void {
  const { scorer, widths, activity, reconstruction } = native!;
  const n = starts.length;
  const box = outbox ? outboxes.get(outbox.id) : undefined;
  const out: Record<string, Float32Array> = {};
  const boxed: string[] = [];
  const into: Record<string, Float32Array> = {};
  for (const { name, width } of widths) {
    const view = box?.view(outbox!.slot, name, n);
    if (view && view.length === n * width) {
      into[name] = view;
      boxed.push(name);
    } else {
      into[name] = out[name] = new Float32Array(n * width);
    }
  }
  // Synchronous, so counted in BUSY without `busy`'s promise.
  if (!enterBusy()) return;
  try {
    scorer.score(frames, starts, n, into[GRAPH_IO.score]!, into[GRAPH_IO.channelScore]!, activity ? into[GRAPH_IO.channelActivity]! : null, reconstruction ? into['reconstruction']! : null);
  } finally {
    leaveBusy();
  }
  if (box) boxLogTerms(box, outbox!, n, into[GRAPH_IO.score], into[GRAPH_IO.channelScore], boxed);
  reply(id, out, false, boxed);
}

/**
 * The attribution's logarithms of a batch's outputs into its outbox slot, when the request asked
 * for them: here beside onnxruntime rather than on the main thread that ingests and delivers (at
 * window 1 they cost as much as the graph itself). Adds {@link OUTBOX_LOG_TERMS} to `boxed` when written.
 */
function boxLogTerms(box: OutboxViews, outbox: { slot: number; logs?: ChannelLogSpec }, n: number, scores: Float32Array | undefined, channelScores: Float32Array | undefined, boxed: string[]): void {
  const logs = outbox.logs ? box.logTerms(outbox.slot, n) : undefined;
  if (!logs || !scores || !channelScores) return;
  const C = box.layout.logTerms;
  if (channelScores.length !== n * C) return;
  channelLogTerms(outbox.logs!, channelScores, scores, n, C, logs);
  boxed.push(OUTBOX_LOG_TERMS);
}

async function run(id: number, frames: Float32Array, channels: number, starts: BigInt64Array, outbox?: { id: number; slot: number; logs?: ChannelLogSpec }): Promise<void> {
  if (!session) throw new Error('inference worker used before init');
  if (native) return runNative(id, frames, starts, outbox);
  const feeds = {
    // Over the ring's own memory when `frames` is a view of an arena: onnxruntime reads it in place.
    frames: new ort.Tensor('float32', frames, [frames.length / channels, channels]),
    starts: new ort.Tensor('int64', starts, [starts.length]),
  };
  const s = session;
  const result = await busy(() => s.run(feeds, outputs));
  if (!result) return;
  const out: Record<string, Float32Array> = {};
  // Outputs the request's outbox slot has room for go there (a copy into memory the main thread
  // holds already); the others are sent. A slot that cannot take an output (an unregistered
  // outbox, another size) leaves it to be sent, and the main thread reads what arrived.
  const box = outbox ? outboxes.get(outbox.id) : undefined;
  const boxed: string[] = [];
  for (const name of outputs) {
    const data = result[name]!.data as Float32Array;
    const into = box?.view(outbox!.slot, name, starts.length);
    if (into && into.length === data.length) {
      into.set(data);
      boxed.push(name);
    } else out[name] = data;
  }
  if (box) boxLogTerms(box, outbox!, starts.length, result[GRAPH_IO.score]?.data as Float32Array | undefined, result[GRAPH_IO.channelScore]?.data as Float32Array | undefined, boxed);
  reply(id, out, false, boxed);
}

port.on('message', (msg: WorkerRequest) => {
  const id = msg.type === 'run' || msg.type === 'runFrames' || msg.type === 'steps' ? msg.id : null;
  const fail = (err: unknown): void => {
    const code = isSeismoError(err) ? err.code : ((err as { code?: string })?.code ?? 'ERR_INFERENCE');
    send({ type: 'error', id, code, message: err instanceof Error ? err.message : String(err) });
  };
  try {
    switch (msg.type) {
      case 'init':
        createSession(msg.model, { provider: msg.provider, intraOpThreads: msg.intraOpThreads })
          .then(async ({ session: s, report }) => {
            session = s;
            // Optional outputs (OPTIONAL_GRAPH_OUTPUTS) are fetched only from graphs that have them;
            // a missing required one still fails at the first run, naming it.
            outputs = msg.outputs.filter((name) => s.outputNames.includes(name) || !OPTIONAL_GRAPH_OUTPUTS.includes(name));
            // The frame width, from the window graph's `frames` input [T, C].
            const channels = msg.step ? Number((s.inputMetadata.find((m) => m.name === 'frames') as { shape?: unknown[] } | undefined)?.shape?.[1]) : 0;
            if (msg.step && Number.isInteger(channels) && channels > 0) await startStep(msg.step, report.provider, msg.intraOpThreads, msg.outputs, channels);
            const runtime = startNative(msg.runtime, msg.native, report.provider, outputs);
            send({ type: 'ready', report, inputNames: [...s.inputNames], outputNames: [...s.outputNames], step: stepper !== undefined, runtime });
          })
          .catch(fail);
        break;
      case 'run': {
        const a = arena(msg.arenaId);
        const frames = a.view.subarray(msg.rowStart * a.channels, (msg.rowStart + msg.rowCount) * a.channels);
        run(msg.id, frames, a.channels, msg.starts, msg.outbox).catch(fail);
        break;
      }
      case 'outbox':
        if (!outboxes.has(msg.id)) outboxes.set(msg.id, new OutboxViews(msg.layout));
        outboxes.get(msg.id)!.attach(msg.slot, msg.buffer);
        break;
      case 'steps':
        // One stepped batch at a time, in arrival order: each continues the states the one before
        // left (onnxruntime-node runs are async, so a second batch would otherwise interleave).
        stepChain = stepChain.then(() => steps(msg)).catch(fail);
        break;
      case 'runFrames':
        run(msg.id, msg.frames, msg.channels, msg.starts).catch(fail);
        break;
      case 'close':
        void stepSession?.release();
        void tailSession?.release();
        void session?.release().finally(() => process.exit(0));
        if (!session) process.exit(0);
        break;
    }
  } catch (err) {
    fail(err);
  }
});
