/**
 * Cloudflare Access in front of the dashboard: the `Cf-Access-Jwt-Assertion` header Access adds
 * to every request it lets through is verified here, so a request that reaches the Worker some
 * other way (workers.dev, a second route) cannot claim to come from Access.
 *
 * Checks, in order: shape and size; `alg` RS256 with a `kid`; the signature with that key from
 * the team's JWKS (`https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`); `iss` the team;
 * `aud` containing the application's tag; `exp` and `nbf` within ACCESS_CLOCK_SKEW_S.
 *
 * The keys are kept per isolate for ACCESS_JWKS_TTL_MS. Access rotates them every six weeks and
 * keeps the previous one valid for a week, so an unknown `kid` triggers a refetch, at most once
 * per ACCESS_JWKS_REFETCH_MIN_MS: made-up key ids cannot turn into a flood of fetches.
 */

import { readTextCapped } from '../challenge/read';
import {
  ACCESS_CLOCK_SKEW_S,
  ACCESS_JWKS_DEADLINE_MS,
  ACCESS_JWKS_MAX_BYTES,
  ACCESS_JWKS_REFETCH_MIN_MS,
  ACCESS_JWKS_TTL_MS,
  ACCESS_JWT_MAX_CHARS,
} from '../constants';
import { fromBase64Url } from '../util/base64url';
import { isObject, type JsonObject } from '../util/json';
import type { AccessConfig } from './config';

export type AccessFailure =
  | 'malformed'
  | 'unsupported_alg'
  | 'unknown_key'
  | 'keys_unavailable'
  | 'bad_signature'
  | 'wrong_issuer'
  | 'wrong_audience'
  | 'expired'
  | 'not_yet_valid';

export type AccessResult = { ok: true; identity: string } | { ok: false; reason: AccessFailure };

export interface AccessVerifierOptions {
  /** Fetches the JWKS; tests pass a fake standing for Cloudflare. */
  fetch?: typeof fetch;
  now?: () => number;
}

interface KeySet {
  keys: Map<string, Promise<CryptoKey | null>>;
  fetchedAt: number;
  attemptedAt: number;
  inflight: Promise<void> | null;
}

const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

function decodeJson(part: string): JsonObject | null {
  const bytes = fromBase64Url(part);
  if (bytes === null) return null;
  try {
    const value: unknown = JSON.parse(
      new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes),
    );
    return isObject(value) ? value : null;
  } catch {
    return null;
  }
}

function importJwk(jwk: JsonObject): Promise<CryptoKey | null> {
  if (jwk.kty !== 'RSA' || typeof jwk.n !== 'string' || typeof jwk.e !== 'string')
    return Promise.resolve(null);
  if (jwk.alg !== undefined && jwk.alg !== 'RS256') return Promise.resolve(null);
  if (jwk.use !== undefined && jwk.use !== 'sig') return Promise.resolve(null);
  return crypto.subtle
    .importKey('jwk', { kty: 'RSA', n: jwk.n, e: jwk.e, alg: 'RS256', ext: true }, RSA, false, [
      'verify',
    ])
    .catch(() => null);
}

export class AccessVerifier {
  private readonly sets = new Map<string, KeySet>();
  private readonly fetcher: typeof fetch;
  private readonly now: () => number;

  constructor(options: AccessVerifierOptions = {}) {
    this.fetcher = options.fetch ?? ((input, init) => fetch(input, init));
    this.now = options.now ?? Date.now;
  }

  async verify(token: string, config: AccessConfig): Promise<AccessResult> {
    if (token.length === 0 || token.length > ACCESS_JWT_MAX_CHARS) return fail('malformed');
    const parts = token.split('.');
    if (parts.length !== 3) return fail('malformed');
    const [h, p, s] = parts as [string, string, string];
    const header = decodeJson(h);
    const claims = decodeJson(p);
    const signature = fromBase64Url(s);
    if (header === null || claims === null || signature === null) return fail('malformed');
    if (header.alg !== 'RS256') return fail('unsupported_alg');
    if (typeof header.kid !== 'string' || header.kid.length === 0) return fail('malformed');

    const key = await this.key(config.certsUrl, header.kid);
    if (key === 'unavailable') return fail('keys_unavailable');
    if (key === null) return fail('unknown_key');
    const signed = new TextEncoder().encode(`${h}.${p}`);
    if (!(await crypto.subtle.verify(RSA, key, signature, signed))) return fail('bad_signature');

    if (claims.iss !== config.issuer) return fail('wrong_issuer');
    const aud = claims.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    if (!audiences.includes(config.aud)) return fail('wrong_audience');
    const nowS = this.now() / 1000;
    if (typeof claims.exp !== 'number' || nowS >= claims.exp + ACCESS_CLOCK_SKEW_S)
      return fail('expired');
    if (typeof claims.nbf === 'number' && nowS < claims.nbf - ACCESS_CLOCK_SKEW_S)
      return fail('not_yet_valid');
    const identity = [claims.email, claims.common_name, claims.sub].find(
      (v): v is string => typeof v === 'string' && v.length > 0,
    );
    return { ok: true, identity: identity ?? 'Cloudflare Access' };
  }

  /** The key for `kid`: null when the team has none, 'unavailable' when none could be had. */
  private async key(certsUrl: string, kid: string): Promise<CryptoKey | null | 'unavailable'> {
    let set = this.sets.get(certsUrl);
    if (!set) {
      set = {
        keys: new Map(),
        fetchedAt: Number.NEGATIVE_INFINITY,
        attemptedAt: Number.NEGATIVE_INFINITY,
        inflight: null,
      };
      this.sets.set(certsUrl, set);
    }
    const now = this.now();
    const stale = now - set.fetchedAt >= ACCESS_JWKS_TTL_MS;
    const unknown = !set.keys.has(kid);
    if ((stale || unknown) && now - set.attemptedAt >= ACCESS_JWKS_REFETCH_MIN_MS)
      await this.refresh(set, certsUrl);
    const found = set.keys.get(kid);
    if (found) return await found;
    return set.fetchedAt === Number.NEGATIVE_INFINITY ? 'unavailable' : null;
  }

  private refresh(set: KeySet, certsUrl: string): Promise<void> {
    set.inflight ??= (async () => {
      set.attemptedAt = this.now();
      try {
        const res = await this.fetcher(certsUrl, {
          headers: { accept: 'application/json' },
          signal: AbortSignal.timeout(ACCESS_JWKS_DEADLINE_MS),
        });
        if (!res.ok) {
          await res.body?.cancel();
          return;
        }
        const text = await readTextCapped(res.body, ACCESS_JWKS_MAX_BYTES);
        const doc: unknown = text === null ? null : JSON.parse(text);
        if (!isObject(doc) || !Array.isArray(doc.keys)) return;
        const keys = new Map<string, Promise<CryptoKey | null>>();
        for (const jwk of doc.keys)
          if (isObject(jwk) && typeof jwk.kid === 'string') keys.set(jwk.kid, importJwk(jwk));
        set.keys = keys;
        set.fetchedAt = this.now();
      } catch {
        // Unreachable or malformed: keep the keys we had (if any); try again after the minimum.
      }
    })().finally(() => {
      set.inflight = null;
    });
    return set.inflight;
  }
}

function fail(reason: AccessFailure): AccessResult {
  return { ok: false, reason };
}
