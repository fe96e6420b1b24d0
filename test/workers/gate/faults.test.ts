/**
 * Injected failures: KV throwing or hanging, corrupt or missing chunks, a failing sink, a bug
 * in the lookup. Requests keep flowing as the policy says, and the reason is recorded.
 * (The live chain, the decision stores and the origin have suites of their own:
 * faults-live, faults-sink, faults-origin.)
 */
import { describe, expect, it, vi } from 'vitest';
import { POLICY_LOAD_DEADLINE_MS, TABLE_MANIFEST_KEY } from '../../../src/constants';
import { TableStore } from '../../../src/reputation/table-store';
import { AE_BLOBS } from '../../../src/sink/analytics-engine';
import { FAKE_CRIMINALIP_KEY } from '../../support/fake-criminalip-protocol';
import { FAKE_TURNSTILE_SECRET } from '../../support/fake-turnstile-protocol';
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
  testEnv,
  useSampleTable,
} from '../helpers';

useSampleTable();

function kvWithGet(
  get: (...args: unknown[]) => Promise<unknown>,
  kv: KVNamespace = testEnv.REPUTATION,
): KVNamespace {
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === 'get') return get;
      return Reflect.get(target, prop);
    },
  });
}

const throwing = kvWithGet(() => Promise.reject(new Error('KV is down')));
/** A KV read that answers only after `ms` (long past any request deadline). */
const slow = (ms: number) =>
  kvWithGet(() => new Promise((resolve) => setTimeout(() => resolve(null), ms)));

