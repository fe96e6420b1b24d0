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
  'challenge_passed',
  'clean',
  'unknown',
  'no_rules',
  'internal_error',
] as const;
export type Reason = (typeof REASONS)[number];

export type Action = 'allow' | 'block' | 'challenge';

export interface Decision {
  /** What the policy says to do. */
  action: Action;
  reason: Reason;
  /** The rule, list entry or failure behind the reason; '' when none. */
  rule: string;
  /** True when the policy is in monitor mode and `action` (block, challenge) was not enforced. */
  monitorOnly: boolean;
}

/** What the client gets: the origin's response, ipgate's block page, or its challenge page. */
export function enforcedAction(d: Decision): Action {
  return d.monitorOnly ? 'allow' : d.action;
}

/** One-line descriptions, used by the README table and the CLI. */
export const REASON_DESCRIPTIONS: Record<Reason, string> = {
  invalid_client_ip: 'CF-Connecting-IP missing or not a valid address',
  allow_list: 'the IP, its network, ASN or country is on the allow list',
  deny_list: 'the IP, its network, ASN or country is on the deny list',
  reputation_rule: 'a rule of the route class matched the IP’s score or categories',
  challenge_passed:
    'a challenge applied, and the client holds a valid clearance cookie for its IP (Turnstile solved)',
  clean: 'the IP has a record and no rule matched',
  unknown: 'no record for the IP: not in the table, the API cache or the live API in time',
  no_rules: 'the route class has no rule that needs reputation',
  internal_error: 'ipgate failed (KV error, corrupt table chunk, bug)',
};
