/**
 * ipgate under load with failing dependencies (`npm run test:load`): 50,000 requests from a
 * seeded mix of listed, unlisted and address-less clients, on auth and site paths, through
 * local workerd, while a tenth of KV reads fail or hang and a tenth of live API calls answer
 * 500 or time out, and the API's quota runs out part-way (./run.ts sets it up).
 *
 * Checked: no request goes unanswered and none gets a 5xx; every answer agrees with the one
 * decision logged for it in D1 (joined by the request's own path); every block is explained by
 * the subject's known record and the documented default policy (./expect.ts), and no listed
 * client that should be blocked passes without a recorded failure; the origin got exactly the
 * passed requests; the D1 log holds exactly one row per request once the background writes
 * are done; the broker stops calling the API once it reports "limit exceeded".
 *
 * Knobs (environment): LOAD_REQUESTS (50000), LOAD_CONCURRENCY (32), LOAD_SEED (20240613),
 * LOAD_FAULT_RATE (0.1), LOAD_TABLE_INTERVALS (20000), LOAD_VERBOSE=1 (the Worker's console).
 * One JSON summary line (`{"load":"ipgate",…}`) goes to stdout and test-results/load-summary.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIVE_MAX_CONCURRENCY } from '../../src/constants';
import { documentedRule, violation } from './expect';
import { type LoadRun, runLoad } from './run';

function setting(name: string, fallback: number): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isFinite(n) || n <= 0)
    throw new Error(`${name} must be a positive number, got "${raw}"`);
  return n;
}

const settings = {
  requests: Math.round(setting('LOAD_REQUESTS', 50_000)),
  concurrency: Math.round(setting('LOAD_CONCURRENCY', 32)),
  seed: Math.round(setting('LOAD_SEED', 20_240_613)),
  faultRate: setting('LOAD_FAULT_RATE', 0.1),
  tableIntervals: Math.round(setting('LOAD_TABLE_INTERVALS', 20_000)),
  verbose: process.env.LOAD_VERBOSE === '1',
};

/** Shown in a failure message: the first few problems, with the request they belong to. */
const MAX_SHOWN = 15;

let load: LoadRun;
const started = Date.now();
let problems: { id: number; path: string; why: string }[] = [];

function show(list: unknown[]): string {
  const head = list.slice(0, MAX_SHOWN).map((x) => `  ${JSON.stringify(x)}`);
  return [`${list.length} problem(s):`, ...head, list.length > MAX_SHOWN ? '  …' : ''].join('\n');
}

