/**
 * Policy from the dashboard and the admin API: every problem with its path on 400 and the last
 * good policy still served by the gate; a valid document saved as a new version and applied in
 * this isolate at once; roll back to any version; the form (mode, rule toggles, paths, lists)
 * with its diff preview; stale forms refused. Every deny also asserts the origin was not called.
 */
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { POLICY_CURRENT_KEY } from '../../../src/constants';
import { expectBlocked, expectPassed, from, SAMPLE_CSV, seedTable, testEnv } from '../helpers';
import {
  type AdminHarness,
  adminHarness,
  bearer,
  clearPolicies,
  form,
  type Session,
  signIn,
  withSession,
} from './support';

const ENFORCE = {
  comment: 'enforce',
  routeClasses: [
    {
      name: 'auth',
      paths: ['/login'],
      rules: [{ name: 'dirty', scores: ['dangerous', 'critical'], action: 'block' }],
    },
  ],
};
const MONITOR = { ...ENFORCE, comment: 'monitor', mode: 'monitor' };

beforeAll(async () => {
  await seedTable(SAMPLE_CSV);
});
beforeEach(async () => {
  await clearPolicies();
});

function put(h: AdminHarness, doc: unknown, headers: Record<string, string> = bearer()) {
  return h.fetch('/__ipgate/api/policy', {
    method: 'PUT',
    body: typeof doc === 'string' ? doc : JSON.stringify(doc),
    headers: { 'content-type': 'application/json', ...headers },
  });
}

/** A request for /login from a Critical IP through the same app (the gate). */
async function login(h: AdminHarness) {
  const { id, headers } = from('203.0.113.7');
  return { res: await h.fetch('/login', { headers }), id };
}

interface PolicyBody {
  stored: boolean;
  version: string;
  document: { mode?: string; comment?: string };
  versions: { id: string; hash: string; current: boolean }[];
  serving: { version: string; valid: boolean };
}

async function getPolicy(h: AdminHarness): Promise<PolicyBody> {
  const res = await h.fetch('/__ipgate/api/policy', { headers: bearer() });
  expect(res.status).toBe(200);
  return (await res.json()) as PolicyBody;
}

