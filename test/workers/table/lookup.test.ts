/**
 * TableChunk lookups on large chunks, where the bucket index has its full width: every answer
 * must match a plain binary search over the built intervals. Covers IPv6 chunks bucketed on
 * the upper half and on the lower half (a chunk inside one /32), and the IPv4 compact form
 * (see src/table/lookup.ts) at /16 boundaries and with each slot width.
 */
import { describe, expect, it } from 'vitest';
import type { ReputationRecord } from '../../../src/reputation/record';
import type { Interval, TableEntry } from '../../../src/table/build';
import { TableSet } from '../../../src/table/set';
import { entry, load, rec, tableLookup } from './support';

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

describe('the IPv4 compact form', () => {
  const record = (asn: number): ReputationRecord => ({ score: 'low', categories: [], asn });

  it('answers for /0, /8s and intervals crossing or meeting /16 boundaries', async () => {
    const entries = [
      entry('0.0.0.0/0', rec(3)),
      entry('0.0.0.0/32', rec(0)),
      entry('10.0.0.0/8', rec(2)),
      entry('10.0.255.255/32', rec(0)),
      entry('10.1.0.0/16', rec(4)),
      entry('10.1.0.0/32', rec(1)),
      entry('11.255.255.0/24', rec(5)),
      entry('12.0.0.0/15', rec(1)),
      entry('12.1.255.255/32', rec(0)),
      entry('12.2.0.0/16', rec(1)),
      entry('100.64.0.0/10', rec(5)),
      entry('100.100.100.100/32', rec(0)),
      entry('192.168.0.0/17', rec(2)),
      entry('192.168.128.0/17', rec(3)),
      entry('255.255.0.0/16', rec(1)),
      entry('255.255.255.255/32', rec(0)),
    ];
    for (const maxIntervals of [1_000, 3]) await check(entries, 4, maxIntervals, 7);
  });

  it('uses u16 slots past 255 records and u32 slots past 65,535', async () => {
    const next = rng(8);
    const wide = Array.from({ length: 300 }, (_, i) => ({
      ...prefix(4, BigInt(next()), 24, 0),
      record: record(i),
    }));
    await check([entry('64.0.0.0/2', rec(2)), ...wide], 4, 1_000, 9);

    // 66,000 single addresses two apart from 10.0.255.0 on, so they cross from 10.0 into 10.2.
    const widest = Array.from({ length: 66_000 }, (_, i) => ({
      ...prefix(4, BigInt(0x0a00_ff00 + 2 * i), 32, 0),
      record: record(i),
    }));
    await check([entry('10.0.0.0/14', rec(2)), ...widest], 4, 1_000_000, 10);
  });
});
