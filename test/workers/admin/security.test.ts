/**
 * The dashboard's security properties: values from decisions, requests and the policy render
 * inert (XSS payloads in org names, paths, rules, sources and policy comments); forms are
 * CSRF-safe (token, Origin); every response is `no-store` with a CSP that allows no inline
 * script and no framing; secrets never appear in any response; assets are served by the Worker.
 */
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { secretEquals } from '../../../src/admin/session';
import { UPLOT_VERSION } from '../../../src/admin/vendor/uplot';
import { POLICY_CURRENT_KEY } from '../../../src/constants';
import { clearPolicy, SAMPLE_CSV, seedTable, testEnv } from '../helpers';
import {
  adminHarness,
  bearer,
  browser,
  clearPolicies,
  event,
  form,
  memoryStore,
  ORIGIN,
  signIn,
  TOKEN,
  withSession,
} from './support';

const START = Date.UTC(2026, 10, 26, 12, 0, 0);
const PAYLOADS = [
  '<script>alert(1)</script>',
  '"><img src=x onerror=alert(2)>',
  "'><svg onload=alert(3)>",
  '</script><script>alert(4)</script>',
  '</textarea><iframe src=javascript:alert(5)>',
];
/** Markup any payload would create if it were not escaped. */
const LIVE = /<script>alert|<img src=x|<svg onload|<iframe|<\/script><script>/;

function hostileEvents() {
  return PAYLOADS.map((p, i) =>
    event({
      time: START - (i + 1) * 60_000,
      ip: '203.0.113.7',
      org: p,
      path: `/login${p}`,
      rule: p,
      source: p,
      method: 'GET',
    }),
  );
}

beforeAll(async () => {
  await seedTable(SAMPLE_CSV);
  await clearPolicy();
});

describe('escaping', () => {
  it('renders payloads from decisions inert on the report and the drill-down', async () => {
    const h = adminHarness({
      admin: { decisions: () => memoryStore(hostileEvents()) },
      start: START,
    });
    const s = await signIn(h, '198.51.100.140');
    for (const path of ['/__ipgate/', '/__ipgate/ip/203.0.113.7']) {
      const res = await h.fetch(path, { headers: withSession(s) });
      expect(res.status).toBe(200);
      const html = await res.text();
      expect(html).not.toMatch(LIVE);
      expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt;');
      expect(html).toContain('&quot;&gt;&lt;img src=x onerror=alert(2)&gt;');
      // The only scripts are the served assets and the JSON data block.
      const scripts = [...html.matchAll(/<script\b[^>]*>/g)].map((m) => m[0]);
      for (const tag of scripts)
        expect(tag).toMatch(/src="\/__ipgate\/assets\/|type="application\/json"/);
    }
    const report = await (await h.fetch('/__ipgate/', { headers: withSession(s) })).text();
    const block =
      /<script type="application\/json" id="ipgate-report">([\s\S]*?)<\/script>/.exec(
        report,
      )?.[1] ?? '';
    expect(block).not.toContain('<');
    expect(JSON.parse(block).isps[0].org).toBe(PAYLOADS[0]);
  });

  it('renders payloads in a policy comment, paths and query strings inert', async () => {
    await clearPolicies();
    const h = adminHarness({ admin: { decisions: () => memoryStore([]) }, start: START });
    const doc = {
      comment: PAYLOADS.join(' '),
      routeClasses: [
        { name: 'auth', paths: ['/login', '/a"><script>alert(6)</script>'], rules: [] },
      ],
      blockResponse: { title: PAYLOADS[1], message: PAYLOADS[4] },
    };
    const put = await h.fetch('/__ipgate/api/policy', {
      method: 'PUT',
      body: JSON.stringify(doc),
      headers: bearer(),
    });
    expect(put.status).toBe(200);
    const s = await signIn(h, '198.51.100.141');
    const policy = await (await h.fetch('/__ipgate/policy', { headers: withSession(s) })).text();
    expect(policy).not.toMatch(LIVE);
    expect(policy).not.toContain('<script>alert(6)');
    expect(policy).toContain('&lt;/textarea&gt;&lt;iframe');
    const query = `?since=24h&routeClass=${encodeURIComponent(PAYLOADS[1] ?? '')}&country=${encodeURIComponent('"><b>')}`;
    const report = await h.fetch(`/__ipgate/${query}`, { headers: withSession(s) });
    expect(report.status).toBe(400);
    expect(await report.text()).not.toMatch(/<img src=x|"><b>/);
    const preview = await h.fetch('/__ipgate/policy/preview', {
      method: 'POST',
      ...(() => {
        const base = /name="base" value="([^"]+)"/.exec(policy)?.[1] ?? '';
        const f = form({
          csrf: s.csrf,
          base,
          json: `{"comment": ${JSON.stringify(PAYLOADS[3])}, "mode": "x<script>"}`,
        });
        return { body: f.body, headers: withSession(s, f.headers) };
      })(),
    });
    expect(preview.status).toBe(400);
    expect(await preview.text()).not.toMatch(LIVE);
    await clearPolicies();
  });
});

