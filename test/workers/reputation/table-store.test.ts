/**
 * The table store against real local KV: cold load, warm lookups without KV reads, background
 * refresh to a new generation (reading only the chunks it does not share with the old one),
 * and no mixing of two generations' chunks during a flip.
 */
import { describe, expect, it } from 'vitest';
import { TABLE_MANIFEST_KEY } from '../../../src/constants';
import { type IpAddress, parseIp } from '../../../src/ip/parse';
import { TableStore } from '../../../src/reputation/table-store';
import { seedTable, testEnv } from '../helpers';

const ip = (text: string): IpAddress => {
  const p = parseIp(text);
  if (!p) throw new Error(text);
  return p;
};

/** The i-th address of the spread table: distinct, ascending, across the IPv4 space. */
const spreadAddress = (i: number) => `${1 + Math.floor(i / 3)}.${(i % 3) * 50}.7.1`;

/** Many single-address rows, so that with small chunks the table has several. */
function spreadCsv(
  score: string,
  count = 600,
  scoreOf: (i: number) => string = () => score,
): string {
  const rows = ['network,score,categories,country,asn,org'];
  for (let i = 0; i < count; i++) rows.push(`${spreadAddress(i)},${scoreOf(i)},,,,`);
  return rows.join('\n');
}

function countingKv(kv: KVNamespace) {
  const reads: string[] = [];
  const wrapped = new Proxy(kv, {
    get(target, prop) {
      if (prop === 'get')
        return (key: string, opts: unknown) => {
          reads.push(key);
          return (target.get as (k: string, o: unknown) => Promise<unknown>)(key, opts);
        };
      return Reflect.get(target, prop);
    },
  });
  return { kv: wrapped, reads };
}

const opts = { deadlineMs: 5_000, waitUntil: () => {} };

