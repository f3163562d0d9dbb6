/**
 * Option values every command reads the same way: the execution provider, the runtime and whole numbers.
 * A bad value is `ERR_INVALID_OPTION` naming the option, before any work starts.
 */
import { SeismoError } from '../errors.js';
import { PROVIDER_REQUESTS, type ProviderRequest } from '../infer/providers.js';
import { RUNTIME_REQUESTS, type RuntimeRequest } from '../infer/runtime.js';

/** Help text of `--provider <name>` (default `auto`). */
export const PROVIDER_HELP = `execution provider: ${PROVIDER_REQUESTS.join('|')}`;

/** Help text of `--runtime <name>` (default `auto`): what runs the model's window graph (DetectorOptions.runtime). */
export const RUNTIME_HELP = `what runs the model's windows: ${RUNTIME_REQUESTS.join('|')} (auto: the addon's native LSTM-AE scorer for LSTM-AE models on a CPU with AVX2, else onnxruntime)`;

/** The `--runtime` value, checked. */
export function runtimeOption(value: string): RuntimeRequest {
  if (!RUNTIME_REQUESTS.includes(value as RuntimeRequest)) {
    throw new SeismoError('ERR_INVALID_OPTION', `--runtime must be one of ${RUNTIME_REQUESTS.join(', ')}, got '${value}'`);
  }
  return value as RuntimeRequest;
}

/** The `--provider` value, checked. */
export function providerOption(value: string): ProviderRequest {
  if (!PROVIDER_REQUESTS.includes(value as ProviderRequest)) {
    throw new SeismoError('ERR_INVALID_OPTION', `--provider must be one of ${PROVIDER_REQUESTS.join(', ')}, got '${value}'`);
  }
  return value as ProviderRequest;
}

/** An integer option (`name` as the user types it, e.g. `--batch-size`); undefined when not given. */
export function intOption(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isSafeInteger(n)) throw new SeismoError('ERR_INVALID_OPTION', `${name} must be an integer, got '${value}'`);
  return n;
}
