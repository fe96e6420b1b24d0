/**
 * AbuseIPDB as a live provider: `GET /api/v2/check?ipAddress=<ip>&maxAgeInDays=90` with the key
 * in `Key` and `Accept: application/json` (without it the API may answer HTML).
 *
 * Unlike Criminal IP, AbuseIPDB reports errors with the HTTP status and an `errors` array:
 * 401/403 a refused key, 422 an address it will not check, 429 the daily limit (quota, not
 * concurrency: AbuseIPDB allows parallel calls). The status decides the failure kind.
 */
import { ABUSEIPDB_API_BASE, ABUSEIPDB_CHECK_PATH, ABUSEIPDB_MAX_AGE_DAYS } from '../../constants';
import type { IpAddress } from '../../ip/parse';
import {
  describeBody,
  type FetchLike,
  failure,
  getText,
  parseJsonBody,
  providerSetup,
  verdictOf,
} from '../http';
import {
  type ProviderFailureKind,
  type ProviderResult,
  publicAddressProblem,
  type ReputationProvider,
} from '../types';
import { parseAbuseIpdbErrors, parseAbuseIpdbResponse } from './parse';

export interface AbuseIpdbOptions {
  /** The `Key` header value; never appears in any result. */
  apiKey: string;
  /** Default `https://api.abuseipdb.com`; may carry a path prefix (proxies, the test fake). */
  baseUrl?: string;
  /** Default the global `fetch`. */
  fetch?: FetchLike;
  /** The provider's own deadline per call, on top of the caller's signal. */
  timeoutMs?: number;
  /** Clock for `observedAt`. */
  now?: () => Date;
}

function kindForStatus(status: number): ProviderFailureKind {
  if (status === 401 || status === 403) return 'invalid_key';
  if (status === 429) return 'quota';
  if (status === 422) return 'invalid_ip';
  if (status >= 500 && status <= 599) return 'server';
  return 'bad_response';
}

/** Checks the options once; throws a TypeError on a missing key or a bad base URL. */
export function createAbuseIpdbProvider(options: AbuseIpdbOptions): ReputationProvider {
  const {
    apiKey,
    endpoint,
    fetch: doFetch,
    timeoutMs,
    now,
  } = providerSetup('AbuseIPDB', options, ABUSEIPDB_API_BASE, ABUSEIPDB_CHECK_PATH);
  const headers = { Key: apiKey, Accept: 'application/json' };

  return {
    name: 'abuseipdb',
    async lookup(ip: IpAddress, signal?: AbortSignal): Promise<ProviderResult> {
      const notPublic = publicAddressProblem(ip);
      if (notPublic) return { ok: false, failure: failure('invalid_ip', notPublic, apiKey) };

      const url = new URL(endpoint);
      url.searchParams.set('ipAddress', ip.text);
      url.searchParams.set('maxAgeInDays', String(ABUSEIPDB_MAX_AGE_DAYS));
      const got = await getText({
        url: url.toString(),
        headers,
        fetch: doFetch,
        timeoutMs,
        signal,
        secret: apiKey,
      });
      if (!got.ok) return got;
      const { answer } = got;
      const json = parseJsonBody(answer.text);

      if (answer.status < 200 || answer.status > 299) {
        const first = parseAbuseIpdbErrors(json)?.[0];
        const status = first?.status ?? answer.status;
        const message = first ? first.detail : describeBody(answer);
        return {
          ok: false,
          failure: failure(kindForStatus(status), message, apiKey, answer.status),
        };
      }
      if (json === undefined)
        return {
          ok: false,
          failure: failure(
            'bad_response',
            `not JSON (${describeBody(answer)})`,
            apiKey,
            answer.status,
          ),
        };
      const errors = parseAbuseIpdbErrors(json);
      const firstError = errors?.[0];
      if (firstError)
        return {
          ok: false,
          failure: failure(
            kindForStatus(firstError.status ?? 500),
            firstError.detail,
            apiKey,
            answer.status,
          ),
        };

      return verdictOf(parseAbuseIpdbResponse(json), ip, 'abuseipdb', now(), apiKey, answer.status);
    },
  };
}
