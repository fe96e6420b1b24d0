/** The REST client on its own: batching within the API's limits, retries, pagination. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { batches, remoteKv } from '../../../cli/kv/remote';
import type { KvPair } from '../../../cli/kv/store';
import { KV_BULK_MAX_PAIRS } from '../../../src/constants';
import { type FakeCloudflare, startFakeCloudflare } from '../../support/fake-cloudflare';

let fake: FakeCloudflare;
beforeAll(async () => {
  fake = await startFakeCloudflare({ token: 't', accountId: 'a', rateLimitEvery: 3 });
});
afterAll(() => fake.close());

const pairs = (n: number, size = 8): KvPair[] =>
  Array.from({ length: n }, (_, i) => ({
    key: `k:${String(i).padStart(6, '0')}`,
    value: new Uint8Array(size).fill(i % 256),
  }));

describe('remote KV client', () => {
  it('splits by pair count and by size, keeping order', () => {
    const byCount = batches(pairs(25_001));
    expect(byCount.map((b) => b.length)).toEqual([KV_BULK_MAX_PAIRS, KV_BULK_MAX_PAIRS, 5_001]);
    const big = batches(pairs(5, 30 * 1024 * 1024));
    expect(big.map((b) => b.length)).toEqual([2, 2, 1]);
    expect(big.flat().map((p) => p.key)).toEqual(pairs(5, 1).map((p) => p.key));
  });

  it('writes 25,000 pairs in bulk calls of at most 10,000, retrying 429s, and reads them back', async () => {
    const sleeps: number[] = [];
    const kv = remoteKv({
      accountId: 'a',
      apiToken: 't',
      namespaceId: 'ns1',
      binding: 'TEST',
      apiBase: fake.url,
      retry: { sleep: async (ms) => void sleeps.push(ms) },
    });
    const progress: number[] = [];
    await kv.put(pairs(25_000), (d) => progress.push(d));
    expect(progress).toEqual([10_000, 20_000, 25_000]);
    expect(Math.max(...fake.stats.bulkWrites)).toBeLessThanOrEqual(KV_BULK_MAX_PAIRS);
    expect(fake.stats.rateLimited).toBeGreaterThan(0);
    expect(sleeps.every((ms) => ms === 0)).toBe(true); // Retry-After: 0 honoured
    expect(fake.namespaces.get('ns1')?.size).toBe(25_000);
    const listed = await kv.list('k:');
    expect(listed).toHaveLength(25_000);
    expect(listed[24_999]).toBe('k:024999');
    expect(await kv.get('k:000300')).toEqual(new Uint8Array(8).fill(300 % 256));
    expect(await kv.get('absent')).toBeNull();
    await kv.delete(listed);
    expect(fake.namespaces.get('ns1')?.size).toBe(0);
    expect(fake.violations).toEqual([]);
  });

  it('gives up after the attempts with a clear message', async () => {
    const down = await startFakeCloudflare({ token: 't', accountId: 'a', rateLimitEvery: 1 });
    try {
      const kv = remoteKv({
        accountId: 'a',
        apiToken: 't',
        namespaceId: 'n',
        binding: 'TEST',
        apiBase: down.url,
        retry: { attempts: 3, sleep: async () => {} },
      });
      await expect(kv.get('x')).rejects.toThrow(/failed after 3 attempts: Too many requests/);
      expect(down.stats.requests).toBe(3);
    } finally {
      await down.close();
    }
  });
});
