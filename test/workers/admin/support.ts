/**
 * Helpers for the dashboard tests: an app with a clock and a decision store, requests with the
 * admin token in the env, sign-in, and an in-memory `DecisionStore` that builds the report
 * contract (src/report/types.ts) honestly from a list of decision events, the way the D1 and
 * Analytics Engine stores do from theirs.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { expect } from 'vitest';
import type { AdminOptions } from '../../../src/admin';
import { createApp } from '../../../src/app';
import { POLICY_CURRENT_KEY, POLICY_VERSION_PREFIX } from '../../../src/constants';
import type { Env } from '../../../src/env';
import { PolicyStore } from '../../../src/policy/loader';
import type {
  Counted,
  DecisionRow,
  DecisionStore,
  Report,
  ReportAction,
  ReportQuery,
} from '../../../src/report/types';
import { isDirty, SCORE_LEVELS, type Score, scoreRank } from '../../../src/reputation/record';
import type { DecisionEvent } from '../../../src/sink/event';
import { testEnv } from '../helpers';

export const ORIGIN = 'https://gate.test';
export const TOKEN = 'test-admin-token-0123456789-abcdefghijklmnop';
export const ADMIN_ENV: Partial<Env> = { ADMIN_TOKEN: TOKEN };

// ── The in-memory decision store ────────────────────────────────────────────────────────────

function reportAction(e: DecisionEvent): ReportAction {
  if (e.monitorOnly && e.action === 'block') return 'monitor_block';
  if (e.monitorOnly && e.action === 'challenge') return 'monitor_challenge';
  return e.action;
}

export function toRow(e: DecisionEvent): DecisionRow {
  return {
    time: new Date(e.time).toISOString(),
    ref: e.ref,
    ip: e.ip,
    method: e.method,
    path: e.path,
    routeClass: e.routeClass,
    action: reportAction(e),
    reason: e.reason,
    rule: e.rule,
    lookup: e.lookup,
    score: e.score,
    categories: e.categories,
    country: e.country,
    asn: e.asn,
    org: e.org,
    source: e.source,
  };
}

function selected(events: DecisionEvent[], q: ReportQuery): DecisionEvent[] {
  const f = q.filters ?? {};
  return events.filter(
    (e) =>
      e.time >= q.since &&
      e.time < q.until &&
      (f.routeClass === undefined || e.routeClass === f.routeClass) &&
      (f.action === undefined || reportAction(e) === f.action) &&
      (f.country === undefined || e.country === f.country) &&
      (f.category === undefined || e.categories.includes(f.category)),
  );
}

function counter(): { add(key: string, ip: string): void; result(): Record<string, Counted> } {
  const m = new Map<string, { requests: number; ips: Set<string> }>();
  return {
    add(key, ip) {
      const c = m.get(key) ?? { requests: 0, ips: new Set<string>() };
      c.requests += 1;
      if (ip) c.ips.add(ip);
      m.set(key, c);
    },
    result() {
      return Object.fromEntries(
        [...m].map(([k, c]) => [k, { requests: c.requests, ips: c.ips.size }]),
      );
    },
  };
}

function top<T>(items: T[], by: (t: T) => number): T[] {
  return [...items].sort((a, b) => by(b) - by(a)).slice(0, 10);
}

export function memoryStore(events: DecisionEvent[]): DecisionStore & { calls: string[] } {
  const calls: string[] = [];
  return {
    name: 'd1',
    calls,
    async report(q) {
      calls.push('report');
      const rows = selected(events, q);
      const bucketMs = q.bucketMs ?? Math.max(60_000, Math.floor((q.until - q.since) / 24));
      const all = counter();
      const actions = counter();
      const reasons = counter();
      const timeline = counter();
      const paths = new Map<string, { requests: number; blocked: number }>();
      const ips = new Map<
        string,
        { score: Score; categories: Set<string>; country: string; org: string; asn: number }
      >();
      for (const e of rows) {
        all.add('all', e.ip);
        actions.add(reportAction(e), e.ip);
        reasons.add(e.reason, e.ip);
        const bucket = q.since + Math.floor((e.time - q.since) / bucketMs) * bucketMs;
        timeline.add(`${bucket}|${reportAction(e)}`, e.ip);
        const p = paths.get(e.path) ?? { requests: 0, blocked: 0 };
        p.requests += 1;
        if (reportAction(e) === 'block') p.blocked += 1;
        paths.set(e.path, p);
        if (!e.ip) continue;
        const known = ips.get(e.ip);
        if (!known) {
          ips.set(e.ip, {
            score: e.score,
            categories: new Set(e.categories),
            country: e.country,
            org: e.org,
            asn: e.asn,
          });
        } else {
          if (scoreRank(e.score) > scoreRank(known.score)) known.score = e.score;
          for (const c of e.categories) known.categories.add(c);
        }
      }
      const scores = Object.fromEntries([...SCORE_LEVELS, 'unknown'].map((s) => [s, 0])) as Record<
        Score,
        number
      >;
      const categories: Record<string, { ips: number; dirty: number }> = {};
      const countries = new Map<string, number>();
      const isps = new Map<string, { org: string; asn: number; ips: number }>();
      for (const ip of ips.values()) {
        scores[ip.score] += 1;
        for (const c of ip.categories) {
          const entry = categories[c] ?? { ips: 0, dirty: 0 };
          entry.ips += 1;
          if (isDirty(ip.score)) entry.dirty += 1;
          categories[c] = entry;
        }
        countries.set(ip.country, (countries.get(ip.country) ?? 0) + 1);
        const isp = isps.get(`${ip.org}|${ip.asn}`) ?? { org: ip.org, asn: ip.asn, ips: 0 };
        isp.ips += 1;
        isps.set(`${ip.org}|${ip.asn}`, isp);
      }
      const totals = all.result().all ?? { requests: 0, ips: 0 };
      const report: Report = {
        window: {
          since: new Date(q.since).toISOString(),
          until: new Date(q.until).toISOString(),
          bucketMs,
        },
        filters: q.filters ?? {},
        totals,
        actions: actions.result(),
        reasons: reasons.result(),
        scores,
        categories,
        countries: top(
          [...countries].map(([country, n]) => ({ country, ips: n })),
          (c) => c.ips,
        ),
        isps: top([...isps.values()], (i) => i.ips),
        paths: top(
          [...paths].map(([path, p]) => ({ path, ...p })),
          (p) => p.requests,
        ),
        timeline: Object.entries(timeline.result())
          .map(([key, c]) => {
            const [bucket, action] = key.split('|') as [string, ReportAction];
            return { bucket: new Date(Number(bucket)).toISOString(), action, ...c };
          })
          .sort((a, b) => a.bucket.localeCompare(b.bucket)),
      };
      return report;
    },
    async recentBlocks(q, limit) {
      calls.push('recentBlocks');
      return selected(events, q)
        .filter((e) => e.action === 'block' || e.action === 'challenge')
        .sort((a, b) => b.time - a.time)
        .slice(0, limit)
        .map(toRow);
    },
    async decisionsFor(ip, q, limit) {
      calls.push(`decisionsFor:${ip}`);
      return selected(events, q)
        .filter((e) => e.ip === ip)
        .sort((a, b) => b.time - a.time)
        .slice(0, limit)
        .map(toRow);
    },
  };
}

/** A decision event with sensible defaults. */
export function event(over: Partial<DecisionEvent> & { time: number }): DecisionEvent {
  return {
    ref: Math.random().toString(16).slice(2, 18),
    ip: '203.0.113.7',
    host: 'gate.test',
    method: 'GET',
    path: '/login',
    routeClass: 'auth',
    action: 'block',
    monitorOnly: false,
    reason: 'reputation_rule',
    rule: 'dirty',
    lookup: 'hit',
    score: 'critical',
    categories: ['scanner'],
    country: 'NL',
    asn: 64496,
    org: 'Example Bulletproof Hosting',
    source: 'test',
    latencyMs: 1,
    policyVersion: 'v',
    tableGeneration: 'g',
    detail: '',
    ...over,
  };
}

