/**
 * A local fake of the Criminal IP API (and AbuseIPDB's check endpoint), so provider and Worker
 * tests exercise real HTTP — headers, status codes, slow answers, aborts — with no outside
 * network and no key. Answers follow the documented shapes; the protocol for tests (keys, modes,
 * control requests, stats) is in fake-criminalip-protocol.ts.
 *
 *   GET  [/t/<scope>]/v2/feature/ip/suspicious-info?ip=   Criminal IP (key in `x-api-key`)
 *   GET  [/t/<scope>]/api/v2/check?ipAddress=             AbuseIPDB (key in `Key`)
 *   POST [/t/<scope>]/__fake/mode      FakeModeRequest: how the next API calls are answered
 *   POST [/t/<scope>]/__fake/records   FakeRecords: canned per-IP answers
 *   GET  [/t/<scope>]/__fake/stats     FakeStats: calls, IPs, in flight, max concurrent
 *   POST [/t/<scope>]/__fake/reset     forget the scope
 *
 * A wrong or missing key always gets the provider's bad-key answer, whatever the mode. A call
 * still counts (and counts as in flight) until its answer is sent or its client goes away (with
 * `holdAfterAbort`, until its delayed answer would have been sent), so `maxConcurrent` proves
 * whether a caller ever overlapped calls.
 *
 * `startFakeCriminalIp(port, { faults })` also fails a seeded share of all API calls with a
 * valid key, whatever the scope's mode (load tests): HTTP 500 pages, "limit exceeded", and
 * answers held past the caller's timeout; `faultStats()` counts what was injected.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { type AddressInfo, isIP } from 'node:net';
import { mulberry32 } from '../../scripts/seeded-random';
import {
  FAKE_ABUSEIPDB_KEY,
  FAKE_CRIMINALIP_KEY,
  FAKE_MODES,
  type FakeMode,
  type FakeModeRequest,
  type FakeStats,
} from './fake-criminalip-protocol';

export interface FakeCriminalIpServer {
  url: string;
  close(): Promise<void>;
  /** What the `faults` option injected so far (all zero without it). */
  faultStats(): FakeFaultStats;
}

/** A fault the `faults` option can inject into an API call. */
export type FakeFaultKind = 'html500' | 'quota' | 'timeout';

export interface FakeFaultOptions {
  /** Share of API calls (valid key) answered with a fault, 0–1. */
  rate: number;
  /** Seed of the PRNG that picks the failing calls and their kind. */
  seed: number;
  /** Kinds a failing call draws from, uniformly. */
  kinds: readonly FakeFaultKind[];
  /** How long a `timeout` call holds its (normal) answer, in ms. */
  hangMs: number;
  /**
   * From this API call on (counted from 1), every call answers "limit exceeded", as the real
   * API does once the day's quota is spent.
   */
  quotaFromCall?: number;
}

export interface FakeFaultStats {
  /** API calls with a valid key. */
  calls: number;
  injected: Record<FakeFaultKind, number>;
  /** API calls that arrived after the first "limit exceeded" had been sent. */
  callsAfterQuota: number;
}

type Route = 'criminalip' | 'abuseipdb';
type Fields = Record<string, unknown>;

interface Scope {
  mode: FakeMode;
  delayMs: number;
  /** API calls left in `mode` before it falls back to success; null = no limit. */
  remaining: number | null;
  rejectConcurrent: boolean;
  httpErrors: boolean;
  holdAfterAbort: boolean;
  records: { criminalip: Map<string, Fields>; abuseipdb: Map<string, Fields> };
  stats: FakeStats;
}

const SLOW_DEFAULT_MS = 2_000;

function newScope(): Scope {
  return {
    mode: 'success',
    delayMs: 0,
    remaining: null,
    rejectConcurrent: true,
    httpErrors: false,
    holdAfterAbort: false,
    records: { criminalip: new Map(), abuseipdb: new Map() },
    stats: {
      mode: 'success',
      calls: 0,
      byRoute: { criminalip: 0, abuseipdb: 0 },
      ips: [],
      rejectedKeys: 0,
      inFlight: 0,
      maxConcurrent: 0,
    },
  };
}

interface Answer {
  status: number;
  contentType: string;
  body: string;
  /** Announce the whole body, send this many bytes of it, then close the connection. */
  cutAfter?: number;
}

const json = (status: number, value: unknown): Answer => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(value),
});

