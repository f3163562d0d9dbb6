import * as ort from 'onnxruntime-node';
import { SeismoError } from '../errors.js';

/** Execution provider request: `auto` tries CUDA, then falls back to CPU. */
export type ProviderRequest = 'auto' | 'cpu' | 'cuda' | 'webgpu';
export const PROVIDER_REQUESTS: readonly ProviderRequest[] = ['auto', 'cpu', 'cuda', 'webgpu'];

/** Which provider runs the model, and why the ones tried before it did not. */
export interface ProviderReport {
  requested: ProviderRequest;
  /** The provider the session runs on. */
  provider: 'cpu' | 'cuda' | 'webgpu';
  /** Providers tried first that could not start, with onnxruntime's reason. */
  fallbacks: { provider: string; reason: string }[];
}

export interface SessionOptions {
  provider?: ProviderRequest;
  /** Threads inside one operator. Default 1: faster than 2 on a 2-core machine, and the other core feeds the rings. */
  intraOpThreads?: number;
}

const AUTO_ORDER = ['cuda', 'cpu'] as const;

/**
 * onnxruntime logs to stderr in red when a provider cannot load (the CUDA EP on every CPU machine),
 * though the reason is in the ProviderReport. Its log level is fixed once per process, by the first
 * session any thread creates, so it is set here, when this module loads, before any session; code
 * that creates sessions without createSession (tests, benches) calls this first too.
 * `SEISMO_ORT_VERBOSE=1` (what the CLI's `--verbose` sets) keeps onnxruntime's warnings.
 */
export function quietOnnxruntime(): void {
  ort.env.logLevel = process.env.SEISMO_ORT_VERBOSE ? 'warning' : 'fatal';
}
quietOnnxruntime();

/**
 * Creates an onnxruntime session on the requested provider. onnxruntime does not fall back by
 * itself (`['cuda', 'cpu']` throws when the CUDA EP libraries are missing), so `auto` tries each
 * provider alone and keeps the reasons; an explicit provider that cannot start is an error.
 */
export async function createSession(model: Uint8Array | string, options: SessionOptions = {}): Promise<{ session: ort.InferenceSession; report: ProviderReport }> {
  const requested = options.provider ?? 'auto';
  if (!PROVIDER_REQUESTS.includes(requested)) {
    throw new SeismoError('ERR_INVALID_OPTION', `unknown provider '${String(requested)}': use one of ${PROVIDER_REQUESTS.join(', ')}`);
  }
  const order = requested === 'auto' ? AUTO_ORDER : [requested];
  const fallbacks: ProviderReport['fallbacks'] = [];
  for (const provider of order) {
    try {
      const session = await ort.InferenceSession.create(model as Uint8Array, {
        executionProviders: [provider],
        intraOpNumThreads: options.intraOpThreads ?? 1,
        interOpNumThreads: 1,
        graphOptimizationLevel: 'all',
      });
      return { session, report: { requested, provider, fallbacks } };
    } catch (err) {
      const reason = err instanceof Error ? err.message.split('\n')[0]!.slice(0, 500) : String(err);
      if (isModelError(reason)) {
        throw new SeismoError('ERR_MODEL_CORRUPT', `onnxruntime cannot load the model: ${reason}`, {}, { cause: err });
      }
      fallbacks.push({ provider, reason });
    }
  }
  const tried = fallbacks.map((f) => `${f.provider}: ${f.reason}`).join('; ');
  const hint =
    requested === 'cuda'
      ? ' The CUDA EP is not bundled with onnxruntime-node: reinstall with ONNXRUNTIME_NODE_INSTALL=cuda12 on a machine with CUDA 12 and internet, or use --provider auto|cpu.'
      : requested === 'webgpu'
        ? ' The WebGPU EP needs a GPU adapter through Vulkan (libvulkan.so.1 and a GPU driver); use --provider auto|cpu.'
        : '';
  throw new SeismoError('ERR_PROVIDER_UNAVAILABLE', `execution provider '${requested}' is not available here (${tried}).${hint}`, { fallbacks });
}

/** Errors that no other provider would fix: the model bytes themselves are bad. */
function isModelError(reason: string): boolean {
  return /protobuf parsing failed|INVALID_PROTOBUF|INVALID_GRAPH|model_load_utils|Load model from|No graph was found/i.test(reason);
}
