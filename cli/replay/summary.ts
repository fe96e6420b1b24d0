/**
 * A replay's tally and its two renderings: a text summary for people and a JSON document for
 * machines (`--json`, also what `npm run demo:attack` prints from).
 *
 * Outcomes are counted per request, by HTTP status and, because ipgate keeps its reasons out of
 * responses, by the score and categories the CSV gives each client ("blocked, by the IP's
 * score"). A client with several categories counts under each; one with none under `none`.
 */
import { SCORE_LEVELS } from '../../src/reputation/record';
import type { FeedProblem } from '../feeds/types';
import { table } from '../output';
import type { Outcome, ReplayTiming, RequestResult } from './run';
import type { ReplayClient } from './targets';

export type OutcomeCounts = { requests: number } & Record<Outcome, number>;

export interface ReplaySummary {
  runId: string;
  url: string;
  clients: number;
  requestsPerIp: number;
  /** Requests that got an outcome. */
  requests: number;
  /** Requests not sent because the run was interrupted. */
  notSent: number;
  interrupted: boolean;
  rate: number;
  concurrency: number;
  durationMs: number;
  /** Requests per second actually achieved. */
  achievedRate: number;
  outcomes: OutcomeCounts;
  /** HTTP status → requests (network errors are not here: see `networkErrors`). */
  byStatus: Record<string, number>;
  /** Network error code → requests. */
  networkErrors: Record<string, number>;
  /** What `byScore` and `byCategory` are grouped by. */
  groupedBy: 'csv';
  byScore: Record<string, OutcomeCounts>;
  byCategory: Record<string, OutcomeCounts>;
  badLines: number;
  problems: FeedProblem[];
  duplicates: number;
}

const empty = (): OutcomeCounts => ({
  requests: 0,
  blocked: 0,
  challenged: 0,
  passed: 0,
  ipgate_error: 0,
  network_error: 0,
});

export class ReplayTally {
  readonly outcomes = empty();
  readonly byStatus = new Map<number, number>();
  readonly networkErrors = new Map<string, number>();
  readonly byScore = new Map<string, OutcomeCounts>();
  readonly byCategory = new Map<string, OutcomeCounts>();

  add(client: ReplayClient, result: RequestResult): void {
    const bump = (c: OutcomeCounts) => {
      c.requests++;
      c[result.outcome]++;
    };
    bump(this.outcomes);
    if (result.outcome === 'network_error') {
      const code = result.error ?? 'network error';
      this.networkErrors.set(code, (this.networkErrors.get(code) ?? 0) + 1);
    } else {
      this.byStatus.set(result.status, (this.byStatus.get(result.status) ?? 0) + 1);
    }
    const group = (m: Map<string, OutcomeCounts>, key: string) => {
      const c = m.get(key) ?? empty();
      m.set(key, c);
      bump(c);
    };
    group(this.byScore, client.score);
    if (client.categories.length === 0) group(this.byCategory, 'none');
    for (const cat of client.categories) group(this.byCategory, cat);
  }
}

const SCORE_ORDER: string[] = [...[...SCORE_LEVELS].reverse(), 'unknown'];

function sortedScores(m: Map<string, OutcomeCounts>): Record<string, OutcomeCounts> {
  return Object.fromEntries(
    [...m].sort(([a], [b]) => SCORE_ORDER.indexOf(a) - SCORE_ORDER.indexOf(b)),
  );
}

function sortedCategories(m: Map<string, OutcomeCounts>): Record<string, OutcomeCounts> {
  return Object.fromEntries(
    [...m].sort(([a, x], [b, y]) => y.requests - x.requests || a.localeCompare(b)),
  );
}

export function summarize(
  meta: {
    runId: string;
    url: string;
    clients: number;
    requestsPerIp: number;
    rate: number;
    concurrency: number;
    problems: FeedProblem[];
    duplicates: number;
    interrupted: boolean;
  },
  tally: ReplayTally,
  timing: ReplayTiming,
): ReplaySummary {
  return {
    runId: meta.runId,
    url: meta.url,
    clients: meta.clients,
    requestsPerIp: meta.requestsPerIp,
    requests: timing.requests,
    notSent: timing.notSent,
    interrupted: meta.interrupted,
    rate: meta.rate,
    concurrency: meta.concurrency,
    durationMs: Math.round(timing.durationMs),
    achievedRate:
      timing.durationMs > 0 ? Math.round((timing.requests / timing.durationMs) * 10_000) / 10 : 0,
    outcomes: { ...tally.outcomes },
    byStatus: Object.fromEntries([...tally.byStatus].sort(([a], [b]) => a - b)),
    networkErrors: Object.fromEntries([...tally.networkErrors].sort(([, a], [, b]) => b - a)),
    groupedBy: 'csv',
    byScore: sortedScores(tally.byScore),
    byCategory: sortedCategories(tally.byCategory),
    badLines: meta.problems.length,
    problems: meta.problems,
    duplicates: meta.duplicates,
  };
}

const pct = (n: number, of: number) => (of ? `${Math.round((n / of) * 1000) / 10}%` : '0%');

function rows(groups: Record<string, OutcomeCounts>, label: string): (string | number)[][] {
  const out: (string | number)[][] = [
    [label, 'requests', 'blocked', 'challenged', 'passed', 'errors', 'stopped %'],
  ];
  for (const [key, c] of Object.entries(groups))
    out.push([
      key,
      c.requests,
      c.blocked,
      c.challenged,
      c.passed,
      c.ipgate_error + c.network_error,
      pct(c.blocked + c.challenged, c.requests),
    ]);
  return out;
}

/** The text summary, several lines. */
export function formatSummary(s: ReplaySummary, title = 'replay'): string {
  const o = s.outcomes;
  const lines: string[] = [];
  lines.push(
    `${title}: ${s.clients} IPs × ${s.requestsPerIp} → ${s.url}: ${s.requests} requests in ${(s.durationMs / 1000).toFixed(1)} s (${s.achievedRate}/s, limit ${s.rate}/s), run ${s.runId}${s.interrupted ? `; interrupted, ${s.notSent} not sent` : ''}`,
  );
  lines.push(
    `  blocked ${o.blocked} (${pct(o.blocked, s.requests)}), challenged ${o.challenged}, passed ${o.passed} (${pct(o.passed, s.requests)}), ipgate errors ${o.ipgate_error}, network errors ${o.network_error}`,
  );
  const statuses = Object.entries(s.byStatus).map(([k, v]) => `${k} ${v}`);
  lines.push(`  by status: ${statuses.length ? statuses.join(', ') : 'none'}`);
  const errors = Object.entries(s.networkErrors).map(([k, v]) => `${k} ${v}`);
  if (errors.length) lines.push(`  network errors: ${errors.join(', ')}`);
  if (s.badLines || s.duplicates)
    lines.push(
      `  CSV: ${s.badLines} bad line(s) skipped, ${s.duplicates} duplicate address(es) replayed once`,
    );
  lines.push(
    "  by the IP's score and categories as the CSV gives them (stopped = blocked or challenged); ipgate",
    '  never tells a client why it blocked it: the reasons are in the decision log (ipgate report)',
  );
  const indent = (t: string) =>
    t
      .split('\n')
      .map((l) => `  ${l}`)
      .join('\n');
  lines.push(indent(table(rows(s.byScore, 'score'))));
  lines.push(indent(table(rows(s.byCategory, 'category'))));
  return lines.join('\n');
}
