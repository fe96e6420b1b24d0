/**
 * One load run, everything on this machine (loopback only): a local origin that notes every
 * path it receives (bench/http/origin.ts), the fake Criminal IP API failing a seeded share of
 * its calls (test/support/fake-criminalip.ts `faults`) and spending its quota late in the run,
 * and ipgate as `wrangler deploy --dry-run` bundles it in Miniflare (bench/http/workerd.ts),
 * with its two KV namespaces behind the fault-injecting wrapper (./kv-faults.ts), the broker
 * Durable Object, and D1 bound as DECISIONS_DB with migrations/ applied.
 *
 * KV holds the background table of the HTTP benchmark (bench/http/table.ts) plus the plan's
 * listed subjects (./plan.ts), split into several chunks so table loads are KV reads that can
 * fail, and the default policy with the live budget raised and the broker at 16 calls at once.
 * The plan's requests are sent, the decision log is given time to flush, and everything the
 * checks need is returned; nothing is asserted here.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startOrigin } from '../../bench/http/origin';
import { livePolicy } from '../../bench/http/policy';
import { benchEntries, seedTable } from '../../bench/http/table';
import { bundleWorker, ipgateWorker, loadMiniflare } from '../../bench/http/workerd';
import { generationPairs } from '../../cli/table-writer';
import {
  LIVE_CALL_TIMEOUT_MS,
  LIVE_MAX_CONCURRENCY,
  POLICY_CURRENT_KEY,
} from '../../src/constants';
import { type FakeFaultStats, startFakeCriminalIp } from '../support/fake-criminalip';
import {
  FAKE_CRIMINALIP_KEY,
  type FakeStats,
  fakeStats,
  scopeUrl,
  setFakeMode,
  setFakeRecords,
} from '../support/fake-criminalip-protocol';
import { type Outcome, sendPlan } from './client';
import {
  applyMigrations,
  countDecisions,
  decisionsByPath,
  type MiniflareWithD1,
  reasonCounts,
  waitForDecisions,
} from './decisions';
import type { DecisionRow } from './expect';
import { type KvFaultStats, kvFaultPlan, kvFaultsWorker, wrappedKv } from './kv-faults';
import { buildPlan, type LoadPlan, SUBJECT_FIRST_OCTETS } from './plan';

export interface LoadSettings {
  requests: number;
  concurrency: number;
  seed: number;
  /** Share of KV reads and of API calls that fail. */
  faultRate: number;
  /** Intervals of the background table. */
  tableIntervals: number;
  /** Copy workerd's output (the Worker's console) to stderr. */
  verbose: boolean;
}

export interface LoadRun {
  settings: LoadSettings;
  plan: LoadPlan;
  outcomes: Outcome[];
  sendMs: number;
  /** Times the origin received each path. */
  originPaths: Map<string, number>;
  /** Rows once the log was done growing, and how long that took after the last answer. */
  rows: number;
  flushWaitMs: number;
  decisions: Map<string, DecisionRow>;
  repeatedPaths: string[];
  reasons: { action: string; reason: string; lookup: string; n: number }[];
  kvFaults: KvFaultStats;
  apiFaults: FakeFaultStats;
  api: FakeStats;
  /** The API call from which the fake answers "limit exceeded". */
  quotaFromCall: number;
  tableChunks: number;
  /** `GET /__ipgate/health` after the run (table, policy, broker). */
  health: unknown;
  /** What workerd printed (the Worker's console, runtime warnings), first lines only. */
  workerWarnings: string[];
}

const progress = (message: string) => process.stderr.write(`[test:load] ${message}\n`);

/** Background table chunks: small enough that the table spans several KV reads. */
const CHUNK_INTERVALS = 4_096;
/** A KV read held this long has missed the table (750 ms), live (1.5 s) and policy deadlines. */
const KV_HANG_MS = 1_600;
/** Share of the failing KV reads that hang rather than throw. */
const KV_HANG_SHARE = 0.3;
/** A `timeout` API call outlasts the broker's own call timeout. */
const API_HANG_MS = LIVE_CALL_TIMEOUT_MS + 1_000;
/** "limit exceeded" comes after this share of the live subjects asked on auth paths. */
const QUOTA_AFTER_SHARE = 0.7;

/** workerd prints nothing per request; every line is a warning or an error worth keeping. */
const MAX_WORKER_LINES = 500;

function scanLines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let rest = '';
  stream.on('data', (d) => {
    const lines = (rest + String(d)).split('\n');
    rest = lines.pop() ?? '';
    for (const l of lines) onLine(l);
  });
}

