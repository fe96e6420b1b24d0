/**
 * Live lookups end to end in workerd: the gate, the API cache in real local KV, the broker
 * Durable Object, and the local fake Criminal IP API (each test in its own fake scope and its
 * own broker, so stats and breaker state are the test's alone). Every deny test also asserts
 * the origin was not called.
 */
import { describe, expect, inject, it } from 'vitest';
import type { Env } from '../../../src/env';
import { parseIp } from '../../../src/ip/parse';
import { apiCacheKey } from '../../../src/reputation/api-cache';
import { LiveReputation } from '../../../src/reputation/live';
import {
  FAKE_CRIMINALIP_KEY,
  fakeStats,
  scopeUrl,
  setFakeMode,
  setFakeRecords,
} from '../../support/fake-criminalip-protocol';
import {
  clearPolicy,
  expectBlocked,
  expectPassed,
  from,
  harness,
  putPolicy,
  testEnv,
  testId,
  useSampleTable,
} from '../helpers';

useSampleTable();

const CRITICAL = { score: { inbound: 'Critical', outbound: 'Critical' } };
const VPN = { score: { inbound: 'Low', outbound: 'Low' }, issues: { is_vpn: true } };

/** A fresh fake scope and broker; `isolate()` is one more isolate (its own memo) on both. */
function live(label: string) {
  const scope = testId(label);
  const base = scopeUrl(inject('criminalIpUrl'), scope);
  const env: Partial<Env> = { CRIMINALIP_API_KEY: FAKE_CRIMINALIP_KEY, CRIMINALIP_API_URL: base };
  const isolate = () => harness({ live: new LiveReputation({ brokerName: `:${scope}` }) });
  const h = isolate();
  const get = (ip: string, path = '/login', target = h) => {
    const { id, headers } = from(ip);
    return { id, response: target.fetch(path, { headers }, env) };
  };
  return { base, env, h, isolate, get };
}

