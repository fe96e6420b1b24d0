/**
 * A local origin for tests: records every request it receives (keyed by the `x-test-id`
 * header) so a test can prove what reached the origin, byte for byte, and what did not.
 *
 *   GET /__origin/log?id=X   the requests seen with `x-test-id: X`, as JSON
 *   /redirect…               302 to /elsewhere (the gate must return it, not follow it)
 *   /cookies                 two Set-Cookie headers
 *   Upgrade: websocket       echo server
 *   anything else            200 JSON describing the request
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';

export interface SeenRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  bodyLength: number;
  bodySha256: string;
}

export interface OriginServer {
  url: string;
  close(): Promise<void>;
}

export async function startOriginServer(port = 0): Promise<OriginServer> {
  const seen = new Map<string, SeenRequest[]>();
  const wss = new WebSocketServer({ noServer: true });
  wss.on('connection', (ws) => ws.on('message', (data) => ws.send(`echo:${String(data)}`)));

  const server: Server = createServer(async (req, res) => {
    const url = req.url ?? '/';
    if (url.startsWith('/__origin/log')) {
      const id = new URL(url, 'http://x').searchParams.get('id') ?? '';
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(seen.get(id) ?? []));
      return;
    }
    const record = await readRequest(req);
    const id = header(req, 'x-test-id');
    if (id) seen.set(id, [...(seen.get(id) ?? []), record]);
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

async function readRequest(req: IncomingMessage): Promise<SeenRequest> {
  const hash = createHash('sha256');
  let length = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    hash.update(buf);
    length += buf.length;
  }
  return {
    method: req.method ?? '',
    url: req.url ?? '',
    headers: req.headers,
    bodyLength: length,
    bodySha256: hash.digest('hex'),
  };
}
