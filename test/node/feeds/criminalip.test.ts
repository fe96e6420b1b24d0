import { describe, expect, it } from 'vitest';
import { parseCriminalIpJson } from '../../../cli/feeds/criminalip';
import { parseCriminalIpResponse } from '../../../src/providers/criminalip/parse';
import { fixture, v4, v6 } from './helpers';

describe('parseCriminalIpResponse', () => {
  it('reads a GET /v1/asset/ip/report body', () => {
    const body = JSON.parse(fixture('criminalip/asset-ip-report.json'));
    expect(parseCriminalIpResponse(body)).toEqual({
      ok: true,
      ip: '203.0.113.7',
      record: {
        score: 'dangerous',
        categories: ['hosting', 'remote', 'scanner'],
        country: 'NL',
        asn: 64500,
        org: 'EXAMPLE-HOSTING-AS',
      },
    });
  });

  it('reads a GET /v2/feature/ip/suspicious-info body', () => {
    const [body] = JSON.parse(fixture('criminalip/suspicious-info.json'));
    expect(parseCriminalIpResponse(body)).toEqual({
      ok: true,
      ip: '198.51.100.23',
      record: {
        score: 'critical',
        categories: ['anonymous_vpn', 'remote', 'vpn'],
        country: 'DE',
        asn: 64501,
        org: 'EXAMPLE-VPN-AS',
      },
    });
  });

  it('maps each flag to its categories; a flag counts only when it is true', () => {
    const cats = (issues: Record<string, unknown>) => {
      const r = parseCriminalIpResponse({ ip: '192.0.2.1', score: { inbound: 1 }, issues });
      return r.ok ? r.record.categories : r.error;
    };
    expect(cats({ is_vpn: true })).toEqual(['vpn']);
    expect(cats({ is_anonymous_vpn: true })).toEqual(['anonymous_vpn', 'vpn']);
    expect(cats({ is_tor: true })).toEqual(['tor']);
    expect(cats({ is_proxy: true })).toEqual(['proxy']);
    expect(cats({ is_hosting: true })).toEqual(['hosting']);
    expect(cats({ is_cloud: true })).toEqual(['hosting']);
    expect(cats({ is_mobile: true })).toEqual(['mobile']);
    expect(cats({ is_scanner: true })).toEqual(['scanner']);
    expect(cats({ is_darkweb: true })).toEqual(['darkweb']);
    expect(cats({ is_snort: true })).toEqual(['snort']);
    expect(cats({ is_vpn: 'true', is_tor: 1, is_proxy: false })).toEqual([]);
    expect(cats({})).toEqual([]);
  });

  it('reads legacy bodies: flags under tags, numeric scores', () => {
    const r = parseCriminalIpResponse({
      ip: '192.0.2.1',
      score: { inbound: 4, outbound: 5 },
      tags: { is_vpn: true, is_cloud: true },
    });
    expect(r).toEqual({
      ok: true,
      ip: '192.0.2.1',
      record: { score: 'dangerous', categories: ['hosting', 'vpn'] },
    });
  });

  it('sees remote access in either port shape', () => {
    const remote = (body: Record<string, unknown>) => {
      const r = parseCriminalIpResponse({ ip: '192.0.2.1', ...body });
      return r.ok && r.record.categories.includes('remote');
    };
    expect(remote({ port: { data: [{ open_port_no: 22 }] } })).toBe(true);
    expect(remote({ port: { data: [{ open_port_no: 3389 }] } })).toBe(true);
    expect(remote({ current_opened_port: { data: [{ port: '22' }] } })).toBe(true);
    expect(remote({ current_opened_port: { data: [{ port: 2222 }, { port: 80 }] } })).toBe(false);
    expect(remote({ port: { data: [{ port: 3390 }] } })).toBe(false);
    expect(remote({})).toBe(false);
  });

  it('canonicalises the address and leaves a missing score unknown', () => {
    expect(parseCriminalIpResponse({ ip: '::ffff:192.0.2.5' })).toEqual({
      ok: true,
      ip: '192.0.2.5',
      record: { score: 'unknown', categories: [] },
    });
    expect(parseCriminalIpResponse({ ip: '2001:DB8:0::1', score: {} })).toMatchObject({
      ok: true,
      ip: '2001:db8::1',
    });
  });

  it('treats a body whose status is not 200 as an error carrying its message', () => {
    expect(parseCriminalIpResponse({ status: 401, message: 'invalid api key' })).toEqual({
      ok: false,
      error: 'invalid api key',
    });
    expect(parseCriminalIpResponse({ status: 500 })).toEqual({ ok: false, error: 'status 500' });
    expect(parseCriminalIpResponse({ status: '200', ip: '192.0.2.1' })).toMatchObject({ ok: true });
  });

  it('rejects what it cannot read and names the field', () => {
    expect(parseCriminalIpResponse('nope')).toEqual({
      ok: false,
      error: 'expected a JSON object, got "nope"',
    });
    expect(parseCriminalIpResponse({ score: { inbound: 'Low' } })).toEqual({
      ok: false,
      error: 'no IP address',
      path: 'ip',
    });
    expect(parseCriminalIpResponse({ ip: '192.0.2.0/24' })).toEqual({
      ok: false,
      error: 'not an IP address: "192.0.2.0/24"',
      path: 'ip',
    });
    expect(parseCriminalIpResponse({ ip: '192.0.2.1', score: { inbound: 0 } })).toMatchObject({
      ok: false,
      path: 'score.inbound',
    });
    expect(parseCriminalIpResponse({ ip: '192.0.2.1', score: 'High' })).toMatchObject({
      ok: false,
      path: 'score',
    });
  });

  it('drops whois values it cannot use instead of failing the record', () => {
    const r = parseCriminalIpResponse({
      ip: '192.0.2.1',
      whois: {
        data: [{ as_no: 'n/a', as_name: '', org_name: 'Example Org', org_country_code: 'N/A' }],
      },
    });
    expect(r).toEqual({
      ok: true,
      ip: '192.0.2.1',
      record: { score: 'unknown', categories: [], org: 'Example Org' },
    });
  });
});

