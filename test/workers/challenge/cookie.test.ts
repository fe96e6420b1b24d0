/**
 * The clearance cookie: round trip, and every way a value must fail (tampered, forged, expired,
 * another client, malformed), without ever throwing on what a client sends.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  clearanceExpiry,
  clearanceSecretProblem,
  clearanceSetCookie,
  readClearanceCookie,
  readCookie,
  signClearance,
  verifyClearance,
} from '../../../src/challenge/cookie';
import {
  CLEARANCE_COOKIE_NAME,
  CLEARANCE_MAX_CHARS,
  CLEARANCE_MAX_TTL_S,
  CLEARANCE_TTL_S,
} from '../../../src/constants';
import { ip, NOW, OTHER_SECRET, SECRET } from './support';

const B64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';

function b64url(bytes: Uint8Array): string {
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** A cookie over an arbitrary payload text, signed with the real secret. */
async function signRaw(payload: string, secret = SECRET): Promise<string> {
  const key = await crypto.subtle.importKey(
    'raw',
    new TextEncoder().encode(secret),
    { name: 'HMAC', hash: 'SHA-256' },
    false,
    ['sign'],
  );
  const bytes = new TextEncoder().encode(payload);
  const mac = new Uint8Array(await crypto.subtle.sign('HMAC', key, bytes));
  return `${b64url(bytes)}.${b64url(mac)}`;
}

const expirySeconds = Math.floor(NOW / 1000) + CLEARANCE_TTL_S;

