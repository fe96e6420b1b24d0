/** The merge rules between feeds and the table, as the README documents them. */
import { describe, expect, it } from 'vitest';
import { allowNetworks, buildEntries, problemLines } from '../../../cli/build';
import { parseIp } from '../../../src/ip/parse';
import { buildTable } from '../../../src/table/build';

const csv = (rows: string[]) => ['network,score,categories,country,asn,org', ...rows].join('\n');
const feed = (name: string, rows: string[]) => ({
  name,
  format: 'ipgate-csv',
  text: csv(rows),
  mapping: { source: name },
});

/** The record the built table holds for an address (the most specific interval). */
function recordAt(entries: ReturnType<typeof buildEntries>['entries'], ip: string) {
  const built = buildTable(entries);
  const p = parseIp(ip);
  if (!p) throw new Error(ip);
  const key = p.family === 4 ? BigInt(p.v4) : (BigInt(p.hi) << 32n) | BigInt(p.lo);
  return (
    (p.family === 4 ? built.v4 : built.v6).toArray().find((i) => i.start <= key && key <= i.end)
      ?.record ?? null
  );
}

describe('building entries from feeds', () => {
  it('reports and skips reserved, private and bogon networks', () => {
    const r = buildEntries([
      feed('a', [
        '10.0.0.1,critical,,,,',
        '192.168.0.0/16,critical,,,,',
        '0.0.0.0/0,critical,,,,',
        'fe80::/64,critical,,,,',
        '8.8.8.0/24,critical,,,,',
      ]),
    ]);
    expect(r.entries).toHaveLength(1);
    expect(r.feeds[0]?.bogons.map((b) => b.network)).toEqual([
      '10.0.0.1/32',
      '192.168.0.0/16',
      '0.0.0.0/0',
      'fe80::/64',
    ]);
    expect(problemLines(r)).toContain(
      'feed a: skipped 192.168.0.0/16: overlaps reserved range 192.168.0.0/16',
    );
  });

  it('merges the same prefix across feeds: highest score, categories unioned', () => {
    const r = buildEntries([
      feed('a', ['8.8.8.0/24,low,vpn,US,15169,A']),
      feed('b', ['8.8.8.0/24,critical,hosting,,,']),
    ]);
    expect(recordAt(r.entries, '8.8.8.8')).toMatchObject({
      score: 'critical',
      categories: ['hosting', 'vpn'],
      country: 'US',
    });
    expect(r.byScore).toMatchObject({ low: 1, critical: 1 });
    expect(r.byCategory).toEqual({ vpn: 1, hosting: 1 });
  });

  it('lets the most specific prefix win', () => {
    const r = buildEntries([
      feed('a', ['8.8.0.0/16,critical,,,,']),
      feed('b', ['8.8.8.0/24,safe,,,,']),
    ]);
    expect(recordAt(r.entries, '8.8.8.8')?.score).toBe('safe');
    expect(recordAt(r.entries, '8.8.9.1')?.score).toBe('critical');
  });

  it('never writes an allow-listed network as dirty', () => {
    const allow = allowNetworks(['8.8.8.0/24', '2001:db8:1::/48']);
    const r = buildEntries(
      [
        feed('a', [
          '8.8.0.0/16,critical,vpn,,,',
          '8.8.8.8,critical,,,,',
          '2001:db8::/32,critical,,,,',
        ]),
      ],
      allow,
    );
    expect(r.feeds[0]).toMatchObject({ entries: 2, allowListed: 1 });
    expect(r.allowOverrides).toBe(2);
    expect(recordAt(r.entries, '8.8.8.8')).toMatchObject({
      score: 'unknown',
      categories: [],
      source: 'policy-allow',
    });
    expect(recordAt(r.entries, '2001:db8:1:2::1')).toMatchObject({
      score: 'unknown',
      source: 'policy-allow',
    });
    expect(recordAt(r.entries, '8.8.9.9')?.score).toBe('critical');
  });

  it('reports an unknown format as a problem of that feed', () => {
    const r = buildEntries([{ name: 'x', format: 'nope', text: '', mapping: { source: 'x' } }]);
    expect(problemLines(r)).toEqual(['feed x: unknown format "nope"']);
  });
});