describe('Criminal IP JSON feed', () => {
  it('reads a single saved report', () => {
    const r = parseCriminalIpJson(fixture('criminalip/asset-ip-report.json'), { source: 'cip' });
    expect(r).toEqual({
      entries: [
        {
          network: v4('203.0.113.7'),
          record: {
            score: 'dangerous',
            categories: ['hosting', 'remote', 'scanner'],
            country: 'NL',
            asn: 64500,
            org: 'EXAMPLE-HOSTING-AS',
            source: 'cip',
          },
        },
      ],
      problems: [],
    });
  });

  it('reads an array of responses, reporting each bad item by its path', () => {
    const r = parseCriminalIpJson(fixture('criminalip/suspicious-info.json'), {
      source: 'cip-suspicious',
      score: 'low',
      categories: ['criminalip'],
      country: 'JP',
      org: 'Fallback Org',
    });
    expect(r.entries).toEqual([
      {
        network: v4('198.51.100.23'),
        record: {
          score: 'critical',
          categories: ['anonymous_vpn', 'criminalip', 'remote', 'vpn'],
          country: 'DE',
          asn: 64501,
          org: 'EXAMPLE-VPN-AS',
          source: 'cip-suspicious',
        },
      },
      {
        network: v6(0x20010db8_00050000n, 128),
        record: {
          score: 'critical',
          categories: ['criminalip', 'proxy', 'tor'],
          country: 'US',
          asn: 64502,
          org: 'EXAMPLE-TOR-AS',
          source: 'cip-suspicious',
        },
      },
      {
        network: v4('203.0.113.99'),
        record: {
          score: 'low',
          categories: ['criminalip'],
          country: 'JP',
          org: 'Fallback Org',
          source: 'cip-suspicious',
        },
      },
    ]);
    expect(r.problems).toEqual([
      { path: '[1]', message: 'invalid api key' },
      { path: '[2].ip', message: 'not an IP address: "198.51.100.300"' },
      {
        path: '[3].score.inbound',
        message: '"Evil" is not Safe, Low, Moderate, Dangerous, Critical or 1–5',
      },
      { path: '[5]', message: 'expected a JSON object, got 42' },
    ]);
  });

  it('reads JSON Lines, reporting each bad line by its number', () => {
    const r = parseCriminalIpJson(fixture('criminalip/responses.jsonl'), { source: 'cip' });
    expect(r.entries).toEqual([
      {
        network: v4('192.0.2.10'),
        record: {
          score: 'low',
          categories: ['mobile'],
          country: 'FR',
          asn: 64503,
          org: 'EXAMPLE-MOBILE',
          source: 'cip',
        },
      },
      {
        network: v4('192.0.2.12'),
        record: { score: 'low', categories: ['darkweb', 'remote', 'snort'], source: 'cip' },
      },
    ]);
    expect(r.problems).toEqual([
      { line: 3, message: expect.stringMatching(/^not valid JSON: /) },
      { line: 4, message: 'limit exceeded' },
      { line: 5, path: 'ip', message: 'not an IP address: "192.0.2.0/24"' },
      { line: 7, message: 'expected a JSON object, got [1,2]' },
    ]);
  });

  it('reports a document it cannot read as one problem', () => {
    const truncated = fixture('criminalip/asset-ip-report.json').slice(0, 400);
    const r = parseCriminalIpJson(truncated, { source: 'cip' });
    expect(r.entries).toEqual([]);
    expect(r.problems).toEqual([{ message: expect.stringMatching(/^not JSON or JSON Lines: /) }]);

    expect(parseCriminalIpJson('"just a string"', { source: 'cip' }).problems).toEqual([
      {
        message: 'expected a response object, an array of them or JSON Lines, got "just a string"',
      },
    ]);
    expect(parseCriminalIpJson(' \n\n', { source: 'cip' }).problems).toEqual([
      { message: 'the feed is empty' },
    ]);
    expect(parseCriminalIpJson('[]', { source: 'cip' }).problems).toEqual([
      { message: 'the feed has no entries' },
    ]);
  });

  it('reports a bad mapping once and loads nothing', () => {
    const text = fixture('criminalip/asset-ip-report.json');
    expect(parseCriminalIpJson(text, { source: '' })).toEqual({
      entries: [],
      problems: [{ message: 'mapping: source must name the feed' }],
    });
    expect(
      parseCriminalIpJson(text, { source: 'cip', categories: ['Bad Name'], country: 'USA' }),
    ).toEqual({
      entries: [],
      problems: [
        { message: 'mapping: "Bad Name" is not a valid category name' },
        { message: 'mapping: country "USA" is not a 2-letter code' },
      ],
    });
  });
});
