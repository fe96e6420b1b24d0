/**
 * The replay engine: K GET requests per client to one URL, each with the client's address as
 * `CF-Connecting-IP`, the run id as `x-ipgate-replay` and `Accept: application/json`, at most
 * `rate` requests started per second and at most `concurrency` in flight.
 *
 * Pacing is by slots 1/rate apart, shared by all workers: a request takes the next free slot,
 * and never one in the past, so the rate holds whatever the concurrency and a stall (a slow
 * target, a busy event loop) never turns into a catch-up burst. Requests go client by client
 * (all K for one address, then the next), like a flood where each bot repeats itself.
 *
 * What ipgate answered is read from the response, never guessed: its block page carries the
 * reference header (REFERENCE_HEADER) and, asked for JSON, `{"error": "blocked"}` or
 * `{"error": "challenge_required"}`. The reason is deliberately not in the response (it goes
 * only to the decision log), so outcomes are grouped here by what the CSV says of the client —
 * its score and categories — and `ipgate report` shows the reasons. A network failure is one
 * counted outcome with its code (ECONNREFUSED, timeout, …), never an exception.
 */
import {
  REFERENCE_HEADER,
  REPLAY_MAX_BODY_BYTES,
  REPLAY_REQUEST_TIMEOUT_MS,
} from '../../src/constants';
import type { ReplayClient } from './targets';

/** What one request came to. */
export type Outcome =
  /** ipgate's block response (403, reference header, `error: "blocked"`). */
  | 'blocked'
  /** ipgate's challenge page (403, reference header, `error: "challenge_required"`). */
  | 'challenged'
  /** Anything without ipgate's reference header: the origin's answer, whatever its status. */
  | 'passed'
  /** ipgate answered itself but not with a decision (e.g. 502, origin unreachable). */
  | 'ipgate_error'
  /** No HTTP answer: refused, reset, timed out. */
  | 'network_error';

export const OUTCOMES: readonly Outcome[] = [
  'blocked',
  'challenged',
  'passed',
  'ipgate_error',
  'network_error',
];

export interface RequestResult {
  outcome: Outcome;
  /** HTTP status, or 0 for a network error. */
  status: number;
  /** Network error code (`ECONNREFUSED`, `timeout`, …). */
  error?: string;
  /** ipgate's reference id, when the response carried one. */
  reference?: string;
}

export interface ReplayOptions {
  /** Full URL requested (target + path). */
  url: string;
  runId: string;
  requestsPerIp: number;
  /** Most requests started per second. */
  rate: number;
  concurrency: number;
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Called after every request with the number done so far. */
  onProgress?: (done: number) => void;
  /** Called after every request (for tallies). */
  onResult?: (client: ReplayClient, result: RequestResult) => void;
  /** Injectable for tests. */
  fetch?: typeof fetch;
  now?: () => number;
}

export interface ReplayTiming {
  requests: number;
  /** Requests not sent because the run was stopped (`signal`). */
  notSent: number;
  startedAt: number;
  durationMs: number;
}

/** Resolves when `signal` aborts (never without one): one listener for the whole run. */
function whenAborted(signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (!signal) return;
    if (signal.aborted) resolve();
    else signal.addEventListener('abort', () => resolve(), { once: true });
  });
}

async function sleep(ms: number, stopped: Promise<void>): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  await Promise.race([new Promise((resolve) => (timer = setTimeout(resolve, ms))), stopped]);
  clearTimeout(timer);
}

/** The code of a fetch failure: undici puts the socket error in `cause`. */
export function errorCode(e: unknown): string {
  if (e instanceof Error && (e.name === 'TimeoutError' || e.name === 'AbortError'))
    return 'timeout';
  const cause =
    e instanceof Error ? (e.cause as { code?: unknown; name?: unknown } | undefined) : undefined;
  if (cause && typeof cause.code === 'string') return cause.code;
  if (cause && cause.name === 'SocketError') return 'socket closed';
  if (e && typeof e === 'object' && 'code' in e && typeof e.code === 'string') return e.code;
  return 'network error';
}

/** Reads at most `max` bytes of a body and drops the rest. */
async function readCapped(res: Response, max: number): Promise<string> {
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  while (size < max) {
    const { done, value } = await reader.read();
    if (done) break;
    parts.push(value);
    size += value.byteLength;
  }
  await reader.cancel().catch(() => {});
  return new TextDecoder().decode(Buffer.concat(parts).subarray(0, max));
}

/** Classifies one HTTP answer (see the module comment). */
export async function classify(res: Response): Promise<RequestResult> {
  const reference = res.headers.get(REFERENCE_HEADER) ?? undefined;
  const base = { status: res.status, ...(reference ? { reference } : {}) };
  if (!reference || res.status !== 403) {
    // Read (a capped amount of) the body so the connection can be reused.
    await readCapped(res, REPLAY_MAX_BODY_BYTES).catch(() => '');
    return { ...base, outcome: reference ? 'ipgate_error' : 'passed' };
  }
  let error: unknown;
  try {
    error = (JSON.parse(await readCapped(res, REPLAY_MAX_BODY_BYTES)) as { error?: unknown }).error;
  } catch {
    error = undefined;
  }
  // A 403 with the reference header is ipgate refusing the request; only the challenge says so.
  return { ...base, outcome: error === 'challenge_required' ? 'challenged' : 'blocked' };
}

/** Sends the replay; resolves when every request has an outcome (or the run was stopped). */
export async function replay(
  clients: ReplayClient[],
  options: ReplayOptions,
): Promise<ReplayTiming> {
  const doFetch = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  const total = clients.length * options.requestsPerIp;
  const interval = 1000 / options.rate;
  const timeoutMs = options.timeoutMs ?? REPLAY_REQUEST_TIMEOUT_MS;
  const startedAt = now();
  const stopped = whenAborted(options.signal);
  let next = 0;
  let nextSlot = startedAt;
  let done = 0;

  async function one(client: ReplayClient): Promise<RequestResult> {
    try {
      // Stopping the run (options.signal) lets requests in flight finish; only new ones stop.
      const res = await doFetch(options.url, {
        method: 'GET',
        headers: {
          'CF-Connecting-IP': client.ip,
          'x-ipgate-replay': options.runId,
          Accept: 'application/json',
          'User-Agent': 'ipgate-replay',
        },
        redirect: 'manual',
        signal: AbortSignal.timeout(timeoutMs),
      });
      return await classify(res);
    } catch (e) {
      return { outcome: 'network_error', status: 0, error: errorCode(e) };
    }
  }

  async function worker(): Promise<void> {
    while (!options.signal?.aborted) {
      const n = next++;
      if (n >= total) return;
      const slot = Math.max(nextSlot, now());
      nextSlot = slot + interval;
      const wait = slot - now();
      if (wait > 0) await sleep(wait, stopped);
      if (options.signal?.aborted) return;
      const client = clients[Math.floor(n / options.requestsPerIp)] as ReplayClient;
      const result = await one(client);
      done++;
      options.onResult?.(client, result);
      options.onProgress?.(done);
    }
  }

  const workers = Math.max(1, Math.min(options.concurrency, total));
  await Promise.all(Array.from({ length: workers }, () => worker()));
  return { requests: done, notSent: total - done, startedAt, durationMs: now() - startedAt };
}
