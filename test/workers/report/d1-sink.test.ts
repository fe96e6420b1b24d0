/**
 * The D1 sink: events batched per isolate off the response path, one `db.batch()` per flush,
 * and a D1 that fails never changes what the client gets. Also which sink the bindings select.
 */
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { D1_SINK_MAX_BATCH } from '../../../src/constants';
import { d1Sink } from '../../../src/sink/d1';
import type { DecisionEvent, DecisionSink } from '../../../src/sink/event';
import { sinkForBindings, teeSink } from '../../../src/sink/select';
import {
  clearPolicy,
  expectBlocked,
  expectPassed,
  from,
  harness,
  SAMPLE_CSV,
  seedTable,
  testEnv,
} from '../helpers';
import { capturingDataset, clearDecisions, db, decisionCount } from './support';

const event = (n: number): DecisionEvent => ({
  time: 1_700_000_000_000 + n,
  ref: `ref${n}`,
  ip: `203.0.113.${n % 250}`,
  host: 'example.com',
  method: 'GET',
  path: `/p/${n}`,
  routeClass: 'site',
  action: 'allow',
  monitorOnly: false,
  reason: 'no_rules',
  rule: '',
  lookup: 'hit',
  score: 'low',
  categories: ['hosting', 'vpn'],
  country: 'US',
  asn: 64500,
  org: "O'Brien & Co",
  source: 'feed',
  latencyMs: 1.25,
  policyVersion: 'p1',
  tableGeneration: 'g1',
  detail: '',
});

/** The real binding, counting db.batch() calls and their sizes. */
function countingDb(): { db: D1Database; batches: number[] } {
  const real = db();
  const batches: number[] = [];
  const wrapped = {
    prepare: (sql: string) => real.prepare(sql),
    batch: (statements: D1PreparedStatement[]) => {
      batches.push(statements.length);
      return real.batch(statements);
    },
  } as unknown as D1Database;
  return { db: wrapped, batches };
}

beforeAll(async () => {
  await seedTable(SAMPLE_CSV);
  await clearPolicy();
});

beforeEach(async () => {
  await clearDecisions();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('d1Sink', () => {
  it('writes events written together with one db.batch()', async () => {
    const { db: counted, batches } = countingDb();
    const sink = d1Sink(counted);
    const pending = [1, 2, 3, 4, 5].map((n) => sink.write(event(n)));
    expect(batches).toEqual([]); // nothing on the caller's path
    await Promise.all(pending);
    expect(batches).toEqual([5]);
    expect(await decisionCount()).toBe(5);
    const row = await db().prepare("SELECT * FROM decisions WHERE ref = 'ref3'").first();
    expect(row).toMatchObject({
      time: 1_700_000_000_003,
      categories: '|hosting|vpn|',
      org: "O'Brien & Co",
      monitor_only: 0,
      score_rank: 2,
      latency_ms: 1.25,
    });
  });

  it('closes a batch at the limit and gathers the rest while a flush runs', async () => {
    const { db: counted, batches } = countingDb();
    const sink = d1Sink(counted);
    const n = D1_SINK_MAX_BATCH * 2 + 7;
    const pending = Array.from({ length: n }, (_, i) => sink.write(event(i)));
    await Promise.all(pending);
    expect(batches).toEqual([D1_SINK_MAX_BATCH, D1_SINK_MAX_BATCH, 7]);
    // Written while the first flush was in flight: one more batch, after it.
    const a = sink.write(event(1000));
    const b = sink.write(event(1001));
    await Promise.all([a, b]);
    expect(batches).toEqual([D1_SINK_MAX_BATCH, D1_SINK_MAX_BATCH, 7, 2]);
    expect(await decisionCount()).toBe(n + 2);
  });

  it('coalesces concurrent requests through the gate, each waiting for its own flush', async () => {
    const { db: counted, batches } = countingDb();
    const h = harness({ sink: undefined });
    const env = { DECISIONS_DB: counted, DECISIONS: undefined };
    const started = ['203.0.113.7', '203.0.113.9', '192.0.2.10', '203.0.113.10'].map((ip) =>
      h.start('/login', { headers: from(ip).headers }, env),
    );
    const responses = await Promise.all(started.map((s) => s.response));
    await Promise.all(started.map((s) => s.background()));
    expect(responses.map((r) => r.status)).toEqual([403, 200, 403, 200]);
    expect(batches.reduce((a, b) => a + b, 0)).toBe(4);
    expect(batches.length).toBeLessThanOrEqual(4);
    expect(await decisionCount()).toBe(4);
  });

  it('reports a failed flush once and resolves, never rejects', async () => {
    const errors: string[] = [];
    const broken = {
      prepare: () => {
        throw new Error('D1_ERROR: no such table: decisions');
      },
    } as unknown as D1Database;
    const sink = d1Sink(broken, { onError: (e, n) => errors.push(`${n}: ${e}`) });
    await expect(Promise.all([sink.write(event(1)), sink.write(event(2))])).resolves.toEqual([
      undefined,
      undefined,
    ]);
    expect(errors).toEqual(['2: Error: D1_ERROR: no such table: decisions']);
    // The next batch is written again.
    await sink.write(event(3));
    expect(errors).toHaveLength(2);
  });

  it('names the missing schema in its log line', async () => {
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => {});
    const sink = d1Sink({
      prepare: () => ({ bind: () => ({}) }),
      batch: () => Promise.reject(new Error('D1_ERROR: no such table: decisions: SQLITE_ERROR')),
    } as unknown as D1Database);
    await sink.write(event(1));
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/1 decision event\(s\) not written/));
    expect(warn).toHaveBeenCalledWith(expect.stringMatching(/d1 migrations apply DECISIONS_DB/));
  });
});

