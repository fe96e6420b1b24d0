/**
 * The decision: a pure function of the client's facts, its route class, its reputation and
 * the policy. No I/O and no clock, so every branch is testable with plain data.
 *
 * Order: invalid client IP → allow list → deny list → lookup failure → rules → unknown.
 * The allow list wins over everything else, so an operator can always let a partner in. A
 * `challenge` (from a rule or for unknown IPs) that the client has already solved, shown by a
 * valid clearance cookie the gate checked, passes as `challenge_passed`.
 */
import type { IpAddress } from '../ip/parse';
import type { ReputationRecord } from '../reputation/record';
import type { CompiledClass, CompiledList, CompiledPolicy } from './compile';
import type { Decision, Reason } from './reasons';
import type { PolicyAction } from './schema';

/** Outcome of the reputation lookup, as the decision sees it. */
export type Reputation =
  | { status: 'hit'; record: ReputationRecord }
  | { status: 'miss' }
  | { status: 'timeout' }
  /** The live API could not answer: off, no key, busy, circuit open, budget spent, failing. */
  | { status: 'unavailable'; error: string }
  | { status: 'error'; error: string }
  | { status: 'skipped' };

export interface ClientFacts {
  /** Null when `CF-Connecting-IP` was missing or malformed. */
  ip: IpAddress | null;
  /** From `request.cf` where Cloudflare provides them. */
  asn?: number;
  country?: string;
  /** True when the request carries a valid clearance cookie for this IP (a solved challenge). */
  cleared?: boolean;
}

export interface DecisionInput {
  client: ClientFacts;
  routeClass: CompiledClass;
  reputation: Reputation;
  policy: CompiledPolicy;
}

/** The list entry that matches the client, or null. Record facts fill what `cf` lacks. */
export function matchList(
  list: CompiledList,
  client: ClientFacts,
  record: ReputationRecord | null,
): string | null {
  if (client.ip) {
    const hit = list.networks.lookup(client.ip);
    if (hit !== null) return `ip:${hit}`;
  }
  // ASN and country are read only when the list names some (client facts are read lazily).
  if (list.asns.size > 0) {
    const asn = client.asn ?? record?.asn;
    if (asn !== undefined && list.asns.has(asn)) return `asn:${asn}`;
  }
  if (list.countries.size > 0) {
    const country = client.country ?? record?.country;
    if (country !== undefined && list.countries.has(country)) return `country:${country}`;
  }
  return null;
}

/**
 * Whether the gate should look the client up at all: only when a list could not decide from
 * `cf` facts alone and the route class has rules (or a non-default unknown action), or a list
 * names ASNs/countries that `cf` did not supply.
 */
export function needsReputation(
  policy: CompiledPolicy,
  routeClass: CompiledClass,
  client: ClientFacts,
): boolean {
  if (client.ip === null) return false;
  if (matchList(policy.allow, client, null) !== null) return false;
  if (matchList(policy.deny, client, null) !== null) return false;
  if (routeClass.needsReputation) return true;
  return policy.listsUseRecordFacts && (client.asn === undefined || client.country === undefined);
}

function verdict(
  policy: CompiledPolicy,
  action: PolicyAction,
  reason: Reason,
  rule: string,
): Decision {
  return { action, reason, rule, monitorOnly: action !== 'allow' && policy.mode === 'monitor' };
}

/** A `challenge` the client has already passed lets it through (the rule stays on record). */
function challengeOrPass(
  policy: CompiledPolicy,
  client: ClientFacts,
  action: PolicyAction,
  reason: Reason,
  rule: string,
): Decision {
  if (action === 'challenge' && client.cleared === true)
    return verdict(policy, 'allow', 'challenge_passed', rule);
  return verdict(policy, action, reason, rule);
}

function firstMatchingRule(routeClass: CompiledClass, record: ReputationRecord) {
  return routeClass.rules.find(
    (r) =>
      (r.scores === null || r.scores.has(record.score)) &&
      (r.categories === null || record.categories.some((c) => r.categories?.has(c))),
  );
}

export function decide(input: DecisionInput): Decision {
  const { client, routeClass: rc, reputation, policy } = input;
  if (client.ip === null) return verdict(policy, rc.invalidClientIp, 'invalid_client_ip', '');
  const record = reputation.status === 'hit' ? reputation.record : null;
  const allowed = matchList(policy.allow, client, record);
  if (allowed !== null) return verdict(policy, 'allow', 'allow_list', allowed);
  const denied = matchList(policy.deny, client, record);
  if (denied !== null) return verdict(policy, 'block', 'deny_list', denied);
  if (reputation.status === 'error') {
    const action = rc.onError === 'closed' ? 'block' : 'allow';
    return verdict(policy, action, 'internal_error', `fail-${rc.onError}`);
  }
  if (!rc.needsReputation) return verdict(policy, 'allow', 'no_rules', '');
  if (record === null)
    return challengeOrPass(policy, client, rc.unknown, 'unknown', reputation.status);
  const rule = firstMatchingRule(rc, record);
  if (rule) return challengeOrPass(policy, client, rule.action, 'reputation_rule', rule.name);
  return verdict(policy, 'allow', 'clean', '');
}

/** The decision for a failure outside the lookup (a bug or an unexpected exception). */
export function decideOnFailure(policy: CompiledPolicy, routeClass: CompiledClass): Decision {
  const action = routeClass.onError === 'closed' ? 'block' : 'allow';
  return verdict(policy, action, 'internal_error', `fail-${routeClass.onError}`);
}