// ── An app under test ─────────────────────────────────────────────────────────────────────

export interface AdminHarness {
  clock: { now: number };
  app: ReturnType<typeof createApp>;
  fetch(path: string, init?: RequestInit, env?: Partial<Env>): Promise<Response>;
}

export function adminHarness(
  options: {
    admin?: AdminOptions;
    env?: Partial<Env>;
    start?: number;
    /** Record the gate's decisions with the default sink (D1 in tests) instead of dropping them. */
    record?: boolean;
  } = {},
): AdminHarness {
  const clock = { now: options.start ?? Date.UTC(2026, 10, 26, 12, 0, 0) };
  const app = createApp({
    now: () => clock.now,
    policies: new PolicyStore(),
    ...(options.record ? {} : { sink: () => ({ name: 'test', write() {} }) }),
    admin: { failureDelayMs: 0, ...options.admin },
  });
  return {
    clock,
    app,
    async fetch(path, init, env) {
      const request = new Request(`${ORIGIN}${path}`, { redirect: 'manual', ...init });
      const ctx = createExecutionContext();
      const res = await app.app.fetch(
        request,
        { ...testEnv, ...ADMIN_ENV, ...options.env, ...env },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    },
  };
}

/** Headers of a browser on the dashboard's own origin, from `ip`. */
export function browser(ip: string, extra: Record<string, string> = {}): Record<string, string> {
  return { 'CF-Connecting-IP': ip, Origin: ORIGIN, ...extra };
}

export function form(fields: Record<string, string | string[]>): {
  body: string;
  headers: Record<string, string>;
} {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(fields))
    for (const one of Array.isArray(v) ? v : [v]) p.append(k, one);
  return {
    body: p.toString(),
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
  };
}

