// Worker thread that owns the onnxruntime session: session.run() blocks its thread for the whole
// inference (128 ms at batch 1024 was measured), so it must not run on the event loop that
// ingests samples.
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { isSeismoError } from '../errors.js';
import { OPTIONAL_GRAPH_OUTPUTS } from '../model/manifest.js';
import { attachFrameRings } from '../window/frame-rings.js';
import { createSession } from './providers.js';
import { CONTROL, type WorkerRequest, type WorkerResponse } from './protocol.js';

const port = parentPort!;
let session: ort.InferenceSession | undefined;
let outputs: string[] = [];
/** Shared with the main thread (see CONTROL): BUSY while inside session.run, STOP once it wants this thread gone. */
const control = (workerData as { control?: Int32Array } | undefined)?.control ?? new Int32Array(CONTROL.LENGTH);
const arenas = new Map<number, { view: Float32Array; channels: number }>();

function send(msg: WorkerResponse, transfer: ArrayBuffer[] = []): void {
  port.postMessage(msg, transfer);
}

function arena(id: number): { view: Float32Array; channels: number } {
  let a = arenas.get(id);
  if (!a) {
    a = attachFrameRings(id);
    arenas.set(id, a);
  }
  return a;
}

async function run(id: number, frames: Float32Array, channels: number, starts: BigInt64Array): Promise<void> {
  if (!session) throw new Error('inference worker used before init');
  const feeds = {
    // Over the ring's own memory when `frames` is a view of an arena: onnxruntime reads it in place.
    frames: new ort.Tensor('float32', frames, [frames.length / channels, channels]),
    starts: new ort.Tensor('int64', starts, [starts.length]),
  };
  // Count this run in BUSY before looking at STOP (the stopper does the reverse): either the
  // stopper sees it and waits for it, or it sees STOP and does not start. BUSY counts: runs are
  // queued (onnxruntime-node starts each one from a setImmediate), several may be under way.
  Atomics.add(control, CONTROL.BUSY, 1);
  if (Atomics.load(control, CONTROL.STOP) === 1) {
    Atomics.sub(control, CONTROL.BUSY, 1);
    Atomics.notify(control, CONTROL.BUSY);
    return; // stopping: the main thread fails this request when the thread exits
  }
  let result: ort.InferenceSession.OnnxValueMapType;
  try {
    result = await session.run(feeds, outputs);
  } finally {
    Atomics.sub(control, CONTROL.BUSY, 1);
    Atomics.notify(control, CONTROL.BUSY);
  }
  const out: Record<string, Float32Array> = {};
  const transfer: ArrayBuffer[] = [];
  for (const name of outputs) {
    const data = result[name]!.data as Float32Array;
    out[name] = data;
    if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) transfer.push(data.buffer as ArrayBuffer);
  }
  send({ type: 'result', id, outputs: out }, transfer);
}

port.on('message', (msg: WorkerRequest) => {
  const id = msg.type === 'run' || msg.type === 'runFrames' ? msg.id : null;
  const fail = (err: unknown): void => {
    const code = isSeismoError(err) ? err.code : ((err as { code?: string })?.code ?? 'ERR_INFERENCE');
    send({ type: 'error', id, code, message: err instanceof Error ? err.message : String(err) });
  };
  try {
    switch (msg.type) {
      case 'init':
        createSession(msg.model, { provider: msg.provider, intraOpThreads: msg.intraOpThreads })
          .then(({ session: s, report }) => {
            session = s;
            // Optional outputs (OPTIONAL_GRAPH_OUTPUTS) are fetched only from graphs that have them;
            // a missing required one still fails at the first run, naming it.
            outputs = msg.outputs.filter((name) => s.outputNames.includes(name) || !OPTIONAL_GRAPH_OUTPUTS.includes(name));
            send({ type: 'ready', report, inputNames: [...s.inputNames], outputNames: [...s.outputNames] });
          })
          .catch(fail);
        break;
      case 'run': {
        const a = arena(msg.arenaId);
        const frames = a.view.subarray(msg.rowStart * a.channels, (msg.rowStart + msg.rowCount) * a.channels);
        run(msg.id, frames, a.channels, msg.starts).catch(fail);
        break;
      }
      case 'runFrames':
        run(msg.id, msg.frames, msg.channels, msg.starts).catch(fail);
        break;
      case 'close':
        void session?.release().finally(() => process.exit(0));
        if (!session) process.exit(0);
        break;
    }
  } catch (err) {
    fail(err);
  }
});