/** The first half of an answer's body, as a complete (but unparseable) HTTP answer. */
const truncated = (a: Answer): Answer => ({ ...a, body: a.body.slice(0, a.body.length >> 1) });
/** The answer announced in full, cut off halfway by a closed connection. */
const dropped = (a: Answer): Answer => ({ ...a, cutAfter: Buffer.byteLength(a.body) >> 1 });

const HTML_500: Answer = {
  status: 500,
  contentType: 'text/html; charset=utf-8',
  body: '<!DOCTYPE html><html><head><title>500 Internal Server Error</title></head><body><h1>Internal Server Error</h1></body></html>',
};

const HTML_200: Answer = {
  status: 200,
  contentType: 'text/html; charset=utf-8',
  body: '<!DOCTYPE html><html><body><p>Please sign in to continue.</p></body></html>',
};

// ── Criminal IP ────────────────────────────────────────────────────────────────────────────

function criminalIpSuccess(ip: string, canned: Fields | undefined): Fields {
  return {
    status: 200,
    ip,
    score: { inbound: 'Safe', outbound: 'Safe' },
    issues: {
      is_vpn: false,
      is_cloud: false,
      is_tor: false,
      is_proxy: false,
      is_hosting: false,
      is_mobile: false,
      is_darkweb: false,
      is_scanner: false,
      is_snort: false,
      is_anonymous_vpn: false,
    },
    representative_domain: '',
    abuse_record_count: 0,
    whois: { count: 0, data: [] },
    ids: { count: 0, data: [] },
    current_opened_port: { count: 0, data: [] },
    ...canned,
  };
}

function criminalIpError(scope: Scope, status: number, message: string): Answer {
  return json(scope.httpErrors ? status : 200, { status, message, data: {} });
}

function criminalIpAnswer(scope: Scope, mode: FakeMode, ip: string, key: string): Answer {
  switch (mode) {
    case 'invalid_key':
      return criminalIpError(scope, 401, 'invalid api key');
    case 'quota':
      return criminalIpError(scope, 403, 'limit exceeded');
    case 'concurrency':
      return criminalIpError(scope, 429, 'unable to call api at the same time');
    case 'invalid_ip':
      return criminalIpError(scope, 400, 'Invalid IP Address.');
    case 'echo_key':
      return criminalIpError(scope, 401, `invalid api key: ${key}`);
    case 'html500':
      return HTML_500;
    case 'html200':
      return HTML_200;
    case 'wrong_json':
      return json(200, { result: 'ok', items: [{ address: ip }] });
    case 'truncated_json':
      return truncated(criminalIpAnswer(scope, 'success', ip, key));
    case 'drop_mid_body':
      return dropped(criminalIpAnswer(scope, 'success', ip, key));
    case 'success':
    case 'slow':
      if (isIP(ip) === 0) return criminalIpError(scope, 400, 'Invalid IP Address.');
      return json(200, criminalIpSuccess(ip, scope.records.criminalip.get(ip)));
  }
}

// ── AbuseIPDB ──────────────────────────────────────────────────────────────────────────────

const abuseIpdbError = (status: number, detail: string): Answer =>
  json(status, { errors: [{ detail, status }] });

const ABUSEIPDB_BAD_KEY =
  'Authentication failed. Your API key is either missing, incorrect, or revoked. Note: The APIv2 key differs from the APIv1 key.';
const ABUSEIPDB_LIMIT =
  'Daily rate limit of 1000 requests exceeded for this endpoint. See headers for additional details.';
const ABUSEIPDB_BAD_IP =
  'The ip address must be a valid IPv4 or IPv6 address (e.g. 8.8.8.8 or 2001:4860:4860::8888).';