/** `name=value` of the first Set-Cookie for `name`, and its attributes. */
export function setCookie(
  res: Response,
  name: string,
): { pair: string; attributes: string } | null {
  for (const c of res.headers.getAll('set-cookie')) {
    if (c.startsWith(`${name}=`)) {
      const semi = c.indexOf(';');
      return { pair: c.slice(0, semi), attributes: c.slice(semi + 1) };
    }
  }
  return null;
}

export interface Session {
  cookie: string;
  csrf: string;
  ip: string;
}

/** Signs in through the form and reads the CSRF token from the policy page. */
export async function signIn(h: AdminHarness, ip = '198.51.100.20'): Promise<Session> {
  const f = form({ token: TOKEN });
  const res = await h.fetch('/__ipgate/login', {
    method: 'POST',
    body: f.body,
    headers: { ...browser(ip), ...f.headers },
  });
  expect(res.status).toBe(303);
  const cookie = setCookie(res, '__Secure-ipgate_admin');
  expect(cookie).not.toBeNull();
  const page = await h.fetch('/__ipgate/policy', {
    headers: browser(ip, { Cookie: cookie?.pair ?? '' }),
  });
  expect(page.status).toBe(200);
  const csrf = /name="csrf" value="([^"]+)"/.exec(await page.text())?.[1] ?? '';
  expect(csrf).not.toBe('');
  return { cookie: cookie?.pair ?? '', csrf, ip };
}

/** Request headers of a signed-in browser. */
export function withSession(
  s: Session,
  extra: Record<string, string> = {},
): Record<string, string> {
  return browser(s.ip, { Cookie: s.cookie, ...extra });
}

export function bearer(ip = '198.51.100.30', token = TOKEN): Record<string, string> {
  return { 'CF-Connecting-IP': ip, Authorization: `Bearer ${token}` };
}

/** Removes the stored policy and every saved version. */
export async function clearPolicies(kv: KVNamespace = testEnv.POLICY): Promise<void> {
  await kv.delete(POLICY_CURRENT_KEY);
  const listed = await kv.list({ prefix: POLICY_VERSION_PREFIX });
  for (const k of listed.keys) await kv.delete(k.name);
}
