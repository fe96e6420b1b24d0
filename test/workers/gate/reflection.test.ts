/**
 * Hostile strings on their way out. XSS payloads in the table's records (organisation, feed
 * label) and in requests (path, query, User-Agent, Host, Accept) travel through the gate, the
 * decision store (real local D1) and every place ipgate writes them: the block page (HTML and
 * JSON), the challenge page, the dashboard (report with recent blocks, IP drill-down), the
 * admin JSON API and health. In HTML every value is escaped, so no tag gains an event handler,
 * a `javascript:` URL or a script ipgate did not put there; in JSON every value keeps its
 * exact text with `<`, `>` and `&` escaped, so no body holds markup at all.
 *
 * Secrets (ADMIN_TOKEN, CRIMINALIP_API_KEY, TURNSTILE_SECRET, CLEARANCE_SECRET, and the other
 * keys) never appear in a response, a decision event or console output, on success and error
 * paths alike — including a provider that echoes the key back in its error.
 */
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test';
import { afterEach, beforeAll, describe, expect, inject, it, vi } from 'vitest';
import { createApp } from '../../../src/app';
import { CHALLENGE_PATH, REFERENCE_HEADER } from '../../../src/constants';
import type { Env } from '../../../src/env';
import { PolicyStore } from '../../../src/policy/loader';
import { LiveReputation } from '../../../src/reputation/live';
import type { DecisionEvent } from '../../../src/sink/event';
import { sinkForBindings } from '../../../src/sink/select';
import { FAKE_CRIMINALIP_KEY, scopeUrl, setFakeMode } from '../../support/fake-criminalip-protocol';
import { FAKE_TURNSTILE_SECRET, fakeToken } from '../../support/fake-turnstile-protocol';
import { SECRET as CLEARANCE_SECRET, siteverifyUrl } from '../challenge/support';
import { clearPolicy, originSaw, putPolicy, seedTable, testEnv, testId } from '../helpers';

const ORIGIN = 'https://gate.test';
const TOKEN = 'reflection-admin-token-0123456789-abcdefghij';
const SITE_KEY = '1x00000000000000000000AA';

