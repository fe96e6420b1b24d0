/**
 * The Workers Analytics Engine SQL API client, one for the Worker (the report's Analytics
 * Engine store) and the CLI (`ipgate enrich --from-log`, `ipgate report --remote`):
 *
 *   POST {api}/accounts/{account_id}/analytics_engine/sql
 *   Authorization: Bearer <token with Account Analytics: Read>
 *   body: the SQL statement as text
 *   → FORMAT JSON: { "meta": [{ "name", "type" }], "data": [{ column: value }], "rows": n, … }
 *
 * 429 and 5xx answers and network failures are retried with backoff; anything else is an
 * `AeSqlError` whose kind tells the caller what to say. 64-bit integers may arrive as strings
 * (JSON numbers cannot hold every UInt64): readers convert with `Number`. The token never
 * appears in a message.
 */
import {
  API_BACKOFF_BASE_MS,
  API_BACKOFF_MAX_MS,
  API_MAX_ATTEMPTS,
  API_TIMEOUT_MS,
  CLOUDFLARE_API_BASE,
} from '../constants';
import { backoffMs, type RetryPolicy, realSleep, retryableStatus } from '../util/retry';

/**
 * - `refused`: the API answered with a status not worth retrying (bad token, account, query);
 * - `unavailable`: every attempt failed (network, 429, 5xx);
 * - `not_json`, `no_data`: the answer was not the documented JSON shape.
 */
export type AeSqlErrorKind = 'refused' | 'unavailable' | 'not_json' | 'no_data';

export class AeSqlError extends Error {
  constructor(
    readonly kind: AeSqlErrorKind,
    message: string,
    /** The API's own words (the `errors` of a JSON envelope, or the text of a query error). */
    readonly detail: string,
    /** HTTP status of the last answer, when there was one. */
    readonly status?: number,
  ) {
    super(message);
    this.name = 'AeSqlError';
  }
}

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

export interface AeSqlOptions {
  accountId: string;
  apiToken: string;
  /** API base up to `/client/v4` (CLOUDFLARE_API_BASE_URL); default Cloudflare's. */
  apiBase?: string | undefined;
  fetch?: FetchLike | undefined;
  /** Deadline per attempt, ms. */
  timeoutMs?: number | undefined;
  retry?: Partial<RetryPolicy> | undefined;
  onRetry?: ((message: string) => void) | undefined;
}

export function aeSqlUrl(accountId: string, apiBase?: string): string {
  const base = (apiBase ?? CLOUDFLARE_API_BASE).replace(/\/+$/, '');
  return `${base}/accounts/${encodeURIComponent(accountId)}/analytics_engine/sql`;
}

/** The API's own words: the `errors` of a JSON envelope, else the start of the body. */
function apiMessage(body: string, status: number): string {
  try {
    const json = JSON.parse(body) as { errors?: { message?: string; code?: number }[] };
    const messages = (json.errors ?? []).map(
      (e) => `${e.message ?? 'error'}${e.code ? ` (${e.code})` : ''}`,
    );
    if (messages.length) return messages.join('; ');
  } catch {
    // not JSON: the SQL API answers query errors as text
  }
  const text = body.replace(/\s+/g, ' ').trim();
  return text === '' ? `HTTP ${status}` : text.slice(0, 300);
}

function parseData(body: string): Record<string, unknown>[] {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new AeSqlError(
      'not_json',
      'the Analytics Engine SQL API answered something that is not JSON',
      body.slice(0, 100),
    );
  }
  const data = (json as { data?: unknown } | null)?.data;
  if (!Array.isArray(data) || data.some((r) => typeof r !== 'object' || r === null))
    throw new AeSqlError(
      'no_data',
      'the Analytics Engine SQL API answered JSON without a "data" array',
      '',
    );
  return data as Record<string, unknown>[];
}

/** Runs one statement (which must end in `FORMAT JSON`) and returns its rows. */
export async function queryAnalyticsEngine(
  sql: string,
  o: AeSqlOptions,
): Promise<Record<string, unknown>[]> {
  const url = aeSqlUrl(o.accountId, o.apiBase);
  const policy: RetryPolicy = {
    attempts: API_MAX_ATTEMPTS,
    baseMs: API_BACKOFF_BASE_MS,
    maxMs: API_BACKOFF_MAX_MS,
    ...o.retry,
  };
  const sleep = policy.sleep ?? realSleep;
  const doFetch: FetchLike = o.fetch ?? ((input, init) => fetch(input, init));
  let last = '';
  let lastStatus: number | undefined;
  for (let attempt = 1; attempt <= policy.attempts; attempt++) {
    let res: Response;
    try {
      res = await doFetch(url, {
        method: 'POST',
        headers: { authorization: `Bearer ${o.apiToken}`, 'content-type': 'text/plain' },
        body: sql,
        signal: AbortSignal.timeout(o.timeoutMs ?? API_TIMEOUT_MS),
      });
    } catch (e) {
      last = e instanceof Error ? e.message : String(e);
      if (attempt < policy.attempts) {
        o.onRetry?.(`Analytics Engine SQL API call failed (${last}); retrying`);
        await sleep(backoffMs(attempt, policy));
      }
      continue;
    }
    const body = await res.text();
    if (res.ok) return parseData(body);
    last = apiMessage(body, res.status);
    lastStatus = res.status;
    if (!retryableStatus(res.status))
      throw new AeSqlError(
        'refused',
        `the Analytics Engine SQL API refused the query: ${last}`,
        last,
        res.status,
      );
    if (attempt < policy.attempts) {
      o.onRetry?.(`Analytics Engine SQL API answered ${res.status}; retrying`);
      await sleep(backoffMs(attempt, policy, res.headers.get('retry-after')));
    }
  }
  throw new AeSqlError(
    'unavailable',
    `the Analytics Engine SQL API failed after ${policy.attempts} attempts: ${last}`,
    last,
    lastStatus,
  );
}

/** A string literal for Analytics Engine SQL (ClickHouse rules: backslash escapes). */
export function aeString(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}
