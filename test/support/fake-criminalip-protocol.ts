/**
 * What tests and the fake Criminal IP server (fake-criminalip.ts) agree on: keys, modes, the
 * control requests and the stats. Plain data and `fetch` only, so both the Node side and tests
 * inside workerd can import it.
 *
 * Every path may start with `/t/<scope>`: each scope has its own mode, canned records and
 * stats, so a test that uses `scopeUrl(base, testId())` as its provider base URL sees only its
 * own calls. Paths without a scope share the scope `default`.
 */

/** The only `x-api-key` the fake accepts for Criminal IP. */
export const FAKE_CRIMINALIP_KEY = 'fake-criminalip-key-0123456789abcdef';
/** The only `Key` the fake accepts for AbuseIPDB. */
export const FAKE_ABUSEIPDB_KEY = 'fake-abuseipdb-key-0123456789abcdef';

export const FAKE_MODES = [
  /** Documented success bodies: the canned record for the IP, else a Safe one. */
  'success',
  /** "invalid api key" (AbuseIPDB: 401). */
  'invalid_key',
  /** "limit exceeded" (AbuseIPDB: 429 daily limit). */
  'quota',
  /** "unable to call api at the same time" (AbuseIPDB: 429). */
  'concurrency',
  /** "Invalid IP Address." (AbuseIPDB: 422). */
  'invalid_ip',
  /** Success after `delayMs` (default 2000). */
  'slow',
  /** HTTP 500 with an HTML error page. */
  'html500',
  /** HTTP 200 with an HTML page (a proxy or captive portal in the way). */
  'html200',
  /** HTTP 200, valid JSON, but not the documented shape. */
  'wrong_json',
  /** An error whose message repeats the API key it was sent (tests redaction). */
  'echo_key',
  /** HTTP 200, application/json, but only the first half of the success body. */
  'truncated_json',
  /**
   * HTTP 200 announcing the whole success body in Content-Length, then the connection is
   * closed halfway through it.
   */
  'drop_mid_body',
] as const;
export type FakeMode = (typeof FAKE_MODES)[number];

/** Body of `POST {scope}/__fake/mode`; unset fields keep their value. */
export interface FakeModeRequest {
  mode?: FakeMode;
  /** Delay before every API answer, in ms (`slow` defaults to 2000). */
  delayMs?: number;
  /** The mode serves this many API calls, then the scope is back to `success`. */
  times?: number;
  /**
   * Criminal IP only: a call made while another is in flight in the same scope gets "unable to
   * call api at the same time", as a non-Enterprise key does. Default true.
   */
  rejectConcurrent?: boolean;
  /** Error bodies also carry their status as the HTTP status (default: HTTP 200). */
  httpErrors?: boolean;
  /**
   * A delayed call whose client gives up stays in flight until its answer would have been sent,
   * as on the real API, which goes on working on it. Default false: it ends with the connection.
   */
  holdAfterAbort?: boolean;
}

/** Body of `POST {scope}/__fake/records`: per-IP fields merged over the default success body. */
export interface FakeRecords {
  /** Fields of a suspicious-info body, e.g. `{ score: { inbound: 'Critical' } }`. */
  criminalip?: Record<string, Record<string, unknown>>;
  /** Fields of the check body's `data`, e.g. `{ abuseConfidenceScore: 90 }`. */
  abuseipdb?: Record<string, Record<string, unknown>>;
}

/** Answer of `GET {scope}/__fake/stats`. */
export interface FakeStats {
  mode: FakeMode;
  /** API calls received (both providers), whatever the answer. */
  calls: number;
  byRoute: { criminalip: number; abuseipdb: number };
  /** The `ip` / `ipAddress` of each call, in order. */
  ips: string[];
  /** Calls without the right key. */
  rejectedKeys: number;
  /** API calls being answered now. */
  inFlight: number;
  /** Most API calls ever in flight at once in this scope. */
  maxConcurrent: number;
}

/** A provider base URL for one scope of the fake. */
export function scopeUrl(fakeUrl: string, scope: string): string {
  return `${fakeUrl.replace(/\/+$/, '')}/t/${encodeURIComponent(scope)}`;
}

async function control(url: string, init?: RequestInit): Promise<unknown> {
  const res = await fetch(url, init);
  const text = await res.text();
  if (!res.ok) throw new Error(`fake control ${url}: HTTP ${res.status} ${text}`);
  return JSON.parse(text) as unknown;
}

const post = (body: unknown): RequestInit => ({
  method: 'POST',
  headers: { 'content-type': 'application/json' },
  body: JSON.stringify(body),
});

/** Sets the mode of the scope at `base` (a `scopeUrl`). */
export async function setFakeMode(base: string, request: FakeModeRequest): Promise<void> {
  await control(`${base}/__fake/mode`, post(request));
}

/** Adds canned records to the scope at `base`. */
export async function setFakeRecords(base: string, records: FakeRecords): Promise<void> {
  await control(`${base}/__fake/records`, post(records));
}

/** The stats of the scope at `base`. */
export async function fakeStats(base: string): Promise<FakeStats> {
  return (await control(`${base}/__fake/stats`)) as FakeStats;
}

/** Forgets the scope at `base`: mode, records and stats. */
export async function resetFake(base: string): Promise<void> {
  await control(`${base}/__fake/reset`, { method: 'POST' });
}
