import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseIpgateCsv } from '../../../cli/feeds/ipgate-csv';

describe('ipgate CSV feed', () => {
  it('parses the sample table the README describes', () => {
    const r = parseIpgateCsv(readFileSync('sample/reputation.csv', 'utf8'), 'sample');
    expect(r.problems).toEqual([]);
    expect(r.entries).toHaveLength(7);
    const hosting = r.entries.find((e) => e.record.categories.includes('hosting'));
    expect(hosting?.record).toEqual({
      score: 'low',
      categories: ['hosting'],
      country: 'US',
      asn: 64500,
      org: 'Example Cloud, Inc.',
      source: 'sample',
    });
    expect(hosting?.network.prefix).toBe(24);
  });

  it('reports each bad line with its number and keeps the good ones', () => {
    const text = [
      'network,score,categories,country,asn,org', // 1
      '203.0.113.7,CRITICAL,,,,', // 2
      'not-an-ip,low,,,,', // 3
      '203.0.113.0/24x,low,,,,', // 4
      '', // 5
      '# a comment', // 6
      '198.51.100.1,evil,,,,', // 7
      '198.51.100.2,4,VPN|Tor,nl,AS64500,x', // 8
      '198.51.100.3,low,bad cat,,,', // 9
      '198.51.100.4,low,,USA,,', // 10
      '198.51.100.5,low,,,12x,', // 11
      '198.51.101.0/23,low,,,,', // 12 host bits
      '198.51.100.6,low,,,,,extra', // 13
      '"198.51.100.7,low', // 14 unterminated quote
    ].join('\n');
    const r = parseIpgateCsv(text, 'f');
    expect(r.entries.map((e) => e.record.score)).toEqual(['critical', 'dangerous']);
    expect(r.entries[1]?.record).toMatchObject({
      categories: ['tor', 'vpn'],
      country: 'NL',
      asn: 64500,
    });
    expect(r.problems.map((p) => p.line)).toEqual([3, 4, 7, 9, 10, 11, 12, 13, 14]);
    expect(r.problems.find((p) => p.line === 7)?.message).toMatch(/score/);
    expect(r.problems.find((p) => p.line === 12)?.message).toMatch(/host bits/);
  });
});

describe('ipgate CSV feed through a mapping', () => {
  it('takes the source from the mapping', () => {
    const r = parseIpgateCsv('network,score\n203.0.113.7,critical\n', { source: 'ops' });
    expect(r.entries.map((e) => e.record)).toEqual([
      { score: 'critical', categories: [], source: 'ops' },
    ]);
  });
});