describe('faults', () => {
  it('passes the request and records internal_error when KV get throws', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.7');
    await expectPassed(await h.fetch('/login', { headers }, { REPUTATION: throwing }), id);
    expect(h.events[0]).toMatchObject({
      action: 'allow',
      reason: 'internal_error',
      rule: 'fail-open',
      lookup: 'error',
    });
    expect(h.events[0]?.detail).toMatch(/KV is down/);
  });

  it('does not retry a failed table load on every request', async () => {
    let calls = 0;
    const counting = kvWithGet(() => {
      calls += 1;
      return Promise.reject(new Error('KV is down'));
    });
    const h = harness();
    for (let i = 0; i < 5; i++)
      await h.fetch('/login', { headers: from('203.0.113.7').headers }, { REPUTATION: counting });
    expect(calls).toBe(1);
    expect(h.events.every((e) => e.reason === 'internal_error')).toBe(true);
  });

  it('passes the request as unknown when KV hangs past the deadline', async () => {
    await putPolicy({
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login'],
          rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
        },
      ],
      lookup: { tableDeadlineMs: 50 },
    });
    const h = harness();
    const { id, headers } = from('203.0.113.7');
    const started = Date.now();
    const { response, background } = h.start('/login', { headers }, { REPUTATION: slow(3_000) });
    const res = await response;
    expect(res.status).toBe(200);
    expect(Date.now() - started).toBeLessThan(1_500);
    await background();
    expect(await originSaw(id)).toHaveLength(1);
    expect(h.events[0]).toMatchObject({ action: 'allow', reason: 'unknown', lookup: 'timeout' });
    await clearPolicy();
  });

  it('blocks on failure when the route class is fail-closed', async () => {
    await putPolicy({
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login'],
          rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
          onError: 'closed',
        },
      ],
    });
    const h = harness();
    const { id, headers } = from('203.0.113.10');
    await expectBlocked(await h.fetch('/login', { headers }, { REPUTATION: throwing }), id);
    expect(h.events[0]).toMatchObject({
      action: 'block',
      reason: 'internal_error',
      rule: 'fail-closed',
    });
    await clearPolicy();
  });

  it('treats a chunk that does not match its manifest as an internal error', async () => {
    const kv = testEnv.REPUTATION;
    const manifest = (await kv.get(TABLE_MANIFEST_KEY, 'json')) as {
      chunks: { key: string; family: number }[];
    };
    const v4 = manifest.chunks.find((c) => c.family === 4);
    if (!v4) throw new Error('no IPv4 chunk');
    const original = await kv.get(v4.key, 'arrayBuffer');
    if (!original) throw new Error('chunk missing');
    const corrupt = new Uint8Array(original.slice(0));
    corrupt[40] = (corrupt[40] ?? 0) ^ 0xff;
    await kv.put(v4.key, corrupt);
    try {
      const h = harness();
      const { id, headers } = from('203.0.113.7');
      await expectPassed(await h.fetch('/login', { headers }), id);
      expect(h.events[0]).toMatchObject({ reason: 'internal_error', lookup: 'error' });
      expect(h.events[0]?.detail).toMatch(/does not match its manifest/);
    } finally {
      await kv.put(v4.key, original);
    }
  });

  it('treats a missing chunk as an internal error', async () => {
    await seedTable(SAMPLE_CSV, { generation: 'gone-chunks' });
    const kv = testEnv.REPUTATION;
    const manifest = (await kv.get(TABLE_MANIFEST_KEY, 'json')) as { chunks: { key: string }[] };
    for (const c of manifest.chunks) await kv.delete(c.key);
    const h = harness();
    await h.fetch('/login', { headers: from('203.0.113.7').headers });
    expect(h.events[0]?.detail).toMatch(/is missing/);
    await seedTable(SAMPLE_CSV);
  });

  it('passes and records when the lookup itself throws (a bug)', async () => {
    class BrokenStore extends TableStore {
      override lookup(): never {
        throw new TypeError('unexpected');
      }
    }
    const h = harness({ tables: new BrokenStore() });
    const { id, headers } = from('203.0.113.7');
    await expectPassed(await h.fetch('/login', { headers }), id);
    expect(h.events[0]).toMatchObject({
      reason: 'internal_error',
      rule: 'fail-open',
      routeClass: 'auth',
    });
    expect(h.events[0]?.detail).toBe('TypeError: unexpected');
  });

  it('still acts on the decision when building its event fails (a bug)', async () => {
    class BrokenStore extends TableStore {
      override generation(): never {
        throw new TypeError('unexpected');
      }
    }
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    try {
      const h = harness({ tables: new BrokenStore() });
      const bad = from('203.0.113.7');
      await expectBlocked(await h.fetch('/login', { headers: bad.headers }), bad.id);
      const good = from('203.0.113.10');
      await expectPassed(await h.fetch('/login', { headers: good.headers }), good.id);
      expect(h.events).toEqual([]);
      expect(warn.mock.calls).toEqual([
        ['ipgate: decision event not recorded: TypeError: unexpected'],
        ['ipgate: decision event not recorded: TypeError: unexpected'],
      ]);
    } finally {
      vi.restoreAllMocks();
    }
  });

  it('never lets a failing sink affect the response', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const h = harness({
      sink: () => ({
        name: 'broken',
        write() {
          throw new Error('sink down');
        },
      }),
    });
    const blocked = from('203.0.113.7');
    expect((await h.fetch('/login', { headers: blocked.headers })).status).toBe(403);
    const passed = from('203.0.113.10');
    expect((await h.fetch('/login', { headers: passed.headers })).status).toBe(200);
    expect(warn).toHaveBeenCalledWith('ipgate: decision event not recorded: Error: sink down');
    vi.restoreAllMocks();
  });

  it.each([
    ['block', 403],
    ['challenge', 403],
  ] as const)(
    '%ss at the deadline when KV hangs and the class says so for unknown',
    async (unknown, status) => {
      const siteKey = '1x00000000000000000000AA';
      await putPolicy({
        challenge: { siteKey },
        routeClasses: [
          {
            name: 'auth',
            paths: ['/login'],
            rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
            unknown,
          },
        ],
        lookup: { tableDeadlineMs: 50 },
      });
      try {
        const h = harness();
        const { id, headers } = from('203.0.113.10');
        const started = Date.now();
        const { response, background } = h.start(
          '/login',
          { headers },
          { REPUTATION: slow(1_000), TURNSTILE_SECRET: FAKE_TURNSTILE_SECRET },
        );
        const res = await response;
        expect(Date.now() - started).toBeLessThan(800);
        expect(res.status).toBe(status);
        const body = await res.text();
        expect(body.includes(siteKey)).toBe(unknown === 'challenge');
        await background();
        expect(await originSaw(id)).toHaveLength(0);
        expect(h.events).toMatchObject([{ action: unknown, reason: 'unknown', lookup: 'timeout' }]);
      } finally {
        await clearPolicy();
      }
    },
  );
});

