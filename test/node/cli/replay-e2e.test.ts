/**
 * `ipgate replay` against the real stack: scripts/start.ts (sample table, default policy, demo
 * origin, local fake Criminal IP, wrangler dev) on free ports with its own state directory,
 * and a small CSV of the sample table's addresses plus one the table does not know.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ReplaySummary } from '../../../cli/replay/summary';
import { cli, freePort, type Running, run, waitForHttp } from '../support';

let server: Running;
let base = '';
const state = mkdtempSync(join(tmpdir(), 'ipgate-replay-e2e-'));
const csv = join(state, 'replay.csv');

beforeAll(async () => {
  const [port, originPort, inspector, apiPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  base = `http://127.0.0.1:${port}`;
  writeFileSync(
    csv,
    [
      'network,score,categories,country,asn,org',
      '203.0.113.7,critical,scanner|remote,NL,64496,Example Bulletproof Hosting',
      '203.0.113.9,moderate,,US,64498,Example Broadband',
      '192.0.2.0/25,,vpn,SE,64501,Example VPN',
      '198.51.100.0/24,low,hosting,US,64500,"Example Cloud, Inc."',
      '2001:db8:bad::/48,,proxy,FR,64503,Example Proxy Service',
      '203.0.113.160,safe,,,,',
      'oops,,,,,',
      '',
    ].join('\n'),
  );
  server = run(
    'npx',
    [
      'tsx',
      'scripts/start.ts',
      '--port',
      String(port),
      '--origin-port',
      String(originPort),
      '--persist-to',
      state,
      '--inspector-port',
      String(inspector),
      '--api-port',
      String(apiPort),
    ],
    process.cwd(),
  );
  await waitForHttp(`${base}/__ipgate/health`, 90_000, server);
});

afterAll(async () => {
  await server?.stop();
  rmSync(state, { recursive: true, force: true });
});

describe('ipgate replay against npm start', () => {
  it('counts what ipgate blocked and passed on /login', async () => {
    const r = await cli([
      'replay',
      csv,
      '--target',
      base,
      '--requests-per-ip',
      '2',
      '--rate',
      '50',
      '--concurrency',
      '4',
      '--json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as ReplaySummary;
    // Sample table: critical, vpn, hosting and proxy are blocked; moderate passes; the IP the
    // table does not know is Safe per the fake Criminal IP and passes.
    expect(s).toMatchObject({
      clients: 6,
      requests: 12,
      outcomes: { blocked: 8, challenged: 0, passed: 4, ipgate_error: 0, network_error: 0 },
      byStatus: { '200': 4, '403': 8 },
      badLines: 1,
    });
    expect(s.byScore.critical).toMatchObject({ requests: 2, blocked: 2 });
    expect(s.byScore.moderate).toMatchObject({ requests: 2, passed: 2 });
    expect(s.byScore.safe).toMatchObject({ requests: 2, passed: 2 });
    expect(s.byCategory.vpn).toMatchObject({ requests: 2, blocked: 2 });
    expect(r.stderr).toContain(`${csv}:8: network:`);
  });

  it('passes everyone off the authentication paths', async () => {
    const r = await cli(['replay', csv, '--target', base, '--path', '/', '--json']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as ReplaySummary;
    expect(s.outcomes).toMatchObject({ requests: 6, passed: 6, blocked: 0 });
  });
});
