/**
 * Bindings, settings and secrets the Worker receives (wrangler.toml, `.dev.vars`, secrets).
 * Every binding is optional at the type level where ipgate can run without it, so a missing
 * binding degrades one feature instead of failing every request.
 */
import type { ReputationBroker } from './reputation/broker';

/** The part of the execution context ipgate uses: background work after the response. */
export type WaitUntil = Pick<ExecutionContext, 'waitUntil'>;

export interface Env {
  /** Reputation table (manifest and chunks) and the API cache. */
  REPUTATION: KVNamespace;
  /** Policy document and its saved versions. */
  POLICY: KVNamespace;
  /** Decision events (production sink). */
  DECISIONS?: AnalyticsEngineDataset;
  /** Origin to forward to instead of the route's own (workers.dev, local runs). */
  ORIGIN_URL?: string;
  /** The live-lookup broker (one Durable Object per provider). */
  REPUTATION_BROKER?: DurableObjectNamespace<ReputationBroker>;
  /** Criminal IP API key (secret); live lookups are off without it. */
  CRIMINALIP_API_KEY?: string;
  /** Replaces the Criminal IP API base URL (a proxy; the local fake in runs and tests). */
  CRIMINALIP_API_URL?: string;
  /** AbuseIPDB API key (secret), when the policy picks that provider. */
  ABUSEIPDB_API_KEY?: string;
  /** Replaces the AbuseIPDB API base URL. */
  ABUSEIPDB_API_URL?: string;
  /** Turnstile secret key (secret): verifies challenge tokens. */
  TURNSTILE_SECRET?: string;
  /** Replaces Turnstile's siteverify URL (local runs and tests). */
  TURNSTILE_VERIFY_URL?: string;
  /** Signs clearance cookies (secret, ≥ 32 characters); derived from TURNSTILE_SECRET if unset. */
  CLEARANCE_SECRET?: string;
}
