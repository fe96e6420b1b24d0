/**
 * The AbuseIPDB provider against the local fake: the score table, Tor and hosting facts, the
 * HTTP-status error mapping, and the same guards as every provider.
 */
import { describe, expect, it } from 'vitest';
import { ABUSEIPDB_SCORE_LEVELS } from '../../../src/constants';
import { createProvider, type ProviderFailureKind } from '../../../src/providers';
import { createAbuseIpdbProvider } from '../../../src/providers/abuseipdb/client';
import { abuseScoreLevel, parseAbuseIpdbResponse } from '../../../src/providers/abuseipdb/parse';
import {
  FAKE_ABUSEIPDB_KEY,
  type FakeMode,
  fakeStats,
  setFakeMode,
  setFakeRecords,
} from '../../support/fake-criminalip-protocol';
import { FIXED_NOW, fixedNow, freshScope, ip } from './support';

function provider(baseUrl: string, apiKey = FAKE_ABUSEIPDB_KEY) {
  return createProvider('abuseipdb', { apiKey, baseUrl, now: fixedNow });
}

describe('abuseipdb: score levels', () => {
  it('maps 0–100 onto the five levels at the documented thresholds', () => {
    const expected: Array<[number, string]> = [
      [0, 'safe'],
      [1, 'low'],
      [24, 'low'],
      [25, 'moderate'],
      [49, 'moderate'],
      [50, 'dangerous'],
      [79, 'dangerous'],
      [80, 'critical'],
      [100, 'critical'],
    ];
    for (const [score, level] of expected)
      expect(abuseScoreLevel(score), String(score)).toBe(level);
    for (const bad of [-1, 101, 2.5, Number.NaN]) expect(abuseScoreLevel(bad)).toBeNull();
  });

  it('has one threshold per level, highest first, ending at 0', () => {
    const mins = ABUSEIPDB_SCORE_LEVELS.map(([min]) => min);
    expect([...mins].sort((a, b) => b - a)).toEqual(mins);
    expect(mins.at(-1)).toBe(0);
    expect(new Set(ABUSEIPDB_SCORE_LEVELS.map(([, l]) => l)).size).toBe(5);
  });

  it('reports the offending field of a bad body', () => {
    expect(parseAbuseIpdbResponse({ data: { ipAddress: '203.0.113.1' } })).toMatchObject({
      ok: false,
      path: 'data.abuseConfidenceScore',
    });
    expect(parseAbuseIpdbResponse({ data: { abuseConfidenceScore: 3 } })).toMatchObject({
      ok: false,
      path: 'data.ipAddress',
    });
    expect(parseAbuseIpdbResponse([])).toMatchObject({ ok: false });
  });
});

describe('abuseipdb provider: success', () => {
  it('maps score, Tor, hosting usage, country and ISP', async () => {
    const base = freshScope('a');
    await setFakeRecords(base, {
      abuseipdb: {
        '203.0.113.7': {
          abuseConfidenceScore: 87,
          countryCode: 'nl',
          usageType: 'Data Center/Web Hosting/Transit',
          isp: 'Example Hosting B.V.',
          domain: 'example.net',
          isTor: true,
          totalReports: 42,
        },
        '203.0.113.8': { abuseConfidenceScore: 30, usageType: 'Mobile ISP', countryCode: 'DE' },
        '203.0.113.9': { abuseConfidenceScore: 0, usageType: 'Fixed Line ISP', isp: 'Home' },
      },
    });
    const p = provider(base);
    expect(await p.lookup(ip('203.0.113.7'))).toEqual({
      ok: true,
      record: {
        score: 'critical',
        categories: ['hosting', 'tor'],
        country: 'NL',
        org: 'Example Hosting B.V.',
        source: 'abuseipdb',
        observedAt: FIXED_NOW.toISOString(),
      },
    });
    expect(await p.lookup(ip('203.0.113.8'))).toMatchObject({
      ok: true,
      record: { score: 'moderate', categories: ['mobile'], country: 'DE' },
    });
    expect(await p.lookup(ip('203.0.113.9'))).toMatchObject({
      ok: true,
      record: { score: 'safe', categories: [], org: 'Home' },
    });
    const stats = await fakeStats(base);
    expect(stats.byRoute).toEqual({ criminalip: 0, abuseipdb: 3 });
    expect(stats.rejectedKeys).toBe(0);
  });

  it('sends the documented request', async () => {
    const seen: Array<{ url: string; headers: Headers }> = [];
    const p = createAbuseIpdbProvider({
      apiKey: 'the-key',
      fetch: async (url, init) => {
        seen.push({ url, headers: new Headers(init.headers) });
        return Response.json({ data: { ipAddress: '2001:db8::1', abuseConfidenceScore: 5 } });
      },
    });
    expect((await p.lookup(ip('2001:db8::1'))).ok).toBe(true);
    expect(seen[0]?.url).toBe(
      'https://api.abuseipdb.com/api/v2/check?ipAddress=2001%3Adb8%3A%3A1&maxAgeInDays=90',
    );
    expect(seen[0]?.headers.get('key')).toBe('the-key');
    expect(seen[0]?.headers.get('accept')).toBe('application/json');
  });
});

describe('abuseipdb provider: failures', () => {
  const cases: Array<[FakeMode, ProviderFailureKind, number]> = [
    ['invalid_key', 'invalid_key', 401],
    ['quota', 'quota', 429],
    ['invalid_ip', 'invalid_ip', 422],
    ['html500', 'server', 500],
    ['html200', 'bad_response', 200],
    ['wrong_json', 'bad_response', 200],
  ];
  for (const [mode, kind, status] of cases) {
    it(`${mode} → ${kind}`, async () => {
      const base = freshScope('a');
      await setFakeMode(base, { mode });
      const r = await provider(base).lookup(ip('203.0.113.20'));
      expect(r).toMatchObject({ ok: false, failure: { kind, status } });
      expect(JSON.stringify(r)).not.toContain(FAKE_ABUSEIPDB_KEY);
    });
  }

  it('a wrong key is invalid_key; an echoed key is redacted', async () => {
    const base = freshScope('a');
    const r = await provider(base, 'wrong').lookup(ip('203.0.113.21'));
    expect(r).toMatchObject({ ok: false, failure: { kind: 'invalid_key', status: 401 } });
    expect((await fakeStats(base)).rejectedKeys).toBe(1);

    const echoed = freshScope('a');
    await setFakeMode(echoed, { mode: 'echo_key' });
    const e = await provider(echoed).lookup(ip('203.0.113.21'));
    expect(e).toMatchObject({ ok: false, failure: { kind: 'invalid_key' } });
    expect(JSON.stringify(e)).not.toContain(FAKE_ABUSEIPDB_KEY);
    expect(!e.ok && e.failure.message).toContain('[redacted]');
  });

  it('times out on a slow answer', async () => {
    const base = freshScope('a');
    await setFakeMode(base, { mode: 'slow', delayMs: 3_000 });
    const r = await provider(base).lookup(ip('203.0.113.22'), AbortSignal.timeout(150));
    expect(r).toMatchObject({ ok: false, failure: { kind: 'timeout' } });
  });

  it('never sends a non-public address', async () => {
    const base = freshScope('a');
    const p = provider(base);
    for (const text of ['10.0.0.1', '192.168.0.1', '::1', 'fd00::1'])
      expect(await p.lookup(ip(text))).toMatchObject({
        ok: false,
        failure: { kind: 'invalid_ip' },
      });
    expect((await fakeStats(base)).calls).toBe(0);
  });
});
