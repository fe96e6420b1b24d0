/**
 * One replay from start to summary, shared by `ipgate replay` and `npm run demo:attack`:
 * refuse a target that is not this machine, check that something answers there, send the
 * requests with a progress display, and tally them.
 */
import { randomBytes } from 'node:crypto';
import {
  REPLAY_PREFLIGHT_TIMEOUT_MS,
  REPLAY_REQUEST_TIMEOUT_MS,
  RESERVED_PREFIX,
} from '../../src/constants';
import { CliError } from '../errors';
import { info, progress } from '../output';
import { checkLocalTarget, parseTarget } from './guard';
import { errorCode, replay } from './run';
import { type ReplaySummary, ReplayTally, summarize } from './summary';
import type { ReplayClients } from './targets';

export interface RunReplayOptions {
  input: ReplayClients;
  /** Base URL of the Worker, e.g. http://localhost:8787. */
  target: string;
  /** Path requested, e.g. /login (may carry a query). */
  path: string;
  rate: number;
  requestsPerIp: number;
  concurrency: number;
  allowRemote: boolean;
  /** Label of the progress display. */
  label?: string;
  runId?: string;
  signal?: AbortSignal;
  timeoutMs?: number;
  /** Name resolution, injectable for tests. */
  resolve?: (host: string) => Promise<string[]>;
}

export function newRunId(): string {
  const stamp = new Date().toISOString().replace(/[-:]/g, '').slice(0, 15);
  return `replay-${stamp}-${randomBytes(3).toString('hex')}`;
}

/** The URL requested: the target's origin and base path, then `path`. */
export function replayUrl(target: URL, path: string): string {
  if (!path.startsWith('/'))
    throw new CliError(`--path must start with "/", got ${JSON.stringify(path)}`, undefined, 2);
  return `${target.origin}${target.pathname.replace(/\/+$/, '')}${path}`;
}

/** Throws a CliError unless something answers HTTP at the target; warns if it is not ipgate. */
async function preflight(target: URL): Promise<void> {
  const health = `${target.origin}${target.pathname.replace(/\/+$/, '')}${RESERVED_PREFIX}/health`;
  let res: Response;
  try {
    res = await fetch(health, { signal: AbortSignal.timeout(REPLAY_PREFLIGHT_TIMEOUT_MS) });
  } catch (e) {
    throw new CliError(
      `nothing answers at ${target.origin} (${errorCode(e)})`,
      'start ipgate locally with "npm start" (http://localhost:8787), or point --target at it',
    );
  }
  let isIpgate = false;
  if (res.ok) {
    try {
      const body: unknown = await res.json();
      isIpgate = typeof body === 'object' && body !== null && 'table' in body;
    } catch {
      // not JSON: not ipgate's health endpoint
    }
  } else {
    await res.body?.cancel().catch(() => {});
  }
  if (!isIpgate)
    info(`warning: ${health} did not answer like ipgate (HTTP ${res.status}); replaying anyway`);
}

export async function runReplay(o: RunReplayOptions): Promise<ReplaySummary> {
  const target = parseTarget(o.target);
  const url = replayUrl(target, o.path);
  await checkLocalTarget(target, o.allowRemote, o.resolve);
  const { clients, problems, duplicates } = o.input;
  if (clients.length === 0)
    throw new CliError(
      'the CSV holds no address to replay',
      'rows are network,score,categories,country,asn,org (see README: The ipgate CSV format)',
    );
  await preflight(target);
  const runId = o.runId ?? newRunId();
  const total = clients.length * o.requestsPerIp;
  const tally = new ReplayTally();
  const bar = progress(o.label ?? `replaying ${clients.length} IPs`, total);
  let timing: Awaited<ReturnType<typeof replay>>;
  try {
    timing = await replay(clients, {
      url,
      runId,
      requestsPerIp: o.requestsPerIp,
      rate: o.rate,
      concurrency: o.concurrency,
      timeoutMs: o.timeoutMs ?? REPLAY_REQUEST_TIMEOUT_MS,
      ...(o.signal ? { signal: o.signal } : {}),
      onResult: (client, result) => tally.add(client, result),
      onProgress: (done) => bar.update(done),
    });
  } finally {
    bar.stop();
  }
  return summarize(
    {
      runId,
      url,
      clients: clients.length,
      requestsPerIp: o.requestsPerIp,
      rate: o.rate,
      concurrency: o.concurrency,
      problems,
      duplicates,
      interrupted: Boolean(o.signal?.aborted) && timing.notSent > 0,
    },
    tally,
    timing,
  );
}
