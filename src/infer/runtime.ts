/**
 * What runs a model's window graph in an inference worker (`DetectorOptions.runtime`):
 * onnxruntime, or a native scorer of the addon for a graph it recognises (today the LSTM-AE, `./lstm-ae-net.ts`; the
 * addon's `LstmAeScorer` scores it 1.5-2x faster than onnxruntime's LSTM op on one thread, with
 * the same outputs within 1e-5). onnxruntime stays the reference and the fallback: the worker
 * creates its session in every case.
 */
import { SeismoError } from '../errors.js';
import { extractLstmAeNet, type LstmAeNet } from './lstm-ae-net.js';

/**
 * `auto` (default): the native scorer when the model is one it recognises, the addon loads and
 * the session runs on the CPU, else onnxruntime; `onnxruntime`: always onnxruntime.
 */
export type RuntimeRequest = 'auto' | 'onnxruntime';
export const RUNTIME_REQUESTS: readonly RuntimeRequest[] = ['auto', 'onnxruntime'];

/** What scores a worker's window-graph batches, and why not the native scorer when it does not. */
export interface RuntimeReport {
  /** What was asked for. */
  requested: RuntimeRequest;
  /** `native-lstm-ae`: the addon's fused LSTM-AE scorer (src/native.ts `LstmAeScorer`); `onnxruntime`: the session. */
  runtime: 'native-lstm-ae' | 'onnxruntime';
  /** Why the native scorer does not run (absent when it runs). */
  reason?: string;
  /** The native scorer's compiled variant (`avx512`, `avx2`, `baseline`), when it runs. */
  isa?: 'avx512' | 'avx2' | 'baseline';
}

/** What runs a model's windows, for a person: `the addon's native LSTM-AE scorer (avx512)` or `onnxruntime 'cpu'`. */
export function describeRuntime(runtime: RuntimeReport, provider: string): string {
  return runtime.runtime === 'native-lstm-ae' ? `the addon's native LSTM-AE scorer (${runtime.isa ?? 'unknown'})` : `onnxruntime '${provider}'`;
}

/** What the main thread hands the worker for a native scorer (`init.native`). */
export type NativeInit = { lstmAe: LstmAeNet; reason?: undefined } | { lstmAe?: undefined; reason: string };

/** Checks a `runtime` option. @throws SeismoError `ERR_INVALID_OPTION` for an unknown value. */
export function checkRuntime(runtime: unknown): RuntimeRequest {
  if (runtime === undefined) return 'auto';
  if (!RUNTIME_REQUESTS.includes(runtime as RuntimeRequest)) {
    throw new SeismoError('ERR_INVALID_OPTION', `unknown runtime '${String(runtime)}': use one of ${RUNTIME_REQUESTS.join(', ')}`);
  }
  return runtime as RuntimeRequest;
}

/**
 * The native scorer's network of a model, read on the main thread (onnx-proto is loaded here
 * already; see `./step-tails.ts` for why it stays out of the worker), or why there is none.
 */
export function nativeInit(model: Uint8Array, runtime: RuntimeRequest): NativeInit {
  if (runtime === 'onnxruntime') return { reason: 'onnxruntime was asked for (runtime: onnxruntime)' };
  const found = extractLstmAeNet(model);
  return found.net ? { lstmAe: found.net } : { reason: `not an LSTM-AE graph the native scorer reads: ${found.reason}` };
}
