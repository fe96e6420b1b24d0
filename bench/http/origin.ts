/**
 * The origin behind both Workers: a tiny Node server that answers every request 200 with a
 * short body at once, and counts what it received, so a scenario can show how many requests
 * were really forwarded (all of them when passing, none when blocking). `onRequest`, when
 * given, is told each request's method and URL as it arrives (the load test checks which
 * requests reached the origin).
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface BenchOrigin {
  url: string;
  /** Requests received so far. */
  count(): number;
  close(): Promise<void>;
}

const BODY = 'origin ok\n';

export async function startOrigin(
  onRequest?: (method: string, url: string) => void,
): Promise<BenchOrigin> {
  let received = 0;
  const server = createServer((req, res) => {
    received += 1;
    onRequest?.(req.method ?? '', req.url ?? '');
    req.resume();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': BODY.length });
    res.end(BODY);
  });
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    count: () => received,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
