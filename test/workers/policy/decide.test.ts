/** decide() as the pure function it is: plain data in, a decision out, every branch. */
import { describe, expect, it } from 'vitest';
import { clientFacts } from '../../../src/gate/client';
import { parseIp } from '../../../src/ip/parse';
import { compilePolicy } from '../../../src/policy/compile';
import {
  type ClientFacts,
  decide,
  needsReputation,
  type Reputation,
} from '../../../src/policy/decide';
import { DEFAULT_POLICY_DOCUMENT } from '../../../src/policy/defaults';
import { parsePolicy } from '../../../src/policy/schema';
import type { ReputationRecord } from '../../../src/reputation/record';

function policy(doc: unknown) {
  const r = parsePolicy(doc);
  if (!r.ok) throw new Error(JSON.stringify(r.issues));
  return compilePolicy(r.policy, 'test');
}

const client = (ip: string, extra: Partial<ClientFacts> = {}): ClientFacts => ({
  ip: parseIp(ip),
  ...extra,
});
const hit = (record: Partial<ReputationRecord>): Reputation => ({
  status: 'hit',
  record: { score: 'unknown', categories: [], ...record },
});

const defaults = policy(DEFAULT_POLICY_DOCUMENT);
const auth = defaults.classify('/login', 'GET');

