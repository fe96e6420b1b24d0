/**
 * The known mix the report tests replay through the real gate: 12 client IPs with known
 * scores, categories, countries and organisations; some repeated, some blocked, some only
 * recorded by a policy in monitor mode, and one request without a client IP. Every event goes
 * to the real local D1 (the default sink, DECISIONS_DB) and to a capturing Analytics Engine
 * dataset, so both stores can be asked about the same events.
 */
import { env } from 'cloudflare:test';
import type { FakeDataPoint } from '../../support/fake-analytics-sql';
import { fakePointOf } from '../../support/fake-analytics-sql';
import { clearPolicy, from, harness, putPolicy, seedTable, testEnv } from '../helpers';

export const REPORT_CSV = `network,score,categories,country,asn,org
203.0.113.21,critical,scanner|remote,NL,64496,Example Bulletproof Hosting
203.0.113.22,critical,,NL,64496,Example Bulletproof Hosting
203.0.113.23,dangerous,vpn,RU,64497,Example Telecom
203.0.113.24,dangerous,,RU,64497,Example Telecom
203.0.113.25,moderate,,US,64498,Example Broadband
203.0.113.26,low,,US,64498,Example Broadband
203.0.113.27,safe,,US,64498,Example Broadband
198.51.100.30,low,hosting,US,64500,"Example Cloud, Inc."
198.51.100.31,low,hosting,DE,64500,"Example Cloud, Inc."
192.0.2.40,,vpn,SE,64501,Example VPN
192.0.2.41,,vpn|proxy,SE,64501,Example VPN
`;

export const MONITOR_POLICY = {
  mode: 'monitor',
  routeClasses: [
    {
      name: 'auth',
      paths: ['/login'],
      rules: [
        { name: 'dirty', scores: ['dangerous', 'critical'], action: 'block' },
        { name: 'anonymizer', categories: ['vpn', 'tor', 'proxy', 'hosting'], action: 'block' },
      ],
    },
  ],
};

/** [client IP or null, path, times], enforced by the built-in policy. */
export const ENFORCED: [string | null, string, number][] = [
  ['203.0.113.21', '/login', 3],
  ['203.0.113.22', '/', 1],
  ['203.0.113.23', '/login', 2],
  ['203.0.113.24', '/login', 1],
  ['203.0.113.24', '/about', 1],
  ['203.0.113.25', '/login', 2],
  ['203.0.113.26', '/login', 1],
  ['203.0.113.27', '/', 3],
  ['198.51.100.30', '/login', 1],
  ['192.0.2.40', '/login', 2],
  ['203.0.113.99', '/login', 1],
  [null, '/', 1],
];

/** Recorded by the policy in monitor mode: would-be blocks that pass. */
export const MONITORED: [string | null, string, number][] = [
  ['198.51.100.31', '/login', 2],
  ['192.0.2.41', '/login', 1],
  ['203.0.113.21', '/login', 1],
];

/** An Analytics Engine dataset that keeps what is written, stamped as Analytics Engine does. */
export function capturingDataset(): { dataset: AnalyticsEngineDataset; points: FakeDataPoint[] } {
  const points: FakeDataPoint[] = [];
  const dataset = {
    writeDataPoint(p?: AnalyticsEngineDataPoint) {
      if (p) points.push(fakePointOf(p, Date.now()));
    },
  } as AnalyticsEngineDataset;
  return { dataset, points };
}

export const db = () => (env as unknown as { DECISIONS_DB: D1Database }).DECISIONS_DB;

export async function clearDecisions(): Promise<void> {
  await db().prepare('DELETE FROM decisions').run();
}

export async function decisionCount(): Promise<number> {
  const row = await db().prepare('SELECT COUNT(*) AS n FROM decisions').first<{ n: number }>();
  return row?.n ?? 0;
}

async function play(plan: [string | null, string, number][], dataset: AnalyticsEngineDataset) {
  // The default sink: D1 (bound in wrangler.toml) and, here, the capturing dataset.
  const h = harness({ sink: undefined });
  const statuses: number[] = [];
  for (const [ip, path, times] of plan)
    for (let i = 0; i < times; i++) {
      const res = await h.fetch(path, { headers: from(ip).headers }, { DECISIONS: dataset });
      statuses.push(res.status);
      await res.arrayBuffer();
    }
  return statuses;
}

/** Replays the mix; answers what Analytics Engine would hold and the window it fell in. */
export async function replayMix(): Promise<{
  points: FakeDataPoint[];
  started: number;
  ended: number;
  statuses: number[];
}> {
  await seedTable(REPORT_CSV);
  await clearPolicy();
  await clearDecisions();
  const { dataset, points } = capturingDataset();
  const started = Date.now();
  const statuses = await play(ENFORCED, dataset);
  await putPolicy(MONITOR_POLICY);
  statuses.push(...(await play(MONITORED, dataset)));
  await clearPolicy();
  return { points, started, ended: Date.now(), statuses };
}

export { testEnv };
