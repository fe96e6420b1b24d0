/**
 * The load test's fault injectors do what it says they do: the KV plan fails the share of
 * reads it is given, by a seeded PRNG, throwing or hanging; the fake Criminal IP API's
 * `faults` option answers that share of calls with a 500 page or a held answer, and "limit
 * exceeded" from the call it is told, and counts exactly what it injected.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeCriminalIpServer, startFakeCriminalIp } from '../support/fake-criminalip';
import { FAKE_CRIMINALIP_KEY, scopeUrl, setFakeMode } from '../support/fake-criminalip-protocol';
import { kvFaultPlan } from './kv-faults';

function decisions(seed: number, rate: number, n: number): string[] {
  const plan = kvFaultPlan({ rate, hangShare: 0.3, hangMs: 1_600, seed });
  return Array.from({ length: n }, (_, i) => plan.decide('REPUTATION', 'get', `api:x:${i}`).action);
}

describe('KV fault plan', () => {
  it('fails about the given share of reads, a third of them by hanging, the same for a seed', () => {
    const a = decisions(7, 0.1, 10_000);
    const failed = a.filter((x) => x !== 'pass').length;
    expect(failed).toBeGreaterThan(900);
    expect(failed).toBeLessThan(1_100);
    const hung = a.filter((x) => x === 'hang').length;
    expect(hung / failed).toBeGreaterThan(0.25);
    expect(hung / failed).toBeLessThan(0.35);
    expect(decisions(7, 0.1, 10_000)).toEqual(a);
    expect(decisions(8, 0.1, 10_000)).not.toEqual(a);
    expect(new Set(decisions(7, 0, 1_000))).toEqual(new Set(['pass']));
  });

  it('answers the wrapper with the plan for its read, and counts it by key kind', async () => {
    const plan = kvFaultPlan({ rate: 1, hangShare: 0, hangMs: 1_600, seed: 1 });
    const res = await plan.service(
      new Request('http://kv-faults/decide', {
        method: 'POST',
        body: JSON.stringify({ binding: 'REPUTATION', method: 'get', key: 'table:chunk:4:ab' }),
      }),
    );
    const answer = (await res.json()) as { action: string; message: string };
    expect(answer.action).toBe('throw');
    expect(answer.message).toMatch(/^KV GET failed: 503/);
    expect(plan.stats()).toMatchObject({
      reads: 1,
      thrown: 1,
      readsByKey: { 'REPUTATION table:chunk': 1 },
    });
  });
});

describe('fake Criminal IP API with faults', () => {
  let fake: FakeCriminalIpServer;
  const HANG_MS = 1_500;
  const CALLS = 150;
  const QUOTA_FROM = 121;

  beforeAll(async () => {
    fake = await startFakeCriminalIp(0, {
      faults: {
        rate: 0.3,
        seed: 3,
        kinds: ['html500', 'timeout'],
        hangMs: HANG_MS,
        quotaFromCall: QUOTA_FROM,
      },
    });
    // Many calls at once: a key that refuses concurrent calls would get in the way.
    await setFakeMode(base(), { rejectConcurrent: false });
  });
  afterAll(() => fake.close());
  const base = () => scopeUrl(fake.url, 'faults');

  const call = async (i: number, key = FAKE_CRIMINALIP_KEY) => {
    const started = Date.now();
    const res = await fetch(`${base()}/v2/feature/ip/suspicious-info?ip=45.0.0.${i % 250}`, {
      headers: { 'x-api-key': key },
    });
    const text = await res.text();
    return { status: res.status, text, ms: Date.now() - started };
  };

  it('answers the injected share with 500 pages, held answers and, from its call on, "limit exceeded"', async () => {
    // All at once, so the held answers overlap; the fake numbers calls as they arrive.
    const answers = await Promise.all(Array.from({ length: CALLS }, (_, i) => call(i)));
    const html500 = answers.filter(
      (a) => a.status === 500 && a.text.includes('Internal Server Error'),
    );
    const quota = answers.filter((a) => a.text.includes('limit exceeded'));
    // A timer never fires early: only a held answer takes HANG_MS or more.
    const held = answers.filter((a) => a.ms >= HANG_MS);
    const normal = answers.filter((a) => a.status === 200 && a.text.includes('"inbound":"Safe"'));
    expect(html500.length).toBeGreaterThan(5);
    expect(held.length).toBeGreaterThan(5);
    expect(html500.length + held.length).toBeGreaterThan(0.2 * (QUOTA_FROM - 1));
    expect(html500.length + held.length).toBeLessThan(0.4 * (QUOTA_FROM - 1));
    expect(quota).toHaveLength(CALLS - QUOTA_FROM + 1);
    expect(normal.length + html500.length + quota.length).toBe(CALLS);
    expect(held.every((a) => a.status === 200)).toBe(true);
    const stats = fake.faultStats();
    expect(stats.calls).toBe(CALLS);
    expect(stats.injected).toEqual({
      html500: html500.length,
      timeout: held.length,
      quota: quota.length,
    });
    expect(stats.callsAfterQuota).toBe(quota.length - 1);
  });

  it('leaves calls with a wrong key to the bad-key answer, uncounted', async () => {
    const before = fake.faultStats().calls;
    const a = await call(1, 'not-the-key');
    expect(a.text).toContain('invalid api key');
    expect(fake.faultStats().calls).toBe(before);
  });
});
