/**
 * A local fake of the Cloudflare REST API's Workers KV endpoints, answering in the API's
 * documented shapes (`{success, errors, messages, result, result_info}`). It checks what a
 * careful client must get right and records every violation:
 *
 * - `Authorization: Bearer <token>` on every call (403 and error 10000 otherwise);
 * - bulk writes and deletes of at most 10,000 items and bodies under 100 MB;
 * - generation order: a `table:manifest` write must only name chunks already stored;
 * - it answers 429 (with Retry-After) to every `rateLimitEvery`-th call, so clients must retry.
 *
 * It also answers the Workers Analytics Engine SQL API (`POST /accounts/{id}/analytics_engine/sql`,
 * the statement as the body) for the one statement the CLI sends: the distinct client keys of
 * decision events on auth paths whose lookup found no record (`ipgate enrich --from-log`). It
 * checks that the statement reads the configured dataset and carries every filter (time window,
 * route class, lookup status, sampling-aware count, JSON format), evaluates those filters itself
 * over `analytics.events`, and answers in the documented FORMAT JSON shape
 * (`{meta, data, rows, rows_before_limit_at_least}`). Anything else is a violation, answered 422
 * with a text body as the API answers query errors.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AE_BLOBS } from '../../src/sink/layout';

export interface FakeCloudflareOptions {
  token: string;
  accountId: string;
  /** Every n-th request is answered 429; 0 disables. */
  rateLimitEvery?: number;
  /** The Analytics Engine dataset the SQL API serves (default `ipgate_decisions`). */
  dataset?: string;
}

/** One stored data point: blobs by position as the sink writes them (`AE_BLOBS`). */
export interface FakeDataPoint {
  /** Epoch ms. */
  timestamp: number;
  blobs: string[];
  /** Rows this one stands for (Analytics Engine sampling); default 1. */
  sampleInterval?: number;
}

/** A data point from named fields, unnamed blobs empty. */
export function fakeDecisionPoint(
  fields: Partial<Record<(typeof AE_BLOBS)[number], string>>,
  timestamp = Date.now(),
  sampleInterval = 1,
): FakeDataPoint {
  return { timestamp, blobs: AE_BLOBS.map((k) => fields[k] ?? ''), sampleInterval };
}

export interface FakeCloudflare {
  url: string;
  /** Namespace id → key → value. */
  namespaces: Map<string, Map<string, Buffer>>;
  stats: { requests: number; rateLimited: number; bulkWrites: number[]; bulkDeletes: number[] };
  violations: string[];
  analytics: { dataset: string; events: FakeDataPoint[]; queries: string[] };
  close(): Promise<void>;
}

const MAX_BULK = 10_000;
const MAX_BODY = 100 * 1024 * 1024;

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

const ok = (result: unknown, extra: object = {}) => ({
  success: true,
  errors: [],
  messages: [],
  result,
  ...extra,
});
const fail = (code: number, message: string) => ({
  success: false,
  errors: [{ code, message }],
  messages: [],
  result: null,
});

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

