/**
 * Passing requests untouched: bodies streamed byte for byte, redirects returned, every
 * Set-Cookie kept, WebSocket upgrades, and the route mode (no ORIGIN_URL).
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { from, harness, originSaw, originUrl, useSampleTable } from '../helpers';

useSampleTable();

async function sha256(bytes: Uint8Array): Promise<string> {
  const d = await crypto.subtle.digest('SHA-256', bytes);
  return [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');
}

describe('pass-through', () => {
  it('streams a 20 MB POST body to the origin byte-identical', async () => {
    const size = 20 * 1024 * 1024;
    const body = new Uint8Array(size);
    for (let i = 0; i < size; i += 65536)
      crypto.getRandomValues(body.subarray(i, Math.min(size, i + 65536)));
    const h = harness();
    const { id, headers } = from('203.0.113.10', { 'content-type': 'application/octet-stream' });
    const res = await h.fetch('/login', { method: 'POST', headers, body });
    expect(res.status).toBe(200);
    const [seen] = await originSaw(id);
    expect(seen?.bodyLength).toBe(size);
    expect(seen?.bodySha256).toBe(await sha256(body));
  });

  it('returns redirects instead of following them', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.10');
    const res = await h.fetch('/redirect', { headers });
    expect(res.status).toBe(302);
    expect(res.headers.get('location')).toBe('/elsewhere');
    expect(await originSaw(id)).toHaveLength(1);
  });

  it('keeps every Set-Cookie header', async () => {
    const h = harness();
    const res = await h.fetch('/cookies', { headers: from('203.0.113.10').headers });
    expect(res.headers.getAll('set-cookie')).toEqual([
      'a=1; Path=/; HttpOnly',
      'b=2; Path=/; Secure',
    ]);
  });

  it('passes request headers through intact', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.10', { 'x-custom': 'kept', cookie: 'session=abc' });
    await h.fetch('/anything', { headers });
    const [seen] = await originSaw(id);
    expect(seen?.headers['x-custom']).toBe('kept');
    expect(seen?.headers.cookie).toBe('session=abc');
  });

  it('passes WebSocket upgrades', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.10', { Upgrade: 'websocket' });
    const res = await h.fetch('/ws', { headers });
    expect(res.status).toBe(101);
    const ws = res.webSocket;
    if (!ws) throw new Error('no webSocket on the response');
    ws.accept();
    const reply = new Promise<string>((resolve) =>
      ws.addEventListener('message', (e) => resolve(String(e.data))),
    );
    ws.send('hello');
    expect(await reply).toBe('echo:hello');
    ws.close();
    expect(await originSaw(id)).toHaveLength(1);
  });

  it('forwards to the request’s own URL on a zone route (no ORIGIN_URL)', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.10');
    const res = await h.fetch(`${originUrl()}/routed?q=1`, { headers }, { ORIGIN_URL: undefined });
    expect(res.status).toBe(200);
    expect((await originSaw(id)).map((s) => s.url)).toEqual(['/routed?q=1']);
  });

  it('answers 502 without a stack trace when ORIGIN_URL is invalid', async () => {
    const h = harness();
    const res = await h.fetch(
      '/',
      { headers: from('203.0.113.10').headers },
      { ORIGIN_URL: 'ftp://nope' },
    );
    expect(res.status).toBe(502);
    const text = await res.text();
    expect(text).toMatch(/misconfigured/);
    expect(text).not.toMatch(/at |Error/);
  });
});

describe('the deployed Worker (SELF, configured by wrangler.toml)', () => {
  it('blocks and passes as the table says', async () => {
    const bad = from('203.0.113.7');
    const blocked = await SELF.fetch('http://example.com/login', { headers: bad.headers });
    expect(blocked.status).toBe(403);
    expect(await originSaw(bad.id)).toHaveLength(0);
    const good = from('203.0.113.9');
    const passed = await SELF.fetch('http://example.com/login', { headers: good.headers });
    expect(passed.status).toBe(200);
    expect(await originSaw(good.id)).toHaveLength(1);
  });
});
