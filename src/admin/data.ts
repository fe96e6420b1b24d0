/**
 * What the admin API and the dashboard pages show, gathered once for both: the report and the
 * recent blocks from the decision store, an IP's drill-down (table record, API cache, what the
 * policy would decide, its recorded decisions) and the policy with its saved versions.
 *
 * Failures are data (`AdminError`), mapped to a status and a message once; a decision store's
 * message is cut short and never carries a stack.
 */
import { ADMIN_STORE_ERROR_MAX_CHARS, POLICY_CURRENT_KEY } from '../constants';
import type { Env, WaitUntil } from '../env';
import type { Gate } from '../gate/gate';
import { clientKey, type IpAddress } from '../ip/parse';
import type { CompiledPolicy } from '../policy/compile';
import { decide, type Reputation } from '../policy/decide';
import { DEFAULT_POLICY_DOCUMENT } from '../policy/defaults';
import type { PolicyStatus } from '../policy/loader';
import { contentVersion } from '../policy/loader';
import { canonicalPath } from '../policy/paths';
import type { Decision } from '../policy/reasons';
import { type ParseResult, parsePolicy, parsePolicyText } from '../policy/schema';
import { listPolicyVersions, type PolicyKv, type PolicyVersion } from '../policy/versions';
import { PROVIDER_NAMES, type ProviderName } from '../providers/types';
import type { DecisionRow, DecisionStore, Report, ReportQuery } from '../report/types';
import { apiCacheKey, parseCachedAnswer } from '../reputation/api-cache';
import type { ReputationRecord } from '../reputation/record';
import { errorMessage } from '../util/deadline';
import { isObject } from '../util/json';

export interface AdminError {
  status: number;
  error: string;
  detail: string;
}

export type Loaded<T> = { ok: true; value: T } | { ok: false; error: AdminError };

export const NO_STORE: AdminError = {
  status: 503,
  error: 'no_decision_store',
  detail:
    'No decision store is configured: bind DECISIONS (Analytics Engine) or the D1 database to review decisions.',
};

function storeFailed(e: unknown): AdminError {
  const message = errorMessage(e).slice(0, ADMIN_STORE_ERROR_MAX_CHARS);
  return { status: 502, error: 'store_failed', detail: `the decision store failed: ${message}` };
}

async function fromStore<T>(
  store: DecisionStore | null,
  run: (s: DecisionStore) => Promise<T>,
): Promise<Loaded<T>> {
  if (store === null) return { ok: false, error: NO_STORE };
  try {
    return { ok: true, value: await run(store) };
  } catch (e) {
    return { ok: false, error: storeFailed(e) };
  }
}

export function loadReport(
  store: DecisionStore | null,
  query: ReportQuery,
): Promise<Loaded<Report>> {
  return fromStore(store, (s) => s.report(query));
}

export function loadBlocks(
  store: DecisionStore | null,
  query: ReportQuery,
  limit: number,
): Promise<Loaded<DecisionRow[]>> {
  return fromStore(store, (s) => s.recentBlocks(query, limit));
}

// ── An IP's drill-down ────────────────────────────────────────────────────────────────────

export interface CachedRecord {
  provider: ProviderName;
  record: ReputationRecord;
  /** When the provider answered (ISO), if the cache says. */
  at: string | null;
}

export interface WouldDecide {
  routeClass: string;
  /** The path the class was judged on (its first pattern; `site`: any other path). */
  path: string;
  decision: Decision;
}

export interface IpDetails {
  /** The client key events are recorded under (IPv4 address or IPv6 /64). */
  ip: string;
  table: {
    status: Reputation['status'];
    record: ReputationRecord | null;
    error: string | null;
    generation: string;
  };
  apiCache: CachedRecord[];
  apiCacheError: string | null;
  policyVersion: string;
  wouldDecide: WouldDecide[];
  decisions: Loaded<DecisionRow[]>;
}

/** A path that the route class `index` of the policy, and no earlier one, matches. */
function samplePath(policy: CompiledPolicy, index: number): string | null {
  const rc = policy.document.routeClasses[index];
  if (!rc) return null;
  for (const pattern of rc.paths) {
    const path = canonicalPath(pattern.replace(/\/\*$/, '') || '/');
    const method = rc.methods?.[0] ?? 'GET';
    if (policy.classify(path, method).name === rc.name) return path;
  }
  return null;
}

function wouldDecide(policy: CompiledPolicy, ip: IpAddress, reputation: Reputation): WouldDecide[] {
  const out: WouldDecide[] = [];
  policy.document.routeClasses.forEach((rc, i) => {
    const path = samplePath(policy, i);
    if (path === null) return;
    const routeClass = policy.classify(path, rc.methods?.[0] ?? 'GET');
    out.push({
      routeClass: rc.name,
      path,
      decision: decide({ client: { ip }, routeClass, reputation, policy }),
    });
  });
  out.push({
    routeClass: 'site',
    path: '',
    decision: decide({ client: { ip }, routeClass: policy.site, reputation, policy }),
  });
  return out;
}

