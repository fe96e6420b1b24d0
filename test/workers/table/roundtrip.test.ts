/**
 * Property: for random sets of overlapping prefixes, the whole pipeline (build, encode into
 * small chunks, manifest, decode, TableSet) answers every key as a naive longest-prefix scan
 * over the raw prefixes does: at random keys, at every prefix's first and last key and at
 * their neighbours, which is where flattening, chunk boundaries and the /16 blocks of the
 * IPv4 compact form go wrong. Prefix lengths include /0, /1 and /8, which span many /16s.
 */
import fc from 'fast-check';
import ipaddr from 'ipaddr.js';
import { describe, expect, it } from 'vitest';
import { formatIpv4 } from '../../../src/ip/parse';
import type { TableEntry } from '../../../src/table/build';
import { V4_MAX_KEY, V6_MAX_KEY } from '../../../src/table/keys';
import { findChunk } from '../../../src/table/manifest';
import { CHUNK_NOT_LOADED } from '../../../src/table/set';
import { entry, load, naiveLookup, RECORDS, rec, tableLookup } from './support';

const MAX128 = (1n << 128n) - 1n;

// Bases at and around /16 boundaries make prefixes that end right before one, start right at
// one or cross several, where the IPv4 compact form (src/table/lookup.ts) splits its blocks.
const v4Base = fc.oneof(
  fc.constantFrom(0, 0xffff_ffff, 0x8000_0000, 0xc0a8_0000, 0x0a00_ffff, 0x0a01_0000),
  fc.integer({ min: 0, max: 0xffff }).map((hi) => hi * 0x1_0000),
  fc.integer({ min: 0, max: 0xffff }).map((hi) => hi * 0x1_0000 + 0xffff),
  fc.integer({ min: 0, max: 0xffff_ffff }),
);
const v6Base = fc.oneof(
  fc.constantFrom(0n, MAX128, 0x2001_0db8n << 96n, (0x2001_0db8_0000_0001n << 64n) | 1n),
  fc.bigInt({ min: 0n, max: MAX128 }),
);
const v4Len = fc.oneof(fc.constantFrom(0, 1, 8, 16, 24, 31, 32), fc.integer({ min: 0, max: 32 }));
const v6Len = fc.oneof(
  fc.constantFrom(0, 1, 32, 48, 63, 64, 65, 96, 127, 128),
  fc.integer({ min: 0, max: 128 }),
);

function v4Text(base: number, len: number): string {
  const mask = len === 0 ? 0 : (0xffff_ffff << (32 - len)) >>> 0;
  return `${formatIpv4((base & mask) >>> 0)}/${len}`;
}

function v6Text(base: bigint, len: number): string {
  const masked = base & ~((1n << BigInt(128 - len)) - 1n) & MAX128;
  const bytes: number[] = [];
  for (let i = 15; i >= 0; i--) bytes.push(Number((masked >> BigInt(8 * i)) & 0xffn));
  return `${ipaddr.fromByteArray(bytes).toString()}/${len}`;
}

/**
 * Prefixes are cut from a few shared base addresses, so they nest (different lengths), repeat
 * (same length) and also stand alone.
 */
const scenario = fc
  .record({
    v4Bases: fc.array(v4Base, { minLength: 1, maxLength: 4 }),
    v6Bases: fc.array(v6Base, { minLength: 1, maxLength: 4 }),
  })
  .chain(({ v4Bases, v6Bases }) => {
    const recordIndex = fc.integer({ min: 0, max: RECORDS.length - 1 });
    const v4 = fc
      .record({ base: fc.constantFrom(...v4Bases), len: v4Len, r: recordIndex })
      .map(({ base, len, r }) => entry(v4Text(base, len), rec(r)));
    const v6 = fc
      .record({ base: fc.constantFrom(...v6Bases), len: v6Len, r: recordIndex })
      .map(({ base, len, r }) => entry(v6Text(base, len), rec(r)));
    return fc.record({
      entries: fc.array(fc.oneof(v4, v6), { maxLength: 40 }),
      maxIntervals: fc.integer({ min: 3, max: 7 }),
      v4Probes: fc.array(fc.bigInt({ min: 0n, max: V4_MAX_KEY }), { maxLength: 20 }),
      v6Probes: fc.array(fc.bigInt({ min: 0n, max: V6_MAX_KEY }), { maxLength: 20 }),
    });
  });

function probesFor(entries: TableEntry[], family: 4 | 6, random: bigint[]): bigint[] {
  const max = family === 4 ? V4_MAX_KEY : V6_MAX_KEY;
  const keys = new Set<bigint>([0n, max, ...random]);
  for (const e of entries) {
    const n = e.network;
    if (n.family !== family) continue;
    for (const k of [n.start - 1n, n.start, n.end, n.end + 1n])
      if (k >= 0n && k <= max) keys.add(k);
  }
  return [...keys];
}

describe('table round trip against a naive longest-prefix scan', () => {
  it('answers every probe key as the naive scan does', async () => {
    await fc.assert(
      fc.asyncProperty(scenario, async ({ entries, maxIntervals, v4Probes, v6Probes }) => {
        const { built, chunks, manifest, set } = await load(entries, { maxIntervals });

        for (const family of [4, 6] as const) {
          const intervals = family === 4 ? built.v4 : built.v6;
          for (let i = 1; i < intervals.length; i++) {
            const prev = intervals[i - 1];
            const cur = intervals[i];
            if (!prev || !cur) continue;
            expect(prev.end).toBeLessThan(cur.start);
            // Coalesced: touching neighbours never share a record.
            if (prev.end + 1n === cur.start) expect(prev.record).not.toBe(cur.record);
          }
          for (const c of chunks.filter((x) => x.family === family))
            expect(c.count).toBeLessThanOrEqual(maxIntervals);

          for (const key of probesFor(entries, family, family === 4 ? v4Probes : v6Probes)) {
            const expected = naiveLookup(entries, family, key);
            const actual = tableLookup(set, family, key);
            expect(actual, `IPv${family} key ${key}`).not.toBe(CHUNK_NOT_LOADED);
            expect(actual, `IPv${family} key ${key}`).toEqual(expected);

            const hi = family === 4 ? Number(key) : Number(key >> 32n);
            const lo = Number(key & 0xffff_ffffn);
            const found =
              family === 4 ? findChunk(manifest, 4, hi) : findChunk(manifest, 6, hi, lo);
            const from = BigInt(family === 4 ? (found?.from ?? '-1') : `0x${found?.from}`);
            const to = BigInt(family === 4 ? (found?.to ?? '-1') : `0x${found?.to}`);
            expect(key >= from && key <= to, `chunk ${found?.key} holds ${key}`).toBe(true);
          }
        }
      }),
      { numRuns: 250 },
    );
  });
});
