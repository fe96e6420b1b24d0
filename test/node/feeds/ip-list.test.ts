import { describe, expect, it } from 'vitest';
import { parseIpList, parseSpamhausDropJson } from '../../../cli/feeds/ip-list';
import { fixture, v4, v6 } from './helpers';

const TOR = { source: 'tor-exits', categories: ['tor'] };

describe('IP list feed: text lists', () => {
  it('reads a FireHOL netset, skipping its # header', () => {
    const mapping = { source: 'firehol_level1', score: 'dangerous' as const };
    const r = parseIpList(fixture('lists/firehol_level1.netset'), mapping);
    const record = { score: 'dangerous', categories: [], source: 'firehol_level1' };
    expect(r.entries).toEqual([
      { network: v4('0.0.0.0', 8), record },
      { network: v4('192.0.2.0', 24), record },
      { network: v4('198.51.100.42'), record },
      { network: v4('198.51.100.128', 25), record },
      { network: v4('203.0.113.64', 26), record },
    ]);
    expect(r.problems).toEqual([
      { line: 34, message: 'host bits set in 203.0.113.65/26 (did you mean a network address?)' },
      { line: 35, message: 'prefix length out of range: /33' },
      { line: 36, message: 'not an IP address: "not-an-ip"' },
      { line: 37, message: 'not an IP address: "203.0.113.1-203.0.113.9"' },
    ]);
  });

  it('reads Spamhaus DROP text: ; comments, SBL references after the CIDR, CRLF lines', () => {
    const mapping = { source: 'spamhaus-drop', score: 'critical' as const };
    const r = parseIpList(fixture('lists/drop.txt'), mapping);
    const record = { score: 'critical', categories: [], source: 'spamhaus-drop' };
    expect(r.entries).toEqual([
      { network: v4('192.0.2.0', 24), record },
      { network: v4('198.51.100.0', 22), record },
      { network: v4('203.0.113.0', 25), record },
      { network: v6(0x20010db8_00400000n, 42), record },
    ]);
    expect(r.problems).toEqual([
      { line: 8, message: 'host bits set in 203.0.113.135/25 (did you mean a network address?)' },
    ]);
  });

  it('reads the Tor bulk exit list', () => {
    const r = parseIpList(fixture('lists/torbulkexitlist'), TOR);
    const record = { score: 'unknown', categories: ['tor'], source: 'tor-exits' };
    expect(r.entries).toEqual([
      { network: v4('192.0.2.1'), record },
      { network: v4('192.0.2.2'), record },
      { network: v4('198.51.100.77'), record },
      { network: v4('203.0.113.250'), record },
    ]);
    expect(r.problems).toEqual([{ line: 4, message: 'not an IP address: "192.0.2.256"' }]);
  });

  it('reads an X4BNet lists_vpn ipv4.txt with the mapping’s categories and org', () => {
    const mapping = { source: 'x4b-vpn', categories: ['vpn', 'hosting'], org: 'X4B' };
    const r = parseIpList(fixture('lists/x4bnet-vpn-ipv4.txt'), mapping);
    const record = {
      score: 'unknown',
      categories: ['hosting', 'vpn'],
      org: 'X4B',
      source: 'x4b-vpn',
    };
    expect(r.entries).toEqual([
      { network: v4('192.0.2.0', 25), record },
      { network: v4('198.51.100.0', 24), record },
      { network: v4('203.0.113.0', 28), record },
    ]);
    expect(r.problems).toEqual([
      { line: 4, message: 'host bits set in 203.0.113.16/27 (did you mean a network address?)' },
    ]);
  });

  it('shares one record among all entries of a list', () => {
    const r = parseIpList(fixture('lists/torbulkexitlist'), TOR);
    expect(new Set(r.entries.map((e) => e.record)).size).toBe(1);
  });

  it('takes one address per line, comments anywhere, and reports a text with none', () => {
    const r = parseIpList('192.0.2.1 # exit\n192.0.2.2 192.0.2.3\n  \n; only a comment\n', TOR);
    expect(r.entries.map((e) => e.network)).toEqual([v4('192.0.2.1')]);
    expect(r.problems).toEqual([
      { line: 2, message: 'expected one address or CIDR, found "192.0.2.2 192.0.2.3"' },
    ]);
    expect(parseIpList('# nothing here\n', TOR).problems).toEqual([
      { message: 'the list has no addresses' },
    ]);
  });

  it('refuses a list mapping that gives neither score nor categories', () => {
    expect(parseIpList('192.0.2.1\n', { source: 'tor-exits', categories: [] })).toEqual({
      entries: [],
      problems: [
        {
          message:
            'mapping: a list feed needs a score or categories (its lines carry no facts of their own)',
        },
      ],
    });
    expect(
      parseIpList('192.0.2.1\n', { source: 'x', score: 'evil' as unknown as 'low' }).problems,
    ).toEqual([
      { message: 'mapping: score "evil" is not unknown, safe, low, moderate, dangerous, critical' },
    ]);
  });
});

describe('IP list feed: Spamhaus DROP JSON Lines', () => {
  const mapping = { source: 'spamhaus-drop', score: 'critical' as const, categories: ['drop'] };
  const record = {
    score: 'critical',
    categories: ['drop'],
    source: 'spamhaus-drop',
    observedAt: '2026-09-22T10:14:02Z',
  };

  it('reads drop_v4.json, stamps the metadata time and reports each bad line', () => {
    const r = parseSpamhausDropJson(fixture('lists/drop_v4.jsonl'), mapping);
    expect(r.entries).toEqual([
      { network: v4('192.0.2.0', 24), record },
      { network: v4('198.51.100.0', 24), record },
    ]);
    expect(r.problems).toEqual([
      { line: 3, message: 'host bits set in 203.0.113.8/24 (did you mean a network address?)' },
      { line: 4, message: 'no "cidr" string in {"sblid":"SBL000002","rir":"arin"}' },
      { line: 5, message: expect.stringMatching(/^not valid JSON: /) },
    ]);
  });

  it('reads drop_v6.json with its escaped slashes', () => {
    const r = parseSpamhausDropJson(fixture('lists/drop_v6.jsonl'), mapping);
    expect(r).toEqual({
      entries: [
        { network: v6(0x20010db8_10000000n, 36), record },
        { network: v6(0x20010db8_20000000n, 35), record },
      ],
      problems: [],
    });
  });

  it('is what parseIpList picks when the first significant line is a JSON object', () => {
    const text = `; fetched 2026-09-22\n\n${fixture('lists/drop_v6.jsonl')}`;
    expect(parseIpList(text, mapping)).toEqual(parseSpamhausDropJson(text, mapping));
    expect(parseIpList(text, mapping).entries).toHaveLength(2);
  });

  it('reports a truncated download', () => {
    const lines = fixture('lists/drop_v6.jsonl').split('\n');
    const noMetadata = parseSpamhausDropJson(lines.slice(0, 2).join('\n'), mapping);
    expect(noMetadata.entries.map((e) => e.record.observedAt)).toEqual([undefined, undefined]);
    expect(noMetadata.problems).toEqual([
      { message: 'no metadata line at the end: the download may be truncated' },
    ]);

    const short = parseSpamhausDropJson([lines[0], lines[2]].join('\n'), mapping);
    expect(short.entries).toHaveLength(1);
    expect(short.problems).toEqual([
      { line: 2, message: 'metadata announces 2 records, the file has 1' },
    ]);
  });
});
