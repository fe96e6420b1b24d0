/** The Analytics Engine layout: positions, encodings and the blob size limit. */
import { describe, expect, it } from 'vitest';
import { AE_MAX_BLOB_BYTES } from '../../../src/constants';
import {
  AE_BLOBS,
  AE_DOUBLES,
  analyticsEngineSink,
  toDataPoint,
} from '../../../src/sink/analytics-engine';
import type { DecisionEvent } from '../../../src/sink/event';
import { from, harness, SAMPLE_CSV, seedTable } from '../helpers';

const event: DecisionEvent = {
  time: 1,
  ref: 'abc123',
  ip: '203.0.113.7',
  host: 'example.com',
  method: 'GET',
  path: '/login',
  routeClass: 'auth',
  action: 'block',
  monitorOnly: true,
  reason: 'reputation_rule',
  rule: 'dirty',
  lookup: 'hit',
  score: 'critical',
  categories: ['scanner', 'vpn'],
  country: 'NL',
  asn: 64496,
  org: 'Example',
  source: 'feed',
  latencyMs: 3,
  policyVersion: 'p1',
  tableGeneration: 'g1',
  detail: '',
};

describe('Analytics Engine sink', () => {
  it('writes the documented layout', () => {
    const p = toDataPoint(event);
    expect(p.indexes).toEqual(['203.0.113.7']);
    const blob = (name: (typeof AE_BLOBS)[number]) => p.blobs?.[AE_BLOBS.indexOf(name)];
    expect(blob('action')).toBe('block');
    expect(blob('reason')).toBe('reputation_rule');
    expect(blob('categories')).toBe('|scanner|vpn|');
    expect(blob('ip')).toBe('203.0.113.7');
    expect(p.blobs).toHaveLength(18);
    const dbl = (name: (typeof AE_DOUBLES)[number]) => p.doubles?.[AE_DOUBLES.indexOf(name)];
    expect(dbl('asn')).toBe(64496);
    expect(dbl('monitorOnly')).toBe(1);
    expect(dbl('scoreRank')).toBe(5);
    expect(dbl('dirty')).toBe(1);
  });

  it('cuts long blobs to fit the per-point limit', () => {
    const p = toDataPoint({ ...event, path: `/${'a'.repeat(9000)}`, org: 'ü'.repeat(3000) });
    const total = (p.blobs ?? []).reduce<number>(
      (n, b) => n + new TextEncoder().encode(String(b)).length,
      0,
    );
    expect(total).toBeLessThanOrEqual(AE_MAX_BLOB_BYTES);
    expect(p.blobs?.[AE_BLOBS.indexOf('reason')]).toBe('reputation_rule');
  });

  it('is chosen when DECISIONS is bound, one data point per decision', async () => {
    await seedTable(SAMPLE_CSV);
    const points: AnalyticsEngineDataPoint[] = [];
    const dataset = {
      writeDataPoint: (p?: AnalyticsEngineDataPoint) => void (p && points.push(p)),
    };
    const h = harness({ sink: undefined });
    const env = { DECISIONS: dataset as AnalyticsEngineDataset };
    await h.fetch('/login', { headers: from('203.0.113.7').headers }, env);
    await h.fetch('/', { headers: from('203.0.113.10').headers }, env);
    expect(points.map((p) => p.blobs?.[1])).toEqual(['reputation_rule', 'no_rules']);
    expect(h.app.gate.sinkFor(env as never).name).toBe('analytics-engine');
  });

  it('wraps the sink so a direct write is synchronous', () => {
    const points: unknown[] = [];
    const sink = analyticsEngineSink({
      writeDataPoint: (p) => void points.push(p),
    } as AnalyticsEngineDataset);
    expect(sink.write(event)).toBeUndefined();
    expect(points).toHaveLength(1);
  });
});
