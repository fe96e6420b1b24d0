/**
 * Injected failures in the decision stores, through the gate with the sink the bindings select:
 * D1 whose prepare throws, whose batch rejects or never settles, with and without Analytics
 * Engine bound; Analytics Engine missing or throwing from writeDataPoint, with D1 bound; both
 * failing. The client always gets what the policy decided, and whichever store still works
 * holds every decision with its reason; a store that fails says so in the log.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Env } from '../../../src/env';
import { AE_BLOBS, analyticsEngineSink } from '../../../src/sink/analytics-engine';
import { d1Sink } from '../../../src/sink/d1';
import { teeSink } from '../../../src/sink/select';
import {
  clearPolicy,
  expectBlocked,
  expectPassed,
  from,
  type Harness,
  harness,
  SAMPLE_CSV,
  seedTable,
  testEnv,
  testId,
} from '../helpers';

beforeAll(async () => {
  await seedTable(SAMPLE_CSV);
  await clearPolicy();
});

afterEach(() => {
  vi.restoreAllMocks();
});

const realDb = () => testEnv.DECISIONS_DB as D1Database;

type D1Fault = 'prepare throws' | 'batch rejects' | 'batch never settles';

/** A D1 binding that fails as `fault` says, for its first `times` batches, then is the real one. */
function failingDb(fault: D1Fault, times = Number.POSITIVE_INFINITY): D1Database {
  let failures = 0;
  const db = realDb();
  return {
    prepare(sql: string) {
      if (fault === 'prepare throws' && failures < times) {
        failures += 1;
        throw new Error('D1_ERROR: binding unavailable');
      }
      return db.prepare(sql);
    },
    batch(statements: D1PreparedStatement[]) {
      if (fault === 'prepare throws' || failures >= times) return db.batch(statements);
      failures += 1;
      if (fault === 'batch rejects')
        return Promise.reject(new Error('D1_ERROR: Network connection lost.'));
      return new Promise(() => {});
    },
  } as unknown as D1Database;
}

/** An Analytics Engine dataset that keeps what is written. */
function capturingDataset() {
  const points: AnalyticsEngineDataPoint[] = [];
  const dataset = {
    writeDataPoint(p?: AnalyticsEngineDataPoint) {
      if (p) points.push(p);
    },
  } as AnalyticsEngineDataset;
  const reasons = () => points.map((p) => p.blobs?.[AE_BLOBS.indexOf('reason')]);
  return { dataset, points, reasons };
}

const throwingDataset = {
  writeDataPoint() {
    throw new Error('Analytics Engine dataset unavailable');
  },
} as unknown as AnalyticsEngineDataset;

/** The reasons of the three requests `play` sends, in order. */
const REASONS = ['reputation_rule', 'clean', 'no_rules'];

/**
 * A blocked, a passed and an unprotected request, each on the host `host` (so D1 rows can be
 * told apart); each response is checked against the policy, the origin's log included.
 */
async function play(h: Harness, host: string, env: Partial<Env>): Promise<void> {
  const bad = from('203.0.113.7');
  await expectBlocked(await h.fetch(`http://${host}/login`, { headers: bad.headers }, env), bad.id);
  const good = from('203.0.113.10');
  await expectPassed(
    await h.fetch(`http://${host}/login`, { headers: good.headers }, env),
    good.id,
  );
  const site = from('203.0.113.7');
  await expectPassed(await h.fetch(`http://${host}/`, { headers: site.headers }, env), site.id);
}

async function d1Reasons(host: string): Promise<string[]> {
  const rows = await realDb()
    .prepare('SELECT reason FROM decisions WHERE host = ? ORDER BY time, id')
    .bind(host)
    .all<{ reason: string }>();
  return rows.results.map((r) => r.reason);
}

const freshHost = () => `${testId('sink')}.test`;

const warnings = () => vi.spyOn(console, 'warn').mockImplementation(() => {});