describe('a failing D1 never affects the request', () => {
  const brokenBindings: [string, D1Database][] = [
    [
      'prepare throws',
      {
        prepare() {
          throw new Error('binding broken');
        },
        batch() {
          throw new Error('binding broken');
        },
      } as unknown as D1Database,
    ],
    [
      'batch rejects',
      {
        prepare: () => ({ bind: () => ({}) }),
        batch: () => Promise.reject(new Error('D1_ERROR: network connection lost')),
      } as unknown as D1Database,
    ],
    ['is not a database at all', {} as D1Database],
  ];

  it.each(brokenBindings)('when %s', async (_label, broken) => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const h = harness({ sink: undefined });
    const env = { DECISIONS_DB: broken, DECISIONS: undefined };
    const bad = from('203.0.113.7');
    await expectBlocked(await h.fetch('/login', { headers: bad.headers }, env), bad.id);
    const good = from('203.0.113.10');
    await expectPassed(await h.fetch('/login', { headers: good.headers }, env), good.id);
    const site = from('203.0.113.7');
    await expectPassed(await h.fetch('/', { headers: site.headers }, env), site.id);
    expect(await decisionCount()).toBe(0);
  });

  it('while Analytics Engine still gets every event when both are bound', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {});
    const { dataset, points } = capturingDataset();
    const h = harness({ sink: undefined });
    const env = { DECISIONS_DB: {} as D1Database, DECISIONS: dataset };
    const bad = from('203.0.113.7');
    await expectBlocked(await h.fetch('/login', { headers: bad.headers }, env), bad.id);
    expect(points).toHaveLength(1);
  });
});

describe('sink selection', () => {
  const dataset = { writeDataPoint() {} } as AnalyticsEngineDataset;

  it('follows the bindings', () => {
    expect(sinkForBindings({}).name).toBe('none');
    expect(sinkForBindings({ DECISIONS: dataset }).name).toBe('analytics-engine');
    expect(sinkForBindings({ DECISIONS_DB: db() }).name).toBe('d1');
    expect(sinkForBindings({ DECISIONS: dataset, DECISIONS_DB: db() }).name).toBe(
      'analytics-engine+d1',
    );
  });

  it('keeps one D1 sink (one buffer) per database binding', () => {
    const a = sinkForBindings({ DECISIONS_DB: db() });
    const b = sinkForBindings({ DECISIONS_DB: db() });
    expect(a).toBe(b);
  });

  it('writes to both when both are bound, through the gate', async () => {
    const { dataset: capturing, points } = capturingDataset();
    const h = harness({ sink: undefined });
    const env = { DECISIONS: capturing };
    await h.fetch('/login', { headers: from('203.0.113.7').headers }, env);
    expect(h.app.gate.sinkFor({ ...testEnv, ...env }).name).toBe('analytics-engine+d1');
    expect(points).toHaveLength(1);
    expect(await decisionCount()).toBe(1);
  });

  it('a tee keeps writing to the others when one sink throws', async () => {
    const seen: string[] = [];
    const throwing: DecisionSink = {
      name: 'bad',
      write() {
        throw new Error('boom');
      },
    };
    const rejecting: DecisionSink = { name: 'slow', write: () => Promise.reject(new Error('x')) };
    const good: DecisionSink = { name: 'good', write: (e) => void seen.push(e.ref) };
    const tee = teeSink([throwing, rejecting, good]);
    await expect(tee.write(event(1))).resolves.toBeUndefined();
    expect(seen).toEqual(['ref1']);
  });
});
