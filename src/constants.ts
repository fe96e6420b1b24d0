/**
 * Every timeout, TTL, cap and key prefix of ipgate, in one place.
 *
 * Values that an operator may want to change per site live in the policy document instead
 * (see `src/policy/schema.ts`); these are the engineering limits behind them.
 */

// ── Reserved routes ────────────────────────────────────────────────────────────────────────

/** Path prefix that ipgate answers itself and never proxies to the origin. */
export const RESERVED_PREFIX = '/__ipgate';

// ── KV keys (documented in docs/kv-schema.md) ──────────────────────────────────────────────

/** Key in `REPUTATION` that names the current table generation and its chunks. */
export const TABLE_MANIFEST_KEY = 'table:manifest';
/** Prefix of table chunk keys: `table:chunk:<family>:<sha256 of the chunk>`. */
export const TABLE_CHUNK_PREFIX = 'table:chunk:';
/** Key in `POLICY` that holds the active policy document (JSON). */
export const POLICY_CURRENT_KEY = 'policy:current';

// ── Table format ───────────────────────────────────────────────────────────────────────────

/** Four magic bytes at the start of every table chunk ("IPGT"). */
export const TABLE_MAGIC = 0x54475049;
/** Version of the binary chunk layout; a decoder refuses any other. */
export const TABLE_FORMAT_VERSION = 2;
/** Version of the manifest JSON document; a reader refuses any other. */
export const TABLE_MANIFEST_VERSION = 1;
/** Size in bytes of the fixed chunk header. */
export const TABLE_HEADER_BYTES = 32;
/** Most intervals written into one chunk (≈ 2.4 MiB for IPv4, far below KV's 25 MiB). */
export const TABLE_CHUNK_MAX_INTERVALS = 262_144;
/** Bits of the key used by the in-memory bucket index that narrows each binary search. */
export const TABLE_INDEX_BITS = 16;
/** Most distinct attribute records one chunk may reference (the widest index is 32-bit). */
export const TABLE_MAX_ATTRIBUTES = 0xffff_ffff;
/** Largest attribute dictionary a chunk may carry, in bytes. */
export const TABLE_MAX_DICTIONARY_BYTES = 16 * 1024 * 1024;

// ── Table loading in the Worker ────────────────────────────────────────────────────────────

/** How long a loaded manifest is trusted before a background check for a new generation. */
export const TABLE_REFRESH_INTERVAL_MS = 30_000;
/** After a failed manifest or chunk load, how long to wait before trying again. */
export const TABLE_RETRY_AFTER_MS = 5_000;
/** `cacheTtl` passed to KV reads of table data (edge cache of the immutable chunks). */
export const TABLE_CHUNK_CACHE_TTL_S = 3_600;

// ── Policy ─────────────────────────────────────────────────────────────────────────────────

/** After this age a cached policy is refreshed in the background (request not delayed). */
export const POLICY_SOFT_TTL_MS = 30_000;
/** After this age a cached policy is never used without first trying to reload it. */
export const POLICY_HARD_TTL_MS = 60_000;
/** Deadline for reading the policy from KV on the request path. */
export const POLICY_LOAD_DEADLINE_MS = 500;
/** Largest policy document accepted, in bytes. */
export const POLICY_MAX_BYTES = 256 * 1024;
/** Most problems listed when a policy is refused. */
export const POLICY_MAX_REPORTED_ISSUES = 50;

// ── Paths ──────────────────────────────────────────────────────────────────────────────────

/** Rounds of percent-decoding applied when canonicalising a path (catches double encoding). */
export const PATH_MAX_DECODE_ROUNDS = 3;
/** Longest path kept in a decision event; longer paths are cut. */
export const EVENT_MAX_PATH_CHARS = 512;

// ── Decisions and analytics ────────────────────────────────────────────────────────────────

/** Analytics Engine: total bytes allowed across all blobs of one data point (documented limit). */
export const AE_MAX_BLOB_BYTES = 5_120;
/** Analytics Engine: largest index in bytes. */
export const AE_MAX_INDEX_BYTES = 96;
/** Longest organisation name kept in an event. */
export const EVENT_MAX_ORG_CHARS = 128;
/** Version of the event layout written to the sink (blob1). */
export const EVENT_SCHEMA_VERSION = 1;

// ── Responses ──────────────────────────────────────────────────────────────────────────────

/** Header on every response ipgate produces itself, carrying the decision's reference id. */
export const REFERENCE_HEADER = 'X-Ipgate-Ref';

// ── Table format: limits added with the codec (src/table/) ────────────────────────────────

/** Largest chunk written or accepted, in bytes (KV's 25 MiB value limit). */
export const TABLE_CHUNK_MAX_BYTES = 25 * 1024 * 1024;
/** Bits of the key (IPv4 value, IPv6 upper half) of the directory that finds a key's chunk. */
export const TABLE_CHUNK_INDEX_BITS = 12;
/** Most problems listed when a manifest is refused. */
export const TABLE_MANIFEST_MAX_REPORTED_ISSUES = 10;

// ── Table format: content-defined chunk boundaries (src/table/codec.ts) ──────────────────

/**
 * A chunk starts where an interval's key hash is the lowest of maxIntervals / this many on each
 * side; chunks then hold more than that many intervals, and about twice as many on average.
 */
export const TABLE_CHUNK_MIN_DIVISOR = 4;

// ── Reputation facts ───────────────────────────────────────────────────────────────────────

/** Open ports that make an address a `remote` (SSH, RDP) source in provider data. */
export const REMOTE_ACCESS_PORTS: ReadonlySet<number> = new Set([22, 3389]);

// ── CLI: Cloudflare API, feeds, policy versions ────────────────────────────────────────────

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
