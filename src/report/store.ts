/**
 * The store the Worker's report (the dashboard) reads, from the bindings: D1 when DECISIONS_DB
 * is bound — with both sinks bound it holds the same events, answers without an API token and
 * is exact (no sampling) — else Analytics Engine through the SQL API when DECISIONS is bound
 * and the secrets CLOUDFLARE_ACCOUNT_ID and ANALYTICS_API_TOKEN are set, else none.
 */
import {
  AE_SQL_WORKER_ATTEMPTS,
  AE_SQL_WORKER_TIMEOUT_MS,
  CLOUDFLARE_API_BASE,
  DECISIONS_DATASET_DEFAULT,
} from '../constants';
import type { Env } from '../env';
import type { FetchLike } from './ae-sql';
import { analyticsEngineStore } from './analytics-engine';
import { d1Store } from './d1';
import { d1Reader } from './d1-binding';
import type { DecisionStore } from './types';

export interface DecisionStoreOptions {
  /** The fetch Analytics Engine queries go through (default: the global fetch). */
  fetch?: FetchLike;
}

export function decisionStoreFor(
  env: Env,
  options: DecisionStoreOptions = {},
): DecisionStore | null {
  if (env.DECISIONS_DB) return d1Store(d1Reader(env.DECISIONS_DB));
  const accountId = env.CLOUDFLARE_ACCOUNT_ID?.trim();
  const apiToken = env.ANALYTICS_API_TOKEN?.trim();
  if (!env.DECISIONS || !accountId || !apiToken) return null;
  return analyticsEngineStore({
    dataset: env.DECISIONS_DATASET?.trim() || DECISIONS_DATASET_DEFAULT,
    accountId,
    apiToken,
    apiBase: env.CLOUDFLARE_API_BASE_URL?.trim() || CLOUDFLARE_API_BASE,
    fetch: options.fetch,
    timeoutMs: AE_SQL_WORKER_TIMEOUT_MS,
    retry: { attempts: AE_SQL_WORKER_ATTEMPTS },
  });
}