describe('CSRF', () => {
  async function save(
    h: ReturnType<typeof adminHarness>,
    headers: Record<string, string>,
    fields: Record<string, string>,
  ) {
    const f = form(fields);
    return h.fetch('/__ipgate/policy/save', {
      method: 'POST',
      body: f.body,
      headers: { ...headers, ...f.headers },
    });
  }

  it('refuses a form without the token, with a wrong one, from another origin, or without any origin', async () => {
    await clearPolicies();
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.150');
    const page = await (await h.fetch('/__ipgate/policy', { headers: withSession(s) })).text();
    const base = /name="base" value="([^"]+)"/.exec(page)?.[1] ?? '';
    const json = JSON.stringify({ mode: 'monitor' });
    const cases: [Record<string, string>, Record<string, string>][] = [
      [withSession(s), { base, json }],
      [withSession(s), { base, json, csrf: `${s.csrf.slice(0, -1)}x` }],
      [withSession(s, { Origin: 'https://evil.example' }), { base, json, csrf: s.csrf }],
      [
        { 'CF-Connecting-IP': s.ip, Cookie: s.cookie },
        { base, json, csrf: s.csrf },
      ],
      [withSession(s, { Origin: 'null' }), { base, json, csrf: s.csrf }],
    ];
    for (const [headers, fields] of cases) {
      const res = await save(h, headers, fields);
      expect(res.status).toBe(403);
    }
    expect(await testEnv.POLICY.get(POLICY_CURRENT_KEY)).toBeNull();
    // The same form from the dashboard itself is accepted (Sec-Fetch-Site also counts).
    const ok = await save(
      h,
      { 'CF-Connecting-IP': s.ip, Cookie: s.cookie, 'Sec-Fetch-Site': 'same-origin' },
      { base, json, csrf: s.csrf },
    );
    expect(ok.status).toBe(303);
    await clearPolicies();
  });

  it("another session's token does not work", async () => {
    const h = adminHarness();
    const a = await signIn(h, '198.51.100.151');
    const b = await signIn(h, '198.51.100.152');
    expect(a.csrf).not.toBe(b.csrf);
    const res = await save(h, withSession(a), { base: 'x', json: '{}', csrf: b.csrf });
    expect(res.status).toBe(403);
  });

  it('the API needs X-CSRF-Token with a session cookie, not with a bearer token; a foreign origin never', async () => {
    await clearPolicies();
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.153');
    const body = JSON.stringify({ mode: 'monitor' });
    const noToken = await h.fetch('/__ipgate/api/policy', {
      method: 'PUT',
      body,
      headers: withSession(s),
    });
    expect(noToken.status).toBe(403);
    expect(await noToken.json()).toMatchObject({ error: 'csrf' });
    const withToken = await h.fetch('/__ipgate/api/policy', {
      method: 'PUT',
      body,
      headers: withSession(s, { 'X-CSRF-Token': s.csrf }),
    });
    expect(withToken.status).toBe(200);
    const foreign = await h.fetch('/__ipgate/api/policy', {
      method: 'PUT',
      body,
      headers: { ...bearer(), Origin: 'https://evil.example' },
    });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ error: 'forbidden_origin' });
    await clearPolicies();
  });
});

