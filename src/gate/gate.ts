/**
 * The request path, one pass: client IP → route class → lists → reputation → decide → act →
 * record. Each step is a call into a module that does one thing; this file only orders them
 * and owns the isolate's stores (policy, table), which live as long as the isolate.
 *
 * Fail-open by construction: any exception on the way to a decision becomes `internal_error`,
 * decided by the route class's `onError` (pass unless the policy says fail-closed), and is
 * recorded like any other decision. A client never sees a stack trace.
 */
import { EVENT_MAX_PATH_CHARS, REFERENCE_HEADER } from '../constants';
import type { Env, WaitUntil } from '../env';
import { clientKey } from '../ip/parse';
import type { CompiledClass, CompiledPolicy } from '../policy/compile';
import {
  type ClientFacts,
  decide,
  decideOnFailure,
  needsReputation,
  type Reputation,
} from '../policy/decide';
import { builtInPolicy, PolicyStore } from '../policy/loader';
import { type Decision as DecisionT, enforcedAction } from '../policy/reasons';
import { blockResponse } from '../proxy/block';
import { forward, type OriginTarget, parseOriginUrl } from '../proxy/forward';
import { LiveReputation } from '../reputation/live';
import { TableStore } from '../reputation/table-store';
import { type DecisionEvent, type DecisionSink, nullSink } from '../sink/event';
import { sinkForBindings } from '../sink/select';
import { errorMessage } from '../util/deadline';
import { challengePage, challengeReady, hasClearance } from './challenge';
import { clientFacts } from './client';
import { requestMethods } from './methods';

export interface GateOptions {
  /**
   * Chooses the sink for a request's env; default: Analytics Engine when DECISIONS is bound, D1
   * when DECISIONS_DB is, both when both, else none (src/sink/select.ts).
   */
  sink?: (env: Env) => DecisionSink;
  policies?: PolicyStore;
  tables?: TableStore;
  live?: LiveReputation;
  now?: () => number;
}

export interface Gate {
  /** `url` is the request's parsed URL and `path` its canonical path (the caller has both). */
  handle(request: Request, env: Env, ctx: WaitUntil, url: URL, path: string): Promise<Response>;
  readonly policies: PolicyStore;
  readonly tables: TableStore;
  readonly live: LiveReputation;
  now(): number;
  sinkFor(env: Env): DecisionSink;
  origin(env: Env): OriginTarget;
}

/** A short random reference id, shown to blocked clients and stored with the event. */
export function newReference(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(8));
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

interface Outcome {
  policy: CompiledPolicy;
  routeClass: CompiledClass;
  client: ClientFacts;
  reputation: Reputation;
  decision: DecisionT;
  detail: string;
}

