/**
 * Option values every command reads the same way: the execution provider and whole numbers.
 * A bad value is `ERR_INVALID_OPTION` naming the option, before any work starts.
 */
import { SeismoError } from '../errors.js';
import { PROVIDER_REQUESTS, type ProviderRequest } from '../infer/providers.js';

/** Help text of `--provider <name>` (default `auto`). */
export const PROVIDER_HELP = `execution provider: ${PROVIDER_REQUESTS.join('|')}`;

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
