/**
 * One factory for the live reputation providers, so callers (the lookup Durable Object, the
 * CLI's `enrich`) pick a provider by name from configuration and get the same interface.
 * Options are checked once here; a bad key or base URL throws at construction, never per call.
 */
import { createAbuseIpdbProvider } from './abuseipdb/client';
import { createCriminalIpProvider } from './criminalip/client';
import type { FetchLike } from './http';
import type { ProviderName, ReputationProvider } from './types';

export type { FetchLike } from './http';
export * from './types';

export interface ProviderOptions {
  /** Never appears in any result or error. */
  apiKey: string;
  /** The provider's documented base URL when unset; tests point it at the local fake. */
  baseUrl?: string;
  /** Default the global `fetch`. */
  fetch?: FetchLike;
  /** The provider's own deadline per call (default `PROVIDER_TIMEOUT_MS`). */
  timeoutMs?: number;
  /** Clock for the record's `observedAt`. */
  now?: () => Date;
}

export function createProvider(name: ProviderName, options: ProviderOptions): ReputationProvider {
  switch (name) {
    case 'criminalip':
      return createCriminalIpProvider(options);
    case 'abuseipdb':
      return createAbuseIpdbProvider(options);
    default: {
      const never: never = name;
      throw new TypeError(`unknown provider ${String(never)}`);
    }
  }
}
