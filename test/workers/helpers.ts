/**
 * Shared test helpers for workerd tests: seed the real local KV with a table or a policy,
 * run requests through a fresh app (its own isolate-level caches) with a recording sink, and
 * ask the local origin what it received.
 */
import { createExecutionContext, env, waitOnExecutionContext } from 'cloudflare:test';
import { beforeAll, expect, inject } from 'vitest';
import { parseIpgateCsv } from '../../cli/feeds/ipgate-csv';
import { generationPairs } from '../../cli/table-writer';
import { createApp } from '../../src/app';
import { POLICY_CURRENT_KEY, TABLE_MANIFEST_KEY } from '../../src/constants';
import type { Env } from '../../src/env';
import type { GateOptions } from '../../src/gate/gate';
import type { DecisionEvent } from '../../src/sink/event';
import type { DripState, OriginProgress, SeenRequest } from '../support/origin-server';

export const testEnv = env as unknown as Env;

/** Writes a generation built from ipgate CSV rows into `kv`: chunks first, manifest last. */
export async function seedTable(
  csv: string,
  options: { kv?: KVNamespace; generation?: string; source?: string; maxIntervals?: number } = {},
): Promise<string> {
  const kv = options.kv ?? testEnv.REPUTATION;
  const feed = parseIpgateCsv(csv, options.source ?? 'test');
  if (feed.problems.length) throw new Error(JSON.stringify(feed.problems));
  const gen = await generationPairs(feed.entries, {
    generation: options.generation,
    maxIntervals: options.maxIntervals,
  });
  for (const c of gen.chunks) await kv.put(c.key, c.value);
  await kv.put(gen.manifestPair.key, gen.manifestPair.value);
  return gen.manifest.generation;
}

export async function clearTable(kv: KVNamespace = testEnv.REPUTATION): Promise<void> {
  await kv.delete(TABLE_MANIFEST_KEY);
}

export async function putPolicy(doc: unknown, kv: KVNamespace = testEnv.POLICY): Promise<void> {
  await kv.put(POLICY_CURRENT_KEY, typeof doc === 'string' ? doc : JSON.stringify(doc));
}

export async function clearPolicy(kv: KVNamespace = testEnv.POLICY): Promise<void> {
  await kv.delete(POLICY_CURRENT_KEY);
}

export interface Harness {
  events: DecisionEvent[];
  /** Sends one request through the app and waits for its background work. */
  fetch(input: string | Request, init?: RequestInit, envOverride?: Partial<Env>): Promise<Response>;
  /** Like fetch, but hands back the background work instead of waiting for it. */
  start(
    input: string | Request,
    init?: RequestInit,
    envOverride?: Partial<Env>,
  ): { response: Promise<Response>; background: () => Promise<void> };
  app: ReturnType<typeof createApp>;
}

export function harness(options: GateOptions = {}): Harness {
  const events: DecisionEvent[] = [];
  const app = createApp({
    sink: () => ({ name: 'test', write: (e) => void events.push(e) }),
    ...options,
  });
  return {
    events,
    app,
    async fetch(input, init, envOverride) {
      const { response, background } = this.start(input, init, envOverride);
      const res = await response;
      await background();
      return res;
    },
    start(input, init, envOverride) {
      // Paths are appended as text: `new URL('//login', base)` would read a host from it.
      const url =
        typeof input === 'string' && input.startsWith('/') ? `http://gate.test${input}` : input;
      const request = typeof url === 'string' ? new Request(url, init) : url;
      const ctx = createExecutionContext();
      const response = Promise.resolve(app.app.fetch(request, { ...testEnv, ...envOverride }, ctx));
      return { response, background: () => waitOnExecutionContext(ctx) };
    },
  };
}

let counter = 0;
/** A unique id for `x-test-id`, so the origin's log can be asked about this request alone. */
export function testId(label = 't'): string {
  counter += 1;
  return `${label}-${Date.now()}-${counter}-${Math.random().toString(36).slice(2, 8)}`;
}

export const originUrl = (): string => inject('originUrl');

/** What the origin received with `x-test-id: id`. */
export async function originSaw(id: string): Promise<SeenRequest[]> {
  const r = await fetch(`${originUrl()}/__origin/log?id=${encodeURIComponent(id)}`);
  return (await r.json()) as SeenRequest[];
}

async function originControl<T>(path: string, init?: RequestInit): Promise<T> {
  const r = await fetch(`${originUrl()}${path}`, init);
  if (!r.ok) throw new Error(`origin ${path}: HTTP ${r.status} ${await r.text()}`);
  return (await r.json()) as T;
}

/** How much of the body of the request with `x-test-id: id` the origin has read so far. */
export function originProgress(id: string): Promise<OriginProgress> {
  return originControl(`/__origin/progress?id=${encodeURIComponent(id)}`);
}

/** How far the origin's `/drip` answer for `id` has got. */
export function dripState(id: string): Promise<DripState> {
  return originControl(`/__origin/drip?id=${encodeURIComponent(id)}`);
}

/** Lets the origin's `/drip` answer for `id` send the rest of its body. */
export function releaseDrip(id: string): Promise<DripState> {
  return originControl(`/__origin/release?id=${encodeURIComponent(id)}`, { method: 'POST' });
}

/** A URL on a local port where nothing listens: every connection to it is refused. */
export async function closedPortUrl(): Promise<string> {
  const { port } = await originControl<{ port: number }>('/__origin/closed-port');
  return `http://127.0.0.1:${port}`;
}

/** Headers for a request from `ip` tagged with a fresh test id. */
export function from(
  ip: string | null,
  extra: Record<string, string> = {},
): { id: string; headers: Record<string, string> } {
  const id = testId();
  const headers: Record<string, string> = { 'x-test-id': id, ...extra };
  if (ip !== null) headers['CF-Connecting-IP'] = ip;
  return { id, headers };
}

export const SAMPLE_CSV = `network,score,categories,country,asn,org
203.0.113.7,critical,scanner|remote,NL,64496,Example Bulletproof Hosting
203.0.113.8,dangerous,,RU,64497,Example Telecom
203.0.113.9,moderate,,US,64498,Example Broadband
203.0.113.10,safe,,US,64498,Example Broadband
203.0.113.11,low,,US,64498,Example Broadband
198.51.100.0/24,low,hosting,US,64500,"Example Cloud, Inc."
192.0.2.0/25,,vpn,SE,64501,Example VPN
192.0.2.128/25,,tor,DE,64502,Example Tor Exit Relays
2001:db8:bad::/48,,proxy,FR,64503,Example Proxy Service
2001:db8:1::/48,critical,,FR,64503,Example Proxy Service
`;

/** Seeds the sample table and removes any policy (built-in defaults) before a file's tests. */
export function useSampleTable(): void {
  beforeAll(async () => {
    await seedTable(SAMPLE_CSV);
    await clearPolicy();
  });
}

/** A 403 from ipgate, and the origin never saw the request. */
export async function expectBlocked(res: Response, id: string): Promise<void> {
  expect(res.status).toBe(403);
  expect(await originSaw(id)).toHaveLength(0);
}

/** The origin's 200, and the origin saw the request once. */
export async function expectPassed(res: Response, id: string): Promise<void> {
  expect(res.status).toBe(200);
  expect(await originSaw(id)).toHaveLength(1);
}
