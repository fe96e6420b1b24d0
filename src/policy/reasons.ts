/**
 * Why a decision was made: a closed union, so every reason has exactly one client-facing
 * outcome (see `clientOutcome`) and the README's table of reasons can be checked against it.
 * The rich detail (which rule, which list entry, what failed) goes only to the sink.
 */

export const REASONS = [
  'invalid_client_ip',
  'allow_list',
  'deny_list',
  'reputation_rule',
  'clean',
  'unknown',
  'no_rules',
  'internal_error',
] as const;
export type Reason = (typeof REASONS)[number];

export type Action = 'allow' | 'block';

export interface Decision {
  /** What the policy says to do. */
  action: Action;
  reason: Reason;
  /** The rule, list entry or failure behind the reason; '' when none. */
  rule: string;
  /** True when the policy is in monitor mode and `action` was therefore not enforced. */
  monitorOnly: boolean;
}

/** What the client gets for a decision: the origin's response, or ipgate's block page. */
export function enforcedAction(d: Decision): Action {
  return d.monitorOnly ? 'allow' : d.action;
}

/** One-line descriptions, used by the README table and the CLI. */
export const REASON_DESCRIPTIONS: Record<Reason, string> = {
  invalid_client_ip: 'CF-Connecting-IP missing or not a valid address',
  allow_list: 'the IP, its network, ASN or country is on the allow list',
  deny_list: 'the IP, its network, ASN or country is on the deny list',
  reputation_rule: 'a rule of the route class matched the IP’s score or categories',
  clean: 'the IP has a record and no rule matched',
  unknown: 'no record for the IP (not in the table, or not loaded in time)',
  no_rules: 'the route class has no rule that needs reputation',
  internal_error: 'ipgate failed (KV error, corrupt table chunk, bug)',
};
