/**
 * TableChunk lookups on large chunks, where the bucket index has its full width: every answer
 * must match a plain binary search over the built intervals. Covers IPv6 chunks bucketed on
 * the upper half and on the lower half (a chunk inside one /32).
 */
import { describe, expect, it } from 'vitest';
import type { Interval, TableEntry } from '../../../src/table/build';
import { TableSet } from '../../../src/table/set';
import { load, rec, tableLookup } from './support';

/** Deterministic 32-bit generator, so a failure reproduces. */
function rng(seed: number): () => number {
  let s = seed | 0;
  return () => {
    s = (s + 0x6d2b79f5) | 0;
    let t = Math.imul(s ^ (s >>> 15), 1 | s);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return (t ^ (t >>> 14)) >>> 0;
  };
}

function reference(intervals: Interval[], key: bigint): unknown {
  let lo = 0;
  let hi = intervals.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((intervals[mid] as Interval).end < key) lo = mid + 1;
    else hi = mid;
  }
  const hit = intervals[lo];
  return hit && hit.start <= key ? hit.record : null;
}

function prefix(family: 4 | 6, raw: bigint, len: number, r: number): TableEntry {
  const bits = family === 4 ? 32n : 64n;
  const host = (1n << (bits - BigInt(len))) - 1n;
  const start = raw & ~host;
  return { network: { family, start, end: start | host, prefix: len }, record: rec(r) };
}

/** Both ends of the family, the edges of every interval, and random keys. */
function probes(intervals: Interval[], max: bigint, random: () => bigint): bigint[] {
  const keys: bigint[] = [0n, max];
  for (let i = 0; i < intervals.length; i++) {
    const iv = intervals[i] as Interval;
    for (const k of [iv.start - 1n, iv.start, iv.end, iv.end + 1n])
      if (k >= 0n && k <= max) keys.push(k);
  }
  for (let i = 0; i < 20_000; i++) keys.push(random());
  return keys;
}

async function check(entries: TableEntry[], family: 4 | 6, maxIntervals: number, seed: number) {
  const next = rng(seed);
  const { built, set, manifest } = await load(entries, { maxIntervals });
  const intervals = family === 4 ? built.v4 : built.v6;
  const max = family === 4 ? 0xffff_ffffn : 0xffff_ffff_ffff_ffffn;
  const random =
    family === 4
      ? () => BigInt(next())
      : () => {
          // Mostly near listed keys, so the draws land inside chunks' dense parts.
          const base = (intervals[next() % intervals.length] as Interval).start;
          const k = base + BigInt(next() % 1024) - 512n;
          return k < 0n ? 0n : k > max ? max : k;
        };
  const keys = probes(intervals, max, random);
  const same = (key: bigint) =>
    JSON.stringify(tableLookup(set, family, key)) === JSON.stringify(reference(intervals, key));
  const wrong = keys.filter((key) => !same(key));
  expect(wrong.slice(0, 5)).toEqual([]);
  const hits = keys.filter((key) => reference(intervals, key) !== null).length;
  expect(hits).toBeGreaterThan(keys.length / 10);
  return { set, manifest, intervals };
}

describe('TableChunk lookups on large chunks', () => {
  it('IPv4: 60k random prefixes in a few chunks', async () => {
    const next = rng(1);
    const lengths = [8, 16, 20, 24, 24, 24, 28, 32, 32, 32];
    const entries = Array.from({ length: 60_000 }, (_, i) =>
      prefix(4, BigInt(next()), lengths[next() % lengths.length] as number, i),
    );
    const { intervals } = await check(entries, 4, 30_000, 2);
    expect(intervals.length).toBeGreaterThan(60_000);
  });

  it('IPv6: random prefixes across the space (buckets on the upper half)', async () => {
    const next = rng(3);
    const lengths = [20, 32, 40, 48, 56, 64, 64];
    const entries = Array.from({ length: 30_000 }, (_, i) =>
      prefix(
        6,
        (BigInt(next()) << 32n) | BigInt(next()),
        lengths[next() % lengths.length] as number,
        i,
      ),
    );
    await check(entries, 6, 10_000, 4);
  });

  it('IPv6: chunks inside one /32 (buckets on the lower half)', async () => {
    const next = rng(5);
    const entries = Array.from({ length: 20_000 }, (_, i) =>
      prefix(6, (0x2001_0db8n << 32n) | BigInt(next()), [48, 56, 64][i % 3] as number, i),
    );
    const { manifest } = await check(entries, 6, 4_000, 6);
    const inner = manifest.chunks.filter((c) => c.family === 6 && c.from.startsWith('20010db8'));
    expect(inner.filter((c) => c.to.startsWith('20010db8')).length).toBeGreaterThan(1);
    expect(TableSet.create(manifest).ok).toBe(true);
  });
});
