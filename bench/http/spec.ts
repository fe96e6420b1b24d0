/**
 * What the harness and its load generators agree on: the load to apply, the summary each
 * reports, and how a distinct-address run numbers its client addresses. No imports, so the Node
 * load generator starts light.
 */

export interface LoadSpec {
  url: string;
  connections: number;
  threads: number;
  durationS: number;
  /** A fixed client address… */
  ip?: string;
  /** …or a distinct address per request, counting up from this 32-bit value. */
  distinctFrom?: number;
  /** Per-request timeout, in seconds. */
  timeoutS?: number;
}

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  bytesRead: number;
  /** Responses with status ≥ 400 (wrk's `status` error; the Node client counts the same). */
  statusErrors: number;
  /** Socket-level failures. */
  errors: { connect: number; read: number; write: number; timeout: number };
  latencyMs: { p50: number; p90: number; p99: number; p999: number; max: number; mean: number };
}

/** Addresses one thread of a distinct-address run may use. */
export const DISTINCT_BLOCK = 2 ** 16;

/** Dotted IPv4 text of a 32-bit value. */
export function ipv4(v: number): string {
  return [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
}

/** The address of request `n` of thread `t` in a distinct-address run (as both clients do). */
export function distinctIp(first: number, thread: number, n: number): string {
  return ipv4(first + thread * DISTINCT_BLOCK + (n % DISTINCT_BLOCK));
}
