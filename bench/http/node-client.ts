/**
 * The fallback load generator when `wrk` is not installed: `connections` keep-alive loops over
 * one agent, each sending its next request when the last answer's body has been read, for
 * `durationS` seconds. Runs as a child process of bench/http.ts (argv[2] is the LoadSpec as
 * JSON) and prints one `LOADJSON {…}` line in LoadResult's shape. `threads` only splits the
 * distinct-address blocks, as wrk's threads do. Slower than wrk per request; fine for smoke
 * runs and for comparing scenarios within one run.
 */
import { Agent, request } from 'node:http';
import { distinctIp, type LoadResult, type LoadSpec } from './spec';

const spec = JSON.parse(process.argv[2] ?? '{}') as LoadSpec;
const url = new URL(spec.url);
const agent = new Agent({ keepAlive: true, maxSockets: spec.connections });
const latencies: number[] = [];
let statusErrors = 0;
let bytesRead = 0;
const errors = { connect: 0, read: 0, write: 0, timeout: 0 };
const started = performance.now();
const endAt = started + spec.durationS * 1000;
const counters = new Array<number>(Math.max(1, spec.threads)).fill(0);

function once(loop: number): Promise<void> {
  const headers: Record<string, string> = {};
  if (spec.distinctFrom !== undefined) {
    const t = loop % counters.length;
    const n = counters[t] ?? 0;
    counters[t] = n + 1;
    headers['CF-Connecting-IP'] = distinctIp(spec.distinctFrom, t, n);
  } else if (spec.ip) headers['CF-Connecting-IP'] = spec.ip;
  const t0 = performance.now();
  return new Promise((resolve) => {
    const req = request(
      { host: url.hostname, port: url.port, path: url.pathname + url.search, agent, headers },
      (res) => {
        res.on('data', (d: Buffer) => {
          bytesRead += d.length;
        });
        res.on('end', () => {
          if ((res.statusCode ?? 0) >= 400) statusErrors += 1;
          latencies.push(performance.now() - t0);
          resolve();
        });
        res.on('error', () => {
          errors.read += 1;
          resolve();
        });
      },
    );
    req.setTimeout((spec.timeoutS ?? 10) * 1000, () => {
      errors.timeout += 1;
      req.destroy();
    });
    req.on('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'ECONNREFUSED') errors.connect += 1;
      else if (!req.destroyed || e.code !== 'ECONNRESET') errors.read += 1;
      resolve();
    });
    req.end();
  });
}

async function loop(n: number): Promise<void> {
  while (performance.now() < endAt) await once(n);
}

await Promise.all(Array.from({ length: spec.connections }, (_, i) => loop(i)));
const durationS = (performance.now() - started) / 1000;
agent.destroy();
latencies.sort((a, b) => a - b);
const pct = (p: number) =>
  latencies.length === 0
    ? 0
    : (latencies[Math.min(latencies.length - 1, Math.ceil((p / 100) * latencies.length) - 1)] ?? 0);
const round = (x: number) => Math.round(x * 1000) / 1000;
const result: LoadResult = {
  requests: latencies.length,
  durationS,
  rps: latencies.length / durationS,
  bytesRead,
  statusErrors,
  errors,
  latencyMs: {
    p50: round(pct(50)),
    p90: round(pct(90)),
    p99: round(pct(99)),
    p999: round(pct(99.9)),
    max: round(latencies.at(-1) ?? 0),
    mean: round(latencies.reduce((a, b) => a + b, 0) / Math.max(1, latencies.length)),
  },
};
process.stdout.write(`LOADJSON ${JSON.stringify(result)}\n`);
