/**
 * `ipgate report`: what was blocked, over a window, from either decision store — the case's own
 * tables (score distribution, categories with their dirty IPs, top countries and ISPs) beside
 * what ipgate did (actions, reasons, top paths, the timeline, the latest blocks).
 *
 *   ipgate report [--since 24h] [--until now] [--local | --remote] [--json | --csv] [filters]
 *
 * `--local` (the default) reads the D1 database `npm start` writes, through wrangler;
 * `--remote` reads the Analytics Engine dataset through the SQL API. Both build the Report of
 * src/report/ with the same code, so the two agree on what they both hold.
 */
import { parseArgs } from 'node:util';
import { REPORT_DEFAULT_RECENT, REPORT_DEFAULT_SINCE, REPORT_MAX_ROWS } from '../../src/constants';
import { analyticsEngineStore } from '../../src/report/analytics-engine';
import { d1Store } from '../../src/report/d1';
import { parseDuration, parseWhen, REPORT_ACTIONS, ReportQueryError } from '../../src/report/query';
import type {
  DecisionRow,
  DecisionStore,
  Report,
  ReportAction,
  ReportFilters,
  ReportQuery,
} from '../../src/report/types';
import { decisionsDataset, sqlApiCliError } from '../enrich/decision-log';
import { CliError } from '../errors';
import { info } from '../output';
import { localD1Reader } from '../report/local-d1';
import { describeTarget, TARGET_OPTIONS, type TargetFlags } from '../target';

export const REPORT_USAGE = `usage: ipgate report [--since WHEN] [--until WHEN] [--local | --remote] [options]
  --since WHEN        start of the window: a duration back from now (30m, 24h, 7d) or an ISO
                      date or time (2026-11-25, 2026-11-25T08:00:00Z; UTC without a zone)
                      (default ${REPORT_DEFAULT_SINCE})
  --until WHEN        end of the window, the same way (default now)
  --bucket DURATION   timeline bucket (default: a 24th of the window, at least 1m)
  --route-class NAME  only this route class (auth, site, …)
  --action ACTION     only ${REPORT_ACTIONS.join(', ')}
  --country CC        only clients from this country (ISO code)
  --category NAME     only clients with this category (vpn, tor, proxy, hosting, …)
  --recent N          list the N latest blocks and challenges in the text output (default ${REPORT_DEFAULT_RECENT}; 0: none)
  --local             the local D1 database npm start writes to, through wrangler (default)
  --remote            the Analytics Engine dataset, through the SQL API (CLOUDFLARE_API_TOKEN with
                      "Account Analytics: Read", CLOUDFLARE_ACCOUNT_ID)
  --dataset NAME      Analytics Engine dataset (default: the DECISIONS binding in wrangler.toml)
  --persist-to DIR    local state directory, as for wrangler dev (default .wrangler/state)
  --wrangler-config FILE  wrangler config (default wrangler.toml)
  --json              print the report as JSON
  --csv               print the report's sections as CSV: section,name,detail,requests,ips,dirty,blocked`;

interface ReportFlags extends TargetFlags {
  since?: string | undefined;
  until?: string | undefined;
  bucket?: string | undefined;
  'route-class'?: string | undefined;
  action?: string | undefined;
  country?: string | undefined;
  category?: string | undefined;
  recent?: string | undefined;
  dataset?: string | undefined;
  json?: boolean | undefined;
  csv?: boolean | undefined;
}

function when(flag: string, text: string, now: number): number {
  const t = parseWhen(text, now);
  if (t === null)
    throw new CliError(
      `${flag} "${text}" is neither a duration nor a date`,
      `give a duration back from now (30m, 24h, 7d) or an ISO date or time (2026-11-25T08:00:00Z)`,
      2,
    );
  return t;
}

/** The query the flags describe, at `now`. */
export function reportQuery(flags: ReportFlags, now: number): ReportQuery {
  const since = when('--since', flags.since ?? REPORT_DEFAULT_SINCE, now);
  const until = flags.until === undefined ? now : when('--until', flags.until, now);
  const filters: ReportFilters = {};
  if (flags['route-class']) filters.routeClass = flags['route-class'];
  if (flags.action) {
    const action = flags.action.toLowerCase().replace(/-/g, '_');
    if (!(REPORT_ACTIONS as readonly string[]).includes(action))
      throw new CliError(
        `--action "${flags.action}" is not an action`,
        `use one of ${REPORT_ACTIONS.join(', ')}`,
        2,
      );
    filters.action = action as ReportAction;
  }
  if (flags.country) filters.country = flags.country;
  if (flags.category) filters.category = flags.category;
  const query: ReportQuery = { since, until, filters };
  if (flags.bucket !== undefined) {
    const bucketMs = parseDuration(flags.bucket);
    if (bucketMs === null)
      throw new CliError(
        `--bucket "${flags.bucket}" is not a duration`,
        'give minutes, hours or days: --bucket 15m, --bucket 1h',
        2,
      );
    query.bucketMs = bucketMs;
  }
  return query;
}

