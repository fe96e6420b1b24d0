/**
 * The JSON admin API over the report contract, with an in-memory decision store: the report
 * and its filters, recent blocks, an IP's drill-down (table record, API cache, what the policy
 * decides, recorded decisions), and errors as `{error, detail}`.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { parseIp } from '../../../src/ip/parse';
import type { DecisionRow, DecisionStore, Report } from '../../../src/report/types';
import { writeApiCache } from '../../../src/reputation/api-cache';
import type { DecisionEvent } from '../../../src/sink/event';
import { clearPolicy, SAMPLE_CSV, seedTable, testEnv } from '../helpers';
import { adminHarness, bearer, event, memoryStore, signIn, withSession } from './support';

const START = Date.UTC(2026, 10, 26, 12, 0, 0);
const HOUR = 3600_000;

function events(): DecisionEvent[] {
  return [
    event({ time: START - 30 * 60_000 }),
    event({ time: START - 20 * 60_000, path: '/wp-login.php' }),
    event({
      time: START - 2 * HOUR,
      ip: '203.0.113.8',
      score: 'dangerous',
      categories: ['vpn'],
      country: 'RU',
      asn: 64497,
      org: 'Example Telecom',
      rule: 'dirty',
    }),
    event({
      time: START - 3 * HOUR,
      ip: '192.0.2.10',
      score: 'unknown',
      categories: ['vpn'],
      country: 'SE',
      asn: 64501,
      org: 'Example VPN',
      rule: 'anonymizer',
    }),
    event({
      time: START - 4 * HOUR,
      ip: '203.0.113.9',
      action: 'allow',
      reason: 'clean',
      rule: '',
      score: 'moderate',
      categories: [],
      country: 'US',
      asn: 64498,
      org: 'Example Broadband',
    }),
    event({
      time: START - 5 * HOUR,
      ip: '198.51.100.7',
      monitorOnly: true,
      routeClass: 'site',
      path: '/',
      score: 'low',
      categories: ['hosting'],
      country: 'US',
      asn: 64500,
      org: 'Example Cloud, Inc.',
      rule: 'hosting',
    }),
    // Outside the default 24-hour window.
    event({ time: START - 30 * HOUR, path: '/old' }),
  ];
}

beforeAll(async () => {
  await seedTable(SAMPLE_CSV);
  await clearPolicy();
});

function setup(store: DecisionStore | null = memoryStore(events())) {
  return adminHarness({ admin: { decisions: () => store }, start: START });
}

async function json<T>(res: Response): Promise<T> {
  expect(res.headers.get('content-type')).toContain('application/json');
  return (await res.json()) as T;
}

describe('GET /api/report', () => {
  it('builds the case tables over the last 24 hours by default', async () => {
    const h = setup();
    const res = await h.fetch('/__ipgate/api/report', { headers: bearer() });
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const r = await json<Report>(res);
    expect(r.window).toMatchObject({
      since: new Date(START - 24 * HOUR).toISOString(),
      until: new Date(START).toISOString(),
    });
    expect(r.totals).toEqual({ requests: 6, ips: 5 });
    expect(r.scores).toMatchObject({ critical: 1, dangerous: 1, moderate: 1, low: 1, unknown: 1 });
    expect(r.categories.vpn).toEqual({ ips: 2, dirty: 1 });
    expect(r.actions.block).toEqual({ requests: 4, ips: 3 });
    expect(r.actions.monitor_block).toEqual({ requests: 1, ips: 1 });
    expect(r.countries[0]).toEqual({ country: 'US', ips: 2 });
  });

  it('passes the window and filters to the store', async () => {
    const h = setup();
    const since = new Date(START - 48 * HOUR).toISOString();
    const r = await json<Report>(
      await h.fetch(
        `/__ipgate/api/report?since=${since}&until=${START}&action=block&country=nl&category=scanner&routeClass=auth`,
        {
          headers: bearer(),
        },
      ),
    );
    expect(r.filters).toEqual({
      action: 'block',
      country: 'NL',
      category: 'scanner',
      routeClass: 'auth',
    });
    expect(r.totals).toEqual({ requests: 3, ips: 1 });
    const recent = await json<Report>(
      await h.fetch('/__ipgate/api/report?since=1h', { headers: bearer() }),
    );
    expect(recent.totals.requests).toBe(2);
  });

  it.each([
    ['since=yesterday', 'since: "yesterday" is not a time'],
    ['since=1h&until=2h', 'the window ends before it starts'],
    ['since=400d', 'the window is longer than'],
    ['action=maybe', 'action: "maybe" is not one of'],
    ['country=Netherlands', 'country "Netherlands" is not a two-letter country code'],
    ['category=VPN!', 'category "VPN!" is not a category name'],
    ['routeClass=%3Cscript%3E', 'route class "<script>" is not a route class name'],
    ['bucket=soon', 'bucket: "soon" is not a duration'],
    ['since=30d&bucket=1m', 'more than 1000 buckets'],
  ])('refuses %s with a reason', async (query, detail) => {
    const h = setup();
    const res = await h.fetch(`/__ipgate/api/report?${query}`, { headers: bearer() });
    expect(res.status).toBe(400);
    const body = await json<{ error: string; detail: string }>(res);
    expect(body.error).toBe('bad_request');
    expect(body.detail).toContain(detail);
    expect(JSON.stringify(body)).not.toMatch(/at \w+ \(|\.ts:\d+/);
  });

  it('says when no decision store is configured', async () => {
    const h = setup(null);
    const res = await h.fetch('/__ipgate/api/report', { headers: bearer() });
    expect(res.status).toBe(503);
    expect(await json(res)).toMatchObject({ error: 'no_decision_store' });
  });

  it('reports a failing store without a stack trace', async () => {
    const failing: DecisionStore = {
      name: 'analytics-engine',
      report: async () => {
        throw new Error('SQL API answered 500');
      },
      recentBlocks: async () => [],
      decisionsFor: async () => [],
    };
    const h = setup(failing);
    const res = await h.fetch('/__ipgate/api/report', { headers: bearer() });
    expect(res.status).toBe(502);
    const body = await json<{ error: string; detail: string }>(res);
    expect(body).toEqual({
      error: 'store_failed',
      detail: 'the decision store failed: Error: SQL API answered 500',
    });
  });
});

describe('GET /api/blocks', () => {
  it('lists recent blocks and challenges, newest first, up to the limit', async () => {
    const h = setup();
    const { blocks } = await json<{ blocks: DecisionRow[] }>(
      await h.fetch('/__ipgate/api/blocks?limit=3', { headers: bearer() }),
    );
    expect(blocks.map((b) => b.path)).toEqual(['/wp-login.php', '/login', '/login']);
    expect(blocks[0]).toMatchObject({
      ip: '203.0.113.7',
      action: 'block',
      reason: 'reputation_rule',
    });
    const all = await json<{ blocks: DecisionRow[] }>(
      await h.fetch('/__ipgate/api/blocks', { headers: bearer() }),
    );
    expect(all.blocks).toHaveLength(5);
    expect(all.blocks.at(-1)?.action).toBe('monitor_block');
  });

  it('refuses a bad limit', async () => {
    const h = setup();
    for (const limit of ['0', '1001', 'ten']) {
      const res = await h.fetch(`/__ipgate/api/blocks?limit=${limit}`, { headers: bearer() });
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({
        error: 'bad_request',
        detail: expect.stringContaining('limit:'),
      });
    }
  });
});

interface IpBody {
  ip: string;
  table: { status: string; record: { score: string; source: string; org: string } | null };
  apiCache: { provider: string; record: { score: string; source: string }; at: string | null }[];
  wouldDecide: { routeClass: string; decision: { action: string; reason: string; rule: string } }[];
  decisions: DecisionRow[] | null;
  decisionsError: { error: string } | null;
}

describe('GET /api/ip/<ip>', () => {
  it('shows the table record with its source, what the policy decides, and the recorded decisions', async () => {
    const h = setup();
    const body = await json<IpBody>(
      await h.fetch('/__ipgate/api/ip/203.0.113.7', { headers: bearer() }),
    );
    expect(body.ip).toBe('203.0.113.7');
    expect(body.table.status).toBe('hit');
    expect(body.table.record).toMatchObject({
      score: 'critical',
      source: 'test',
      org: 'Example Bulletproof Hosting',
    });
    expect(body.wouldDecide).toEqual([
      {
        routeClass: 'auth',
        path: '/login',
        decision: { action: 'block', reason: 'reputation_rule', rule: 'dirty', monitorOnly: false },
      },
      {
        routeClass: 'site',
        path: '',
        decision: { action: 'allow', reason: 'no_rules', rule: '', monitorOnly: false },
      },
    ]);
    // Seven days by default: the event from 30 hours ago is among them.
    expect(body.decisions?.map((d) => d.path)).toEqual(['/wp-login.php', '/login', '/old']);
    expect(body.decisions?.[0]).toMatchObject({ reason: 'reputation_rule', rule: 'dirty' });
  });

  it('shows a live answer from the API cache for an IP the table does not know', async () => {
    const ip = parseIp('203.0.113.200');
    if (!ip) throw new Error('bad test address');
    await writeApiCache(
      testEnv.REPUTATION,
      'criminalip',
      ip,
      { score: 'dangerous', categories: ['proxy'], source: 'criminalip' },
      new Date(START - HOUR),
    );
    const h = setup();
    const body = await json<IpBody>(
      await h.fetch('/__ipgate/api/ip/203.0.113.200', { headers: bearer() }),
    );
    expect(body.table.status).toBe('miss');
    expect(body.apiCache).toEqual([
      {
        provider: 'criminalip',
        record: { score: 'dangerous', categories: ['proxy'], source: 'criminalip' },
        at: new Date(START - HOUR).toISOString(),
      },
    ]);
    expect(body.wouldDecide[0]?.decision).toMatchObject({ action: 'block', rule: 'dirty' });
    expect(body.decisions).toEqual([]);
  });

  it('groups IPv6 by /64, accepts the /64 key, and refuses what is not an address', async () => {
    const h = setup();
    const a = await json<IpBody>(
      await h.fetch('/__ipgate/api/ip/2001:db8:bad::1', { headers: bearer() }),
    );
    expect(a.ip).toBe('2001:db8:bad::/64');
    expect(a.table.record).toMatchObject({ score: 'unknown' });
    const b = await json<IpBody>(
      await h.fetch(`/__ipgate/api/ip/${encodeURIComponent('2001:db8:bad::/64')}`, {
        headers: bearer(),
      }),
    );
    expect(b.ip).toBe('2001:db8:bad::/64');
    for (const bad of ['0x7f.1', 'example.com', '1.2.3.4.5', '%3Cscript%3E']) {
      const res = await h.fetch(`/__ipgate/api/ip/${bad}`, { headers: bearer() });
      expect(res.status).toBe(400);
      expect(await json(res)).toMatchObject({ error: 'bad_request' });
    }
  });

  it('still answers the record when no decision store is configured', async () => {
    const h = setup(null);
    const body = await json<IpBody>(
      await h.fetch('/__ipgate/api/ip/203.0.113.7', { headers: bearer() }),
    );
    expect(body.table.record?.score).toBe('critical');
    expect(body.decisions).toBeNull();
    expect(body.decisionsError).toMatchObject({ error: 'no_decision_store' });
  });
});

describe('dashboard pages from the store', () => {
  it('renders the report with chart containers, data and recent blocks linking to the drill-down', async () => {
    const h = setup();
    const s = await signIn(h, '198.51.100.90');
    const res = await h.fetch('/__ipgate/?since=24h&action=block', { headers: withSession(s) });
    expect(res.status).toBe(200);
    const page = await res.text();
    for (const chart of ['scores', 'categories', 'countries', 'isps', 'timeline', 'reasons'])
      expect(page).toContain(`data-chart="${chart}"`);
    expect(page).toContain('<script type="application/json" id="ipgate-report">');
    expect(page).toContain('<script src="/__ipgate/assets/uplot.js" defer></script>');
    expect(page).toContain('href="/__ipgate/ip/203.0.113.7"');
    expect(page).toContain('<option value="block" selected>block</option>');
    const ip = await h.fetch('/__ipgate/ip/203.0.113.7', { headers: withSession(s) });
    expect(ip.status).toBe(200);
    const detail = await ip.text();
    expect(detail).toContain('<h1>IP 203.0.113.7</h1>');
    expect(detail).toContain('Example Bulletproof Hosting');
    expect(detail).toContain('reputation_rule');
  });

  it('shows a bad filter and a missing store as messages', async () => {
    const h = setup(null);
    const s = await signIn(h, '198.51.100.91');
    const bad = await h.fetch('/__ipgate/?country=Mars', { headers: withSession(s) });
    expect(bad.status).toBe(400);
    expect(await bad.text()).toContain('country &quot;Mars&quot; is not a two-letter country code');
    const none = await h.fetch('/__ipgate/', { headers: withSession(s) });
    expect(await none.text()).toContain('No decision store is configured');
  });
});

describe('over the real decision store', () => {
  it('shows what the gate recorded in D1, through decisionStoreFor', async () => {
    const h = adminHarness({ start: Date.now(), record: true });
    const refs: Record<string, string> = {};
    for (const ip of ['203.0.113.7', '192.0.2.10', '203.0.113.9']) {
      const res = await h.fetch('/login', { headers: { 'CF-Connecting-IP': ip } });
      refs[ip] = res.headers.get('X-Ipgate-Ref') ?? '';
    }
    h.clock.now = Date.now() + 2000;
    const { blocks } = await json<{ blocks: DecisionRow[] }>(
      await h.fetch('/__ipgate/api/blocks?since=1h&limit=1000', { headers: bearer() }),
    );
    const byRef = new Map(blocks.map((b) => [b.ref, b]));
    expect(byRef.get(refs['203.0.113.7'] ?? '')).toMatchObject({
      ip: '203.0.113.7',
      action: 'block',
      reason: 'reputation_rule',
      rule: 'dirty',
      score: 'critical',
      source: 'test',
    });
    expect(byRef.get(refs['192.0.2.10'] ?? '')).toMatchObject({ rule: 'anonymizer' });
    expect(byRef.has(refs['203.0.113.9'] ?? '')).toBe(false);
    const report = await json<Report>(
      await h.fetch('/__ipgate/api/report?since=1h', { headers: bearer() }),
    );
    expect(report.totals.requests).toBeGreaterThanOrEqual(3);
    expect(report.scores.critical).toBeGreaterThanOrEqual(1);
    const ip = await json<IpBody>(
      await h.fetch('/__ipgate/api/ip/203.0.113.7?since=1h', { headers: bearer() }),
    );
    expect(ip.decisions?.some((d) => d.ref === refs['203.0.113.7'])).toBe(true);
  });
});