describe('decide', () => {
  it('classifies auth paths and the rest', () => {
    expect(auth.name).toBe('auth');
    expect(defaults.classify('/wp-login.php', 'POST').name).toBe('auth');
    expect(defaults.classify('/api/auth/callback', 'GET').name).toBe('auth');
    expect(defaults.classify('/blog', 'GET').name).toBe('site');
  });

  it.each([
    ['safe', 'allow', 'clean'],
    ['low', 'allow', 'clean'],
    ['moderate', 'allow', 'clean'],
    ['dangerous', 'block', 'reputation_rule'],
    ['critical', 'block', 'reputation_rule'],
  ] as const)('score %s → %s (%s)', (score, action, reason) => {
    const d = decide({
      client: client('198.51.100.1'),
      routeClass: auth,
      reputation: hit({ score }),
      policy: defaults,
    });
    expect(d).toMatchObject({ action, reason, monitorOnly: false });
  });

  it.each([
    ['vpn', 'anonymizer'],
    ['tor', 'anonymizer'],
    ['proxy', 'anonymizer'],
    ['hosting', 'hosting'],
  ])('category %s → block by %s', (category, rule) => {
    const d = decide({
      client: client('198.51.100.1'),
      routeClass: auth,
      reputation: hit({ score: 'safe', categories: [category] }),
      policy: defaults,
    });
    expect(d).toEqual({ action: 'block', reason: 'reputation_rule', rule, monitorOnly: false });
  });

  it('does not block other categories', () => {
    const d = decide({
      client: client('198.51.100.1'),
      routeClass: auth,
      reputation: hit({ categories: ['mobile'] }),
      policy: defaults,
    });
    expect(d).toMatchObject({ action: 'allow', reason: 'clean' });
  });

  it.each(['miss', 'timeout', 'skipped'] as const)(
    'lookup %s → unknown, allowed by default',
    (status) => {
      const d = decide({
        client: client('198.51.100.1'),
        routeClass: auth,
        reputation: { status },
        policy: defaults,
      });
      expect(d).toEqual({ action: 'allow', reason: 'unknown', rule: status, monitorOnly: false });
    },
  );

  it('lookup error → internal_error, by the class’s onError', () => {
    const closed = policy({
      routeClasses: [
        {
          name: 'a',
          paths: ['/a'],
          rules: [{ name: 'r', scores: ['critical'], action: 'block' }],
          onError: 'closed',
        },
      ],
    });
    const rc = closed.classify('/a', 'GET');
    const d = decide({
      client: client('198.51.100.1'),
      routeClass: rc,
      reputation: { status: 'error', error: 'x' },
      policy: closed,
    });
    expect(d).toEqual({
      action: 'block',
      reason: 'internal_error',
      rule: 'fail-closed',
      monitorOnly: false,
    });
  });

  it('invalid client IP → the class’s invalidClientIp action', () => {
    const d = decide({
      client: { ip: null },
      routeClass: auth,
      reputation: { status: 'skipped' },
      policy: defaults,
    });
    expect(d).toEqual({
      action: 'allow',
      reason: 'invalid_client_ip',
      rule: '',
      monitorOnly: false,
    });
  });

  it('allow list beats deny list beats rules; cf facts before record facts', () => {
    const p = policy({
      ...DEFAULT_POLICY_DOCUMENT,
      allow: { countries: ['CH'] },
      deny: { ips: ['198.51.100.0/24'], asns: [64500], countries: ['RU'] },
    });
    const rc = p.classify('/login', 'GET');
    const critical = hit({ score: 'critical', country: 'CH' });
    expect(
      decide({ client: client('198.51.100.1'), routeClass: rc, reputation: critical, policy: p }),
    ).toMatchObject({ reason: 'allow_list', rule: 'country:CH' });
    expect(
      decide({
        client: client('198.51.100.1', { country: 'DE' }),
        routeClass: rc,
        reputation: critical,
        policy: p,
      }),
    ).toMatchObject({ reason: 'deny_list', rule: 'ip:198.51.100.0/24' });
    expect(
      decide({
        client: client('203.0.113.1', { asn: 64500 }),
        routeClass: rc,
        reputation: { status: 'miss' },
        policy: p,
      }),
    ).toMatchObject({ action: 'block', rule: 'asn:64500' });
    expect(
      decide({
        client: client('203.0.113.1'),
        routeClass: rc,
        reputation: hit({ country: 'RU' }),
        policy: p,
      }),
    ).toMatchObject({ action: 'block', rule: 'country:RU' });
  });

  it('monitor mode marks blocks as not enforced and leaves allows alone', () => {
    const p = policy({ ...DEFAULT_POLICY_DOCUMENT, mode: 'monitor' });
    const rc = p.classify('/login', 'GET');
    expect(
      decide({
        client: client('198.51.100.1'),
        routeClass: rc,
        reputation: hit({ score: 'critical' }),
        policy: p,
      }),
    ).toEqual({ action: 'block', reason: 'reputation_rule', rule: 'dirty', monitorOnly: true });
    expect(
      decide({
        client: client('198.51.100.1'),
        routeClass: rc,
        reputation: hit({ score: 'safe' }),
        policy: p,
      }).monitorOnly,
    ).toBe(false);
  });

  it('challenge: a rule or unknown says so; a cleared client passes as challenge_passed', () => {
    const p = policy({
      challenge: { siteKey: 'site-key' },
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login'],
          rules: [{ name: 'anon', categories: ['vpn'], action: 'challenge' }],
          unknown: 'challenge',
        },
      ],
    });
    const rc = p.classify('/login', 'GET');
    const vpn = hit({ categories: ['vpn'] });
    const d = (c: ClientFacts, reputation: Reputation) =>
      decide({ client: c, routeClass: rc, reputation, policy: p });
    expect(d(client('192.0.2.1'), vpn)).toEqual({
      action: 'challenge',
      reason: 'reputation_rule',
      rule: 'anon',
      monitorOnly: false,
    });
    expect(d(client('192.0.2.1', { cleared: true }), vpn)).toEqual({
      action: 'allow',
      reason: 'challenge_passed',
      rule: 'anon',
      monitorOnly: false,
    });
    for (const reputation of [
      { status: 'miss' },
      { status: 'timeout' },
      { status: 'unavailable', error: 'circuit_open: limit exceeded' },
    ] as Reputation[])
      expect(d(client('192.0.2.1'), reputation)).toMatchObject({
        action: 'challenge',
        reason: 'unknown',
        rule: reputation.status,
      });
    const monitor = policy({ ...p.document, mode: 'monitor' });
    expect(
      decide({
        client: client('192.0.2.1'),
        routeClass: monitor.classify('/login', 'GET'),
        reputation: { status: 'miss' },
        policy: monitor,
      }),
    ).toMatchObject({ action: 'challenge', monitorOnly: true });
  });

  it('asks for reputation only where a decision can depend on it', () => {
    const site = defaults.classify('/', 'GET');
    expect(needsReputation(defaults, auth, client('198.51.100.1'))).toBe(true);
    expect(needsReputation(defaults, site, client('198.51.100.1'))).toBe(false);
    expect(needsReputation(defaults, auth, { ip: null })).toBe(false);
    const listed = policy({
      ...DEFAULT_POLICY_DOCUMENT,
      allow: { ips: ['198.51.100.1'] },
      deny: { countries: ['RU'] },
    });
    expect(needsReputation(listed, listed.classify('/login', 'GET'), client('198.51.100.1'))).toBe(
      false,
    );
    expect(needsReputation(listed, listed.classify('/', 'GET'), client('198.51.100.2'))).toBe(true);
    expect(
      needsReputation(
        listed,
        listed.classify('/', 'GET'),
        client('198.51.100.2', { asn: 1, country: 'DE' }),
      ),
    ).toBe(false);
  });

  it('reads request.cf only when a decision needs the ASN or country', () => {
    let reads = 0;
    const request = (cf: unknown) =>
      ({
        headers: new Headers({ 'CF-Connecting-IP': '198.51.100.2' }),
        get cf() {
          reads += 1;
          return cf;
        },
      }) as unknown as Request;
    const site = defaults.classify('/', 'GET');
    const facts = clientFacts(request({ asn: 64496, country: 'de' }));
    expect(needsReputation(defaults, site, facts)).toBe(false);
    expect(
      decide({
        client: facts,
        routeClass: site,
        reputation: { status: 'skipped' },
        policy: defaults,
      }),
    ).toMatchObject({ action: 'allow' });
    expect(reads).toBe(0);

    const listed = policy({ ...DEFAULT_POLICY_DOCUMENT, deny: { countries: ['DE'] } });
    const listedFacts = clientFacts(request({ asn: 64496, country: 'de' }));
    expect(
      decide({
        client: listedFacts,
        routeClass: listed.classify('/', 'GET'),
        reputation: { status: 'skipped' },
        policy: listed,
      }),
    ).toMatchObject({ action: 'block', rule: 'country:DE' });
    expect([listedFacts.asn, listedFacts.country]).toEqual([64496, 'DE']);
    expect(reads).toBe(1);

    const bad = clientFacts(request({ asn: -1, country: 'Deutschland' }));
    expect([bad.ip?.family, bad.asn, bad.country]).toEqual([4, undefined, undefined]);
  });
});
