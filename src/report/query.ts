/**
 * A report query checked once, before any store is asked: the window in whole seconds (the
 * resolution of Analytics Engine's clock, so both stores cut it the same way), a timeline
 * bucket in whole minutes, and filters that match the shapes events are written in. Every
 * value that reaches SQL has passed here, so stores only quote what is already plain.
 */
import {
  REPORT_DEFAULT_BUCKETS,
  REPORT_MAX_BUCKETS,
  REPORT_MAX_ROWS,
  REPORT_MAX_WINDOW_DAYS,
  REPORT_MIN_BUCKET_MS,
} from '../constants';
import { clientKey, parseIp } from '../ip/parse';
import type { ReportAction, ReportFilters, ReportQuery } from './types';

export const REPORT_ACTIONS: readonly ReportAction[] = [
  'allow',
  'block',
  'challenge',
  'monitor_block',
  'monitor_challenge',
];

/** A query the report cannot answer, with what is wrong in words for the operator. */
export class ReportQueryError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReportQueryError';
  }
}

export interface ResolvedQuery {
  /** Inclusive start, epoch ms, whole seconds. */
  since: number;
  /** Exclusive end, epoch ms, whole seconds. */
  until: number;
  /** Whole minutes. */
  bucketMs: number;
  filters: ReportFilters;
}

const NAME_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const COUNTRY_RE = /^[A-Z0-9]{2}$/;
const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

/** How a recorded decision counts: its action, or the monitor-mode variant of a block/challenge. */
export function reportAction(action: string, monitorOnly: boolean): ReportAction | null {
  if (action === 'allow') return 'allow';
  if (action === 'block') return monitorOnly ? 'monitor_block' : 'block';
  if (action === 'challenge') return monitorOnly ? 'monitor_challenge' : 'challenge';
  return null;
}

/** The stored (action, monitorOnly) pair a ReportAction stands for; allow is never monitor-only. */
export function storedAction(a: ReportAction): { action: string; monitorOnly: boolean | null } {
  if (a === 'monitor_block') return { action: 'block', monitorOnly: true };
  if (a === 'monitor_challenge') return { action: 'challenge', monitorOnly: true };
  return { action: a, monitorOnly: a === 'allow' ? null : false };
}

const DURATION_RE = /^(\d{1,6})\s*(s|m|h|d|w)$/i;
const UNIT_MS: Record<string, number> = {
  s: 1_000,
  m: MINUTE_MS,
  h: 3_600_000,
  d: DAY_MS,
  w: 7 * DAY_MS,
};

/** `90s`, `30m`, `24h`, `7d`, `2w` → ms; anything else null. */
export function parseDuration(text: string): number | null {
  const m = DURATION_RE.exec(text.trim());
  if (!m) return null;
  const ms = Number(m[1]) * (UNIT_MS[(m[2] ?? '').toLowerCase()] ?? 0);
  return ms > 0 ? ms : null;
}

/**
 * A point in time: `now`, a duration back from `now` (`24h`), or an ISO 8601 date or time
 * (`2026-11-25`, `2026-11-25T12:00:00Z`; without a zone, UTC). Null when it is none of these.
 */
export function parseWhen(text: string, now: number): number | null {
  const t = text.trim();
  if (t.toLowerCase() === 'now') return now;
  const ago = parseDuration(t);
  if (ago !== null) return now - ago;
  if (!/^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:?\d{2})?)?$/i.test(t))
    return null;
  const iso = t.replace(' ', 'T');
  const zoned = /T/.test(iso) && !/(Z|[+-]\d{2}:?\d{2})$/i.test(iso) ? `${iso}Z` : iso;
  const ms = Date.parse(zoned);
  return Number.isFinite(ms) ? ms : null;
}

