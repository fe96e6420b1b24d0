/**
 * `ipgate sync --config` over real feed formats: files by relative path, URLs from a local
 * HTTP server (with a 429 to retry, a 404 and a hang to time out), the summary per feed,
 * --strict, and the feeds config's own validation.
 */
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFeedsConfig, stripJsonComments } from '../../../cli/feeds-config';
import { cli } from '../support';

const FIXTURES = resolve('test/fixtures/feeds');
let server: Server;
let base = '';
const hits = new Map<string, number>();

beforeAll(async () => {
  server = createServer((req, res) => {
    const path = req.url ?? '/';
    hits.set(path, (hits.get(path) ?? 0) + 1);
    if (path === '/flaky/torbulkexitlist' && hits.get(path) === 1) {
      res.writeHead(429, { 'retry-after': '0' });
      return res.end();
    }
    if (path === '/hang') return; // never answers
    const file = {
      '/flaky/torbulkexitlist': 'lists/torbulkexitlist',
      '/aws.json': 'cloud/aws-ip-ranges.json',
    }[path];
    if (!file) {
      res.writeHead(404);
      return res.end();
    }
    res.writeHead(200, { 'content-type': 'text/plain' });
    res.end(readFileSync(join(FIXTURES, file)));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(() => {
  server.closeAllConnections();
  server.close();
});

function configFile(feeds: object[]): string {
  const dir = mkdtempSync(join(tmpdir(), 'ipgate-feeds-'));
  const file = join(dir, 'ipgate.feeds.json');
  writeFileSync(file, JSON.stringify({ feeds }));
  return file;
}

describe('sync --config', () => {
  it('reads files and URLs, retries a 429, and summarises per feed', async () => {
    const file = configFile([
      { name: 'tor', format: 'ip-list', url: `${base}/flaky/torbulkexitlist`, categories: ['tor'] },
      { name: 'aws', format: 'aws-ip-ranges', url: `${base}/aws.json` },
      {
        name: 'drop',
        format: 'spamhaus-drop-json',
        path: join(FIXTURES, 'lists/drop_v4.jsonl'),
        score: 'critical',
      },
      { name: 'own', format: 'ipgate-csv', path: resolve('test/fixtures/cli/attack.csv') },
      {
        name: 'off',
        format: 'ip-list',
        url: `${base}/missing`,
        categories: ['vpn'],
        enabled: false,
      },
    ]);
    const r = await cli([
      'sync',
      '--config',
      file,
      '--dry-run',
      '--json',
      '--policy',
      'test/fixtures/cli/policy.json',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/feed tor: HTTP 429; retrying/);
    expect(hits.get('/flaky/torbulkexitlist')).toBe(2);
    expect(hits.get('/missing')).toBeUndefined();
    const report = JSON.parse(r.stdout);
    expect(report.feeds.map((f: { name: string }) => f.name)).toEqual([
      'tor',
      'aws',
      'drop',
      'own',
    ]);
    for (const f of report.feeds) expect(f.entries).toBeGreaterThan(0);
    expect(report.categories.tor).toBeGreaterThan(0);
    expect(report.categories.hosting).toBeGreaterThan(0);
    expect(report.scores.critical).toBeGreaterThan(1);
    expect(r.stderr).toMatch(/feed\s+format\s+kept\s+bad lines\s+reserved\s+allow-listed/);
  });

  it('stops with a clear error for a 404 and for a feed that hangs', async () => {
    const missing = await cli([
      'sync',
      '--config',
      configFile([
        { name: 'gone', format: 'ip-list', url: `${base}/missing`, categories: ['vpn'] },
      ]),
      '--dry-run',
    ]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/feed gone: .*\/missing answered 404/);
    const hang = await cli(
      [
        'sync',
        '--config',
        configFile([{ name: 'slow', format: 'ip-list', url: `${base}/hang`, categories: ['vpn'] }]),
        '--dry-run',
      ],
      { IPGATE_FEED_TIMEOUT_MS: '300' },
    );
    expect(hang.code).toBe(1);
    expect(hang.stderr).toMatch(/feed slow: could not fetch .* after 3 attempts \(timed out\)/);
  });

  it('makes bad lines fatal with --strict', async () => {
    const r = await cli([
      'sync',
      '--file',
      'test/fixtures/cli/attack.csv',
      '--strict',
      '--dry-run',
      '--policy',
      'test/fixtures/cli/policy.json',
    ]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/line 8: network/);
    expect(r.stderr).toMatch(/1 bad line\(s\) and --strict: nothing written/);
  });

  it('refuses a bad feeds config with every problem and its path', async () => {
    const r = await cli([
      'sync',
      '--config',
      configFile([
        { name: 'a', format: 'csv', path: 'x' },
        { name: 'a', format: 'ip-list', url: 'ftp://x', path: 'y' },
      ]),
      '--dry-run',
    ]);
    expect(r.code).toBe(1);
    for (const path of ['feeds[0].format', 'feeds[1].url', 'feeds[1]:'])
      expect(r.stderr).toContain(path);
    const dup = await cli([
      'sync',
      '--config',
      configFile([
        { name: 'a', format: 'ip-list', path: 'x', score: 'low' },
        { name: 'a', format: 'ip-list', path: 'y', score: 'low' },
      ]),
      '--dry-run',
    ]);
    expect(dup.stderr).toContain('feeds[1].name: duplicate feed name "a"');
    const none = await cli(['sync', '--config', '/nonexistent/ipgate.feeds.json', '--dry-run']);
    expect(none.stderr).toMatch(/cannot read feeds config/);
    expect(none.stderr).toMatch(/hint: create one from ipgate.feeds.example.jsonc/);
  });

  it('ships a valid, commented example config', () => {
    const text = readFileSync('ipgate.feeds.example.jsonc', 'utf8');
    expect(text).toMatch(/^\/\//m);
    const config = parseFeedsConfig(text, '.');
    expect(config.feeds.length).toBeGreaterThan(5);
    expect(stripJsonComments('{"u": "https://x//y"} // c')).toBe('{"u": "https://x//y"} ');
  });
});
