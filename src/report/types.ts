/**
 * The report: what the operator reviews, built the same way from either decision store (D1 for
 * local runs and small sites, Analytics Engine in production). It reproduces the table of the
 * case ipgate was built for — over the distinct client IPs of a time window, the score
 * distribution, each category with its IP count and dirty count (score ≥ dangerous), the top
 * countries and ISPs — and beside it what ipgate did: requests and distinct IPs by action and
 * reason, over time, the top paths and the recent blocks.
 *
 * Counts of requests are weighted by the store's sampling (Analytics Engine's
 * `_sample_interval`; 1 in D1). An IP's score is the highest it had in the window; its country,
 * ISP and categories come from its events (categories united; country and ISP those most of its
 * requests had). "IPs" are distinct client keys (IPv4 address or IPv6 /64); requests with an
 * invalid client IP count as requests, not as an IP. Both stores fold the same grouped rows with
 * the same code (src/report/fold.ts).
 */
import type { Score } from '../reputation/record';

/**
 * How a decision is counted: the action, or `monitor_block` / `monitor_challenge` for one the
 * policy's monitor mode recorded but did not enforce.
 */
export type ReportAction = 'allow' | 'block' | 'challenge' | 'monitor_block' | 'monitor_challenge';

export interface ReportFilters {
  routeClass?: string;
  action?: ReportAction;
  country?: string;
  category?: string;
}

export interface ReportQuery {
  /** Inclusive start, epoch ms. */
  since: number;
  /** Exclusive end, epoch ms. */
  until: number;
  filters?: ReportFilters;
  /**
   * Length of one timeline bucket, ms, rounded up to whole minutes (default: a round length
   * giving about 24 buckets — 1 h for a day, 12 h for a week; at least 1 min).
   */
  bucketMs?: number;
}

export interface Counted {
  requests: number;
  ips: number;
}

export interface Report {
  window: { since: string; until: string; bucketMs: number };
  filters: ReportFilters;
  totals: Counted;
  /** By ReportAction. */
  actions: Partial<Record<ReportAction, Counted>>;
  /** By reason (src/policy/reasons.ts). */
  reasons: Record<string, Counted>;
  /** Distinct IPs by their highest score in the window. */
  scores: Record<Score, number>;
  /** Distinct IPs per category, and how many of them are dirty. */
  categories: Record<string, { ips: number; dirty: number }>;
  /** Top 10 by distinct IPs. */
  countries: { country: string; ips: number }[];
  /** Top 10 by distinct IPs (org and ASN together). */
  isps: { org: string; asn: number; ips: number }[];
  /**
   * Top 10 paths by requests; `blocked`: the requests ipgate answered itself (an enforced block
   * or challenge), so they never reached the origin.
   */
  paths: { path: string; requests: number; blocked: number }[];
  /** Requests and distinct IPs per bucket (ISO start) and action; buckets without events left out. */
  timeline: { bucket: string; action: ReportAction; requests: number; ips: number }[];
  /**
   * Set when the window held more than REPORT_MAX_CLIENT_ROWS client rows: the IP counts cover
   * the busiest clients only (and `totals`, `actions`, `reasons` their requests). Absent otherwise.
   */
  truncated?: boolean;
}

/** One recorded decision, as listed among recent blocks and in an IP's drill-down. */
export interface DecisionRow {
  time: string;
  ref: string;
  ip: string;
  method: string;
  path: string;
  routeClass: string;
  action: ReportAction;
  reason: string;
  rule: string;
  lookup: string;
  score: Score;
  categories: string[];
  country: string;
  asn: number;
  org: string;
  source: string;
}

/** A store the report can be built from. Every method answers data or throws a plain Error. */
export interface DecisionStore {
  readonly name: 'd1' | 'analytics-engine';
  report(query: ReportQuery): Promise<Report>;
  /** Newest first; blocks and challenges, enforced or not. */
  recentBlocks(query: ReportQuery, limit: number): Promise<DecisionRow[]>;
  /** Newest first: one client key's decisions in the window. */
  decisionsFor(ip: string, query: ReportQuery, limit: number): Promise<DecisionRow[]>;
}
