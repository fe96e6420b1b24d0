/**
 * A local origin for tests: records every request it receives (keyed by the `x-test-id`
 * header) so a test can prove what reached the origin, byte for byte, and what did not.
 *
 *   GET /__origin/log?id=X       the requests seen with `x-test-id: X`, as JSON
 *   GET /__origin/progress?id=X  body bytes received so far from the request with that id
 *                                (OriginProgress), while it is still arriving
 *   GET /__origin/drip?id=X      how far the /drip answer for that id has got (DripState)
 *   POST /__origin/release?id=X  lets the /drip answer for that id send the rest of its body
 *   GET /__origin/closed-port    a local port that was just bound and closed: nothing listens
 *   /redirect…                   302 to /elsewhere (the gate must return it, not follow it)
 *   /cookies                     two Set-Cookie headers
 *   /drip                        200 streamed: a first part at once, then, once released (or
 *                                after `?holdMs=`, default 10 s), the rest; `x-first-bytes`
 *                                gives the first part's length, `x-body-sha256` the whole body's
 *   /bytes?n=N&delayMs=D         after D ms, N pseudo-random bytes (as application/octet-stream)
 *                                with their SHA-256 in `x-body-sha256`
 *   /drop                        the connection is closed without an answer
 *   /status?code=N               answers N (200–599) with a short text body
 *   Upgrade: websocket           echo server
 *   anything else                200 JSON describing the request
 *
 * Every request is recorded once its body has been read in full (bodyLength, bodySha256), so
 * a sender can compare what it sent with what arrived.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyLength: number;
  bodySha256: string;
}

/** Answer of `GET /__origin/progress?id=X`. */
export interface OriginProgress {
  /** Body bytes of the request with that id read so far (0 when none has arrived). */
  received: number;
  /** True once its body has been read to the end. */
  done: boolean;
}

/** Answer of `GET /__origin/drip?id=X`. */
export interface DripState {
  /** The first part has been written. */
  firstSent: boolean;
  /** POST /__origin/release arrived for the id. */
  released: boolean;
  /** The whole answer has been written. */
  finished: boolean;
}

/** The first part of a /drip answer, written at once. */
const DRIP_FIRST = 'first part of the answer\n';
/** The rest of a /drip answer, written once released. */
const DRIP_REST = `${'rest of the answer, '.repeat(50)}end\n`;
/** How long /drip holds its rest back when no release comes. */
const DRIP_HOLD_MS = 10_000;
/** Largest answer /bytes makes. */
const BYTES_MAX = 256 * 1024 * 1024;

export interface OriginServer {
  url: string;
  close(): Promise<void>;
}

