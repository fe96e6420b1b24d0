/**
 * `npm run bench` (`tsx bench/http.ts`): throughput, latency, CPU time and memory of ipgate
 * through local workerd, against a bare pass-through Worker in the same run. Prints one JSON
 * object per line (also appended to bench/results/http.jsonl, every line tagged with its run).
 *
 * Set-up (all on this machine, each in its own process): a tiny Node origin that answers 200
 * at once; the local fake Criminal IP API (test/support/fake-criminalip.ts); one Miniflare
 * instance, so one workerd process, per Worker — the bare Worker (./http/workerd.ts
 * BARE_WORKER: the same forward as ipgate's, nothing else), the ballast Worker, one ipgate per
 * warm line and one for the memory, live and cold lines, each ipgate as
 * `wrangler deploy --dry-run` bundles it, with real local KV, the broker Durable Object,
 * ORIGIN_URL and the fake's key and URL; and the load generator (`wrk`, else
 * ./http/node-client.ts) in a process of its own. Each ipgate's KV holds a
 * seeded table of about --table-intervals intervals, records of the --records mix
 * (./http/table.ts: `feeds`, enriched records from 2,000 ASNs, or `small`, scores and
 * categories only), and a policy: the built-in defaults with a large live-lookup budget.
 *
 * Lines, in run order (`--scenarios a,b` picks some; `bare` runs whenever another does):
 *   setup              versions, machine, load settings, the table's size.
 *   memory             the ipgate isolate's heap (V8 inspector, after a GC) before and after
 *                      every chunk of the table is loaded; workerd RSS for reference.
 *   bare               the pass-through Worker, `/login`: the limit.
 *   bare-ballast       the pass-through Worker holding as much memory as ipgate's loaded table
 *                      (./http/workerd.ts BALLAST_WORKER; sizes from `memory`), and nothing else:
 *                      what holding a table that size costs any isolate in this runtime.
 *   nonauth-warm       ipgate on `/` (no reputation needed), table loaded.
 *   auth-warm-hit      `/login` from a `safe` address in the table: looked up, forwarded.
 *   auth-warm-block    `/login` from a `critical` address: answered 403 by ipgate.
 *   auth-live-50ms     `/login`, a new address per request that the table does not list, the
 *                      fake API answering in --live-delay-ms, the broker's default concurrency 1.
 *   auth-live-50ms-c16 the same with the policy's `lookup.live.concurrency` at 16 (restart).
 *   bare-repeat        the bare Worker again, after the others: drift on a noisy machine.
 *   auth-cold          latency of the first `/login` in a fresh isolate, over --flips flips.
 *
 * The warm lines are measured in --rounds rounds (bare, ballast, nonauth, hit, block, bare, …) so
 * drift hits them alike; each line gives medians over its rounds (and each round's rps and p99
 * in `roundsRps`, `roundsP99Ms`). Throughput lines: `rps`,
 * latency percentiles from the load generator, `ratioToBare` (rps over bare's), `addedP50Ms`
 * and `addedP99Ms` over bare, and `cpuMsPerRequest`: the CPU time (user + system, all threads)
 * of that Worker's workerd process during the measured window over the requests served, from
 * /proc; `addedCpuMsPerRequest` is ipgate's cost over the bare forward. Warm lines state the
 * targets (≥ 0.9 of bare rps, ≤ 1 ms added p99) and whether they were met. `non2xx` counts
 * answers with status ≥ 400 (what wrk counts), `originRequests` what the origin received.
 *
 *   npm run bench -- [--duration 10] [--warmup 2] [--rounds 1] [--connections 32]
 *     [--threads 1] [--client auto|wrk|node] [--scenarios a,b] [--table-intervals 1000000]
 *     [--records feeds|small] [--flips 10] [--live-delay-ms 50]
 *     [--out bench/results/http.jsonl] [--verbose]
 *
 * With wrk, durations are whole seconds. `…MB` figures are MiB. Progress goes to stderr.
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { request } from 'node:http';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { GenerationPairs } from '../cli/table-writer';
import {
  LIVE_DEADLINE_MS,
  LIVE_MAX_CONCURRENCY,
  POLICY_CURRENT_KEY,
  TABLE_MANIFEST_KEY,
} from '../src/constants';
import { startFakeCriminalIp } from '../test/support/fake-criminalip';
import {
  FAKE_CRIMINALIP_KEY,
  fakeStats,
  resetFake,
  scopeUrl,
  setFakeMode,
} from '../test/support/fake-criminalip-protocol';
import { type ClientName, haveWrk, type LoadResult, type LoadSpec, runLoad } from './http/load';
import { startOrigin } from './http/origin';
import { livePolicy, TABLE_DEADLINE_MS } from './http/policy';
import { DISTINCT_BLOCK, ipv4 } from './http/spec';
import {
  benchTable,
  CLEAN_IP,
  chunkProbeIps,
  DIRTY_IP,
  RECORD_MIXES,
  type RecordMix,
  seedTable,
  UNKNOWN_V4_BASE,
} from './http/table';
import {
  BALLAST_WORKER,
  BARE_WORKER,
  bundleWorker,
  compatibility,
  cpuMs,
  ipgateWorker,
  isolateHeap,
  loadMiniflare,
  type MiniflareLike,
  newWorkerdPid,
  plainWorkerOptions,
  rssBytes,
  runtimeStdio,
  versions,
} from './http/workerd';

const ALL_SCENARIOS = [
  'bare',
  'nonauth-warm',
  'memory',
  'bare-ballast',
  'auth-warm-hit',
  'auth-warm-block',
  'auth-live-50ms',
  'auth-live-50ms-c16',
  'bare-repeat',
  'auth-cold',
] as const;
type Scenario = (typeof ALL_SCENARIOS)[number];

/** Targets for the warm paths, stated in every warm line. */
const TARGET_RATIO_TO_BARE = 0.9;
const TARGET_ADDED_P99_MS = 1;
const TARGET_ISOLATE_MB = 64;
/** The policy's raised live concurrency in auth-live-50ms-c16: the most a policy allows. */
const RAISED_LIVE_CONCURRENCY = LIVE_MAX_CONCURRENCY;
const MiB = 1024 * 1024;

