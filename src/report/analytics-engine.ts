/**
 * The report from Workers Analytics Engine through the SQL API: the statements of
 * src/report/fold.ts over the sink's column layout (src/sink/layout.ts, docs/analytics.md).
 *
 * Analytics Engine SQL reads one table, with no JOIN or subquery needed here, and a small
 * function set: `sum`, `count(DISTINCT …)`, `max`, `if`, `intDiv`, `toUnixTimestamp`,
 * `toDateTime`, `position`. Every request count is `sum(_sample_interval)`, so sampled rows
 * count for the rows they stand for; distinct-IP counts see the sampled rows only (sampling
 * keeps or drops a client's rows together, by index1). The clock has 1 s resolution, which is
 * why queries are resolved to whole seconds and buckets to whole minutes.
 */
import { REPORT_MAX_CLIENT_ROWS, REPORT_TOP_N } from '../constants';
import { AE_BLOBS, AE_DOUBLES } from '../sink/layout';
import { type AeSqlOptions, aeString, queryAnalyticsEngine } from './ae-sql';
import {
  buildReport,
  clientRowOf,
  decisionRowOf,
  pathRowOf,
  type ReportRows,
  timelineRowOf,
} from './fold';
import { clientKeyOf, type ResolvedQuery, resolveQuery, rowLimit, storedAction } from './query';
import type { DecisionStore, ReportQuery } from './types';

export interface AnalyticsEngineStoreOptions extends AeSqlOptions {
  /** The dataset bound as DECISIONS (its SQL table). */
  dataset: string;
}

const blob = (field: (typeof AE_BLOBS)[number]) => `blob${AE_BLOBS.indexOf(field) + 1}`;
const double = (field: (typeof AE_DOUBLES)[number]) => `double${AE_DOUBLES.indexOf(field) + 1}`;

const DATASET_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;

function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`${n} is not a whole number`);
  return String(n);
}

function where(q: ResolvedQuery): string {
  const clauses = [
    `timestamp >= toDateTime(${int(q.since / 1000)})`,
    `timestamp < toDateTime(${int(q.until / 1000)})`,
  ];
  const f = q.filters;
  if (f.routeClass) clauses.push(`${blob('routeClass')} = ${aeString(f.routeClass)}`);
  if (f.action) {
    const { action, monitorOnly } = storedAction(f.action);
    clauses.push(`${blob('action')} = ${aeString(action)}`);
    if (monitorOnly !== null) clauses.push(`${double('monitorOnly')} = ${monitorOnly ? 1 : 0}`);
  }
  if (f.country) clauses.push(`${blob('country')} = ${aeString(f.country)}`);
  if (f.category)
    clauses.push(`position(${aeString(`|${f.category}|`)} IN ${blob('categories')}) > 0`);
  return clauses.join(' AND ');
}

const REQUESTS = 'sum(_sample_interval)';

export function reportStatements(dataset: string, q: ResolvedQuery): string[] {
  const w = where(q);
  const ip = blob('ip');
  const clients = [
    `SELECT ${ip} AS ip, ${blob('action')} AS action, ${double('monitorOnly')} AS monitorOnly,`,
    `  ${blob('reason')} AS reason, ${blob('score')} AS score, ${blob('categories')} AS categories,`,
    `  ${blob('country')} AS country, ${double('asn')} AS asn, ${blob('org')} AS org,`,
    `  ${REQUESTS} AS requests`,
    `FROM ${dataset} WHERE ${w}`,
    'GROUP BY ip, action, monitorOnly, reason, score, categories, country, asn, org',
    `ORDER BY requests DESC LIMIT ${int(REPORT_MAX_CLIENT_ROWS + 1)}`,
    'FORMAT JSON',
  ].join('\n');
  const paths = [
    `SELECT ${blob('path')} AS path, ${REQUESTS} AS requests,`,
    `  sum(if(${blob('action')} != 'allow' AND ${double('monitorOnly')} = 0, _sample_interval, 0)) AS blocked`,
    `FROM ${dataset} WHERE ${w}`,
    'GROUP BY path',
    `ORDER BY requests DESC, path ASC LIMIT ${int(REPORT_TOP_N)}`,
    'FORMAT JSON',
  ].join('\n');
  const timeline = [
    `SELECT intDiv(toUnixTimestamp(timestamp) - ${int(q.since / 1000)}, ${int(q.bucketMs / 1000)}) AS bucket,`,
    `  ${blob('action')} AS action, ${double('monitorOnly')} AS monitorOnly, ${REQUESTS} AS requests,`,
    `  count(DISTINCT ${ip}) - max(if(${ip} = '', 1, 0)) AS ips`,
    `FROM ${dataset} WHERE ${w}`,
    'GROUP BY bucket, action, monitorOnly',
    'FORMAT JSON',
  ].join('\n');
  return [clients, paths, timeline];
}