function abuseIpdbAnswer(scope: Scope, mode: FakeMode, ip: string, key: string): Answer {
  switch (mode) {
    case 'invalid_key':
      return abuseIpdbError(401, ABUSEIPDB_BAD_KEY);
    case 'quota':
    case 'concurrency':
      return abuseIpdbError(429, ABUSEIPDB_LIMIT);
    case 'invalid_ip':
      return abuseIpdbError(422, ABUSEIPDB_BAD_IP);
    case 'echo_key':
      return abuseIpdbError(401, `Authentication failed for key ${key}.`);
    case 'html500':
      return HTML_500;
    case 'html200':
      return HTML_200;
    case 'wrong_json':
      return json(200, { ip, confidence: 'high' });
    case 'truncated_json':
      return truncated(abuseIpdbAnswer(scope, 'success', ip, key));
    case 'drop_mid_body':
      return dropped(abuseIpdbAnswer(scope, 'success', ip, key));
    case 'success':
    case 'slow': {
      const family = isIP(ip);
      if (family === 0) return abuseIpdbError(422, ABUSEIPDB_BAD_IP);
      return json(200, {
        data: {
          ipAddress: ip,
          isPublic: true,
          ipVersion: family,
          isWhitelisted: false,
          abuseConfidenceScore: 0,
          countryCode: null,
          usageType: null,
          isp: null,
          domain: null,
          hostnames: [],
          isTor: false,
          totalReports: 0,
          numDistinctUsers: 0,
          lastReportedAt: null,
          ...scope.records.abuseipdb.get(ip),
        },
      });
    }
  }
}

// ── Server ─────────────────────────────────────────────────────────────────────────────────

function header(req: IncomingMessage, name: string): string {
  const v = req.headers[name];
  return (Array.isArray(v) ? v[0] : v) ?? '';
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  let text = '';
  for await (const chunk of req) text += String(chunk);
  return text.trim() === '' ? {} : (JSON.parse(text) as unknown);
}

function send(res: ServerResponse, answer: Answer): void {
  if (res.writableEnded || res.destroyed) return;
  if (answer.cutAfter !== undefined) {
    const bytes = Buffer.from(answer.body);
    res.writeHead(answer.status, {
      'content-type': answer.contentType,
      'content-length': String(bytes.length),
    });
    res.write(bytes.subarray(0, answer.cutAfter), () => res.destroy());
    return;
  }
  res.writeHead(answer.status, { 'content-type': answer.contentType });
  res.end(answer.body);
}

