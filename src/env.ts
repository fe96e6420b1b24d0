/**
 * Bindings, settings and secrets the Worker receives (wrangler.toml, `.dev.vars`, secrets).
 * Every binding is optional at the type level where ipgate can run without it, so a missing
 * binding degrades one feature instead of failing every request.
 */
/** The part of the execution context ipgate uses: background work after the response. */
export type WaitUntil = Pick<ExecutionContext, 'waitUntil'>;

export interface Env {
  /** Reputation table (manifest and chunks); later also the API cache. */
  REPUTATION: KVNamespace;
  /** Policy document and its saved versions. */
  POLICY: KVNamespace;
  /** Decision events (production sink). */
  DECISIONS?: AnalyticsEngineDataset;
  /** Origin to forward to instead of the route's own (workers.dev, local runs). */
  ORIGIN_URL?: string;
}
