/**
 * The contract every live reputation provider (Criminal IP, AbuseIPDB) keeps, so the lookup
 * chain and the Durable Object that serialises API calls treat them alike.
 *
 * A lookup never throws: it answers a record or a tagged failure (errors as data, at the trust
 * boundary with a third-party API). The failure kind, not the provider's wording, says what the
 * caller should do next (`FAILURE_HANDLING`): a bad key stops all calls, an exhausted quota opens
 * the circuit until the provider's next period, a concurrency refusal asks for a short back-off,
 * and an address the provider refuses is neither retried nor cached.
 *
 * Only public unicast addresses ever leave the Worker: a private, loopback or otherwise bogon
 * client address (src/ip/bogons.ts) would leak internal topology to a third party and spend quota
 * on an answer that cannot exist. `publicAddressProblem` is the one guard every provider applies
 * before any request.
 */
import { bogonOverlap } from '../ip/bogons';
import type { Network } from '../ip/network';
import type { IpAddress } from '../ip/parse';
import type { ReputationRecord } from '../reputation/record';

export const PROVIDER_NAMES = ['criminalip', 'abuseipdb'] as const;
export type ProviderName = (typeof PROVIDER_NAMES)[number];

export type ProviderFailureKind =
  /** The key was refused: no further call can succeed until it is replaced. */
  | 'invalid_key'
  /** The plan's credits or daily limit are used up. */
  | 'quota'
  /** The provider refused a call made while another was in flight (non-Enterprise keys). */
  | 'concurrency'
  /** The provider refused the address, or it is not a public unicast address. */
  | 'invalid_ip'
  /** The provider failed (HTTP 5xx, or an error status in the body). */
  | 'server'
  /** The deadline passed or the caller aborted. */
  | 'timeout'
  /** The request never got an HTTP answer (DNS, connection, TLS). */
  | 'network'
  /** An answer that is not the documented shape: HTML, invalid JSON, missing fields. */
  | 'bad_response';

export interface ProviderFailure {
  kind: ProviderFailureKind;
  /** Short, for logs and the sink; never contains the API key. */
  message: string;
  /** HTTP status, when the provider answered. */
  status?: number;
}

export type ProviderResult =
  | { ok: true; record: ReputationRecord }
  | { ok: false; failure: ProviderFailure };

export interface ReputationProvider {
  readonly name: ProviderName;
  /** Looks one address up. Never throws; an aborted `signal` answers `timeout`. */
  lookup(ip: IpAddress, signal?: AbortSignal): Promise<ProviderResult>;
}

/** What a caller does after a failure. */
export type FailureHandling =
  /** Stop calling the provider until the key is changed. */
  | 'stop'
  /** Open the circuit until the provider's next quota period. */
  | 'circuit'
  /** Retry after a short back-off; calls must not overlap. */
  | 'backoff'
  /** Give up on this address: not retried, and the failure is not cached. */
  | 'skip'
  /** Transient: treat as unknown now and try again later. */
  | 'retry';

export const FAILURE_HANDLING: Readonly<Record<ProviderFailureKind, FailureHandling>> = {
  invalid_key: 'stop',
  quota: 'circuit',
  concurrency: 'backoff',
  invalid_ip: 'skip',
  server: 'retry',
  timeout: 'retry',
  network: 'retry',
  bad_response: 'retry',
};

/** True when the same lookup may succeed if made again later with the same key. */
export function isRetryable(kind: ProviderFailureKind): boolean {
  const h = FAILURE_HANDLING[kind];
  return h === 'backoff' || h === 'retry';
}

/** The address as a one-key network: the IPv4 address, or the IPv6 address's /64. */
function keyNetwork(ip: IpAddress): Network {
  if (ip.family === 4) {
    const v = BigInt(ip.v4);
    return { family: 4, start: v, end: v, prefix: 32 };
  }
  const key = (BigInt(ip.hi) << 32n) | BigInt(ip.lo);
  return { family: 6, start: key, end: key, prefix: 64 };
}

/** Why an address must not be sent to a provider (the bogon range it is in), or null. */
export function publicAddressProblem(ip: IpAddress): string | null {
  const bogon = bogonOverlap(keyNetwork(ip));
  return bogon === null ? null : `${ip.text} is not a public unicast address (in ${bogon})`;
}