function isFields(value: unknown): value is Fields {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function applyMode(scope: Scope, body: unknown): string | null {
  if (!isFields(body)) return 'expected a JSON object';
  const r = body as FakeModeRequest;
  if (r.mode !== undefined) {
    if (!(FAKE_MODES as readonly string[]).includes(r.mode)) return `unknown mode ${r.mode}`;
    scope.mode = r.mode;
    scope.stats.mode = r.mode;
    if (r.mode === 'slow' && r.delayMs === undefined) scope.delayMs = SLOW_DEFAULT_MS;
    if (r.mode !== 'slow' && r.delayMs === undefined) scope.delayMs = 0;
    scope.remaining = null;
  }
  if (r.delayMs !== undefined) scope.delayMs = Math.max(0, Number(r.delayMs) || 0);
  if (r.times !== undefined) scope.remaining = Math.max(0, Math.floor(Number(r.times) || 0));
  if (r.rejectConcurrent !== undefined) scope.rejectConcurrent = r.rejectConcurrent === true;
  if (r.httpErrors !== undefined) scope.httpErrors = r.httpErrors === true;
  if (r.holdAfterAbort !== undefined) scope.holdAfterAbort = r.holdAfterAbort === true;
  return null;
}

function applyRecords(scope: Scope, body: unknown): string | null {
  if (!isFields(body)) return 'expected a JSON object';
  for (const route of ['criminalip', 'abuseipdb'] as const) {
    const group = body[route];
    if (group === undefined) continue;
    if (!isFields(group)) return `${route}: expected an object of IP → fields`;
    for (const [ip, fields] of Object.entries(group)) {
      if (!isFields(fields)) return `${route}.${ip}: expected an object`;
      scope.records[route].set(ip, fields);
    }
  }
  return null;
}

/** Decides, call by call, which fault (if any) the `faults` option injects. */
function faultInjector(options: FakeFaultOptions | undefined) {
  const next = mulberry32(options?.seed ?? 0);
  const stats: FakeFaultStats = {
    calls: 0,
    injected: { html500: 0, quota: 0, timeout: 0 },
    callsAfterQuota: 0,
  };
  let quotaSent = false;
  return {
    stats,
    pick(): FakeFaultKind | null {
      if (!options) return null;
      stats.calls += 1;
      if (quotaSent) stats.callsAfterQuota += 1;
      let kind: FakeFaultKind | null = null;
      if (options.quotaFromCall !== undefined && stats.calls >= options.quotaFromCall)
        kind = 'quota';
      else if (next() / 2 ** 32 < options.rate && options.kinds.length > 0)
        kind = options.kinds[next() % options.kinds.length] ?? null;
      if (kind === 'quota') quotaSent = true;
      if (kind) stats.injected[kind] += 1;
      return kind;
    },
  };
}

export async function startFakeCriminalIp(
  port = 0,
  options: { faults?: FakeFaultOptions } = {},
): Promise<FakeCriminalIpServer> {
  const faults = faultInjector(options.faults);
  const scopes = new Map<string, Scope>();
  const scopeOf = (name: string): Scope => {
    let s = scopes.get(name);
    if (!s) {
      s = newScope();
      scopes.set(name, s);
    }
    return s;
  };

  const handleApi = (
    req: IncomingMessage,
    res: ServerResponse,
    scope: Scope,
    route: Route,
    url: URL,
  ): void => {
    const ip = url.searchParams.get(route === 'criminalip' ? 'ip' : 'ipAddress') ?? '';
    const key = header(req, route === 'criminalip' ? 'x-api-key' : 'key');
    const stats = scope.stats;
    const concurrent = stats.inFlight > 0;
    stats.calls += 1;
    stats.byRoute[route] += 1;
    stats.ips.push(ip);
    stats.inFlight += 1;
    stats.maxConcurrent = Math.max(stats.maxConcurrent, stats.inFlight);
    let done = false;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = (): void => {
      if (!done) {
        done = true;
        stats.inFlight -= 1;
      }
    };
    const hold = scope.holdAfterAbort;
    res.on('close', () => {
      // A real API keeps working on a call whose client gave up; `holdAfterAbort` models that.
      if (timer && hold && !res.writableEnded) return;
      if (timer) clearTimeout(timer);
      finish();
    });

    let mode: FakeMode = scope.mode;
    if (scope.remaining !== null) {
      scope.remaining -= 1;
      if (scope.remaining <= 0) {
        scope.mode = 'success';
        scope.stats.mode = 'success';
        scope.delayMs = 0;
        scope.remaining = null;
      }
    }
    const expected = route === 'criminalip' ? FAKE_CRIMINALIP_KEY : FAKE_ABUSEIPDB_KEY;
    if (key !== expected) {
      stats.rejectedKeys += 1;
      if (mode !== 'echo_key') mode = 'invalid_key';
    } else if (route === 'criminalip' && concurrent && scope.rejectConcurrent) {
      mode = 'concurrency';
    }
    const fault = key === expected ? faults.pick() : null;
    if (fault === 'html500' || fault === 'quota') mode = fault;
    const answer =
      route === 'criminalip'
        ? criminalIpAnswer(scope, mode, ip, key)
        : abuseIpdbAnswer(scope, mode, ip, key);
    const delay = fault === 'timeout' ? (options.faults?.hangMs ?? 0) : scope.delayMs;
    if (delay > 0) {
      timer = setTimeout(() => {
        send(res, answer);
        finish();
      }, delay);
      timer.unref();
    } else send(res, answer);
  };

  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://fake');
    let path = url.pathname;
    let scopeName = 'default';
    const scoped = /^\/t\/([^/]+)(\/.*)$/.exec(path);
    if (scoped?.[1] !== undefined && scoped[2] !== undefined) {
      scopeName = decodeURIComponent(scoped[1]);
      path = scoped[2];
    }
    try {
      if (req.method === 'GET' && path === '/v2/feature/ip/suspicious-info')
        return handleApi(req, res, scopeOf(scopeName), 'criminalip', url);
      if (req.method === 'GET' && path === '/api/v2/check')
        return handleApi(req, res, scopeOf(scopeName), 'abuseipdb', url);
      if (req.method === 'GET' && path === '/__fake/stats')
        return send(res, json(200, scopeOf(scopeName).stats));
      if (req.method === 'POST' && path === '/__fake/reset') {
        scopes.delete(scopeName);
        return send(res, json(200, { ok: true }));
      }
      if (req.method === 'POST' && (path === '/__fake/mode' || path === '/__fake/records')) {
        const body = await readJson(req);
        const scope = scopeOf(scopeName);
        const problem =
          path === '/__fake/mode' ? applyMode(scope, body) : applyRecords(scope, body);
        return send(res, problem ? json(400, { error: problem }) : json(200, { ok: true }));
      }
      send(res, json(404, { status: 404, message: `no route ${req.method} ${path}` }));
    } catch (e) {
      send(res, json(400, { error: e instanceof Error ? e.message : String(e) }));
    }
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    faultStats: () => structuredClone(faults.stats),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