export async function runLoad(settings: LoadSettings): Promise<LoadRun> {
  const dir = mkdtempSync(join(tmpdir(), 'ipgate-load-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  try {
    return await run(settings, dir, cleanups);
  } finally {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  }
}

async function run(
  settings: LoadSettings,
  dir: string,
  cleanups: Array<() => Promise<unknown>>,
): Promise<LoadRun> {
  const started = performance.now();
  const plan = buildPlan(settings.requests, settings.seed);

  const originPaths = new Map<string, number>();
  const origin = await startOrigin((_method, url) => {
    originPaths.set(url, (originPaths.get(url) ?? 0) + 1);
  });
  cleanups.push(() => origin.close());

  // Live subjects that will be asked at all (they appear on an auth path).
  const asked = new Set(
    plan.requests
      .filter((r) => r.auth && plan.subjects[r.subject]?.kind.startsWith('live-'))
      .map((r) => r.subject),
  ).size;
  const quotaFromCall = Math.max(1, Math.round(asked * QUOTA_AFTER_SHARE));
  const fake = await startFakeCriminalIp(0, {
    faults: {
      rate: settings.faultRate,
      seed: settings.seed ^ 0xa91,
      kinds: ['html500', 'timeout'],
      hangMs: API_HANG_MS,
      quotaFromCall,
    },
  });
  cleanups.push(() => fake.close());
  const liveBase = scopeUrl(fake.url, 'load');
  await setFakeMode(liveBase, { mode: 'success', rejectConcurrent: false });
  await setFakeRecords(liveBase, { criminalip: plan.cannedAnswers });

  progress('bundling the Worker (wrangler deploy --dry-run)');
  const bundle = bundleWorker(join(dir, 'bundle'));
  const background = benchEntries(settings.tableIntervals, 'feeds', settings.seed).filter(
    (e) => e.network.family !== 4 || !SUBJECT_FIRST_OCTETS.includes(Number(e.network.start >> 24n)),
  );
  const table = await generationPairs([...background, ...plan.entries], {
    generation: `load-${settings.seed}`,
    maxIntervals: CHUNK_INTERVALS,
  });

  const faults = kvFaultPlan({
    rate: settings.faultRate,
    hangShare: KV_HANG_SHARE,
    hangMs: KV_HANG_MS,
    seed: settings.seed ^ 0x6b76,
  });
  const workerWarnings: string[] = [];
  const { Miniflare } = await loadMiniflare();
  const gateWorker = ipgateWorker(bundle, {
    ORIGIN_URL: origin.url,
    CRIMINALIP_API_KEY: FAKE_CRIMINALIP_KEY,
    CRIMINALIP_API_URL: liveBase,
  });
  const namespaces = gateWorker.kvNamespaces as Record<string, string>;
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    cf: false,
    kvPersist: join(dir, 'kv'),
    durableObjectsPersist: join(dir, 'do'),
    d1Persist: join(dir, 'd1'),
    handleRuntimeStdio(stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) {
      for (const s of [stdout, stderr]) {
        if (settings.verbose) s.pipe(process.stderr);
        scanLines(s, (line) => {
          if (line.trim() !== '' && workerWarnings.length < MAX_WORKER_LINES)
            workerWarnings.push(line);
        });
      }
    },
    workers: [
      {
        ...gateWorker,
        kvNamespaces: {},
        wrappedBindings: wrappedKv(Object.keys(namespaces)),
        d1Databases: { DECISIONS_DB: 'decisions' },
      },
      kvFaultsWorker(namespaces, (request) => faults.service(request)),
    ],
  }) as MiniflareWithD1;
  cleanups.push(() => mf.dispose());
  const url = String(await mf.ready);

  const reputation = await mf.getKVNamespace('REPUTATION_INNER', 'kv-faults');
  await seedTable(reputation, table);
  await (await mf.getKVNamespace('POLICY_INNER', 'kv-faults')).put(
    POLICY_CURRENT_KEY,
    JSON.stringify(
      livePolicy(LIVE_MAX_CONCURRENCY, 'ipgate load test: built-in defaults, live budget raised'),
    ),
  );
  const db = await mf.getD1Database('DECISIONS_DB');
  await applyMigrations(db, './migrations');
  progress(
    `ready in ${Math.round(performance.now() - started)} ms: ${table.chunks.length} table chunks, ` +
      `${plan.subjects.length} subjects, ${settings.requests} requests at ${settings.concurrency} ` +
      `connections, ${settings.faultRate * 100}% of KV reads and API calls failing`,
  );

  const sent = await sendPlan(url, plan, {
    concurrency: settings.concurrency,
    timeoutMs: 30_000,
    every: Math.max(1_000, Math.round(settings.requests / 10)),
    progress: (done, ms) =>
      void countDecisions(db).then((rows) =>
        progress(
          `${done} answered in ${(ms / 1000).toFixed(1)} s (${Math.round((done * 1000) / ms)}/s), ${rows} decisions in D1`,
        ),
      ),
  });
  progress(`all ${settings.requests} answered in ${(sent.durationMs / 1000).toFixed(1)} s`);

  const flushed = await waitForDecisions(db, settings.requests, {
    quietMs: 10_000,
    timeoutMs: 120_000,
  });
  progress(`decision log: ${flushed.rows} rows, ${flushed.waitedMs} ms after the last answer`);
  const { rows: decisions, repeated } = await decisionsByPath(db);
  const health = await fetch(new URL('/__ipgate/health', url))
    .then((r) => r.json() as Promise<unknown>)
    .catch((e: unknown) => ({ error: String(e) }));

  return {
    settings,
    plan,
    outcomes: sent.outcomes,
    sendMs: sent.durationMs,
    originPaths,
    rows: flushed.rows,
    flushWaitMs: flushed.waitedMs,
    decisions,
    repeatedPaths: repeated,
    reasons: await reasonCounts(db),
    kvFaults: faults.stats(),
    apiFaults: fake.faultStats(),
    api: await fakeStats(liveBase),
    quotaFromCall,
    tableChunks: table.chunks.length,
    health,
    workerWarnings,
  };
}
