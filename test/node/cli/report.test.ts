/**
 * `ipgate report` end to end: the real command over a local D1 database made the way
 * `npm start` makes it (wrangler's migrations and local state), and over the fake Analytics
 * Engine SQL API with the same events — both must print the same report.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AE_BLOBS, AE_DOUBLES } from '../../../src/sink/layout';
import {
  type FakeCloudflare,
  type FakeDataPoint,
  startFakeCloudflare,
} from '../../support/fake-cloudflare';
import { cli } from '../support';

const TOKEN = 'report-cli-token-not-secret';
const ACCOUNT = 'acc-report-cli';
const MINUTE = 60_000;
const now = Date.now();

interface Ev {
  ip: string;
  path: string;
  routeClass: string;
  action: 'allow' | 'block';
  monitorOnly?: boolean;
  reason: string;
  rule?: string;
  score: string;
  categories?: string[];
  country?: string;
  asn?: number;
  org?: string;
  times: number;
}

/** Six client IPs and one request without one; 12 requests in the last hour. */
const MIX: Ev[] = [
  {
    ip: '203.0.113.7',
    path: '/login',
    routeClass: 'auth',
    action: 'block',
    reason: 'reputation_rule',
    rule: 'dirty',
    score: 'critical',
    categories: ['remote', 'scanner'],
    country: 'NL',
    asn: 64496,
    org: 'Example Hosting',
    times: 3,
  },
  {
    ip: '203.0.113.8',
    path: '/login',
    routeClass: 'auth',
    action: 'block',
    reason: 'reputation_rule',
    rule: 'dirty',
    score: 'dangerous',
    country: 'RU',
    asn: 64497,
    org: 'Example Telecom',
    times: 1,
  },
  {
    ip: '203.0.113.8',
    path: '/',
    routeClass: 'site',
    action: 'allow',
    reason: 'no_rules',
    score: 'dangerous',
    country: 'RU',
    asn: 64497,
    org: 'Example Telecom',
    times: 1,
  },
  {
    ip: '192.0.2.10',
    path: '/login',
    routeClass: 'auth',
    action: 'block',
    reason: 'reputation_rule',
    rule: 'anonymizer',
    score: 'unknown',
    categories: ['vpn'],
    country: 'SE',
    asn: 64501,
    org: 'Example VPN',
    times: 2,
  },
  {
    ip: '198.51.100.20',
    path: '/login',
    routeClass: 'auth',
    action: 'block',
    monitorOnly: true,
    reason: 'reputation_rule',
    rule: 'hosting',
    score: 'low',
    categories: ['hosting'],
    country: 'US',
    asn: 64500,
    org: 'Example Cloud, Inc.',
    times: 1,
  },
  {
    ip: '203.0.113.10',
    path: '/login',
    routeClass: 'auth',
    action: 'allow',
    reason: 'clean',
    score: 'safe',
    country: 'US',
    asn: 64498,
    org: 'Example Broadband',
    times: 2,
  },
  {
    ip: '203.0.113.200',
    path: '/login',
    routeClass: 'auth',
    action: 'allow',
    reason: 'unknown',
    rule: 'miss',
    score: 'unknown',
    times: 1,
  },
  {
    ip: '',
    path: '/',
    routeClass: 'site',
    action: 'allow',
    reason: 'invalid_client_ip',
    score: 'unknown',
    times: 1,
  },
];

interface Flat extends Ev {
  time: number;
  ref: string;
}

/** One entry per request, a minute apart, within the last hour (whole seconds). */
const EVENTS: Flat[] = MIX.flatMap((e) => Array.from({ length: e.times }, () => e)).map((e, i) => ({
  ...e,
  time: Math.floor((now - (i + 2) * MINUTE) / 1000) * 1000,
  ref: `ref${String(i).padStart(4, '0')}`,
}));

