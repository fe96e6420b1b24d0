/**
 * Passing requests untouched: bodies streamed byte for byte, redirects returned, every
 * Set-Cookie kept, WebSocket upgrades, and the route mode (no ORIGIN_URL).
 *
 * Nothing lost: 100 MB request bodies, with and without Content-Length, reach the origin with
 * the SHA-256 the sender computed, and the sender never runs more than STREAM_WINDOW bytes
 * ahead of what the origin has read, so the Worker cannot be holding the body; a 100 MB answer
 * comes back intact; an answer the origin writes in two parts reaches the client part by part.
 */
import { SELF } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import {
  dripState,
  from,
  harness,
  originProgress,
  originSaw,
  originUrl,
  releaseDrip,
  useSampleTable,
} from '../helpers';

useSampleTable();

const hex = (d: ArrayBuffer) =>
  [...new Uint8Array(d)].map((b) => b.toString(16).padStart(2, '0')).join('');

async function sha256(bytes: Uint8Array): Promise<string> {
  return hex(await crypto.subtle.digest('SHA-256', bytes));
}

const MiB = 1024 * 1024;
/** Size of each piece of a generated body. */
const PIECE = 64 * 1024;
/**
 * Most bytes the sender may be ahead of what the origin has read. Loopback socket buffers and
 * the runtime's pipes hold a few MiB; a Worker that read the body before forwarding it would
 * hold all of it, and the sender would wait here in vain.
 */
const STREAM_WINDOW = 16 * MiB;
/** How long the sender waits for the origin to catch up before calling the body buffered. */
const CATCH_UP_MS = 15_000;

async function untilOriginHas(id: string, bytes: number): Promise<void> {
  const deadline = Date.now() + CATCH_UP_MS;
  for (;;) {
    const { received } = await originProgress(id);
    if (received >= bytes) return;
    if (Date.now() > deadline)
      throw new Error(
        `the origin has ${received} bytes while the sender is ${bytes + STREAM_WINDOW} bytes in: the body is held back`,
      );
    await new Promise((r) => setTimeout(r, 5));
  }
}

/**
 * A body of `size` pseudo-random bytes (xorshift32), made piece by piece as it is read, with the
 * SHA-256 of what was sent. Every STREAM_WINDOW bytes it waits until the origin has read all but
 * STREAM_WINDOW of what was sent so far.
 */
function generatedBody(size: number, id: string) {
  const digest = new crypto.DigestStream('SHA-256');
  const hasher = digest.getWriter();
  let sent = 0;
  let nextCheck = STREAM_WINDOW;
  let x = (0x9e3779b9 ^ size) >>> 0 || 1;
  const body = new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        if (sent >= size) {
          await hasher.close();
          controller.close();
          return;
        }
        if (sent >= nextCheck) {
          await untilOriginHas(id, sent - STREAM_WINDOW);
          nextCheck += STREAM_WINDOW;
        }
        const n = Math.min(PIECE, size - sent);
        const piece = new Uint8Array(n);
        const view = new DataView(piece.buffer);
        for (let i = 0; i + 4 <= n; i += 4) {
          x ^= x << 13;
          x ^= x >>> 17;
          x ^= x << 5;
          view.setUint32(i, x >>> 0);
        }
        for (let i = n & ~3; i < n; i++) piece[i] = i & 0xff;
        await hasher.write(piece.slice());
        sent += n;
        controller.enqueue(piece);
      },
    },
    { highWaterMark: 0 },
  );
  return { body, sha256: digest.digest.then(hex), sent: () => sent };
}

