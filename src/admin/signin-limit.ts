/**
 * Limits failed sign-ins (the form and `Authorization: Bearer`) per client key (IPv4 address or
 * IPv6 /64): after ADMIN_SIGNIN_MAX_FAILURES in ADMIN_SIGNIN_WINDOW_S, every attempt from that
 * key is refused with 429 until the window ends, before the token is even compared, so a
 * guesser learns nothing more. Each failure is also answered only after a short pause.
 *
 * Two layers, because no single cheap one holds across isolates:
 * - the isolate's own count: exact and free, but an attacker's requests spread over many
 *   isolates and locations;
 * - a counter in `POLICY` under `admin:signin-failures:<client key>` with a TTL of the window:
 *   seen by every isolate. It costs one KV read per token check and one write per failure only
 *   (a locked key writes nothing more), so at most ADMIN_SIGNIN_MAX_FAILURES writes per key per
 *   window, well within KV's one write per second per key. KV is eventually consistent (other
 *   locations may see the count up to a minute late), which bounds the guesses, not to exactly
 *   N; a 32-character token makes guessing hopeless anyway, and the limit is the second line.
 *
 * KV failures never lock anyone out and never let a locked key in on this isolate.
 */
import {
  ADMIN_SIGNIN_FAILURES_PREFIX,
  ADMIN_SIGNIN_MAX_FAILURES,
  ADMIN_SIGNIN_MEMO_MAX,
  ADMIN_SIGNIN_WINDOW_S,
} from '../constants';
import { isObject } from '../util/json';

interface Count {
  failures: number;
  /** Unix ms when the window ends. */
  resetAt: number;
}

type CounterKv = Pick<KVNamespace, 'get' | 'put' | 'delete'>;

export interface SignInLimiterOptions {
  now?: () => number;
  maxFailures?: number;
  windowSeconds?: number;
}

function parseCount(value: unknown): Count | null {
  if (!isObject(value)) return null;
  const { failures, resetAt } = value;
  if (typeof failures !== 'number' || typeof resetAt !== 'number') return null;
  return { failures, resetAt };
}

export class SignInLimiter {
  private readonly local = new Map<string, Count>();
  private readonly now: () => number;
  private readonly max: number;
  private readonly windowMs: number;

  constructor(options: SignInLimiterOptions = {}) {
    this.now = options.now ?? Date.now;
    this.max = options.maxFailures ?? ADMIN_SIGNIN_MAX_FAILURES;
    this.windowMs = (options.windowSeconds ?? ADMIN_SIGNIN_WINDOW_S) * 1000;
  }

  /** Seconds until `client` may try again; 0 when it may now. */
  async retryAfter(kv: CounterKv, client: string): Promise<number> {
    const count = await this.count(kv, client);
    if (count.failures < this.max) return 0;
    return Math.max(1, Math.ceil((count.resetAt - this.now()) / 1000));
  }

  async failed(kv: CounterKv, client: string): Promise<void> {
    const now = this.now();
    const count = await this.count(kv, client);
    const next: Count =
      count.failures === 0
        ? { failures: 1, resetAt: now + this.windowMs }
        : { failures: count.failures + 1, resetAt: count.resetAt };
    this.remember(client, next);
    try {
      await kv.put(ADMIN_SIGNIN_FAILURES_PREFIX + client, JSON.stringify(next), {
        expirationTtl: Math.max(60, Math.ceil((next.resetAt - now) / 1000)),
      });
    } catch {
      // This isolate's count still holds.
    }
  }

  /** A successful sign-in clears the key's failures. */
  async succeeded(kv: CounterKv, client: string): Promise<void> {
    const had = this.local.delete(client);
    if (!had) return;
    try {
      await kv.delete(ADMIN_SIGNIN_FAILURES_PREFIX + client);
    } catch {
      // Expires with its TTL.
    }
  }

  /** The larger of this isolate's count and the shared one, within the current window. */
  private async count(kv: CounterKv, client: string): Promise<Count> {
    const now = this.now();
    let local = this.local.get(client) ?? null;
    if (local && local.resetAt <= now) {
      this.local.delete(client);
      local = null;
    }
    if (local && local.failures >= this.max) return local;
    let shared: Count | null = null;
    try {
      shared = parseCount(await kv.get(ADMIN_SIGNIN_FAILURES_PREFIX + client, 'json'));
    } catch {
      shared = null;
    }
    if (shared && shared.resetAt <= now) shared = null;
    const best = [local, shared].reduce<Count>((a, b) => (b && b.failures > a.failures ? b : a), {
      failures: 0,
      resetAt: now,
    });
    if (best.failures > 0 && best !== local) this.remember(client, best);
    return best;
  }

  private remember(client: string, count: Count): void {
    if (this.local.size >= ADMIN_SIGNIN_MEMO_MAX && !this.local.has(client)) this.local.clear();
    this.local.set(client, count);
  }
}
