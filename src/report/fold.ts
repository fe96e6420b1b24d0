/**
 * The report's arithmetic, shared by both stores so they cannot disagree: each store runs the
 * same three grouped statements in its own SQL dialect, with the same column names —
 *
 * - clients: one row per (client key, action, monitorOnly, reason, score, categories, country,
 *   asn, org) with its request count, busiest first;
 * - paths: the top paths by requests, with the requests ipgate answered itself (enforced block
 *   or challenge);
 * - timeline: per (bucket index, action, monitorOnly) the requests and distinct client keys —
 *
 * and the pure functions here read those rows and fold them into a `Report`. Per client key
 * (the invalid-IP key '' counts requests but no IP): its score is the highest in the window, its
 * categories the union of its events', its country and ISP the ones most of its requests had
 * (ties to the smaller value).
 */
import { REPORT_TOP_N } from '../constants';
import { isDirty, SCORE_LEVELS, type Score, scoreRank } from '../reputation/record';
import { REPORT_ACTIONS, type ResolvedQuery, reportAction } from './query';
import type { Counted, DecisionRow, Report, ReportAction } from './types';

export interface ClientRow {
  ip: string;
  action: ReportAction | null;
  reason: string;
  score: Score;
  categories: string[];
  country: string;
  asn: number;
  org: string;
  requests: number;
}

export interface PathRow {
  path: string;
  requests: number;
  blocked: number;
}

export interface TimelineRow {
  /** Bucket index from the window's start. */
  bucket: number;
  action: ReportAction | null;
  requests: number;
  ips: number;
}

export interface ReportRows {
  clients: ClientRow[];
  paths: PathRow[];
  timeline: TimelineRow[];
  /** The clients statement hit its row limit. */
  truncated: boolean;
}

type Raw = Record<string, unknown>;

const text = (v: unknown): string => (typeof v === 'string' ? v : v == null ? '' : String(v));
/** 64-bit integers may come as strings (Analytics Engine); doubles as numbers. */
const num = (v: unknown): number => {
  const n = typeof v === 'number' ? v : Number(v);
  return Number.isFinite(n) ? n : 0;
};
const flag = (v: unknown): boolean => num(v) !== 0;

const SCORES: readonly Score[] = [...SCORE_LEVELS, 'unknown'];
export function scoreOf(v: unknown): Score {
  const s = text(v);
  return (SCORES as readonly string[]).includes(s) ? (s as Score) : 'unknown';
}

/** '|hosting|vpn|' → ['hosting', 'vpn']. */
export function categoriesOf(v: unknown): string[] {
  return text(v)
    .split('|')
    .filter((c) => c !== '');
}

export function clientRowOf(r: Raw): ClientRow {
  return {
    ip: text(r.ip),
    action: reportAction(text(r.action), flag(r.monitorOnly)),
    reason: text(r.reason),
    score: scoreOf(r.score),
    categories: categoriesOf(r.categories),
    country: text(r.country),
    asn: num(r.asn),
    org: text(r.org),
    requests: num(r.requests),
  };
}

export function pathRowOf(r: Raw): PathRow {
  return { path: text(r.path), requests: num(r.requests), blocked: num(r.blocked) };
}

export function timelineRowOf(r: Raw): TimelineRow {
  return {
    bucket: num(r.bucket),
    action: reportAction(text(r.action), flag(r.monitorOnly)),
    requests: num(r.requests),
    ips: num(r.ips),
  };
}

/** One decision as listed; `time` is epoch ms in both stores' statements. */
export function decisionRowOf(r: Raw): DecisionRow {
  return {
    time: new Date(num(r.time)).toISOString(),
    ref: text(r.ref),
    ip: text(r.ip),
    method: text(r.method),
    path: text(r.path),
    routeClass: text(r.routeClass),
    action: reportAction(text(r.action), flag(r.monitorOnly)) ?? 'allow',
    reason: text(r.reason),
    rule: text(r.rule),
    lookup: text(r.lookup),
    score: scoreOf(r.score),
    categories: categoriesOf(r.categories),
    country: text(r.country),
    asn: num(r.asn),
    org: text(r.org),
    source: text(r.source),
  };
}

interface Profile {
  rank: number;
  categories: Set<string>;
  countries: Map<string, number>;
  isps: Map<string, number>;
}

/** The key with the most weight; ties go to the smaller key. */
function mostWeighted(votes: Map<string, number>): string | null {
  let best: string | null = null;
  let weight = -1;
  for (const [k, w] of votes) {
    if (w > weight || (w === weight && best !== null && k < best)) {
      best = k;
      weight = w;
    }
  }
  return best;
}

const byCount =
  <T>(count: (x: T) => number, name: (x: T) => string) =>
  (a: T, b: T) =>
    count(b) - count(a) || (name(a) < name(b) ? -1 : name(a) > name(b) ? 1 : 0);