function normalizeFilters(f: ReportFilters | undefined): ReportFilters {
  const out: ReportFilters = {};
  const routeClass = f?.routeClass?.trim().toLowerCase();
  if (routeClass) {
    if (!NAME_RE.test(routeClass))
      throw new ReportQueryError(`route class "${f?.routeClass}" is not a route class name`);
    out.routeClass = routeClass;
  }
  if (f?.action) {
    if (!REPORT_ACTIONS.includes(f.action))
      throw new ReportQueryError(`action "${f.action}" is not one of ${REPORT_ACTIONS.join(', ')}`);
    out.action = f.action;
  }
  const country = f?.country?.trim().toUpperCase();
  if (country) {
    if (!COUNTRY_RE.test(country))
      throw new ReportQueryError(`country "${f?.country}" is not a two-letter country code`);
    out.country = country;
  }
  const category = f?.category?.trim().toLowerCase();
  if (category) {
    if (!NAME_RE.test(category))
      throw new ReportQueryError(`category "${f?.category}" is not a category name`);
    out.category = category;
  }
  return out;
}

/** Bucket lengths a default timeline uses: a day gets hours, a week 12-hour buckets. */
const NICE_BUCKETS_MS = [1, 5, 10, 15, 30, 60, 120, 180, 360, 720, 1_440].map((m) => m * MINUTE_MS);

/** About REPORT_DEFAULT_BUCKETS buckets of a round length for a window of `span` ms. */
function defaultBucket(span: number): number {
  // The window was widened to whole seconds: judge its length in whole minutes.
  const target = (Math.max(1, Math.round(span / MINUTE_MS)) * MINUTE_MS) / REPORT_DEFAULT_BUCKETS;
  const nice = NICE_BUCKETS_MS.find((b) => b >= target);
  return Math.max(REPORT_MIN_BUCKET_MS, nice ?? Math.ceil(target / DAY_MS) * DAY_MS);
}

/** Checks and completes a query; throws ReportQueryError. */
export function resolveQuery(q: ReportQuery): ResolvedQuery {
  if (!Number.isFinite(q.since) || !Number.isFinite(q.until))
    throw new ReportQueryError('the window needs a start and an end time');
  const since = Math.floor(q.since / 1000) * 1000;
  const until = Math.ceil(q.until / 1000) * 1000;
  if (until <= since) throw new ReportQueryError('the window ends before it starts');
  const span = until - since;
  if (span > REPORT_MAX_WINDOW_DAYS * DAY_MS)
    throw new ReportQueryError(`the window is longer than ${REPORT_MAX_WINDOW_DAYS} days`);
  let bucketMs: number;
  if (q.bucketMs === undefined) bucketMs = defaultBucket(span);
  else {
    if (!Number.isFinite(q.bucketMs) || q.bucketMs <= 0)
      throw new ReportQueryError('the timeline bucket must be a positive length of time');
    bucketMs = Math.max(REPORT_MIN_BUCKET_MS, Math.ceil(q.bucketMs / MINUTE_MS) * MINUTE_MS);
  }
  if (span / bucketMs > REPORT_MAX_BUCKETS)
    throw new ReportQueryError(
      `the timeline would have more than ${REPORT_MAX_BUCKETS} buckets: choose a longer bucket`,
    );
  return { since, until, bucketMs, filters: normalizeFilters(q.filters) };
}

/** A row limit within 1…REPORT_MAX_ROWS. */
export function rowLimit(limit: number): number {
  if (!Number.isFinite(limit)) return REPORT_MAX_ROWS;
  return Math.min(REPORT_MAX_ROWS, Math.max(1, Math.floor(limit)));
}

/** The stored client key for an address or key given by a person (IPv6 to its /64). */
export function clientKeyOf(text: string): string {
  const t = text.trim();
  const slash = t.endsWith('/64') ? t.slice(0, -3) : t;
  const ip = parseIp(slash);
  if (!ip) throw new ReportQueryError(`"${text}" is not an IP address`);
  return clientKey(ip);
}
