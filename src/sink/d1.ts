/**
 * D1 sink: decision events as rows of the `decisions` table (migrations/0001_decisions.sql),
 * the embedded store for local runs and small sites, which the report and the dashboard read.
 *
 * A D1 write is a network round trip, so it never runs on the response path: events are
 * buffered per isolate and written with one `db.batch()` per batch. A Worker has no timer
 * between requests, so each request that records an event sets a timer of its own for the
 * next macrotask and hands a promise of its own to its `waitUntil`; the first of those timers
 * to fire closes the batch (concurrent requests have joined it by then) and writes it, and a
 * batch of D1_SINK_MAX_BATCH events is closed and written at once. Batches never wait for one
 * another. A failed flush is logged and dropped: it never reaches, delays or fails a request.
 * A flush that has not finished after D1_SINK_FLUSH_DEADLINE_MS counts as failed, so a D1 call
 * that never settles does not keep its requests' background work open until the runtime
 * cancels it.
 *
 * Why no batch waits for the one before, and no request for another's timer: when a request
 * has finished or been cancelled (its background work outlived what the runtime allows), and
 * another request resolves a promise it created, workerd cancels that promise's continuations
 * ("A promise was resolved or rejected from a different request context…"). Each batch used
 * to be flushed after the previous one, on a promise its first request had created and the
 * previous batch's flush resolved; the first time that request was gone, the chain stopped for
 * good and every later event of the isolate was lost (the load test, test/load/, saw D1 stop
 * at 18,000 of 50,000 decisions). Now each request waits on a promise of its own, settled from
 * its own timer or by the write of its own batch, so a request that goes away can lose at most
 * the events of its own batch, and only when every request in that batch went away with it.
 */
import { D1_SINK_FLUSH_DEADLINE_MS, D1_SINK_MAX_BATCH } from '../constants';
import { scoreRank } from '../reputation/record';
import { TIMED_OUT, withDeadline } from '../util/deadline';
import type { DecisionEvent, DecisionSink } from './event';

/** The table's columns in the order `rowOf` fills them. */
export const D1_COLUMNS = [
  'time',
  'ref',
  'ip',
  'host',
  'method',
  'path',
  'route_class',
  'action',
  'monitor_only',
  'reason',
  'rule',
  'lookup',
  'score',
  'score_rank',
  'categories',
  'country',
  'asn',
  'org',
  'source',
  'latency_ms',
  'policy_version',
  'table_generation',
  'detail',
] as const;

export const D1_INSERT_SQL = `INSERT INTO decisions (${D1_COLUMNS.join(', ')}) VALUES (${D1_COLUMNS.map((_, i) => `?${i + 1}`).join(', ')})`;

/** Pipes on both sides ('|hosting|vpn|'), as in Analytics Engine, so a filter is exact. */
export function categoriesText(categories: readonly string[]): string {
  return categories.length ? `|${categories.join('|')}|` : '';
}

/** The row for one event, in D1_COLUMNS order. */
export function rowOf(e: DecisionEvent): (string | number)[] {
  const row: Record<(typeof D1_COLUMNS)[number], string | number> = {
    time: e.time,
    ref: e.ref,
    ip: e.ip,
    host: e.host,
    method: e.method,
    path: e.path,
    route_class: e.routeClass,
    action: e.action,
    monitor_only: e.monitorOnly ? 1 : 0,
    reason: e.reason,
    rule: e.rule,
    lookup: e.lookup,
    score: e.score,
    score_rank: scoreRank(e.score),
    categories: categoriesText(e.categories),
    country: e.country,
    asn: e.asn,
    org: e.org,
    source: e.source,
    latency_ms: e.latencyMs,
    policy_version: e.policyVersion,
    table_generation: e.tableGeneration,
    detail: e.detail,
  };
  return D1_COLUMNS.map((c) => row[c]);
}

export interface D1SinkOptions {
  /** Events per batch (default D1_SINK_MAX_BATCH). */
  maxBatch?: number;
  /** Told about each failed flush (default: one console line). */
  onError?: (error: unknown, events: number) => void;
  /** Longest one flush may take before it counts as failed (default D1_SINK_FLUSH_DEADLINE_MS). */
  flushDeadlineMs?: number;
}

interface Batch {
  events: DecisionEvent[];
  /** The batch's write, once it is closed. */
  written: Promise<void> | null;
}

function logFailure(error: unknown, events: number): void {
  const message = error instanceof Error ? error.message : String(error);
  const hint = /no such table/i.test(message)
    ? ' (the schema is missing: npx wrangler d1 migrations apply DECISIONS_DB --local, or --remote)'
    : '';
  console.warn(`ipgate: ${events} decision event(s) not written to D1: ${message}${hint}`);
}

export function d1Sink(db: D1Database, options: D1SinkOptions = {}): DecisionSink {
  const maxBatch = Math.max(1, options.maxBatch ?? D1_SINK_MAX_BATCH);
  const onError = options.onError ?? logFailure;
  const deadlineMs = options.flushDeadlineMs ?? D1_SINK_FLUSH_DEADLINE_MS;
  let open: Batch | null = null;

  async function flush(events: DecisionEvent[]): Promise<void> {
    try {
      const written = await withDeadline(
        db.batch(events.map((e) => db.prepare(D1_INSERT_SQL).bind(...rowOf(e)))),
        deadlineMs,
      );
      if (written === TIMED_OUT) throw new Error(`D1 did not answer within ${deadlineMs} ms`);
    } catch (e) {
      try {
        onError(e, events.length);
      } catch {
        // a reporting failure changes nothing
      }
    }
  }

  /** Closes the batch and writes it; the first call starts the write, later ones join it. */
  function close(batch: Batch): Promise<void> {
    if (open === batch) open = null;
    batch.written ??= flush(batch.events);
    return batch.written;
  }

  return {
    name: 'd1',
    write(event) {
      open ??= { events: [], written: null };
      const batch = open;
      batch.events.push(event);
      if (batch.events.length >= maxBatch) return close(batch);
      return new Promise<void>((resolve) => {
        setTimeout(() => {
          void close(batch).then(resolve);
        }, 0);
      });
    },
  };
}
