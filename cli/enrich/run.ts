/**
 * The lookup loop of `ipgate enrich`: one provider call at a time (non-Enterprise Criminal IP
 * keys refuse concurrent calls), every call counted against the budget, retries included.
 *
 * What a failure does follows the provider contract's `FAILURE_HANDLING`:
 * - `stop` (the key was refused) and `circuit` (the quota is used up) end the run at once; what
 *   was answered is kept, nothing more is asked.
 * - `backoff` (a concurrent call was refused: someone else uses the key, perhaps the Worker's
 *   own broker) waits and tries again, a few times.
 * - `retry` (5xx, timeout, network, a body that is not the documented shape) waits and tries
 *   again a bounded number of times, then records the address as failed and goes on.
 * - `skip` (the provider refuses the address) records it as failed at once.
 *
 * I/O stays with the caller: results, failures, retries and progress go out through callbacks,
 * and time passes only through `sleep`.
 */
import {
  ENRICH_BACKOFF_MAX_MS,
  ENRICH_CONCURRENCY_ATTEMPTS,
  ENRICH_RETRY_ATTEMPTS,
} from '../../src/constants';
import {
  FAILURE_HANDLING,
  type ProviderFailure,
  type ProviderFailureKind,
  type ReputationProvider,
} from '../../src/providers/index';
import type { ReputationRecord } from '../../src/reputation/record';
import { backoffMs } from '../retry';
import type { Candidate } from './select';

export interface RunOptions {
  provider: ReputationProvider;
  /** Most API calls, retries included. */
  budget: number;
  backoffBaseMs: number;
  sleep: (ms: number) => Promise<void>;
  /** Aborting it ends the run after the call in flight (Ctrl-C). */
  signal?: AbortSignal;
  onResult: (c: Candidate, record: ReputationRecord) => void;
  onFailure?: (c: Candidate, failure: ProviderFailure, calls: number) => void;
  onRetry?: (message: string) => void;
  /** Candidates finished (answered, failed) so far. */
  onProgress?: (done: number) => void;
}

export type StopReason = 'budget' | 'quota' | 'invalid_key' | 'interrupted';

export interface RunReport {
  /** Clients answered. */
  lookedUp: number;
  calls: number;
  byScore: Record<string, number>;
  byCategory: Record<string, number>;
  failed: { key: string; kind: ProviderFailureKind; message: string }[];
  failedByKind: Partial<Record<ProviderFailureKind, number>>;
  /** Why the run ended before the last candidate, or null. */
  stopped: { reason: StopReason; message: string } | null;
  /** Candidates never finished (budget spent or the run stopped). */
  notReached: number;
}

export async function runLookups(candidates: Candidate[], o: RunOptions): Promise<RunReport> {
  const report: RunReport = {
    lookedUp: 0,
    calls: 0,
    byScore: {},
    byCategory: {},
    failed: [],
    failedByKind: {},
    stopped: null,
    notReached: 0,
  };
  const policy = {
    attempts: Number.POSITIVE_INFINITY,
    baseMs: o.backoffBaseMs,
    maxMs: ENRICH_BACKOFF_MAX_MS,
  };
  const name = o.provider.name;
  let finished = 0;

  const fail = (c: Candidate, failure: ProviderFailure, calls: number) => {
    report.failed.push({ key: c.key, kind: failure.kind, message: failure.message });
    report.failedByKind[failure.kind] = (report.failedByKind[failure.kind] ?? 0) + 1;
    o.onFailure?.(c, failure, calls);
  };

  outer: for (const c of candidates) {
    let concurrencyRefusals = 0;
    let transientFailures = 0;
    let calls = 0;
    for (;;) {
      if (o.signal?.aborted) {
        report.stopped = { reason: 'interrupted', message: 'interrupted' };
        break outer;
      }
      if (report.calls >= o.budget) {
        report.stopped = {
          reason: 'budget',
          message: `the budget of ${o.budget} API call(s) is spent`,
        };
        break outer;
      }
      report.calls += 1;
      calls += 1;
      const r = await o.provider.lookup(c.ip, o.signal);
      if (r.ok) {
        report.lookedUp += 1;
        report.byScore[r.record.score] = (report.byScore[r.record.score] ?? 0) + 1;
        for (const cat of r.record.categories)
          report.byCategory[cat] = (report.byCategory[cat] ?? 0) + 1;
        o.onResult(c, r.record);
        break;
      }
      if (o.signal?.aborted) {
        report.stopped = { reason: 'interrupted', message: 'interrupted' };
        break outer;
      }
      const { failure } = r;
      const handling = FAILURE_HANDLING[failure.kind];
      if (handling === 'stop' || handling === 'circuit') {
        report.stopped = {
          reason: failure.kind === 'quota' ? 'quota' : 'invalid_key',
          message: failure.message,
        };
        break outer;
      }
      if (handling === 'skip') {
        fail(c, failure, calls);
        break;
      }
      const [tries, limit] =
        handling === 'backoff'
          ? [++concurrencyRefusals, ENRICH_CONCURRENCY_ATTEMPTS]
          : [++transientFailures, ENRICH_RETRY_ATTEMPTS];
      if (tries >= limit) {
        fail(c, failure, calls);
        break;
      }
      const wait = Math.round(backoffMs(tries, policy));
      o.onRetry?.(
        `${name}: ${c.key}: ${failure.kind} (${failure.message}); retrying in ${wait} ms (${tries + 1}/${limit})`,
      );
      await o.sleep(wait);
    }
    finished += 1;
    o.onProgress?.(finished);
  }
  report.notReached = candidates.length - finished;
  return report;
}
