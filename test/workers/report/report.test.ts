/**
 * The report from both stores over one known mix of decisions made by the real gate: D1 (the
 * rows the D1 sink wrote) with exact counts, and Analytics Engine (the data points the AE sink
 * wrote, served by the fake SQL API) giving the same Report, recent blocks and drill-down.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { analyticsEngineStore } from '../../../src/report/analytics-engine';
import { d1Store } from '../../../src/report/d1';
import { d1Reader } from '../../../src/report/d1-binding';
import { decisionStoreFor } from '../../../src/report/store';
import type { DecisionRow, DecisionStore, ReportQuery } from '../../../src/report/types';
import { type FakeAnalyticsState, fakeAnalyticsFetch } from '../../support/fake-analytics-sql';
import { db, decisionCount, replayMix, testEnv } from './support';

const TOKEN = 'report-test-token';
const ACCOUNT = 'acc-report';
let window: { since: number; until: number };
let d1: DecisionStore;
let ae: DecisionStore;
let fake: FakeAnalyticsState;
let statuses: number[];

beforeAll(async () => {
  const mix = await replayMix();
  statuses = mix.statuses;
  window = { since: mix.started - 5_000, until: mix.ended + 5_000 };
  d1 = d1Store(d1Reader(db()));
  fake = {
    token: TOKEN,
    accountId: ACCOUNT,
    dataset: 'ipgate_decisions',
    events: mix.points,
    queries: [],
    violations: [],
  };
  ae = analyticsEngineStore({
    dataset: 'ipgate_decisions',
    accountId: ACCOUNT,
    apiToken: TOKEN,
    apiBase: 'https://api.fake.test/client/v4',
    fetch: fakeAnalyticsFetch(fake),
  });
});

/** One bucket for the whole window: the timeline's counts are the totals by action. */
const whole = (extra: Partial<ReportQuery> = {}): ReportQuery => ({
  ...window,
  bucketMs: 24 * 3_600_000,
  ...extra,
});

describe('the gate writes every decision to D1', () => {
  it('one row per request, responses untouched', async () => {
    expect(await decisionCount()).toBe(23);
    // 9 enforced blocks; the monitored would-be blocks and everything else pass.
    expect(statuses.filter((s) => s === 403)).toHaveLength(9);
    expect(statuses.filter((s) => s === 200)).toHaveLength(14);
  });

  it('stores the event fields, categories between pipes', async () => {
    const row = await db()
      .prepare("SELECT * FROM decisions WHERE ip = '203.0.113.21' ORDER BY time LIMIT 1")
      .first();
    expect(row).toMatchObject({
      ip: '203.0.113.21',
      host: 'gate.test',
      method: 'GET',
      path: '/login',
      route_class: 'auth',
      action: 'block',
      monitor_only: 0,
      reason: 'reputation_rule',
      rule: 'dirty',
      lookup: 'hit',
      score: 'critical',
      score_rank: 5,
      categories: '|remote|scanner|',
      country: 'NL',
      asn: 64496,
      org: 'Example Bulletproof Hosting',
      source: 'test',
    });
    expect(String(row?.ref)).toMatch(/^[0-9a-f]{16}$/);
  });
});

