/**
 * The D1 store's reader over a D1 binding, for the Worker: all of one call's statements in one
 * `db.batch()` (one round trip, one consistent read). Apart from src/report/d1.ts because the
 * CLI, which reads through wrangler, has no D1 binding types.
 */
import type { D1Reader } from './d1';

export function d1Reader(db: D1Database): D1Reader {
  return async (statements) => {
    const results = await db.batch(statements.map((s) => db.prepare(s.sql).bind(...s.params)));
    return results.map((r) => (r.results ?? []) as Record<string, unknown>[]);
  };
}
