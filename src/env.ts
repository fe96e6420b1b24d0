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
  /** Decision events in D1 (local runs, small sites); the dashboard's report reads it. */
  DECISIONS_DB?: D1Database;
  /** Days decision events are kept in D1 (default 30; cleaned by the cron trigger). */
  DECISIONS_RETENTION_DAYS?: string;
  /** The Analytics Engine dataset bound as DECISIONS (default `ipgate_decisions`). */
  DECISIONS_DATASET?: string;
  /** Account of the Analytics Engine dataset (secret), for the report without D1. */
  CLOUDFLARE_ACCOUNT_ID?: string;
  /** API token with "Account Analytics: Read" (secret), for the report without D1. */
  ANALYTICS_API_TOKEN?: string;
  /** Replaces the Cloudflare API base URL (`…/client/v4`; tests). */
  CLOUDFLARE_API_BASE_URL?: string;
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
  /**
   * Dashboard and admin API token (secret, ≥ 32 characters): the sign-in form and
   * `Authorization: Bearer`. Sessions are signed with a key derived from it, so rotating it
   * signs everyone out. Without it (and without Access) the dashboard is disabled.
   */
  ADMIN_TOKEN?: string;
  /** Cloudflare Access team (`myteam` or `myteam.cloudflareaccess.com`), with ACCESS_AUD. */
  ACCESS_TEAM_DOMAIN?: string;
  /** Audience (AUD) tag of the Access application in front of `/__ipgate/`. */
  ACCESS_AUD?: string;
}
