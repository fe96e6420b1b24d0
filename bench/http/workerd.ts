/**
 * Local workerd for the HTTP benchmark: Miniflare driven directly (wrangler dev's own proxy caps
 * a Worker near 550 requests/s here; Miniflare's socket does not), one Miniflare — so one
 * workerd process — per Worker, so each process's CPU time and memory are that Worker's alone.
 *
 * Miniflare is the copy wrangler itself resolves (the one `wrangler dev` runs), not whatever
 * version another package hoisted; ipgate runs as `wrangler deploy --dry-run` bundles it.
 * Process figures come from /proc (Linux); isolate heap figures from the V8 inspector that
 * workerd serves (`Runtime.getHeapUsage` after `HeapProfiler.collectGarbage`).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { parse as parseToml } from 'smol-toml';
import WebSocket from 'ws';

/** The part of Miniflare's API the benchmark uses. */
export interface MiniflareLike {
  ready: Promise<URL>;
  setOptions(options: Record<string, unknown>): Promise<void>;
  getKVNamespace(binding: string, worker?: string): Promise<KvLike>;
  getInspectorURL(): Promise<URL>;
  dispose(): Promise<void>;
}

export interface KvLike {
  put(key: string, value: string | ArrayBuffer | ArrayBufferView): Promise<void>;
  get(key: string): Promise<string | null>;
  list(options?: { prefix?: string; cursor?: string }): Promise<{
    keys: { name: string }[];
    list_complete: boolean;
    cursor?: string;
  }>;
}

type MiniflareCtor = new (options: Record<string, unknown>) => MiniflareLike;

const wranglerRequire = () => createRequire(createRequire(import.meta.url).resolve('wrangler'));

export async function loadMiniflare(): Promise<{ Miniflare: MiniflareCtor; version: string }> {
  const req = wranglerRequire();
  const entry = req.resolve('miniflare');
  const mod = (await import(entry)) as { Miniflare: MiniflareCtor };
  const pkg = req('miniflare/package.json') as { version: string };
  return { Miniflare: mod.Miniflare, version: pkg.version };
}

export function versions(): { wrangler: string; workerd: string } {
  const req = createRequire(import.meta.url);
  const wrangler = (req('wrangler/package.json') as { version: string }).version;
  const mfReq = createRequire(wranglerRequire().resolve('miniflare'));
  const workerd = (mfReq('workerd/package.json') as { version: string }).version;
  return { wrangler, workerd };
}

/** `wrangler deploy --dry-run --outdir dir`: the bundle a deploy would upload. */
export function bundleWorker(outdir: string): string {
  const r = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', outdir], {
    encoding: 'utf8',
    env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
  });
  const file = join(outdir, 'index.js');
  if (r.status !== 0 || !existsSync(file))
    throw new Error(`wrangler deploy --dry-run failed:\n${r.stderr || r.stdout}`);
  return file;
}

/** compatibility_date and compatibility_flags from wrangler.toml. */
export function compatibility(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = parseToml(readFileSync('wrangler.toml', 'utf8')) as {
    compatibility_date?: string;
    compatibility_flags?: string[];
  };
  return {
    compatibilityDate: toml.compatibility_date ?? '2026-04-01',
    compatibilityFlags: toml.compatibility_flags ?? [],
  };
}

/**
 * ipgate's Worker as Miniflare runs it: the deploy bundle (`bundleWorker`), wrangler.toml's
 * compatibility settings, both KV namespaces and the broker Durable Object, plus `bindings`
 * (ORIGIN_URL, provider keys and URLs). Callers add what their run needs (D1, wrapped bindings).
 */
export function ipgateWorker(
  bundle: string,
  bindings: Record<string, string>,
): Record<string, unknown> & { name: string } {
  return {
    name: 'ipgate',
    modules: true,
    scriptPath: bundle,
    modulesRoot: dirname(bundle),
    ...compatibility(),
    kvNamespaces: { REPUTATION: 'reputation', POLICY: 'policy' },
    durableObjects: {
      REPUTATION_BROKER: { className: 'ReputationBroker', useSQLite: true },
    },
    bindings,
  };
}

/**
 * The baseline: forwards to ORIGIN_URL as ipgate's forward does (path and query kept, the
 * request's method, headers and body, redirects not followed), and nothing else.
 */
export const BARE_WORKER = `export default {
  fetch(request, env) {
    const url = request.url;
    const path = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    return fetch(new Request(env.ORIGIN_URL + path, request), { redirect: 'manual' });
  },
};
`;

/**
 * The bare Worker holding as much memory as ipgate's loaded table, and doing nothing with it:
 * typed arrays of BALLAST_ARRAY_BYTES (filled, so every page is touched) and strings of
 * BALLAST_TEXT_CHARS (the record texts' share of the V8 heap), made on the first request and
 * kept for the isolate's life. It separates what ipgate's code costs from what any isolate
 * holding a table that size costs in this runtime (its garbage collector and memory).
 */
