/**
 * The POST of a solved challenge (CHALLENGE_PATH): verify the Turnstile token, then send the
 * visitor back to the validated return path, with a clearance cookie when Turnstile said yes.
 *
 * Pure but for the injected `verify`, `now` and `reference`, so every branch is testable:
 *
 * - token accepted: 303 to the return path with `Set-Cookie` (bound to the client key);
 * - token refused: the challenge page again (403) with a "try again" line;
 * - no verdict (siteverify slow, down, or misconfigured): fail open, but without a cookie. The
 *   visitor is sent back and the next request is judged afresh by the gate. A visitor
 *   challenged because reputation was unknown usually passes then; one caught by a `challenge`
 *   rule meets the widget again. Minting a cookie without proof would turn every Turnstile
 *   outage into a free clearance for its whole lifetime; an error page would lock people out
 *   for a fault that is not theirs.
 * - no usable client IP: nothing to bind a cookie to, so the same as no verdict.
 *
 * The outcome (with Turnstile's error codes) is returned beside the response for the sink; the
 * client learns nothing but "try again".
 */
import { CHALLENGE_MAX_FORM_BYTES, CLEARANCE_TTL_S, REFERENCE_HEADER } from '../constants';
import type { IpAddress } from '../ip/parse';
import { clearanceExpiry, clearanceSetCookie, signClearance } from './cookie';
import { CHALLENGE_FIELDS, type ChallengeText, challengeResponse } from './page';
import { readTextCapped } from './read';
import { safeReturnPath } from './return-path';
import type { TurnstileResult } from './turnstile';

export interface ChallengeSubmitDeps {
  /** Clearance cookie secret (check it with `clearanceSecretProblem` when building options). */
  secret: string;
  /** The Turnstile site key, for showing the page again. */
  siteKey: string;
  /** The client as the gate derives it (CF-Connecting-IP); null when it has none. */
  clientIp: IpAddress | null;
  /**
   * Asks Turnstile about a token; normally `verifyTurnstileToken` with the secret, a deadline,
   * and `expectedHostname: hostname`, `expectedAction: TURNSTILE_ACTION`.
   */
  verify(input: { token: string; remoteIp: string; hostname: string }): Promise<TurnstileResult>;
  /** Unix milliseconds. */
  now(): number;
  /** A fresh reference id (shown on pages, stored with the event). */
  reference(): string;
  /** Clearance lifetime; default CLEARANCE_TTL_S. */
  ttlSeconds?: number;
  text?: Partial<ChallengeText>;
}

export type ChallengeSubmitOutcome =
  | { kind: 'cleared'; expiresAt: number }
  | { kind: 'refused'; codes: string[] }
  | { kind: 'no_verdict'; reason: 'timeout' | 'unavailable'; codes: string[] }
  | { kind: 'no_client_ip' }
  | { kind: 'bad_request'; problem: 'method' | 'content_type' | 'body' };

export interface ChallengeSubmitResult {
  response: Response;
  outcome: ChallengeSubmitOutcome;
  reference: string;
}

const FORM_TYPE = 'application/x-www-form-urlencoded';

export async function handleChallengeSubmit(
  request: Request,
  deps: ChallengeSubmitDeps,
): Promise<ChallengeSubmitResult> {
  const reference = deps.reference();
  const done = (response: Response, outcome: ChallengeSubmitOutcome): ChallengeSubmitResult => ({
    response,
    outcome,
    reference,
  });

  if (request.method !== 'POST') {
    const response = plain(405, 'Method not allowed', reference);
    response.headers.set('allow', 'POST');
    return done(response, { kind: 'bad_request', problem: 'method' });
  }
  const type = request.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
  if (type !== FORM_TYPE)
    return done(plain(415, 'Unsupported form encoding', reference), {
      kind: 'bad_request',
      problem: 'content_type',
    });
  const body = await readTextCapped(request.body, CHALLENGE_MAX_FORM_BYTES).catch(() => null);
  if (body === null)
    return done(plain(400, 'Bad request', reference), { kind: 'bad_request', problem: 'body' });

  const form = new URLSearchParams(body);
  const returnTo = safeReturnPath(form.get(CHALLENGE_FIELDS.returnTo));
  const token = form.get(CHALLENGE_FIELDS.token) ?? '';
  if (deps.clientIp === null)
    return done(redirect(returnTo, reference, null), { kind: 'no_client_ip' });

  let result: TurnstileResult;
  try {
    result = await deps.verify({
      token,
      remoteIp: deps.clientIp.text,
      hostname: new URL(request.url).hostname,
    });
  } catch {
    result = { ok: false, reason: 'unavailable', codes: ['verify-threw'] };
  }

  if (result.ok) {
    const ttl = deps.ttlSeconds ?? CLEARANCE_TTL_S;
    const now = deps.now();
    const value = await signClearance(deps.secret, deps.clientIp, now, ttl);
    return done(redirect(returnTo, reference, clearanceSetCookie(value, ttl)), {
      kind: 'cleared',
      expiresAt: clearanceExpiry(now, ttl),
    });
  }
  const codes = result.codes ?? [];
  if (result.reason === 'invalid') {
    const page = challengeResponse({
      siteKey: deps.siteKey,
      returnTo,
      reference,
      accept: request.headers.get('accept'),
      text: deps.text,
      retry: true,
    });
    return done(page, { kind: 'refused', codes });
  }
  return done(redirect(returnTo, reference, null), {
    kind: 'no_verdict',
    reason: result.reason,
    codes,
  });
}

function redirect(location: string, reference: string, setCookie: string | null): Response {
  const headers = new Headers({
    location,
    'cache-control': 'no-store',
    [REFERENCE_HEADER]: reference,
  });
  if (setCookie !== null) headers.set('set-cookie', setCookie);
  return new Response(null, { status: 303, headers });
}

function plain(status: number, text: string, reference: string): Response {
  return new Response(`${text}\nReference: ${reference}\n`, {
    status,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      [REFERENCE_HEADER]: reference,
    },
  });
}