describe('live lookups for IPs the table does not know', () => {
  it('blocks a dirty IP on Criminal IP’s word and caches the verdict', async () => {
    const t = live('dirty');
    await setFakeRecords(t.base, { criminalip: { '203.0.113.150': CRITICAL } });
    const first = t.get('203.0.113.150');
    await expectBlocked(await first.response, first.id);
    expect(t.h.events[0]).toMatchObject({
      lookup: 'hit',
      reason: 'reputation_rule',
      rule: 'dirty',
      source: 'criminalip',
      score: 'critical',
    });
    const cached = await testEnv.REPUTATION.get(
      apiCacheKey(
        'criminalip',
        parseIp('203.0.113.150') as NonNullable<ReturnType<typeof parseIp>>,
      ),
      'json',
    );
    expect(cached).toMatchObject({ record: { score: 'critical', source: 'criminalip' } });
    // Another isolate finds the verdict in the API cache: no second call.
    const again = t.get('203.0.113.150', '/login', t.isolate());
    await expectBlocked(await again.response, again.id);
    expect((await fakeStats(t.base)).calls).toBe(1);
  });

  it('passes a clean IP the API vouches for', async () => {
    const t = live('clean');
    const r = t.get('203.0.113.151');
    await expectPassed(await r.response, r.id);
    expect(t.h.events[0]).toMatchObject({ lookup: 'hit', reason: 'clean', score: 'safe' });
  });

  it('makes one API call for a burst of concurrent requests for one IP from two isolates', async () => {
    const t = live('burst');
    await setFakeRecords(t.base, { criminalip: { '203.0.113.152': VPN } });
    await setFakeMode(t.base, { mode: 'slow', delayMs: 200 });
    const other = t.isolate();
    const burst = Array.from({ length: 20 }, (_, i) =>
      t.get('203.0.113.152', '/login', i % 2 ? other : t.h),
    );
    for (const r of burst) await expectBlocked(await r.response, r.id);
    const stats = await fakeStats(t.base);
    expect(stats.calls).toBe(1);
    expect(stats.ips).toEqual(['203.0.113.152']);
  });

  it('never lets 50 distinct IPs cause two concurrent API calls', async () => {
    const t = live('fifty');
    await setFakeMode(t.base, { mode: 'slow', delayMs: 15, rejectConcurrent: true });
    const ips = Array.from({ length: 50 }, (_, i) => `2001:db8:50:${i.toString(16)}::1`);
    const sent = ips.map((ip) => t.get(ip));
    for (const r of sent) expect((await r.response).status).toBe(200);
    const stats = await fakeStats(t.base);
    expect(stats.maxConcurrent).toBe(1);
    expect(stats.calls).toBe(50);
    expect(new Set(stats.ips).size).toBe(50);
  });

  it('opens the circuit when the quota is gone, and requests keep passing per policy', async () => {
    const t = live('quota');
    await setFakeMode(t.base, { mode: 'quota' });
    const a = t.get('203.0.113.153');
    await expectPassed(await a.response, a.id);
    expect(t.h.events[0]).toMatchObject({ reason: 'unknown', lookup: 'unavailable' });
    expect(t.h.events[0]?.detail).toMatch(/quota/);
    for (const ip of ['203.0.113.154', '203.0.113.155']) {
      const r = t.get(ip);
      await expectPassed(await r.response, r.id);
    }
    expect(t.h.events.map((e) => e.detail.split(':')[0])).toEqual([
      'failed',
      'circuit_open',
      'circuit_open',
    ]);
    expect((await fakeStats(t.base)).calls).toBe(1);
  });

  it('blocks unknown IPs while the circuit is open when the policy says so', async () => {
    await putPolicy({
      routeClasses: [{ name: 'auth', paths: ['/login'], unknown: 'block' }],
    });
    try {
      const t = live('quota-block');
      await setFakeMode(t.base, { mode: 'quota' });
      for (const ip of ['203.0.113.156', '203.0.113.157']) {
        const r = t.get(ip);
        await expectBlocked(await r.response, r.id);
      }
      expect(t.h.events.map((e) => [e.reason, e.lookup])).toEqual([
        ['unknown', 'unavailable'],
        ['unknown', 'unavailable'],
      ]);
      expect((await fakeStats(t.base)).calls).toBe(1);
    } finally {
      await clearPolicy();
    }
  });

  it('holds the deadline while the API hangs', async () => {
    await putPolicy({
      lookup: { live: { deadlineMs: 300 } },
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login'],
          rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
        },
      ],
    });
    try {
      const t = live('hang');
      await setFakeMode(t.base, { mode: 'slow', delayMs: 3_000 });
      const { id, headers } = from('203.0.113.158');
      const started = Date.now();
      const run = t.h.start('/login', { headers }, t.env);
      const res = await run.response;
      const elapsed = Date.now() - started;
      await expectPassed(res, id);
      expect(elapsed).toBeLessThan(1_500);
      await run.background();
      expect(t.h.events[0]).toMatchObject({ reason: 'unknown', lookup: 'timeout' });
    } finally {
      await clearPolicy();
    }
  });

  it('stops calling after the key is refused', async () => {
    const t = live('badkey');
    await setFakeMode(t.base, { mode: 'invalid_key' });
    for (const ip of ['203.0.113.159', '203.0.113.160', '203.0.113.161']) {
      const r = t.get(ip);
      await expectPassed(await r.response, r.id);
    }
    expect((await fakeStats(t.base)).calls).toBe(1);
    expect(t.h.events[2]?.detail).toMatch(/^invalid_key/);
    for (const e of t.h.events) expect(JSON.stringify(e)).not.toContain(FAKE_CRIMINALIP_KEY);
    const health = await t.h.fetch('/__ipgate/health', {}, t.env);
    const text = await health.text();
    expect(text).not.toContain(FAKE_CRIMINALIP_KEY);
    expect(JSON.parse(text)).toMatchObject({
      live: { provider: 'criminalip', enabled: true, broker: { keyRefused: true, callsToday: 1 } },
    });
  });

  it('without a key a table miss stays a miss and nothing is called', async () => {
    const t = live('nokey');
    const { id, headers } = from('203.0.113.162');
    await expectPassed(await t.h.fetch('/login', { headers }, { CRIMINALIP_API_URL: t.base }), id);
    expect(t.h.events[0]).toMatchObject({ reason: 'unknown', lookup: 'miss' });
    expect((await fakeStats(t.base)).calls).toBe(0);
  });

  it('never sends a non-public client address', async () => {
    const t = live('private');
    for (const ip of ['10.1.2.3', '127.0.0.1', 'fd00::1', '100.64.0.1']) {
      const r = t.get(ip);
      await expectPassed(await r.response, r.id);
    }
    expect((await fakeStats(t.base)).calls).toBe(0);
  });

  it('does not ask about IPs on paths whose class needs no reputation', async () => {
    const t = live('site');
    const r = t.get('203.0.113.163', '/');
    await expectPassed(await r.response, r.id);
    expect((await fakeStats(t.base)).calls).toBe(0);
  });

  it('keeps the table’s answer for IPs the table lists', async () => {
    const t = live('table');
    const r = t.get('203.0.113.7');
    await expectBlocked(await r.response, r.id);
    expect(t.h.events[0]).toMatchObject({ lookup: 'hit', source: 'test' });
    expect((await fakeStats(t.base)).calls).toBe(0);
  });
});
