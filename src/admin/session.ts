/**
 * Token sign-in for the dashboard, without storage.
 *
 * - The token is compared in constant time: both sides are hashed with SHA-256 (equal lengths
 *   whatever was sent) and the digests compared with `crypto.subtle.timingSafeEqual`.
 * - The session cookie is `base64url(payload) "." base64url(HMAC-SHA256(key, payload))`, the
 *   payload `version|session id|expiry` (Unix seconds). The key is derived from ADMIN_TOKEN, so
 *   rotating the token signs everyone out; nothing else revokes a session, hence its bounded
 *   lifetime.
 * - A session's CSRF token is an HMAC of its id under the same key: forms carry it, a request
 *   from another site cannot know it, and nothing has to be stored.
 */
import {
  ADMIN_COOKIE_MAX_CHARS,
  ADMIN_SESSION_COOKIE,
  ADMIN_SESSION_VERSION,
  RESERVED_PREFIX,
} from '../constants';
import { fromBase64Url, toBase64Url } from '../util/base64url';

export type SessionResult =
  | { ok: true; sid: string; expiresAt: number }
  | { ok: false; reason: 'missing' | 'malformed' | 'bad_signature' | 'expired' };

const encoder = new TextEncoder();
const SESSION_LABEL = 'ipgate admin session v1';
const MAC_BYTES = 32;

async function digest(text: string): Promise<ArrayBuffer> {
  return crypto.subtle.digest('SHA-256', encoder.encode(text));
}

/** Constant-time equality of two strings of any lengths (their SHA-256 digests are compared). */
export async function secretEquals(given: string, expected: string): Promise<boolean> {
  const [a, b] = await Promise.all([digest(given), digest(expected)]);
  return crypto.subtle.timingSafeEqual(a, b);
}

// One derived key per token (two while a token is being rotated across isolates).
const MAX_CACHED_KEYS = 4;
const keys = new Map<string, Promise<CryptoKey>>();

function sessionKey(token: string): Promise<CryptoKey> {
  let key = keys.get(token);
  if (key === undefined) {
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    key = (async () => {
      const base = await crypto.subtle.importKey(
        'raw',
        encoder.encode(token),
        { name: 'HMAC', hash: 'SHA-256' },
        false,
        ['sign'],
      );
      const derived = await crypto.subtle.sign('HMAC', base, encoder.encode(SESSION_LABEL));
      return crypto.subtle.importKey('raw', derived, { name: 'HMAC', hash: 'SHA-256' }, false, [
        'sign',
        'verify',
      ]);
    })();
    keys.set(token, key);
  }
  return key;
}

/** A new session for `ttlSeconds` from `now` (Unix ms): the cookie value and its facts. */
export async function signSession(
  token: string,
  now: number,
  ttlSeconds: number,
): Promise<{ value: string; sid: string; expiresAt: number }> {
  const sid = toBase64Url(crypto.getRandomValues(new Uint8Array(16)));
  const expiry = Math.floor(now / 1000) + ttlSeconds;
  const payload = encoder.encode(`${ADMIN_SESSION_VERSION}|${sid}|${expiry}`);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', await sessionKey(token), payload));
  return { value: `${toBase64Url(payload)}.${toBase64Url(mac)}`, sid, expiresAt: expiry * 1000 };
}

/** Checks a session cookie value at `now`; never throws. */
export async function verifySession(
  token: string,
  value: string | null,
  now: number,
): Promise<SessionResult> {
  if (value === null || value === '') return { ok: false, reason: 'missing' };
  if (value.length > ADMIN_COOKIE_MAX_CHARS) return { ok: false, reason: 'malformed' };
  const parts = value.split('.');
  if (parts.length !== 2) return { ok: false, reason: 'malformed' };
  const payload = fromBase64Url(parts[0] ?? '');
  const mac = fromBase64Url(parts[1] ?? '');
  if (payload === null || mac === null || mac.byteLength !== MAC_BYTES)
    return { ok: false, reason: 'malformed' };
  if (!(await crypto.subtle.verify('HMAC', await sessionKey(token), mac, payload)))
    return { ok: false, reason: 'bad_signature' };
  const fields = new TextDecoder().decode(payload).split('|');
  const [version, sid, expiry] = fields;
  if (
    fields.length !== 3 ||
    version !== String(ADMIN_SESSION_VERSION) ||
    !sid ||
    !/^[1-9][0-9]{0,11}$/.test(expiry ?? '')
  )
    return { ok: false, reason: 'malformed' };
  const expiresAt = Number(expiry) * 1000;
  if (now >= expiresAt) return { ok: false, reason: 'expired' };
  return { ok: true, sid, expiresAt };
}

/** The CSRF token of a session. */
export async function sessionCsrf(token: string, sid: string): Promise<string> {
  const mac = await crypto.subtle.sign(
    'HMAC',
    await sessionKey(token),
    encoder.encode(`csrf|${sid}`),
  );
  return toBase64Url(new Uint8Array(mac));
}

/** A random CSRF token (for the double-submit cookie of Access sign-ins). */
export function randomCsrf(): string {
  return toBase64Url(crypto.getRandomValues(new Uint8Array(32)));
}

/** `Set-Cookie` for an admin cookie: HttpOnly, Secure, SameSite=Strict, only under the prefix. */
export function adminCookie(name: string, value: string, maxAgeSeconds: number): string {
  const age = Math.max(0, Math.floor(maxAgeSeconds));
  return `${name}=${value}; Max-Age=${age}; Path=${RESERVED_PREFIX}; Secure; HttpOnly; SameSite=Strict`;
}

export function clearSessionCookie(): string {
  return adminCookie(ADMIN_SESSION_COOKIE, '', 0);
}
