/**
 * `ipgate replay` against a stub that answers like ipgate: 403 with the reference header and a
 * JSON body (`blocked` or `challenge_required`) for listed addresses, 200 otherwise, a 502 with
 * the reference header for "origin unreachable", and a dropped connection for one address.
 * The real Worker is exercised in replay-e2e.test.ts.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { CliError } from '../../../cli/errors';
import { checkLocalTarget, isLoopback } from '../../../cli/replay/guard';
import { runReplay } from '../../../cli/replay/index';
import type { ReplaySummary } from '../../../cli/replay/summary';
import { readReplayClients } from '../../../cli/replay/targets';
import { REFERENCE_HEADER } from '../../../src/constants';
import { cli, freePort } from '../support';

const BLOCKED = new Set(['203.0.113.7', '203.0.113.8', '198.51.100.7', '2001:db8:bad::1']);
const CHALLENGED = new Set(['192.0.2.1']);
const ORIGIN_DOWN = new Set(['203.0.113.20']);
const DROPPED = new Set(['203.0.113.21']);

interface Seen {
  ip: string;
  replay: string;
  accept: string;
  path: string;
  at: number;
}

let server: Server;
let target = '';
let seen: Seen[] = [];
let inFlight = 0;
let maxInFlight = 0;
let delayMs = 0;
const dir = mkdtempSync(join(tmpdir(), 'ipgate-replay-'));

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return Array.isArray(v) ? v.join(',') : (v ?? '');
}

beforeAll(async () => {
  server = createServer((req, res) => {
    if (req.url === '/__ipgate/health') {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify({ ok: true, table: { generation: 'stub' } }));
      return;
    }
    const ip = header(req, 'cf-connecting-ip');
    seen.push({
      ip,
      replay: header(req, 'x-ipgate-replay'),
      accept: header(req, 'accept'),
      path: req.url ?? '',
      at: performance.now(),
    });
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    setTimeout(() => {
      inFlight--;
      if (DROPPED.has(ip)) {
        req.socket.destroy();
        return;
      }
      const ref = `ref-${seen.length}`;
      if (BLOCKED.has(ip) || CHALLENGED.has(ip)) {
        res.writeHead(403, { 'content-type': 'application/json', [REFERENCE_HEADER]: ref });
        res.end(
          JSON.stringify({
            error: BLOCKED.has(ip) ? 'blocked' : 'challenge_required',
            title: 'Access denied',
            message: 'no',
            reference: ref,
          }),
        );
      } else if (ORIGIN_DOWN.has(ip)) {
        res.writeHead(502, { 'content-type': 'text/plain', [REFERENCE_HEADER]: ref });
        res.end('The site is unreachable.\n');
      } else {
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<h1>Sign in</h1>');
      }
    }, delayMs);
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const addr = server.address();
  target = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});

afterAll(async () => {
  server.closeAllConnections();
  await new Promise((ok) => server.close(ok));
});

beforeEach(() => {
  seen = [];
  inFlight = 0;
  maxInFlight = 0;
  delayMs = 0;
});

const CSV = `# replay test
network,score,categories,country,asn,org
203.0.113.7,critical,scanner,NL,64496,Example Bulletproof Hosting
203.0.113.8,dangerous,,RU,64497,Example Telecom
203.0.113.9,moderate,,US,64498,Example Broadband
192.0.2.0/25,,vpn,SE,64501,Example VPN
198.51.100.7/32,low,hosting,US,64500,"Example Cloud, Inc."
198.51.100.8/31,low,,,,
2001:db8:bad::/48,,proxy,FR,64503,Example Proxy
2001:db8::5,safe,,,,
not-an-ip,critical,,,,
203.0.113.7,critical,,,,
203.0.113.99,bogus,,,,
`;

function file(name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(path, text);
  return path;
}

const base = {
  path: '/login',
  rate: 10_000,
  requestsPerIp: 1,
  concurrency: 4,
  allowRemote: false,
};

describe('reading the CSV', () => {
  it('replays single addresses as written and a CIDR as its first usable address', () => {
    const { clients, problems, duplicates } = readReplayClients(CSV);
    expect(clients.map((c) => c.ip)).toEqual([
      '203.0.113.7',
      '203.0.113.8',
      '203.0.113.9',
      '192.0.2.1',
      '198.51.100.7',
      '198.51.100.8',
      '2001:db8:bad::1',
      '2001:db8::5',
    ]);
    expect(clients[3]).toMatchObject({ network: '192.0.2.0/25', score: 'unknown', line: 6 });
    expect(problems.map((p) => p.line)).toEqual([11, 13]);
    expect(problems[0]?.message).toMatch(/^network: /);
    expect(problems[1]?.message).toMatch(/^score: "bogus"/);
    expect(duplicates).toBe(1);
  });
});

describe('replay against a stub of ipgate', () => {
  it('sends K requests per IP with the headers, and counts by outcome, status, score and category', async () => {
    const s = await runReplay({
      ...base,
      target,
      requestsPerIp: 2,
      input: readReplayClients(CSV),
      runId: 'replay-test-1',
    });
    expect(seen).toHaveLength(16);
    expect(new Set(seen.map((r) => r.replay))).toEqual(new Set(['replay-test-1']));
    expect(new Set(seen.map((r) => r.path))).toEqual(new Set(['/login']));
    expect(seen.every((r) => r.accept === 'application/json')).toBe(true);
    expect(seen.filter((r) => r.ip === '2001:db8:bad::1')).toHaveLength(2);
    expect(s).toMatchObject({
      runId: 'replay-test-1',
      url: `${target}/login`,
      clients: 8,
      requests: 16,
      notSent: 0,
      interrupted: false,
      outcomes: { requests: 16, blocked: 8, challenged: 2, passed: 6, ipgate_error: 0 },
      byStatus: { '200': 6, '403': 10 },
      groupedBy: 'csv',
      badLines: 2,
      duplicates: 1,
    });
    expect(s.byScore.critical).toMatchObject({ requests: 2, blocked: 2, passed: 0 });
    expect(s.byScore.moderate).toMatchObject({ requests: 2, passed: 2 });
    expect(s.byScore.unknown).toMatchObject({ requests: 4, blocked: 2, challenged: 2 });
    expect(Object.keys(s.byScore)).toEqual([
      'critical',
      'dangerous',
      'moderate',
      'low',
      'safe',
      'unknown',
    ]);
    expect(s.byCategory.none).toMatchObject({ requests: 8, blocked: 2, passed: 6 });
    expect(s.byCategory.vpn).toMatchObject({ requests: 2, challenged: 2 });
  });

  it('counts ipgate errors and dropped connections without throwing', async () => {
    const input = readReplayClients('203.0.113.20,,,,,\n203.0.113.21,,,,,\n203.0.113.22,,,,,\n');
    const s = await runReplay({ ...base, target, input });
    expect(s.outcomes).toMatchObject({ ipgate_error: 1, network_error: 1, passed: 1 });
    expect(s.byStatus).toEqual({ '200': 1, '502': 1 });
    expect(Object.values(s.networkErrors)).toEqual([1]);
  });

  it('keeps to --rate', async () => {
    const input = readReplayClients(
      Array.from({ length: 40 }, (_, i) => `203.0.113.${100 + i},safe,,,,`).join('\n'),
    );
    const s = await runReplay({ ...base, target, input, rate: 100, concurrency: 8 });
    // 40 requests at 100/s: the last may start 390 ms after the first, not before.
    expect(s.durationMs).toBeGreaterThanOrEqual(370);
    expect(s.durationMs).toBeLessThan(5_000);
    const times = seen.map((r) => r.at).sort((a, b) => a - b);
    expect((times.at(-1) as number) - (times[0] as number)).toBeGreaterThanOrEqual(360);
    // In any 100 ms, about 10 starts; allow for timer and connection jitter.
    let most = 0;
    for (const [i, t] of times.entries())
      most = Math.max(most, times.filter((u, j) => j >= i && u < t + 100).length);
    expect(most).toBeLessThanOrEqual(16);
  });

  it('keeps to --concurrency', async () => {
    delayMs = 30;
    const input = readReplayClients(
      Array.from({ length: 24 }, (_, i) => `203.0.113.${100 + i},safe,,,,`).join('\n'),
    );
    const s = await runReplay({ ...base, target, input, concurrency: 3 });
    expect(s.outcomes.passed).toBe(24);
    expect(maxInFlight).toBeLessThanOrEqual(3);
    expect(maxInFlight).toBeGreaterThanOrEqual(2);
  });

  it('stops sending when interrupted and summarises what was sent', async () => {
    const input = readReplayClients(
      Array.from({ length: 50 }, (_, i) => `203.0.113.${100 + i},safe,,,,`).join('\n'),
    );
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 250);
    const s = await runReplay({ ...base, target, input, rate: 20, signal: stop.signal });
    expect(s.interrupted).toBe(true);
    expect(s.requests).toBeGreaterThan(0);
    expect(s.requests).toBeLessThan(50);
    expect(s.requests + s.notSent).toBe(50);
    expect(s.outcomes.network_error).toBe(0);
    expect(seen).toHaveLength(s.requests);
  });

  it('refuses a target that is not this machine, before sending anything', async () => {
    const input = readReplayClients(CSV);
    await expect(runReplay({ ...base, target: 'http://192.0.2.1:8787', input })).rejects.toThrow(
      /refusing to replay against 192\.0\.2\.1: not a loopback address/,
    );
    await expect(
      runReplay({
        ...base,
        target: 'http://ipgate.example:8787',
        input,
        resolve: async () => ['127.0.0.1', '93.184.216.34'],
      }),
    ).rejects.toThrow(/ipgate\.example \(93\.184\.216\.34\)/);
    expect(seen).toHaveLength(0);
  });
});

describe('the loopback check', () => {
  it.each([
    ['127.0.0.1', true],
    ['127.8.9.10', true],
    ['::1', true],
    ['::ffff:127.0.0.1', true],
    ['192.0.2.1', false],
    ['::', false],
    ['2001:db8::1', false],
  ])('%s is loopback: %s', (ip, expected) => {
    expect(isLoopback(ip)).toBe(expected);
  });

  it('resolves names: localhost passes, a name for elsewhere does not', async () => {
    const local = async () => ['127.0.0.1', '::1'];
    await expect(checkLocalTarget(new URL('http://localhost:8787'), false, local)).resolves.toEqual(
      ['127.0.0.1', '::1'],
    );
    await expect(checkLocalTarget(new URL('http://[::1]:8787'), false)).resolves.toEqual(['::1']);
    const far = async () => ['198.51.100.1'];
    await expect(checkLocalTarget(new URL('http://site.example'), false, far)).rejects.toThrow(
      CliError,
    );
    await expect(checkLocalTarget(new URL('http://site.example'), true, far)).resolves.toEqual([
      '198.51.100.1',
    ]);
    const none = async () => {
      throw Object.assign(new Error('no'), { code: 'ENOTFOUND' });
    };
    await expect(checkLocalTarget(new URL('http://nowhere.example'), false, none)).rejects.toThrow(
      /cannot resolve nowhere\.example \(ENOTFOUND\)/,
    );
  });
});

describe('ipgate replay (the command)', () => {
  it('prints the summary as JSON and reports bad lines with their numbers', async () => {
    const csv = file('attack.csv', CSV);
    const r = await cli(['replay', csv, '--target', target, '--json', '--rate', '500']);
    expect(r.code, r.stderr).toBe(0);
    const s = JSON.parse(r.stdout) as ReplaySummary;
    expect(s.outcomes).toMatchObject({ requests: 8, blocked: 4, challenged: 1, passed: 3 });
    expect(s.runId).toMatch(/^replay-\d{8}T\d{6}-[0-9a-f]{6}$/);
    expect(r.stderr).toContain(`${csv}:11: network:`);
    expect(r.stderr).toContain(`${csv}:13: score: "bogus"`);
  });

  it('prints a text summary by status and by the CSV score', async () => {
    const csv = file('text.csv', CSV);
    const r = await cli(['replay', csv, '--target', target, '--path', '/signin']);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/blocked 4 \(50%\), challenged 1, passed 3 \(37\.5%\)/);
    expect(r.stderr).toMatch(/by status: 200 3, 403 5/);
    expect(r.stderr).toMatch(/critical\s+1\s+1\s+0\s+0\s+0\s+100%/);
    expect(seen.every((s) => s.path === '/signin')).toBe(true);
  });

  it('refuses a remote target with a clear message and no stack trace', async () => {
    const r = await cli(['replay', file('remote.csv', CSV), '--target', 'http://192.0.2.1']);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/error: refusing to replay against 192\.0\.2\.1/);
    expect(r.stderr).toMatch(/--allow-remote/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it('says so when nothing answers at the target', async () => {
    const port = await freePort();
    const r = await cli(['replay', file('down.csv', CSV), '--target', `http://127.0.0.1:${port}`]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(
      /error: nothing answers at http:\/\/127\.0\.0\.1:\d+ \(ECONNREFUSED\)/,
    );
    expect(r.stderr).toMatch(/npm start/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
  });

  it.each([
    [['--rate', '0'], /--rate "0"/],
    [['--requests-per-ip', '1.5'], /--requests-per-ip "1.5"/],
    [['--concurrency', '100000'], /--concurrency "100000"/],
    [['--path', 'login'], /--path must start with "\/"/],
    [['--target', 'ftp://localhost'], /http:\/\/ or https:\/\//],
  ])('refuses %j as a usage error', async (flags, message) => {
    const r = await cli(['replay', file('usage.csv', CSV), '--target', target, ...flags]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(message);
  });

  it('names a missing file', async () => {
    const r = await cli(['replay', join(dir, 'missing.csv')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/cannot read .*missing\.csv \(ENOENT\)/);
  });
});
