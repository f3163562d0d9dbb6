import type { ProviderReport, ProviderRequest } from './providers.js';
import type { ChannelLogSpec } from '../score/channel-terms.js';
import type { OutboxLayout } from './outbox.js';
import type { StepLayout } from './step-state.js';
import type { NativeInit, RuntimeReport, RuntimeRequest } from './runtime.js';

/** A step graph for the worker to score stride-1 windows with (see `./step-scorer.ts`). */
export interface StepInit {
  model: Uint8Array;
  layout: StepLayout;
  /** Frames per window. */
  window: number;
  /** Series slots to keep state for. */
  slots: number;
  /**
   * The scaler's per-channel std (raw units), when the window graph outputs `channel_activity`:
   * the worker then keeps it per series as it steps (see `StepScorerOptions.activityStd`).
   */
  activityStd?: number[];
  /**
   * The step graph's tails form (`tailStepGraph`, `./step-tails.ts`), made by the main thread;
   * absent when the graph has none (the scorer then fetches every call's full columns).
   */
  tails?: Uint8Array;
}

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
  /**
   * `runtime` and `native`: whether to score the window graph natively (see `./runtime.ts`), and the
   * network the main thread read out of the graph for it, or why there is none.
   */
  | { type: 'init'; model: Uint8Array; provider: ProviderRequest; intraOpThreads: number; outputs: string[]; step?: StepInit; runtime: RuntimeRequest; native: NativeInit }
  /**
   * Score windows that start at `starts` (rows relative to `rowStart`) in a ring arena. With
   * `outbox`, `score`, `channel_score` and `channel_activity` are written into that slot of a
   * registered outbox (see `./outbox.ts`) instead of being sent, and with `outbox.logs` each
   * window's `ln e_c` too (`channelLogTerms`, src/score/attribution.ts).
   */
  | { type: 'run'; id: number; arenaId: number; rowStart: number; rowCount: number; starts: BigInt64Array; outbox?: { id: number; slot: number; logs?: ChannelLogSpec } }
  /** Registers a shared output slot (`./outbox.ts`) that later `run` requests name. */
  | { type: 'outbox'; id: number; slot: number; buffer: SharedArrayBuffer; layout: OutboxLayout }
  /**
   * Score stride-1 windows in a ring arena through the step graph (sent only to a worker that has
   * one, `ready.step`): `slots` and `frames` (index of each window's first frame in its series)
   * say where each window lies (the slot's rows of the arena, frame modulo its capacity) and which
   * series' state it continues; `outbox` as for `run` (the step scorer writes the outputs into the
   * slot directly).
   */
  | { type: 'steps'; id: number; arenaId: number; slots: Int32Array; frames: Float64Array; outbox?: { id: number; slot: number; logs?: ChannelLogSpec } }
  /** Score windows of frames sent along (a copy): for data that is not in a ring. */
  | { type: 'runFrames'; id: number; frames: Float32Array; channels: number; starts: BigInt64Array }
  | { type: 'close' };

/** Messages from the inference worker. */
export type WorkerResponse =
  | { type: 'ready'; report: ProviderReport; inputNames: string[]; outputNames: string[]; step: boolean; runtime: RuntimeReport }
  /** `stepped`: the step graph scored the batch (else the window graph did); `outbox`: the outputs written into the request's outbox slot (not in `outputs`). */
  | { type: 'result'; id: number; outputs: Record<string, Float32Array>; stepped?: boolean; outbox?: string[] }
  | { type: 'error'; id: number | null; code: string; message: string };

/**
 * Whether the native scorer's compiled variant is worth running instead of onnxruntime: the
 * AVX-512 and AVX2 ones are 2.5-3x onnxruntime's LSTM op, the x86-64 baseline slower than it.
 * Here rather than in `./runtime.ts`, which loads onnx-proto: the worker decides it.
 */
export function nativeScorerPays(isa: string): boolean {
  return isa === 'avx512' || isa === 'avx2';
}
