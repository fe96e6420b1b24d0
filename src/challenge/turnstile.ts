/**
 * Server-side validation of a Turnstile token with Cloudflare's siteverify endpoint.
 *
 * One form-encoded POST (`secret`, `response`, `remoteip`), answered with
 * `{ success, 'error-codes', challenge_ts, hostname, action, cdata }`. The verdict is data:
 *
 * - `invalid`: Turnstile judged the token and said no (forged, expired, already used, or minted
 *   for another hostname or action). The visitor must solve the challenge again.
 * - `timeout` / `unavailable`: no verdict in time (slow or failed call, 5xx, an answer that is not
 *   the documented JSON, `internal-error`, or a rejected secret, which is the operator's fault
 *   and not the visitor's). Callers fail open on these: they must not grant a clearance, but
 *   must not lock the visitor out either (see `submit.ts`).
 *
 * The secret goes into the request body and nowhere else: results carry only error codes that
 * look like Turnstile's own (short lower-case words), never text from an exception or a body.
 */
import {
  TURNSTILE_MAX_ERROR_CODES,
  TURNSTILE_MAX_RESPONSE_BYTES,
  TURNSTILE_MAX_TOKEN_CHARS,
  TURNSTILE_SITEVERIFY_URL,
  TURNSTILE_VERIFY_TIMEOUT_MS,
} from '../constants';
import { TIMED_OUT, withDeadline } from '../util/deadline';
import { readTextCapped } from './read';

export type TurnstileFailure = 'invalid' | 'timeout' | 'unavailable';

export type TurnstileResult =
  | { ok: true }
  | { ok: false; reason: TurnstileFailure; codes?: string[] };

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

export interface TurnstileVerifyOptions {
  /** The widget's secret key. */
  secret: string;
  /** The token the widget put into the form (`cf-turnstile-response`). */
  token: string;
  /** The visitor's address, passed on so Turnstile can check it against the solver's. */
  remoteIp?: string | null;
  /** Default: the global fetch. */
  fetch?: FetchLike;
  /** Default: TURNSTILE_SITEVERIFY_URL. */
  url?: string;
  /** Deadline for the call and its body; default TURNSTILE_VERIFY_TIMEOUT_MS. */
  timeoutMs?: number;
  /** When set, a token solved on another hostname is `invalid` (`hostname-mismatch`). */
  expectedHostname?: string;
  /** When set, a token solved for another widget action is `invalid` (`action-mismatch`). */
  expectedAction?: string;
}

/** Codes that mean Turnstile did not judge the token: retrying later may succeed. */
const NO_VERDICT_CODES: ReadonlySet<string> = new Set([
  'internal-error',
  'missing-input-secret',
  'invalid-input-secret',
]);
const CODE_SHAPE = /^[a-z0-9][a-z0-9-]{0,63}$/;

export async function verifyTurnstileToken(
  options: TurnstileVerifyOptions,
): Promise<TurnstileResult> {
  const { secret, token } = options;
  if (token === '') return { ok: false, reason: 'invalid', codes: ['missing-input-response'] };
  if (token.length > TURNSTILE_MAX_TOKEN_CHARS)
    return { ok: false, reason: 'invalid', codes: ['invalid-input-response'] };

  const body = new URLSearchParams({ secret, response: token });
  if (options.remoteIp) body.set('remoteip', options.remoteIp);
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const controller = new AbortController();

  const call = (async (): Promise<TurnstileResult> => {
    let response: Response;
    try {
      response = await doFetch(options.url ?? TURNSTILE_SITEVERIFY_URL, {
        method: 'POST',
        body,
        signal: controller.signal,
      });
    } catch {
      return controller.signal.aborted
        ? { ok: false, reason: 'timeout' }
        : { ok: false, reason: 'unavailable', codes: ['fetch-failed'] };
    }
    if (response.status >= 500 || response.status === 429) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, reason: 'unavailable', codes: [`http-${response.status}`] };
    }
    let text: string | null;
    try {
      text = await readTextCapped(response.body, TURNSTILE_MAX_RESPONSE_BYTES);
    } catch {
      return controller.signal.aborted
        ? { ok: false, reason: 'timeout' }
        : { ok: false, reason: 'unavailable', codes: ['bad-response'] };
    }
    return judge(text, secret, options);
  })();

  const timeoutMs = options.timeoutMs ?? TURNSTILE_VERIFY_TIMEOUT_MS;
  const result = await withDeadline(call, timeoutMs);
  if (result === TIMED_OUT) {
    controller.abort();
    call.catch(() => undefined);
    return { ok: false, reason: 'timeout' };
  }
  return result;
}

/** The verdict in a siteverify body (null when it could not be read). */
function judge(
  text: string | null,
  secret: string,
  options: Pick<TurnstileVerifyOptions, 'expectedHostname' | 'expectedAction'>,
): TurnstileResult {
  const parsed = parseSiteverify(text);
  if (parsed === null) return { ok: false, reason: 'unavailable', codes: ['bad-response'] };
  if (parsed.success) {
    const { expectedHostname, expectedAction } = options;
    if (
      expectedHostname !== undefined &&
      parsed.hostname?.toLowerCase() !== expectedHostname.toLowerCase()
    )
      return { ok: false, reason: 'invalid', codes: ['hostname-mismatch'] };
    if (expectedAction !== undefined && parsed.action !== expectedAction)
      return { ok: false, reason: 'invalid', codes: ['action-mismatch'] };
    return { ok: true };
  }
  const codes = parsed.codes
    .filter((c) => CODE_SHAPE.test(c) && !(secret !== '' && c.includes(secret)))
    .slice(0, TURNSTILE_MAX_ERROR_CODES);
  const noVerdict = codes.some((c) => NO_VERDICT_CODES.has(c));
  return { ok: false, reason: noVerdict ? 'unavailable' : 'invalid', codes };
}

interface Siteverify {
  success: boolean;
  codes: string[];
  hostname?: string;
  action?: string;
}

function parseSiteverify(text: string | null): Siteverify | null {
  if (text === null) return null;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    return null;
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return null;
  const o = value as Record<string, unknown>;
  if (typeof o.success !== 'boolean') return null;
  const rawCodes = o['error-codes'] ?? [];
  if (!Array.isArray(rawCodes)) return null;
  const out: Siteverify = {
    success: o.success,
    codes: rawCodes.filter((c): c is string => typeof c === 'string'),
  };
  if (typeof o.hostname === 'string') out.hostname = o.hostname;
  if (typeof o.action === 'string') out.action = o.action;
  return out;
}