describe('TableStore', () => {
  it('loads the manifest and one chunk cold, then reads KV no more', async () => {
    await seedTable(spreadCsv('critical'), { source: 'gen-a', maxIntervals: 100 });
    const { kv, reads } = countingKv(testEnv.REPUTATION);
    const store = new TableStore();
    const first = await store.lookup(ip(spreadAddress(0)), kv, opts);
    expect(first).toMatchObject({ status: 'hit', record: { score: 'critical', source: 'gen-a' } });
    expect(reads[0]).toBe(TABLE_MANIFEST_KEY);
    expect(reads).toHaveLength(2);
    for (let i = 0; i < 50; i++) await store.lookup(ip(spreadAddress(0)), kv, opts);
    expect(store.peek(ip(spreadAddress(0)))).toMatchObject({ status: 'hit' });
    expect(reads).toHaveLength(2);
    expect(await store.lookup(ip('1.0.7.2'), kv, opts)).toEqual({ status: 'miss' });
  });

  it('merges concurrent cold lookups into one manifest read and one chunk read', async () => {
    await seedTable(spreadCsv('critical'), { source: 'gen-a', maxIntervals: 100 });
    const { kv, reads } = countingKv(testEnv.REPUTATION);
    const store = new TableStore();
    const results = await Promise.all(
      Array.from({ length: 20 }, () => store.lookup(ip(spreadAddress(1)), kv, opts)),
    );
    expect(results.every((r) => r.status === 'hit')).toBe(true);
    expect(reads).toHaveLength(2);
  });

  it('reports an empty table as misses', async () => {
    const empty = await seedTable('network,score,categories,country,asn,org\n');
    const store = new TableStore();
    expect(await store.lookup(ip('1.0.7.1'), testEnv.REPUTATION, opts)).toEqual({ status: 'miss' });
    expect(store.status()).toMatchObject({ generation: empty, entries: 0 });
  });

  it('swaps to a new generation whole, in the background, and never mixes chunks', async () => {
    const clock = { now: 0 };
    const genA = await seedTable(spreadCsv('critical'), {
      source: 'gen-a',
      generation: 'gen-a',
      maxIntervals: 100,
    });
    const store = new TableStore({ now: () => clock.now });
    const kv = testEnv.REPUTATION;
    // Warm one chunk of generation A only.
    expect(await store.lookup(ip(spreadAddress(0)), kv, opts)).toMatchObject({
      record: { source: 'gen-a' },
    });
    expect(store.status().loadedChunks).toBeLessThan(store.status().chunks);

    // Generation B is written (chunks first, manifest last) while A serves.
    const genB = await seedTable(spreadCsv('safe'), {
      source: 'gen-b',
      generation: 'gen-b',
      maxIntervals: 100,
    });
    expect(genB).not.toBe(genA);

    // Before the refresh interval: still A, and an A chunk loaded late is A's.
    const probes = [0, 150, 320, 599].map((i) => ip(spreadAddress(i)));
    for (const p of probes) {
      const r = await store.lookup(p, kv, opts);
      expect(r).toMatchObject({ status: 'hit', record: { source: 'gen-a', score: 'critical' } });
    }

    // Past the interval a request triggers the check; lookups during the load still see A only.
    clock.now += 31_000;
    const pending: Promise<unknown>[] = [];
    store.refreshIfDue(kv, (p) => pending.push(p));
    expect(pending).toHaveLength(1);
    const during = await Promise.all(probes.map((p) => store.lookup(p, kv, opts)));
    const generations = new Set(
      during.map((r) => (r.status === 'hit' ? r.record.source : r.status)),
    );
    expect(generations.size).toBe(1);
    await Promise.all(pending);

    // After the swap every chunk of B is in memory and every answer is B's.
    expect(store.status()).toMatchObject({ generation: 'gen-b', state: 'ready' });
    expect(store.status().loadedChunks).toBe(store.status().chunks);
    for (const p of probes) {
      expect(store.peek(p)).toMatchObject({
        status: 'hit',
        record: { source: 'gen-b', score: 'safe' },
      });
    }
  });

  it('refreshes to a generation that shares chunks by reading only the changed ones', async () => {
    const clock = { now: 0 };
    await seedTable(spreadCsv('critical'), {
      source: 'feed',
      generation: 'share-a',
      maxIntervals: 100,
    });
    const { kv, reads } = countingKv(testEnv.REPUTATION);
    const store = new TableStore({ now: () => clock.now });
    for (let i = 0; i < 600; i++) await store.lookup(ip(spreadAddress(i)), kv, opts);
    await store.lookup(ip('2001:db8::1'), kv, opts);
    const before = store.status();
    expect(before.chunks).toBeGreaterThan(4);
    expect(before.loadedChunks).toBe(before.chunks);

    await seedTable(
      spreadCsv('critical', 600, (i) => (i === 300 ? 'safe' : 'critical')),
      { source: 'feed', generation: 'share-b', maxIntervals: 100 },
    );
    reads.length = 0;
    clock.now += 31_000;
    const pending: Promise<unknown>[] = [];
    store.refreshIfDue(kv, (p) => pending.push(p));
    await Promise.all(pending);

    expect(store.status()).toMatchObject({ generation: 'share-b', state: 'ready' });
    expect(store.status().loadedChunks).toBe(store.status().chunks);
    expect(reads[0]).toBe(TABLE_MANIFEST_KEY);
    expect(reads.length - 1).toBeGreaterThanOrEqual(1);
    expect(reads.length - 1).toBeLessThanOrEqual(2);
    expect(store.peek(ip(spreadAddress(300)))).toMatchObject({ record: { score: 'safe' } });
    for (const i of [0, 299, 301, 599])
      expect(store.peek(ip(spreadAddress(i)))).toMatchObject({ record: { score: 'critical' } });
  });

  it('keeps the old generation when the new one cannot be loaded', async () => {
    const clock = { now: 0 };
    await seedTable(spreadCsv('critical'), {
      source: 'gen-a',
      generation: 'keep-a',
      maxIntervals: 100,
    });
    const store = new TableStore({ now: () => clock.now });
    const kv = testEnv.REPUTATION;
    await store.lookup(ip(spreadAddress(0)), kv, opts);
    await seedTable(spreadCsv('safe'), {
      source: 'gen-b',
      generation: 'broken-b',
      maxIntervals: 100,
    });
    const manifest = (await kv.get(TABLE_MANIFEST_KEY, 'json')) as { chunks: { key: string }[] };
    const lost = manifest.chunks[1];
    if (!lost) throw new Error('expected several chunks');
    await kv.delete(lost.key);
    clock.now += 31_000;
    const pending: Promise<unknown>[] = [];
    store.refreshIfDue(kv, (p) => pending.push(p));
    await Promise.all(pending);
    expect(store.status()).toMatchObject({ generation: 'keep-a', state: 'ready' });
    expect(store.status().lastError).toMatch(/broken-b.*missing/);
    expect(store.peek(ip(spreadAddress(0)))).toMatchObject({ record: { source: 'gen-a' } });
  });

  it('retries a generation it could not load by reading only what is missing, backing off', async () => {
    const clock = { now: 0 };
    await seedTable(spreadCsv('critical'), {
      source: 'gen-a',
      generation: 'retry-a',
      maxIntervals: 100,
    });
    const { kv, reads } = countingKv(testEnv.REPUTATION);
    const store = new TableStore({ now: () => clock.now, retryAfterMs: 5_000 });
    await store.lookup(ip(spreadAddress(0)), kv, opts);
    await seedTable(spreadCsv('safe'), {
      source: 'gen-b',
      generation: 'retry-b',
      maxIntervals: 100,
    });
    const manifest = (await kv.get(TABLE_MANIFEST_KEY, 'json')) as { chunks: { key: string }[] };
    expect(manifest.chunks.length).toBeGreaterThan(4);
    const lost = manifest.chunks[1];
    if (!lost) throw new Error('expected several chunks');
    const lostBytes = await testEnv.REPUTATION.get(lost.key, 'arrayBuffer');
    await testEnv.REPUTATION.delete(lost.key);

    const refresh = async () => {
      const pending: Promise<unknown>[] = [];
      store.refreshIfDue(kv, (p) => pending.push(p));
      await Promise.all(pending);
    };
    reads.length = 0;
    clock.now += 31_000;
    await refresh();
    expect(store.status()).toMatchObject({ generation: 'retry-a' });
    // Every chunk of the new generation was read once (none is shared with the old one).
    expect(reads.filter((k) => k !== TABLE_MANIFEST_KEY)).toHaveLength(manifest.chunks.length);

    // Still missing: the retry after 5 s reads the manifest and that one chunk, nothing else.
    reads.length = 0;
    clock.now += 5_000;
    await refresh();
    expect(reads).toEqual([TABLE_MANIFEST_KEY, lost.key]);
    expect(store.status().lastError).toMatch(/retry-b.*missing/);

    // Backing off: the next retry is due after 10 s, not 5.
    reads.length = 0;
    clock.now += 5_000;
    await refresh();
    expect(reads).toEqual([]);
    clock.now += 5_000;
    if (!lostBytes) throw new Error('chunk bytes');
    await testEnv.REPUTATION.put(lost.key, lostBytes);
    await refresh();
    expect(reads).toEqual([TABLE_MANIFEST_KEY, lost.key]);
    expect(store.status()).toMatchObject({
      generation: 'retry-b',
      state: 'ready',
      lastError: null,
    });
    expect(store.status().loadedChunks).toBe(store.status().chunks);
    for (const i of [0, 300, 599])
      expect(store.peek(ip(spreadAddress(i)))).toMatchObject({ record: { source: 'gen-b' } });
  });
});
