/**
 * The decision log as the load test reads it: the local D1 database bound as DECISIONS_DB,
 * reached from Node through Miniflare. The schema comes from migrations/ (read as
 * `wrangler d1 migrations apply` and the workers tests read them); rows are counted, grouped
 * by reason and read back page by page for the per-request checks.
 */
import { readD1Migrations } from '@cloudflare/vitest-pool-workers';
import type { MiniflareLike } from '../../bench/http/workerd';
import { DECISION_COLUMNS, type DecisionRow } from './expect';

interface D1Statement {
  bind(...values: unknown[]): D1Statement;
  all<T>(): Promise<{ results: T[] }>;
  first<T>(): Promise<T | null>;
}

export interface D1Like {
  prepare(sql: string): D1Statement;
  batch(statements: D1Statement[]): Promise<unknown>;
}

export interface MiniflareWithD1 extends MiniflareLike {
  getD1Database(binding: string, worker?: string): Promise<D1Like>;
}

/** Rows read per query when the whole log is read back. */
const PAGE_ROWS = 10_000;

/** Applies every migration in `dir`, in order, each as one batch. */
export async function applyMigrations(db: D1Like, dir: string): Promise<string[]> {
  const migrations = await readD1Migrations(dir);
  for (const m of migrations) await db.batch(m.queries.map((q) => db.prepare(q)));
  return migrations.map((m) => m.name);
}

export async function countDecisions(db: D1Like): Promise<number> {
  const row = await db.prepare('SELECT COUNT(*) AS n FROM decisions').first<{ n: number }>();
  return row?.n ?? 0;
}

/**
 * Waits until the log holds `expected` rows, or until it has stopped growing for `quietMs`
 * (the background writes are done, whatever they wrote), or `timeoutMs` has passed.
 */
export async function waitForDecisions(
  db: D1Like,
  expected: number,
  options: { quietMs: number; timeoutMs: number; onPoll?: (n: number) => void },
): Promise<{ rows: number; waitedMs: number }> {
  const started = Date.now();
  let last = -1;
  let changedAt = started;
  for (;;) {
    const n = await countDecisions(db);
    options.onPoll?.(n);
    if (n !== last) {
      last = n;
      changedAt = Date.now();
    }
    const now = Date.now();
    if (n >= expected || now - changedAt >= options.quietMs || now - started >= options.timeoutMs)
      return { rows: n, waitedMs: now - started };
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Rows per (action, reason, lookup), most frequent first. */
export async function reasonCounts(
  db: D1Like,
): Promise<{ action: string; reason: string; lookup: string; n: number }[]> {
  const { results } = await db
    .prepare(
      'SELECT action, reason, lookup, COUNT(*) AS n FROM decisions GROUP BY action, reason, lookup ORDER BY n DESC',
    )
    .all<{ action: string; reason: string; lookup: string; n: number }>();
  return results;
}

/** Every row, keyed by path (each planned request has its own); a repeated path is listed. */
export async function decisionsByPath(
  db: D1Like,
): Promise<{ rows: Map<string, DecisionRow>; repeated: string[] }> {
  const rows = new Map<string, DecisionRow>();
  const repeated: string[] = [];
  let after = 0;
  for (;;) {
    const { results } = await db
      .prepare(
        `SELECT id, ${DECISION_COLUMNS.join(', ')} FROM decisions WHERE id > ?1 ORDER BY id LIMIT ?2`,
      )
      .bind(after, PAGE_ROWS)
      .all<DecisionRow & { id: number }>();
    for (const r of results) {
      if (rows.has(r.path)) repeated.push(r.path);
      rows.set(r.path, r);
      after = r.id;
    }
    if (results.length < PAGE_ROWS) return { rows, repeated };
  }
}
