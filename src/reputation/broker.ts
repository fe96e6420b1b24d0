/**
 * The broker: one Durable Object per provider that every isolate asks for live reputation.
 *
 * Non-Enterprise Criminal IP keys refuse concurrent calls, and a busy site runs many isolates
 * in many places at once; only a single object can keep the calls in line. The broker
 *
 * - serialises provider calls (`concurrency` at a time, 1 by default);
 * - merges lookups of the same client key (IPv4 address or IPv6 /64) into one call;
 * - keeps a bounded queue: when LIVE_QUEUE_MAX lookups already wait, the next is answered
 *   `busy` at once (the Worker's deadline would pass anyway, and the caller's policy decides);
 * - holds the circuit breaker and the daily budget in its storage, so they survive eviction:
 *   an invalid key stops all calls until the key changes, `limit exceeded` opens the circuit
 *   until the next UTC day, a concurrency refusal pauses calls for LIVE_BACKOFF_MS, and
 *   LIVE_FAILURES_TO_OPEN transient failures in a row open it for LIVE_CIRCUIT_COOLDOWN_MS;
 * - writes each verdict to the API cache (./api-cache.ts); failures are never cached.
 *
 * The Worker supplies the policy's settings and the provider's credentials (from its own
 * environment, which in production is the broker's too) with each lookup, so the broker holds
 * no configuration of its own and a changed key takes effect at once. Answers are data, never
 * exceptions, and never carry the key.
 */
import { DurableObject } from 'cloudflare:workers';
import {
  LIVE_BACKOFF_MS,
  LIVE_CALL_TIMEOUT_MS,
  LIVE_CIRCUIT_COOLDOWN_MS,
  LIVE_FAILURES_TO_OPEN,
  LIVE_QUEUE_MAX,
} from '../constants';
import type { Env } from '../env';
import { clientKey, type IpAddress, parseIp } from '../ip/parse';
import { createProvider } from '../providers/index';
import {
  type ProviderFailure,
  type ProviderName,
  publicAddressProblem,
  type ReputationProvider,
} from '../providers/types';
import { errorMessage } from '../util/deadline';
import { sha256Hex } from '../util/digest';
import { writeApiCache } from './api-cache';
import type { ReputationRecord } from './record';

export interface BrokerSettings {
  provider: ProviderName;
  /** Provider calls in flight at once. */
  concurrency: number;
  /** Provider calls per UTC day; 0 stops calls. */
  dailyBudget: number;
  /** The provider's API key (from the Worker's secrets). */
  apiKey: string;
  /** Replaces the provider's base URL (a proxy, the local fake). */
  baseUrl?: string;
}

/** Why the broker gave no verdict. */
export type BrokerRefusal =
  | 'no_key'
  | 'invalid_key'
  | 'circuit_open'
  | 'budget_spent'
  | 'backoff'
  | 'busy'
  | 'invalid_ip'
  | 'failed';

export type BrokerAnswer =
  | { status: 'hit'; record: ReputationRecord }
  | { status: 'unavailable'; why: BrokerRefusal; detail: string };

/** The breaker and budget, as stored (one storage key per broker). */
interface BrokerState {
  /** Fingerprint of the key the provider refused; cleared when the key changes. */
  refusedKey: string;
  refusedKeyMessage: string;
  circuitUntil: number;
  circuitReason: string;
  backoffUntil: number;
  failures: number;
  /** UTC day (YYYY-MM-DD) `used` counts for. */
  day: string;
  used: number;
}

export interface BrokerStatus {
  keyRefused: boolean;
  circuitOpenUntil: number | null;
  circuitReason: string;
  day: string;
  callsToday: number;
  queued: number;
  inFlight: number;
}

const STATE_KEY = 'state';
const INITIAL: BrokerState = {
  refusedKey: '',
  refusedKeyMessage: '',
  circuitUntil: 0,
  circuitReason: '',
  backoffUntil: 0,
  failures: 0,
  day: '',
  used: 0,
};

/** The secret and base URL a provider uses, from the broker's (or the Worker's) environment. */
export function providerCredentials(
  env: Env,
  provider: ProviderName,
): { apiKey: string | undefined; baseUrl: string | undefined } {
  return provider === 'criminalip'
    ? { apiKey: env.CRIMINALIP_API_KEY, baseUrl: env.CRIMINALIP_API_URL }
    : { apiKey: env.ABUSEIPDB_API_KEY, baseUrl: env.ABUSEIPDB_API_URL };
}

const utcDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const nextUtcDay = (ms: number) => Date.parse(`${utcDay(ms)}T00:00:00Z`) + 86_400_000;
const refuse = (why: BrokerRefusal, detail: string): BrokerAnswer => ({
  status: 'unavailable',
  why,
  detail,
});

