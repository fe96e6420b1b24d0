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
/**
 * A new generation that keeps failing to load is retried after TABLE_RETRY_AFTER_MS, doubled
 * after each failure up to this: a corrupt or half-published table costs a few chunk reads an
 * hour, not one every few seconds.
 */
export const TABLE_PENDING_RETRY_MAX_MS = 600_000;
/** `cacheTtl` passed to KV reads of table data (edge cache of the immutable chunks). */
export const TABLE_CHUNK_CACHE_TTL_S = 3_600;
/**
 * Parsed table records kept per generation (a power of two, direct-mapped by record id): a
 * flood from a few addresses parses their records once; everything else is text until looked up.
 */
export const RECORD_STORE_CACHE_SLOTS = 1024;
/**
 * First size of a generation's record text buffer (a realistic table's tens of thousands of
 * distinct records take about 10 MB), and the factor it grows by when full: at most a quarter
 * of it is unused, and the copies made while growing add up to a few times its final size.
 */
export const RECORD_STORE_INITIAL_BYTES = 64 * 1024;
export const RECORD_STORE_GROWTH = 1.25;

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

// ── Reputation providers: live API clients (src/providers/) ────────────────────────────────

/** Criminal IP API base; the Worker's CRIMINALIP_API_URL replaces it (local runs, tests). */
export const CRIMINALIP_API_BASE = 'https://api.criminalip.io';
/** Criminal IP endpoint for one IP's inbound score and flags (`?ip=`). */
export const CRIMINALIP_SUSPICIOUS_INFO_PATH = '/v2/feature/ip/suspicious-info';
/** AbuseIPDB API base. */
export const ABUSEIPDB_API_BASE = 'https://api.abuseipdb.com';
/** AbuseIPDB endpoint for one IP's abuse confidence score and facts (`?ipAddress=`). */
export const ABUSEIPDB_CHECK_PATH = '/api/v2/check';
/** Oldest AbuseIPDB reports that count toward the score, in days (the API's own default is 30). */
export const ABUSEIPDB_MAX_AGE_DAYS = 90;
/**
 * AbuseIPDB abuseConfidenceScore (0–100) onto the five levels: the lowest score of each level,
 * highest first. 0 means never reported (safe); a few reports stay low or moderate; from 50 the
 * provider is more sure than not that the address is abusive (dangerous, blocked on auth
 * paths); from 80 it is near certain (critical).
 */
export const ABUSEIPDB_SCORE_LEVELS: ReadonlyArray<
  readonly [minScore: number, level: 'safe' | 'low' | 'moderate' | 'dangerous' | 'critical']
> = [
  [80, 'critical'],
  [50, 'dangerous'],
  [25, 'moderate'],
  [1, 'low'],
  [0, 'safe'],
];
/** AbuseIPDB `usageType` that makes an address a `hosting` source. */
export const ABUSEIPDB_HOSTING_USAGE = 'Data Center/Web Hosting/Transit';
/** Longest a provider call may take when the caller gives no deadline of its own. */
export const PROVIDER_TIMEOUT_MS = 5_000;
/** Largest provider response body read, in bytes (a suspicious-info body is a few KiB). */
export const PROVIDER_MAX_BODY_BYTES = 1024 * 1024;
/** Longest provider message kept in a failure (the rest is cut). */
export const PROVIDER_MAX_MESSAGE_CHARS = 200;

// ── Challenge: Turnstile page and clearance cookie (src/challenge/) ───────────────────────

/** Path the challenge form posts its Turnstile token to; under RESERVED_PREFIX, never proxied. */
export const CHALLENGE_PATH = `${RESERVED_PREFIX}/challenge`;
/** Largest challenge form body read, in bytes (a token is at most 2,048 characters). */
export const CHALLENGE_MAX_FORM_BYTES = 8 * 1024;
/** Longest return path carried through the challenge; longer ones return to `/`. */
export const CHALLENGE_MAX_RETURN_CHARS = 2_048;
/**
 * Name of the clearance cookie. The `__Host-` prefix makes browsers refuse it unless it is
 * Secure, has Path=/ and no Domain, so no sibling subdomain can plant or widen it.
 */
