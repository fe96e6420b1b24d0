/**
 * The policy the HTTP benchmark and the load test store in `POLICY`: the built-in defaults
 * (the rules every expectation is written against) with the live-lookup budget raised, so a
 * run of tens of thousands of table misses is not cut short by the daily budget, and the
 * broker's concurrency chosen by the run. Checked with the shared schema before use.
 */
import { DEFAULT_POLICY_DOCUMENT } from '../../src/policy/defaults';
import { formatIssues, parsePolicy } from '../../src/policy/schema';

/** The policy's table deadline: the built-in default's. */
export const TABLE_DEADLINE_MS = DEFAULT_POLICY_DOCUMENT.lookup?.tableDeadlineMs ?? 750;

/** Live calls a day the run's policy allows: more than any run makes. */
const RAISED_DAILY_BUDGET = 10_000_000;

export function livePolicy(
  concurrency: number,
  comment = 'ipgate HTTP benchmark: built-in defaults, live budget raised',
): unknown {
  const doc = {
    ...DEFAULT_POLICY_DOCUMENT,
    comment,
    lookup: {
      tableDeadlineMs: TABLE_DEADLINE_MS,
      live: { provider: 'criminalip', concurrency, dailyBudget: RAISED_DAILY_BUDGET },
    },
  };
  const parsed = parsePolicy(doc);
  if (!parsed.ok) throw new Error(`policy refused:\n${formatIssues(parsed.issues)}`);
  return doc;
}