const ROW_COLUMNS = [
  'toUnixTimestamp(timestamp) * 1000 AS time',
  `${blob('ref')} AS ref`,
  `${blob('ip')} AS ip`,
  `${blob('method')} AS method`,
  `${blob('path')} AS path`,
  `${blob('routeClass')} AS routeClass`,
  `${blob('action')} AS action`,
  `${double('monitorOnly')} AS monitorOnly`,
  `${blob('reason')} AS reason`,
  `${blob('rule')} AS rule`,
  `${blob('lookup')} AS lookup`,
  `${blob('score')} AS score`,
  `${blob('categories')} AS categories`,
  `${blob('country')} AS country`,
  `${double('asn')} AS asn`,
  `${blob('org')} AS org`,
  `${blob('source')} AS source`,
].join(', ');

export function recentBlocksStatement(dataset: string, q: ResolvedQuery, limit: number): string {
  return [
    `SELECT ${ROW_COLUMNS}`,
    `FROM ${dataset} WHERE ${where(q)} AND ${blob('action')} IN ('block', 'challenge')`,
    `ORDER BY time DESC LIMIT ${int(rowLimit(limit))}`,
    'FORMAT JSON',
  ].join('\n');
}

export function decisionsForStatement(
  dataset: string,
  ip: string,
  q: ResolvedQuery,
  limit: number,
): string {
  return [
    `SELECT ${ROW_COLUMNS}`,
    `FROM ${dataset} WHERE ${where(q)} AND index1 = ${aeString(clientKeyOf(ip))}`,
    `ORDER BY time DESC LIMIT ${int(rowLimit(limit))}`,
    'FORMAT JSON',
  ].join('\n');
}

/** The report's store over Analytics Engine, read through the SQL API. */
export function analyticsEngineStore(options: AnalyticsEngineStoreOptions): DecisionStore {
  const { dataset, ...api } = options;
  if (!DATASET_RE.test(dataset))
    throw new Error(`"${dataset}" is not an Analytics Engine dataset name`);
  const query = (sql: string) => queryAnalyticsEngine(sql, api);
  return {
    name: 'analytics-engine',
    async report(reportQuery: ReportQuery) {
      const q = resolveQuery(reportQuery);
      const [clients, paths, timeline] = await Promise.all(reportStatements(dataset, q).map(query));
      const rows: ReportRows = {
        clients: (clients ?? []).slice(0, REPORT_MAX_CLIENT_ROWS).map(clientRowOf),
        paths: (paths ?? []).map(pathRowOf),
        timeline: (timeline ?? []).map(timelineRowOf),
        truncated: (clients ?? []).length > REPORT_MAX_CLIENT_ROWS,
      };
      return buildReport(q, rows);
    },
    async recentBlocks(reportQuery, limit) {
      const rows = await query(recentBlocksStatement(dataset, resolveQuery(reportQuery), limit));
      return rows.map(decisionRowOf);
    },
    async decisionsFor(ip, reportQuery, limit) {
      const sql = decisionsForStatement(dataset, ip, resolveQuery(reportQuery), limit);
      return (await query(sql)).map(decisionRowOf);
    },
  };
}
