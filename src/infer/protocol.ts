import type { ProviderReport, ProviderRequest } from './providers.js';

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
