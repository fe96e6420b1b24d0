/**
 * Turns a validated policy document into the form the request path uses: path matchers,
 * method sets, rule sets and list lookups, all built once per policy version so that each
 * request does only set look-ups and one canonicalisation.
 */
import { parseNetwork } from '../ip/network';
import { NetworkSet } from '../ip/network-set';
import type { Score } from '../reputation/record';
import { PathMatcher, type PathPattern, parsePathPattern } from './paths';
import type { ClassBehaviour, Policy, PolicyAction } from './schema';

export interface CompiledRule {
  name: string;
  scores: ReadonlySet<Score> | null;
  categories: ReadonlySet<string> | null;
  action: PolicyAction;
}

export interface CompiledClass {
  name: string;
  rules: CompiledRule[];
  unknown: PolicyAction;
  invalidClientIp: PolicyAction;
  onError: 'open' | 'closed';
  /** True when a decision on this class can depend on the IP's reputation. */
  needsReputation: boolean;
}

interface RoutedClass extends CompiledClass {
  paths: PathMatcher;
  methods: ReadonlySet<string> | null;
}

export interface CompiledList {
  networks: NetworkSet;
  asns: ReadonlySet<number>;
  countries: ReadonlySet<string>;
}

export interface CompiledPolicy {
  /** Short content hash of the document; shown on health and in every event. */
  version: string;
  document: Policy;
  mode: 'enforce' | 'monitor';
  site: CompiledClass;
  allow: CompiledList;
  deny: CompiledList;
  /** True when a list names ASNs or countries, which may come from the reputation record. */
  listsUseRecordFacts: boolean;
  tableDeadlineMs: number;
  /** Live lookups (API cache, then the broker) for IPs the table does not know. */
  live: Policy['lookup']['live'];
  /** Turnstile site key and clearance lifetime, for `challenge` actions. */
  challenge: Policy['challenge'];
  /**
   * The first class whose paths match and whose methods (if any) include the method, or any
   * of the methods when given several (src/gate/methods.ts); else `site`.
   */
  classify(
    canonicalPath: string,
    method: string | readonly string[] | (() => readonly string[]),
  ): CompiledClass;
}

function compileBehaviour(name: string, b: ClassBehaviour): CompiledClass {
  const rules = b.rules.map((r) => ({
    name: r.name,
    scores: r.scores ? new Set<Score>(r.scores) : null,
    categories: r.categories ? new Set(r.categories) : null,
    action: r.action,
  }));
  return {
    name,
    rules,
    unknown: b.unknown,
    invalidClientIp: b.invalidClientIp,
    onError: b.onError,
    needsReputation: rules.length > 0 || b.unknown !== 'allow',
  };
}

function compileList(list: Policy['allow']): CompiledList {
  // The label is the entry as written, without the whitespace parseNetwork ignores: an entry
  // padded to any length must not make the list (built like a table) refuse its own records.
  const networks = list.ips.flatMap((text) => {
    const r = parseNetwork(text);
    return r.ok ? [{ network: r.network, label: text.trim() }] : [];
  });
  return {
    networks: new NetworkSet(networks),
    asns: new Set(list.asns),
    countries: new Set(list.countries),
  };
}

export function compilePolicy(document: Policy, version: string): CompiledPolicy {
  const routed: RoutedClass[] = document.routeClasses.map((c) => ({
    ...compileBehaviour(c.name, c),
    paths: new PathMatcher(
      c.paths
        .map((p) => parsePathPattern(p))
        .filter((p): p is PathPattern => typeof p !== 'string'),
    ),
    methods: c.methods ? new Set(c.methods) : null,
  }));
  const site = compileBehaviour('site', document.site);
  const allow = compileList(document.allow);
  const deny = compileList(document.deny);
  return {
    version,
    document,
    mode: document.mode,
    site,
    allow,
    deny,
    listsUseRecordFacts:
      allow.asns.size + allow.countries.size + deny.asns.size + deny.countries.size > 0,
    tableDeadlineMs: document.lookup.tableDeadlineMs,
    live: document.lookup.live,
    challenge: document.challenge,
    classify(path, method) {
      // A function is called only when a method-scoped class matches the path.
      let methods =
        typeof method === 'string' ? [method] : typeof method === 'function' ? null : method;
      for (const c of routed) {
        if (!c.paths.matches(path)) continue;
        const scoped = c.methods;
        if (scoped === null) return c;
        methods ??= (method as () => readonly string[])();
        if (methods.some((m) => scoped.has(m))) return c;
      }
      return site;
    },
  };
}
