/**
 * The clients the decision log saw on authentication paths without a record, read from the
 * Analytics Engine dataset through the SQL API:
 *
 *   POST {api}/accounts/{account_id}/analytics_engine/sql
 *   Authorization: Bearer <token with Account Analytics: Read>
 *   body: the SQL statement as text
 *   → FORMAT JSON: { "meta": [{ "name", "type" }], "data": [{ column: value }], "rows": n, … }
 *
 * The statement is built from the sink's own column layout (`AE_BLOBS`, docs/analytics.md), so
 * it cannot drift from what the Worker writes. It counts requests with `SUM(_sample_interval)`
 * (Analytics Engine samples) and sorts the busiest clients first, so a budget is spent on them.
 * The client (retries with backoff on 429 and 5xx; the token never in a message) is the one the
 * report uses too: src/report/ae-sql.ts.
 */
import { readFileSync } from 'node:fs';
import { parse as parseToml } from 'smol-toml';
import { ENRICH_MAX_SINCE_DAYS } from '../../src/constants';
import { AeSqlError, queryAnalyticsEngine } from '../../src/report/ae-sql';
import { AE_BLOBS } from '../../src/sink/layout';
import { CliError } from '../errors';
import type { RetryPolicy } from '../retry';

/** The binding the Worker writes decision events through (wrangler.toml). */
export const DECISIONS_BINDING = 'DECISIONS';
/** Lookup statuses of a request whose client had no record. */
export const NO_RECORD_LOOKUPS = ['miss', 'timeout', 'unavailable', 'skipped'] as const;
/** The route class of every path no class of the policy names: not an authentication path. */
export const SITE_ROUTE_CLASS = 'site';

const UNITS = { m: ['MINUTE', 60], h: ['HOUR', 3600], d: ['DAY', 86_400] } as const;

export interface Since {
  amount: number;
  unit: 'MINUTE' | 'HOUR' | 'DAY';
  seconds: number;
}

/** `30m`, `24h`, `7d` → an SQL interval; at most the dataset's retention. */
export function parseSince(text: string): Since {
  const m = /^(\d{1,6})\s*([mhd])$/i.exec(text.trim());
  const amount = m ? Number(m[1]) : 0;
  if (!m || amount <= 0)
    throw new CliError(
      `--since "${text}" is not a duration`,
      'give minutes, hours or days: --since 30m, --since 24h, --since 7d',
      2,
    );
  const [unit, factor] = UNITS[(m[2] ?? 'h').toLowerCase() as keyof typeof UNITS];
  const seconds = amount * factor;
  if (seconds > ENRICH_MAX_SINCE_DAYS * 86_400)
    throw new CliError(
      `--since ${text} reaches back further than the ${ENRICH_MAX_SINCE_DAYS} days Analytics Engine keeps`,
      `use at most --since ${ENRICH_MAX_SINCE_DAYS}d`,
      2,
    );
  return { amount, unit, seconds };
}

const column = (field: (typeof AE_BLOBS)[number]) => `blob${AE_BLOBS.indexOf(field) + 1}`;

/** The statement: distinct client keys with no record on auth paths, busiest first. */
export function decisionLogSql(dataset: string, since: Since, limit: number): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(dataset))
    throw new CliError(`"${dataset}" is not an Analytics Engine dataset name`, undefined, 2);
  const ip = column('ip');
  const lookups = NO_RECORD_LOOKUPS.map((s) => `'${s}'`).join(', ');
  return [
    `SELECT ${ip} AS ip, SUM(_sample_interval) AS requests`,
    `FROM ${dataset}`,
    `WHERE timestamp > NOW() - INTERVAL '${since.amount}' ${since.unit}`,
    `  AND ${column('routeClass')} != '${SITE_ROUTE_CLASS}'`,
    `  AND ${column('lookup')} IN (${lookups})`,
    `  AND ${ip} != ''`,
    `GROUP BY ip`,
    `ORDER BY requests DESC`,
    `LIMIT ${limit}`,
    `FORMAT JSON`,
  ].join('\n');
}

/** The dataset bound as DECISIONS in the wrangler config. */
export function decisionsDataset(configFile: string): string {
  let config: unknown;
  try {
    config = parseToml(readFileSync(configFile, 'utf8'));
  } catch (e) {
    throw new CliError(`cannot read ${configFile}: ${e instanceof Error ? e.message : e}`);
  }
  const sets =
    (config as { analytics_engine_datasets?: { binding?: string; dataset?: string }[] })
      .analytics_engine_datasets ?? [];
  const entry = sets.find((s) => s.binding === DECISIONS_BINDING);
  const name = entry?.dataset ?? entry?.binding;
  if (!name)
    throw new CliError(
      `${configFile} binds no Analytics Engine dataset as ${DECISIONS_BINDING}, so there is no decision log to read`,
      'add an [[analytics_engine_datasets]] entry (see README, "Bindings"), or pass --dataset NAME',
    );
  return name;
}

export interface LogClient {
  ip: string;
  requests: number;
}

export interface SqlApiOptions {
  accountId: string;
  apiToken: string;
  apiBase?: string | undefined;
  retry?: Partial<RetryPolicy>;
  onRetry?: (message: string) => void;
}

/** What to check when the SQL API refuses a query with `status`. */
export function sqlApiHint(status: number | undefined): string {
  if (status === 401 || status === 403)
    return 'check CLOUDFLARE_API_TOKEN: reading the decision log needs the "Account Analytics: Read" permission on this account';
  if (status === 404) return 'check CLOUDFLARE_ACCOUNT_ID';
  return 'the dataset is created by the first event the Worker writes: check the DECISIONS dataset name in wrangler.toml, or --dataset';
}

/** An Analytics Engine SQL API failure as the CLI reports it: what, and how to fix it. */
export function sqlApiCliError(e: unknown): unknown {
  if (!(e instanceof AeSqlError)) return e;
  if (e.kind === 'refused') return new CliError(e.message, sqlApiHint(e.status));
  if (e.kind === 'unavailable')
    return new CliError(
      e.message,
      'the API may be rate limiting or down; run the command again later',
    );
  if (e.kind === 'not_json')
    return new CliError(e.message, 'check CLOUDFLARE_API_BASE_URL: a proxy may be in the way');
  return new CliError(e.message);
}

/** Runs the statement (src/report/ae-sql.ts) and reads `{ data: [{ ip, requests }] }`. */
export async function queryDecisionLog(sql: string, o: SqlApiOptions): Promise<LogClient[]> {
  try {
    return parseRows(await queryAnalyticsEngine(sql, o));
  } catch (e) {
    throw sqlApiCliError(e);
  }
}

function parseRows(data: Record<string, unknown>[]): LogClient[] {
  const rows: LogClient[] = [];
  for (const row of data) {
    const r = row as { ip?: unknown; requests?: unknown };
    // 64-bit sums may come as strings (JSON numbers cannot hold every UInt64).
    const requests = Number(r.requests);
    if (typeof r.ip !== 'string' || !Number.isFinite(requests))
      throw new CliError(
        `the Analytics Engine SQL API answered a row without "ip" and "requests": ${JSON.stringify(row).slice(0, 100)}`,
      );
    rows.push({ ip: r.ip, requests });
  }
  return rows;
}
