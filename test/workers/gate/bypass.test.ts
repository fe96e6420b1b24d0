/**
 * Attempts to get past a `/login` rule: forged forwarding headers, path spellings, IPv6 and
 * IPv4-mapped forms, malformed CF-Connecting-IP. Every block also proves the origin never saw
 * the request; every pass proves the origin got the path exactly as sent.
 */
import { describe, expect, it } from 'vitest';
import {
  clearPolicy,
  expectBlocked,
  expectPassed,
  from,
  harness,
  originSaw,
  putPolicy,
  useSampleTable,
} from '../helpers';

useSampleTable();

describe('client IP', () => {
  it('ignores forged forwarding headers that name a clean IP', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.7', {
      'X-Forwarded-For': '203.0.113.10',
      'X-Real-IP': '203.0.113.10',
      'True-Client-IP': '203.0.113.10',
      Forwarded: 'for=203.0.113.10',
    });
    await expectBlocked(await h.fetch('/login', { headers }), id);
    expect(h.events[0]?.ip).toBe('203.0.113.7');
  });

  it('ignores forged forwarding headers that name a dirty IP', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.10', {
      'X-Forwarded-For': '203.0.113.7',
      'X-Real-IP': '203.0.113.7',
    });
    await expectPassed(await h.fetch('/login', { headers }), id);
    expect(h.events[0]).toMatchObject({ ip: '203.0.113.10', reason: 'clean' });
  });

  it.each([
    ['2001:db8:bad::1', '2001:db8:bad::/64'],
    ['2001:DB8:BAD:0:0:0:0:1', '2001:db8:bad::/64'],
    ['2001:0db8:0bad:0000::ffff', '2001:db8:bad::/64'],
    ['2001:db8:bad:ffff:1:2:3:4', '2001:db8:bad:ffff::/64'],
    ['::ffff:203.0.113.7', '203.0.113.7'],
    ['::ffff:cb00:7107', '203.0.113.7'],
    ['0:0:0:0:0:ffff:cb00:7107', '203.0.113.7'],
    ['2001:db8:bad::1%eth0', '2001:db8:bad::/64'],
    ['::203.0.113.7', '203.0.113.7'],
    ['64:ff9b::203.0.113.7', '203.0.113.7'],
  ])('blocks %s, keyed as %s', async (ip, key) => {
    const h = harness();
    const { id, headers } = from(ip);
    await expectBlocked(await h.fetch('/login', { headers }), id);
    expect(h.events[0]?.ip).toBe(key);
  });

  it.each([
    [''],
    ['not-an-ip'],
    ['203.0.113.07'],
    ['0xcb.0.113.7'],
    ['3405803783'],
    ['203.0.113'],
    ['203.0.113.7.1'],
    ['203.0.113.7, 198.51.100.1'],
    ['[2001:db8::1]'],
    ['%eth0'],
    ['256.0.0.1'],
  ])('treats CF-Connecting-IP %j as invalid', async (ip) => {
    const h = harness();
    const { id, headers } = from(ip);
    await expectPassed(await h.fetch('/login', { headers }), id);
    expect(h.events[0]).toMatchObject({ reason: 'invalid_client_ip', ip: '', action: 'allow' });
  });

  it('treats a missing CF-Connecting-IP as invalid, and blocks it when the policy says so', async () => {
    await putPolicy({
      routeClasses: [{ name: 'auth', paths: ['/login'], invalidClientIp: 'block' }],
    });
    const h = harness();
    const { id, headers } = from(null, { 'X-Forwarded-For': '203.0.113.10' });
    await expectBlocked(await h.fetch('/login', { headers }), id);
    expect(h.events[0]).toMatchObject({ reason: 'invalid_client_ip', action: 'block' });
    await clearPolicy();
  });
});

describe('path spellings against a /login rule', () => {
  const spellings = [
    '/LOGIN',
    '/%6Cogin',
    '/%4Cogin',
    '//login',
    '/login/',
    '/./login',
    '/login;x=1',
    '/Login;jsessionid=1/',
    '/%2e/login',
    '/x/../login',
  ];

  it.each(spellings)('blocks %s from a critical IP', async (path) => {
    const h = harness();
    const { id, headers } = from('203.0.113.7');
    await expectBlocked(await h.fetch(path, { headers }), id);
    expect(h.events[0]?.routeClass).toBe('auth');
  });

  it.each(['/LOGIN', '/%6Cogin', '//login', '/login/', '/login;x=1', '/login?a=%2F&b=1'])(
    'passes %s from a clean IP with the path unchanged',
    async (path) => {
      const h = harness();
      const { id, headers } = from('203.0.113.10');
      const res = await h.fetch(path, { headers });
      expect(res.status).toBe(200);
      const seen = await originSaw(id);
      expect(seen.map((s) => s.url)).toEqual([path]);
    },
  );
});