const blob = (field: (typeof AE_BLOBS)[number]) => `blob${AE_BLOBS.indexOf(field) + 1}`;
const UNIT_MS = { SECOND: 1_000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;

/** Answers the decision-log statement over `events`, or says what is wrong with it. */
function answerSql(
  sql: string,
  dataset: string,
  events: FakeDataPoint[],
): { ok: true; body: unknown } | { ok: false; error: string } {
  const from = /\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)/i.exec(sql)?.[1];
  if (from !== dataset) return { ok: false, error: `unknown table ${from ?? '(none)'}` };
  const window =
    /\btimestamp\s*>\s*NOW\(\)\s*-\s*INTERVAL\s*'(\d+)'\s*(SECOND|MINUTE|HOUR|DAY)\b/i.exec(sql);
  const route = new RegExp(`\\b${blob('routeClass')}\\s*(?:!=|<>)\\s*'site'`).test(sql);
  const lookups = new RegExp(`\\b${blob('lookup')}\\s+IN\\s*\\(([^)]*)\\)`, 'i').exec(sql)?.[1];
  const ip = blob('ip');
  const select = new RegExp(
    `^\\s*SELECT\\s+${ip}\\s+AS\\s+ip\\s*,\\s*SUM\\(_sample_interval\\)\\s+AS\\s+requests\\b`,
    'i',
  ).test(sql);
  const missing = [
    !select && `SELECT ${ip} AS ip, SUM(_sample_interval) AS requests`,
    !window && 'a time window (timestamp > NOW() - INTERVAL …)',
    !route && `the route class filter (${blob('routeClass')} != 'site')`,
    !lookups && `the lookup filter (${blob('lookup')} IN (…))`,
    !/\bGROUP\s+BY\s+ip\b/i.test(sql) && 'GROUP BY ip',
    !/\bFORMAT\s+JSON\s*$/i.test(sql) && 'FORMAT JSON',
  ].filter(Boolean);
  if (missing.length || !window || !lookups)
    return { ok: false, error: `statement lacks ${missing.join(', ')}` };
  const since =
    Date.now() - Number(window[1]) * UNIT_MS[(window[2] ?? 'DAY').toUpperCase() as 'DAY'];
  const statuses = new Set([...lookups.matchAll(/'([^']*)'/g)].map((m) => m[1]));
  const at = (p: FakeDataPoint, field: (typeof AE_BLOBS)[number]) =>
    p.blobs[AE_BLOBS.indexOf(field)] ?? '';
  const sums = new Map<string, number>();
  for (const p of events) {
    if (p.timestamp <= since || at(p, 'routeClass') === 'site') continue;
    if (!statuses.has(at(p, 'lookup')) || at(p, 'ip') === '') continue;
    sums.set(at(p, 'ip'), (sums.get(at(p, 'ip')) ?? 0) + (p.sampleInterval ?? 1));
  }
  const limit = Number(/\bLIMIT\s+(\d+)/i.exec(sql)?.[1] ?? Number.POSITIVE_INFINITY);
  const rows = [...sums].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const data = rows.slice(0, limit).map(([k, n]) => ({ ip: k, requests: String(n) }));
  return {
    ok: true,
    body: {
      meta: [
        { name: 'ip', type: 'String' },
        { name: 'requests', type: 'UInt64' },
      ],
      data,
      rows: data.length,
      rows_before_limit_at_least: rows.length,
    },
  };
}

export async function startFakeCloudflare(options: FakeCloudflareOptions): Promise<FakeCloudflare> {
  const namespaces = new Map<string, Map<string, Buffer>>();
  const stats = {
    requests: 0,
    rateLimited: 0,
    bulkWrites: [] as number[],
    bulkDeletes: [] as number[],
  };
  const violations: string[] = [];
  const analytics = {
    dataset: options.dataset ?? 'ipgate_decisions',
    events: [] as FakeDataPoint[],
    queries: [] as string[],
  };
  const ns = (id: string) => {
    const m = namespaces.get(id) ?? new Map<string, Buffer>();
    namespaces.set(id, m);
    return m;
  };

  const server: Server = createServer(async (req, res) => {
    stats.requests += 1;
    const url = new URL(req.url ?? '/', 'http://fake');
    const body = await readBody(req);
    if (req.headers.authorization !== `Bearer ${options.token}`) {
      violations.push(`bad authorization on ${req.method} ${url.pathname}`);
      return send(res, 403, fail(10000, 'Authentication error'));
    }
    const every = options.rateLimitEvery ?? 0;
    if (every > 0 && stats.requests % every === 0) {
      stats.rateLimited += 1;
      return send(res, 429, fail(10429, 'Too many requests'), { 'retry-after': '0' });
    }
    const sql = url.pathname.match(/^(?:\/client\/v4)?\/accounts\/([^/]+)\/analytics_engine\/sql$/);
    if (sql && req.method === 'POST') {
      if (sql[1] !== options.accountId)
        return send(res, 404, fail(7003, 'Could not route to the requested resource'));
      const statement = body.toString();
      analytics.queries.push(statement);
      const answer = answerSql(statement, analytics.dataset, analytics.events);
      if (!answer.ok) {
        violations.push(`SQL: ${answer.error}`);
        res.writeHead(422, { 'content-type': 'text/plain' });
        return res.end(answer.error);
      }
      return send(res, 200, answer.body);
    }
    const m = url.pathname.match(
      /^(?:\/client\/v4)?\/accounts\/([^/]+)\/storage\/kv\/namespaces\/([^/]+)\/(bulk\/delete|bulk|values\/.+|keys)$/,
    );
    if (!m || m[1] !== options.accountId)
      return send(res, 404, fail(7003, 'Could not route to the requested resource'));
    const store = ns(m[2] ?? '');
    const op = m[3] ?? '';
    if (body.length > MAX_BODY) {
      violations.push(`body of ${body.length} bytes`);
      return send(res, 413, fail(10011, 'Request too large'));
    }

    if (op === 'bulk' && req.method === 'PUT') {
      const pairs = JSON.parse(body.toString()) as {
        key: string;
        value: string;
        base64?: boolean;
        expiration_ttl?: number;
      }[];
      stats.bulkWrites.push(pairs.length);
      if (pairs.length > MAX_BULK) {
        violations.push(`bulk write of ${pairs.length} pairs`);
        return send(res, 400, fail(10028, 'Too many pairs in bulk request'));
      }
      for (const p of pairs) {
        const value = p.base64 ? Buffer.from(p.value, 'base64') : Buffer.from(p.value);
        if (p.key === 'table:manifest') {
          const manifest = JSON.parse(value.toString()) as { chunks?: { key: string }[] };
          const missing = (manifest.chunks ?? []).filter((c) => !store.has(c.key));
          if (missing.length)
            violations.push(
              `manifest written before chunks ${missing.map((c) => c.key).join(', ')}`,
            );
        }
        store.set(p.key, value);
      }
      return send(res, 200, ok({ successful_key_count: pairs.length, unsuccessful_keys: [] }));
    }
    if (op === 'bulk/delete' && req.method === 'POST') {
      const keys = JSON.parse(body.toString()) as string[];
      stats.bulkDeletes.push(keys.length);
      if (keys.length > MAX_BULK) {
        violations.push(`bulk delete of ${keys.length} keys`);
        return send(res, 400, fail(10028, 'Too many keys in bulk request'));
      }
      for (const k of keys) store.delete(k);
      return send(res, 200, ok({ successful_key_count: keys.length, unsuccessful_keys: [] }));
    }
    if (op.startsWith('values/') && req.method === 'GET') {
      const key = decodeURIComponent(op.slice('values/'.length));
      const value = store.get(key);
      if (!value) return send(res, 404, fail(10009, 'get: key not found'));
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(value);
    }
    if (op === 'keys' && req.method === 'GET') {
      const prefix = url.searchParams.get('prefix') ?? '';
      const limit = Number(url.searchParams.get('limit') ?? 1000);
      const start = Number(url.searchParams.get('cursor') || 0);
      const names = [...store.keys()].filter((k) => k.startsWith(prefix)).sort();
      const page = names.slice(start, start + limit);
      const cursor = start + limit < names.length ? String(start + limit) : '';
      return send(
        res,
        200,
        ok(
          page.map((name) => ({ name })),
          { result_info: { count: page.length, cursor } },
        ),
      );
    }
    return send(res, 405, fail(10405, 'Method not allowed'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/client/v4`,
    namespaces,
    stats,
    violations,
    analytics,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}
