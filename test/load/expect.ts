/**
 * What the load test expects of each request, written from the documented default policy
 * (README, DESIGN.md: on auth paths block Dangerous/Critical IPs, then VPN/Tor/proxy, then
 * hosting sources; elsewhere record only; failures fail open) and from what the plan put in
 * the table or the fake API. It does not call ipgate's own decide(): a bug there must show here.
 *
 * A block must be explained by the subject's known record: the right rule, the record's score
 * and categories, from the right source (the table, or the live API for table misses). An
 * allowed request from a client that should be blocked must carry a recorded failure — the
 * table or API unreadable (`internal_error`) or not answered in time (`unknown` after a
 * `timeout` or an `unavailable` live lookup) — never a silent `clean` or a lost lookup.
 */
import type { Outcome } from './client';
import { PLAN_SOURCE, type PlannedRequest, type Subject } from './plan';

/** The decision log's columns the checks read (migrations/0001_decisions.sql). */
export interface DecisionRow {
  path: string;
  ref: string;
  route_class: string;
  action: string;
  monitor_only: number;
  reason: string;
  rule: string;
  lookup: string;
  score: string;
  categories: string;
  source: string;
  detail: string;
}

export const DECISION_COLUMNS: (keyof DecisionRow)[] = [
  'path',
  'ref',
  'route_class',
  'action',
  'monitor_only',
  'reason',
  'rule',
  'lookup',
  'score',
  'categories',
  'source',
  'detail',
];

/** The live provider's name as a record's source. */
const LIVE_SOURCE = 'criminalip';

export type DocumentedRule = 'dirty' | 'anonymizer' | 'hosting';

/**
 * The default policy's auth rule that blocks a record, or null: its rules in order (first
 * match names the block) — `dirty` for Dangerous/Critical, `anonymizer` for vpn/tor/proxy,
 * `hosting` for hosting.
 */
export function documentedRule(
  score: string,
  categories: readonly string[],
): DocumentedRule | null {
  if (score === 'dangerous' || score === 'critical') return 'dirty';
  if (categories.some((c) => c === 'vpn' || c === 'tor' || c === 'proxy')) return 'anonymizer';
  if (categories.includes('hosting')) return 'hosting';
  return null;
}

/** '|hosting|vpn|' → ['hosting', 'vpn']. */
const categoriesOf = (text: string) => text.split('|').filter(Boolean).sort();

function sameRecord(row: DecisionRow, subject: Subject, source: string): string | null {
  if (row.source !== source) return `source ${row.source || '(none)'}, expected ${source}`;
  if (row.score !== subject.score) return `score ${row.score}, expected ${subject.score}`;
  const got = categoriesOf(row.categories).join(',');
  const want = [...(subject.categories ?? [])].sort().join(',');
  return got === want ? null : `categories [${got}], expected [${want}]`;
}

/**
 * A recorded reason that explains an allowed request from a client that should be blocked: the
 * table unreadable (`internal_error`) or not read in time (`unknown` after a `timeout`); for a
 * table miss also the live API not answering in time or at all (`unavailable`).
 */
function recordedFailure(row: DecisionRow, live: boolean): boolean {
  if (row.reason === 'internal_error') return row.lookup === 'error' && row.detail !== '';
  if (row.reason !== 'unknown') return false;
  return row.lookup === 'timeout' || (live && row.lookup === 'unavailable');
}

/** Why this request's answer or decision is wrong, or null when it is right. */
export function violation(
  req: PlannedRequest,
  subject: Subject,
  outcome: Outcome | undefined,
  row: DecisionRow | undefined,
): string | null {
  if (!outcome) return 'never sent';
  if (outcome.status === 0) return `no answer: ${outcome.error}`;
  if (outcome.status >= 500) return `answered ${outcome.status}`;
  if (outcome.status !== 200 && outcome.status !== 403)
    return `unexpected status ${outcome.status}`;
  if (!row) return 'no decision in the log';
  if (row.monitor_only !== 0) return 'logged as monitor-only under an enforcing policy';
  const blocked = outcome.status === 403;
  if (blocked !== (row.action === 'block'))
    return `client got ${outcome.status}, the log says ${row.action} (${row.reason})`;
  if (blocked && outcome.ref !== row.ref)
    return `reference ${outcome.ref} on the block page, ${row.ref} in the log`;
  const routeClass = req.auth ? 'auth' : 'site';
  if (row.route_class !== routeClass)
    return `route class ${row.route_class}, expected ${routeClass}`;
  if (row.reason === 'internal_error' && row.detail === '')
    return 'internal_error without a recorded detail';

  if (subject.kind === 'invalid')
    return row.action === 'allow' && row.reason === 'invalid_client_ip'
      ? null
      : `no client address: ${row.action} (${row.reason}), expected allow (invalid_client_ip)`;
  if (!req.auth)
    return row.action === 'allow' && (row.reason === 'no_rules' || row.reason === 'internal_error')
      ? null
      : `site path: ${row.action} (${row.reason}), expected allow (no_rules)`;

  const live = subject.kind.startsWith('live-');
  const source = live ? LIVE_SOURCE : PLAN_SOURCE;
  const expected = documentedRule(subject.score ?? 'unknown', subject.categories ?? []);
  const what = `${subject.kind} ${subject.header}`;
  if (blocked) {
    if (row.reason !== 'reputation_rule' || row.lookup !== 'hit')
      return `${what} blocked with ${row.reason} (lookup ${row.lookup})`;
    if (expected === null) return `${what} blocked by rule ${row.rule}, expected no block`;
    if (row.rule !== expected) return `${what} blocked by rule ${row.rule}, expected ${expected}`;
    const mismatch = sameRecord(row, subject, source);
    return mismatch ? `${what} blocked on a different record: ${mismatch}` : null;
  }
  if (row.lookup === 'hit') {
    const mismatch = sameRecord(row, subject, source);
    if (mismatch) return `${what} allowed on a different record: ${mismatch}`;
    if (expected !== null)
      return `${what} allowed (${row.reason}) although its record matches rule ${expected}`;
    return row.reason === 'clean' ? null : `${what} allowed with ${row.reason}, expected clean`;
  }
  if (recordedFailure(row, live)) return null;
  return `${what} allowed with ${row.reason} (lookup ${row.lookup}) and no recorded failure`;
}
