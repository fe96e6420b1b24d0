/**
 * Retention: the cron trigger's `scheduled` handler deletes decisions older than
 * DECISIONS_RETENTION_DAYS from D1, and nothing newer.
 */
import {
  createExecutionContext,
  createScheduledController,
  waitOnExecutionContext,
} from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../../src/index';
import { d1Sink } from '../../../src/sink/d1';
import type { DecisionEvent } from '../../../src/sink/event';
import {
  cleanupDecisions,
  deleteDecisionsBefore,
  retentionDays,
} from '../../../src/sink/retention';
import { clearDecisions, db, testEnv } from './support';

const DAY = 86_400_000;
const NOW = Date.UTC(2026, 10, 26, 3, 17);

function event(ref: string, time: number): DecisionEvent {
  return {
    time,
    ref,
    ip: '203.0.113.7',
    host: 'example.com',
    method: 'GET',
    path: '/login',
    routeClass: 'auth',
    action: 'block',
    monitorOnly: false,
    reason: 'reputation_rule',
    rule: 'dirty',
    lookup: 'hit',
    score: 'critical',
    categories: [],
    country: 'NL',
    asn: 64496,
    org: 'Example',
    source: 'test',
    latencyMs: 1,
    policyVersion: 'p',
    tableGeneration: 'g',
    detail: '',
  };
}

async function seed(ages: Record<string, number>): Promise<void> {
  const sink = d1Sink(db());
  await Promise.all(Object.entries(ages).map(([ref, age]) => sink.write(event(ref, NOW - age))));
}

async function refs(): Promise<string[]> {
  const r = await db().prepare('SELECT ref FROM decisions ORDER BY time').all<{ ref: string }>();
  return r.results.map((x) => x.ref);
}

beforeEach(async () => {
  await clearDecisions();
});

describe('retentionDays', () => {
  it.each([
    [undefined, 30],
    ['', 30],
    ['7', 7],
    [' 90 ', 90],
    ['0', 30],
    ['-3', 30],
    ['1.5', 30],
    ['thirty', 30],
    ['3650', 3650],
    ['3651', 30],
  ])('%j → %i days', (value, days) => {
    expect(retentionDays(value)).toBe(days);
  });
});

describe('cleanup', () => {
  it('deletes rows older than the retention only', async () => {
    await seed({ old: 40 * DAY, edge: 30 * DAY + 1, kept: 30 * DAY - 1, fresh: DAY, now: 0 });
    const result = await cleanupDecisions({ ...testEnv, DECISIONS_RETENTION_DAYS: '30' }, NOW);
    expect(result).toEqual({ cutoff: NOW - 30 * DAY, deleted: 2, complete: true });
    expect(await refs()).toEqual(['kept', 'fresh', 'now']);
  });

  it('deletes in slices until none is left', async () => {
    const ages = Object.fromEntries(
      Array.from({ length: 7 }, (_, i) => [`old${i}`, (10 + i) * DAY] as const),
    );
    await seed({ ...ages, fresh: DAY });
    expect(await deleteDecisionsBefore(db(), NOW - 5 * DAY, 3)).toEqual({
      cutoff: NOW - 5 * DAY,
      deleted: 7,
      complete: true,
    });
    expect(await refs()).toEqual(['fresh']);
  });

  it('stops after its rounds and says so', async () => {
    await seed({ a: 10 * DAY, b: 11 * DAY, c: 12 * DAY });
    const r = await deleteDecisionsBefore(db(), NOW, 1, 2);
    expect(r).toMatchObject({ deleted: 2, complete: false });
    expect(await refs()).toHaveLength(1);
  });

  it('does nothing without DECISIONS_DB', async () => {
    expect(await cleanupDecisions({ ...testEnv, DECISIONS_DB: undefined }, NOW)).toBeNull();
  });
});

describe('the scheduled handler', () => {
  it('runs the cleanup at the trigger time with the configured retention', async () => {
    await seed({ old: 8 * DAY, kept: 6 * DAY });
    const ctx = createExecutionContext();
    const controller = createScheduledController({ scheduledTime: NOW, cron: '17 3 * * *' });
    await worker.scheduled(controller, { ...testEnv, DECISIONS_RETENTION_DAYS: '7' }, ctx);
    await waitOnExecutionContext(ctx);
    expect(await refs()).toEqual(['kept']);
  });

  it('keeps 30 days by default (wrangler.toml) and survives a broken binding', async () => {
    await seed({ old: 31 * DAY, kept: 29 * DAY });
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ scheduledTime: NOW }), testEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(await refs()).toEqual(['kept']);
    const broken = { ...testEnv, DECISIONS_DB: {} as D1Database };
    const ctx2 = createExecutionContext();
    await expect(
      worker.scheduled(createScheduledController({ scheduledTime: NOW }), broken, ctx2),
    ).resolves.toBeUndefined();
  });

  it('still serves fetch', async () => {
    const ctx = createExecutionContext();
    const res = await worker.fetch(new Request('http://gate.test/__ipgate/health'), testEnv, ctx);
    await waitOnExecutionContext(ctx);
    expect(res.status).toBeLessThan(500);
  });
});