/** A Worker under load: where to send requests, and its workerd process (CPU time, memory). */
interface Target {
  url: string;
  pid: number;
}
/** One Miniflare and the workerd process it runs. */
interface Instance extends Target {
  mf: MiniflareLike;
}

const { values: args } = parseArgs({
  options: {
    duration: { type: 'string', default: '10' },
    warmup: { type: 'string', default: '2' },
    rounds: { type: 'string', default: '1' },
    connections: { type: 'string', default: '32' },
    threads: { type: 'string', default: '1' },
    client: { type: 'string', default: 'auto' },
    scenarios: { type: 'string', default: ALL_SCENARIOS.join(',') },
    'table-intervals': { type: 'string', default: '1000000' },
    records: { type: 'string', default: 'feeds' },
    flips: { type: 'string', default: '10' },
    'live-delay-ms': { type: 'string', default: '50' },
    out: { type: 'string', default: 'bench/results/http.jsonl' },
    verbose: { type: 'boolean', default: false },
  },
});

function positive(name: string, value: string | undefined, integer = false): number {
  const n = Number(value);
  if (!Number.isFinite(n) || n < 0 || (integer && !Number.isInteger(n)))
    throw new Error(`--${name} must be a ${integer ? 'whole ' : ''}number ≥ 0, got "${value}"`);
  return n;
}

const durationS = positive('duration', args.duration);
const warmupS = positive('warmup', args.warmup);
const rounds = positive('rounds', args.rounds, true) || 1;
const connections = positive('connections', args.connections, true) || 32;
const threads = positive('threads', args.threads, true) || 1;
const tableIntervals = positive('table-intervals', args['table-intervals'], true);
const records = args.records as RecordMix;
if (!RECORD_MIXES.includes(records))
  throw new Error(`--records must be one of ${RECORD_MIXES.join(', ')}, got "${args.records}"`);
const flips = positive('flips', args.flips, true);
const liveDelayMs = positive('live-delay-ms', args['live-delay-ms'], true);
const wanted = new Set(
  (args.scenarios ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean),
);
for (const s of wanted)
  if (!(ALL_SCENARIOS as readonly string[]).includes(s))
    throw new Error(`unknown scenario "${s}"; known: ${ALL_SCENARIOS.join(', ')}`);