const RANK: Record<string, number> = {
  unknown: 0,
  safe: 1,
  low: 2,
  moderate: 3,
  dangerous: 4,
  critical: 5,
};
const cats = (e: Ev) => (e.categories?.length ? `|${e.categories.join('|')}|` : '');
const lit = (v: string | number) =>
  typeof v === 'number' ? String(v) : `'${v.replace(/'/g, "''")}'`;

function insertSql(e: Flat): string {
  const values = [
    e.time,
    e.ref,
    e.ip,
    'example.com',
    'GET',
    e.path,
    e.routeClass,
    e.action,
    e.monitorOnly ? 1 : 0,
    e.reason,
    e.rule ?? '',
    e.score === 'unknown' && e.reason === 'unknown' ? 'miss' : 'hit',
    e.score,
    RANK[e.score] ?? 0,
    cats(e),
    e.country ?? '',
    e.asn ?? 0,
    e.org ?? '',
    'test',
    1,
    'p1',
    'g1',
    '',
  ];
  return `INSERT INTO decisions (time, ref, ip, host, method, path, route_class, action, monitor_only, reason, rule, lookup, score, score_rank, categories, country, asn, org, source, latency_ms, policy_version, table_generation, detail) VALUES (${values.map(lit).join(', ')});`;
}

function dataPoint(e: Flat): FakeDataPoint {
  const blobs: Record<(typeof AE_BLOBS)[number], string> = {
    action: e.action,
    reason: e.reason,
    routeClass: e.routeClass,
    rule: e.rule ?? '',
    method: 'GET',
    path: e.path,
    ip: e.ip,
    score: e.score,
    categories: cats(e),
    country: e.country ?? '',
    org: e.org ?? '',
    source: 'test',
    lookup: e.score === 'unknown' && e.reason === 'unknown' ? 'miss' : 'hit',
    ref: e.ref,
    host: 'example.com',
    policyVersion: 'p1',
    tableGeneration: 'g1',
    detail: '',
  };
  const doubles: Record<(typeof AE_DOUBLES)[number], number> = {
    latencyMs: 1,
    asn: e.asn ?? 0,
    monitorOnly: e.monitorOnly ? 1 : 0,
    scoreRank: RANK[e.score] ?? 0,
    dirty: (RANK[e.score] ?? 0) >= 4 ? 1 : 0,
    schemaVersion: 1,
  };
  return {
    timestamp: e.time,
    blobs: AE_BLOBS.map((k) => blobs[k]),
    doubles: AE_DOUBLES.map((k) => doubles[k]),
    indexes: [e.ip],
  };
}