describe('headers', () => {
  it('sends no-store, a CSP without inline script, and no framing on every dashboard response', async () => {
    const h = adminHarness({ admin: { decisions: () => memoryStore([]) } });
    const s = await signIn(h, '198.51.100.160');
    const responses = [
      await h.fetch('/__ipgate/', { headers: withSession(s) }),
      await h.fetch('/__ipgate/policy', { headers: withSession(s) }),
      await h.fetch('/__ipgate/ip/203.0.113.7', { headers: withSession(s) }),
      await h.fetch('/__ipgate/login'),
      await h.fetch('/__ipgate/', { headers: browser('198.51.100.160') }),
      await h.fetch('/__ipgate/api/report', { headers: bearer() }),
      await h.fetch('/__ipgate/api/report', { headers: browser('198.51.100.160') }),
      await h.fetch('/__ipgate/api/policy', { headers: bearer('198.51.100.161', 'wrong-token') }),
    ];
    for (const res of responses) {
      expect(res.headers.get('cache-control')).toBe('no-store');
      const csp = res.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("default-src 'self'");
      expect(csp).toContain("script-src 'self'");
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).not.toContain('unsafe-inline');
      expect(res.headers.get('x-frame-options')).toBe('DENY');
      expect(res.headers.get('x-content-type-options')).toBe('nosniff');
    }
  });

  it('serves the chart library, page script and style from the Worker', async () => {
    const h = adminHarness({ env: { ADMIN_TOKEN: undefined } });
    const js = await h.fetch('/__ipgate/assets/uplot.js');
    expect(js.status).toBe(200);
    expect(js.headers.get('content-type')).toContain('text/javascript');
    expect(await js.text()).toContain(`uPlot (v${UPLOT_VERSION})`);
    const page = await h.fetch('/__ipgate/assets/dashboard.js');
    expect(await page.text()).toContain("document.getElementById('ipgate-report')");
    expect((await h.fetch('/__ipgate/assets/uplot.css')).headers.get('content-type')).toContain(
      'text/css',
    );
    expect((await h.fetch('/__ipgate/assets/dashboard.css')).status).toBe(200);
    expect((await h.fetch('/__ipgate/assets/constructor')).status).toBe(404);
    // Dot segments resolve before routing: this is the policy page, which stays protected.
    const escaped = await h.fetch('/__ipgate/assets/..%2Fpolicy');
    expect(escaped.status).toBe(403);
    expect(await escaped.text()).toContain('The dashboard is disabled');
  });
});