describe('PUT /api/policy', () => {
  it('refuses an invalid document with every problem and its path; the gate keeps the last good policy', async () => {
    const h = adminHarness();
    const first = await put(h, ENFORCE);
    expect(first.status).toBe(200);
    const saved = (await first.json()) as { id: string; version: string; applied: boolean };
    expect(saved).toMatchObject({ applied: true });
    expect(saved.id).toMatch(/^20261126T120000Z-[0-9a-f]{12}$/);

    h.clock.now += 2000;
    const bad = await put(h, {
      mode: 'sometimes',
      routeClasses: [
        {
          name: 'auth',
          paths: ['login'],
          rules: [{ name: 'x', scores: ['nasty'], action: 'block' }],
        },
      ],
    });
    expect(bad.status).toBe(400);
    const body = (await bad.json()) as {
      error: string;
      detail: string;
      issues: { path: string }[];
    };
    expect(body.error).toBe('invalid_policy');
    expect(body.detail).toMatch(/nothing was saved/);
    expect(body.issues.map((i) => i.path).sort()).toEqual(
      ['mode', 'routeClasses[0].paths[0]', 'routeClasses[0].rules[0].scores[0]'].sort(),
    );
    const notJson = await put(h, '{"mode": ');
    expect(notJson.status).toBe(400);
    expect(
      ((await notJson.json()) as { issues: { message: string }[] }).issues[0]?.message,
    ).toMatch(/not valid JSON/);

    // Nothing was written, and the gate still enforces the last good policy.
    expect(JSON.parse((await testEnv.POLICY.get(POLICY_CURRENT_KEY)) ?? '{}')).toEqual(ENFORCE);
    const { res, id } = await login(h);
    await expectBlocked(res, id);
    const state = await getPolicy(h);
    expect(state.versions).toHaveLength(1);
    expect(state.version).toBe(saved.version);
  });

  it('saves a valid document as a new version, applies it at once, and rolls back', async () => {
    const h = adminHarness();
    const a = (await (await put(h, ENFORCE)).json()) as { id: string; version: string };
    h.clock.now += 2000;
    const b = (await (await put(h, MONITOR)).json()) as { id: string; version: string };
    expect(b.id).not.toBe(a.id);
    // Monitor mode applies in this isolate without waiting for the policy cache.
    const passed = await login(h);
    await expectPassed(passed.res, passed.id);

    let state = await getPolicy(h);
    expect(state.versions.map((v) => [v.id, v.current])).toEqual([
      [b.id, true],
      [a.id, false],
    ]);
    expect(state.document.mode).toBe('monitor');
    expect(state.serving.version).toBe(b.version);

    const rolled = await h.fetch('/__ipgate/api/policy/rollback', {
      method: 'POST',
      body: JSON.stringify({ version: a.id }),
      headers: bearer(),
    });
    expect(rolled.status).toBe(200);
    expect(await rolled.json()).toEqual({ id: a.id, version: a.version, applied: true });
    const blocked = await login(h);
    await expectBlocked(blocked.res, blocked.id);
    state = await getPolicy(h);
    expect(state.version).toBe(a.version);
    expect(state.versions).toHaveLength(2);

    // Without a version: the one saved before the current one (none before the first).
    const none = await h.fetch('/__ipgate/api/policy/rollback', {
      method: 'POST',
      headers: bearer(),
    });
    expect(none.status).toBe(409);
    expect(await none.json()).toMatchObject({ error: 'no_earlier_version' });
    const missing = await h.fetch('/__ipgate/api/policy/rollback', {
      method: 'POST',
      body: JSON.stringify({ version: '20990101T000000Z-000000000000' }),
      headers: bearer(),
    });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ error: 'no_such_version' });
  });

  it('honours If-Match so two editors cannot overwrite each other', async () => {
    const h = adminHarness();
    const a = (await (await put(h, ENFORCE)).json()) as { version: string };
    h.clock.now += 2000;
    const stale = await put(h, MONITOR, { ...bearer(), 'If-Match': '"000000000000"' });
    expect(stale.status).toBe(412);
    const fresh = await put(h, MONITOR, { ...bearer(), 'If-Match': `"${a.version}"` });
    expect(fresh.status).toBe(200);
  });

  it('refuses a body larger than a policy may be', async () => {
    const h = adminHarness();
    const res = await put(h, `{"comment": "${'x'.repeat(300 * 1024)}"}`);
    expect(res.status).toBe(413);
  });
});