/** Counts of a key over the requests. */
function tally<T>(items: T[], key: (t: T) => string | null): Record<string, number> {
  const out: Record<string, number> = {};
  for (const t of items) {
    const k = key(t);
    if (k !== null) out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}

/** Nearest-rank percentiles, and the share of time spent in answers slower than 500 ms. */
function latency(ms: number[]) {
  const sorted = [...ms].sort((a, b) => a - b);
  const at = (p: number) =>
    Math.round(sorted[Math.min(sorted.length - 1, Math.ceil(p * sorted.length) - 1)] ?? 0);
  const total = ms.reduce((a, b) => a + b, 0);
  const slow = ms.filter((x) => x > 500);
  return {
    p50: at(0.5),
    p90: at(0.9),
    p99: at(0.99),
    max: Math.round(sorted.at(-1) ?? 0),
    over500ms: slow.length,
    timeShareOver500ms:
      Math.round((slow.reduce((a, b) => a + b, 0) / Math.max(1, total)) * 100) / 100,
  };
}

beforeAll(async () => {
  load = await runLoad(settings);
  problems = [];
  for (const req of load.plan.requests) {
    const subject = load.plan.subjects[req.subject];
    if (!subject) throw new Error(`request ${req.id} names no subject`);
    const why = violation(req, subject, load.outcomes[req.id], load.decisions.get(req.path));
    if (why) problems.push({ id: req.id, path: req.path, why });
  }
});

afterAll(() => {
  if (!load) return;
  const { plan, outcomes } = load;
  const rows = plan.requests.map((r) => ({ r, row: load.decisions.get(r.path) }));
  const blockedBy = (live: boolean) =>
    tally(rows, ({ r, row }) => {
      const kind = plan.subjects[r.subject]?.kind ?? '';
      return row?.action === 'block' && kind.startsWith('live-') === live ? row.rule : null;
    });
  const shouldBlock = rows.filter(({ r }) => {
    const s = plan.subjects[r.subject];
    return r.auth && s?.score !== undefined && documentedRule(s.score, s.categories ?? []) !== null;
  });
  const summary = {
    load: 'ipgate',
    requests: plan.requests.length,
    concurrency: settings.concurrency,
    seed: settings.seed,
    faultRate: settings.faultRate,
    durationS: Math.round((Date.now() - started) / 100) / 10,
    sendS: Math.round(load.sendMs / 100) / 10,
    rps: Math.round((plan.requests.length * 1000) / load.sendMs),
    statuses: tally(outcomes, (o) => String(o.status)),
    latencyMs: latency(outcomes.map((o) => o.ms)),
    blocks: { table: blockedBy(false), live: blockedBy(true) },
    shouldBlockOnAuth: {
      requests: shouldBlock.length,
      blocked: shouldBlock.filter(({ row }) => row?.action === 'block').length,
      allowedWithRecordedFailure: tally(
        shouldBlock.filter(({ row }) => row?.action === 'allow'),
        ({ row }) => `${row?.reason}/${row?.lookup}`,
      ),
    },
    reasons: Object.fromEntries(
      load.reasons.map((r) => [`${r.action}/${r.reason}/${r.lookup}`, r.n]),
    ),
    d1Rows: load.rows,
    d1FlushWaitMs: load.flushWaitMs,
    tableChunks: load.tableChunks,
    kvFaults: load.kvFaults,
    api: {
      calls: load.api.calls,
      maxConcurrent: load.api.maxConcurrent,
      quotaFromCall: load.quotaFromCall,
    },
    apiFaults: load.apiFaults,
    originRequests: [...load.originPaths.values()].reduce((a, b) => a + b, 0),
    violations: problems.length,
    workerWarnings: load.workerWarnings.length,
  };
  const line = JSON.stringify(summary);
  process.stdout.write(`${line}\n`);
  mkdirSync('test-results', { recursive: true });
  writeFileSync('test-results/load-summary.json', `${line}\n`);
  if (load.workerWarnings.length)
    process.stderr.write(
      `[test:load] Worker console:\n${load.workerWarnings.slice(0, 20).join('\n')}\n`,
    );
});

describe(`ipgate under load: ${settings.requests} requests, ${settings.faultRate * 100}% of KV reads and API calls failing`, () => {
  it('answers every request, and never with a 5xx', () => {
    const bad = load.outcomes
      .map((o, id) => ({
        id,
        path: load.plan.requests[id]?.path,
        status: o?.status,
        error: o?.error,
      }))
      .filter((o) => o.status === undefined || o.status === 0 || o.status >= 500);
    expect(bad, show(bad)).toEqual([]);
    expect(load.outcomes.filter(Boolean)).toHaveLength(settings.requests);
    const statuses = new Set(load.outcomes.map((o) => o.status));
    expect([...statuses].sort()).toEqual([200, 403]);
  });

  it('met the faults it was set up with, and logged the failures they caused', () => {
    expect(load.kvFaults.thrown, 'KV reads that threw').toBeGreaterThan(0);
    expect(load.kvFaults.hung, 'KV reads that hung').toBeGreaterThan(0);
    expect(load.apiFaults.injected.html500, 'API calls answered 500').toBeGreaterThan(0);
    expect(load.apiFaults.injected.timeout, 'API calls held past the timeout').toBeGreaterThan(0);
    expect(load.apiFaults.injected.quota, 'API calls answered "limit exceeded"').toBeGreaterThan(0);
    const failures = load.reasons
      .filter(
        (r) => r.reason === 'internal_error' || (r.reason === 'unknown' && r.lookup !== 'miss'),
      )
      .reduce((n, r) => n + r.n, 0);
    expect(failures, 'decisions logged with a failure reason').toBeGreaterThan(0);
  });

  it('logs exactly one decision per request in D1 once the background writes are done', () => {
    const missing = load.plan.requests
      .filter((r) => !load.decisions.has(r.path))
      .map((r) => ({ id: r.id, path: r.path, status: load.outcomes[r.id]?.status }));
    expect(missing, show(missing)).toEqual([]);
    expect(load.repeatedPaths, show(load.repeatedPaths)).toEqual([]);
    expect(load.rows, `rows in D1 after ${load.flushWaitMs} ms`).toBe(settings.requests);
  });

  it('blocks exactly what the table, the API and the default policy explain', () => {
    expect(problems, show(problems)).toEqual([]);
    // Not vacuous: blocks came from both the table and live verdicts, and each rule fired.
    const rules = new Set<string>();
    let live = 0;
    for (const r of load.plan.requests) {
      const row = load.decisions.get(r.path);
      if (row?.action !== 'block') continue;
      rules.add(row.rule);
      if (row.source === 'criminalip') live += 1;
    }
    expect([...rules].sort()).toEqual(['anonymizer', 'dirty', 'hosting']);
    expect(live, 'blocks on a live verdict').toBeGreaterThan(0);
  });

  it('forwards every request it passes to the origin, and none it blocks', () => {
    const wrong = load.plan.requests.flatMap((r) => {
      const status = load.outcomes[r.id]?.status;
      const seen = load.originPaths.get(r.path) ?? 0;
      const want = status === 200 ? 1 : 0;
      return seen === want ? [] : [{ id: r.id, path: r.path, status, originSaw: seen }];
    });
    expect(wrong, show(wrong)).toEqual([]);
    const planned = new Set(load.plan.requests.map((r) => r.path));
    const strangers = [...load.originPaths.keys()].filter((p) => !planned.has(p));
    expect(strangers, show(strangers)).toEqual([]);
  });

  it('stops calling the API once it answered "limit exceeded"', () => {
    expect(load.apiFaults.callsAfterQuota).toBeLessThanOrEqual(LIVE_MAX_CONCURRENCY);
  });
});
