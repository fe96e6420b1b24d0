/**
 * KV in a Cloudflare account, through the REST API (the only way to write in bulk):
 *
 *   PUT  /accounts/{account}/storage/kv/namespaces/{ns}/bulk          ≤ 10,000 pairs, < 100 MB
 *   POST /accounts/{account}/storage/kv/namespaces/{ns}/bulk/delete   ≤ 10,000 keys
 *   GET  /accounts/{account}/storage/kv/namespaces/{ns}/values/{key}
 *   GET  /accounts/{account}/storage/kv/namespaces/{ns}/keys?prefix=&cursor=
 *
 * Authenticated with an API token (`Authorization: Bearer`, Workers KV Storage Write). 429 and
 * 5xx answers are retried with backoff (Retry-After honoured); other errors stop with the
 * API's own messages. The token never appears in output.
 */
import {
  API_BACKOFF_BASE_MS,
  API_BACKOFF_MAX_MS,
  API_MAX_ATTEMPTS,
  API_TIMEOUT_MS,
  CLOUDFLARE_API_BASE,
  KV_BULK_MAX_BYTES,
  KV_BULK_MAX_PAIRS,
  KV_LIST_PAGE,
} from '../../src/constants';
import { CliError } from '../errors';
import { backoffMs, type RetryPolicy, realSleep, retryableStatus } from '../retry';
import type { KvPair, KvStore } from './store';

export interface RemoteKvOptions {
  accountId: string;
  apiToken: string;
  namespaceId: string;
  binding: string;
  apiBase?: string;
  retry?: Partial<RetryPolicy>;
  /** Called before each retry, for progress output. */
  onRetry?: (message: string) => void;
}

interface ApiEnvelope {
  success?: boolean;
  errors?: { code?: number; message?: string }[];
  result?: unknown;
  result_info?: { cursor?: string };
}

function apiErrors(body: ApiEnvelope | null, status: number): string {
  const messages = (body?.errors ?? []).map(
    (e) => `${e.message ?? 'error'}${e.code ? ` (${e.code})` : ''}`,
  );
  return messages.length ? messages.join('; ') : `HTTP ${status}`;
}

function hintFor(status: number): string | undefined {
  if (status === 401 || status === 403)
    return 'check CLOUDFLARE_API_TOKEN: it needs the "Workers KV Storage: Edit" permission on this account';
  if (status === 404) return 'check CLOUDFLARE_ACCOUNT_ID and the namespace id in wrangler.toml';
  return undefined;
}

export function remoteKv(options: RemoteKvOptions): KvStore {
  const base = `${options.apiBase ?? CLOUDFLARE_API_BASE}/accounts/${encodeURIComponent(options.accountId)}/storage/kv/namespaces/${encodeURIComponent(options.namespaceId)}`;
  const policy: RetryPolicy = {
    attempts: API_MAX_ATTEMPTS,
    baseMs: API_BACKOFF_BASE_MS,
    maxMs: API_BACKOFF_MAX_MS,
    ...options.retry,
  };
  const sleep = policy.sleep ?? realSleep;

  /** One API call with retries; returns the response for 2xx and 404, throws otherwise. */
  async function call(method: string, path: string, body?: string): Promise<Response> {
    let lastError = '';
    for (let attempt = 1; attempt <= policy.attempts; attempt++) {
      let res: Response;
      try {
        res = await fetch(`${base}${path}`, {
          method,
          headers: {
            authorization: `Bearer ${options.apiToken}`,
            ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          },
          body,
          signal: AbortSignal.timeout(API_TIMEOUT_MS),
        });
      } catch (e) {
        lastError = e instanceof Error ? e.message : String(e);
        if (attempt < policy.attempts) {
          options.onRetry?.(`${method} failed (${lastError}); retrying`);
          await sleep(backoffMs(attempt, policy));
        }
        continue;
      }
      if (res.ok || res.status === 404) return res;
      const envelope = (await res.json().catch(() => null)) as ApiEnvelope | null;
      lastError = apiErrors(envelope, res.status);
      if (!retryableStatus(res.status))
        throw new CliError(
          `Cloudflare API ${method} ${options.binding}: ${lastError}`,
          hintFor(res.status),
        );
      if (attempt < policy.attempts) {
        options.onRetry?.(`Cloudflare API answered ${res.status}; retrying`);
        await sleep(backoffMs(attempt, policy, res.headers.get('retry-after')));
      }
    }
    throw new CliError(
      `Cloudflare API ${method} ${options.binding} failed after ${policy.attempts} attempts: ${lastError}`,
      'the API may be rate limiting or down; run the command again later',
    );
  }

  async function callJson(method: string, path: string, body?: unknown): Promise<ApiEnvelope> {
    const res = await call(method, path, body === undefined ? undefined : JSON.stringify(body));
    const envelope = (await res.json().catch(() => null)) as ApiEnvelope | null;
    if (res.status === 404 || !envelope?.success)
      throw new CliError(
        `Cloudflare API ${method} ${options.binding}: ${apiErrors(envelope, res.status)}`,
        hintFor(res.status),
      );
    return envelope;
  }

  return {
    label: `remote ${options.binding} (${options.namespaceId})`,

    async get(key) {
      const res = await call('GET', `/values/${encodeURIComponent(key)}`);
      if (res.status === 404) return null;
      return new Uint8Array(await res.arrayBuffer());
    },

    async put(pairs, progress) {
      let done = 0;
      for (const batch of batches(pairs)) {
        const body = batch.map((p) => ({
          key: p.key,
          value: Buffer.from(p.value).toString('base64'),
          base64: true,
          ...(p.expirationTtl ? { expiration_ttl: p.expirationTtl } : {}),
        }));
        const envelope = await callJson('PUT', '/bulk', body);
        const failed =
          (envelope.result as { unsuccessful_keys?: string[] } | undefined)?.unsuccessful_keys ??
          [];
        if (failed.length)
          throw new CliError(
            `Cloudflare API did not store ${failed.length} keys (first: ${failed[0]})`,
            'run the command again',
          );
        done += batch.length;
        progress?.(done);
      }
    },

    async delete(keys) {
      for (let i = 0; i < keys.length; i += KV_BULK_MAX_PAIRS)
        await callJson('POST', '/bulk/delete', keys.slice(i, i + KV_BULK_MAX_PAIRS));
    },

    async list(prefix) {
      const names: string[] = [];
      let cursor = '';
      do {
        const q = new URLSearchParams({ prefix, limit: String(KV_LIST_PAGE) });
        if (cursor) q.set('cursor', cursor);
        const envelope = await callJson('GET', `/keys?${q}`);
        for (const k of (envelope.result as { name: string }[] | undefined) ?? [])
          names.push(k.name);
        cursor = envelope.result_info?.cursor ?? '';
      } while (cursor);
      return names;
    },
  };
}

/** Splits pairs into bulk requests within the API's pair and size limits, keeping order. */
export function batches(pairs: KvPair[]): KvPair[][] {
  const out: KvPair[][] = [];
  let current: KvPair[] = [];
  let bytes = 0;
  for (const p of pairs) {
    const size = Math.ceil(p.value.length / 3) * 4 + p.key.length + 64;
    if (
      current.length &&
      (current.length >= KV_BULK_MAX_PAIRS || bytes + size > KV_BULK_MAX_BYTES)
    ) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(p);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}