export async function startOriginServer(port = 0): Promise<OriginServer> {
  const seen = new Map<string, SeenRequest[]>();
  const progress = new Map<string, OriginProgress>();
  const drips = new Map<string, { state: DripState; release: () => void }>();
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${String(data)}`)));

  const server: Server = createServer(async (req, res) => {
    const url = req.url ?? '/';
    // Concatenated, not resolved: a target such as `//%6Cogin` is a path here, not a host.
    const parsed = new URL(`http://x${url.startsWith('/') ? url : `/${url}`}`);
    if (url.startsWith('/__origin/log')) {
      const id = parsed.searchParams.get('id') ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(seen.get(id) ?? []));
      return;
    }
    if (parsed.pathname.startsWith('/__origin/')) {
      await control(parsed, res);
      return;
    }
    const id = header(req, 'x-test-id');
    const record = await readRequest(req, (received) => {
      if (id) progress.set(id, { received, done: false });
    });
    if (id) {
      seen.set(id, [...(seen.get(id) ?? []), record]);
      progress.set(id, { received: record.bodyLength, done: true });
    }
    if (parsed.pathname === '/drip') {
      drip(id ?? '', Number(parsed.searchParams.get('holdMs') ?? DRIP_HOLD_MS), res);
      return;
    }
    if (parsed.pathname === '/bytes') {
      const n = Math.min(BYTES_MAX, Math.max(0, Number(parsed.searchParams.get('n')) || 0));
      const delayMs = Math.max(0, Number(parsed.searchParams.get('delayMs')) || 0);
      const body = randomBytes(n);
      const sha = createHash('sha256').update(body).digest('hex');
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(200, {
          'content-type': 'application/octet-stream',
          'content-length': String(n),
          'x-body-sha256': sha,
        });
        res.end(body);
      }, delayMs);
      return;
    }
    if (parsed.pathname === '/drop') {
      req.socket.destroy();
      return;
    }
    if (parsed.pathname === '/status') {
      const code = Number(parsed.searchParams.get('code'));
      const status = Number.isInteger(code) && code >= 200 && code <= 599 ? code : 400;
      res.writeHead(status, { 'content-type': 'text/plain', 'x-origin': 'test' });
      res.end(`origin status ${status}\n`);
      return;
    }
    if (url.startsWith('/redirect')) {
      res.writeHead(302, { location: '/elsewhere' });
      res.end();
      return;
    }
    if (url.startsWith('/cookies')) {
      res.setHeader('set-cookie', ['a=1; Path=/; HttpOnly', 'b=2; Path=/; Secure']);
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end('cookies');
      return;
    }
    res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'test' });
    res.end(
      JSON.stringify({
        method: record.method,
        url,
        bodyLength: record.bodyLength,
        bodySha256: record.bodySha256,
      }),
    );
  });
  /** The /__origin/ control requests other than the log. */
  async function control(parsed: URL, res: ServerResponse): Promise<void> {
    const id = parsed.searchParams.get('id') ?? '';
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    switch (parsed.pathname) {
      case '/__origin/progress':
        return send(200, progress.get(id) ?? { received: 0, done: false });
      case '/__origin/drip':
        return send(
          200,
          drips.get(id)?.state ?? { firstSent: false, released: false, finished: false },
        );
      case '/__origin/release': {
        const d = drips.get(id);
        if (!d) return send(404, { error: `no /drip answer for ${id}` });
        d.release();
        return send(200, d.state);
      }
      case '/__origin/closed-port':
        return send(200, { port: await closedPort() });
      default:
        return send(404, { error: `no control route ${parsed.pathname}` });
    }
  }

  /** Writes DRIP_FIRST, then DRIP_REST once released or after `holdMs`. */
  function drip(id: string, holdMs: number, res: ServerResponse): void {
    const state: DripState = { firstSent: false, released: false, finished: false };
    let timer: ReturnType<typeof setTimeout> | undefined;
    const finish = () => {
      if (state.finished) return;
      clearTimeout(timer);
      state.finished = true;
      if (!res.destroyed) res.end(DRIP_REST);
    };
    drips.set(id, {
      state,
      release: () => {
        state.released = true;
        finish();
      },
    });
    res.writeHead(200, {
      'content-type': 'text/plain; charset=utf-8',
      'x-first-bytes': String(Buffer.byteLength(DRIP_FIRST)),
      'x-body-sha256': createHash('sha256').update(DRIP_FIRST).update(DRIP_REST).digest('hex'),
    });
    res.write(DRIP_FIRST);
    state.firstSent = true;
    timer = setTimeout(finish, Number.isFinite(holdMs) ? holdMs : DRIP_HOLD_MS);
    res.on('close', () => clearTimeout(timer));
  }

  server.on('upgrade', (req, socket, head) => {
    const id = header(req, 'x-test-id');
    if (id)
      seen.set(id, [
        ...(seen.get(id) ?? []),
        {
          method: req.method ?? '',
          url: req.url ?? '',
          headers: req.headers,
          bodyLength: 0,
          bodySha256: '',
        },
      ]);
    wss.handleUpgrade(req, socket, head, (ws) => wss.emit('connection', ws, req));
  });
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const { port: bound } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        wss.close();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A port on 127.0.0.1 that was free a moment ago and has nothing listening now. */
async function closedPort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address() as AddressInfo;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

async function readRequest(
  req: IncomingMessage,
  onProgress: (received: number) => void = () => {},
): Promise<SeenRequest> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    hash.update(buf);
    length += buf.length;
    onProgress(length);
  }
  return {
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    bodyLength: length,
    bodySha256: hash.digest('hex'),
  };
}
