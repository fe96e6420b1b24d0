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
 * the statement as the body) over `analytics.events` (test/support/fake-analytics-sql.ts): the
 * decision-log statement of `ipgate enrich --from-log`, checked filter by filter, and the
 * report's statements, evaluated within the subset of Analytics Engine SQL they use. It checks
 * the dataset and answers in the documented FORMAT JSON shape (`{meta, data, rows,
 * rows_before_limit_at_least}`). Anything else is a violation, answered 422 with a text body as
 * the API answers query errors.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  answerSqlRequest,
  type FakeAnalyticsState,
  type FakeDataPoint,
  isSqlPath,
} from './fake-analytics-sql';

export {
  type FakeDataPoint,
  fakeAnalyticsFetch,
  fakeDecisionPoint,
  fakePointOf,
} from './fake-analytics-sql';

export interface FakeCloudflareOptions {
  token: string;
  accountId: string;
  /** Every n-th request is answered 429; 0 disables. */
  rateLimitEvery?: number;
  /** The Analytics Engine dataset the SQL API serves (default `ipgate_decisions`). */
  dataset?: string;
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

export async function startFakeCloudflare(options: FakeCloudflareOptions): Promise<FakeCloudflare> {
  const namespaces = new Map<string, Map<string, Buffer>>();
  const stats = {
    requests: 0,
    rateLimited: 0,
    bulkWrites: [] as number[],
    bulkDeletes: [] as number[],
  };
  const violations: string[] = [];
  const analytics: FakeAnalyticsState = {
    token: options.token,
    accountId: options.accountId,
    dataset: options.dataset ?? 'ipgate_decisions',
    events: [] as FakeDataPoint[],
    queries: [] as string[],
    violations,
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
    if (isSqlPath(url.pathname)) {
      const answer = answerSqlRequest(analytics, req.method ?? '', url.pathname, body.toString());
      res.writeHead(answer.status, { 'content-type': answer.contentType });
      return res.end(answer.body);
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