if ([...wanted].some((s) => s !== 'bare-repeat')) wanted.add('bare');
// The ballast is sized by the table's measured memory.
if (wanted.has('bare-ballast')) wanted.add('memory');
const selected = (s: Scenario) => wanted.has(s);
const client: ClientName =
  args.client === 'wrk' || args.client === 'node' ? args.client : haveWrk() ? 'wrk' : 'node';
if (args.client === 'wrk' && !haveWrk())
  throw new Error('--client wrk: wrk is not installed (apt-get install wrk)');

const run = new Date().toISOString();
const outFile = args.out ?? '';
if (outFile) mkdirSync(dirname(outFile), { recursive: true });

function emit(line: Record<string, unknown>): void {
  const text = JSON.stringify({ bench: 'http', run, ...line });
  process.stdout.write(`${text}\n`);
  if (outFile) appendFileSync(outFile, `${text}\n`);
}

const r2 = (x: number) => Math.round(x * 100) / 100;
const r3 = (x: number) => Math.round(x * 1000) / 1000;

/** One request on a fresh connection; its status and time to the last body byte. */
function probe(
  base: string,
  path: string,
  ip: string,
): Promise<{ status: number; ms: number; body: string }> {
  const url = new URL(path, base);
  const t0 = performance.now();
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: url.hostname,
        port: url.port,
        path: url.pathname,
        agent: false,
        headers: { 'CF-Connecting-IP': ip },
      },
      (res) => {
        let body = '';
        res.on('data', (d) => {
          body += String(d);
        });
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, ms: performance.now() - t0, body }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function expectStatus(base: string, path: string, ip: string, status: number) {
  const r = await probe(base, path, ip);
  if (r.status !== status)
    throw new Error(`${path} from ${ip}: expected ${status}, got ${r.status}: ${r.body}`);
}

/** Nearest-rank percentile. */
function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? 0;
}

function median(xs: number[]): number {
  const sorted = [...xs].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

/** Progress goes to stderr; stdout carries only the JSON lines. */
function progress(message: string): void {
  process.stderr.write(`[bench:http] ${message}\n`);
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ipgate-bench-http-'));
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const c of cleanups.reverse()) await c().catch(() => {});
    rmSync(dir, { recursive: true, force: true });
  };
  process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
  try {
    await measureAll(dir, cleanups);
  } finally {
    await cleanup();
  }
}

