/**
 * D1 sink: decision events as rows of the `decisions` table (migrations/0001_decisions.sql),
 * the embedded store for local runs and small sites, which the report and the dashboard read.
 *
 * A D1 write is a network round trip, so it never runs on the response path: events are
 * buffered per isolate and written with one `db.batch()` per flush. A Worker has no timer
 * between requests, so a flush starts as soon as the request that opened the batch has
 * recorded its event (on the next macrotask, so concurrent requests join it), and every
 * request whose event is in a batch hands that batch's promise to its own `waitUntil`. While a
 * flush runs, new events gather in the next batch; a batch of D1_SINK_MAX_BATCH events is
 * closed at once. A failed flush is logged and dropped: it never reaches, delays or fails a
 * request.
 */
import { D1_SINK_MAX_BATCH } from '../constants';
import { scoreRank } from '../reputation/record';
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
}

interface Batch {
  events: DecisionEvent[];
  done: Promise<void>;
}

function logFailure(error: unknown, events: number): void {
  const message = error instanceof Error ? error.message : String(error);
  const hint = /no such table/i.test(message)
    ? ' (the schema is missing: npx wrangler d1 migrations apply DECISIONS_DB --local, or --remote)'
    : '';
  console.warn(`ipgate: ${events} decision event(s) not written to D1: ${message}${hint}`);
}

const nextMacrotask = () => new Promise<void>((r) => setTimeout(r, 0));

export function d1Sink(db: D1Database, options: D1SinkOptions = {}): DecisionSink {
  const maxBatch = Math.max(1, options.maxBatch ?? D1_SINK_MAX_BATCH);
  const onError = options.onError ?? logFailure;
  let open: Batch | null = null;
  let previous: Promise<void> = Promise.resolve();

  async function flush(events: DecisionEvent[]): Promise<void> {
    try {
      await db.batch(events.map((e) => db.prepare(D1_INSERT_SQL).bind(...rowOf(e))));
    } catch (e) {
      try {
        onError(e, events.length);
      } catch {
        // a reporting failure changes nothing
      }
    }
  }

  function openBatch(): Batch {
    const batch: Batch = { events: [], done: Promise.resolve() };
    batch.done = previous.then(nextMacrotask).then(() => {
      if (open === batch) open = null;
      return flush(batch.events);
    });
    previous = batch.done;
    return batch;
  }

  return {
    name: 'd1',
    write(event) {
      open ??= openBatch();
      const batch = open;
      batch.events.push(event);
      if (batch.events.length >= maxBatch) open = null;
      return batch.done;
    },
  };
}