export const CLEARANCE_COOKIE_NAME = '__Host-ipgate_clearance';
/** Version of the signed clearance payload; a verifier refuses any other. */
export const CLEARANCE_VERSION = 1;
/** Default lifetime of a clearance, in seconds (Cloudflare's own challenge passage default). */
export const CLEARANCE_TTL_S = 30 * 60;
/** Longest lifetime a clearance may be signed for, in seconds: it cannot be revoked early. */
export const CLEARANCE_MAX_TTL_S = 24 * 3600;
/** Longest cookie value the verifier decodes; anything longer is malformed before any work. */
export const CLEARANCE_MAX_CHARS = 256;
/** Shortest secret accepted for signing clearances (32 characters ≈ an HMAC-SHA256 key). */
export const CLEARANCE_SECRET_MIN_CHARS = 32;
/** Turnstile's server-side validation endpoint. */
export const TURNSTILE_SITEVERIFY_URL = 'https://challenges.cloudflare.com/turnstile/v0/siteverify';
/** Turnstile's widget script: the one external script ipgate's pages load. */
export const TURNSTILE_SCRIPT_URL = 'https://challenges.cloudflare.com/turnstile/v0/api.js';
/** Origin of the Turnstile script and iframe, for the challenge page's CSP. */
export const TURNSTILE_ORIGIN = 'https://challenges.cloudflare.com';
/** Deadline for one siteverify call, response body included. */
export const TURNSTILE_VERIFY_TIMEOUT_MS = 3_000;
/** Longest token sent to siteverify (documented maximum: 2,048 characters). */
export const TURNSTILE_MAX_TOKEN_CHARS = 2_048;
/** Largest siteverify response body read, in bytes (a verdict is a few hundred bytes). */
export const TURNSTILE_MAX_RESPONSE_BYTES = 16 * 1024;
/** Most siteverify error codes kept in a result. */
export const TURNSTILE_MAX_ERROR_CODES = 8;
/** Action the widget is rendered with; siteverify must echo it back. */
export const TURNSTILE_ACTION = 'ipgate-challenge';

// ── Live reputation: API cache and the broker Durable Object (src/reputation/) ─────────────

/** Default deadline for a live lookup (API cache read plus broker call), in ms. */
export const LIVE_DEADLINE_MS = 1_500;
/** Default API calls per UTC day, across all isolates (the broker counts them). */
export const LIVE_DAILY_BUDGET = 1_000;
/** Most concurrent provider calls a policy may allow (Enterprise Criminal IP keys). */
export const LIVE_MAX_CONCURRENCY = 16;
/** Most lookups waiting in the broker; more are answered `busy` at once. */
export const LIVE_QUEUE_MAX = 64;
/** Pause after the provider refused a concurrent call, in ms. */
export const LIVE_BACKOFF_MS = 1_000;
/** Consecutive transient failures (5xx, timeouts, bad bodies) that open the circuit. */
export const LIVE_FAILURES_TO_OPEN = 5;
/** How long the circuit stays open after repeated transient failures, in ms. */
export const LIVE_CIRCUIT_COOLDOWN_MS = 60_000;
/** Deadline for one provider call made by the broker, in ms (the queue must keep moving). */
export const LIVE_CALL_TIMEOUT_MS = 4_000;
/** How long an isolate remembers a live answer (or an answer in flight) for an IP, in ms. */
export const LIVE_ISOLATE_MEMO_MS = 60_000;
/** Most IPs an isolate remembers live answers for. */
export const LIVE_ISOLATE_MEMO_MAX = 10_000;
/** Longest the health endpoint waits for the broker's status, in ms. */
export const LIVE_STATUS_DEADLINE_MS = 500;
/** Name of the one broker Durable Object per provider (`idFromName`). */
export const LIVE_BROKER_NAME_PREFIX = 'broker:';
/** Key prefix of the API cache in REPUTATION: `api:<provider>:<client key>`. */
export const API_CACHE_PREFIX = 'api:';
/**
 * API cache lifetime by the record's risk, in seconds. Dirty verdicts are stable and costly to
 * ask again; clean answers and anonymizer flags change as addresses are reassigned, so they
 * are asked again sooner. KV's minimum expirationTtl is 60 s.
 */
export const API_CACHE_TTL_S = {
  dirty: 7 * 24 * 3600,
  anonymizer: 24 * 3600,
  clean: 12 * 3600,
} as const;

// ── CLI: ipgate enrich (cli/commands/enrich.ts, cli/enrich/) ──────────────────────────────