/** The same body with its length known up front: the request carries Content-Length. */
function fixedLengthBody(size: number, id: string) {
  const generated = generatedBody(size, id);
  const fixed = new FixedLengthStream(size);
  void generated.body.pipeTo(fixed.writable).catch(() => {});
  return { ...generated, body: fixed.readable };
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

  it.each([
    ['chunked (no Content-Length)', generatedBody],
    ['fixed-length', fixedLengthBody],
  ])('streams a 100 MB %s POST body to the origin byte-identical', async (kind, make) => {
    const size = 100 * MiB;
    const h = harness();
    const { id, headers } = from('203.0.113.10', { 'content-type': 'application/octet-stream' });
    const sent = make(size, id);
    const res = await h.fetch('/login', { method: 'POST', headers, body: sent.body });
    expect(res.status).toBe(200);
    expect(sent.sent()).toBe(size);
    const [seen] = await originSaw(id);
    expect(seen?.bodyLength).toBe(size);
    expect(seen?.bodySha256).toBe(await sent.sha256);
    if (kind === 'fixed-length') {
      expect(seen?.headers['content-length']).toBe(String(size));
      expect(seen?.headers['transfer-encoding']).toBeUndefined();
    } else {
      expect(seen?.headers['transfer-encoding']).toBe('chunked');
      expect(seen?.headers['content-length']).toBeUndefined();
    }
    expect(h.events).toMatchObject([{ action: 'allow', reason: 'clean', path: '/login' }]);
  });

  it('returns a 100 MB answer intact', async () => {
    const size = 100 * MiB;
    const h = harness();
    const { id, headers } = from('203.0.113.10');
    const res = await h.fetch(`/bytes?n=${size}`, { headers });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-length')).toBe(String(size));
    const digest = new crypto.DigestStream('SHA-256');
    await res.body?.pipeTo(digest);
    expect(Number(digest.bytesWritten)).toBe(size);
    expect(hex(await digest.digest)).toBe(res.headers.get('x-body-sha256'));
    expect(await originSaw(id)).toHaveLength(1);
  });

  it('streams the answer: the first part reaches the client before the origin finishes', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.10');
    const res = await h.fetch('/drip', { headers });
    expect(res.status).toBe(200);
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    const first = await reader.read();
    // The origin holds the rest back until released (10 s at most): had the gate waited for the
    // whole answer, the origin would be finished by now.
    expect(await dripState(id)).toEqual({ firstSent: true, released: false, finished: false });
    expect(first.value?.byteLength).toBe(Number(res.headers.get('x-first-bytes')));
    await releaseDrip(id);
    const parts: Uint8Array[] = [first.value ?? new Uint8Array()];
    for (let r = await reader.read(); !r.done; r = await reader.read()) parts.push(r.value);
    const whole = new Uint8Array(parts.reduce((n, p) => n + p.byteLength, 0));
    let at = 0;
    for (const p of parts) {
      whole.set(p, at);
      at += p.byteLength;
    }
    expect(await sha256(whole)).toBe(res.headers.get('x-body-sha256'));
    expect(await dripState(id)).toMatchObject({ released: true, finished: true });
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

  it('streams a 100 MB chunked POST body through the Worker entry byte-identical', async () => {
    const size = 100 * MiB;
    const { id, headers } = from('203.0.113.10', { 'content-type': 'application/octet-stream' });
    const sent = generatedBody(size, id);
    const res = await SELF.fetch('http://example.com/login', {
      method: 'POST',
      headers,
      body: sent.body,
    });
    expect(res.status).toBe(200);
    await res.arrayBuffer();
    const [seen] = await originSaw(id);
    expect(seen?.bodyLength).toBe(size);
    expect(seen?.bodySha256).toBe(await sent.sha256);
  });

  it('streams the answer part by part through the Worker entry', async () => {
    const { id, headers } = from('203.0.113.10');
    const res = await SELF.fetch('http://example.com/drip', { headers });
    const reader = res.body?.getReader();
    if (!reader) throw new Error('no body');
    const first = await reader.read();
    expect(first.value?.byteLength).toBe(Number(res.headers.get('x-first-bytes')));
    expect(await dripState(id)).toMatchObject({ released: false, finished: false });
    await releaseDrip(id);
    while (!(await reader.read()).done);
    expect(await dripState(id)).toMatchObject({ finished: true });
  });
});
