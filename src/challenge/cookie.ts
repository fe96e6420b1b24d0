/**
 * The clearance cookie: proof that a client solved a Turnstile challenge, checked on later
 * requests without any storage read.
 *
 * Value: `base64url(payload) "." base64url(HMAC-SHA256(secret, payload))`, where the payload is
 * the UTF-8 text `version|key|expiry` (expiry in Unix seconds). The key is the client key that
 * `clientKey` derives (IPv4 address or IPv6 /64), so a cookie copied to another network is
 * useless, while a client that moves within its /64 keeps its clearance.
 *
 * Verification checks the shape first (cheap, bounded), then the MAC with
 * `crypto.subtle.verify`, which compares in constant time, and reads the signed fields only
 * after that. Base64url must be canonical, so no two strings carry the same signature.
 *
 * Stateless by design: a clearance cannot be revoked before it expires except by rotating the
 * secret (which revokes them all), hence a short lifetime with a hard cap.
 */
import {
  CLEARANCE_COOKIE_NAME,
  CLEARANCE_MAX_CHARS,
  CLEARANCE_MAX_TTL_S,
  CLEARANCE_SECRET_MIN_CHARS,
  CLEARANCE_VERSION,
} from '../constants';
import { clientKey, type IpAddress } from '../ip/parse';
import { fromBase64Url, toBase64Url } from '../util/base64url';

export type ClearanceFailure = 'missing' | 'malformed' | 'bad_signature' | 'expired' | 'other_ip';

export type ClearanceResult =
  | { ok: true /** Unix time in milliseconds, like `now`. */; expiresAt: number }
  | { ok: false; reason: ClearanceFailure };

const MAC_BYTES = 32;
const MAX_EXPIRY_DIGITS = 12;

/**
 * What is wrong with a clearance secret, or null when it is usable. Check once when the
 * Worker's options are built: `signClearance` and `verifyClearance` throw on a bad secret.
 */
export function clearanceSecretProblem(secret: string): string | null {
  if (secret.length < CLEARANCE_SECRET_MIN_CHARS)
    return `the clearance secret must be at least ${CLEARANCE_SECRET_MIN_CHARS} characters`;
  return null;
}

/** Signs a clearance for `client`, valid for `ttlSeconds` from `now` (Unix milliseconds). */
export async function signClearance(
  secret: string,
  client: IpAddress,
  now: number,
  ttlSeconds: number,
): Promise<string> {
  if (!Number.isInteger(ttlSeconds) || ttlSeconds <= 0 || ttlSeconds > CLEARANCE_MAX_TTL_S)
    throw new RangeError(`clearance TTL must be an integer from 1 to ${CLEARANCE_MAX_TTL_S} s`);
  const expiry = clearanceExpiry(now, ttlSeconds) / 1000;
  const payload = new TextEncoder().encode(`${CLEARANCE_VERSION}|${clientKey(client)}|${expiry}`);
  const mac = await crypto.subtle.sign('HMAC', await hmacKey(secret), payload);
  return `${toBase64Url(payload)}.${toBase64Url(new Uint8Array(mac))}`;
}

/** When a clearance signed at `now` for `ttlSeconds` expires, in Unix milliseconds. */
export function clearanceExpiry(now: number, ttlSeconds: number): number {
  return (Math.floor(now / 1000) + ttlSeconds) * 1000;
}

/**
 * Checks a cookie value for `client` at `now` (Unix milliseconds). Never throws on any value:
 * every failure is a reason, for the sink only.
 */
export async function verifyClearance(
  secret: string,
  value: string | null | undefined,
  client: IpAddress,
  now: number,
): Promise<ClearanceResult> {
  const key = await hmacKey(secret);
  if (value === null || value === undefined || value === '') return fail('missing');
  if (value.length > CLEARANCE_MAX_CHARS) return fail('malformed');
  const dot = value.indexOf('.');
  if (dot <= 0 || value.indexOf('.', dot + 1) !== -1) return fail('malformed');
  const payload = fromBase64Url(value.slice(0, dot));
  const mac = fromBase64Url(value.slice(dot + 1));
  if (payload === null || mac === null || mac.byteLength !== MAC_BYTES) return fail('malformed');
  if (!(await crypto.subtle.verify('HMAC', key, mac, payload))) return fail('bad_signature');

  const fields = parsePayload(payload);
  if (fields === null) return fail('malformed');
  const expiresAt = fields.expiry * 1000;
  if (now >= expiresAt) return fail('expired');
  if (fields.key !== clientKey(client)) return fail('other_ip');
  return { ok: true, expiresAt };
}

/** The `Set-Cookie` header value that stores a clearance for `maxAgeSeconds`. */
export function clearanceSetCookie(value: string, maxAgeSeconds: number): string {
  const age = Math.max(0, Math.floor(maxAgeSeconds));
  return `${CLEARANCE_COOKIE_NAME}=${value}; Max-Age=${age}; Path=/; Secure; HttpOnly; SameSite=Lax`;
}

/** The value of cookie `name` in a `Cookie` header (the first one when repeated), or null. */
export function readCookie(header: string | null | undefined, name: string): string | null {
  if (!header) return null;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return null;
}

/** The clearance cookie's value in a `Cookie` header, or null. */
export function readClearanceCookie(header: string | null | undefined): string | null {
  return readCookie(header, CLEARANCE_COOKIE_NAME);
}

function fail(reason: ClearanceFailure): ClearanceResult {
  return { ok: false, reason };
}

function parsePayload(bytes: Uint8Array): { key: string; expiry: number } | null {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    return null;
  }
  const fields = text.split('|');
  if (fields.length !== 3) return null;
  const [version, key, expiry] = fields as [string, string, string];
  if (version !== String(CLEARANCE_VERSION) || key === '') return null;
  if (!/^[1-9][0-9]*$/.test(expiry) || expiry.length > MAX_EXPIRY_DIGITS) return null;
  return { key, expiry: Number(expiry) };
}

// Imported keys per secret: importKey costs more than the HMAC itself. A Worker has one secret
// (two while rotating), so the cache stays tiny; it is cleared if it ever grows.
const MAX_CACHED_KEYS = 4;
const keys = new Map<string, Promise<CryptoKey>>();

function hmacKey(secret: string): Promise<CryptoKey> {
  const problem = clearanceSecretProblem(secret);
  if (problem !== null) throw new TypeError(problem);
  let key = keys.get(secret);
  if (key === undefined) {
    if (keys.size >= MAX_CACHED_KEYS) keys.clear();
    key = crypto.subtle.importKey(
      'raw',
      new TextEncoder().encode(secret),
      { name: 'HMAC', hash: 'SHA-256' },
      false,
      ['sign', 'verify'],
    );
    keys.set(secret, key);
  }
  return key;
}