/** Provider API calls one `ipgate enrich` run may make unless `--budget` says otherwise. */
export const ENRICH_DEFAULT_BUDGET = 100;
/** Attempts per address for transient provider failures (server, timeout, network, bad answer). */
export const ENRICH_RETRY_ATTEMPTS = 3;
/** Attempts per address while the provider refuses concurrent calls (another client on the key). */
export const ENRICH_CONCURRENCY_ATTEMPTS = 5;
/** First back-off before a retry; doubled each time, with jitter (IPGATE_ENRICH_BACKOFF_MS overrides). */
export const ENRICH_BACKOFF_BASE_MS = 1_000;
/** Longest single back-off before a retry. */
export const ENRICH_BACKOFF_MAX_MS = 30_000;
/** Default window of the decision log read by `--from-log` (`--since`). */
export const ENRICH_DEFAULT_SINCE = '24h';
/** Longest `--since` window: Analytics Engine keeps data for three months. */
export const ENRICH_MAX_SINCE_DAYS = 90;
/** Most distinct client keys one decision-log query returns (busiest first). */
export const ENRICH_LOG_MAX_IPS = 10_000;
/** Most bad input lines printed one by one; the rest are counted. */
export const ENRICH_MAX_REPORTED_PROBLEMS = 20;
/** Deadline for reading the current table from KV to skip addresses it knows (local reads spawn wrangler). */
export const ENRICH_TABLE_READ_DEADLINE_MS = 600_000;

// ── Admin dashboard and API (src/admin/) ──────────────────────────────────────────────────

/** Shortest ADMIN_TOKEN accepted; a shorter one leaves the dashboard disabled (misconfigured). */
export const ADMIN_TOKEN_MIN_CHARS = 32;
/**
 * The dashboard's session cookie. `__Secure-` makes browsers refuse it unless Secure; its Path
 * is RESERVED_PREFIX, so it is never sent with (nor forwarded in) a request for the origin.
 */
export const ADMIN_SESSION_COOKIE = '__Secure-ipgate_admin';
/** Double-submit CSRF cookie for Cloudflare Access sign-ins, which have no session cookie. */
export const ADMIN_CSRF_COOKIE = '__Secure-ipgate_csrf';
/** Lifetime of a dashboard session, in seconds; a stateless cookie cannot be revoked early. */
export const ADMIN_SESSION_TTL_S = 8 * 3600;
/** Version of the signed session payload; a verifier refuses any other. */
export const ADMIN_SESSION_VERSION = 1;
/** Longest session or CSRF cookie value decoded; anything longer is malformed before any work. */
export const ADMIN_COOKIE_MAX_CHARS = 256;
/** Failed sign-ins (form or bearer) from one client key before sign-in is refused for a while. */
export const ADMIN_SIGNIN_MAX_FAILURES = 5;
/** Window in which failures are counted and then refused, in seconds (KV's TTL minimum is 60). */
export const ADMIN_SIGNIN_WINDOW_S = 15 * 60;
/** Pause before answering a failed sign-in, in ms: slows guessing within one connection. */
export const ADMIN_SIGNIN_FAILURE_DELAY_MS = 300;
/** Key prefix in POLICY of the cross-isolate failure counter: `admin:signin-failures:<client key>`. */
export const ADMIN_SIGNIN_FAILURES_PREFIX = 'admin:signin-failures:';
/** Most client keys one isolate tracks failures for; the map is cleared when full. */
export const ADMIN_SIGNIN_MEMO_MAX = 10_000;
/** Largest admin request body read (a policy form carries the document, URL-encoded), in bytes. */
export const ADMIN_MAX_BODY_BYTES = 1024 * 1024;
/** Request header in which Cloudflare Access passes its signed application token. */
export const ACCESS_JWT_HEADER = 'Cf-Access-Jwt-Assertion';
/** Path of a team's signing keys (JWKS) on `<team>.cloudflareaccess.com`. */
export const ACCESS_CERTS_PATH = '/cdn-cgi/access/certs';
/** How long an isolate keeps the team's signing keys; Access rotates them every 6 weeks. */
export const ACCESS_JWKS_TTL_MS = 3600_000;
/** Least time between two key fetches, so made-up key ids cannot flood Cloudflare. */
export const ACCESS_JWKS_REFETCH_MIN_MS = 60_000;
/** Deadline for fetching the team's signing keys. */
export const ACCESS_JWKS_DEADLINE_MS = 3_000;
/** Largest JWKS document read, in bytes (two RSA keys and two certificates are a few KiB). */
export const ACCESS_JWKS_MAX_BYTES = 64 * 1024;
/** Clock skew allowed when checking an Access token's `exp` and `nbf`, in seconds. */
export const ACCESS_CLOCK_SKEW_S = 60;
/** Longest Access token decoded. */
export const ACCESS_JWT_MAX_CHARS = 16 * 1024;
/** Window choices on the dashboard (relative to now). */
export const ADMIN_REPORT_WINDOWS = ['1h', '6h', '24h', '7d', '30d'] as const;
/** Recent blocks listed when the request names no limit. */
export const ADMIN_BLOCKS_DEFAULT_LIMIT = 50;
/** Window of an IP's drill-down when the request names none, in ms. */
export const ADMIN_IP_DEFAULT_WINDOW_MS = 7 * 24 * 3600_000;
/** Most decisions listed in an IP's drill-down. */
export const ADMIN_IP_DECISIONS_LIMIT = 100;
/** Largest line-diff table (old lines × new lines) computed exactly; beyond it, one block. */
export const ADMIN_DIFF_MAX_CELLS = 4_000_000;
/** Longest decision-store error message shown (the rest is cut). */
export const ADMIN_STORE_ERROR_MAX_CHARS = 200;
/** `max-age` of the dashboard's static assets (chart library, script, style), in seconds. */
export const ADMIN_ASSET_MAX_AGE_S = 3600;

