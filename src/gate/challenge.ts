/**
 * The challenge feature wired into the request path: which secret signs clearances, whether a
 * request carries a valid one, the page a challenged client gets, and the POST that turns a
 * solved Turnstile into a clearance cookie.
 *
 * A challenge needs the policy's `challenge.siteKey` and the `TURNSTILE_SECRET` secret. The
 * clearance cookie is signed with `CLEARANCE_SECRET`, or, when that is unset, with a key
 * derived from `TURNSTILE_SECRET` (HMAC-SHA256 of a fixed label), so one secret is enough.
 * When Turnstile is not configured a `challenge` cannot be served and is enforced as a block:
 * the operator asked for friction, and serving the page without a way to pass it would lock
 * everyone out while an open door would ignore the rule. Health reports the missing piece.
 */

import {
  challengeResponse,
  clearanceSecretProblem,
  handleChallengeSubmit,
  readClearanceCookie,
  returnPathOf,
  verifyClearance,
  verifyTurnstileToken,
} from '../challenge/index';
import { CLEARANCE_COOKIE_NAME, TURNSTILE_ACTION } from '../constants';
import type { Env } from '../env';
import type { IpAddress } from '../ip/parse';
import type { CompiledPolicy } from '../policy/compile';

const DERIVATION_LABEL = 'ipgate clearance cookie v1';

let derived: { from: string; secret: Promise<string> } | null = null;

/** The secret that signs clearance cookies, or null when Turnstile is not configured. */
export function clearanceSecret(env: Env): Promise<string> | null {
  if (env.CLEARANCE_SECRET && clearanceSecretProblem(env.CLEARANCE_SECRET) === null)
    return Promise.resolve(env.CLEARANCE_SECRET);
  const base = env.TURNSTILE_SECRET;
  if (!base) return null;
  if (derived?.from !== base) derived = { from: base, secret: derive(base) };
  return derived.secret;
}

async function derive(base: string): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(base),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const mac = await crypto.subtle.sign('HMAC', key, new TextEncoder().encode(DERIVATION_LABEL));
  return [...new Uint8Array(mac)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

/** Turnstile can be served: a site key in the policy and the secret in the environment. */
export function challengeReady(env: Env, policy: CompiledPolicy): boolean {
  return Boolean(policy.challenge.siteKey && env.TURNSTILE_SECRET);
}

/** True when the request carries a valid, unexpired clearance for this client. */
export async function hasClearance(
  request: Request,
  env: Env,
  ip: IpAddress,
  now: number,
): Promise<boolean> {
  const cookies = request.headers.get('Cookie');
  if (!cookies?.includes(CLEARANCE_COOKIE_NAME)) return false;
  const secret = clearanceSecret(env);
  if (!secret) return false;
  const result = await verifyClearance(await secret, readClearanceCookie(cookies), ip, now);
  return result.ok;
}

/** The challenge page for a request (HTML or JSON by `Accept`). */
export function challengePage(
  policy: CompiledPolicy,
  request: Request,
  url: URL,
  reference: string,
): Response {
  return challengeResponse({
    siteKey: policy.challenge.siteKey ?? '',
    returnTo: returnPathOf(url),
    reference,
    accept: request.headers.get('Accept'),
  });
}

/** Handles the challenge form's POST. */
export async function submitChallenge(
  request: Request,
  env: Env,
  policy: CompiledPolicy,
  clientIp: IpAddress | null,
  reference: () => string,
  now: () => number,
): Promise<Response> {
  const secret = clearanceSecret(env);
  const turnstileSecret = env.TURNSTILE_SECRET;
  if (!secret || !turnstileSecret || !policy.challenge.siteKey)
    return Response.json({ error: 'challenge_not_configured' }, { status: 404 });
  const result = await handleChallengeSubmit(request, {
    secret: await secret,
    siteKey: policy.challenge.siteKey,
    clientIp,
    ttlSeconds: policy.challenge.ttlSeconds,
    now,
    reference,
    verify: ({ token, remoteIp, hostname }) =>
      verifyTurnstileToken({
        secret: turnstileSecret,
        token,
        remoteIp,
        url: env.TURNSTILE_VERIFY_URL || undefined,
        expectedHostname: hostname,
        expectedAction: TURNSTILE_ACTION,
      }),
  });
  return result.response;
}