describe('report from D1', () => {
  it('counts the mix exactly', async () => {
    const r = await d1.report(whole());
    expect(r.totals).toEqual({ requests: 23, ips: 12 });
    expect(r.actions).toEqual({
      allow: { requests: 10, ips: 6 },
      block: { requests: 9, ips: 5 },
      monitor_block: { requests: 4, ips: 3 },
    });
    expect(r.reasons).toEqual({
      reputation_rule: { requests: 13, ips: 7 },
      no_rules: { requests: 5, ips: 3 },
      clean: { requests: 3, ips: 2 },
      invalid_client_ip: { requests: 1, ips: 0 },
      unknown: { requests: 1, ips: 1 },
    });
    expect(r.scores).toEqual({
      critical: 2,
      dangerous: 2,
      moderate: 1,
      low: 3,
      safe: 1,
      unknown: 3,
    });
    expect(r.categories).toEqual({
      vpn: { ips: 3, dirty: 1 },
      hosting: { ips: 2, dirty: 0 },
      proxy: { ips: 1, dirty: 0 },
      remote: { ips: 1, dirty: 1 },
      scanner: { ips: 1, dirty: 1 },
    });
    expect(r.countries).toEqual([
      { country: 'US', ips: 4 },
      { country: 'NL', ips: 2 },
      { country: 'RU', ips: 2 },
      { country: 'SE', ips: 2 },
      { country: 'DE', ips: 1 },
    ]);
    expect(r.isps).toEqual([
      { org: 'Example Broadband', asn: 64498, ips: 3 },
      { org: 'Example Bulletproof Hosting', asn: 64496, ips: 2 },
      { org: 'Example Cloud, Inc.', asn: 64500, ips: 2 },
      { org: 'Example Telecom', asn: 64497, ips: 2 },
      { org: 'Example VPN', asn: 64501, ips: 2 },
    ]);
    expect(r.paths).toEqual([
      { path: '/login', requests: 17, blocked: 9 },
      { path: '/', requests: 5, blocked: 0 },
      { path: '/about', requests: 1, blocked: 0 },
    ]);
    expect(r.timeline).toEqual([
      { bucket: r.window.since, action: 'allow', requests: 10, ips: 6 },
      { bucket: r.window.since, action: 'block', requests: 9, ips: 5 },
      { bucket: r.window.since, action: 'monitor_block', requests: 4, ips: 3 },
    ]);
    expect(r.window).toEqual({
      since: new Date(Math.floor(window.since / 1000) * 1000).toISOString(),
      until: new Date(Math.ceil(window.until / 1000) * 1000).toISOString(),
      bucketMs: 24 * 3_600_000,
    });
    expect(r.filters).toEqual({});
    expect(r.truncated).toBeUndefined();
  });

  it.each([
    [{ action: 'monitor_block' }, { requests: 4, ips: 3 }],
    [{ action: 'block' }, { requests: 9, ips: 5 }],
    [{ category: 'vpn' }, { requests: 5, ips: 3 }],
    [{ category: 'VPN' }, { requests: 5, ips: 3 }],
    [{ country: 'us' }, { requests: 7, ips: 4 }],
    [{ routeClass: 'site' }, { requests: 6, ips: 3 }],
    [
      { routeClass: 'auth', category: 'hosting' },
      { requests: 3, ips: 2 },
    ],
  ] as const)('filters by %o', async (filters, totals) => {
    const r = await d1.report(whole({ filters }));
    expect(r.totals).toEqual(totals);
  });

  it('a category filter is exact: "vp" matches nothing', async () => {
    expect((await d1.report(whole({ filters: { category: 'vp' } }))).totals).toEqual({
      requests: 0,
      ips: 0,
    });
  });

  it('an empty window is all zeros', async () => {
    const r = await d1.report({ since: window.since - 7_200_000, until: window.since - 3_600_000 });
    expect(r.totals).toEqual({ requests: 0, ips: 0 });
    expect(r.actions).toEqual({});
    expect(r.countries).toEqual([]);
    expect(r.scores.unknown).toBe(0);
  });

  it('lists recent blocks, newest first, enforced or not', async () => {
    const rows = await d1.recentBlocks(whole(), 100);
    expect(rows).toHaveLength(13);
    expect(rows.map((r) => r.action).sort()).toEqual([
      ...Array(9).fill('block'),
      ...Array(4).fill('monitor_block'),
    ]);
    expect(rows[0]?.action).toBe('monitor_block');
    const times = rows.map((r) => r.time);
    expect([...times].sort().reverse()).toEqual(times);
    expect(await d1.recentBlocks(whole(), 2)).toHaveLength(2);
  });

  it('drills down into one client', async () => {
    const rows = await d1.decisionsFor('203.0.113.21', whole(), 10);
    expect(rows.map((r) => r.action)).toEqual(['monitor_block', 'block', 'block', 'block']);
    expect(rows[0]).toMatchObject({
      ip: '203.0.113.21',
      path: '/login',
      routeClass: 'auth',
      reason: 'reputation_rule',
      rule: 'dirty',
      score: 'critical',
      categories: ['remote', 'scanner'],
      country: 'NL',
      asn: 64496,
      org: 'Example Bulletproof Hosting',
      source: 'test',
      lookup: 'hit',
      method: 'GET',
    });
    await expect(d1.decisionsFor('not-an-ip', whole(), 10)).rejects.toThrow(/not an IP/);
  });

  it('refuses a malformed query before reading', async () => {
    await expect(d1.report({ since: 10_000, until: 5_000 })).rejects.toThrow(/ends before/);
    await expect(d1.report(whole({ filters: { country: "U'S" } }))).rejects.toThrow(/country/);
    await expect(d1.report(whole({ filters: { category: "vpn' OR 1=1 --" } }))).rejects.toThrow(
      /category/,
    );
  });
});

/** Recorded decisions with time cut to the second (Analytics Engine's clock), in ref order. */
const comparable = (rows: DecisionRow[]) =>
  rows
    .map((r) => ({ ...r, time: `${r.time.slice(0, 19)}Z` }))
    .sort((a, b) => a.ref.localeCompare(b.ref));

