/**
 * The README's quick start, for real: `npm start` (scripts/start.ts) seeds local KV, starts the
 * demo origin and wrangler dev; the README's curl requests then block and pass as it says.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cli, freePort, type Running, run, waitForHttp } from './support';

let server: Running;
let base = '';
const state = mkdtempSync(join(tmpdir(), 'ipgate-start-'));

beforeAll(async () => {
  const [port, originPort, inspector, apiPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  base = `http://127.0.0.1:${port}`;
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

const get = (path: string, ip: string, accept = '*/*') =>
  fetch(`${base}${path}`, {
    headers: { 'CF-Connecting-IP': ip, Accept: accept },
    redirect: 'manual',
  });

describe('npm start', () => {
  it('serves the sample table and default policy', async () => {
    const health = (await (await fetch(`${base}/__ipgate/health`)).json()) as {
      ok: boolean;
      table: { entries: number };
      policy: { valid: boolean };
    };
    expect(health.ok).toBe(true);
    expect(health.table.entries).toBe(7);
    expect(health.policy.valid).toBe(true);
  });

  it.each([
    ['203.0.113.7', 403],
    ['203.0.113.8', 403],
    ['203.0.113.9', 200],
    ['198.51.100.3', 403],
    ['192.0.2.10', 403],
    ['192.0.2.200', 403],
    ['2001:db8:bad::1', 403],
    ['198.18.0.1', 200],
  ])('answers /login from %s with %i', async (ip, status) => {
    const res = await get('/login', ip);
    expect(res.status).toBe(status);
    if (status === 200) expect(res.headers.get('x-demo-origin')).toBe('1');
    else expect(res.headers.get('x-demo-origin')).toBeNull();
  });

  it.each([
    ['203.0.113.150', 403],
    ['203.0.113.151', 403],
    ['203.0.113.152', 403],
    ['203.0.113.160', 200],
  ])(
    'judges %s, unknown to the table, through the local fake Criminal IP: %i',
    async (ip, status) => {
      const res = await get('/login', ip);
      expect(res.status).toBe(status);
      expect(res.headers.get('x-demo-origin')).toBe(status === 200 ? '1' : null);
    },
  );

  it('passes a critical IP on the home page', async () => {
    const res = await get('/', '203.0.113.7');
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('Demo site');
  });

  it('blocks with JSON when asked', async () => {
    const res = await get('/login', '192.0.2.10', 'application/json');
    expect(res.status).toBe(403);
    expect(((await res.json()) as { error: string }).error).toBe('blocked');
  });

  it('picks up `ipgate sync --local --file` without a restart', async () => {
    const sync = await cli([
      'sync',
      '--local',
      '--file',
      'test/fixtures/cli/attack.csv',
      '--persist-to',
      state,
    ]);
    expect(sync.code, sync.stderr).toBe(0);
    expect(sync.stderr).toMatch(/local REPUTATION: generation \S+ live/);
    // The Worker checks the manifest every 30 s in the background; poll until it switched.
    const until = Date.now() + 60_000;
    while (Date.now() < until && (await get('/login', '203.0.113.50')).status !== 403)
      await new Promise((r) => setTimeout(r, 1_000));
    expect((await get('/login', '203.0.113.50')).status).toBe(403);
    expect((await get('/login', '203.0.113.51')).status).toBe(403);
    expect((await get('/login', '198.51.100.130')).status).toBe(403);
    expect((await get('/login', '2001:db8:beef::9')).status).toBe(403);
    expect((await get('/login', '203.0.113.52')).status).toBe(200);
    // The sample table is gone: its critical IP is now unknown, and unknown passes.
    expect((await get('/login', '203.0.113.7')).status).toBe(200);
    const health = (await (await fetch(`${base}/__ipgate/health`)).json()) as {
      table: { entries: number };
    };
    expect(health.table.entries).toBeGreaterThanOrEqual(5);
  }, 120_000);
});