export class ReputationBroker extends DurableObject<Env> {
  private state: BrokerState = { ...INITIAL };
  private readonly inFlight = new Map<string, Promise<BrokerAnswer>>();
  private readonly waiting: Array<() => void> = [];
  private running = 0;
  private providerCache: { name: ProviderName; key: string; provider: ReputationProvider } | null =
    null;

  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    void ctx.blockConcurrencyWhile(async () => {
      const stored = await ctx.storage.get<Partial<BrokerState>>(STATE_KEY);
      this.state = { ...INITIAL, ...stored };
    });
  }

  /** One IP's verdict, or why there is none. Never throws. */
  async lookup(ipText: string, settings: BrokerSettings): Promise<BrokerAnswer> {
    try {
      const ip = parseIp(ipText);
      if (!ip) return refuse('invalid_ip', 'not an IP address');
      const problem = publicAddressProblem(ip);
      if (problem) return refuse('invalid_ip', problem);
      const key = clientKey(ip);
      const merged = this.inFlight.get(key);
      if (merged) return merged;
      const refused = await this.admission(settings, Date.now());
      if (refused) return refused;
      if (this.waiting.length >= LIVE_QUEUE_MAX)
        return refuse('busy', `${this.waiting.length} lookups already waiting`);
      const answer = this.queued(ip, settings).finally(() => this.inFlight.delete(key));
      this.inFlight.set(key, answer);
      return answer;
    } catch (e) {
      return refuse('failed', errorMessage(e));
    }
  }

  status(): BrokerStatus {
    const now = Date.now();
    return {
      keyRefused: this.state.refusedKey !== '',
      circuitOpenUntil: this.state.circuitUntil > now ? this.state.circuitUntil : null,
      circuitReason: this.state.circuitUntil > now ? this.state.circuitReason : '',
      day: this.state.day,
      callsToday: this.state.day === utcDay(now) ? this.state.used : 0,
      queued: this.waiting.length,
      inFlight: this.running,
    };
  }

  /** The refusal that applies before any call, or null when a call may be made. */
  private async admission(settings: BrokerSettings, now: number): Promise<BrokerAnswer | null> {
    const { apiKey } = settings;
    if (!apiKey) return refuse('no_key', `no API key for ${settings.provider}`);
    const s = this.state;
    if (s.refusedKey !== '') {
      if (s.refusedKey === (await fingerprint(apiKey)))
        return refuse('invalid_key', s.refusedKeyMessage);
      await this.save({ refusedKey: '', refusedKeyMessage: '' });
    }
    if (s.circuitUntil > now) return refuse('circuit_open', s.circuitReason);
    if (s.backoffUntil > now) return refuse('backoff', 'the provider asked for a pause');
    const used = s.day === utcDay(now) ? s.used : 0;
    if (used >= settings.dailyBudget)
      return refuse('budget_spent', `${used} of ${settings.dailyBudget} calls used today`);
    return null;
  }

  private async queued(ip: IpAddress, settings: BrokerSettings): Promise<BrokerAnswer> {
    const limit = Math.max(1, settings.concurrency);
    if (this.running >= limit) await new Promise<void>((go) => this.waiting.push(go));
    this.running += 1;
    try {
      // The breaker may have opened while this lookup waited.
      const refused = await this.admission(settings, Date.now());
      return refused ?? (await this.call(ip, settings));
    } catch (e) {
      return refuse('failed', errorMessage(e));
    } finally {
      this.running -= 1;
      this.waiting.shift()?.();
    }
  }

  private async call(ip: IpAddress, settings: BrokerSettings): Promise<BrokerAnswer> {
    const { apiKey, baseUrl } = settings;
    // Built (and its options checked) before the call is counted: a bad base URL spends nothing.
    const provider = this.provider(settings.provider, apiKey, baseUrl);
    const day = utcDay(Date.now());
    await this.save({ day, used: (this.state.day === day ? this.state.used : 0) + 1 });
    const result = await provider.lookup(ip);
    if (result.ok) {
      if (this.state.failures !== 0) await this.save({ failures: 0 });
      try {
        await writeApiCache(this.env.REPUTATION, settings.provider, ip, result.record, new Date());
      } catch {
        // The verdict still answers this lookup; the next one will ask again.
      }
      return { status: 'hit', record: result.record };
    }
    await this.onFailure(result.failure, apiKey, Date.now());
    return refuse(
      result.failure.kind === 'invalid_ip' ? 'invalid_ip' : 'failed',
      describe(result.failure),
    );
  }

  private async onFailure(f: ProviderFailure, apiKey: string, now: number): Promise<void> {
    switch (f.kind) {
      case 'invalid_key':
        return this.save({ refusedKey: await fingerprint(apiKey), refusedKeyMessage: describe(f) });
      case 'quota':
        return this.save({ circuitUntil: nextUtcDay(now), circuitReason: describe(f) });
      case 'concurrency':
        return this.save({ backoffUntil: now + LIVE_BACKOFF_MS });
      case 'invalid_ip':
        return;
      default: {
        const failures = this.state.failures + 1;
        if (failures < LIVE_FAILURES_TO_OPEN) return this.save({ failures });
        return this.save({
          failures: 0,
          circuitUntil: now + LIVE_CIRCUIT_COOLDOWN_MS,
          circuitReason: `${failures} failures in a row, last: ${describe(f)}`,
        });
      }
    }
  }

  private provider(name: ProviderName, apiKey: string, baseUrl: string | undefined) {
    const c = this.providerCache;
    if (c && c.name === name && c.key === apiKey) return c.provider;
    const provider = createProvider(name, {
      apiKey,
      baseUrl: baseUrl || undefined,
      timeoutMs: LIVE_CALL_TIMEOUT_MS,
    });
    this.providerCache = { name, key: apiKey, provider };
    return provider;
  }

  private async save(change: Partial<BrokerState>): Promise<void> {
    this.state = { ...this.state, ...change };
    await this.ctx.storage.put(STATE_KEY, this.state);
  }
}

function describe(f: ProviderFailure): string {
  return `${f.kind}: ${f.message}`;
}

/** A short fingerprint of the key, so a refusal is remembered without storing the key. */
async function fingerprint(apiKey: string): Promise<string> {
  return (await sha256Hex(new TextEncoder().encode(apiKey))).slice(0, 16);
}
