/**
 * Cloudflare Access in front of the dashboard: the `Cf-Access-Jwt-Assertion` token verified
 * against the team's signing keys. A locally generated RSA key pair signs the tokens; a fake
 * JWKS endpoint stands for `https://<team>.cloudflareaccess.com/cdn-cgi/access/certs`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { toBase64Url } from '../../../src/util/base64url';
import { adminHarness, bearer, browser, form, setCookie, TOKEN } from './support';

const TEAM = 'ipgate-test';
const ISSUER = `https://${TEAM}.cloudflareaccess.com`;
const CERTS = `${ISSUER}/cdn-cgi/access/certs`;
const AUD = '4714c1358e65fe4b408ad6d432a5f878f08194bdb4752441fd56faefa9b2b6f2';
const ACCESS_ONLY = { ADMIN_TOKEN: undefined, ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD };
const RSA = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' } as const;

let signing: CryptoKeyPair;
let stranger: CryptoKeyPair;
let jwks: { keys: JsonWebKey[] };

async function keyPair(): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(
    { ...RSA, modulusLength: 2048, publicExponent: new Uint8Array([1, 0, 1]) },
    true,
    ['sign', 'verify'],
  )) as CryptoKeyPair;
}

beforeAll(async () => {
  signing = await keyPair();
  stranger = await keyPair();
  const pub = (await crypto.subtle.exportKey('jwk', signing.publicKey)) as JsonWebKey;
  jwks = {
    keys: [
      { kid: 'current', kty: 'RSA', alg: 'RS256', use: 'sig', e: pub.e, n: pub.n } as JsonWebKey,
    ],
  };
});

const text = (v: unknown) => toBase64Url(new TextEncoder().encode(JSON.stringify(v)));

async function token(
  claims: Record<string, unknown>,
  options: { kid?: string; alg?: string; key?: CryptoKey } = {},
): Promise<string> {
  const head = text({ alg: options.alg ?? 'RS256', kid: options.kid ?? 'current', typ: 'JWT' });
  const body = text(claims);
  const sig = await crypto.subtle.sign(
    RSA,
    options.key ?? signing.privateKey,
    new TextEncoder().encode(`${head}.${body}`),
  );
  return `${head}.${body}.${toBase64Url(new Uint8Array(sig))}`;
}

function fakeCloudflare() {
  const calls: string[] = [];
  const fetcher: typeof fetch = async (input) => {
    const url = typeof input === 'string' ? input : input instanceof URL ? input.href : input.url;
    calls.push(url);
    if (url === CERTS) return Response.json(jwks);
    return new Response('not found', { status: 404 });
  };
  return { calls, fetcher };
}

function setup(env: Record<string, string | undefined> = ACCESS_ONLY) {
  const cf = fakeCloudflare();
  const h = adminHarness({ admin: { fetch: cf.fetcher }, env });
  const nowS = Math.floor(h.clock.now / 1000);
  const claims = {
    aud: [AUD],
    email: 'ops@example.com',
    exp: nowS + 3600,
    iat: nowS - 10,
    nbf: nowS - 10,
    iss: ISSUER,
    sub: 'user-1',
    type: 'app',
  };
  const as = (jwt: string, extra: Record<string, string> = {}) =>
    browser('198.51.100.60', { 'Cf-Access-Jwt-Assertion': jwt, ...extra });
  return { h, cf, claims, as };
}

describe('Cloudflare Access', () => {
  it('lets in a valid token and shows who it is', async () => {
    const { h, cf, claims, as } = setup();
    const res = await h.fetch('/__ipgate/policy', { headers: as(await token(claims)) });
    expect(res.status).toBe(200);
    const body = await res.text();
    expect(body).toContain('ops@example.com');
    expect(cf.calls).toEqual([CERTS]);
    const csrfCookie = setCookie(res, '__Secure-ipgate_csrf');
    expect(csrfCookie?.attributes).toContain('SameSite=Strict');
    expect(csrfCookie?.attributes).toContain('HttpOnly');
    // The keys are kept: a second request does not fetch them again.
    const api = await h.fetch('/__ipgate/api/policy', { headers: as(await token(claims)) });
    expect(api.status).toBe(200);
    expect(cf.calls).toHaveLength(1);
  });

  it('accepts aud as a string and the team given as a host name', async () => {
    const { h, claims, as } = setup({
      ...ACCESS_ONLY,
      ACCESS_TEAM_DOMAIN: `https://${TEAM}.cloudflareaccess.com/`,
    });
    const res = await h.fetch('/__ipgate/api/policy', {
      headers: as(await token({ ...claims, aud: AUD })),
    });
    expect(res.status).toBe(200);
  });

  it.each([
    [
      'another audience',
      { aud: ['0000000000000000000000000000000000000000000000000000000000000000'] },
      'wrong_audience',
    ],
    ['no audience', { aud: undefined }, 'wrong_audience'],
    ['another team', { iss: 'https://other.cloudflareaccess.com' }, 'wrong_issuer'],
    ['expired', { exp: -3600 }, 'expired'],
    ['not yet valid', { nbf: 3600 }, 'not_yet_valid'],
  ])('refuses a token for %s', async (_label, change, reason) => {
    const { h, claims, as } = setup();
    const nowS = Math.floor(h.clock.now / 1000);
    const c: Record<string, unknown> = { ...claims, ...change };
    if ('exp' in change) c.exp = nowS + (change.exp as number);
    if ('nbf' in change) c.nbf = nowS + (change.nbf as number);
    const res = await h.fetch('/__ipgate/api/policy', { headers: as(await token(c)) });
    expect(res.status).toBe(403);
    expect(await res.json()).toEqual({
      error: 'access_denied',
      detail: `The Cloudflare Access token was refused (${reason}).`,
    });
  });

  it('refuses a bad signature, another algorithm and garbage', async () => {
    const { h, claims, as } = setup();
    const forged = await token(claims, { key: stranger.privateKey });
    const good = await token(claims);
    const [head, , sig] = good.split('.');
    const swapped = `${head}.${text({ ...claims, email: 'intruder@example.com' })}.${sig}`;
    const none = `${text({ alg: 'none', kid: 'current' })}.${text(claims)}.`;
    const hs = `${text({ alg: 'HS256', kid: 'current' })}.${text(claims)}.${sig}`;
    const cases: [string, string][] = [
      [forged, 'bad_signature'],
      [swapped, 'bad_signature'],
      [none, 'malformed'],
      [hs, 'unsupported_alg'],
      ['not.a.jwt', 'malformed'],
      ['', 'malformed'],
    ];
    for (const [jwt, reason] of cases) {
      const res = await h.fetch('/__ipgate/api/policy', { headers: as(jwt) });
      expect(res.status, reason).toBe(403);
      expect(((await res.json()) as { detail: string }).detail).toContain(`(${reason})`);
    }
  });

  it('refetches the keys for an unknown kid, at most once a minute', async () => {
    const { h, cf, claims, as } = setup();
    expect(
      (await h.fetch('/__ipgate/api/policy', { headers: as(await token(claims)) })).status,
    ).toBe(200);
    h.clock.now += 61_000;
    const unknown = await token(claims, { kid: 'rotated' });
    const first = await h.fetch('/__ipgate/api/policy', { headers: as(unknown) });
    expect(first.status).toBe(403);
    expect(((await first.json()) as { detail: string }).detail).toContain('(unknown_key)');
    expect(cf.calls).toHaveLength(2);
    for (let i = 0; i < 5; i++) await h.fetch('/__ipgate/api/policy', { headers: as(unknown) });
    expect(cf.calls).toHaveLength(2);
  });

  it('says the keys are unavailable when the team cannot be reached', async () => {
    const h = adminHarness({
      admin: { fetch: async () => new Response('down', { status: 503 }) },
      env: ACCESS_ONLY,
    });
    const nowS = Math.floor(h.clock.now / 1000);
    const jwt = await token({ aud: [AUD], iss: ISSUER, exp: nowS + 60, email: 'a@b.c' });
    const res = await h.fetch('/__ipgate/api/policy', {
      headers: browser('198.51.100.61', { 'Cf-Access-Jwt-Assertion': jwt }),
    });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { detail: string }).detail).toContain('(keys_unavailable)');
  });

  it('with Access only, a request without its token is refused and there is no sign-in form', async () => {
    const { h } = setup();
    const res = await h.fetch('/__ipgate/api/policy', { headers: bearer('198.51.100.62') });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: 'access_required' });
    const login = await h.fetch('/__ipgate/login');
    expect(login.status).toBe(403);
    const page = await h.fetch('/__ipgate/', { headers: browser('198.51.100.62') });
    expect(page.status).toBe(401);
    expect(await page.text()).toContain('behind Cloudflare Access');
  });

  it('with Access and a token, scripts may still use the token', async () => {
    const { h } = setup({ ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: AUD, ADMIN_TOKEN: TOKEN });
    const res = await h.fetch('/__ipgate/api/policy', { headers: bearer('198.51.100.63') });
    expect(res.status).toBe(200);
  });

  it('refuses a half-configured Access (team without audience)', async () => {
    const { h } = setup({ ACCESS_TEAM_DOMAIN: TEAM, ACCESS_AUD: undefined, ADMIN_TOKEN: TOKEN });
    const res = await h.fetch('/__ipgate/api/policy', { headers: bearer('198.51.100.64') });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { detail: string }).detail).toContain(
      'ACCESS_TEAM_DOMAIN and ACCESS_AUD',
    );
  });

  it('protects Access users against forged forms with a double-submit CSRF cookie', async () => {
    const { h, claims, as } = setup();
    const jwt = await token(claims);
    const page = await h.fetch('/__ipgate/policy', { headers: as(jwt) });
    const cookie = setCookie(page, '__Secure-ipgate_csrf')?.pair ?? '';
    const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
    expect(cookie).toBe(`__Secure-ipgate_csrf=${csrf}`);
    const f = form({ csrf, version: 'nonexistent' });
    // Without the cookie (a cross-site request would not carry it), refused.
    const bare = await h.fetch('/__ipgate/policy/rollback', {
      method: 'POST',
      body: f.body,
      headers: as(jwt, f.headers),
    });
    expect(bare.status).toBe(403);
    const ok = await h.fetch('/__ipgate/policy/rollback', {
      method: 'POST',
      body: f.body,
      headers: as(jwt, { ...f.headers, Cookie: cookie }),
    });
    expect(ok.status).toBe(404);
    expect(await ok.text()).toContain('no saved version nonexistent');
  });
});
