/**
 * Injected failures: KV throwing or hanging, corrupt or missing chunks, a failing sink, a bug
 * in the lookup. Requests keep flowing as the policy says, and the reason is recorded.
 */
import { describe, expect, it } from 'vitest';
import { TABLE_MANIFEST_KEY } from '../../../src/constants';
import { TableStore } from '../../../src/reputation/table-store';
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

function kvWithGet(get: (...args: unknown[]) => Promise<unknown>): KVNamespace {
  return new Proxy(testEnv.REPUTATION, {
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

  it('never lets a failing sink affect the response', async () => {
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
  });
});