class CountedSet {
  requests = 0;
  readonly ips = new Set<string>();
  add(ip: string, requests: number): void {
    this.requests += requests;
    if (ip !== '') this.ips.add(ip);
  }
  counted(): Counted {
    return { requests: this.requests, ips: this.ips.size };
  }
}

/** Report order of scores: the case's table, worst first. */
const SCORE_ORDER: readonly Score[] = [...[...SCORE_LEVELS].reverse(), 'unknown'];
const ISP_SEP = '\u0000';

export function buildReport(q: ResolvedQuery, rows: ReportRows): Report {
  const totals = new CountedSet();
  const actions = new Map<ReportAction, CountedSet>();
  const reasons = new Map<string, CountedSet>();
  const profiles = new Map<string, Profile>();

  for (const row of rows.clients) {
    totals.add(row.ip, row.requests);
    if (row.action) {
      const a = actions.get(row.action) ?? new CountedSet();
      a.add(row.ip, row.requests);
      actions.set(row.action, a);
    }
    const r = reasons.get(row.reason) ?? new CountedSet();
    r.add(row.ip, row.requests);
    reasons.set(row.reason, r);
    if (row.ip === '') continue;
    let p = profiles.get(row.ip);
    if (!p) {
      p = { rank: 0, categories: new Set(), countries: new Map(), isps: new Map() };
      profiles.set(row.ip, p);
    }
    p.rank = Math.max(p.rank, scoreRank(row.score));
    for (const c of row.categories) p.categories.add(c);
    p.countries.set(row.country, (p.countries.get(row.country) ?? 0) + row.requests);
    const isp = `${row.org}${ISP_SEP}${row.asn}`;
    p.isps.set(isp, (p.isps.get(isp) ?? 0) + row.requests);
  }

  const scores = Object.fromEntries(SCORE_ORDER.map((s) => [s, 0])) as Record<Score, number>;
  const categories = new Map<string, { ips: number; dirty: number }>();
  const countries = new Map<string, number>();
  const isps = new Map<string, number>();
  for (const p of profiles.values()) {
    const score: Score = p.rank === 0 ? 'unknown' : (SCORE_LEVELS[p.rank - 1] ?? 'unknown');
    scores[score] += 1;
    const dirty = isDirty(score) ? 1 : 0;
    for (const c of p.categories) {
      const e = categories.get(c) ?? { ips: 0, dirty: 0 };
      e.ips += 1;
      e.dirty += dirty;
      categories.set(c, e);
    }
    const country = mostWeighted(p.countries);
    if (country) countries.set(country, (countries.get(country) ?? 0) + 1);
    const isp = mostWeighted(p.isps);
    if (isp !== null && isp !== `${ISP_SEP}0`) isps.set(isp, (isps.get(isp) ?? 0) + 1);
  }

  const actionOrder = (a: ReportAction | null) => (a ? REPORT_ACTIONS.indexOf(a) : -1);
  return {
    window: {
      since: new Date(q.since).toISOString(),
      until: new Date(q.until).toISOString(),
      bucketMs: q.bucketMs,
    },
    filters: q.filters,
    totals: totals.counted(),
    actions: Object.fromEntries(
      REPORT_ACTIONS.filter((a) => actions.has(a)).map((a) => [
        a,
        (actions.get(a) as CountedSet).counted(),
      ]),
    ),
    reasons: Object.fromEntries(
      [...reasons]
        .map(([k, v]) => [k, v.counted()] as const)
        .sort(
          byCount(
            ([, c]) => c.requests,
            ([k]) => k,
          ),
        ),
    ),
    scores,
    categories: Object.fromEntries(
      [...categories].sort(
        byCount(
          ([, c]) => c.ips,
          ([k]) => k,
        ),
      ),
    ),
    countries: [...countries]
      .map(([country, ips]) => ({ country, ips }))
      .sort(
        byCount(
          (c) => c.ips,
          (c) => c.country,
        ),
      )
      .slice(0, REPORT_TOP_N),
    isps: [...isps]
      .map(([key, ips]) => {
        const at = key.lastIndexOf(ISP_SEP);
        return { org: key.slice(0, at), asn: Number(key.slice(at + 1)), ips };
      })
      .sort(
        byCount(
          (i) => i.ips,
          (i) => `${i.org}${ISP_SEP}${String(i.asn).padStart(10, '0')}`,
        ),
      )
      .slice(0, REPORT_TOP_N),
    paths: rows.paths.slice(0, REPORT_TOP_N).map((p) => ({ ...p })),
    timeline: rows.timeline
      .filter((t): t is TimelineRow & { action: ReportAction } => t.action !== null)
      .sort((a, b) => a.bucket - b.bucket || actionOrder(a.action) - actionOrder(b.action))
      .map((t) => ({
        bucket: new Date(q.since + t.bucket * q.bucketMs).toISOString(),
        action: t.action,
        requests: t.requests,
        ips: t.ips,
      })),
    ...(rows.truncated ? { truncated: true } : {}),
  };
}