async function readApiCacheAll(
  kv: KVNamespace,
  ip: IpAddress,
): Promise<{ records: CachedRecord[]; error: string | null }> {
  try {
    const found = await Promise.all(
      PROVIDER_NAMES.map(async (provider) => {
        const value = await kv.get(apiCacheKey(provider, ip), 'json');
        const record = parseCachedAnswer(value);
        if (record === null) return null;
        const at = isObject(value) && typeof value.at === 'string' ? value.at : null;
        return { provider, record, at };
      }),
    );
    return { records: found.filter((r): r is CachedRecord => r !== null), error: null };
  } catch (e) {
    return { records: [], error: errorMessage(e) };
  }
}

export async function ipDetails(
  gate: Gate,
  env: Env,
  ctx: WaitUntil,
  ip: IpAddress,
  store: DecisionStore | null,
  query: ReportQuery,
  limit: number,
): Promise<IpDetails> {
  const waitUntil = (p: Promise<unknown>) => ctx.waitUntil(p);
  const policy = await gate.policies.current(env.POLICY, waitUntil);
  const key = clientKey(ip);
  const [fromTable, cache, decisions] = await Promise.all([
    gate.tables.lookup(ip, env.REPUTATION, { deadlineMs: policy.tableDeadlineMs, waitUntil }),
    readApiCacheAll(env.REPUTATION, ip),
    fromStore(store, (s) => s.decisionsFor(key, query, limit)),
  ]);
  const tableRecord = fromTable.status === 'hit' ? fromTable.record : null;
  const cached = cache.records.find((r) => r.provider === policy.live.provider) ?? cache.records[0];
  const reputation: Reputation =
    tableRecord === null && cached ? { status: 'hit', record: cached.record } : fromTable;
  return {
    ip: key,
    table: {
      status: fromTable.status,
      record: tableRecord,
      error: 'error' in fromTable ? fromTable.error : null,
      generation: gate.tables.generation(),
    },
    apiCache: cache.records,
    apiCacheError: cache.error,
    policyVersion: policy.version,
    wouldDecide: wouldDecide(policy, ip, reputation),
    decisions,
  };
}

// ── The policy and its versions ───────────────────────────────────────────────────────────

export interface PolicyState {
  /** `policy:current` as stored; null when POLICY holds none (the built-in defaults apply). */
  text: string | null;
  /** That text parsed as JSON (the defaults when there is none); null when it is not JSON. */
  document: unknown;
  /** The schema's verdict on it. */
  parsed: ParseResult;
  /** Content version of the stored text (`default-…` for the built-in policy). */
  version: string;
  /** What this isolate serves (the last good policy when the stored one is refused). */
  serving: PolicyStatus;
  versions: PolicyVersion[];
}

/** The POLICY binding as the shared version logic (src/policy/versions.ts) needs it. */
export function workerPolicyKv(ns: KVNamespace): PolicyKv {
  return {
    getText: (key) => ns.get(key, 'text'),
    async putText(pairs) {
      for (const p of pairs) await ns.put(p.key, p.text);
    },
    async listKeys(prefix) {
      const keys: string[] = [];
      let cursor: string | undefined;
      for (;;) {
        const page = await ns.list(cursor === undefined ? { prefix } : { prefix, cursor });
        keys.push(...page.keys.map((k) => k.name));
        if (page.list_complete) return keys;
        cursor = page.cursor;
      }
    },
  };
}

export async function policyState(gate: Gate, env: Env, ctx: WaitUntil): Promise<PolicyState> {
  const serving = await gate.policies.current(env.POLICY, (p) => ctx.waitUntil(p));
  const kv = workerPolicyKv(env.POLICY);
  const [text, versions] = await Promise.all([
    kv.getText(POLICY_CURRENT_KEY),
    listPolicyVersions(kv),
  ]);
  if (text === null) {
    const parsed = parsePolicy(DEFAULT_POLICY_DOCUMENT);
    const version = serving.version.startsWith('default-') ? serving.version : 'default';
    return {
      text,
      document: structuredClone(DEFAULT_POLICY_DOCUMENT),
      parsed,
      version,
      serving: gate.policies.status(),
      versions,
    };
  }
  let document: unknown = null;
  try {
    document = JSON.parse(text);
  } catch {
    document = null;
  }
  return {
    text,
    document,
    parsed: parsePolicyText(text),
    version: await contentVersion(text),
    serving: gate.policies.status(),
    versions,
  };
}