// ── Decision stores and the report (src/sink/d1.ts, src/sink/retention.ts, src/report/, ─────
// ── cli/commands/report.ts) ──────────────────────────────────────────────────────────────────

/** Events the D1 sink coalesces into one `db.batch()`; a full batch is flushed at once. */
export const D1_SINK_MAX_BATCH = 50;
/** Days decision events are kept in D1 when DECISIONS_RETENTION_DAYS is unset or invalid. */
export const DECISIONS_RETENTION_DAYS_DEFAULT = 30;
/** Longest retention DECISIONS_RETENTION_DAYS may set, in days. */
export const DECISIONS_RETENTION_MAX_DAYS = 3_650;
/** Rows one retention DELETE removes, so no single D1 query runs long. */
export const DECISIONS_CLEANUP_BATCH = 5_000;
/** Most DELETE rounds one cleanup run makes (then the next cron run goes on). */
export const DECISIONS_CLEANUP_MAX_ROUNDS = 200;
/** Analytics Engine dataset read when DECISIONS_DATASET is unset (wrangler.toml's dataset). */
export const DECISIONS_DATASET_DEFAULT = 'ipgate_decisions';
/** Entries in each of the report's top lists (countries, ISPs, paths). */
export const REPORT_TOP_N = 10;
/** About how many timeline buckets a window is cut into when the query names no length. */
export const REPORT_DEFAULT_BUCKETS = 24;
/** Shortest timeline bucket, ms (whole minutes keep Analytics Engine's 1 s clock exact). */
export const REPORT_MIN_BUCKET_MS = 60_000;
/** Most timeline buckets one report may have. */
export const REPORT_MAX_BUCKETS = 1_000;
/** Longest report window, days. */
export const REPORT_MAX_WINDOW_DAYS = 366;
/**
 * Most per-client rows (client × action × reason × record) one report reads; beyond it the IP
 * counts cover the busiest clients only and the report says `truncated`.
 */
export const REPORT_MAX_CLIENT_ROWS = 50_000;
/** Most decisions `recentBlocks` and `decisionsFor` return. */
export const REPORT_MAX_ROWS = 1_000;
/** Recent blocks `ipgate report` lists in its text output unless --recent says otherwise. */
export const REPORT_DEFAULT_RECENT = 10;
/** Default window of `ipgate report` (`--since`). */
export const REPORT_DEFAULT_SINCE = '24h';
/** Deadline for one Analytics Engine SQL API call made by the Worker, ms. */
export const AE_SQL_WORKER_TIMEOUT_MS = 10_000;
/** Attempts for one Analytics Engine SQL API call made by the Worker (429 and 5xx retried). */
export const AE_SQL_WORKER_ATTEMPTS = 2;

// ── CLI: ipgate replay and npm run demo:attack (cli/commands/replay.ts, scripts/demo-attack.ts) ──

