/**
 * Limits and timings of the CLI (Cloudflare API, feed fetching). Kept beside the Worker's
 * constants in spirit: every number the tools use is named here once.
 */

/** Cloudflare API base; CLOUDFLARE_API_BASE_URL replaces it (proxies, tests). */
export const CLOUDFLARE_API_BASE = 'https://api.cloudflare.com/client/v4';
/** Most pairs in one KV bulk write or delete (documented API limit). */
export const KV_BULK_MAX_PAIRS = 10_000;
/** Largest bulk write body we send; the API allows 100 MB, JSON and base64 overhead included. */
export const KV_BULK_MAX_BYTES = 90 * 1024 * 1024;
/** Attempts for one Cloudflare API call before giving up (429 and 5xx are retried). */
export const API_MAX_ATTEMPTS = 6;
/** First backoff delay; doubled each retry, with jitter, unless Retry-After says otherwise. */
export const API_BACKOFF_BASE_MS = 500;
/** Longest single backoff delay. */
export const API_BACKOFF_MAX_MS = 30_000;
/** Timeout for one Cloudflare API request. */
export const API_TIMEOUT_MS = 60_000;
/** Keys per page when listing KV keys (API maximum). */
export const KV_LIST_PAGE = 1_000;

/** Timeout for fetching one feed URL. */
export const FEED_FETCH_TIMEOUT_MS = 60_000;
/** Attempts for one feed URL (network errors, 429 and 5xx are retried). */
export const FEED_FETCH_ATTEMPTS = 3;
/** Largest feed accepted, in bytes. */
export const FEED_MAX_BYTES = 512 * 1024 * 1024;

/** How long chunks no manifest refers to any more are kept before deletion (readers in flight). */
export const OLD_CHUNK_TTL_S = 24 * 3600;
/** Key prefix of saved policy versions in POLICY: `policy:version:<time>-<hash>`. */
export const POLICY_VERSION_PREFIX = 'policy:version:';