function wrangler(args: string[], state: string): string {
  const r = spawnSync('npx', ['wrangler', ...args, '--local', '--persist-to', state], {
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    encoding: 'utf8',
  });
  if (r.status !== 0) throw new Error(`wrangler ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

/** One fixed window for commands whose answers are compared (`2h` moves with each run). */
const WINDOW = [
  '--since',
  new Date(now - 2 * 3_600_000).toISOString(),
  '--until',
  new Date(now).toISOString(),
];

let cf: FakeCloudflare;
const state = mkdtempSync(join(tmpdir(), 'ipgate-report-state-'));
const remoteEnv = () => ({
  CLOUDFLARE_API_TOKEN: TOKEN,
  CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
  CLOUDFLARE_API_BASE_URL: cf.url,
});
const noRemote = { CLOUDFLARE_API_TOKEN: '', CLOUDFLARE_ACCOUNT_ID: '' };

beforeAll(async () => {
  cf = await startFakeCloudflare({ token: TOKEN, accountId: ACCOUNT, rateLimitEvery: 2 });
  cf.analytics.events.push(...EVENTS.map(dataPoint));
  wrangler(['d1', 'migrations', 'apply', 'DECISIONS_DB'], state);
  wrangler(['d1', 'execute', 'DECISIONS_DB', '--command', EVENTS.map(insertSql).join('\n')], state);
});

afterAll(async () => {
  await cf.close();
});

const EXPECTED = {
  totals: { requests: 12, ips: 6 },
  actions: {
    allow: { requests: 5, ips: 3 },
    block: { requests: 6, ips: 3 },
    monitor_block: { requests: 1, ips: 1 },
  },
  reasons: {
    reputation_rule: { requests: 7, ips: 4 },
    clean: { requests: 2, ips: 1 },
    invalid_client_ip: { requests: 1, ips: 0 },
    no_rules: { requests: 1, ips: 1 },
    unknown: { requests: 1, ips: 1 },
  },
  scores: { critical: 1, dangerous: 1, moderate: 0, low: 1, safe: 1, unknown: 2 },
  categories: {
    hosting: { ips: 1, dirty: 0 },
    remote: { ips: 1, dirty: 1 },
    scanner: { ips: 1, dirty: 1 },
    vpn: { ips: 1, dirty: 0 },
  },
  countries: [
    { country: 'US', ips: 2 },
    { country: 'NL', ips: 1 },
    { country: 'RU', ips: 1 },
    { country: 'SE', ips: 1 },
  ],
  isps: [
    { org: 'Example Broadband', asn: 64498, ips: 1 },
    { org: 'Example Cloud, Inc.', asn: 64500, ips: 1 },
    { org: 'Example Hosting', asn: 64496, ips: 1 },
    { org: 'Example Telecom', asn: 64497, ips: 1 },
    { org: 'Example VPN', asn: 64501, ips: 1 },
  ],
  paths: [
    { path: '/login', requests: 10, blocked: 6 },
    { path: '/', requests: 2, blocked: 0 },
  ],
};

describe('ipgate report --local', () => {
  it('prints the report of the local D1 as JSON', async () => {
    const r = await cli(
      ['report', '--local', '--persist-to', state, '--since', '2h', '--json'],
      noRemote,
    );
    expect(r.code, r.stderr).toBe(0);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject(EXPECTED);
    expect(report.window.bucketMs).toBe(5 * MINUTE);
    expect(report.filters).toEqual({});
    expect(report.timeline.reduce((n: number, t: { requests: number }) => n + t.requests, 0)).toBe(
      12,
    );
    expect(Object.keys(report).sort()).toEqual(
      [
        'window',
        'filters',
        'totals',
        'actions',
        'reasons',
        'scores',
        'categories',
        'countries',
        'isps',
        'paths',
        'timeline',
      ].sort(),
    );
  });

  it('prints the case’s tables as text, with the latest blocks', async () => {
    const r = await cli(
      ['report', '--persist-to', state, '--since', '2h', '--recent', '3'],
      noRemote,
    );
    expect(r.code, r.stderr).toBe(0);
    const out = r.stdout;
    expect(out).toMatch(/from the local D1/);
    expect(out).toMatch(/12 request\(s\) from 6 IP\(s\)/);
    for (const title of [
      'Score distribution',
      'Categories',
      'Top countries',
      'Top ISPs',
      'Actions',
      'Reasons',
      'Top paths',
      'Requests over time (5m buckets, UTC)',
      'Recent blocks and challenges',
    ])
      expect(out).toContain(`\n${title}\n`);
    expect(out).toMatch(/\n {2}Critical +1 +16\.7%\n/);
    expect(out).toMatch(/\n {2}Dirty \(dangerous or critical\) +2 +33\.3%\n/);
    expect(out).toMatch(/\n {2}scanner +1 +1 +100\.0%\n/);
    expect(out).toMatch(/\n {2}US +2 +33\.3%\n/);
    expect(out).toMatch(/\n {2}Example Cloud, Inc\. +AS64500 +1\n/);
    expect(out).toMatch(/\n {2}\/login +10 +6\n/);
    const recent = out.slice(out.indexOf('Recent blocks')).trim().split('\n');
    expect(recent).toHaveLength(5); // title, header, 3 rows
    expect(recent[2]).toMatch(
      /203\.0\.113\.7 +block +reputation_rule +dirty +\/login +NL +ref0000/,
    );
  });

  it('filters, and prints the sections as CSV', async () => {
    const r = await cli(
      ['report', '--persist-to', state, '--since', '2h', '--route-class', 'auth', '--csv'],
      noRemote,
    );
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stdout.trim().split('\n');
    expect(lines[0]).toBe('section,name,detail,requests,ips,dirty,blocked');
    expect(lines).toContain('totals,,,10,6,,');
    expect(lines).toContain('score,critical,,,1,,');
    expect(lines).toContain('category,scanner,,,1,1,');
    expect(lines).toContain('isp,"Example Cloud, Inc.",64500,,1,,');
    expect(lines).toContain('action,monitor_block,,1,1,,');
    expect(lines).toContain('path,/login,,10,,,6');
    expect(lines.some((l) => l.startsWith('timeline,'))).toBe(true);
    expect(lines.some((l) => l.startsWith('path,/,'))).toBe(false);
  });

  it('says what to do when the local D1 has no decisions table yet', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'ipgate-report-empty-'));
    const r = await cli(['report', '--persist-to', empty], noRemote);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/the local D1 database has no decisions table yet/);
    expect(r.stderr).toMatch(/wrangler d1 migrations apply DECISIONS_DB --local/);
    expect(r.stderr).toMatch(/npm start/);
  });

  it('refuses bad flags with the reason', async () => {
    const cases: [string[], RegExp][] = [
      [['--since', 'yesterday'], /--since "yesterday" is neither a duration nor a date/],
      [['--action', 'explode'], /--action "explode" is not an action/],
      [['--country', 'Neverland'], /country "Neverland" is not a two-letter country code/],
      [['--since', '1h', '--until', '2h'], /the window ends before it starts/],
      [['--json', '--csv'], /choose one of --json and --csv/],
      [['--local', '--remote'], /choose one of --local and --remote/],
    ];
    for (const [args, message] of cases) {
      const r = await cli(['report', '--persist-to', state, ...args], noRemote);
      expect(r.stderr).toMatch(message);
      expect(r.code, args.join(' ')).not.toBe(0);
    }
  });
});

describe('ipgate report --remote', () => {
  it('reads Analytics Engine through the SQL API and prints the same report as D1', async () => {
    const args = ['report', ...WINDOW, '--json'];
    const remote = await cli([...args, '--remote'], remoteEnv());
    expect(remote.code, remote.stderr).toBe(0);
    expect(cf.violations).toEqual([]);
    const local = await cli([...args, '--local', '--persist-to', state], noRemote);
    expect(JSON.parse(remote.stdout)).toEqual(JSON.parse(local.stdout));
    expect(JSON.parse(remote.stdout)).toMatchObject(EXPECTED);
    expect(cf.analytics.queries.every((q) => /FROM ipgate_decisions\b/.test(q))).toBe(true);
    expect(cf.stats.rateLimited).toBeGreaterThan(0); // and retried
  });

  it('applies filters the same way as D1', async () => {
    const args = ['report', ...WINDOW, '--json', '--category', 'vpn', '--action', 'block'];
    const remote = JSON.parse((await cli([...args, '--remote'], remoteEnv())).stdout);
    const local = JSON.parse(
      (await cli([...args, '--local', '--persist-to', state], noRemote)).stdout,
    );
    expect(remote).toEqual(local);
    expect(remote.totals).toEqual({ requests: 2, ips: 1 });
  });

  it('says which permission a refused token lacks, without printing it', async () => {
    const r = await cli(['report', '--remote'], {
      ...remoteEnv(),
      CLOUDFLARE_API_TOKEN: 'wrong-token-value',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/refused the query: Authentication error/);
    expect(r.stderr).toMatch(/Account Analytics: Read/);
    expect(r.stdout + r.stderr).not.toContain('wrong-token-value');
    cf.violations.length = 0;
  });

  it('needs credentials', async () => {
    const r = await cli(['report', '--remote'], noRemote);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID/);
  });
});
