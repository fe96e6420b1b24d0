/**
 * The decision event: one per request that reaches the gate, the same shape for every sink
 * (Analytics Engine now, D1 later) and for the report built from them. It carries no secret
 * and no request header other than the method and path.
 */
import type { Reputation } from '../policy/decide';
import type { Action, Reason } from '../policy/reasons';
import type { Score } from '../reputation/record';

export interface DecisionEvent {
  /** Epoch milliseconds. */
  time: number;
  /** Reference id, also shown to a blocked client. */
  ref: string;
  /** Client key: IPv4 address or IPv6 /64; '' when the client IP was invalid. */
  ip: string;
  host: string;
  method: string;
  /** Path as sent (not canonical), cut to EVENT_MAX_PATH_CHARS. */
  path: string;
  routeClass: string;
  /** What the policy decided. */
  action: Action;
  /** The decision was a block not enforced because the policy is in monitor mode. */
  monitorOnly: boolean;
  reason: Reason;
  rule: string;
  lookup: Reputation['status'];
  score: Score;
  categories: string[];
  country: string;
  asn: number;
  org: string;
  source: string;
  /** Time spent in the gate before acting, in ms. */
  latencyMs: number;
  policyVersion: string;
  tableGeneration: string;
  /** Failure detail for `internal_error` and lookup errors; never a secret. */
  detail: string;
}

/** Where decision events go. A write never throws into, nor delays, the request. */
export interface DecisionSink {
  readonly name: string;
  write(event: DecisionEvent): void | Promise<void>;
}

/** Drops events; used when no sink binding is configured. */
export const nullSink: DecisionSink = { name: 'none', write() {} };