describe('the policy page', () => {
  async function page(h: AdminHarness, s: Session): Promise<{ html: string; base: string }> {
    const res = await h.fetch('/__ipgate/policy', { headers: withSession(s) });
    expect(res.status).toBe(200);
    const html = await res.text();
    return { html, base: /name="base" value="([^"]+)"/.exec(html)?.[1] ?? '' };
  }

  async function post(
    h: AdminHarness,
    s: Session,
    path: string,
    fields: Record<string, string | string[]>,
  ) {
    const f = form({ csrf: s.csrf, ...fields });
    return h.fetch(path, { method: 'POST', body: f.body, headers: withSession(s, f.headers) });
  }

  it('shows the built-in policy as a form with every rule toggle', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.120');
    const { html, base } = await page(h, s);
    expect(base).toMatch(/^default-[0-9a-f]{12}$/);
    expect(html).toContain('none: the built-in defaults apply');
    expect(html).toContain('<input type="radio" name="mode" value="enforce" checked>');
    expect(html).toContain('name="rc.0.rule.0.scores" value="critical" checked');
    expect(html).toContain('name="rc.0.rule.2.categories" value="hosting" checked');
    expect(html).toContain('name="rc.0.paths"');
    expect(html).toContain('No saved versions yet');
  });

  it('previews a change as a diff, saves it as a version, applies it, and rolls it back', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.121');
    const { base } = await page(h, s);
    const fields = {
      base,
      mode: 'monitor',
      'rc.0.paths': '/login\n/signin\n/api/auth/*',
      'rc.0.unknown': 'allow',
      'rc.0.rule.0.present': '1',
      'rc.0.rule.0.scores': ['dangerous', 'critical'],
      'rc.0.rule.0.action': 'block',
      'rc.0.rule.1.present': '1',
      'rc.0.rule.1.categories': ['vpn', 'tor', 'proxy'],
      'rc.0.rule.1.action': 'block',
      'rc.0.rule.2.present': '1',
      'rc.0.rule.2.categories': ['hosting', 'scanner'],
      'rc.0.rule.2.action': 'challenge',
      'allow.ips': '192.0.2.200\n2001:db8:1234::/48',
      'allow.asns': 'AS64512, 64513',
      'deny.countries': 'kp',
    };
    const preview = await post(h, s, '/__ipgate/policy/preview', fields);
    // challenge needs a Turnstile site key: refused with its path, nothing saved.
    expect(preview.status).toBe(400);
    const problems = await preview.text();
    expect(problems).toContain('<code>routeClasses[0].rules[2].action</code>');

    const ok = await post(h, s, '/__ipgate/policy/preview', {
      ...fields,
      'rc.0.rule.2.action': 'block',
    });
    expect(ok.status).toBe(200);
    const diff = await ok.text();
    expect(diff).toContain('<span class="del">-   &quot;mode&quot;: &quot;enforce&quot;,</span>');
    expect(diff).toContain('<span class="add">+   &quot;mode&quot;: &quot;monitor&quot;,</span>');
    expect(diff).toContain('<span class="add">+         &quot;/api/auth/*&quot;</span>');
    expect(diff).toContain('&quot;scanner&quot;');
    expect(diff).toContain('<span class="add">+       64512,</span>');
    expect(diff).toContain('&quot;KP&quot;');
    const json = /<input type="hidden" name="json" value="([^"]*)">/.exec(diff)?.[1] ?? '';
    const text = json
      .replace(/&quot;/g, '"')
      .replace(/&#39;/g, "'")
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&amp;/g, '&');
    const doc = JSON.parse(text) as { mode: string; routeClasses: { paths: string[] }[] };
    expect(doc.mode).toBe('monitor');
    expect(doc.routeClasses[0]?.paths).toEqual(['/login', '/signin', '/api/auth/*']);
    expect(await testEnv.POLICY.get(POLICY_CURRENT_KEY)).toBeNull();

    const saved = await post(h, s, '/__ipgate/policy/save', { base, json: text });
    expect(saved.status).toBe(303);
    const location = saved.headers.get('location') ?? '';
    expect(location).toMatch(/^\/__ipgate\/policy\?saved=20261126T120000Z-[0-9a-f]{12}$/);
    expect(await testEnv.POLICY.get(POLICY_CURRENT_KEY)).toBe(text);
    const monitor = await login(h);
    await expectPassed(monitor.res, monitor.id);
    const after = await h.fetch(location, { headers: withSession(s) });
    expect(await after.text()).toContain('Saved as version 20261126T120000Z-');

    // A second change, then roll back to the first saved version from the page.
    h.clock.now += 2000;
    const second = await page(h, s);
    const enforce = await post(h, s, '/__ipgate/policy/preview', {
      base: second.base,
      mode: 'enforce',
    });
    const json2 =
      /<input type="hidden" name="json" value="([^"]*)">/.exec(await enforce.text())?.[1] ?? '';
    const text2 = json2.replace(/&quot;/g, '"').replace(/&amp;/g, '&');
    expect(
      (await post(h, s, '/__ipgate/policy/save', { base: second.base, json: text2 })).status,
    ).toBe(303);
    const enforced = await login(h);
    await expectBlocked(enforced.res, enforced.id);

    const versions = await page(h, s);
    const ids = [...versions.html.matchAll(/name="version" value="([^"]+)"/g)].map((m) => m[1]);
    expect(ids).toHaveLength(1); // the current version has no roll-back button
    const back = await post(h, s, '/__ipgate/policy/rollback', { version: ids[0] ?? '' });
    expect(back.status).toBe(303);
    expect(back.headers.get('location')).toContain(`rolledBack=${ids[0]}`);
    const rolled = await login(h);
    await expectPassed(rolled.res, rolled.id);
  });

  it('shows a rule with every box unchecked as a problem with its path', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.122');
    const { base } = await page(h, s);
    const res = await post(h, s, '/__ipgate/policy/preview', {
      base,
      'rc.0.rule.2.present': '1',
      'rc.0.rule.2.action': 'block',
    });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain(
      '<code>routeClasses[0].rules[2]</code>: a rule needs at least one of',
    );
  });

  it('says nothing changed when the whole form is posted back as rendered', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.126');
    await put(h, { ...ENFORCE, deny: { countries: ['kp'] } });
    const { html } = await page(h, s);
    const action = '/__ipgate/policy/preview';
    const start = html.indexOf(`<form method="post" action="${action}">`);
    const formHtml = html.slice(start, html.indexOf('</form>', start));
    const decode = (v: string) =>
      v
        .replace(/&lt;/g, '<')
        .replace(/&gt;/g, '>')
        .replace(/&quot;/g, '"')
        .replace(/&#39;/g, "'")
        .replace(/&amp;/g, '&');
    const fields: [string, string][] = [];
    for (const m of formHtml.matchAll(
      /<input type="(hidden|text|checkbox|radio)" name="([^"]+)" value="([^"]*)"([^>]*)>/g,
    )) {
      const [, type, name, value, rest] = m as unknown as [string, string, string, string, string];
      if ((type === 'checkbox' || type === 'radio') && !rest.includes('checked')) continue;
      fields.push([name, decode(value)]);
    }
    for (const m of formHtml.matchAll(/<select name="([^"]+)">([\s\S]*?)<\/select>/g))
      fields.push([m[1] ?? '', /<option value="([^"]+)" selected>/.exec(m[2] ?? '')?.[1] ?? '']);
    for (const m of formHtml.matchAll(/<textarea name="([^"]+)"[^>]*>([\s\S]*?)<\/textarea>/g))
      fields.push([m[1] ?? '', decode(m[2] ?? '')]);
    expect(fields.length).toBeGreaterThan(10);
    const body = new URLSearchParams(fields).toString();
    const res = await h.fetch(action, {
      method: 'POST',
      body,
      headers: withSession(s, { 'content-type': 'application/x-www-form-urlencoded' }),
    });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('No changes');
  });

  it('says when nothing changed', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.123');
    const { base } = await page(h, s);
    const res = await post(h, s, '/__ipgate/policy/preview', { base, mode: 'enforce' });
    expect(res.status).toBe(200);
    expect(await res.text()).toContain('No changes');
  });

  it('refuses a stale form after someone else saved', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.124');
    const { base } = await page(h, s);
    await put(h, MONITOR);
    const res = await post(h, s, '/__ipgate/policy/save', { base, json: JSON.stringify(ENFORCE) });
    expect(res.status).toBe(409);
    expect(await res.text()).toContain('The policy changed since this page was loaded');
    expect(JSON.parse((await testEnv.POLICY.get(POLICY_CURRENT_KEY)) ?? '{}').mode).toBe('monitor');
  });

  it('refuses to save an invalid document posted directly', async () => {
    const h = adminHarness();
    const s = await signIn(h, '198.51.100.125');
    const { base } = await page(h, s);
    const res = await post(h, s, '/__ipgate/policy/save', { base, json: '{"mode":"sometimes"}' });
    expect(res.status).toBe(400);
    expect(await res.text()).toContain('<code>mode</code>');
    expect(await testEnv.POLICY.get(POLICY_CURRENT_KEY)).toBeNull();
  });
});