describe('signClearance / verifyClearance', () => {
  it('round-trips for an IPv4 client', async () => {
    const client = ip('203.0.113.7');
    const value = await signClearance(SECRET, client, NOW, CLEARANCE_TTL_S);
    expect(value).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    expect(await verifyClearance(SECRET, value, client, NOW)).toEqual({
      ok: true,
      expiresAt: expirySeconds * 1000,
    });
    expect(clearanceExpiry(NOW, CLEARANCE_TTL_S)).toBe(expirySeconds * 1000);
  });

  it('binds the payload to version, client key and expiry', async () => {
    const value = await signClearance(SECRET, ip('2001:db8:bad::1'), NOW, 60);
    const payload = value.split('.')[0] ?? '';
    const text = atob(payload.replace(/-/g, '+').replace(/_/g, '/'));
    expect(text).toBe(`1|2001:db8:bad::/64|${Math.floor(NOW / 1000) + 60}`);
  });

  it('stays short enough for the verifier, whatever the address', async () => {
    for (const addr of ['255.255.255.255', 'ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff']) {
      const value = await signClearance(SECRET, ip(addr), NOW, CLEARANCE_MAX_TTL_S);
      expect(value.length).toBeLessThanOrEqual(CLEARANCE_MAX_CHARS);
      expect((await verifyClearance(SECRET, value, ip(addr), NOW)).ok).toBe(true);
    }
  });

  it('accepts the same IPv6 /64 and refuses another /64', async () => {
    const value = await signClearance(SECRET, ip('2001:db8:bad:1::1'), NOW, CLEARANCE_TTL_S);
    for (const same of ['2001:db8:bad:1::2', '2001:db8:bad:1:ffff:ffff:ffff:ffff'])
      expect((await verifyClearance(SECRET, value, ip(same), NOW)).ok).toBe(true);
    for (const other of ['2001:db8:bad:2::1', '2001:db8:bad::1', '2001:db9:bad:1::1'])
      expect(await verifyClearance(SECRET, value, ip(other), NOW)).toEqual({
        ok: false,
        reason: 'other_ip',
      });
  });

  it('refuses a cookie for another IPv4 address, and folds IPv4-mapped IPv6', async () => {
    const value = await signClearance(SECRET, ip('203.0.113.7'), NOW, CLEARANCE_TTL_S);
    expect(await verifyClearance(SECRET, value, ip('203.0.113.8'), NOW)).toEqual({
      ok: false,
      reason: 'other_ip',
    });
    expect((await verifyClearance(SECRET, value, ip('::ffff:203.0.113.7'), NOW)).ok).toBe(true);
  });

  it('expires at the signed second', async () => {
    const client = ip('198.51.100.1');
    const value = await signClearance(SECRET, client, NOW, 60);
    const expiresAt = clearanceExpiry(NOW, 60);
    expect((await verifyClearance(SECRET, value, client, expiresAt - 1)).ok).toBe(true);
    for (const later of [expiresAt, expiresAt + 1, expiresAt + 86_400_000])
      expect(await verifyClearance(SECRET, value, client, later)).toEqual({
        ok: false,
        reason: 'expired',
      });
  });

  it('refuses a cookie signed with another secret', async () => {
    const client = ip('198.51.100.1');
    const value = await signClearance(OTHER_SECRET, client, NOW, 60);
    expect(await verifyClearance(SECRET, value, client, NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('refuses every single-character change', async () => {
    const client = ip('203.0.113.7');
    const value = await signClearance(SECRET, client, NOW, CLEARANCE_TTL_S);
    for (let i = 0; i < value.length; i++) {
      for (const c of [B64URL[(B64URL.indexOf(value[i] ?? 'A') + 1) % 64], '.', '=']) {
        const tampered = value.slice(0, i) + c + value.slice(i + 1);
        if (tampered === value) continue;
        const result = await verifyClearance(SECRET, tampered, client, NOW);
        expect(result.ok, tampered).toBe(false);
        if (!result.ok) expect(['bad_signature', 'malformed']).toContain(result.reason);
      }
    }
  });

  it('refuses a payload re-signed with a stolen signature or spliced from another cookie', async () => {
    const mine = await signClearance(SECRET, ip('203.0.113.7'), NOW, CLEARANCE_TTL_S);
    const theirs = await signClearance(SECRET, ip('198.51.100.9'), NOW, CLEARANCE_TTL_S);
    const [, myMac] = mine.split('.');
    const [theirPayload] = theirs.split('.');
    const spliced = `${theirPayload}.${myMac}`;
    expect(await verifyClearance(SECRET, spliced, ip('198.51.100.9'), NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
    const forged = `${b64url(new TextEncoder().encode(`1|198.51.100.9|${expirySeconds + 9_999_999}`))}.${myMac}`;
    expect(await verifyClearance(SECRET, forged, ip('198.51.100.9'), NOW)).toEqual({
      ok: false,
      reason: 'bad_signature',
    });
  });

  it('calls a missing cookie missing', async () => {
    for (const v of [null, undefined, ''])
      expect(await verifyClearance(SECRET, v, ip('203.0.113.7'), NOW)).toEqual({
        ok: false,
        reason: 'missing',
      });
  });

  it('calls values of the wrong shape malformed', async () => {
    const good = await signClearance(SECRET, ip('203.0.113.7'), NOW, CLEARANCE_TTL_S);
    const cases = [
      'x',
      '.',
      'abc.',
      '.abc',
      'a.b.c',
      `${good}.`,
      `${good}=`,
      `"${good}"`,
      ` ${good}`,
      good.replace('.', '..'),
      `${good.split('.')[0]}.${'A'.repeat(42)}`,
      `${good.split('.')[0]}.${'A'.repeat(44)}`,
      `${'A'.repeat(CLEARANCE_MAX_CHARS)}.${good.split('.')[1]}`,
      'é.é',
    ];
    for (const v of cases)
      expect(await verifyClearance(SECRET, v, ip('203.0.113.7'), NOW), v).toEqual({
        ok: false,
        reason: 'malformed',
      });
  });

  it('refuses a validly signed payload of another version or shape', async () => {
    const client = ip('203.0.113.7');
    for (const payload of [
      `2|203.0.113.7|${expirySeconds}`,
      `1|203.0.113.7|${expirySeconds}|x`,
      `1|203.0.113.7`,
      `1||${expirySeconds}`,
      `1|203.0.113.7|0${expirySeconds}`,
      `1|203.0.113.7|${expirySeconds}.5`,
      `1|203.0.113.7|-1`,
      `1|203.0.113.7|1${'0'.repeat(20)}`,
    ])
      expect(await verifyClearance(SECRET, await signRaw(payload), client, NOW), payload).toEqual({
        ok: false,
        reason: 'malformed',
      });
    // The same helper does produce an accepted cookie for the well-formed payload.
    const ok = await signRaw(`1|203.0.113.7|${expirySeconds}`);
    expect((await verifyClearance(SECRET, ok, client, NOW)).ok).toBe(true);
  });

  it('never throws and never verifies random strings', async () => {
    const client = ip('203.0.113.7');
    const shaped = fc
      .tuple(
        fc.string({ unit: fc.constantFrom(...B64URL), minLength: 1, maxLength: 80 }),
        fc.string({ unit: fc.constantFrom(...B64URL), minLength: 43, maxLength: 43 }),
      )
      .map(([p, m]) => `${p}.${m}`);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.string(), fc.string({ unit: 'binary', maxLength: 400 }), shaped),
        async (value) => {
          const result = await verifyClearance(SECRET, value, client, NOW);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 500 },
    );
  });

  it('refuses a short secret and an out-of-range TTL', async () => {
    expect(clearanceSecretProblem('short')).toMatch(/at least 32/);
    expect(clearanceSecretProblem(SECRET)).toBeNull();
    await expect(signClearance('short', ip('203.0.113.7'), NOW, 60)).rejects.toThrow(TypeError);
    await expect(verifyClearance('', 'x.y', ip('203.0.113.7'), NOW)).rejects.toThrow(TypeError);
    for (const ttl of [0, -1, 1.5, CLEARANCE_MAX_TTL_S + 1, Number.NaN])
      await expect(signClearance(SECRET, ip('203.0.113.7'), NOW, ttl)).rejects.toThrow(RangeError);
  });
});

describe('cookie headers', () => {
  it('sets the clearance with the required attributes', () => {
    expect(clearanceSetCookie('abc.def', 1800)).toBe(
      `${CLEARANCE_COOKIE_NAME}=abc.def; Max-Age=1800; Path=/; Secure; HttpOnly; SameSite=Lax`,
    );
    expect(CLEARANCE_COOKIE_NAME.startsWith('__Host-')).toBe(true);
  });

  it('reads the clearance from a Cookie header', () => {
    const n = CLEARANCE_COOKIE_NAME;
    expect(readClearanceCookie(null)).toBeNull();
    expect(readClearanceCookie('')).toBeNull();
    expect(readClearanceCookie('a=1; b=2')).toBeNull();
    expect(readClearanceCookie(`${n}=v1`)).toBe('v1');
    expect(readClearanceCookie(`a=1;${n}=v1 ; b=2`)).toBe('v1');
    expect(readClearanceCookie(`x${n}=no; ${n}=yes`)).toBe('yes');
    expect(readClearanceCookie(`${n}=first; ${n}=second`)).toBe('first');
    expect(readClearanceCookie(`${n}=`)).toBe('');
    expect(readCookie('a=b=c; d', 'a')).toBe('b=c');
  });

  it('round-trips through Set-Cookie and Cookie', async () => {
    const client = ip('203.0.113.7');
    const value = await signClearance(SECRET, client, NOW, CLEARANCE_TTL_S);
    const pair = clearanceSetCookie(value, CLEARANCE_TTL_S).split(';')[0] ?? '';
    const read = readClearanceCookie(`other=1; ${pair}`);
    expect((await verifyClearance(SECRET, read, client, NOW)).ok).toBe(true);
  });
});
