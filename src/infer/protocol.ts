import type { ProviderReport, ProviderRequest } from './providers.js';

/**
 * Slots of the control block the main thread shares with an inference worker (an Int32Array over
 * a SharedArrayBuffer, handed over in `workerData.control`). onnxruntime-node's `session.run`
 * cannot be interrupted: a thread terminated inside it aborts the whole process ("terminate called
 * after throwing an instance of 'Napi::Error'") when the binding tries to return into a stopping
 * isolate. So the worker counts the runs it has under way (`BUSY`), and a stopper first raises
 * `STOP` (no run starts after it) and then waits for `BUSY` to reach 0 before terminating the thread.
 */
export const CONTROL = { BUSY: 0, STOP: 1, LENGTH: 2 } as const;

/** Messages to the inference worker. */
export type WorkerRequest =
  | { type: 'init'; model: Uint8Array; provider: ProviderRequest; intraOpThreads: number; outputs: string[] }
  /** Score windows that start at `starts` (rows relative to `rowStart`) in a ring arena. */
  | { type: 'run'; id: number; arenaId: number; rowStart: number; rowCount: number; starts: BigInt64Array }
  /** Score windows of frames sent along (a copy): for data that is not in a ring. */
  | { type: 'runFrames'; id: number; frames: Float32Array; channels: number; starts: BigInt64Array }
  | { type: 'close' };

/** Messages from the inference worker. */
export type WorkerResponse =
  | { type: 'ready'; report: ProviderReport; inputNames: string[]; outputNames: string[] }
  | { type: 'result'; id: number; outputs: Record<string, Float32Array> }
  | { type: 'error'; id: number | null; code: string; message: string };
