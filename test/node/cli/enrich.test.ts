/**
 * `ipgate enrich` end to end: the real command against the local fake of the Criminal IP API
 * (and AbuseIPDB), the fake Cloudflare API for the decision log (Analytics Engine SQL) and
 * remote KV, and wrangler's local KV for the table `npm start` serves.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type FakeCloudflare,
  fakeDecisionPoint,
  startFakeCloudflare,
} from '../../support/fake-cloudflare';
import { type FakeCriminalIpServer, startFakeCriminalIp } from '../../support/fake-criminalip';
import {
  FAKE_ABUSEIPDB_KEY,
  FAKE_CRIMINALIP_KEY,
  fakeStats,
  scopeUrl,
  setFakeMode,
  setFakeRecords,
} from '../../support/fake-criminalip-protocol';
import { cli } from '../support';

const TOKEN = 'enrich-test-token-not-secret';
const ACCOUNT = 'acc-enrich';
const POLICY = 'test/fixtures/cli/policy.json';
const HEADER = 'network,score,categories,country,asn,org';
let cip: FakeCriminalIpServer;
let cf: FakeCloudflare;
const dir = mkdtempSync(join(tmpdir(), 'ipgate-enrich-'));

beforeAll(async () => {
  cip = await startFakeCriminalIp();
  cf = await startFakeCloudflare({ token: TOKEN, accountId: ACCOUNT, rateLimitEvery: 5 });
});

afterAll(async () => {
  await cip.close();
  await cf.close();
});

/** A fresh scope of the fake provider, and the environment that points the CLI at it. */
function provider(scope: string) {
  const base = scopeUrl(cip.url, scope);
  return {
    base,
    env: {
      CRIMINALIP_API_KEY: FAKE_CRIMINALIP_KEY,
      CRIMINALIP_API_URL: base,
      IPGATE_ENRICH_BACKOFF_MS: '1',
      CLOUDFLARE_API_TOKEN: '',
      CLOUDFLARE_ACCOUNT_ID: '',
    },
  };
}

const remoteEnv = {
  CLOUDFLARE_API_TOKEN: TOKEN,
  CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
  get CLOUDFLARE_API_BASE_URL() {
    return cf.url;
  },
};

