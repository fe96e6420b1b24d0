/** The block page: 403, HTML or JSON by Accept, the reference id, nothing reflected. */
import { describe, expect, it } from 'vitest';
import { REFERENCE_HEADER } from '../../../src/constants';
import { blockResponse, wantsJson } from '../../../src/proxy/block';
import { clearPolicy, from, harness, originSaw, putPolicy, useSampleTable } from '../helpers';

useSampleTable();

describe('block response', () => {
  it('is an HTML page with the reference id recorded in the event', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.7', { Accept: 'text/html,application/xhtml+xml' });
    const res = await h.fetch('/login', { headers });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const ref = res.headers.get(REFERENCE_HEADER);
    expect(ref).toMatch(/^[0-9a-f]{16}$/);
    expect(await res.text()).toContain(`<code>${ref}</code>`);
    expect(h.events[0]?.ref).toBe(ref);
    expect(await originSaw(id)).toHaveLength(0);
  });

  it('is JSON for clients that ask for JSON', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.7', { Accept: 'application/json' });
    const res = await h.fetch('/login', { headers });
    expect(res.status).toBe(403);
    const body = (await res.json()) as Record<string, string>;
    expect(body).toMatchObject({ error: 'blocked', reference: res.headers.get(REFERENCE_HEADER) });
    expect(JSON.stringify(body)).not.toMatch(/dirty|critical|reputation/);
    expect(await originSaw(id)).toHaveLength(0);
  });

  it('reflects nothing from the request and escapes the operator’s text', async () => {
    await putPolicy({
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login/*'],
          rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
        },
      ],
      blockResponse: { title: 'Denied <b>', message: '<script>alert(1)</script> & "more"' },
    });
    const h = harness();
    const { id, headers } = from('203.0.113.7', { 'User-Agent': '<script>ua</script>' });
    const res = await h.fetch('/login/%3Cscript%3Epath%3C%2Fscript%3E?q=<img src=x>', { headers });
    expect(res.status).toBe(403);
    const html = await res.text();
    expect(html).not.toMatch(/<script|<img|<b>/i);
    expect(html).toContain('&lt;script&gt;alert(1)&lt;/script&gt; &amp; &quot;more&quot;');
    expect(html).toContain('Denied &lt;b&gt;');
    expect(await originSaw(id)).toHaveLength(0);
    await clearPolicy();
  });

  it('picks JSON only when the client prefers it', () => {
    expect(wantsJson('application/json')).toBe(true);
    expect(wantsJson('application/json, text/html')).toBe(true);
    expect(wantsJson('text/html, application/json')).toBe(false);
    expect(wantsJson('*/*')).toBe(false);
    expect(wantsJson(null)).toBe(false);
    const res = blockResponse({ title: 't', message: 'm' }, 'abc', 'application/problem+json');
    expect(res.headers.get('content-type')).toMatch(/json/);
  });
});