describe('D1 fails', () => {
  it.each(['prepare throws', 'batch rejects'] as const)(
    'when %s, Analytics Engine still gets every decision',
    async (fault) => {
      const warn = warnings();
      const ae = capturingDataset();
      const host = freshHost();
      await play(harness({ sink: undefined }), host, {
        DECISIONS_DB: failingDb(fault),
        DECISIONS: ae.dataset,
      });
      expect(ae.reasons()).toEqual(REASONS);
      expect(await d1Reasons(host)).toEqual([]);
      expect(warn).toHaveBeenCalledTimes(3);
      expect(warn).toHaveBeenCalledWith(
        expect.stringMatching(/^ipgate: 1 decision event\(s\) not written to D1: D1_ERROR/),
      );
    },
  );

  it.each(['prepare throws', 'batch rejects'] as const)(
    'when %s and nothing else is bound, requests flow and each lost event is logged',
    async (fault) => {
      const warn = warnings();
      const host = freshHost();
      await play(harness({ sink: undefined }), host, {
        DECISIONS_DB: failingDb(fault),
        DECISIONS: undefined,
      });
      expect(warn).toHaveBeenCalledTimes(3);
      expect(await d1Reasons(host)).toEqual([]);
    },
  );

  it('when a batch never settles, gives it up and writes the next one', async () => {
    const warn = warnings();
    const ae = capturingDataset();
    const host = freshHost();
    // The sink the bindings select, with a short flush deadline so the test need not wait 10 s.
    const sink = teeSink([
      analyticsEngineSink(ae.dataset),
      d1Sink(failingDb('batch never settles', 1), { flushDeadlineMs: 300 }),
    ]);
    const h = harness({ sink: () => sink });
    const started = Date.now();
    await play(h, host, {});
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(ae.reasons()).toEqual(REASONS);
    // The first batch was given up; the two after it were written.
    expect(await d1Reasons(host)).toEqual(REASONS.slice(1));
    expect(warn).toHaveBeenCalledTimes(1);
    expect(warn).toHaveBeenCalledWith(
      'ipgate: 1 decision event(s) not written to D1: D1 did not answer within 300 ms',
    );
  });

  it('writes again once D1 recovers', async () => {
    const warn = warnings();
    const host = freshHost();
    await play(harness({ sink: undefined }), host, {
      DECISIONS_DB: failingDb('batch rejects', 1),
      DECISIONS: undefined,
    });
    expect(await d1Reasons(host)).toEqual(REASONS.slice(1));
    expect(warn).toHaveBeenCalledTimes(1);
  });
});

describe('Analytics Engine fails or is missing', () => {
  it('when writeDataPoint throws, D1 still gets every decision', async () => {
    const host = freshHost();
    await play(harness({ sink: undefined }), host, { DECISIONS: throwingDataset });
    expect(await d1Reasons(host)).toEqual(REASONS);
  });

  it('when it is not bound, D1 gets every decision', async () => {
    const host = freshHost();
    const h = harness({ sink: undefined });
    await play(h, host, { DECISIONS: undefined });
    expect(await d1Reasons(host)).toEqual(REASONS);
    expect(h.app.gate.sinkFor({ ...testEnv, DECISIONS: undefined }).name).toBe('d1');
  });

  it('when it is the only store and throws, requests flow and each lost event is logged', async () => {
    const warn = warnings();
    await play(harness({ sink: undefined }), freshHost(), {
      DECISIONS: throwingDataset,
      DECISIONS_DB: undefined,
    });
    expect(warn.mock.calls).toEqual(
      Array(3).fill([
        'ipgate: decision event not recorded: Error: Analytics Engine dataset unavailable',
      ]),
    );
  });
});

describe('no store works', () => {
  it('requests flow when both stores fail', async () => {
    const warn = warnings();
    const host = freshHost();
    await play(harness({ sink: undefined }), host, {
      DECISIONS: throwingDataset,
      DECISIONS_DB: failingDb('batch rejects'),
    });
    expect(await d1Reasons(host)).toEqual([]);
    expect(warn).toHaveBeenCalledTimes(3);
  });

  it('requests flow when neither store is bound', async () => {
    const host = freshHost();
    const h = harness({ sink: undefined });
    await play(h, host, { DECISIONS: undefined, DECISIONS_DB: undefined });
    expect(
      h.app.gate.sinkFor({ ...testEnv, DECISIONS: undefined, DECISIONS_DB: undefined }).name,
    ).toBe('none');
  });
});