function file(name: string, lines: string[]): string {
  const path = join(dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

const rows = (path: string) =>
  readFileSync(path, 'utf8')
    .split('\n')
    .filter((l) => l !== '' && l !== HEADER);

function feedsConfig(name: string): string {
  return file(name, [
    JSON.stringify({
      feeds: [
        { name: 'attack', format: 'ipgate-csv', path: resolve('test/fixtures/cli/attack.csv') },
      ],
    }),
  ]);
}

describe('ipgate enrich --file', () => {
  it('looks addresses up one at a time into an ipgate CSV, never sending a non-public one', async () => {
    const p = provider('enrich-basic');
    await setFakeRecords(p.base, {
      criminalip: {
        '203.0.113.7': {
          score: { inbound: 'Critical', outbound: 'Dangerous' },
          issues: { is_vpn: true, is_hosting: true },
          whois: {
            count: 1,
            data: [{ as_no: 64500, as_name: 'Evil Hosting, "B.V."', org_country_code: 'nl' }],
          },
        },
      },
    });
    const out = join(dir, 'basic.csv');
    const r = await cli(
      [
        'enrich',
        '--file',
        'test/fixtures/cli/enrich/ips.txt',
        '--out',
        out,
        '--no-sync',
        '--no-skip-known',
        '--json',
      ],
      p.env,
    );
    expect(r.code, r.stderr).toBe(0);
    const stats = await fakeStats(p.base);
    expect(stats.ips).toEqual(['203.0.113.7', '203.0.113.8', '2001:db8:bad::1', '203.0.113.9']);
    expect(stats.maxConcurrent).toBe(1);
    expect(readFileSync(out, 'utf8')).toBe(
      [
        HEADER,
        '203.0.113.7,critical,hosting|vpn,NL,64500,"Evil Hosting, ""B.V."""',
        '203.0.113.8,safe,,,,',
        '2001:db8:bad::/64,safe,,,,',
        '203.0.113.9,safe,,,,',
        '',
      ].join('\n'),
    );
    expect(r.stderr).toMatch(/ips\.txt line 9: not an IP address: "not-an-ip"/);
    expect(r.stderr).toMatch(/ips\.txt line 10: skipped 198\.51\.100\.0\/24: a network/);
    expect(r.stderr).toMatch(
      /ips\.txt line 4: skipped 10\.0\.0\.1: .*not a public unicast address.*never sent/,
    );
    // Not a terminal: plain progress lines, then the summary.
    expect(r.stderr).toMatch(/criminalip lookups: 4\/4 done/);
    expect(r.stderr).toMatch(/looked up: +4 of 4 \(4 API call\(s\); budget 100, 96 left\)/);
    expect(r.stderr).toMatch(/scores: +critical 1, safe 3/);
    expect(r.stderr).toMatch(
      /skipped: +0 known, 1 non-public, 0 already in .*, 2 duplicate\(s\), 0 over budget/,
    );
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      provider: 'criminalip',
      lookedUp: 4,
      calls: 4,
      budgetLeft: 96,
      scores: { critical: 1, safe: 3 },
      categories: { hosting: 1, vpn: 1 },
      skipped: { nonPublic: 1, duplicates: 2, done: 0, known: 0 },
      input: { file: { format: 'ip-list', addresses: 7, badLines: 2, networks: 1 } },
      stopped: null,
      sync: null,
    });
    expect(r.stdout + r.stderr).not.toContain(FAKE_CRIMINALIP_KEY);
  });

  it('keeps to the budget, and a second run resumes where the first stopped', async () => {
    const p = provider('enrich-budget');
    const input = file('budget.txt', [
      '203.0.113.21',
      '203.0.113.22',
      '203.0.113.23',
      '203.0.113.24',
      '203.0.113.25',
    ]);
    const out = join(dir, 'budget.csv');
    const args = [
      'enrich',
      '--file',
      input,
      '--out',
      out,
      '--no-sync',
      '--no-skip-known',
      '--json',
    ];
    const first = await cli([...args, '--budget', '2'], p.env);
    expect(first.code, first.stderr).toBe(0);
    expect((await fakeStats(p.base)).calls).toBe(2);
    expect(rows(out)).toHaveLength(2);
    expect(JSON.parse(first.stdout)).toMatchObject({
      calls: 2,
      budgetLeft: 0,
      notReached: 3,
      stopped: { reason: 'budget' },
      skipped: { overBudget: 3 },
    });
    expect(first.stderr).toMatch(
      /the budget of 2 call\(s\) is spent; 3 address\(es\) left for the next run/,
    );

    const second = await cli([...args, '--budget', '10'], p.env);
    expect(second.code, second.stderr).toBe(0);
    const stats = await fakeStats(p.base);
    expect(stats.ips).toEqual([
      '203.0.113.21',
      '203.0.113.22',
      '203.0.113.23',
      '203.0.113.24',
      '203.0.113.25',
    ]);
    expect(JSON.parse(second.stdout)).toMatchObject({
      calls: 3,
      skipped: { done: 2 },
      stopped: null,
    });
    expect(rows(out).map((l) => l.split(',')[0])).toEqual([
      '203.0.113.21',
      '203.0.113.22',
      '203.0.113.23',
      '203.0.113.24',
      '203.0.113.25',
    ]);
  });

  it('stops at once when the quota is used up, keeping what was done', async () => {
    const p = provider('enrich-quota');
    const input = file('quota.txt', [
      '203.0.113.31',
      '203.0.113.32',
      '203.0.113.33',
      '203.0.113.34',
    ]);
    const out = join(dir, 'quota.csv');
    const args = [
      'enrich',
      '--file',
      input,
      '--out',
      out,
      '--no-sync',
      '--no-skip-known',
      '--json',
    ];
    expect((await cli([...args, '--budget', '1'], p.env)).code).toBe(0);
    await setFakeMode(p.base, { mode: 'quota' });
    const r = await cli(args, p.env);
    expect(r.code, r.stderr).toBe(0);
    expect((await fakeStats(p.base)).calls).toBe(2); // one answered, then one refused: no more
    expect(rows(out)).toEqual(['203.0.113.31,safe,,,,']);
    expect(r.stderr).toMatch(/stopped: Criminal IP says the quota is used up \(limit exceeded\)/);
    expect(r.stderr).toMatch(/skips what is done \(3 left\)/);
    expect(JSON.parse(r.stdout)).toMatchObject({
      lookedUp: 0,
      calls: 1,
      notReached: 3,
      stopped: { reason: 'quota', message: 'limit exceeded' },
    });
  });

  it('stops with exit code 1 on a refused key, without ever printing the key', async () => {
    const p = provider('enrich-badkey');
    await setFakeMode(p.base, { mode: 'echo_key' }); // the error message repeats the key
    const out = join(dir, 'badkey.csv');
    const input = file('badkey.txt', ['203.0.113.41', '203.0.113.42']);
    const r = await cli(
      ['enrich', '--file', input, '--out', out, '--no-sync', '--no-skip-known', '--json'],
      p.env,
    );
    expect(r.code).toBe(1);
    expect((await fakeStats(p.base)).calls).toBe(1);
    expect(r.stderr).toMatch(
      /error: Criminal IP refused the API key \(invalid api key: \[redacted\]\)/,
    );
    expect(r.stderr).toMatch(/hint: check CRIMINALIP_API_KEY/);
    expect(r.stdout + r.stderr).not.toContain(FAKE_CRIMINALIP_KEY);

    const missing = await cli(['enrich', '--file', input, '--out', out], {
      ...p.env,
      CRIMINALIP_API_KEY: '',
    });
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/CRIMINALIP_API_KEY is not set/);
  });

  it('retries transient failures with backoff, then records what still fails and goes on', async () => {
    const p = provider('enrich-transient');
    await setFakeMode(p.base, { mode: 'html500', times: 4 });
    const out = join(dir, 'transient.csv');
    const input = file('transient.txt', ['203.0.113.51', '203.0.113.52']);
    const r = await cli(
      ['enrich', '--file', input, '--out', out, '--no-sync', '--no-skip-known', '--json'],
      p.env,
    );
    expect(r.code, r.stderr).toBe(0);
    // 3 attempts for .51 (all HTML 500), then .52: one more 500, then an answer.
    expect((await fakeStats(p.base)).ips).toEqual([
      '203.0.113.51',
      '203.0.113.51',
      '203.0.113.51',
      '203.0.113.52',
      '203.0.113.52',
    ]);
    expect(r.stderr).toMatch(
      /203\.0\.113\.51: server \(HTTP 500, text\/html.*\); retrying in \d+ ms \(2\/3\)/,
    );
    expect(r.stderr).toMatch(/203\.0\.113\.51: failed after 3 call\(s\): server/);
    expect(rows(out)).toEqual(['203.0.113.52,safe,,,,']);
    expect(JSON.parse(r.stdout)).toMatchObject({
      lookedUp: 1,
      failedByKind: { server: 1 },
      failed: [{ key: '203.0.113.51', kind: 'server' }],
    });
  });

  it('reads JSON Lines and asks AbuseIPDB when told to', async () => {
    const base = scopeUrl(cip.url, 'enrich-abuseipdb');
    await setFakeRecords(base, {
      abuseipdb: {
        '203.0.113.70': { abuseConfidenceScore: 90, countryCode: 'RU', isp: 'Bad ISP' },
      },
    });
    const out = join(dir, 'abuse.csv');
    const r = await cli(
      [
        'enrich',
        '--provider',
        'abuseipdb',
        '--file',
        'test/fixtures/cli/enrich/decisions.jsonl',
        '--out',
        out,
        '--no-sync',
        '--no-skip-known',
      ],
      { ABUSEIPDB_API_KEY: FAKE_ABUSEIPDB_KEY, ABUSEIPDB_API_URL: base, CRIMINALIP_API_KEY: '' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/decisions\.jsonl line 4: not JSON/);
    expect((await fakeStats(base)).byRoute).toEqual({ criminalip: 0, abuseipdb: 2 });
    expect(rows(out)).toEqual([
      '203.0.113.70,critical,,RU,,Bad ISP',
      '2001:db8:feed::/64,safe,,,,',
    ]);
    expect(r.stdout + r.stderr).not.toContain(FAKE_ABUSEIPDB_KEY);
  });

  it('lists what it would look up in a dry run, without a key, a call or a file', async () => {
    const p = provider('enrich-dry');
    const out = join(dir, 'dry.csv');
    const r = await cli(
      [
        'enrich',
        '--file',
        'test/fixtures/cli/enrich/ips.txt',
        '--out',
        out,
        '--no-skip-known',
        '--dry-run',
        '--budget',
        '3',
      ],
      { ...p.env, CRIMINALIP_API_KEY: '' },
    );
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('203.0.113.7\n203.0.113.8\n2001:db8:bad::/64\n');
    expect(r.stderr).toMatch(
      /dry run: 3 address\(es\) would be looked up with Criminal IP \(1 more over the budget of 3\)/,
    );
    expect((await fakeStats(p.base)).calls).toBe(0);
    expect(existsSync(out)).toBe(false);
  });

  it('says what is wrong with its flags', async () => {
    const none = await cli(['enrich']);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(
      /nothing to look up: give --file PATH, --from-log --remote, or both/,
    );
    const budget = await cli(['enrich', '--file', 'x', '--budget', 'lots']);
    expect(budget.code).toBe(2);
    expect(budget.stderr).toMatch(/--budget "lots" is not a positive whole number/);
    const prov = await cli(['enrich', '--file', 'x', '--provider', 'shodan']);
    expect(prov.code).toBe(2);
    expect(prov.stderr).toMatch(/use one of criminalip, abuseipdb/);
  });
});