export function createGate(options: GateOptions = {}): Gate {
  const policies = options.policies ?? new PolicyStore();
  const tables = options.tables ?? new TableStore();
  const live = options.live ?? new LiveReputation();
  const now = options.now ?? Date.now;
  const sinkFor = options.sink ?? sinkForBindings;
  let originCache: { value: string | undefined; target: OriginTarget } | null = null;

  function origin(env: Env): OriginTarget {
    if (originCache === null || originCache.value !== env.ORIGIN_URL)
      originCache = { value: env.ORIGIN_URL, target: parseOriginUrl(env.ORIGIN_URL) };
    return originCache.target;
  }

  async function evaluate(
    request: Request,
    env: Env,
    ctx: WaitUntil,
    url: URL,
    path: string,
  ): Promise<Outcome> {
    const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
    const policy = await policies.current(env.POLICY, waitUntil);
    let routeClass = policy.site;
    let client: ClientFacts = { ip: null };
    try {
      routeClass = policy.classify(path, () => requestMethods(request, url));
      client = clientFacts(request);
      tables.refreshIfDue(env.REPUTATION, waitUntil);
      const reputation = await lookup(policy, routeClass, client, env, waitUntil);
      let decision = decide({ client, routeClass, reputation, policy });
      if (decision.action === 'challenge' && client.ip) {
        const cleared = await hasClearance(request, env, client.ip, now());
        if (cleared) {
          client = { ip: client.ip, asn: client.asn, country: client.country, cleared };
          decision = decide({ client, routeClass, reputation, policy });
        }
      }
      const detail =
        reputation.status === 'error' || reputation.status === 'unavailable'
          ? reputation.error
          : '';
      return { policy, routeClass, client, reputation, decision, detail };
    } catch (e) {
      return failed(policy, routeClass, client, e);
    }
  }

  /**
   * The client's reputation, as far as the route class needs it: the table (what is in memory
   * when the class needs none), then, for an IP the table does not list, the live chain (API
   * cache, then the broker) when a provider and its key are configured.
   */
  async function lookup(
    policy: CompiledPolicy,
    routeClass: CompiledClass,
    client: ClientFacts,
    env: Env,
    waitUntil: (p: Promise<unknown>) => void,
  ): Promise<Reputation> {
    if (client.ip === null) return { status: 'skipped' };
    if (!needsReputation(policy, routeClass, client)) return tables.peek(client.ip);
    const fromTable = await tables.lookup(client.ip, env.REPUTATION, {
      deadlineMs: policy.tableDeadlineMs,
      waitUntil,
    });
    if (fromTable.status !== 'miss' || !routeClass.needsReputation) return fromTable;
    // Without a key (or with the provider off) a table miss stays a miss, as before.
    if (!live.enabled(env, policy.live)) return fromTable;
    return live.lookup(client.ip, env, policy.live, waitUntil);
  }

  /** Writes the event `build` makes; a failure to build or write it never reaches the client. */
  function record(env: Env, ctx: WaitUntil, build: () => DecisionEvent): void {
    try {
      const sink = sinkFor(env);
      if (sink === nullSink) return; // nothing bound: no event to build
      const result = sink.write(build());
      if (result) ctx.waitUntil(result.catch(() => {}));
    } catch (e) {
      console.warn(`ipgate: decision event not recorded: ${errorMessage(e)}`);
    }
  }

  async function handle(
    request: Request,
    env: Env,
    ctx: WaitUntil,
    url: URL,
    path: string,
  ): Promise<Response> {
    const started = now();
    // Made when first needed: a forwarded request with no sink bound never needs one.
    let made: string | undefined;
    const ref = () => {
      made ??= newReference();
      return made;
    };
    const target = origin(env);
    if (!target.ok) return misconfigured(ref());
    let outcome: Outcome;
    try {
      outcome = await evaluate(request, env, ctx, url, path);
    } catch (e) {
      // Only the policy load can land here (it is built never to throw); defaults decide.
      const policy = await builtInPolicy();
      outcome = failed(policy, policy.site, { ip: null }, e);
    }
    record(env, ctx, () =>
      toEvent(request, url, outcome, ref(), now() - started, tables.generation()),
    );
    const enforced = enforcedAction(outcome.decision);
    if (enforced === 'challenge' && challengeReady(env, outcome.policy))
      return challengePage(outcome.policy, request, url, ref());
    if (enforced !== 'allow')
      return blockResponse(
        outcome.policy.document.blockResponse,
        ref(),
        request.headers.get('Accept'),
      );
    try {
      return await forward(request, target.base);
    } catch {
      return originUnreachable(ref());
    }
  }

  return { handle, policies, tables, live, now, sinkFor, origin };
}

/** The outcome of a failure before a decision: internal_error, by the class's onError. */
function failed(
  policy: CompiledPolicy,
  routeClass: CompiledClass,
  client: ClientFacts,
  e: unknown,
): Outcome {
  return {
    policy,
    routeClass,
    client,
    reputation: { status: 'skipped' },
    decision: decideOnFailure(policy, routeClass),
    detail: errorMessage(e),
  };
}

function toEvent(
  request: Request,
  url: URL,
  o: Outcome,
  ref: string,
  latencyMs: number,
  tableGeneration: string,
): DecisionEvent {
  const record = o.reputation.status === 'hit' ? o.reputation.record : null;
  return {
    time: Date.now(),
    ref,
    ip: o.client.ip ? clientKey(o.client.ip) : '',
    host: url.host,
    method: request.method,
    path: url.pathname.slice(0, EVENT_MAX_PATH_CHARS),
    routeClass: o.routeClass.name,
    action: o.decision.action,
    monitorOnly: o.decision.monitorOnly,
    reason: o.decision.reason,
    rule: o.decision.rule,
    lookup: o.reputation.status,
    score: record?.score ?? 'unknown',
    categories: record?.categories ?? [],
    // The record's country and ASN go with its org, so the report's ISP rows stay consistent;
    // request.cf fills in for IPs without a record (and is a placeholder under wrangler dev).
    country: record?.country ?? o.client.country ?? '',
    asn: record?.asn ?? o.client.asn ?? 0,
    org: record?.org ?? '',
    source: record?.source ?? '',
    latencyMs,
    policyVersion: o.policy.version,
    tableGeneration,
    detail: o.detail,
  };
}

function plainError(status: number, text: string, ref: string): Response {
  return new Response(`${text}\nReference: ${ref}\n`, {
    status,
    headers: {
      'content-type': 'text/plain; charset=utf-8',
      'cache-control': 'no-store',
      [REFERENCE_HEADER]: ref,
    },
  });
}

/** ORIGIN_URL is set but unusable: nothing can be forwarded (details on /__ipgate/health). */
function misconfigured(ref: string): Response {
  return plainError(502, 'The site is misconfigured: its origin address is invalid.', ref);
}

/** The origin refused or failed the connection. */
function originUnreachable(ref: string): Response {
  return plainError(502, 'The site’s server could not be reached.', ref);
}
