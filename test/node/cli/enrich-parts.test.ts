/**
 * The parts of `ipgate enrich` on their own: reading input files (with bad lines numbered),
 * choosing candidates, the results CSV, the decision-log statement, and the lookup loop's
 * budget, retries and stops against a scripted provider.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { decisionLogSql, parseSince } from '../../../cli/enrich/decision-log';
import { parseInput, toClient } from '../../../cli/enrich/input';
import { csvCell, ResultsFile, readDone, resultRow } from '../../../cli/enrich/results-file';
import { runLookups } from '../../../cli/enrich/run';
import { type Candidate, dropKnown, selectCandidates } from '../../../cli/enrich/select';
import { parseIpgateCsv } from '../../../cli/feeds/ipgate-csv';
import { ENRICH_CONCURRENCY_ATTEMPTS, ENRICH_RETRY_ATTEMPTS } from '../../../src/constants';
import type {
  ProviderFailureKind,
  ProviderResult,
  ReputationProvider,
} from '../../../src/providers/index';

const FIXTURES = 'test/fixtures/cli/enrich';
const fixture = (name: string) => readFileSync(join(FIXTURES, name), 'utf8');

function parsed(text: string) {
  const r = parseInput(text);
  if ('error' in r) throw new Error(r.error);
  return r;
}

describe('input files', () => {
  it('reads a plain list, numbering bad lines and skipping networks', () => {
    const r = parsed(fixture('ips.txt'));
    expect(r.format).toBe('ip-list');
    expect(r.addresses.map((a) => [a.line, a.text])).toEqual([
      [2, '203.0.113.7'],
      [3, '203.0.113.8'],
      [4, '10.0.0.1'],
      [6, '2001:db8:bad::1'],
      [7, '2001:db8:bad::2'],
      [8, '203.0.113.9/32'],
      [11, '203.0.113.7'],
    ]);
    expect(r.problems).toEqual([
      { line: 9, message: 'not an IP address: "not-an-ip"' },
      { line: 12, message: 'expected one address per line, got "203.0.113.10 203.0.113.11"' },
    ]);
    expect(r.networks).toEqual([{ line: 10, text: '198.51.100.0/24' }]);
  });

  it('reads the network column of an ipgate CSV', () => {
    const r = parsed(fixture('attack.csv'));
    expect(r.format).toBe('ipgate-csv');
    expect(r.addresses.map((a) => a.text)).toEqual(['203.0.113.60', '2001:db8:cafe::/64']);
    expect(r.networks.map((n) => [n.line, n.text])).toEqual([[4, '198.51.100.0/24']]);
    expect(r.problems).toEqual([
      { line: 5, message: 'network: not an IP address: "bogus"' },
      { line: 6, message: 'network: empty' },
    ]);
  });

  it('reads JSON Lines of decision events by their ip field', () => {
    const r = parsed(fixture('decisions.jsonl'));
    expect(r.format).toBe('json-lines');
    expect(r.addresses.map((a) => [a.line, a.text])).toEqual([
      [1, '203.0.113.70'],
      [2, '2001:db8:feed::/64'],
      [5, '203.0.113.70'],
    ]);
    expect(r.problems.map((p) => p.line)).toEqual([3, 4, 6, 7]);
    expect(r.problems[0]?.message).toMatch(/ip: empty/);
    expect(r.problems[1]?.message).toMatch(/not JSON/);
    expect(r.problems[2]?.message).toBe('no "ip" field');
    expect(r.problems[3]?.message).toBe('ip: expected a string, got 42');
  });

  it('refuses a JSON array with a way out', () => {
    expect(parseInput('[{"ip":"203.0.113.7"}]')).toEqual({
      error: expect.stringMatching(/JSON Lines/),
    });
  });

  it('turns an address, a /32 or an IPv6 /64 into one client key', () => {
    const key = (t: string) => {
      const r = toClient(t);
      return r.ok ? r.client.key : r.error;
    };
    expect(key('203.0.113.7')).toBe('203.0.113.7');
    expect(key('203.0.113.7/32')).toBe('203.0.113.7');
    expect(key('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(key('2001:db8:bad::1')).toBe('2001:db8:bad::/64');
    expect(key('2001:db8:bad::/64')).toBe('2001:db8:bad::/64');
    expect(key('2001:db8:bad::/48')).toMatch(/is a network, not one client/);
    expect(key('203.0.113.0/24')).toMatch(/is a network/);
  });
});

describe('choosing candidates', () => {
  const src = (texts: string[]) => texts.map((text, i) => ({ text, origin: `line ${i + 1}` }));

  it('keeps one per client in order, never a non-public address, nor one already done', () => {
    const s = selectCandidates(
      src([
        '203.0.113.7',
        '2001:db8:bad::1',
        '10.0.0.1',
        '2001:db8:bad::2',
        '203.0.113.7',
        '198.51.100.4',
        'fe80::1',
        '127.0.0.1',
      ]),
      new Set(['198.51.100.4']),
    );
    expect(s.candidates.map((c) => c.key)).toEqual(['203.0.113.7', '2001:db8:bad::/64']);
    expect(s.candidates[1]?.ip.text).toBe('2001:db8:bad::1');
    expect(s.duplicates).toBe(2);
    expect(s.done).toEqual(['198.51.100.4']);
    expect(s.nonPublic.map((n) => [n.key, n.origin])).toEqual([
      ['10.0.0.1', 'line 3'],
      ['fe80::/64', 'line 7'],
      ['127.0.0.1', 'line 8'],
    ]);
  });

  it('drops what the table knows', async () => {
    const s = selectCandidates(src(['203.0.113.1', '203.0.113.2', '203.0.113.3']), new Set());
    const r = await dropKnown(s.candidates, async (c) => c.key === '203.0.113.2');
    expect(r.unknown.map((c) => c.key)).toEqual(['203.0.113.1', '203.0.113.3']);
    expect(r.known).toEqual(['203.0.113.2']);
  });
});

describe('results file', () => {
  it('writes ipgate CSV rows the feed adapter reads back as written', () => {
    const rows = [
      resultRow('203.0.113.7', {
        score: 'critical',
        categories: ['hosting', 'vpn'],
        country: 'NL',
        asn: 64500,
        org: 'Evil, "Hosting"\nB.V.',
      }),
      resultRow('2001:db8:bad::/64', { score: 'unknown', categories: [] }),
    ];
    expect(rows).toEqual([
      '203.0.113.7,critical,hosting|vpn,NL,64500,"Evil, ""Hosting"" B.V."',
      '2001:db8:bad::/64,,,,,',
    ]);
    const back = parseIpgateCsv(
      ['network,score,categories,country,asn,org', ...rows].join('\n'),
      'x',
    );
    expect(back.problems).toEqual([]);
    expect(back.entries[0]?.record).toMatchObject({
      score: 'critical',
      categories: ['hosting', 'vpn'],
      org: 'Evil, "Hosting" B.V.',
      asn: 64500,
    });
    expect(csvCell('plain')).toBe('plain');
  });

  it('appends with a header once, and reads back the clients it holds', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ipgate-enrich-'));
    const path = join(dir, 'out.csv');
    expect(readDone(path).keys.size).toBe(0);
    new ResultsFile(path).append('203.0.113.7,critical,,,,');
    writeFileSync(path, `${readFileSync(path, 'utf8')}2001:db8:bad::/64,safe,,,,`); // no final newline
    const again = new ResultsFile(path);
    again.append('203.0.113.8,safe,,,,');
    again.append('garbage,safe,,,,');
    expect(readFileSync(path, 'utf8')).toBe(
      'network,score,categories,country,asn,org\n203.0.113.7,critical,,,,\n2001:db8:bad::/64,safe,,,,\n203.0.113.8,safe,,,,\ngarbage,safe,,,,\n',
    );
    const done = readDone(path);
    expect([...done.keys]).toEqual(['203.0.113.7', '2001:db8:bad::/64', '203.0.113.8']);
    expect(done.problems).toEqual([{ line: 5, message: 'not an IP address: "garbage"' }]);
  });
});

describe('decision log statement', () => {
  it('is built from the sink layout: auth paths, no record, time window, busiest first', () => {
    const sql = decisionLogSql('ipgate_decisions', parseSince('24h'), 500);
    expect(sql).toBe(
      [
        'SELECT blob7 AS ip, SUM(_sample_interval) AS requests',
        'FROM ipgate_decisions',
        "WHERE timestamp > NOW() - INTERVAL '24' HOUR",
        "  AND blob3 != 'site'",
        "  AND blob13 IN ('miss', 'timeout', 'unavailable', 'skipped')",
        "  AND blob7 != ''",
        'GROUP BY ip',
        'ORDER BY requests DESC',
        'LIMIT 500',
        'FORMAT JSON',
      ].join('\n'),
    );
    expect(() => decisionLogSql('x; DROP', parseSince('1d'), 1)).toThrow(/not an Analytics/);
  });

  it('reads --since as minutes, hours or days within the retention', () => {
    expect(parseSince('30m')).toEqual({ amount: 30, unit: 'MINUTE', seconds: 1800 });
    expect(parseSince('7d')).toMatchObject({ unit: 'DAY', seconds: 7 * 86_400 });
    expect(() => parseSince('1w')).toThrow(/not a duration/);
    expect(() => parseSince('0h')).toThrow(/not a duration/);
    expect(() => parseSince('91d')).toThrow(/90 days/);
  });
});

describe('the lookup loop', () => {
  const candidates = (n: number): Candidate[] =>
    selectCandidates(
      Array.from({ length: n }, (_, i) => ({ text: `203.0.113.${i + 1}`, origin: 'test' })),
      new Set(),
    ).candidates;

  /** A provider answering from a script of outcomes (then success), one call at a time. */
  function scripted(script: (ProviderFailureKind | 'ok')[]) {
    const calls: string[] = [];
    let inFlight = 0;
    let maxInFlight = 0;
    const provider: ReputationProvider = {
      name: 'criminalip',
      async lookup(ip): Promise<ProviderResult> {
        inFlight += 1;
        maxInFlight = Math.max(maxInFlight, inFlight);
        calls.push(ip.text);
        await new Promise((r) => setTimeout(r, 1));
        inFlight -= 1;
        const next = script.shift() ?? 'ok';
        return next === 'ok'
          ? { ok: true, record: { score: 'dangerous', categories: ['hosting'] } }
          : { ok: false, failure: { kind: next, message: `${next} happened` } };
      },
    };
    return { provider, calls, maxInFlight: () => maxInFlight };
  }

  const run = (
    provider: ReputationProvider,
    list: Candidate[],
    budget = 100,
    sleeps: number[] = [],
  ) => {
    const results: string[] = [];
    const retries: string[] = [];
    return runLookups(list, {
      provider,
      budget,
      backoffBaseMs: 10,
      sleep: async (ms) => void sleeps.push(ms),
      onResult: (c) => results.push(c.key),
      onRetry: (m) => retries.push(m),
    }).then((report) => ({ report, results, retries, sleeps }));
  };

  it('spends at most the budget, retries included, one call at a time', async () => {
    const p = scripted(['server']);
    const { report, results } = await run(p.provider, candidates(5), 3);
    expect(p.calls).toEqual(['203.0.113.1', '203.0.113.1', '203.0.113.2']);
    expect(results).toEqual(['203.0.113.1', '203.0.113.2']);
    expect(report).toMatchObject({
      calls: 3,
      lookedUp: 2,
      notReached: 3,
      stopped: { reason: 'budget' },
      byScore: { dangerous: 2 },
      byCategory: { hosting: 2 },
    });
    expect(p.maxInFlight()).toBe(1);
  });

  it('stops at once on quota, keeping what was answered', async () => {
    const p = scripted(['ok', 'ok', 'quota']);
    const { report, results } = await run(p.provider, candidates(5));
    expect(results).toEqual(['203.0.113.1', '203.0.113.2']);
    expect(p.calls).toHaveLength(3);
    expect(report.stopped).toEqual({ reason: 'quota', message: 'quota happened' });
    expect(report.notReached).toBe(3);
    expect(report.failed).toEqual([]);
  });

  it('stops at once on a refused key', async () => {
    const p = scripted(['ok', 'invalid_key']);
    const { report } = await run(p.provider, candidates(3));
    expect(p.calls).toHaveLength(2);
    expect(report.stopped?.reason).toBe('invalid_key');
  });

  it('backs off on concurrency refusals, gives transient failures a bounded retry, skips refused addresses', async () => {
    const p = scripted([
      'concurrency',
      'concurrency',
      'ok',
      ...Array<ProviderFailureKind>(ENRICH_RETRY_ATTEMPTS).fill('timeout'),
      'invalid_ip',
      ...Array<ProviderFailureKind>(ENRICH_CONCURRENCY_ATTEMPTS).fill('concurrency'),
      'bad_response',
      'ok',
    ]);
    const { report, results, retries, sleeps } = await run(p.provider, candidates(5));
    expect(results).toEqual(['203.0.113.1', '203.0.113.5']);
    expect(report.failed.map((f) => [f.key, f.kind])).toEqual([
      ['203.0.113.2', 'timeout'],
      ['203.0.113.3', 'invalid_ip'],
      ['203.0.113.4', 'concurrency'],
    ]);
    expect(report.failedByKind).toEqual({ timeout: 1, invalid_ip: 1, concurrency: 1 });
    expect(report.calls).toBe(3 + ENRICH_RETRY_ATTEMPTS + 1 + ENRICH_CONCURRENCY_ATTEMPTS + 2);
    expect(report.stopped).toBeNull();
    expect(retries[0]).toMatch(
      /203\.0\.113\.1: concurrency \(concurrency happened\); retrying in \d+ ms \(2\/5\)/,
    );
    // Exponential back-off from the base, with jitter: the second wait of a run is longer.
    expect(sleeps[0]).toBeGreaterThanOrEqual(5);
    expect(sleeps[1]).toBeGreaterThanOrEqual(10);
  });

  it('ends after the call in flight when interrupted', async () => {
    const controller = new AbortController();
    const p = scripted([]);
    const results: string[] = [];
    const report = await runLookups(candidates(4), {
      provider: p.provider,
      budget: 10,
      backoffBaseMs: 1,
      sleep: async () => {},
      signal: controller.signal,
      onResult: (c) => {
        results.push(c.key);
        if (results.length === 2) controller.abort();
      },
    });
    expect(results).toHaveLength(2);
    expect(report.stopped?.reason).toBe('interrupted');
    expect(report.notReached).toBe(2);
  });
});