export const BALLAST_WORKER = `const held = [];
function fill(env) {
  let bytes = Number(env.BALLAST_ARRAY_BYTES);
  for (let i = 1; bytes > 0; i++) {
    const n = Math.min(bytes, 16 << 20);
    held.push(new Uint32Array(n >>> 2).fill(i));
    bytes -= n;
  }
  let chars = Number(env.BALLAST_TEXT_CHARS);
  const unit = '{"score":"safe","categories":["hosting"],"country":"US","asn":64496,"org":"Ballast"}';
  for (let i = 0; chars > 0; i++) {
    const n = Math.min(chars, 1 << 20);
    held.push((String(i) + unit.repeat(Math.ceil(n / unit.length))).slice(0, n));
    chars -= n;
  }
}
export default {
  fetch(request, env) {
    if (held.length === 0) fill(env);
    const url = request.url;
    const path = url.slice(url.indexOf('/', url.indexOf('//') + 2));
    return fetch(new Request(env.ORIGIN_URL + path, request), { redirect: 'manual' });
  },
};
`;

/** Drains workerd's output (the Worker's console), or copies it to stderr with --verbose. */
export function runtimeStdio(verbose: boolean) {
  return (stdout: NodeJS.ReadableStream, stderr: NodeJS.ReadableStream) => {
    for (const s of [stdout, stderr]) {
      if (verbose) s.pipe(process.stderr);
      else s.resume();
    }
  };
}

// ── The workerd process ───────────────────────────────────────────────────────────────────

function childPids(comm: string): number[] {
  const out: number[] = [];
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const stat = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[1]) !== process.pid) continue;
      if (readFileSync(`/proc/${d}/comm`, 'utf8').trim() === comm) out.push(Number(d));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** The pid of the workerd child this process started last and `known` does not hold. */
export async function newWorkerdPid(known: Iterable<number>): Promise<number> {
  const skip = new Set(known);
  const until = Date.now() + 5_000;
  while (Date.now() < until) {
    const pid = childPids('workerd').find((p) => !skip.has(p));
    if (pid !== undefined) return pid;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('no workerd child process found (the benchmark needs Linux /proc)');
}

let clockTicks = 0;
function ticksPerSecond(): number {
  if (clockTicks === 0) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout.trim()) || 100;
  }
  return clockTicks;
}

/** User + system CPU time of a process so far, in ms (all its threads). */
export function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5): utime, stime; `fields` starts at field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / ticksPerSecond();
}

/** Resident set size of a process, in bytes. */
export function rssBytes(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = /VmRSS:\s+(\d+)/.exec(status)?.[1];
  return Number(kb ?? 0) * 1024;
}

// ── The isolate, through the inspector ───────────────────────────────────────────────────

export interface HeapUsage {
  /** V8 heap in use (objects). */
  usedSize: number;
  totalSize: number;
  /** ArrayBuffer backing stores (typed arrays live here, outside the V8 heap). */
  backingStorageSize: number;
  embedderHeapUsedSize: number;
}

/** A DevTools-protocol client for one Worker's isolate, through workerd's inspector. */
export interface Inspector {
  call(method: string, params?: Record<string, unknown>): Promise<unknown>;
  close(): void;
}

export async function openInspector(
  mf: MiniflareLike,
  worker: string,
  timeoutMs = 10_000,
): Promise<Inspector> {
  const url = await mf.getInspectorURL();
  const ws = new WebSocket(`ws://${url.host}/core:user:${worker}`);
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  let id = 0;
  const pending = new Map<number, (v: unknown) => void>();
  ws.on('message', (m) => {
    const d = JSON.parse(String(m)) as { id?: number; result?: unknown };
    if (d.id !== undefined) pending.get(d.id)?.(d.result);
  });
  return {
    call: (method, params = {}) =>
      new Promise((resolve, reject) => {
        const n = ++id;
        const timer = setTimeout(
          () => reject(new Error(`inspector: ${method} timed out`)),
          timeoutMs,
        );
        pending.set(n, (v) => {
          clearTimeout(timer);
          resolve(v);
        });
        ws.send(JSON.stringify({ id: n, method, params }));
      }),
    close: () => ws.close(),
  };
}

/**
 * Heap usage of one Worker's isolate after a full GC. workerd runs inspector commands when the
 * isolate next has work, so `nudge` (a request to the Worker) lets the GC happen.
 */
export async function isolateHeap(
  mf: MiniflareLike,
  worker: string,
  nudge: () => Promise<unknown>,
): Promise<HeapUsage> {
  const inspector = await openInspector(mf, worker);
  try {
    const gc = inspector.call('HeapProfiler.collectGarbage');
    await new Promise((r) => setTimeout(r, 50));
    await nudge();
    await gc;
    return (await inspector.call('Runtime.getHeapUsage')) as HeapUsage;
  } finally {
    inspector.close();
  }
}

/**
 * Miniflare options for one plain module Worker (the baselines), in a workerd process of its
 * own with an inspector, under wrangler.toml's compatibility settings.
 */
export function plainWorkerOptions(
  name: string,
  script: string,
  bindings: Record<string, string>,
  handleRuntimeStdio: ReturnType<typeof runtimeStdio>,
): Record<string, unknown> {
  return {
    host: '127.0.0.1',
    port: 0,
    cf: false,
    inspectorPort: 0,
    handleRuntimeStdio,
    workers: [{ name, modules: true, script, ...compatibility(), bindings }],
  };
}