function recentCount(text: string | undefined): number {
  if (text === undefined) return REPORT_DEFAULT_RECENT;
  if (!/^\d{1,4}$/.test(text) || Number(text) > REPORT_MAX_ROWS)
    throw new CliError(
      `--recent "${text}" is not a number from 0 to ${REPORT_MAX_ROWS}`,
      REPORT_USAGE,
      2,
    );
  return Number(text);
}

function storeFor(flags: ReportFlags): { store: DecisionStore; label: string } {
  const config = flags['wrangler-config'] ?? 'wrangler.toml';
  if (describeTarget(flags) === 'local') {
    if (flags.dataset) throw new CliError('--dataset only applies to --remote', REPORT_USAGE, 2);
    return {
      store: d1Store(localD1Reader({ persistTo: flags['persist-to'], config })),
      label: 'local D1',
    };
  }
  const apiToken = process.env.CLOUDFLARE_API_TOKEN;
  const accountId = process.env.CLOUDFLARE_ACCOUNT_ID;
  if (!apiToken || !accountId)
    throw new CliError(
      'report --remote needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID in the environment',
      'create a token with "Account Analytics: Read" in the Cloudflare dashboard',
    );
  const dataset = flags.dataset ?? decisionsDataset(config);
  try {
    return {
      store: analyticsEngineStore({
        dataset,
        accountId,
        apiToken,
        apiBase: process.env.CLOUDFLARE_API_BASE_URL || undefined,
        onRetry: info,
      }),
      label: `Analytics Engine dataset ${dataset}`,
    };
  } catch (e) {
    throw new CliError(e instanceof Error ? e.message : String(e), 'check --dataset', 2);
  }
}

/** Store failures as the operator reads them. */
function failure(e: unknown): unknown {
  if (e instanceof ReportQueryError) return new CliError(e.message, REPORT_USAGE, 2);
  return sqlApiCliError(e);
}

// ── Text ──────────────────────────────────────────────────────────────────────────────────────

type Cell = string | number;

const fmt = (n: number) => n.toLocaleString('en-US');
const pct = (n: number, of: number) => (of > 0 ? `${((n / of) * 100).toFixed(1)}%` : '–');

/** A titled table: text columns left-aligned, numbers right-aligned, two spaces apart. */
function section(title: string, header: string[], rows: Cell[][]): string {
  if (rows.length === 0) return `${title}\n  (none)`;
  const all: Cell[][] = [header, ...rows];
  const numeric = header.map((_, i) => rows.every((r) => typeof r[i] === 'number'));
  const text = all.map((r) => r.map((c) => (typeof c === 'number' ? fmt(c) : c)));
  const widths = header.map((_, i) => Math.max(...text.map((r) => (r[i] ?? '').length)));
  const line = (r: string[]) =>
    `  ${r
      .map((c, i) => (numeric[i] ? c.padStart(widths[i] ?? 0) : c.padEnd(widths[i] ?? 0)))
      .join('  ')
      .trimEnd()}`;
  return [title, line(text[0] ?? []), ...text.slice(1).map(line)].join('\n');
}

const SCORE_LABELS: Record<string, string> = {
  critical: 'Critical',
  dangerous: 'Dangerous',
  moderate: 'Moderate',
  low: 'Low',
  safe: 'Safe',
  unknown: 'Unknown',
};

function describeFilters(f: ReportFilters): string {
  const parts = [
    f.routeClass && `route class ${f.routeClass}`,
    f.action && `action ${f.action}`,
    f.country && `country ${f.country}`,
    f.category && `category ${f.category}`,
  ].filter(Boolean);
  return parts.length ? parts.join(', ') : 'none';
}

const utc = (iso: string) => `${iso.slice(0, 19).replace('T', ' ')}`;

function durationText(ms: number): string {
  if (ms % 86_400_000 === 0) return `${ms / 86_400_000}d`;
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  return `${ms / 60_000}m`;
}

