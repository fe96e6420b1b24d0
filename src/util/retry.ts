/**
 * Retry with exponential backoff and jitter, honouring Retry-After, for calls to services we
 * do not control (the Cloudflare API, feed URLs). Shared by the CLI and the Worker (the
 * Analytics Engine SQL client), so it uses nothing but timers.
 */

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
  maxMs: number;
  sleep?: (ms: number) => Promise<void>;
}

export const realSleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** Delay before retry `attempt` (1-based): Retry-After when given, else capped 2^n backoff. */
export function backoffMs(
  attempt: number,
  policy: RetryPolicy,
  retryAfter?: string | null,
): number {
  const seconds = retryAfter ? Number(retryAfter) : Number.NaN;
  if (Number.isFinite(seconds) && seconds >= 0) return Math.min(seconds * 1000, policy.maxMs);
  const exp = policy.baseMs * 2 ** (attempt - 1);
  return Math.min(policy.maxMs, exp / 2 + Math.random() * (exp / 2));
}

/** True for statuses worth another try: rate limited or a server error. */
export function retryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}
