/**
 * The dashboard in a real browser against `npm start`'s stack: sign in, see the report for a
 * replayed mix of the sample table's IPs, switch the policy to monitor mode and see the next
 * bad request pass and be recorded as a would-be block, roll back and see it blocked again. A
 * screenshot of the report is saved as test-results/dashboard.png.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/types';
import { freePort, type Running, run, waitForHttp } from '../node/support';

const TOKEN = 'e2e-admin-token-0123456789abcdefghijklmnop';
const state = mkdtempSync(join(tmpdir(), 'ipgate-e2e-'));
let base = '';
let server: Running | undefined;
let browser: Browser | undefined;
let page: Page;

beforeAll(async () => {
  const [port, originPort, inspector, apiPort] = await Promise.all(
    Array.from({ length: 4 }, () => freePort()),
  );
  base = `http://127.0.0.1:${port}`;
  server = run(
    'npx',
    [
      'tsx',
      'scripts/start.ts',
      ...['--port', String(port), '--origin-port', String(originPort)],
      ...['--api-port', String(apiPort), '--inspector-port', String(inspector)],
      ...['--persist-to', state, '--admin-token', TOKEN],
    ],
    process.cwd(),
  );
  await waitForHttp(`${base}/__ipgate/health`, 120_000, server);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  page = await browser.newPage({ viewport: { width: 1280, height: 1600 } });
});

afterAll(async () => {
  await browser?.close();
  await server?.stop();
  rmSync(state, { recursive: true, force: true });
});

const hit = (path: string, ip: string) =>
  fetch(`${base}${path}`, { headers: { 'CF-Connecting-IP': ip }, redirect: 'manual' });

/** The report as the dashboard's API gives it to the signed-in browser. */
async function report(): Promise<Report> {
  const res = await page.request.get(`${base}/__ipgate/api/report?since=1h`);
  expect(res.status()).toBe(200);
  return (await res.json()) as Report;
}

/** Polls until the report satisfies `ok` (events are written off the response path). */
async function reportWhen(ok: (r: Report) => boolean): Promise<Report> {
  const until = Date.now() + 20_000;
  let r = await report();
  while (!ok(r) && Date.now() < until) {
    await new Promise((done) => setTimeout(done, 500));
    r = await report();
  }
  return r;
}

describe('dashboard in Chromium', () => {
  it('signs in and shows the case report for a replayed mix', async () => {
    const mix: [string, string, number, number][] = [
      ['/login', '203.0.113.7', 3, 403], // critical, scanner|remote
      ['/login', '203.0.113.8', 2, 403], // dangerous
      ['/login', '192.0.2.10', 1, 403], // vpn
      ['/login', '198.51.100.3', 1, 403], // low, hosting
      ['/login', '203.0.113.9', 2, 200], // moderate
      ['/', '203.0.113.10', 1, 200], // not in the table, not an auth path
    ];
    for (const [path, ip, times, status] of mix)
      for (let i = 0; i < times; i++) expect((await hit(path, ip)).status).toBe(status);

    await page.goto(`${base}/__ipgate/`);
    expect(page.url()).toContain('/__ipgate/login');
    await page.fill('#token', TOKEN);
    await Promise.all([page.waitForURL(`${base}/__ipgate/`), page.click('button[type=submit]')]);

    const r = await reportWhen((x) => x.totals.requests >= 10);
    expect(r.totals).toEqual({ requests: 10, ips: 6 });
    expect(r.actions.block).toEqual({ requests: 7, ips: 4 });
    expect(r.actions.allow).toEqual({ requests: 3, ips: 2 });
    expect(r.scores).toMatchObject({
      critical: 1,
      dangerous: 1,
      moderate: 1,
      low: 1,
      safe: 0,
      unknown: 2, // the VPN range has no score; 203.0.113.10 is not listed
    });
    expect(r.categories).toMatchObject({
      scanner: { ips: 1, dirty: 1 },
      remote: { ips: 1, dirty: 1 },
      vpn: { ips: 1, dirty: 0 },
      hosting: { ips: 1, dirty: 0 },
    });

    await page.reload();
    const text = await page.textContent('body');
    expect(text).toContain('203.0.113.7');
    expect(text).toMatch(/critical/i);
    mkdirSync('test-results', { recursive: true });
    await page.screenshot({ path: 'test-results/dashboard.png', fullPage: true });
  });

  it('switches to monitor mode: the next bad request passes and is recorded as a would-be block', async () => {
    await page.goto(`${base}/__ipgate/policy`);
    await page.check('input[name=mode][value=monitor]');
    await Promise.all([
      page.waitForLoadState('load'),
      page.click('form:has(input[name=mode]) button[type=submit]'),
    ]);
    expect(await page.textContent('body')).toContain('"monitor"');
    await Promise.all([
      page.waitForLoadState('load'),
      page.click('button:has-text("Save as a new version and apply")'),
    ]);

    const res = await hit('/login', '203.0.113.7');
    expect(res.status).toBe(200);
    expect(res.headers.get('x-demo-origin')).toBe('1');
    const r = await reportWhen((x) => (x.actions.monitor_block?.requests ?? 0) >= 1);
    expect(r.actions.monitor_block).toEqual({ requests: 1, ips: 1 });
  });

  it('rolls back to enforce mode: the bad request is blocked again', async () => {
    await page.goto(`${base}/__ipgate/policy`);
    await Promise.all([
      page.waitForLoadState('load'),
      page.click('button:has-text("Roll back to this") >> nth=0'),
    ]);
    await page.goto(`${base}/__ipgate/policy`);
    expect(await page.isChecked('input[name=mode][value=enforce]')).toBe(true);
    const res = await hit('/login', '203.0.113.7');
    expect(res.status).toBe(403);
    expect(res.headers.get('x-demo-origin')).toBeNull();
  });
});
