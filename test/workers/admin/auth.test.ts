/**
 * Dashboard sign-in: disabled without a token, the form and its HMAC session cookie (round
 * trip, tampering, expiry, token rotation, sign-out), bearer tokens for scripts, and the
 * per-client limit on failed sign-ins, shared across isolates through KV.
 */
import { describe, expect, it } from 'vitest';
import { ADMIN_SESSION_TTL_S } from '../../../src/constants';
import { from, originSaw } from '../helpers';
import {
  adminHarness,
  bearer,
  browser,
  form,
  setCookie,
  signIn,
  TOKEN,
  withSession,
} from './support';

const NO_ADMIN = { ADMIN_TOKEN: undefined, ACCESS_TEAM_DOMAIN: undefined, ACCESS_AUD: undefined };

function postLogin(h: ReturnType<typeof adminHarness>, ip: string, token: string) {
  const f = form({ token });
  return h.fetch('/__ipgate/login', {
    method: 'POST',
    body: f.body,
    headers: { ...browser(ip), ...f.headers },
  });
}

describe('dashboard disabled', () => {
  it('refuses every dashboard and API route with a clear message when nothing is configured', async () => {
    const h = adminHarness({ env: NO_ADMIN });
    for (const path of [
      '/__ipgate/',
      '/__ipgate/policy',
      '/__ipgate/ip/203.0.113.7',
      '/__ipgate/login',
    ]) {
      const res = await h.fetch(path, { headers: browser('198.51.100.1') });
      expect(res.status).toBe(403);
      expect(await res.text()).toContain('The dashboard is disabled: set the ADMIN_TOKEN secret');
    }
    for (const path of ['/__ipgate/api/report', '/__ipgate/api/policy']) {
      const res = await h.fetch(path, { headers: bearer('198.51.100.1', 'anything-at-all') });
      expect(res.status).toBe(403);
      expect(await res.json()).toMatchObject({ error: 'dashboard_disabled' });
    }
    const put = await h.fetch('/__ipgate/api/policy', {
      method: 'PUT',
      body: '{}',
      headers: bearer(),
    });
    expect(put.status).toBe(403);
  });

  it('stays disabled with a token that is too short, and says so', async () => {
    const h = adminHarness({ env: { ADMIN_TOKEN: 'short' } });
    const res = await h.fetch('/__ipgate/api/policy', { headers: bearer('198.51.100.1', 'short') });
    expect(res.status).toBe(403);
    expect(((await res.json()) as { detail: string }).detail).toMatch(/at least 32 characters/);
  });

  it('is never proxied to the origin', async () => {
    const h = adminHarness({ env: NO_ADMIN });
    const { id, headers } = from('198.51.100.1');
    await h.fetch('/__ipgate/', { headers });
    await h.fetch('/__ipgate/anything/else', { headers });
    expect(await originSaw(id)).toHaveLength(0);
  });
});

describe('sign-in form and session cookie', () => {
  it('sends an anonymous browser to the sign-in form, and the API answers 401', async () => {
    const h = adminHarness();
    const res = await h.fetch('/__ipgate/', { headers: browser('198.51.100.2') });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/__ipgate/login');
    const login = await h.fetch('/__ipgate/login');
    expect(login.status).toBe(200);
    expect(await login.text()).toContain('<form method="post" action="/__ipgate/login">');
    const api = await h.fetch('/__ipgate/api/report', {
      headers: { 'CF-Connecting-IP': '198.51.100.2' },
    });
    expect(api.status).toBe(401);
    expect(api.headers.get('www-authenticate')).toBe('Bearer realm="ipgate"');
    expect(await api.json()).toMatchObject({ error: 'unauthorized' });
  });

  it('signs in: an HttpOnly, Secure, SameSite=Strict cookie scoped to the prefix, that opens the dashboard', async () => {
    const h = adminHarness();
    const res = await postLogin(h, '198.51.100.3', TOKEN);
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/__ipgate/');
    const cookie = setCookie(res, '__Secure-ipgate_admin');
    expect(cookie?.attributes).toContain(`Max-Age=${ADMIN_SESSION_TTL_S}`);
    expect(cookie?.attributes).toContain('Path=/__ipgate');
    expect(cookie?.attributes).toContain('Secure');
    expect(cookie?.attributes).toContain('HttpOnly');
    expect(cookie?.attributes).toContain('SameSite=Strict');
    expect(cookie?.pair).not.toContain(TOKEN);
    const page = await h.fetch('/__ipgate/policy', {
      headers: browser('198.51.100.3', { Cookie: cookie?.pair ?? '' }),
    });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<h1>Policy</h1>');
  });

  it('refuses a wrong token with 401 and the form again', async () => {
    const h = adminHarness();
    const res = await postLogin(h, '198.51.100.4', `${TOKEN}x`);
    expect(res.status).toBe(401);
    expect(setCookie(res, '__Secure-ipgate_admin')).toBeNull();
    expect(await res.text()).toContain('The token is not right.');
  });

  it('refuses a tampered session cookie and clears it', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.5');
    const [name, value] = s.cookie.split('=') as [string, string];
    const [payload, mac] = value.split('.') as [string, string];
    const flipped = `${payload}.${mac.slice(0, -2)}${mac.endsWith('AA') ? 'BA' : 'AA'}`;
    const forged = `${btoa('1|someone|99999999999').replace(/=+$/, '')}.${mac}`;
    for (const bad of [flipped, forged, 'garbage', `${payload}.`, `${value}.x`]) {
      const res = await h.fetch('/__ipgate/', {
        headers: browser(s.ip, { Cookie: `${name}=${bad}` }),
      });
      expect(res.status).toBe(303);
      expect(res.headers.get('location')).toBe('/__ipgate/login');
      expect(setCookie(res, '__Secure-ipgate_admin')?.attributes).toContain('Max-Age=0');
    }
  });

  it('refuses an expired session', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.6');
    h.clock.now += (ADMIN_SESSION_TTL_S - 1) * 1000;
    expect((await h.fetch('/__ipgate/', { headers: withSession(s) })).status).toBe(200);
    h.clock.now += 2000;
    const res = await h.fetch('/__ipgate/', { headers: withSession(s) });
    expect(res.status).toBe(303);
    const api = await h.fetch('/__ipgate/api/policy', { headers: withSession(s) });
    expect(api.status).toBe(401);
  });

  it('signs everyone out when ADMIN_TOKEN is rotated', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.7');
    const rotated = { ADMIN_TOKEN: `${TOKEN}-rotated` };
    const res = await h.fetch('/__ipgate/', { headers: withSession(s) }, rotated);
    expect(res.status).toBe(303);
  });

  it('signs out: the cookie is cleared (POST with the CSRF token only)', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.8');
    const missing = form({});
    const refused = await h.fetch('/__ipgate/logout', {
      method: 'POST',
      body: missing.body,
      headers: withSession(s, missing.headers),
    });
    expect(refused.status).toBe(403);
    const f = form({ csrf: s.csrf });
    const res = await h.fetch('/__ipgate/logout', {
      method: 'POST',
      body: f.body,
      headers: withSession(s, f.headers),
    });
    expect(res.status).toBe(303);
    expect(res.headers.get('location')).toBe('/__ipgate/login');
    const cleared = setCookie(res, '__Secure-ipgate_admin');
    expect(cleared?.pair).toBe('__Secure-ipgate_admin=');
    expect(cleared?.attributes).toContain('Max-Age=0');
  });

  it('refuses a sign-in posted from another site', async () => {
    const h = adminHarness();
    const f = form({ token: TOKEN });
    const res = await h.fetch('/__ipgate/login', {
      method: 'POST',
      body: f.body,
      headers: { ...f.headers, 'CF-Connecting-IP': '198.51.100.9', Origin: 'https://evil.example' },
    });
    expect(res.status).toBe(403);
    expect(setCookie(res, '__Secure-ipgate_admin')).toBeNull();
  });
});