async function measureAll(dir: string, cleanups: Array<() => Promise<unknown>>): Promise<void> {
  const needsGate = [...wanted].some((s) => s !== 'bare' && s !== 'bare-repeat');
  const { Miniflare, version: miniflareVersion } = await loadMiniflare();
  const compat = compatibility();
  const stdio = runtimeStdio(args.verbose ?? false);

  const origin = await startOrigin();
  cleanups.push(() => origin.close());
  const fake = await startFakeCriminalIp();
  cleanups.push(() => fake.close());
  const liveBase = scopeUrl(fake.url, 'bench');

  // ── Workers: one workerd process each ──
  const knownPids: number[] = [];
  /** Starts one Miniflare (one workerd process) and learns its pid. */
  async function startWorkerd(options: Record<string, unknown>): Promise<Instance> {
    const mf = new Miniflare(options);
    cleanups.push(() => mf.dispose());
    const url = String(await mf.ready);
    const pid = await newWorkerdPid(knownPids);
    knownPids.push(pid);
    return { mf, url, pid };
  }
  const bareTarget: Target = await startWorkerd(
    plainWorkerOptions('bare', BARE_WORKER, { ORIGIN_URL: origin.url }, stdio),
  );
  await expectStatus(bareTarget.url, '/', CLEAN_IP, 200);

  let gen: GenerationPairs | null = null;
  let buildMs = 0;
  let bundleBytes = 0;
  let bundle = '';
  if (needsGate) {
    bundle = bundleWorker(join(dir, 'bundle'));
    bundleBytes = statSync(bundle).size;
    const t0 = performance.now();
    gen = await benchTable(tableIntervals, records);
    buildMs = performance.now() - t0;
  }
  /**
   * ipgate's Miniflare options for the instance `name`: its own KV and Durable Object storage,
   * so instances share nothing but the bundle and the origin.
   */
  const gateOptions = (name: string): Record<string, unknown> => ({
    host: '127.0.0.1',
    port: 0,
    cf: false,
    inspectorPort: 0,
    handleRuntimeStdio: stdio,
    kvPersist: join(dir, name, 'kv'),
    durableObjectsPersist: join(dir, name, 'do'),
    workers: [
      ipgateWorker(bundle, {
        ORIGIN_URL: origin.url,
        CRIMINALIP_API_KEY: FAKE_CRIMINALIP_KEY,
        CRIMINALIP_API_URL: liveBase,
      }),
    ],
  });
  /** An ipgate instance with the table and the bench policy in its KV (nothing loaded yet). */
  async function startGate(name: string, table: GenerationPairs): Promise<Instance> {
    const instance = await startWorkerd(gateOptions(name));
    await seedTable(await instance.mf.getKVNamespace('REPUTATION'), table);
    await (await instance.mf.getKVNamespace('POLICY')).put(
      POLICY_CURRENT_KEY,
      JSON.stringify(livePolicy(1)),
    );
    return instance;
  }
  const main = gen ? await startGate('ipgate', gen) : null;

  const v = versions();
  emit({
    scenario: 'setup',
    node: process.version,
    wrangler: v.wrangler,
    miniflare: miniflareVersion,
    workerd: v.workerd,
    compatibilityDate: compat.compatibilityDate,
    client,
    connections,
    threads,
    durationS,
    warmupS,
    rounds,
    cpus: cpus().length,
    loadavg1m: r2(loadavg()[0] ?? 0),
    scenarios: ALL_SCENARIOS.filter(selected),
    bundleBytes,
    tableIntervals: gen ? gen.manifest.counts.v4 + gen.manifest.counts.v6 : 0,
    tableRecords: records,
    tableChunks: gen?.chunks.length ?? 0,
    tableBytes: gen ? gen.chunks.reduce((n, c) => n + c.value.length, 0) : 0,
    tableBuildMs: Math.round(buildMs),
  });

  // ── Measuring ──
  interface Sample {
    result: LoadResult;
    cpuMsPerRequest: number;
    originRequests: number;
  }
  const spec = (url: string, over: Partial<LoadSpec>): LoadSpec => ({
    url,
    connections,
    threads,
    durationS,
    ...over,
  });

  /** One measured load run (after its warm-up), with the target's CPU time and origin hits. */
  async function sample(target: Target, load: LoadSpec, warmup = true): Promise<Sample> {
    if (warmup && warmupS > 0) await runLoad(client, { ...load, durationS: warmupS });
    const originBefore = origin.count();
    const cpuBefore = cpuMs(target.pid);
    const result = await runLoad(client, load);
    return {
      result,
      cpuMsPerRequest: (cpuMs(target.pid) - cpuBefore) / Math.max(1, result.requests),
      originRequests: origin.count() - originBefore,
    };
  }

  let bare: { rps: number; p50: number; p99: number; cpu: number } | null = null;
  let ballast: { rps: number; p50: number; p99: number } | null = null;

  /** The line of a scenario measured in one or more rounds (medians; counts summed). */
  function report(
    scenario: Scenario,
    samples: Sample[],
    load: LoadSpec,
    extra: Record<string, unknown>,
    warmTarget = false,
  ): void {
    const med = (f: (s: Sample) => number) => median(samples.map(f));
    const sum = (f: (s: Sample) => number) => samples.reduce((n, s) => n + f(s), 0);
    const rps = med((s) => s.result.rps);
    const p50 = med((s) => s.result.latencyMs.p50);
    const p99 = med((s) => s.result.latencyMs.p99);
    const cpu = med((s) => s.cpuMsPerRequest);
    if (scenario === 'bare') bare = { rps, p50, p99, cpu };
    if (scenario === 'bare-ballast') ballast = { rps, p50, p99 };
    const held = ballast as { rps: number; p50: number; p99: number } | null;
    const base = bare as { rps: number; p50: number; p99: number; cpu: number } | null;
    const line: Record<string, unknown> = {
      scenario,
      rps: Math.round(rps),
      p50Ms: r3(p50),
      p99Ms: r3(p99),
      ratioToBare: base ? r3(rps / base.rps) : null,
      addedP50Ms: base ? r3(p50 - base.p50) : null,
      addedP99Ms: base ? r3(p99 - base.p99) : null,
      p90Ms: r3(med((s) => s.result.latencyMs.p90)),
      p999Ms: r3(med((s) => s.result.latencyMs.p999)),
      maxMs: r3(Math.max(...samples.map((s) => s.result.latencyMs.max))),
      meanMs: r3(med((s) => s.result.latencyMs.mean)),
      cpuMsPerRequest: r3(cpu),
      addedCpuMsPerRequest: base ? r3(cpu - base.cpu) : null,
      connections: load.connections,
      threads: load.threads,
      durationS: r2(sum((s) => s.result.durationS)),
      rounds: samples.length,
      requests: sum((s) => s.result.requests),
      non2xx: sum((s) => s.result.statusErrors),
      errors: {
        connect: sum((s) => s.result.errors.connect),
        read: sum((s) => s.result.errors.read),
        write: sum((s) => s.result.errors.write),
        timeout: sum((s) => s.result.errors.timeout),
      },
      originRequests: sum((s) => s.originRequests),
      client,
      ...extra,
    };
    if (samples.length > 1) {
      line.roundsRps = samples.map((s) => Math.round(s.result.rps));
      line.roundsP99Ms = samples.map((s) => r3(s.result.latencyMs.p99));
    }
    if (warmTarget) {
      line.targetRatioToBare = TARGET_RATIO_TO_BARE;
      line.targetAddedP99Ms = TARGET_ADDED_P99_MS;
      line.withinTargets =
        base !== null &&
        rps / base.rps >= TARGET_RATIO_TO_BARE &&
        p99 - base.p99 <= TARGET_ADDED_P99_MS;
      if (held && scenario !== 'bare-ballast') {
        line.ratioToBallast = r3(rps / held.rps);
        line.addedP50OverBallastMs = r3(p50 - held.p50);
        line.addedP99OverBallastMs = r3(p99 - held.p99);
        line.withinTargetsOverBallast =
          rps / held.rps >= TARGET_RATIO_TO_BARE && p99 - held.p99 <= TARGET_ADDED_P99_MS;
      }
    }
    emit(line);
  }

  const bareLoad = spec(`${bareTarget.url}login`, { ip: CLEAN_IP });
  if (!main || !gen) {
    const samples: Sample[] = [];
    for (let r = 0; r < rounds; r++) samples.push(await sample(bareTarget, bareLoad));
    report('bare', samples, bareLoad, { path: '/login', ip: CLEAN_IP, expectedStatus: 200 });
    if (selected('bare-repeat'))
      report('bare-repeat', [await sample(bareTarget, bareLoad)], bareLoad, {
        expectedStatus: 200,
      });
    return;
  }
  const table = gen;
  // The instance for memory, live lookups and cold starts; restarted in place.
  const gate: Instance = main;
  async function restartGate(): Promise<void> {
    await gate.mf.setOptions(gateOptions('ipgate'));
    gate.url = String(await gate.mf.ready);
    gate.pid = await newWorkerdPid(knownPids);
    knownPids.push(gate.pid);
  }

  /** Health's table status, or null when health does not say (e.g. behind a token). */
  async function tableStatus(
    url: string,
  ): Promise<{ chunks: number; loadedChunks: number } | null> {
    try {
      const res = await probe(url, '/__ipgate/health', CLEAN_IP);
      const body = JSON.parse(res.body) as { table?: { chunks?: number; loadedChunks?: number } };
      const t = body.table;
      return typeof t?.chunks === 'number' && typeof t.loadedChunks === 'number'
        ? { chunks: t.chunks, loadedChunks: t.loadedChunks }
        : null;
    } catch {
      return null;
    }
  }

  /** Loads every chunk: one `/login` from an address inside each, then waits for the loads. */
  async function warmTable(url: string): Promise<number | null> {
    for (const ip of [...chunkProbeIps(table), CLEAN_IP, DIRTY_IP]) await probe(url, '/login', ip);
    const until = Date.now() + 120_000;
    let status = await tableStatus(url);
    while (status && status.loadedChunks < status.chunks && Date.now() < until) {
      await new Promise((r) => setTimeout(r, 250));
      status = await tableStatus(url);
    }
    return status?.loadedChunks ?? null;
  }

  // ── Memory: the isolate warmed up (code compiled, policy loaded), then every chunk loaded ──
  progress('ipgate: warming the isolate on /');
  await expectStatus(gate.url, '/', CLEAN_IP, 200);
  if (warmupS > 0) await runLoad(client, spec(gate.url, { ip: CLEAN_IP, durationS: warmupS }));
  const heapOf = () => isolateHeap(gate.mf, 'ipgate', () => probe(gate.url, '/', CLEAN_IP));
  const heapBefore = selected('memory') ? await heapOf() : null;
  const rssBefore = rssBytes(gate.pid);
  progress(`ipgate: loading all ${table.chunks.length} chunks`);
  const loadedChunks = await warmTable(gate.url);
  let ballastTarget: Target | null = null;
  let ballastHeld: Record<string, unknown> = {};
  if (heapBefore) {
    const heapAfter = await heapOf();
    const rssAfter = rssBytes(gate.pid);
    const total = (h: typeof heapBefore) => h.usedSize + h.backingStorageSize;
    const isolateMB = total(heapAfter) / MiB;
    emit({
      scenario: 'memory',
      intervals: table.manifest.counts.v4 + table.manifest.counts.v6,
      records,
      chunks: table.chunks.length,
      loadedChunks,
      tableKvBytes: table.chunks.reduce((n, c) => n + c.value.length, 0),
      isolateMB: r2(isolateMB),
      tableMB: r2((total(heapAfter) - total(heapBefore)) / MiB),
      heapUsedBeforeMB: r2(heapBefore.usedSize / MiB),
      heapUsedAfterMB: r2(heapAfter.usedSize / MiB),
      arrayBuffersBeforeMB: r2(heapBefore.backingStorageSize / MiB),
      arrayBuffersAfterMB: r2(heapAfter.backingStorageSize / MiB),
      workerdRssBeforeMB: r2(rssBefore / MiB),
      workerdRssAfterMB: r2(rssAfter / MiB),
      bareWorkerdRssMB: r2(rssBytes(bareTarget.pid) / MiB),
      targetIsolateMB: TARGET_ISOLATE_MB,
      withinTarget: isolateMB <= TARGET_ISOLATE_MB,
      method:
        'V8 inspector on the ipgate isolate: HeapProfiler.collectGarbage, then Runtime.getHeapUsage usedSize + backingStorageSize (typed arrays live outside the V8 heap); before = after warm-up on / with no chunk loaded, after = every chunk loaded; workerd RSS for reference',
    });
    if (selected('bare-ballast')) {
      const arrayBytes = Math.max(0, heapAfter.backingStorageSize - heapBefore.backingStorageSize);
      const textChars = Math.max(0, heapAfter.usedSize - heapBefore.usedSize);
      const ballast = await startWorkerd(
        plainWorkerOptions(
          'ballast',
          BALLAST_WORKER,
          {
            ORIGIN_URL: origin.url,
            BALLAST_ARRAY_BYTES: String(arrayBytes),
            BALLAST_TEXT_CHARS: String(textChars),
          },
          stdio,
        ),
      );
      ballastTarget = ballast;
      const url = ballast.url;
      await expectStatus(url, '/login', CLEAN_IP, 200);
      const held = await isolateHeap(ballast.mf, 'ballast', () => probe(url, '/', CLEAN_IP));
      progress(
        `bare-ballast: holds ${r2(held.usedSize / MiB)} MiB of V8 heap and ${r2(held.backingStorageSize / MiB)} MiB of typed arrays`,
      );
      ballastHeld = {
        heldHeapMB: r2(held.usedSize / MiB),
        heldArrayBuffersMB: r2(held.backingStorageSize / MiB),
        sizedAfterTableHeapMB: r2(textChars / MiB),
        sizedAfterTableArrayBuffersMB: r2(arrayBytes / MiB),
      };
    }
  }

  // ── Warm paths ──
  // Each warm line has a workerd process of its own, and the rounds alternate between them
  // (bare, ballast, nonauth, hit, block, bare, …) so drift hits all alike. A workerd process's
  // tail latency grows with the requests it has served (README, Performance), so every
  // compared process serves the same warm-up and measured runs and nothing more; ipgate's
  // instances have only the table-loading requests besides.
  interface Warm {
    scenario: Scenario;
    target: Target;
    path: string;
    ip: string;
    status: number;
    extra?: Record<string, unknown>;
  }
  const warm: Warm[] = [
    { scenario: 'bare', target: bareTarget, path: '/login', ip: CLEAN_IP, status: 200 },
  ];
  if (ballastTarget)
    warm.push({
      scenario: 'bare-ballast',
      target: ballastTarget,
      path: '/login',
      ip: CLEAN_IP,
      status: 200,
      extra: ballastHeld,
    });
  const gateLines: Array<Omit<Warm, 'target'>> = [
    { scenario: 'nonauth-warm', path: '/', ip: DIRTY_IP, status: 200 },
    { scenario: 'auth-warm-hit', path: '/login', ip: CLEAN_IP, status: 200 },
    {
      scenario: 'auth-warm-block',
      path: '/login',
      ip: DIRTY_IP,
      status: 403,
      extra: {
        note: 'answered 403 by ipgate, never forwarded: non2xx = requests and originRequests = 0 are expected',
      },
    },
  ];
  for (const line of gateLines.filter((l) => selected(l.scenario))) {
    progress(`${line.scenario}: starting an ipgate instance and loading its table`);
    const instance = await startGate(line.scenario, table);
    await warmTable(instance.url);
    warm.push({ ...line, target: instance });
  }
  const loadOf = (w: Warm) => spec(`${w.target.url}${w.path.slice(1)}`, { ip: w.ip });
  const warmSelected = warm.filter((w) => selected(w.scenario));
  const samples = new Map<Scenario, Sample[]>();
  for (let r = 1; r <= rounds; r++) {
    for (const w of warmSelected) {
      progress(`${w.scenario}: round ${r} of ${rounds}`);
      await expectStatus(w.target.url, w.path, w.ip, w.status);
      const list = samples.get(w.scenario) ?? [];
      list.push(await sample(w.target, loadOf(w)));
      samples.set(w.scenario, list);
    }
  }
  for (const w of warmSelected)
    report(
      w.scenario,
      samples.get(w.scenario) ?? [],
      loadOf(w),
      { path: w.path, ip: w.ip, expectedStatus: w.status, ...w.extra },
      w.scenario !== 'bare' && w.scenario !== 'bare-ballast',
    );

  // ── Live lookups ──
  let ipBlock = 0;
  const nextDistinctBlock = () => UNKNOWN_V4_BASE + ipBlock++ * threads * DISTINCT_BLOCK;
  let single = 0;
  /** Single unknown addresses for prechecks, from the top of 45.0.0.0/8 (no load run's). */
  const nextUnknownAddress = () => ipv4(UNKNOWN_V4_BASE + 0xff0000 + single++);

  /** Waits until the broker has stopped calling the fake API (its queue drained). */
  async function brokerIdle(): Promise<void> {
    let last = -1;
    const until = Date.now() + 30_000;
    while (Date.now() < until) {
      const s = await fakeStats(liveBase);
      if (s.inFlight === 0 && s.calls === last) return;
      last = s.calls;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  async function live(scenario: Scenario, concurrency: number): Promise<void> {
    // A key of the default kind refuses overlapping calls; an Enterprise key (concurrency > 1)
    // does not.
    const mode = {
      mode: 'slow' as const,
      delayMs: liveDelayMs,
      rejectConcurrent: concurrency === 1,
    };
    await resetFake(liveBase);
    await setFakeMode(liveBase, mode);
    // One unknown address first: loads the chunk that covers them, and proves the path works.
    await expectStatus(gate.url, '/login', nextUnknownAddress(), 200);
    await brokerIdle();
    await resetFake(liveBase);
    await setFakeMode(liveBase, mode);
    progress(`${scenario}: live lookups, concurrency ${concurrency}`);
    const load = spec(`${gate.url}login`, { distinctFrom: nextDistinctBlock() });
    // No warm-up: it would leave lookups queued in the broker for the measured run.
    const s = await sample(gate, load, false);
    const stats = await fakeStats(liveBase);
    report(scenario, [s], load, {
      path: '/login',
      ip: 'a new address per request in 45.0.0.0/8 (not in the table)',
      expectedStatus: 200,
      apiDelayMs: liveDelayMs,
      liveConcurrency: concurrency,
      liveDeadlineMs: LIVE_DEADLINE_MS,
      apiCalls: stats.calls,
      apiCallsPerSecond: r2(stats.calls / Math.max(0.001, s.result.durationS)),
      apiMaxConcurrent: stats.maxConcurrent,
      answeredByApiShare: r3(stats.calls / Math.max(1, s.result.requests)),
      note: 'every request passes: an address the API answered within the deadline is judged (the fake says safe, so it is forwarded); the others are unknown (allow) at the deadline, or at once when the broker queue is full. apiCalls: calls the fake received during the run (some end after it), answeredByApiShare = apiCalls / requests.',
    });
    await brokerIdle();
  }

  if (selected('auth-live-50ms')) await live('auth-live-50ms', 1);
  if (selected('auth-live-50ms-c16')) {
    await (await gate.mf.getKVNamespace('POLICY')).put(
      POLICY_CURRENT_KEY,
      JSON.stringify(livePolicy(RAISED_LIVE_CONCURRENCY)),
    );
    progress('ipgate: restarting with live concurrency 16');
    await restartGate();
    await warmTable(gate.url);
    await live('auth-live-50ms-c16', RAISED_LIVE_CONCURRENCY);
  }

  if (selected('bare-repeat')) {
    progress('bare-repeat');
    report('bare-repeat', [await sample(bareTarget, bareLoad)], bareLoad, {
      path: '/login',
      ip: CLEAN_IP,
      expectedStatus: 200,
    });
  }

  // ── Cold table: the first auth request of a fresh isolate ──
  if (selected('auth-cold') && flips > 0) {
    const first: number[] = [];
    const cold: number[] = [];
    const after: number[] = [];
    let blocked = 0;
    for (let i = 1; i <= flips; i++) {
      progress(`auth-cold: flip ${i} of ${flips}`);
      // A new generation: its chunks are content-addressed and unchanged, so, as `ipgate sync`
      // does, only the manifest is written; a fresh isolate reads every chunk it needs anyway.
      const manifest = {
        ...table.manifest,
        generation: `bench-${i}`,
        createdAt: new Date().toISOString(),
      };
      await (await gate.mf.getKVNamespace('REPUTATION')).put(
        TABLE_MANIFEST_KEY,
        JSON.stringify(manifest),
      );
      await restartGate();
      first.push((await probe(gate.url, '/', CLEAN_IP)).ms);
      const c = await probe(gate.url, '/login', DIRTY_IP);
      cold.push(c.ms);
      if (c.status === 403) blocked += 1;
      after.push((await probe(gate.url, '/login', DIRTY_IP)).ms);
    }
    const dirty = DIRTY_IP.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    const chunk = table.manifest.chunks.find(
      (c) => c.family === 4 && Number(c.from) <= dirty && Number(c.to) >= dirty,
    );
    emit({
      scenario: 'auth-cold',
      rps: null,
      p50Ms: r3(percentile(cold, 50)),
      p99Ms: r3(percentile(cold, 99)),
      ratioToBare: null,
      minMs: r3(Math.min(...cold)),
      maxMs: r3(Math.max(...cold)),
      flips,
      answeredFromTable: blocked,
      firstRequestP50Ms: r3(percentile(first, 50)),
      warmAfterP50Ms: r3(percentile(after, 50)),
      chunkBytes: chunk?.bytes ?? null,
      chunkIntervals: chunk?.count ?? null,
      tableDeadlineMs: TABLE_DEADLINE_MS,
      method:
        'per flip: write a new manifest, restart workerd (a fresh isolate), GET / (isolate and policy warm, table untouched), then time the first GET /login from a critical address in the table (manifest + one chunk read from local KV, SHA-256 checked, decoded, looked up; 403 = answered from the table before the deadline), then a second one (warmAfter). One request at a time, each on a new connection; p99 over fewer than 100 flips is the maximum.',
    });
  }
}

await main();
