/**
 * The request path end to end in workerd, against real local KV and the local origin: one
 * request per case, checking the response, the recorded decision and what the origin saw.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  clearPolicy,
  expectBlocked,
  expectPassed,
  from,
  harness,
  putPolicy,
  SAMPLE_CSV,
  seedTable,
} from '../helpers';

beforeAll(async () => {
  await seedTable(SAMPLE_CSV);
});

describe('default policy on an auth path', () => {
  beforeEach(async () => {
    await clearPolicy();
  });

  it.each([
    ['203.0.113.7', 'critical', 'dirty'],
    ['203.0.113.8', 'dangerous', 'dirty'],
  ])('blocks %s (%s) by rule %s', async (ip, score, rule) => {
    const h = harness();
    const { id, headers } = from(ip);
    await expectBlocked(await h.fetch('/login', { headers }), id);
    expect(h.events).toMatchObject([
      {
        action: 'block',
        reason: 'reputation_rule',
        rule,
        score,
        routeClass: 'auth',
        lookup: 'hit',
      },
    ]);
  });

  it.each([
    ['203.0.113.9', 'moderate'],
    ['203.0.113.10', 'safe'],
    ['203.0.113.11', 'low'],
  ])('passes %s (%s) as clean', async (ip, score) => {
    const h = harness();
    const { id, headers } = from(ip);
    await expectPassed(await h.fetch('/login', { headers }), id);
    expect(h.events).toMatchObject([{ action: 'allow', reason: 'clean', score, lookup: 'hit' }]);
  });

  it.each([
    ['198.51.100.20', 'hosting', 'hosting'],
    ['192.0.2.10', 'vpn', 'anonymizer'],
    ['192.0.2.200', 'tor', 'anonymizer'],
    ['2001:db8:bad::1', 'proxy', 'anonymizer'],
  ])('blocks %s (%s) by rule %s', async (ip, category, rule) => {
    const h = harness();
    const { id, headers } = from(ip);
    await expectBlocked(await h.fetch('/login', { headers }), id);
    expect(h.events[0]).toMatchObject({ action: 'block', reason: 'reputation_rule', rule });
    expect(h.events[0]?.categories).toContain(category);
  });

  it('passes an IP the table does not know as unknown', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.200');
    await expectPassed(await h.fetch('/login', { headers }), id);
    expect(h.events).toMatchObject([{ action: 'allow', reason: 'unknown', lookup: 'miss' }]);
  });

  it('records the record’s facts and the request in the event', async () => {
    const h = harness();
    const { headers } = from('198.51.100.20');
    await h.fetch('/login?next=%2F', { method: 'POST', headers });
    expect(h.events[0]).toMatchObject({
      ip: '198.51.100.20',
      method: 'POST',
      path: '/login',
      country: 'US',
      asn: 64500,
      org: 'Example Cloud, Inc.',
      source: 'test',
      score: 'low',
      monitorOnly: false,
    });
    expect(h.events[0]?.policyVersion).toMatch(/^default-/);
    expect(h.events[0]?.tableGeneration).not.toBe('');
  });
});

describe('elsewhere on the site', () => {
  it('passes a critical IP on a non-auth path without waiting for the table', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.7');
    await expectPassed(await h.fetch('/', { headers }), id);
    expect(h.events).toMatchObject([
      { action: 'allow', reason: 'no_rules', routeClass: 'site', lookup: 'skipped' },
    ]);
  });

  it('records the score for free once the table is warm', async () => {
    const h = harness();
    await h.fetch('/login', { headers: from('203.0.113.7').headers });
    const { id, headers } = from('203.0.113.7');
    await expectPassed(await h.fetch('/products', { headers }), id);
    expect(h.events[1]).toMatchObject({ reason: 'no_rules', lookup: 'hit', score: 'critical' });
  });
});

describe('lists', () => {
  it('lets the allow list win over the table and the deny list', async () => {
    await putPolicy({
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login'],
          rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
        },
      ],
      allow: { ips: ['203.0.113.7'] },
      deny: { ips: ['203.0.113.0/24'] },
    });
    const h = harness();
    const a = from('203.0.113.7');
    await expectPassed(await h.fetch('/login', { headers: a.headers }), a.id);
    const d = from('203.0.113.9');
    await expectBlocked(await h.fetch('/login', { headers: d.headers }), d.id);
    const site = from('203.0.113.9');
    await expectBlocked(await h.fetch('/', { headers: site.headers }), site.id);
    expect(h.events.map((e) => [e.reason, e.rule])).toEqual([
      ['allow_list', 'ip:203.0.113.7'],
      ['deny_list', 'ip:203.0.113.0/24'],
      ['deny_list', 'ip:203.0.113.0/24'],
    ]);
  });

  it('matches ASNs and countries from the record when request.cf has none', async () => {
    await putPolicy({ deny: { asns: [64498], countries: ['SE'] } });
    const h = harness();
    const byAsn = from('203.0.113.10');
    await expectBlocked(await h.fetch('/anything', { headers: byAsn.headers }), byAsn.id);
    const byCountry = from('192.0.2.10');
    await expectBlocked(await h.fetch('/anything', { headers: byCountry.headers }), byCountry.id);
    const other = from('203.0.113.7');
    await expectPassed(await h.fetch('/anything', { headers: other.headers }), other.id);
    expect(h.events.map((e) => e.rule)).toEqual(['asn:64498', 'country:SE', '']);
  });

  it('matches IPv6 list entries by /64', async () => {
    await putPolicy({ deny: { ips: ['2001:db8:5::1'] } });
    const h = harness();
    const same64 = from('2001:db8:5::abcd');
    await expectBlocked(await h.fetch('/', { headers: same64.headers }), same64.id);
    const other64 = from('2001:db8:5:1::1');
    await expectPassed(await h.fetch('/', { headers: other64.headers }), other64.id);
  });
});

describe('monitor mode', () => {
  it('passes would-be blocks and records them as such', async () => {
    await putPolicy({
      mode: 'monitor',
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login'],
          rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
        },
      ],
    });
    const h = harness();
    const { id, headers } = from('203.0.113.7');
    await expectPassed(await h.fetch('/login', { headers }), id);
    expect(h.events).toMatchObject([
      { action: 'block', monitorOnly: true, reason: 'reputation_rule', rule: 'dirty' },
    ]);
  });
});

describe('route classes and methods', () => {
  beforeAll(async () => {
    await putPolicy({
      routeClasses: [
        {
          name: 'api-write',
          paths: ['/api/*'],
          methods: ['post', 'PUT'],
          rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
        },
        {
          name: 'admin',
          paths: ['/admin/*'],
          rules: [
            { name: 'vpn', categories: ['vpn'], action: 'block' },
            {
              name: 'any',
              scores: ['safe', 'low', 'moderate', 'dangerous', 'critical'],
              action: 'allow',
            },
          ],
          unknown: 'block',
        },
      ],
    });
  });

  it('applies a class only to its methods', async () => {
    const h = harness();
    const post = from('203.0.113.7');
    await expectBlocked(
      await h.fetch('/api/orders', { method: 'POST', headers: post.headers, body: 'x' }),
      post.id,
    );
    const get = from('203.0.113.7');
    await expectPassed(await h.fetch('/api/orders', { headers: get.headers }), get.id);
    expect(h.events.map((e) => [e.routeClass, e.action])).toEqual([
      ['api-write', 'block'],
      ['site', 'allow'],
    ]);
  });

  it('takes the first matching rule and the class’s unknown action', async () => {
    const h = harness();
    const vpn = from('192.0.2.10');
    await expectBlocked(await h.fetch('/admin/', { headers: vpn.headers }), vpn.id);
    const known = from('203.0.113.7');
    await expectPassed(await h.fetch('/admin/users', { headers: known.headers }), known.id);
    const unknown = from('203.0.113.99');
    await expectBlocked(await h.fetch('/admin', { headers: unknown.headers }), unknown.id);
    expect(h.events.map((e) => [e.reason, e.rule])).toEqual([
      ['reputation_rule', 'vpn'],
      ['reputation_rule', 'any'],
      ['unknown', 'miss'],
    ]);
  });
});