describe('ipgate enrich --from-log', () => {
  it('refuses the local decision log, which does not exist yet', async () => {
    const r = await cli(['enrich', '--from-log']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/there is no local decision log yet/);
    expect(r.stderr).toMatch(/D1 store does not exist yet/);
    expect(r.stderr).toMatch(/--from-log --remote/);
  });

  it('reads the clients without a record on auth paths, busiest first, and syncs them into the remote table', async () => {
    const hour = 3_600_000;
    const now = Date.now();
    const ev = (ip: string, routeClass: string, lookup: string, ageMs = 60_000, sample = 1) =>
      fakeDecisionPoint({ ip, routeClass, lookup, action: 'allow' }, now - ageMs, sample);
    cf.analytics.events.push(
      ev('203.0.113.81', 'auth', 'timeout'),
      ev('203.0.113.81', 'auth', 'miss'),
      ev('203.0.113.80', 'auth', 'miss', 60_000, 10),
      ev('2001:db8:face::/64', 'auth', 'skipped'),
      ev('203.0.113.82', 'site', 'miss'),
      ev('203.0.113.83', 'auth', 'hit'),
      ev('203.0.113.84', 'auth', 'miss', 72 * hour),
      ev('10.9.9.9', 'auth', 'miss'),
      ev('', 'auth', 'miss'),
    );
    const p = provider('enrich-log');
    await setFakeRecords(p.base, {
      criminalip: { '203.0.113.80': { score: { inbound: 'Critical' } } },
    });
    const env = { ...p.env, ...remoteEnv };
    const out = join(dir, 'from-log.csv');
    const config = feedsConfig('from-log.feeds.json');
    const r = await cli(
      [
        'enrich',
        '--from-log',
        '--remote',
        '--out',
        out,
        '--config',
        config,
        '--policy',
        POLICY,
        '--json',
      ],
      env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(cf.violations).toEqual([]);
    expect(cf.analytics.queries).toHaveLength(1);
    expect(cf.analytics.queries[0]).toMatch(/FROM ipgate_decisions/);
    expect((await fakeStats(p.base)).ips).toEqual([
      '203.0.113.80',
      '203.0.113.81',
      '2001:db8:face::',
    ]);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({
      input: { log: { dataset: 'ipgate_decisions', since: '24h', clients: 4, requests: 14 } },
      lookedUp: 3,
      skipped: { nonPublic: 1, known: 0 },
      sync: { target: 'remote' },
    });
    expect(report.sync.feeds.map((f: { name: string }) => f.name)).toEqual([
      'attack',
      'from-log.csv',
    ]);
    expect(r.stderr).toMatch(
      /decision log: 4 client\(s\) without a record on auth paths \(14 request\(s\)\)/,
    );

    const looked = JSON.parse(
      (await cli(['lookup', '203.0.113.80', '--remote', '--json'], env)).stdout,
    );
    expect(looked.record).toMatchObject({ score: 'critical', source: 'from-log.csv' });
    expect(looked.decision).toMatchObject({ action: 'block', rule: 'dirty' });
    const fromFeed = JSON.parse(
      (await cli(['lookup', '203.0.113.50', '--remote', '--json'], env)).stdout,
    );
    expect(fromFeed.record).toMatchObject({ score: 'critical', source: 'attack' });

    // A week back, into another file: what the table now knows is skipped without a call.
    const week = await cli(
      [
        'enrich',
        '--from-log',
        '--remote',
        '--since',
        '7d',
        '--out',
        join(dir, 'from-log-week.csv'),
        '--no-sync',
        '--json',
      ],
      env,
    );
    expect(week.code, week.stderr).toBe(0);
    expect((await fakeStats(p.base)).ips.slice(3)).toEqual(['203.0.113.84']);
    expect(JSON.parse(week.stdout)).toMatchObject({ lookedUp: 1, skipped: { known: 3 } });
    expect(cf.analytics.queries[1]).toMatch(/INTERVAL '7' DAY/);
    expect(cf.violations).toEqual([]);
    expect(week.stdout + week.stderr + r.stdout + r.stderr).not.toContain(TOKEN);
  });

  it('says which permission a refused token lacks, without printing it', async () => {
    const p = provider('enrich-log-token');
    const r = await cli(
      ['enrich', '--from-log', '--remote', '--out', join(dir, 'x.csv'), '--no-sync'],
      {
        ...p.env,
        ...remoteEnv,
        CLOUDFLARE_API_TOKEN: 'wrong-token-value',
      },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /the Analytics Engine SQL API refused the query: Authentication error/,
    );
    expect(r.stderr).toMatch(/Account Analytics: Read/);
    expect(r.stdout + r.stderr).not.toContain('wrong-token-value');
    expect((await fakeStats(p.base)).calls).toBe(0);
    cf.violations.length = 0;
  });
});

describe('ipgate enrich --local', () => {
  it('rebuilds the local table with the feeds config plus the results, as sync does', async () => {
    const state = mkdtempSync(join(tmpdir(), 'ipgate-enrich-state-'));
    const p = provider('enrich-local');
    await setFakeRecords(p.base, {
      criminalip: {
        '203.0.113.90': { score: { inbound: 'Dangerous' }, issues: { is_tor: true } },
      },
    });
    const out = join(dir, 'local.csv');
    const input = file('local.txt', ['203.0.113.90', '203.0.113.91']);
    const r = await cli(
      [
        'enrich',
        '--file',
        input,
        '--out',
        out,
        '--config',
        feedsConfig('local.feeds.json'),
        '--policy',
        POLICY,
        '--persist-to',
        state,
        '--json',
      ],
      p.env,
    );
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).sync).toMatchObject({ target: 'local', dryRun: false });
    expect(r.stderr).toMatch(/local REPUTATION: generation \S+ live/);
    const looked = JSON.parse(
      (await cli(['lookup', '203.0.113.90', '--persist-to', state, '--json'], p.env)).stdout,
    );
    expect(looked.record).toMatchObject({
      score: 'dangerous',
      categories: ['tor'],
      source: basename(out),
    });
    expect(looked.decision).toMatchObject({ action: 'block', reason: 'reputation_rule' });
  });
});
