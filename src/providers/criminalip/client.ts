/**
 * Criminal IP as a live provider: `GET /v2/feature/ip/suspicious-info?ip=<ip>` with the key in
 * `x-api-key`, the body read by the same `parseCriminalIpResponse` the feed adapter uses.
 *
 * Criminal IP reports most errors in the body, not the HTTP status: `status` other than 200 and
 * a `message` such as "invalid api key", "limit exceeded", "unable to call api at the same time"
 * (a non-Enterprise key called concurrently) or "Invalid IP Address.". The message decides the
 * failure kind; failing that, the HTTP status or the body's `status` does. The message is
 * matched without regard to case or a trailing full stop, since the API is not consistent.
 *
 * The provider holds no state between calls: serialising calls, merging duplicates, quota and
 * circuit-breaker state belong to the caller (the Durable Object), which reads `failure.kind`.
 */
import { CRIMINALIP_API_BASE, CRIMINALIP_SUSPICIOUS_INFO_PATH } from '../../constants';
import type { IpAddress } from '../../ip/parse';
import { isObject } from '../../util/json';
import {
  describeBody,
  type FetchLike,
  failure,
  getText,
  type HttpAnswer,
  parseJsonBody,
  providerSetup,
  verdictOf,
} from '../http';
import {
  type ProviderFailure,
  type ProviderFailureKind,
  type ProviderResult,
  publicAddressProblem,
  type ReputationProvider,
} from '../types';
import { parseCriminalIpResponse } from './parse';

export interface CriminalIpOptions {
  /** The `x-api-key` value; never appears in any result. */
  apiKey: string;
  /** Default `https://api.criminalip.io`; may carry a path prefix (proxies, the test fake). */
  baseUrl?: string;
  /** Default the global `fetch`. */
  fetch?: FetchLike;
  /** The provider's own deadline per call, on top of the caller's signal. */
  timeoutMs?: number;
  /** Clock for `observedAt`. */
  now?: () => Date;
}

/** Body messages (lower case, no trailing full stop) and what they mean. */
const MESSAGE_KINDS: ReadonlyArray<readonly [string, ProviderFailureKind]> = [
  ['invalid api key', 'invalid_key'],
  ['limit exceeded', 'quota'],
  ['unable to call api at the same time', 'concurrency'],
  ['invalid ip address', 'invalid_ip'],
];

/** A failure kind for a status (HTTP or the body's own) that says something, or null. */
function kindForStatus(status: number): ProviderFailureKind | null {
  if (status === 401 || status === 403) return 'invalid_key';
  if (status === 429) return 'concurrency';
  if (status >= 500 && status <= 599) return 'server';
  return null;
}

function kindForMessage(message: string): ProviderFailureKind | null {
  const m = message.trim().toLowerCase().replace(/\.+$/, '');
  for (const [text, kind] of MESSAGE_KINDS) if (m.includes(text)) return kind;
  return null;
}

function bodyStatus(value: unknown): number | null {
  const n = typeof value === 'string' && /^\d{3}$/.test(value) ? Number(value) : value;
  return typeof n === 'number' && Number.isInteger(n) ? n : null;
}

/** The failure an error answer stands for, or null when the answer is a success body. */
function answerFailure(answer: HttpAnswer, json: unknown, secret: string): ProviderFailure | null {
  const http = answer.status;
  const body = isObject(json) ? json : null;
  const message = body && typeof body.message === 'string' ? body.message.trim() : '';
  const status = body ? bodyStatus(body.status) : null;
  const httpOk = http >= 200 && http <= 299;
  const bodyOk = status === null || status === 200;
  if (httpOk && bodyOk) return null;

  const byMessage = message === '' ? null : kindForMessage(message);
  if (byMessage) return failure(byMessage, message, secret, http);
  if (!httpOk) {
    const kind = kindForStatus(http) ?? 'bad_response';
    const detail = message === '' ? describeBody(answer) : `HTTP ${http}: ${message}`;
    return failure(kind, detail, secret, http);
  }
  const kind = (status !== null && kindForStatus(status)) || 'server';
  return failure(kind, message === '' ? `status ${status}` : message, secret, http);
}

/** Checks the options once; throws a TypeError on a missing key or a bad base URL. */
export function createCriminalIpProvider(options: CriminalIpOptions): ReputationProvider {
  const {
    apiKey,
    endpoint,
    fetch: doFetch,
    timeoutMs,
    now,
  } = providerSetup('Criminal IP', options, CRIMINALIP_API_BASE, CRIMINALIP_SUSPICIOUS_INFO_PATH);
  const headers = { 'x-api-key': apiKey, accept: 'application/json' };

  return {
    name: 'criminalip',
    async lookup(ip: IpAddress, signal?: AbortSignal): Promise<ProviderResult> {
      const notPublic = publicAddressProblem(ip);
      if (notPublic) return { ok: false, failure: failure('invalid_ip', notPublic, apiKey) };

      const url = new URL(endpoint);
      url.searchParams.set('ip', ip.text);
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
      const failed = answerFailure(answer, json, apiKey);
      if (failed) return { ok: false, failure: failed };
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

      return verdictOf(
        parseCriminalIpResponse(json),
        ip,
        'criminalip',
        now(),
        apiKey,
        answer.status,
      );
    },
  };
}
