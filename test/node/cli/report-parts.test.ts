/**
 * The report's pure parts: window and filter checks, the D1 statements' inlining for wrangler,
 * CSV output, and the fake SQL API's refusals of what Analytics Engine SQL cannot do.
 */
import { describe, expect, it } from 'vitest';
import { CSV_HEADER, reportCsv, reportQuery } from '../../../cli/commands/report';
import { inlineParams, reportStatements } from '../../../src/report/d1';
import { buildReport } from '../../../src/report/fold';
import { parseWhen, ReportQueryError, resolveQuery } from '../../../src/report/query';
import { answerSql, fakeDecisionPoint } from '../../support/fake-analytics-sql';

const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const H = 3_600_000;

describe('the window', () => {
  it.each([
    ['now', NOW],
    ['24h', NOW - 24 * H],
    ['30m', NOW - 30 * 60_000],
    ['7d', NOW - 7 * 24 * H],
    ['2026-11-25', Date.UTC(2026, 10, 25)],
    ['2026-11-25T08:30', Date.UTC(2026, 10, 25, 8, 30)],
    ['2026-11-25 08:30:15Z', Date.UTC(2026, 10, 25, 8, 30, 15)],
    ['2026-11-25T08:30:00+02:00', Date.UTC(2026, 10, 25, 6, 30)],
    ['yesterday', null],
    ['24', null],
    ['2026-13-45', null],
  ])('%s', (text, expected) => {
    expect(parseWhen(text, NOW)).toBe(expected);
  });

  it('is whole seconds, with round default buckets', () => {
    const q = resolveQuery({ since: NOW - 24 * H + 1, until: NOW - 1 });
    expect(q.since).toBe(NOW - 24 * H);
    expect(q.until).toBe(NOW);
    expect(q.bucketMs).toBe(H);
    expect(resolveQuery({ since: NOW - 7 * 24 * H, until: NOW }).bucketMs).toBe(12 * H);
    expect(resolveQuery({ since: NOW - 60_000, until: NOW }).bucketMs).toBe(60_000);
    expect(resolveQuery({ since: NOW - H, until: NOW, bucketMs: 90_000 }).bucketMs).toBe(120_000);
  });

  it('refuses what it cannot answer', () => {
    expect(() => resolveQuery({ since: NOW, until: NOW - 1000 })).toThrow(ReportQueryError);
    expect(() => resolveQuery({ since: NOW - 400 * 24 * H, until: NOW })).toThrow(/366 days/);
    expect(() => resolveQuery({ since: NOW - 24 * H, until: NOW, bucketMs: 60_000 })).toThrow(
      /more than 1000 buckets/,
    );
    expect(() =>
      resolveQuery({ since: NOW - H, until: NOW, filters: { routeClass: 'auth; DROP' } }),
    ).toThrow(/route class/);
  });

  it('reads the CLI flags', () => {
    expect(
      reportQuery({ since: '2h', until: '1h', action: 'monitor-block', country: 'nl' }, NOW),
    ).toEqual({
      since: NOW - 2 * H,
      until: NOW - H,
      filters: { action: 'monitor_block', country: 'nl' },
    });
    expect(() => reportQuery({ bucket: 'soon' }, NOW)).toThrow(/--bucket "soon"/);
  });
});

describe('D1 statements for wrangler', () => {
  it('inline every parameter as a literal', () => {
    const q = resolveQuery({
      since: NOW - H,
      until: NOW,
      filters: { routeClass: 'auth', action: 'monitor_block', country: 'NL', category: 'vpn' },
    });
    const [clients, , timeline] = reportStatements(q).map(inlineParams);
    expect(clients).toContain(`time >= ${NOW - H} AND time < ${NOW}`);
    expect(clients).toContain("route_class = 'auth' AND action = 'block' AND monitor_only = 1");
    expect(clients).toContain("country = 'NL' AND instr(categories, '|vpn|') > 0");
    expect(clients).not.toMatch(/\?\d/);
    expect(timeline).toContain(`CAST((time - ${NOW - H}) / 300000 AS INTEGER) AS bucket`);
    expect(inlineParams({ sql: 'SELECT ?1, ?2', params: ["O'Brien", 3] })).toBe(
      "SELECT 'O''Brien', 3",
    );
    expect(() => inlineParams({ sql: 'SELECT ?2', params: [1] })).toThrow(/no parameter/);
  });
});

describe('CSV', () => {
  it('quotes commas and defuses formulas', () => {
    const q = resolveQuery({ since: NOW - H, until: NOW });
    const report = buildReport(q, {
      clients: [
        {
          ip: '203.0.113.7',
          action: 'block',
          reason: 'reputation_rule',
          score: 'critical',
          categories: ['vpn'],
          country: 'NL',
          asn: 64500,
          org: '=HYPERLINK("x"), Inc.',
          requests: 3,
        },
      ],
      paths: [{ path: '/login', requests: 3, blocked: 3 }],
      timeline: [{ bucket: 0, action: 'block', requests: 3, ips: 1 }],
      truncated: false,
    });
    const lines = reportCsv(report).trim().split('\n');
    expect(lines[0]).toBe(CSV_HEADER.join(','));
    expect(lines).toContain(`isp,"'=HYPERLINK(""x""), Inc.",64500,,1,,`);
    expect(lines).toContain(`timeline,${new Date(NOW - H).toISOString()},block,3,1,,`);
  });
});

describe('the fake Analytics Engine SQL API', () => {
  const events = [fakeDecisionPoint({ ip: '203.0.113.7', action: 'block' }, NOW)];
  it.each([
    ['SELECT blob7 FROM other FORMAT JSON', /unknown table other/],
    ['SELECT blob7 FROM ipgate_decisions JOIN x FORMAT JSON', /JOIN is not supported/],
    [
      'SELECT CASE WHEN blob1 = 1 THEN 1 END FROM ipgate_decisions FORMAT JSON',
      /CASE is not in Analytics Engine SQL/,
    ],
    ['SELECT coalesce(blob1, 1) AS x FROM ipgate_decisions FORMAT JSON', /unknown function/],
    ['SELECT blob99 FROM ipgate_decisions FORMAT JSON', /unknown column blob99/],
  ])('refuses %s', (sql, error) => {
    const a = answerSql(sql, 'ipgate_decisions', events, NOW);
    expect(a.ok).toBe(false);
    expect(a.ok ? '' : a.error).toMatch(error);
  });

  it('answers in the documented JSON shape, sums as strings', () => {
    const a = answerSql(
      'SELECT blob7 AS ip, blob1 AS action, sum(_sample_interval) AS requests FROM ipgate_decisions WHERE timestamp >= toDateTime(0) GROUP BY ip, action ORDER BY requests DESC LIMIT 5 FORMAT JSON',
      'ipgate_decisions',
      events,
      NOW,
    );
    expect(a).toEqual({
      ok: true,
      body: {
        meta: [
          { name: 'ip', type: 'String' },
          { name: 'action', type: 'String' },
          { name: 'requests', type: 'UInt64' },
        ],
        data: [{ ip: '203.0.113.7', action: 'block', requests: '1' }],
        rows: 1,
        rows_before_limit_at_least: 1,
      },
    });
  });
});
