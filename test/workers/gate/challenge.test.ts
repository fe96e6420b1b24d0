/**
 * The `challenge` action through the gate: the Turnstile page instead of the origin, the
 * clearance cookie that lets a client pass later (checked without any storage read), the POST
 * that turns a solved Turnstile (the local fake siteverify) into that cookie, and the fallbacks.
 * Every test that expects no pass also asserts the origin was not called.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signClearance } from '../../../src/challenge/cookie';
import { CHALLENGE_PATH, CLEARANCE_COOKIE_NAME } from '../../../src/constants';
import type { Env } from '../../../src/env';
import { FAKE_TURNSTILE_SECRET, fakeToken } from '../../support/fake-turnstile-protocol';
import { ip, SECRET, siteverifyUrl } from '../challenge/support';
import {
  clearPolicy,
  expectBlocked,
  expectPassed,
  from,
  harness,
  originSaw,
  putPolicy,
  SAMPLE_CSV,
  seedTable,
} from '../helpers';

const SITE_KEY = '1x00000000000000000000AA';

const POLICY = {
  challenge: { siteKey: SITE_KEY, ttlSeconds: 600 },
  routeClasses: [
    {
      name: 'auth',
      paths: ['/login'],
      rules: [
        { name: 'dirty', scores: ['dangerous', 'critical'], action: 'block' },
        { name: 'anonymizer', categories: ['vpn', 'tor', 'proxy'], action: 'challenge' },
      ],
      unknown: 'challenge',
    },
  ],
};

const env = (): Partial<Env> => ({
  TURNSTILE_SECRET: FAKE_TURNSTILE_SECRET,
  TURNSTILE_VERIFY_URL: siteverifyUrl(),
  CLEARANCE_SECRET: SECRET,
});

beforeAll(async () => {
  await seedTable(SAMPLE_CSV);
  await putPolicy(POLICY);
});
afterAll(() => clearPolicy());

const cookie = (value: string) => ({ Cookie: `other=1; ${CLEARANCE_COOKIE_NAME}=${value}` });

async function expectChallenged(res: Response, id: string): Promise<string> {
  expect(res.status).toBe(403);
  const body = await res.text();
  expect(body).toContain(SITE_KEY);
  expect(body).toContain('challenges.cloudflare.com/turnstile');
  expect(await originSaw(id)).toHaveLength(0);
  return body;
}

describe('challenge', () => {
  it('serves the Turnstile page to an unknown IP and records a challenge', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.200', { Accept: 'text/html' });
    await expectChallenged(await h.fetch('/login?next=%2Fhome', { headers }, env()), id);
    expect(h.events[0]).toMatchObject({
      action: 'challenge',
      reason: 'unknown',
      monitorOnly: false,
    });
  });

  it('serves it for a rule whose action is challenge; a block rule still blocks', async () => {
    const h = harness();
    const vpn = from('192.0.2.5');
    await expectChallenged(await h.fetch('/login', { headers: vpn.headers }, env()), vpn.id);
    const dirty = from('203.0.113.7', cookie('x'));
    const res = await h.fetch('/login', { headers: dirty.headers }, env());
    await expectBlocked(res, dirty.id);
    expect(await res.text()).not.toContain(SITE_KEY);
    expect(h.events.map((e) => [e.action, e.rule])).toEqual([
      ['challenge', 'anonymizer'],
      ['block', 'dirty'],
    ]);
  });

  it('lets a client with a valid clearance for its IP through', async () => {
    const h = harness();
    const value = await signClearance(SECRET, ip('192.0.2.6'), Date.now(), 600);
    const { id, headers } = from('192.0.2.6', cookie(value));
    await expectPassed(await h.fetch('/login', { headers }, env()), id);
    expect(h.events[0]).toMatchObject({
      action: 'allow',
      reason: 'challenge_passed',
      rule: 'anonymizer',
    });
  });

  it('refuses tampered, expired and other-IP clearances', async () => {
    const h = harness();
    const good = await signClearance(SECRET, ip('192.0.2.7'), Date.now(), 600);
    const tampered = `${good.slice(0, -2)}${good.endsWith('A') ? 'B' : 'A'}A`;
    const expired = await signClearance(SECRET, ip('192.0.2.7'), Date.now() - 3_600_000, 600);
    const otherIp = await signClearance(SECRET, ip('192.0.2.8'), Date.now(), 600);
    const foreign = await signClearance(`${SECRET}-other`, ip('192.0.2.7'), Date.now(), 600);
    for (const value of [tampered, expired, otherIp, foreign, 'garbage', '']) {
      const { id, headers } = from('192.0.2.7', cookie(value));
      await expectChallenged(await h.fetch('/login', { headers }, env()), id);
    }
    expect(h.events.every((e) => e.action === 'challenge')).toBe(true);
  });

  it('accepts a clearance for another address in the same IPv6 /64', async () => {
    const h = harness();
    const value = await signClearance(SECRET, ip('2001:db8:bad:1::1'), Date.now(), 600);
    const same = from('2001:db8:bad:1::99', cookie(value));
    await expectPassed(await h.fetch('/login', { headers: same.headers }, env()), same.id);
    const other = from('2001:db8:bad:2::1', cookie(value));
    await expectChallenged(await h.fetch('/login', { headers: other.headers }, env()), other.id);
  });

  it('round trip: solve Turnstile, get the cookie, pass', async () => {
    const h = harness();
    const client = '203.0.113.201';
    const form = new URLSearchParams({
      'cf-turnstile-response': fakeToken('pass'),
      return: '/login?next=%2Fhome',
    });
    const post = await h.fetch(
      CHALLENGE_PATH,
      {
        method: 'POST',
        headers: {
          'CF-Connecting-IP': client,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: form.toString(),
        redirect: 'manual',
      },
      env(),
    );
    expect(post.status).toBe(303);
    expect(post.headers.get('Location')).toBe('/login?next=%2Fhome');
    const set = post.headers.get('Set-Cookie') ?? '';
    expect(set).toMatch(new RegExp(`^${CLEARANCE_COOKIE_NAME}=`));
    expect(set).toContain('HttpOnly');
    const value = set.slice(set.indexOf('=') + 1, set.indexOf(';'));
    const { id, headers } = from(client, cookie(value));
    await expectPassed(await h.fetch('/login?next=%2Fhome', { headers }, env()), id);
    expect(h.events.at(-1)).toMatchObject({ reason: 'challenge_passed' });
  });

  it('a refused token gets the page again and no cookie', async () => {
    const h = harness();
    const post = await h.fetch(
      CHALLENGE_PATH,
      {
        method: 'POST',
        headers: {
          'CF-Connecting-IP': '203.0.113.202',
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: new URLSearchParams({ 'cf-turnstile-response': fakeToken('fail') }).toString(),
      },
      env(),
    );
    expect(post.status).toBe(403);
    expect(post.headers.get('Set-Cookie')).toBeNull();
    expect(await post.text()).toContain(SITE_KEY);
  });

  it('without TURNSTILE_SECRET a challenge is enforced as a block', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.203');
    const res = await h.fetch('/login', { headers }, { CLEARANCE_SECRET: SECRET });
    await expectBlocked(res, id);
    expect(await res.text()).not.toContain(SITE_KEY);
    const post = await h.fetch(CHALLENGE_PATH, { method: 'POST' }, {});
    expect(post.status).toBe(404);
  });

  it('in monitor mode a would-be challenge passes and is recorded as such', async () => {
    await putPolicy({ ...POLICY, mode: 'monitor' });
    try {
      const h = harness();
      const { id, headers } = from('203.0.113.204');
      await expectPassed(await h.fetch('/login', { headers }, env()), id);
      expect(h.events[0]).toMatchObject({ action: 'challenge', monitorOnly: true });
    } finally {
      await putPolicy(POLICY);
    }
  });

  it('refuses a policy that uses challenge without a site key, with the path', async () => {
    const { parsePolicy } = await import('../../../src/policy/schema');
    const r = parsePolicy({ ...POLICY, challenge: {} });
    expect(r.ok).toBe(false);
    if (!r.ok)
      expect(r.issues).toEqual([
        {
          path: 'routeClasses[0].unknown',
          message: '"challenge" needs challenge.siteKey (a Turnstile site key)',
        },
      ]);
  });
});