describe('secrets', () => {
  const SECRETS = {
    ADMIN_TOKEN: TOKEN,
    CRIMINALIP_API_KEY: 'criminalip-secret-key-0123456789abcdef',
    ABUSEIPDB_API_KEY: 'abuseipdb-secret-key-0123456789abcdef',
    TURNSTILE_SECRET: 'turnstile-secret-0123456789abcdef',
    CLEARANCE_SECRET: 'clearance-secret-0123456789abcdef0123456789',
    ANALYTICS_API_TOKEN: 'analytics-api-token-0123456789abcdef',
  };

  it('never appear in any dashboard page, API answer or error', async () => {
    await clearPolicies();
    const failing = memoryStore([]);
    failing.report = async () => {
      throw new Error('store down');
    };
    const h = adminHarness({ admin: { decisions: () => failing }, env: SECRETS });
    const s = await signIn(h, '198.51.100.170');
    const f = form({ token: `${TOKEN}-wrong` });
    const responses = [
      await h.fetch('/__ipgate/', { headers: withSession(s) }),
      await h.fetch('/__ipgate/policy', { headers: withSession(s) }),
      await h.fetch('/__ipgate/ip/203.0.113.7', { headers: withSession(s) }),
      await h.fetch('/__ipgate/login'),
      await h.fetch('/__ipgate/login', {
        method: 'POST',
        body: f.body,
        headers: { ...browser('198.51.100.171'), ...f.headers },
      }),
      await h.fetch('/__ipgate/api/report', { headers: bearer() }),
      await h.fetch('/__ipgate/api/blocks', { headers: bearer() }),
      await h.fetch('/__ipgate/api/ip/203.0.113.7', { headers: bearer() }),
      await h.fetch('/__ipgate/api/policy', { headers: bearer() }),
      await h.fetch('/__ipgate/api/policy', {
        method: 'PUT',
        body: '{"mode":1}',
        headers: bearer(),
      }),
      await h.fetch('/__ipgate/api/policy', { headers: bearer('198.51.100.172', `${TOKEN}x`) }),
      await h.fetch('/__ipgate/health'),
      await h.fetch('/__ipgate/api/nothing-here', { headers: bearer() }),
    ];
    for (const res of responses) {
      const text = `${[...res.headers].map(([k, v]) => `${k}: ${v}`).join('\n')}\n${await res.text()}`;
      for (const secret of Object.values(SECRETS)) expect(text).not.toContain(secret);
      expect(text).not.toMatch(/\bat .+\.ts:\d+/);
    }
    expect(ORIGIN).toBe('https://gate.test');
  });
});

describe('token comparison', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  /** Wrong tokens differing from the right one at every kind of position and length. */
  const WRONG = [
    `x${TOKEN.slice(1)}`,
    `${TOKEN.slice(0, 20)}x${TOKEN.slice(21)}`,
    `${TOKEN.slice(0, -1)}x`,
    TOKEN.slice(0, -1),
    TOKEN.slice(0, 1),
    `${TOKEN}x`,
    TOKEN.toUpperCase(),
    'x'.repeat(TOKEN.length),
    TOKEN.repeat(20).slice(0, 1024),
  ];

  it('hashes both whole values and compares fixed-length digests with timingSafeEqual', async () => {
    const digest = vi.spyOn(crypto.subtle, 'digest');
    const compare = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    for (const given of [...WRONG, '', TOKEN]) {
      digest.mockClear();
      compare.mockClear();
      expect(await secretEquals(given, TOKEN)).toBe(given === TOKEN);
      // Each side is hashed in full, whatever its length and wherever it first differs.
      const hashed = digest.mock.calls.map(([algorithm, data]) => [
        algorithm,
        (data as ArrayBufferView).byteLength,
      ]);
      expect(hashed).toEqual(
        expect.arrayContaining([
          ['SHA-256', new TextEncoder().encode(given).byteLength],
          ['SHA-256', TOKEN.length],
        ]),
      );
      expect(compare).toHaveBeenCalledTimes(1);
      const [a, b] = compare.mock.calls[0] as [ArrayBuffer, ArrayBuffer];
      expect([a.byteLength, b.byteLength]).toEqual([32, 32]);
    }
  });

  it('refuses every wrong bearer token and takes the right one, each through the same comparison', async () => {
    const h = adminHarness({ admin: { decisions: () => memoryStore([]) } });
    const compare = vi.spyOn(crypto.subtle, 'timingSafeEqual');
    for (const [i, token] of WRONG.entries()) {
      compare.mockClear();
      // A client address per attempt: the sign-in limit is not what refuses them.
      const res = await h.fetch('/__ipgate/api/policy', {
        headers: bearer(`198.51.100.${200 + i}`, token),
      });
      expect(res.status, token).toBe(401);
      expect(await res.json()).toMatchObject({ error: 'unauthorized' });
      expect(compare).toHaveBeenCalledTimes(1);
    }
    compare.mockClear();
    const ok = await h.fetch('/__ipgate/api/policy', { headers: bearer('198.51.100.199') });
    expect(ok.status).toBe(200);
    expect(compare).toHaveBeenCalledTimes(1);
  });
});
