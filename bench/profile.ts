/**
 * `npm run bench:profile`: where ipgate's isolate spends its CPU on one warm path. Starts ipgate
 * as `npm run bench` does (Miniflare, the deploy bundle, the seeded table with every chunk
 * loaded), records a V8 CPU profile through workerd's inspector while the load generator runs,
 * and prints the functions with the most self time (one JSON object per line), including
 * V8's `(garbage collector)` and `(program)` entries. The raw profile is written to --out
 * (open it in Chrome DevTools' Performance panel).
 *
 *   npm run bench:profile -- [--path /login] [--ip 44.0.0.1] [--duration 10]
 *     [--connections 32] [--table-intervals 1000000] [--records feeds|small] [--top 25]
 *     [--out bench/results/profile.cpuprofile] [--bare | --script worker.js]
 *
 * `workerdCpuMsPerRequest` is the workerd process's CPU time (all threads, /proc) over the
 * profiled window per request: with the profiler attached, so for comparing variants only.
 * `--bare` profiles the pass-through Worker instead, `--script` any module Worker, with the
 * same bindings: a baseline for an experiment. Self times of native calls land on the nearest
 * JavaScript frame, so read a large self time of a small function as "here or in what it calls
 * into the runtime".
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { POLICY_CURRENT_KEY } from '../src/constants';
import { DEFAULT_POLICY_DOCUMENT } from '../src/policy/defaults';
import { haveWrk, runLoad } from './http/load';
import { startOrigin } from './http/origin';
import {
  benchTable,
  CLEAN_IP,
  chunkProbeIps,
  RECORD_MIXES,
  type RecordMix,
  seedTable,
} from './http/table';
import {
  BARE_WORKER,
  bundleWorker,
  cpuMs,
  ipgateWorker,
  loadMiniflare,
  newWorkerdPid,
  openInspector,
  runtimeStdio,
} from './http/workerd';

const { values: args } = parseArgs({
  options: {
    path: { type: 'string', default: '/login' },
    ip: { type: 'string', default: CLEAN_IP },
    duration: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    'table-intervals': { type: 'string', default: '1000000' },
    records: { type: 'string', default: 'feeds' },
    top: { type: 'string', default: '25' },
    'sampling-us': { type: 'string', default: '100' },
    out: { type: 'string', default: 'bench/results/profile.cpuprofile' },
    bare: { type: 'boolean', default: false },
    script: { type: 'string' },
  },
});

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
  children?: number[];
}
interface Profile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** Self time per function (ms), biggest first, from the profile's samples and time deltas. */
function selfTimes(profile: Profile) {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const next = deltas[i + 1] ?? 0;
    const id = samples[i] as number;
    self.set(id, (self.get(id) ?? 0) + next);
  }
  const byFunction = new Map<string, number>();
  for (const [id, us] of self) {
    const f = byId.get(id)?.callFrame;
    if (!f) continue;
    const file = f.url.split('/').pop() ?? '';
    const key = `${f.functionName || '(anonymous)'} ${file}:${f.lineNumber + 1}`;
    byFunction.set(key, (byFunction.get(key) ?? 0) + us);
  }
  const total = [...byFunction.values()].reduce((a, b) => a + b, 0);
  return {
    totalMs: total / 1000,
    rows: [...byFunction.entries()]
      .sort((a, b) => b[1] - a[1])
      .map(([fn, us]) => ({ fn, selfMs: us / 1000, share: us / total })),
  };
}

async function main(): Promise<void> {
  const records = args.records as RecordMix;
  if (!RECORD_MIXES.includes(records)) throw new Error(`--records: one of ${RECORD_MIXES}`);
  const dir = mkdtempSync(join(tmpdir(), 'ipgate-bench-profile-'));
  const origin = await startOrigin();
  const { Miniflare } = await loadMiniflare();
  const gate = ipgateWorker(bundleWorker(join(dir, 'bundle')), { ORIGIN_URL: origin.url });
  // --bare or --script: the same bindings around another Worker (an experiment's baseline).
  const { scriptPath: _bundle, modulesRoot: _root, ...around } = gate;
  const script = args.script ? readFileSync(args.script, 'utf8') : args.bare ? BARE_WORKER : null;
  const mf = new Miniflare({
    host: '127.0.0.1',
    port: 0,
    cf: false,
    inspectorPort: 0,
    handleRuntimeStdio: runtimeStdio(false),
    kvPersist: join(dir, 'kv'),
    durableObjectsPersist: join(dir, 'do'),
    workers: [script === null ? gate : { ...around, script }],
  });
  try {
    const base = String(await mf.ready);
    const pid = await newWorkerdPid([]);
    const gen = await benchTable(Number(args['table-intervals']), records);
    await seedTable(await mf.getKVNamespace('REPUTATION'), gen);
    await (await mf.getKVNamespace('POLICY')).put(
      POLICY_CURRENT_KEY,
      JSON.stringify(DEFAULT_POLICY_DOCUMENT),
    );
    const get = (path: string, ip: string) =>
      fetch(new URL(path, base), { headers: { 'CF-Connecting-IP': ip } }).then((r) => r.text());
    for (const ip of chunkProbeIps(gen)) await get('/login', ip);
    await new Promise((r) => setTimeout(r, 3000));
    const client = haveWrk() ? 'wrk' : 'node';
    const load = {
      url: new URL(args.path ?? '/login', base).href,
      connections: Number(args.connections),
      threads: 1,
      ip: args.ip,
    };
    process.stderr.write(`profile: warm-up, then ${args.duration} s of ${load.url}\n`);
    await runLoad(client, { ...load, durationS: 3 });
    const insp = await openInspector(mf, 'ipgate', 120_000);
    await insp.call('Profiler.enable');
    await insp.call('Profiler.setSamplingInterval', { interval: Number(args['sampling-us']) });
    const started = insp.call('Profiler.start');
    await get('/', args.ip ?? CLEAN_IP); // inspector commands run when the isolate has work
    await started;
    const cpuBefore = cpuMs(pid);
    const result = await runLoad(client, { ...load, durationS: Number(args.duration) });
    const cpuMsPerRequest = (cpuMs(pid) - cpuBefore) / Math.max(1, result.requests);
    const stopped = insp.call('Profiler.stop') as Promise<{ profile: Profile }>;
    await get('/', args.ip ?? CLEAN_IP);
    const { profile } = await stopped;
    insp.close();
    const out = args.out ?? 'bench/results/profile.cpuprofile';
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, JSON.stringify(profile));
    const { totalMs, rows } = selfTimes(profile);
    const requests = result.requests;
    console.log(
      JSON.stringify({
        scenario: 'profile',
        path: args.path,
        ip: args.ip,
        records,
        requests,
        rps: Math.round(result.rps),
        p50Ms: result.latencyMs.p50,
        p99Ms: result.latencyMs.p99,
        profiledMs: Math.round(totalMs),
        workerdCpuMsPerRequest: Math.round(cpuMsPerRequest * 1000) / 1000,
        out,
      }),
    );
    for (const r of rows.slice(0, Number(args.top)))
      console.log(
        JSON.stringify({
          fn: r.fn,
          selfMs: Math.round(r.selfMs),
          share: Math.round(r.share * 1000) / 1000,
          usPerRequest: Math.round((r.selfMs * 1000) / Math.max(1, requests)),
        }),
      );
  } finally {
    await mf.dispose();
    await origin.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
