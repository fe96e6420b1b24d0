/**
 * The report from D1 (the `decisions` table, migrations/0001_decisions.sql): the statements of
 * src/report/fold.ts in SQLite, with numbered parameters. The Worker runs them with one
 * `db.batch()` (src/report/d1-binding.ts); the CLI runs the same text through `wrangler d1 execute --local`, which takes
 * no parameters, after `inlineParams` (every value has been checked by resolveQuery first).
 * Each row counts once: D1 is not sampled.
 */
import { REPORT_MAX_CLIENT_ROWS, REPORT_TOP_N } from '../constants';
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

export type SqlValue = string | number;

export interface SqlStatement {
  sql: string;
  params: SqlValue[];
}

/** Runs statements together and answers each one's rows, in order. */
export type D1Reader = (statements: SqlStatement[]) => Promise<Record<string, unknown>[][]>;

/** `time >= ?1 AND time < ?2` and the filters, with their parameters from ?1 on. */
function where(q: ResolvedQuery): SqlStatement {
  const params: SqlValue[] = [q.since, q.until];
  const clauses = ['time >= ?1', 'time < ?2'];
  const add = (clause: (n: string) => string, value: SqlValue) => {
    params.push(value);
    clauses.push(clause(`?${params.length}`));
  };
  const f = q.filters;
  if (f.routeClass) add((p) => `route_class = ${p}`, f.routeClass);
  if (f.action) {
    const { action, monitorOnly } = storedAction(f.action);
    add((p) => `action = ${p}`, action);
    if (monitorOnly !== null) add((p) => `monitor_only = ${p}`, monitorOnly ? 1 : 0);
  }
  if (f.country) add((p) => `country = ${p}`, f.country);
  if (f.category) add((p) => `instr(categories, ${p}) > 0`, `|${f.category}|`);
  return { sql: clauses.join(' AND '), params };
}

/** A statement's extra parameter, numbered after the WHERE clause's. */
function param(w: SqlStatement, extra: SqlValue[], value: SqlValue): string {
  extra.push(value);
  return `?${w.params.length + extra.length}`;
}

/**
 * A whole number written into the statement: LIMIT wants an integer, and a bound JS number may
 * reach SQLite as a REAL.
 */
function int(n: number): string {
  if (!Number.isSafeInteger(n)) throw new Error(`${n} is not a whole number`);
  return String(n);
}

export function reportStatements(q: ResolvedQuery): SqlStatement[] {
  const w = where(q);
  const clients = {
    sql: [
      'SELECT ip, action, monitor_only AS monitorOnly, reason, score, categories, country, asn, org,',
      '  COUNT(*) AS requests',
      `FROM decisions WHERE ${w.sql}`,
      'GROUP BY ip, action, monitor_only, reason, score, categories, country, asn, org',
      `ORDER BY requests DESC LIMIT ${int(REPORT_MAX_CLIENT_ROWS + 1)}`,
    ].join('\n'),
    params: w.params,
  };
  const paths = {
    sql: [
      'SELECT path, COUNT(*) AS requests,',
      "  SUM(CASE WHEN action != 'allow' AND monitor_only = 0 THEN 1 ELSE 0 END) AS blocked",
      `FROM decisions WHERE ${w.sql}`,
      'GROUP BY path',
      `ORDER BY requests DESC, path ASC LIMIT ${int(REPORT_TOP_N)}`,
    ].join('\n'),
    params: w.params,
  };
  const timeline = {
    sql: [
      `SELECT CAST((time - ?1) / ${int(q.bucketMs)} AS INTEGER) AS bucket, action,`,
      '  monitor_only AS monitorOnly,',
      "  COUNT(*) AS requests, COUNT(DISTINCT NULLIF(ip, '')) AS ips",
      `FROM decisions WHERE ${w.sql}`,
      'GROUP BY bucket, action, monitor_only',
    ].join('\n'),
    params: w.params,
  };
  return [clients, paths, timeline];
}

const ROW_COLUMNS = [
  'time',
  'ref',
  'ip',
  'method',
  'path',
  'route_class AS routeClass',
  'action',
  'monitor_only AS monitorOnly',
  'reason',
  'rule',
  'lookup',
  'score',
  'categories',
  'country',
  'asn',
  'org',
  'source',
].join(', ');

export function recentBlocksStatement(q: ResolvedQuery, limit: number): SqlStatement {
  const w = where(q);
  return {
    sql: [
      `SELECT ${ROW_COLUMNS} FROM decisions`,
      `WHERE ${w.sql} AND action IN ('block', 'challenge')`,
      `ORDER BY time DESC, id DESC LIMIT ${int(rowLimit(limit))}`,
    ].join('\n'),
    params: w.params,
  };
}

export function decisionsForStatement(ip: string, q: ResolvedQuery, limit: number): SqlStatement {
  const w = where(q);
  const extra: SqlValue[] = [];
  const key = param(w, extra, clientKeyOf(ip));
  return {
    sql: [
      `SELECT ${ROW_COLUMNS} FROM decisions`,
      `WHERE ${w.sql} AND ip = ${key}`,
      `ORDER BY time DESC, id DESC LIMIT ${int(rowLimit(limit))}`,
    ].join('\n'),
    params: [...w.params, ...extra],
  };
}

/** A SQLite literal: integers as digits, text quoted with doubled quotes. */
export function sqliteLiteral(v: SqlValue): string {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new Error(`cannot inline ${v} into SQL`);
    return String(v);
  }
  return `'${v.replace(/'/g, "''")}'`;
}

/**
 * The statement with its ?N parameters replaced by literals (for `wrangler d1 execute`, which
 * takes none). The statements here hold no `?` inside string literals.
 */
export function inlineParams(s: SqlStatement): string {
  return s.sql.replace(/\?(\d+)/g, (m, n: string) => {
    const v = s.params[Number(n) - 1];
    if (v === undefined) throw new Error(`statement has no parameter ${m}`);
    return sqliteLiteral(v);
  });
}

function rowsOf(results: Record<string, unknown>[][], i: number): Record<string, unknown>[] {
  const rows = results[i];
  if (!Array.isArray(rows)) throw new Error('D1 answered fewer results than statements');
  return rows;
}

/** The report's store over D1; `read` is a D1 binding's (`d1Reader`) or the CLI's (wrangler). */
export function d1Store(read: D1Reader): DecisionStore {
  return {
    name: 'd1',
    async report(query: ReportQuery) {
      const q = resolveQuery(query);
      const results = await read(reportStatements(q));
      const clients = rowsOf(results, 0);
      const rows: ReportRows = {
        clients: clients.slice(0, REPORT_MAX_CLIENT_ROWS).map(clientRowOf),
        paths: rowsOf(results, 1).map(pathRowOf),
        timeline: rowsOf(results, 2).map(timelineRowOf),
        truncated: clients.length > REPORT_MAX_CLIENT_ROWS,
      };
      return buildReport(q, rows);
    },
    async recentBlocks(query, limit) {
      const [rows] = await read([recentBlocksStatement(resolveQuery(query), limit)]);
      return (rows ?? []).map(decisionRowOf);
    },
    async decisionsFor(ip, query, limit) {
      const [rows] = await read([decisionsForStatement(ip, resolveQuery(query), limit)]);
      return (rows ?? []).map(decisionRowOf);
    },
  };
}