describe('report from Analytics Engine', () => {
  it('gives the same report as D1 for the same events', async () => {
    const queries: ReportQuery[] = [
      whole(),
      { ...window },
      { ...window, bucketMs: 60_000 },
      whole({ filters: { action: 'monitor_block' } }),
      whole({ filters: { category: 'vpn', routeClass: 'auth' } }),
      whole({ filters: { country: 'US' } }),
      whole({ filters: { action: 'allow' } }),
    ];
    for (const q of queries) expect(await ae.report(q)).toEqual(await d1.report(q));
    expect(fake.queries).toHaveLength(queries.length * 3);
    expect(fake.violations).toEqual([]);
    const minutes = await ae.report({ ...window, bucketMs: 60_000 });
    expect(minutes.timeline.reduce((n, t) => n + t.requests, 0)).toBe(23);
    expect((await ae.report(whole())).totals).toEqual({ requests: 23, ips: 12 });
  });

  it('lists the same recent blocks and drill-down', async () => {
    expect(comparable(await ae.recentBlocks(whole(), 100))).toEqual(
      comparable(await d1.recentBlocks(whole(), 100)),
    );
    expect(comparable(await ae.decisionsFor('203.0.113.21', whole(), 10))).toEqual(
      comparable(await d1.decisionsFor('203.0.113.21', whole(), 10)),
    );
    expect(fake.violations).toEqual([]);
  });

  it('counts a sampled row for the rows it stands for', async () => {
    const sampled: FakeAnalyticsState = {
      ...fake,
      events: fake.events.map((p) => ({ ...p, sampleInterval: 10 })),
      queries: [],
      violations: [],
    };
    const store = analyticsEngineStore({
      dataset: 'ipgate_decisions',
      accountId: ACCOUNT,
      apiToken: TOKEN,
      fetch: fakeAnalyticsFetch(sampled),
    });
    const r = await store.report(whole());
    expect(r.totals).toEqual({ requests: 230, ips: 12 });
    expect(r.paths[0]).toEqual({ path: '/login', requests: 170, blocked: 90 });
    expect(sampled.queries.every((q) => q.includes('sum(_sample_interval)'))).toBe(true);
  });

  it('sends the token, reads the dataset, and says what the API refused', async () => {
    const store = analyticsEngineStore({
      dataset: 'ipgate_decisions',
      accountId: ACCOUNT,
      apiToken: 'wrong-token',
      fetch: fakeAnalyticsFetch({ ...fake, queries: [], violations: [] }),
      retry: { attempts: 1 },
    });
    const error = await store.report(whole()).catch((e: unknown) => e);
    expect(error).toMatchObject({ kind: 'refused', status: 403 });
    expect(String(error)).toMatch(/refused the query: Authentication error/);
    expect(String(error)).not.toContain('wrong-token');
    const other = analyticsEngineStore({
      dataset: 'other_dataset',
      accountId: ACCOUNT,
      apiToken: TOKEN,
      fetch: fakeAnalyticsFetch({ ...fake, queries: [], violations: [] }),
      retry: { attempts: 1 },
    });
    await expect(other.report(whole())).rejects.toThrow(/unknown table other_dataset/);
    expect(() =>
      analyticsEngineStore({ dataset: 'x; DROP', accountId: ACCOUNT, apiToken: TOKEN }),
    ).toThrow(/dataset name/);
  });
});

describe('decisionStoreFor', () => {
  it('reads D1 when it is bound', () => {
    expect(decisionStoreFor(testEnv)?.name).toBe('d1');
  });

  it('reads Analytics Engine with its credentials when D1 is not bound', async () => {
    const env = {
      ...testEnv,
      DECISIONS_DB: undefined,
      DECISIONS: {} as AnalyticsEngineDataset,
      CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
      ANALYTICS_API_TOKEN: TOKEN,
      CLOUDFLARE_API_BASE_URL: 'https://api.fake.test/client/v4',
    };
    const store = decisionStoreFor(env, { fetch: fakeAnalyticsFetch(fake) });
    expect(store?.name).toBe('analytics-engine');
    expect((await store?.report(whole()))?.totals).toEqual({ requests: 23, ips: 12 });
  });

  it('has none without D1 and without Analytics Engine credentials', () => {
    const noDb = { ...testEnv, DECISIONS_DB: undefined };
    expect(decisionStoreFor({ ...noDb, DECISIONS: {} as AnalyticsEngineDataset })).toBeNull();
    expect(
      decisionStoreFor({
        ...noDb,
        DECISIONS: undefined,
        CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
        ANALYTICS_API_TOKEN: TOKEN,
      }),
    ).toBeNull();
  });
});