describe('the policy store fails', () => {
  /** The policy in KV would pass everything; the built-in defaults block 203.0.113.7 on /login. */
  const PASS_ALL = { routeClasses: [] };

  it('serves the built-in defaults when the POLICY read throws', async () => {
    await putPolicy(PASS_ALL);
    try {
      const h = harness();
      const broken = kvWithGet(() => Promise.reject(new Error('KV is down')), testEnv.POLICY);
      const bad = from('203.0.113.7');
      await expectBlocked(
        await h.fetch('/login', { headers: bad.headers }, { POLICY: broken }),
        bad.id,
      );
      const good = from('203.0.113.10');
      await expectPassed(
        await h.fetch('/login', { headers: good.headers }, { POLICY: broken }),
        good.id,
      );
      expect(h.events.map((e) => [e.action, e.reason])).toEqual([
        ['block', 'reputation_rule'],
        ['allow', 'clean'],
      ]);
      expect(h.events[0]?.policyVersion).toMatch(/^default-/);
      const health = await (await h.fetch('/__ipgate/health', {}, { POLICY: broken })).text();
      expect(health).toMatch(/policy read failed: Error: KV is down/);
    } finally {
      await clearPolicy();
    }
  });

  it('serves the built-in defaults after the load deadline when the POLICY read hangs', async () => {
    await putPolicy(PASS_ALL);
    try {
      const h = harness();
      const hanging = kvWithGet(
        () => new Promise((resolve) => setTimeout(() => resolve(null), 2_000)),
        testEnv.POLICY,
      );
      const { id, headers } = from('203.0.113.7');
      const started = Date.now();
      const run = h.start('/login', { headers }, { POLICY: hanging });
      const res = await run.response;
      expect(Date.now() - started).toBeLessThan(POLICY_LOAD_DEADLINE_MS + 700);
      await expectBlocked(res, id);
      await run.background();
      expect(h.events[0]).toMatchObject({ action: 'block', reason: 'reputation_rule' });
      expect(h.events[0]?.policyVersion).toMatch(/^default-/);
    } finally {
      await clearPolicy();
    }
  });
});

describe('everything but the origin fails at once', () => {
  it('passes (fail-open), keeps answering, and records the failure where it still can', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const points: AnalyticsEngineDataPoint[] = [];
    let aeCalls = 0;
    const down = () => Promise.reject(new Error('KV is down'));
    const env = {
      REPUTATION: kvWithGet(down),
      POLICY: kvWithGet(down, testEnv.POLICY),
      CRIMINALIP_API_KEY: FAKE_CRIMINALIP_KEY,
      REPUTATION_BROKER: {
        idFromName() {
          throw new Error('binding unavailable');
        },
      } as never,
      DECISIONS_DB: {
        prepare: () => ({ bind: () => ({}) }),
        batch: () => Promise.reject(new Error('D1_ERROR: Network connection lost.')),
      } as unknown as D1Database,
      // Fails every other write: the events that got through show what was recorded.
      DECISIONS: {
        writeDataPoint(p?: AnalyticsEngineDataPoint) {
          aeCalls += 1;
          if (aeCalls % 2 === 0) throw new Error('Analytics Engine unavailable');
          if (p) points.push(p);
        },
      } as AnalyticsEngineDataset,
    };
    try {
      const h = harness({ sink: undefined });
      const sent: [string, string][] = [
        ['203.0.113.7', '/login'],
        ['203.0.113.7', '/'],
        ['203.0.113.201', '/login'],
        ['203.0.113.10', '/wp-login.php'],
      ];
      for (const [ip, path] of sent) {
        const { id, headers } = from(ip);
        const res = await h.fetch(path, { headers }, env);
        expect(res.status).toBe(200);
        expect(await originSaw(id)).toHaveLength(1);
      }
      expect(aeCalls).toBe(4);
      const reasons = points.map((p) => p.blobs?.[AE_BLOBS.indexOf('reason')]);
      expect(reasons).toEqual(['internal_error', 'internal_error']);
      expect(JSON.stringify(points)).not.toContain(FAKE_CRIMINALIP_KEY);
    } finally {
      vi.restoreAllMocks();
    }
  });
});
