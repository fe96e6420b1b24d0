/** Flattening overlapping prefixes into intervals: specificity, merging, coalescing, limits. */
import { describe, expect, it } from 'vitest';
import { normalizeRecord, type ReputationRecord } from '../../../src/reputation/record';
import { buildTable as build, type Interval } from '../../../src/table/build';

/** The built table with each family as an array of intervals. */
function buildTable(...args: Parameters<typeof build>): { v4: Interval[]; v6: Interval[] } {
  const t = build(...args);
  return { v4: t.v4.toArray(), v6: t.v6.toArray() };
}

import { entry, net, rec } from './support';

const critical = rec(0);
const dangerous = rec(1);
const hosting = rec(2);
const safe = rec(3);

/** Intervals as `start-end:score` text, for readable expectations. */
function show(intervals: Interval[]): string[] {
  return intervals.map((i) => `${i.start}-${i.end}:${i.record.score}`);
}

const V4 = (text: string) => net(text).start;

describe('buildTable', () => {
  it('lets a /24 override the /16 around it, with the /16 on both sides', () => {
    const t = buildTable([entry('10.1.0.0/16', hosting), entry('10.1.5.0/24', critical)]);
    expect(show(t.v4)).toEqual([
      `${V4('10.1.0.0')}-${V4('10.1.4.255')}:low`,
      `${V4('10.1.5.0')}-${V4('10.1.5.255')}:critical`,
      `${V4('10.1.6.0')}-${V4('10.1.255.255')}:low`,
    ]);
    expect(t.v6).toEqual([]);
  });

  it('handles nesting several levels deep regardless of input order', () => {
    const entries = [
      entry('10.0.0.7/32', safe),
      entry('0.0.0.0/0', hosting),
      entry('10.0.0.0/8', dangerous),
      entry('10.0.0.0/24', critical),
    ];
    const t = buildTable(entries);
    expect(show(t.v4)).toEqual([
      `0-${V4('9.255.255.255')}:low`,
      `${V4('10.0.0.0')}-${V4('10.0.0.6')}:critical`,
      `${V4('10.0.0.7')}-${V4('10.0.0.7')}:safe`,
      `${V4('10.0.0.8')}-${V4('10.0.0.255')}:critical`,
      `${V4('10.0.1.0')}-${V4('10.255.255.255')}:dangerous`,
      `${V4('11.0.0.0')}-4294967295:low`,
    ]);
  });

  it('covers the first and last keys of both families', () => {
    const t = buildTable([
      entry('0.0.0.0/32', critical),
      entry('255.255.255.255/32', critical),
      entry('::/64', safe),
      entry('ffff:ffff:ffff:ffff::/64', safe),
    ]);
    expect(show(t.v4)).toEqual(['0-0:critical', '4294967295-4294967295:critical']);
    expect(show(t.v6)).toEqual(['0-0:safe', '18446744073709551615-18446744073709551615:safe']);
  });

  it('merges identical prefixes with mergeRecords by default, in input order', () => {
    const t = buildTable([entry('192.0.2.0/24', hosting), entry('192.0.2.0/24', dangerous)]);
    expect(t.v4).toHaveLength(1);
    expect(t.v4[0]?.record).toEqual({
      score: 'dangerous',
      categories: ['hosting', 'proxy', 'vpn'],
      country: 'DE',
      asn: 64501,
      org: 'Example Hosting',
      source: 'feed-b',
    });
  });

  it('uses a custom merge function for identical prefixes', () => {
    const lastWins = (_a: ReputationRecord, b: ReputationRecord) => b;
    const t = buildTable(
      [
        entry('192.0.2.0/24', critical),
        entry('192.0.2.0/24', safe),
        entry('192.0.2.0/24', hosting),
      ],
      lastWins,
    );
    expect(t.v4.map((i) => i.record)).toEqual([normalizeRecord(hosting)]);
  });

  it('keys IPv6 by /64: a /128 and its /64 are one range and merge', () => {
    const t = buildTable([entry('2001:db8::/64', hosting), entry('2001:db8::1/128', critical)]);
    expect(t.v6).toHaveLength(1);
    expect(t.v6[0]?.record.score).toBe('critical');
    expect(t.v6[0]?.record.categories).toEqual(['hosting', 'scanner']);
  });

  it('coalesces touching intervals with equal records, including a nested equal prefix', () => {
    const sameAgain = { ...hosting, categories: [...hosting.categories] };
    const t = buildTable([
      entry('198.51.100.0/25', hosting),
      entry('198.51.100.128/25', sameAgain),
      entry('203.0.113.0/24', critical),
      entry('203.0.113.64/26', { ...critical }),
    ]);
    expect(show(t.v4)).toEqual([
      `${V4('198.51.100.0')}-${V4('198.51.100.255')}:low`,
      `${V4('203.0.113.0')}-${V4('203.0.113.255')}:critical`,
    ]);
  });

  it('keeps touching intervals with different records apart', () => {
    const t = buildTable([entry('198.51.100.0/25', hosting), entry('198.51.100.128/25', safe)]);
    expect(t.v4).toHaveLength(2);
  });

  it('normalizes records and shares one object per distinct record', () => {
    const t = buildTable([
      entry('192.0.2.0/32', { score: 'low', categories: ['VPN', 'vpn'], country: 'fr' }),
      entry('192.0.2.9/32', { score: 'low', categories: ['vpn'], country: 'FR' }),
    ]);
    expect(t.v4[0]?.record).toEqual({ score: 'low', categories: ['vpn'], country: 'FR' });
    expect(t.v4[0]?.record).toBe(t.v4[1]?.record);
  });

  it('accepts any iterable of entries', () => {
    function* gen() {
      yield entry('192.0.2.0/24', critical);
      yield entry('2001:db8::/32', safe);
    }
    const t = buildTable(gen());
    expect(t.v4).toHaveLength(1);
    expect(t.v6).toHaveLength(1);
  });

  it('refuses hand-made ranges that are inverted, out of range or overlap without nesting', () => {
    const r = critical;
    expect(() =>
      buildTable([{ network: { family: 4, start: 5n, end: 4n, prefix: 32 }, record: r }]),
    ).toThrow(RangeError);
    expect(() =>
      buildTable([{ network: { family: 4, start: 0n, end: 1n << 32n, prefix: 0 }, record: r }]),
    ).toThrow(/invalid IPv4 key range/);
    expect(() =>
      buildTable([
        { network: { family: 4, start: 0n, end: 10n, prefix: 28 }, record: r },
        { network: { family: 4, start: 5n, end: 20n, prefix: 28 }, record: r },
      ]),
    ).toThrow(/overlap without nesting/);
  });

  it('flattens many random prefixes into sorted, disjoint intervals', () => {
    const entries = [];
    let x = 12345;
    for (let i = 0; i < 20_000; i++) {
      x = (Math.imul(x, 1103515245) + 12345) >>> 0;
      const len = 16 + (x % 17);
      const start = BigInt((x & (0xffff_ffff << (32 - len))) >>> 0);
      const end = start + (1n << BigInt(32 - len)) - 1n;
      entries.push({ network: { family: 4 as const, start, end, prefix: len }, record: rec(i) });
    }
    const t = buildTable(entries);
    expect(t.v4.length).toBeGreaterThan(1000);
    for (let i = 1; i < t.v4.length; i++)
      expect((t.v4[i - 1] as Interval).end < (t.v4[i] as Interval).start).toBe(true);
  });
});