/** Target `ipgate replay` uses without `--target`: the Worker `npm start` runs. */
export const REPLAY_DEFAULT_TARGET = 'http://localhost:8787';
/** Path `ipgate replay` requests without `--path`: the case's flooded login page. */
export const REPLAY_DEFAULT_PATH = '/login';
/** Requests per second `ipgate replay` sends at most unless `--rate` says otherwise. */
export const REPLAY_DEFAULT_RATE = 200;
/** Highest `--rate` accepted (wrangler dev on a laptop saturates long before). */
export const REPLAY_MAX_RATE = 10_000;
/** Requests in flight at once unless `--concurrency` says otherwise. */
export const REPLAY_DEFAULT_CONCURRENCY = 16;
/** Highest `--concurrency` accepted. */
export const REPLAY_MAX_CONCURRENCY = 256;
/** Highest `--requests-per-ip` accepted. */
export const REPLAY_MAX_REQUESTS_PER_IP = 1_000;
/** Longest one replayed request may take before it counts as a network error (`timeout`). */
export const REPLAY_REQUEST_TIMEOUT_MS = 10_000;
/** Longest the check that something answers at the target (`/__ipgate/health`) may take. */
export const REPLAY_PREFLIGHT_TIMEOUT_MS = 5_000;
/** Most bytes of a response body read (a 403 tells a block from a challenge; ipgate's is ~200 B). */
export const REPLAY_MAX_BODY_BYTES = 16 * 1024;
/** Most bad CSV lines printed one by one; the rest are counted. */
export const REPLAY_MAX_REPORTED_PROBLEMS = 20;
/** Seed of the demo's attack-set PRNG when `--seed` is not given (any 32-bit integer). */
export const DEMO_DEFAULT_SEED = 20_240_613;
/** Ordinary residential users the demo replays beside the attackers (never in the table). */
export const DEMO_RESIDENTIAL_USERS = 500;
/** Longest the demo waits for a stack it started itself to answer /__ipgate/health. */
export const DEMO_START_TIMEOUT_MS = 120_000;
/** Longest the demo waits for a running Worker to switch to the freshly synced table. */
export const DEMO_TABLE_SWITCH_TIMEOUT_MS = 90_000;

// ── Hostile input: policy document text (src/policy/json-text.ts) ─────────────────────────

/** Deepest nesting of objects and arrays accepted in a policy document (a valid one uses 6). */
export const POLICY_MAX_DEPTH = 32;

// ── Hostile input: client IPs, paths and methods (src/ip/, src/gate/, src/policy/paths.ts) ──

/** Longest address text (before any `%zone`): a full IPv6 address with an IPv4 tail. */
export const IP_TEXT_MAX_CHARS = 45;
/**
 * Class E, where Cloudflare's Pseudo IPv4 ("Overwrite Headers") puts a stand-in for an IPv6
 * client in CF-Connecting-IP; the real address is then in CF_CONNECTING_IPV6_HEADER.
 */
export const PSEUDO_IPV4_NETWORK = '240.0.0.0/4';
/** Header with the real IPv6 address of a client that Pseudo IPv4 gave a Class E address. */
export const CF_CONNECTING_IPV6_HEADER = 'CF-Connecting-IPv6';
/** Headers by which a client asks the origin to treat a request as another method. */
export const METHOD_OVERRIDE_HEADERS = [
  'X-HTTP-Method-Override',
  'X-HTTP-Method',
  'X-Method-Override',
] as const;
/** Query parameter by which a client asks the origin to treat a request as another method. */
export const METHOD_OVERRIDE_PARAM = '_method';
/** Most override methods one request is classified under (beyond them the rest are ignored). */
export const METHOD_OVERRIDE_MAX = 8;
/**
 * Last-segment extensions of scripts that take extra path segments as PATH_INFO
 * (`/wp-login.php/x` runs wp-login.php on Apache and PHP-FPM): an exact rule for such a script
 * also covers everything below it.
 */
export const PATH_SCRIPT_EXTENSIONS: readonly string[] = [
  '.php',
  '.phtml',
  '.asp',
  '.aspx',
  '.cgi',
  '.pl',
];

// ── Faults: bounds on waiting for the live chain and the decision store ────────────────────

/**
 * Longest an isolate waits for the API cache before asking the broker instead (a KV read's
 * p99 is a few hundred ms; a hung read must not turn every live lookup into a timeout).
 */
export const LIVE_CACHE_READ_DEADLINE_MS = 500;
/**
 * Longest an isolate waits in the background for a live answer before giving the question up
 * as unavailable; below the 30 s that work may run after the response (`waitUntil`).
 */
export const LIVE_ANSWER_MAX_MS = 20_000;
/** Longest one D1 batch of decision events may take before it counts as failed. */
export const D1_SINK_FLUSH_DEADLINE_MS = 10_000;