describe('bearer token', () => {
  it('opens the API for scripts', async () => {
    const h = adminHarness();
    const res = await h.fetch('/__ipgate/api/policy', { headers: bearer('198.51.100.10') });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ stored: expect.any(Boolean) });
  });

  it('refuses a wrong or malformed one', async () => {
    const h = adminHarness();
    const wrong = await h.fetch('/__ipgate/api/policy', {
      headers: bearer('198.51.100.11', `${TOKEN}0`),
    });
    expect(wrong.status).toBe(401);
    expect(await wrong.json()).toEqual({
      error: 'unauthorized',
      detail: 'The token is not right.',
    });
    const basic = await h.fetch('/__ipgate/api/policy', {
      headers: {
        'CF-Connecting-IP': '198.51.100.11',
        Authorization: `Basic ${btoa(`admin:${TOKEN}`)}`,
      },
    });
    expect(basic.status).toBe(401);
  });
});

describe('failed sign-in limit', () => {
  it('refuses a client after 5 failures, even with the right token, across isolates', async () => {
    const h = adminHarness();
    const ip = '198.51.100.40';
    for (let i = 0; i < 5; i++) expect((await postLogin(h, ip, `wrong-${i}`)).status).toBe(401);
    const locked = await postLogin(h, ip, TOKEN);
    expect(locked.status).toBe(429);
    expect(Number(locked.headers.get('retry-after'))).toBeGreaterThan(0);
    expect(setCookie(locked, '__Secure-ipgate_admin')).toBeNull();
    const api = await h.fetch('/__ipgate/api/policy', { headers: bearer(ip) });
    expect(api.status).toBe(429);
    expect(await api.json()).toMatchObject({ error: 'too_many_attempts' });

    // Another isolate (a fresh app) sees the counter in KV.
    const other = adminHarness({ start: h.clock.now });
    expect((await postLogin(other, ip, TOKEN)).status).toBe(429);
    // Another client is not affected.
    expect((await postLogin(h, '198.51.100.41', TOKEN)).status).toBe(303);
    // After the window the client may try again.
    h.clock.now += 16 * 60_000;
    expect((await postLogin(h, ip, TOKEN)).status).toBe(303);
  });

  it('counts wrong bearer tokens too, and an IPv6 client by its /64', async () => {
    const h = adminHarness();
    for (let i = 0; i < 5; i++) {
      const res = await h.fetch('/__ipgate/api/policy', {
        headers: bearer(`2001:db8:77:1::${i + 1}`, `not-the-token-${i}`),
      });
      expect(res.status).toBe(401);
    }
    const res = await h.fetch('/__ipgate/api/policy', { headers: bearer('2001:db8:77:1::99') });
    expect(res.status).toBe(429);
  });

  it('pauses before answering a failed sign-in', async () => {
    const h = adminHarness({ admin: { failureDelayMs: 150 } });
    const started = Date.now();
    expect((await postLogin(h, '198.51.100.42', 'nope')).status).toBe(401);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });
});