/** Payloads aimed at HTML text, attributes (both quotes), URLs and script elements. */
const P = {
  script: '<script>alert(1)</script>',
  img: '"><img src=x onerror=alert(2)>',
  svg: "'><svg/onload=alert(3)>",
  js: 'javascript:alert(4)',
  close: '</script><script>alert(5)</script>',
  link: '<a href="javascript:alert(6)">x</a>',
};
/** Fragments that only an unescaped payload would put into markup. */
const RAW = [/<script>alert/, /<img src=x/, /<svg\/onload/, /<a href="javascript:/];

function csvField(s: string): string {
  return `"${s.replace(/"/g, '""')}"`;
}

/** Every payload on a record: 203.0.113.7 critical, 192.0.2.0/25 VPN, 203.0.113.9 moderate. */
const HOSTILE_CSV = `network,score,categories,country,asn,org
203.0.113.7,critical,scanner,NL,64496,${csvField(P.script)}
203.0.113.8,dangerous,,RU,64497,${csvField(P.img)}
203.0.113.9,moderate,,US,64498,${csvField(P.svg)}
192.0.2.0/25,,vpn,SE,64501,${csvField(P.link)}
2001:db8:bad::/48,,proxy,FR,64503,${csvField(P.close)}
`;
/** The feed label, on every record. */
const SOURCE = `feed${P.img}`;

const ALLOWED_SCRIPT =
  /^<script (src="(https:\/\/challenges\.cloudflare\.com\/turnstile\/v0\/api\.js|\/__ipgate\/assets\/[a-z.]+)"( async)?( defer)?|type="application\/json" id="[a-z-]+")>$/;

const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*("[^"]*"|'[^']*'|[^\s"'=<>`]+))?/g;
const URL_ATTRIBUTES = new Set(['href', 'src', 'action', 'formaction', 'data', 'srcdoc']);

/** The attributes of a start tag, values unquoted (entities left as written). */
function attributes(tag: string): [string, string][] {
  const inner = tag.replace(/^<[a-zA-Z][^\s/>]*/, '').replace(/\/?>$/, '');
  return [...inner.matchAll(ATTRIBUTE)].map((m) => [
    (m[1] ?? '').toLowerCase(),
    (m[2] ?? '').replace(/^["']|["']$/g, ''),
  ]);
}

/** No tag of the page carries a handler, a `javascript:` URL or a script ipgate did not write. */
function expectInertHtml(html: string): void {
  for (const r of RAW) expect(html).not.toMatch(r);
  for (const tag of html.match(/<[a-zA-Z][^>]*>/g) ?? []) {
    for (const [name, value] of attributes(tag)) {
      expect(name, tag).not.toMatch(/^on/);
      if (URL_ATTRIBUTES.has(name)) expect(value.trim(), tag).not.toMatch(/^javascript:/i);
    }
    expect(tag).not.toMatch(/^<(img|svg|iframe|object|embed)\b/i);
    if (/^<script\b/i.test(tag)) expect(tag).toMatch(ALLOWED_SCRIPT);
  }
  // Script data blocks hold JSON without any markup character.
  for (const m of html.matchAll(/<script type="application\/json"[^>]*>([\s\S]*?)<\/script>/g))
    expect(m[1]).not.toMatch(/[<>]/);
}

/** A JSON body without markup characters; its parsed value. */
async function inertJson(res: Response): Promise<unknown> {
  const text = await res.text();
  expect(text).not.toMatch(/[<>]/);
  return JSON.parse(text);
}

const escaped = (s: string) =>
  s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');

// ── An app with the D1 decision store and an in-memory copy of every event ──────────────────

interface App {
  events: DecisionEvent[];
  clock: { now: number };
  fetch(path: string, init?: RequestInit, env?: Partial<Env>): Promise<Response>;
}

function app(options: { env?: Partial<Env>; live?: LiveReputation } = {}): App {
  const events: DecisionEvent[] = [];
  const clock = { now: Date.now() };
  const { app: hono } = createApp({
    now: () => clock.now,
    policies: new PolicyStore(),
    ...(options.live ? { live: options.live } : {}),
    sink: (env) => {
      const d1 = sinkForBindings(env);
      return {
        name: 'test',
        write(e) {
          events.push(e);
          return d1.write(e);
        },
      };
    },
    admin: { failureDelayMs: 0 },
  });
  return {
    events,
    clock,
    async fetch(path, init, env) {
      const request = new Request(`${ORIGIN}${path}`, { redirect: 'manual', ...init });
      const ctx = createExecutionContext();
      const res = await hono.fetch(
        request,
        { ...testEnv, ADMIN_TOKEN: TOKEN, ...options.env, ...env },
        ctx,
      );
      await waitOnExecutionContext(ctx);
      return res;
    },
  };
}

const bearer = (ip = '198.51.100.30') => ({
  'CF-Connecting-IP': ip,
  Authorization: `Bearer ${TOKEN}`,
});

/** Request headers carrying payloads in every header a client controls. */
function hostileHeaders(ip: string, accept: string, extra: Record<string, string> = {}) {
  const id = testId('reflect');
  return {
    id,
    headers: {
      'x-test-id': id,
      'CF-Connecting-IP': ip,
      'User-Agent': P.script,
      Host: `evil.test${P.img}`,
      Accept: accept,
      Referer: P.js,
      ...extra,
    },
  };
}

/** Paths and queries with payloads (the URL parser percent-encodes some characters, not `'`). */
const HOSTILE_PATHS = [
  `/login?next=${P.script}&q=${P.img}`,
  `/auth/${P.svg}`,
  `/auth/'onmouseover='alert(7)'/${P.js}`,
  `/api/auth/x?${P.close}`,
];

beforeAll(async () => {
  await seedTable(HOSTILE_CSV, { source: SOURCE });
  await clearPolicy();
});

afterEach(() => {
  vi.restoreAllMocks();
});

describe('the inertness check itself', () => {
  it('catches each payload when it is not escaped, and passes it escaped', () => {
    const page = (s: string, link: string) =>
      `<!doctype html><p>${s}</p><input type="hidden" name="r" value="${s}"><a href="${link}">x</a>`;
    for (const p of Object.values(P)) {
      // `javascript:` in text or a value attribute is only text; it is caught in a link below.
      if (p !== P.js) expect(() => expectInertHtml(page(p, '/')), p).toThrow();
      expectInertHtml(page(escaped(p), '/'));
    }
    // Escaping does not make a URL attribute safe: a `javascript:` link is caught as such.
    expect(() => expectInertHtml(page('x', escaped(P.js)))).toThrow();
    expect(() => expectInertHtml('<form action=" JavaScript:alert(1)">')).toThrow();
    expect(() => expectInertHtml("<div title='x' onclick='y'>")).toThrow();
  });
});

describe('the block page', () => {
  it('reflects nothing from the record or the request, as HTML and as JSON', async () => {
    const a = app();
    for (const path of HOSTILE_PATHS)
      for (const accept of ['text/html', `application/json, ${P.script}`]) {
        const { id, headers } = hostileHeaders('203.0.113.7', accept);
        const res = await a.fetch(path, { headers });
        expect(res.status).toBe(403);
        expect(await originSaw(id)).toHaveLength(0);
        const body = await res.text();
        expect(body).not.toMatch(/alert|onmouseover|evil\.test|javascript/);
        if (accept === 'text/html') expectInertHtml(body);
        else
          expect(Object.keys(JSON.parse(body))).toEqual(['error', 'title', 'message', 'reference']);
        expect(a.events.at(-1)).toMatchObject({ org: P.script, source: SOURCE, action: 'block' });
      }
  });

  it('encodes the operator’s own markup, in HTML and JSON', async () => {
    await putPolicy({
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login'],
          rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
        },
      ],
      blockResponse: { title: P.close, message: `${P.img} ${P.link}` },
    });
    try {
      const a = app();
      const html = await a.fetch('/login', {
        headers: hostileHeaders('203.0.113.7', '*/*').headers,
      });
      const page = await html.text();
      expectInertHtml(page);
      expect(page).toContain(`<h1>${escaped(P.close)}</h1>`);
      const json = await a.fetch('/login', {
        headers: hostileHeaders('203.0.113.7', 'application/json').headers,
      });
      expect(await inertJson(json)).toMatchObject({
        title: P.close,
        message: `${P.img} ${P.link}`,
      });
    } finally {
      await clearPolicy();
    }
  });
});

describe('the challenge page', () => {
  const POLICY = {
    challenge: { siteKey: SITE_KEY },
    routeClasses: [
      {
        name: 'auth',
        paths: ['/login', '/auth/*', '/api/auth/*'],
        rules: [{ name: 'anonymizer', categories: ['vpn', 'proxy'], action: 'challenge' }],
        unknown: 'challenge',
      },
    ],
    site: {
      rules: [{ name: 'anonymizer', categories: ['vpn', 'proxy'], action: 'challenge' }],
      unknown: 'challenge',
    },
  };
  const env = {
    TURNSTILE_SECRET: FAKE_TURNSTILE_SECRET,
    TURNSTILE_VERIFY_URL: siteverifyUrl(),
    CLEARANCE_SECRET,
  };

  it('escapes the return path and reflects nothing else, as HTML and as JSON', async () => {
    await putPolicy(POLICY);
    try {
      const a = app({ env });
      const paths = [...HOSTILE_PATHS, `/'onfocus='alert(8)'?x=${P.js}`];
      for (const path of paths)
        for (const [ip, accept] of [
          ['192.0.2.10', 'text/html'],
          ['198.51.100.77', 'text/html'],
          ['192.0.2.11', `application/json;${P.svg}`],
        ] as const) {
          const { id, headers } = hostileHeaders(ip, accept);
          const res = await a.fetch(path, { headers });
          expect(res.status).toBe(403);
          expect(await originSaw(id)).toHaveLength(0);
          expect(a.events.at(-1)).toMatchObject({ action: 'challenge' });
          if (accept !== 'text/html') {
            const body = await inertJson(res);
            expect(JSON.stringify(body)).not.toMatch(/alert|evil\.test|javascript/);
            continue;
          }
          const page = await res.text();
          expectInertHtml(page);
          expect(page).toContain(SITE_KEY);
          expect(page).not.toMatch(/evil\.test/);
          // The return path is there, escaped inside its quoted attribute.
          const value = /name="return" value="([^"]*)"/.exec(page)?.[1] ?? '';
          expect(value.startsWith('/')).toBe(true);
          expect(value).not.toMatch(/[<>"']/);
        }
      // The one path that keeps a quote through the URL parser comes back escaped.
      const quoted = await a.fetch("/'onfocus='alert(8)'", {
        headers: hostileHeaders('198.51.100.78', 'text/html').headers,
      });
      expect(await quoted.text()).toContain('value="/&#39;onfocus=&#39;alert(8)&#39;"');
    } finally {
      await clearPolicy();
    }
  });

  it('answers a posted form with a hostile return path by a same-origin redirect or an inert page', async () => {
    await putPolicy(POLICY);
    try {
      const a = app({ env });
      const returns = [
        P.js,
        `//evil.test/${P.script}`,
        `/login${P.img}`,
        `/\\evil.test`,
        `/'onfocus='alert(9)'`,
      ];
      for (const ret of returns)
        for (const kind of ['pass', 'fail'] as const) {
          const res = await a.fetch(CHALLENGE_PATH, {
            method: 'POST',
            headers: {
              'CF-Connecting-IP': '198.51.100.79',
              'content-type': 'application/x-www-form-urlencoded',
              'User-Agent': P.script,
            },
            body: new URLSearchParams({
              'cf-turnstile-response': fakeToken(kind),
              return: ret,
            }).toString(),
          });
          const location = res.headers.get('Location');
          if (location !== null) expect(location).toMatch(/^\/(?![/\\])[^<>"\s]*$/);
          const body = await res.text();
          expectInertHtml(body);
          expect(body).not.toMatch(/evil\.test/);
        }
    } finally {
      await clearPolicy();
    }
  });
});

describe('the dashboard and the admin API over what the gate recorded', () => {
  it('show payloads from records and requests as text, and as exact JSON values', async () => {
    const a = app();
    const refs: string[] = [];
    for (const path of HOSTILE_PATHS)
      for (const ip of ['203.0.113.7', '192.0.2.10', '2001:db8:bad::1']) {
        const { headers } = hostileHeaders(ip, 'text/html');
        const res = await a.fetch(path, { headers });
        expect(res.status).toBe(403);
        refs.push(res.headers.get(REFERENCE_HEADER) ?? '');
      }
    // request.cf is Cloudflare's, but its country is checked before it reaches an event.
    const cf = { country: P.script, asn: 64_999 } as unknown as IncomingRequestCfProperties;
    await a.fetch('/login', { headers: hostileHeaders('198.51.100.77', 'text/html').headers, cf });
    expect(a.events.at(-1)).toMatchObject({ country: '', asn: 64_999 });
    a.clock.now = Date.now() + 2_000;

    const pages = [
      '/__ipgate/?since=1h',
      '/__ipgate/ip/203.0.113.7?since=1h',
      '/__ipgate/ip/192.0.2.10?since=1h',
      '/__ipgate/ip/2001:db8:bad::/64?since=1h',
      `/__ipgate/?since=1h&country=${encodeURIComponent(P.img)}`,
      `/__ipgate/?since=${encodeURIComponent(P.script)}`,
      `/__ipgate/ip/203.0.113.7?since=${encodeURIComponent(P.svg)}`,
      `/__ipgate/ip/${encodeURIComponent(P.script)}`,
      `/__ipgate/${encodeURIComponent(P.script)}`,
    ];
    const shown: string[] = [];
    for (const page of pages) {
      const res = await a.fetch(page, { headers: bearer() });
      const html = await res.text();
      expectInertHtml(html);
      shown.push(html);
    }
    const all = shown.join('\n');
    // The payloads reached the pages, escaped: organisations, the feed label and the paths.
    for (const p of [P.script, P.img, P.link, P.close, SOURCE]) expect(all).toContain(escaped(p));
    expect(all).toContain(escaped("/auth/'onmouseover='alert(7)'/javascript:alert(4)"));
    expect(all).not.toMatch(/evil\.test/);

    const blocks = (await inertJson(
      await a.fetch('/__ipgate/api/blocks?since=1h&limit=1000', { headers: bearer() }),
    )) as { blocks: { ref: string; org: string; source: string; path: string }[] };
    const mine = blocks.blocks.filter((b) => refs.includes(b.ref));
    expect(mine).toHaveLength(refs.length);
    expect(new Set(mine.map((b) => b.org))).toEqual(new Set([P.script, P.link, P.close]));
    expect(mine.every((b) => b.source === SOURCE)).toBe(true);
    const ip = (await inertJson(
      await a.fetch('/__ipgate/api/ip/192.0.2.10?since=1h', { headers: bearer() }),
    )) as { table: { record: { org: string; source: string } } };
    expect(ip.table.record).toMatchObject({ org: P.link, source: SOURCE });
    const report = (await inertJson(
      await a.fetch('/__ipgate/api/report?since=1h', { headers: bearer() }),
    )) as { isps: { org: string }[] };
    expect(report.isps.map((i) => i.org)).toEqual(expect.arrayContaining([P.script, P.link]));
  });

  it('encode what the API reflects from the request in its errors', async () => {
    const a = app();
    const cases: [string, RequestInit][] = [
      [`/__ipgate/api/report?since=${encodeURIComponent(P.script)}`, {}],
      [`/__ipgate/api/blocks?since=1h&limit=${encodeURIComponent(P.img)}`, {}],
      [`/__ipgate/api/ip/203.0.113.7?since=${encodeURIComponent(P.close)}`, {}],
      [`/__ipgate/api/report?since=1h&action=${encodeURIComponent(P.svg)}`, {}],
      ['/__ipgate/api/policy', { method: 'PUT', body: '{}', headers: { 'If-Match': P.link } }],
      [
        '/__ipgate/api/policy',
        { method: 'PUT', body: JSON.stringify({ [P.script]: 1, mode: P.img }) },
      ],
      [
        '/__ipgate/api/policy/rollback',
        { method: 'POST', body: JSON.stringify({ version: P.svg }) },
      ],
      [`/__ipgate/api/${encodeURIComponent(P.script)}`, {}],
    ];
    let reflected = 0;
    for (const [path, init] of cases) {
      const res = await a.fetch(path, {
        ...init,
        headers: { ...bearer(), ...(init.headers as Record<string, string>) },
      });
      expect(res.status).toBeGreaterThanOrEqual(400);
      const body = JSON.stringify(await inertJson(res));
      if (/alert\(/.test(body)) reflected += 1;
    }
    // Most of these errors quote what was sent: encoded, not dropped.
    expect(reflected).toBeGreaterThanOrEqual(4);
  });

  it('health encodes the problems of a refused policy, which quote its keys', async () => {
    await putPolicy({ [P.script]: 1, routeClasses: [{ name: 'x', paths: [P.img] }] });
    try {
      const a = app();
      const body = (await inertJson(await a.fetch('/__ipgate/health'))) as {
        policy: { issues: { path: string; message: string }[] };
      };
      expect(JSON.stringify(body.policy.issues)).toContain(P.script);
    } finally {
      await clearPolicy();
    }
  });
});

// ── Secrets ──────────────────────────────────────────────────────────────────────────────────

describe('secrets', () => {
  it('appear in no response, header, decision event or console line, on any path', async () => {
    const scope = testId('secrets');
    const providerBase = scopeUrl(inject('criminalIpUrl'), scope);
    // The fake answers every call with an error that repeats the key it was sent.
    await setFakeMode(providerBase, { mode: 'echo_key' });
    const SECRETS = {
      ADMIN_TOKEN: TOKEN,
      CRIMINALIP_API_KEY: FAKE_CRIMINALIP_KEY,
      ABUSEIPDB_API_KEY: 'abuseipdb-secret-key-0123456789abcdef',
      TURNSTILE_SECRET: FAKE_TURNSTILE_SECRET,
      CLEARANCE_SECRET,
      ANALYTICS_API_TOKEN: 'analytics-api-token-0123456789abcdef',
    };
    const env: Partial<Env> = {
      ...SECRETS,
      CRIMINALIP_API_URL: providerBase,
      TURNSTILE_VERIFY_URL: siteverifyUrl(),
    };
    const logged: string[] = [];
    for (const level of ['log', 'info', 'warn', 'error', 'debug'] as const)
      vi.spyOn(console, level).mockImplementation((...args: unknown[]) => {
        logged.push(args.map((x) => (x instanceof Error ? `${x.stack}` : String(x))).join(' '));
      });

    const a = app({ env, live: new LiveReputation({ brokerName: `:${scope}` }) });
    const seen: string[] = [];
    const take = async (res: Response) => {
      seen.push(`${res.status}\n${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}`);
      seen.push(await res.text());
    };
    const req = (ip: string, accept = 'text/html') => ({
      headers: hostileHeaders(ip, accept).headers,
    });

    // The gate with the built-in policy: a block, a pass, a live lookup that fails with the key.
    await take(await a.fetch('/login', req('203.0.113.7')));
    await take(await a.fetch('/login', req('203.0.113.7', 'application/json')));
    await take(await a.fetch('/', req('203.0.113.9')));
    await take(await a.fetch('/login', req('198.51.100.99')));
    await take(await a.fetch('/login', req('198.51.100.98', 'application/json')));
    expect(a.events.some((e) => e.reason === 'unknown' && e.detail !== '')).toBe(true);
    // Challenges: the page, a refused and a passed token (cookie signed with the secret).
    await putPolicy({
      challenge: { siteKey: SITE_KEY },
      routeClasses: [{ name: 'auth', paths: ['/login'], unknown: 'challenge' }],
    });
    try {
      await take(await a.fetch('/login', req('198.51.100.97')));
      await take(await a.fetch('/login', req('198.51.100.97', 'application/json')));
      for (const kind of ['fail', 'pass', 'leak', 'error500'] as const)
        await take(
          await a.fetch(CHALLENGE_PATH, {
            method: 'POST',
            headers: {
              'CF-Connecting-IP': '198.51.100.96',
              'content-type': 'application/x-www-form-urlencoded',
            },
            body: new URLSearchParams({
              'cf-turnstile-response': fakeToken(kind),
              return: '/login',
            }).toString(),
          }),
        );
    } finally {
      await clearPolicy();
    }
    // Error paths: an unusable origin, a table read that fails.
    await take(await a.fetch('/login', req('203.0.113.9'), { ORIGIN_URL: 'not a url' }));
    const failing = new Proxy(testEnv.REPUTATION, {
      get(target, prop) {
        if (prop === 'get') return () => Promise.reject(new Error('KV failed'));
        return Reflect.get(target, prop);
      },
    });
    const cold = app({ env });
    await take(await cold.fetch('/login', req('203.0.113.7'), { REPUTATION: failing }));
    // Health, the dashboard and the API, signed in and not, right and wrong.
    a.clock.now = Date.now() + 2_000;
    for (const path of [
      '/__ipgate/health',
      '/__ipgate/?since=1h',
      '/__ipgate/ip/198.51.100.99?since=1h',
      '/__ipgate/policy',
      '/__ipgate/api/report?since=1h',
      '/__ipgate/api/blocks?since=1h',
      '/__ipgate/api/ip/198.51.100.99?since=1h',
      '/__ipgate/api/policy',
    ])
      await take(await a.fetch(path, { headers: bearer() }));
    await take(await a.fetch('/__ipgate/', { headers: { 'CF-Connecting-IP': '198.51.100.95' } }));
    await take(
      await a.fetch('/__ipgate/api/report', {
        headers: { 'CF-Connecting-IP': '198.51.100.94', Authorization: `Bearer ${TOKEN}x` },
      }),
    );
    await take(
      await a.fetch('/__ipgate/login', {
        method: 'POST',
        headers: {
          'CF-Connecting-IP': '198.51.100.93',
          Origin: ORIGIN,
          'content-type': 'application/x-www-form-urlencoded',
        },
        body: `token=${encodeURIComponent(TOKEN.slice(0, -1))}`,
      }),
    );

    expect(seen.length).toBeGreaterThan(40);
    const events = [...a.events, ...cold.events].map((e) => JSON.stringify(e));
    expect(events.length).toBeGreaterThanOrEqual(8);
    // The table failure left its reason in the event.
    expect(events.join('\n')).toMatch(/KV failed/);
    for (const text of [...seen, ...events, ...logged])
      for (const [name, secret] of Object.entries(SECRETS))
        expect(text.includes(secret), `${name} in ${text.slice(0, 300)}`).toBe(false);
  });
});