export function reportText(r: Report, source: string, recent: DecisionRow[] | null): string {
  const ips = r.totals.ips;
  const dirty = r.scores.critical + r.scores.dangerous;
  const out: string[] = [
    `ipgate report: ${utc(r.window.since)} → ${utc(r.window.until)} UTC, from the ${source}`,
    `filters: ${describeFilters(r.filters)}`,
    `${fmt(r.totals.requests)} request(s) from ${fmt(ips)} IP(s)${r.truncated ? ' (more clients than one report reads: IP counts cover the busiest)' : ''}`,
    '',
    section(
      'Score distribution',
      ['score', 'IPs', 'share'],
      [
        ...Object.entries(r.scores).map(([s, n]) => [SCORE_LABELS[s] ?? s, n, pct(n, ips)]),
        ['Dirty (dangerous or critical)', dirty, pct(dirty, ips)],
      ],
    ),
    '',
    section(
      'Categories',
      ['category', 'IPs', 'dirty', 'dirty share'],
      Object.entries(r.categories).map(([c, v]) => [c, v.ips, v.dirty, pct(v.dirty, v.ips)]),
    ),
    '',
    section(
      'Top countries',
      ['country', 'IPs', 'share'],
      r.countries.map((c) => [c.country, c.ips, pct(c.ips, ips)]),
    ),
    '',
    section(
      'Top ISPs',
      ['organisation', 'ASN', 'IPs'],
      r.isps.map((i) => [i.org || '(unknown)', i.asn ? `AS${i.asn}` : '', i.ips]),
    ),
    '',
    section(
      'Actions',
      ['action', 'requests', 'IPs'],
      Object.entries(r.actions).map(([a, c]) => [a, c.requests, c.ips]),
    ),
    '',
    section(
      'Reasons',
      ['reason', 'requests', 'IPs'],
      Object.entries(r.reasons).map(([k, c]) => [k, c.requests, c.ips]),
    ),
    '',
    section(
      'Top paths',
      ['path', 'requests', 'blocked'],
      r.paths.map((p) => [p.path, p.requests, p.blocked]),
    ),
  ];
  const actions = REPORT_ACTIONS.filter((a) => r.timeline.some((t) => t.action === a));
  const buckets = [...new Set(r.timeline.map((t) => t.bucket))];
  out.push(
    '',
    section(
      `Requests over time (${durationText(r.window.bucketMs)} buckets, UTC)`,
      ['from', ...actions],
      buckets.map((b) => [
        utc(b),
        ...actions.map(
          (a) => r.timeline.find((t) => t.bucket === b && t.action === a)?.requests ?? 0,
        ),
      ]),
    ),
  );
  if (recent)
    out.push(
      '',
      section(
        'Recent blocks and challenges',
        ['time (UTC)', 'IP', 'action', 'reason', 'rule', 'path', 'country', 'ref'],
        recent.map((d) => [
          utc(d.time),
          d.ip || '(invalid)',
          d.action,
          d.reason,
          d.rule,
          d.path,
          d.country,
          d.ref,
        ]),
      ),
    );
  return `${out.join('\n')}\n`;
}

// ── CSV ───────────────────────────────────────────────────────────────────────────────────────

/** One CSV field; text that a spreadsheet would run as a formula is prefixed with '. */
function csvField(v: Cell | undefined): string {
  if (v === undefined || v === '') return '';
  if (typeof v === 'number') return String(v);
  const safe = /^[=+\-@\t\r]/.test(v) ? `'${v}` : v;
  return /[",\n\r]|^\s|\s$/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe;
}

export const CSV_HEADER = ['section', 'name', 'detail', 'requests', 'ips', 'dirty', 'blocked'];

export function reportCsv(r: Report): string {
  const rows: Cell[][] = [CSV_HEADER];
  const add = (
    sectionName: string,
    name: Cell,
    detail: Cell,
    v: { requests?: number; ips?: number; dirty?: number; blocked?: number },
  ) =>
    rows.push([
      sectionName,
      name,
      detail,
      v.requests ?? '',
      v.ips ?? '',
      v.dirty ?? '',
      v.blocked ?? '',
    ]);
  add('window', r.window.since, r.window.until, {});
  add('totals', '', '', r.totals);
  for (const [s, n] of Object.entries(r.scores)) add('score', s, '', { ips: n });
  for (const [c, v] of Object.entries(r.categories)) add('category', c, '', v);
  for (const c of r.countries) add('country', c.country, '', c);
  for (const i of r.isps) add('isp', i.org, i.asn, i);
  for (const [a, c] of Object.entries(r.actions)) add('action', a, '', c);
  for (const [k, c] of Object.entries(r.reasons)) add('reason', k, '', c);
  for (const p of r.paths) add('path', p.path, '', p);
  for (const t of r.timeline) add('timeline', t.bucket, t.action, t);
  return `${rows.map((row) => row.map(csvField).join(',')).join('\n')}\n`;
}

// ── Command ───────────────────────────────────────────────────────────────────────────────────

export async function reportCommand(argv: string[]): Promise<number> {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      ...TARGET_OPTIONS,
      since: { type: 'string' },
      until: { type: 'string' },
      bucket: { type: 'string' },
      'route-class': { type: 'string' },
      action: { type: 'string' },
      country: { type: 'string' },
      category: { type: 'string' },
      recent: { type: 'string' },
      dataset: { type: 'string' },
      json: { type: 'boolean' },
      csv: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (flags.help) {
    process.stdout.write(`${REPORT_USAGE}\n`);
    return 0;
  }
  if (flags.json && flags.csv) throw new CliError('choose one of --json and --csv', undefined, 2);
  const query = reportQuery(flags, Date.now());
  const recent = flags.json || flags.csv ? 0 : recentCount(flags.recent);
  const { store, label } = storeFor(flags);
  let report: Report;
  let latest: DecisionRow[] | null = null;
  try {
    report = await store.report(query);
    if (recent > 0) latest = await store.recentBlocks(query, recent);
  } catch (e) {
    throw failure(e);
  }
  if (report.totals.requests === 0)
    info(
      `no decisions recorded in this window (${report.window.since} to ${report.window.until}) in the ${label}`,
    );
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  else if (flags.csv) process.stdout.write(reportCsv(report));
  else process.stdout.write(reportText(report, label, latest));
  return 0;
}
