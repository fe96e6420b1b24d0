/**
 * A local fake of Turnstile's siteverify endpoint, answering in the documented shape
 * `{ success, 'error-codes', challenge_ts, hostname, action, cdata }`. It accepts a form or a
 * JSON body with `secret`, `response` and `remoteip`, like the real one. The token picks the
 * answer (see `FakeTokenKind` in fake-turnstile-protocol.ts); any secret but
 * FAKE_TURNSTILE_SECRET gets `invalid-input-secret`, no token `missing-input-response`.
 * `GET /__turnstile/log?token=T` returns what was received with token T.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  FAKE_TURNSTILE_ACTION,
  FAKE_TURNSTILE_HOSTNAME,
  FAKE_TURNSTILE_SECRET,
  FAKE_TURNSTILE_SLOW_MS,
  type FakeTokenKind,
  type SiteverifySeen,
} from './fake-turnstile-protocol';

export interface FakeTurnstile {
  url: string;
  close(): Promise<void>;
}

export async function startFakeTurnstile(): Promise<FakeTurnstile> {
  const seen = new Map<string, SiteverifySeen[]>();
  const server: Server = createServer(async (req, res) => {
    const url = new URL(req.url ?? '/', 'http://x');
    if (req.method === 'GET' && url.pathname === '/__turnstile/log') {
      const token = url.searchParams.get('token') ?? '';
      return send(res, 200, seen.get(token) ?? []);
    }
    if (req.method !== 'POST')
      return send(res, 405, { success: false, 'error-codes': ['bad-request'] });

    const contentType = String(req.headers['content-type'] ?? '');
    const fields = parseBody(contentType, await readBody(req));
    if (fields === null) return send(res, 400, { success: false, 'error-codes': ['bad-request'] });
    const secret = fields.get('secret');
    const token = fields.get('response');
    const record: SiteverifySeen = {
      contentType,
      secretOk: secret === FAKE_TURNSTILE_SECRET,
      response: token ?? null,
      remoteip: fields.get('remoteip') ?? null,
    };
    if (token) seen.set(token, [...(seen.get(token) ?? []), record]);

    if (!secret) return send(res, 200, failure('missing-input-secret'));
    if (!record.secretOk) return send(res, 200, failure('invalid-input-secret'));
    if (!token) return send(res, 200, failure('missing-input-response'));

    switch (token.split('.')[0] as FakeTokenKind) {
      case 'pass':
        return send(res, 200, success(FAKE_TURNSTILE_HOSTNAME, FAKE_TURNSTILE_ACTION));
      case 'other-host':
        return send(res, 200, success('evil.test', FAKE_TURNSTILE_ACTION));
      case 'other-action':
        return send(res, 200, success(FAKE_TURNSTILE_HOSTNAME, 'login'));
      case 'fail':
        return send(res, 200, failure('invalid-input-response'));
      case 'dup':
        return send(res, 200, failure('timeout-or-duplicate'));
      case 'internal':
        return send(res, 200, failure('internal-error'));
      case 'leak':
        return send(res, 200, failure(secret, `bad secret ${secret}`, 'invalid-input-response'));
      case 'slow':
        await new Promise((r) => setTimeout(r, FAKE_TURNSTILE_SLOW_MS));
        if (!res.destroyed) send(res, 200, success(FAKE_TURNSTILE_HOSTNAME, FAKE_TURNSTILE_ACTION));
        return;
      case 'error500':
        res.writeHead(500, { 'content-type': 'text/html' });
        res.end('<html><body>Internal Server Error</body></html>');
        return;
      case 'html':
        res.writeHead(200, { 'content-type': 'text/html' });
        res.end('<html><body>Please wait…</body></html>');
        return;
      default:
        return send(res, 200, failure('invalid-input-response'));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function success(hostname: string, action: string) {
  return {
    success: true,
    'error-codes': [],
    challenge_ts: new Date().toISOString(),
    hostname,
    action,
    cdata: '',
  };
}

function failure(...codes: string[]) {
  return { success: false, 'error-codes': codes };
}

function send(res: ServerResponse, status: number, body: unknown): void {
  res.writeHead(status, { 'content-type': 'application/json' });
  res.end(JSON.stringify(body));
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseBody(contentType: string, body: string): Map<string, string> | null {
  if (contentType.startsWith('application/x-www-form-urlencoded'))
    return new Map(new URLSearchParams(body));
  if (contentType.startsWith('application/json')) {
    try {
      const value: unknown = JSON.parse(body);
      if (typeof value !== 'object' || value === null) return null;
      const out = new Map<string, string>();
      for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out.set(k, v);
      return out;
    } catch {
      return null;
    }
  }
  return null;
}
