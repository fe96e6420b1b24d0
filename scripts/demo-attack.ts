/**
 * `npm run demo:attack`: the case, replayed on this machine.
 *
 * 1. Generates an attack set shaped like the published case (scripts/attack-set.ts: 6,972
 *    attacker IPs with the case's exact score mix, plus ordinary residential users) with a
 *    seeded PRNG, and writes it as ipgate CSVs: `attack.csv` (loaded into the table) and
 *    `residential.csv` (never loaded: read only for the replay's own summary).
 * 2. Loads attack.csv into the local table, as `ipgate sync --local --file attack.csv` does.
 * 3. Replays every attacker once, then every residential user once, against the local ipgate
 *    (`--target`, default http://localhost:8787). If nothing answers there, starts
 *    scripts/start.ts itself on free ports, and stops it at the end.
 * 4. Prints both replay summaries, then the decision log's report (`ipgate report`).
 *
 * Flags: --target URL, --persist-to DIR (the local state npm start uses; passed to sync, start
 * and report), --seed N, --residential N, --rate N, --concurrency N, --path PATH, --out DIR
 * (where the CSVs go; default a fresh temp directory), --residential-live (see below).
 *
 * The residential users are unknown to the table, so ipgate asks the live API about them.
 * With npm start's local fake API that costs nothing; with a real CRIMINALIP_API_KEY or
 * ABUSEIPDB_API_KEY (in .dev.vars or the environment) it would spend real quota on made-up
 * addresses, so then they are skipped unless --residential-live says otherwise.
 *
 * This replaces the local table with the demo's; `npm start -- --reseed` puts the sample back.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs, parseEnv } from 'node:util';
import { runSync } from '../cli/commands/sync';
import { CliError, formatCliError } from '../cli/errors';
import { COMMANDS, main as ipgate } from '../cli/main';
import { checkLocalTarget, parseTarget } from '../cli/replay/guard';
import { runReplay } from '../cli/replay/index';
import { formatSummary, type ReplaySummary } from '../cli/replay/summary';
import { readReplayClients } from '../cli/replay/targets';
import {
  DEMO_DEFAULT_SEED,
  DEMO_RESIDENTIAL_USERS,
  DEMO_START_TIMEOUT_MS,
  DEMO_TABLE_SWITCH_TIMEOUT_MS,
  REPLAY_DEFAULT_CONCURRENCY,
  REPLAY_DEFAULT_PATH,
  REPLAY_DEFAULT_RATE,
  REPLAY_DEFAULT_TARGET,
  RESERVED_PREFIX,
} from '../src/constants';
import { CASE_SCORE_MIX, generateAttackSet, toIpgateCsv } from './attack-set';

const { values: args } = parseArgs({
  options: {
    target: { type: 'string', default: REPLAY_DEFAULT_TARGET },
    'persist-to': { type: 'string' },
    seed: { type: 'string', default: String(DEMO_DEFAULT_SEED) },
    residential: { type: 'string', default: String(DEMO_RESIDENTIAL_USERS) },
    rate: { type: 'string', default: String(REPLAY_DEFAULT_RATE) },
    concurrency: { type: 'string', default: String(REPLAY_DEFAULT_CONCURRENCY) },
    path: { type: 'string', default: REPLAY_DEFAULT_PATH },
    out: { type: 'string' },
    'residential-live': { type: 'boolean', default: false },
  },
});

function say(message: string): void {
  process.stdout.write(`[demo] ${message}\n`);
}

function wholeNumber(name: string, value: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min)
    throw new CliError(`--${name} ${JSON.stringify(value)} is not a whole number ≥ ${min}`);
  return n;
}

function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const s = createServer();
    s.once('error', fail);
    s.listen(0, '127.0.0.1', () => {
      const addr = s.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      s.close(() => ok(port));
    });
  });
}

interface Health {
  table?: { generation?: string; entries?: number };
}

async function health(base: string): Promise<Health | null> {
  try {
    const res = await fetch(`${base}${RESERVED_PREFIX}/health`, {
      signal: AbortSignal.timeout(3_000),
    });
    return res.ok ? ((await res.json()) as Health) : {};
  } catch {
    return null;
  }
}

/** scripts/start.ts in its own process group, so stopping it stops wrangler too. */
class Stack {
  private output = '';
  private readonly exited: Promise<void>;
  readonly child: ChildProcess;

  constructor(args: string[]) {
    this.child = spawn('npx', ['tsx', 'scripts/start.ts', ...args], {
      detached: true,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
    const keep = (d: unknown) => {
      this.output = (this.output + String(d)).slice(-20_000);
    };
    this.child.stdout?.on('data', keep);
    this.child.stderr?.on('data', keep);
    this.exited = new Promise((ok) => this.child.once('exit', () => ok()));
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  tail(lines = 20): string {
    return this.output.trim().split('\n').slice(-lines).join('\n');
  }

  async stop(): Promise<void> {
    const pid = this.child.pid;
    if (!this.running || !pid) return;
    try {
      process.kill(-pid, 'SIGTERM');
    } catch {
      return;
    }
    const force = setTimeout(() => {
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }, 5_000);
    await this.exited;
    clearTimeout(force);
  }
}

async function startStack(persistTo: string | undefined): Promise<{ stack: Stack; base: string }> {
  const [port, origin, api, inspector] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const flags = [
    '--port',
    String(port),
    '--origin-port',
    String(origin),
    '--api-port',
    String(api),
  ];
  flags.push('--inspector-port', String(inspector));
  if (persistTo) flags.push('--persist-to', persistTo);
  const stack = new Stack(flags);
  const base = `http://127.0.0.1:${port}`;
  say(`nothing answers at ${args.target}: starting ipgate (scripts/start.ts) on ${base}`);
  const until = Date.now() + DEMO_START_TIMEOUT_MS;
  while (Date.now() < until) {
    if (!stack.running)
      throw new CliError(
        `scripts/start.ts exited early:\n${stack.tail()}`,
        'try "npm start" alone',
      );
    if (await health(base)) return { stack, base };
    await new Promise((r) => setTimeout(r, 500));
  }
  await stack.stop();
  throw new CliError(
    `ipgate did not answer on ${base} within ${DEMO_START_TIMEOUT_MS / 1000} s:\n${stack.tail()}`,
  );
}

/**
 * Waits until the Worker serves `generation`. It checks for a new table every 30 s, but only
 * when a request comes in, so one harmless request (the home page, from a documentation
 * address, marked as a replay) is sent every few seconds while waiting.
 */
async function waitForTable(base: string, generation: string): Promise<void> {
  const until = Date.now() + DEMO_TABLE_SWITCH_TIMEOUT_MS;
  let nudgedAt = 0;
  say('waiting for the Worker to pick up the new table (it checks every 30 s)');
  while (Date.now() < until) {
    const h = await health(base);
    if (h?.table?.generation === generation) return;
    if (Date.now() - nudgedAt > 5_000) {
      nudgedAt = Date.now();
      await fetch(`${base}/`, {
        headers: { 'CF-Connecting-IP': '192.0.2.1', 'x-ipgate-replay': 'demo-warmup' },
        signal: AbortSignal.timeout(3_000),
      })
        .then((r) => r.body?.cancel())
        .catch(() => {});
    }
    await new Promise((r) => setTimeout(r, 1_000));
  }
  throw new CliError(
    `the Worker at ${base} still serves another table than the one just written (${generation})`,
    'is it the npm start of this directory, with the same --persist-to? Pass the same --persist-to to the demo',
  );
}

/** True when live lookups would reach a real provider (a key in .dev.vars or the environment). */
function realProviderKey(): boolean {
  const devVars = existsSync('.dev.vars') ? parseEnv(readFileSync('.dev.vars', 'utf8')) : {};
  return ['CRIMINALIP_API_KEY', 'ABUSEIPDB_API_KEY'].some(
    (k) => Boolean(devVars[k]) || Boolean(process.env[k]),
  );
}

/** The decision log's report for the last hour — the single place the demo calls it. */
async function printReport(persistTo: string | undefined): Promise<void> {
  if (!COMMANDS.report) {
    say('the report is not available yet (no "ipgate report" command in this version)');
    return;
  }
  const argv = ['report', '--local', '--since', '1h'];
  if (persistTo) argv.push('--persist-to', persistTo);
  say(`ipgate ${argv.join(' ')}`);
  const code = await ipgate(argv);
  if (code !== 0) say(`ipgate report exited with ${code}`);
}

async function demo(): Promise<number> {
  const seed = wholeNumber('seed', args.seed, 0);
  const residentialCount = wholeNumber('residential', args.residential, 0);
  const rate = Number(args.rate);
  if (!(rate > 0))
    throw new CliError(`--rate ${JSON.stringify(args.rate)} is not a number above 0`);
  const concurrency = wholeNumber('concurrency', args.concurrency, 1);
  const persistTo = args['persist-to'] ? resolve(args['persist-to']) : undefined;
  await checkLocalTarget(parseTarget(args.target), false);

  const set = generateAttackSet({ seed, residential: residentialCount });
  const dir = args.out ? resolve(args.out) : mkdtempSync(join(tmpdir(), 'ipgate-demo-'));
  mkdirSync(dir, { recursive: true });
  const attackFile = join(dir, 'attack.csv');
  const residentialFile = join(dir, 'residential.csv');
  const header = [
    `ipgate demo attack set, seed ${seed} (scripts/attack-set.ts): synthetic, shaped like the published case.`,
    'Made-up addresses, organisations and private AS numbers; not threat data.',
  ];
  writeFileSync(attackFile, toIpgateCsv(set.attackers, header));
  writeFileSync(
    residentialFile,
    toIpgateCsv(set.residential, [...header, 'Residential users: NOT loaded into the table.']),
  );
  const mix = Object.entries(CASE_SCORE_MIX)
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  say(
    `seed ${seed}: ${set.attackers.length} attacker IPs (${mix}), ${set.residential.length} residential users`,
  );
  say(`wrote ${attackFile} and ${residentialFile}`);

  let base = args.target.replace(/\/+$/, '');
  let stack: Stack | null = null;
  const running = (await health(base)) !== null;
  const stop = new AbortController();
  const onSigint = () => {
    say('interrupted: finishing the requests in flight');
    stop.abort();
  };
  process.once('SIGINT', onSigint);
  try {
    say(`loading ${attackFile} into the local table (ipgate sync --local --file)`);
    const sync = await runSync(
      {
        feeds: [{ name: 'attack.csv', format: 'ipgate-csv', path: attackFile, enabled: true }],
        baseDir: dir,
      },
      { local: true, 'persist-to': persistTo },
    );
    if (running) await waitForTable(base, sync.generation);
    else {
      ({ stack, base } = await startStack(persistTo));
    }

    const replayOptions = {
      target: base,
      path: args.path,
      rate,
      requestsPerIp: 1,
      concurrency,
      allowRemote: false,
      signal: stop.signal,
    };
    const summaries: [string, ReplaySummary][] = [];
    summaries.push([
      'attackers',
      await runReplay({
        ...replayOptions,
        input: readReplayClients(readFileSync(attackFile, 'utf8')),
        label: `attackers → ${args.path}`,
      }),
    ]);
    const liveKey = realProviderKey();
    if (stop.signal.aborted || residentialCount === 0) {
      // nothing more to send
    } else if (liveKey && !args['residential-live']) {
      say(
        'residential users skipped: a real provider key is set (.dev.vars or environment), and ipgate would ' +
          'look these made-up addresses up live and spend quota. --residential-live replays them anyway.',
      );
    } else {
      summaries.push([
        'residential users',
        await runReplay({
          ...replayOptions,
          input: readReplayClients(readFileSync(residentialFile, 'utf8')),
          label: `residential users → ${args.path}`,
        }),
      ]);
    }

    process.stdout.write('\n');
    for (const [title, s] of summaries) process.stdout.write(`${formatSummary(s, title)}\n\n`);
    const [, attack] = summaries[0] as [string, ReplaySummary];
    const stopped = attack.outcomes.blocked + attack.outcomes.challenged;
    say(
      `attackers stopped at the edge: ${stopped} of ${attack.requests} requests (${attack.requests ? Math.round((stopped / attack.requests) * 1000) / 10 : 0}%)`,
    );
    const residential = summaries[1]?.[1];
    if (residential)
      say(
        `residential users passed: ${residential.outcomes.passed} of ${residential.requests} requests`,
      );
    process.stdout.write('\n');
    await printReport(persistTo);
    return stop.signal.aborted ? 130 : 0;
  } finally {
    process.removeListener('SIGINT', onSigint);
    if (stack) {
      say('stopping the ipgate this demo started');
      await stack.stop();
    }
  }
}

demo().then(
  (code) => process.exit(code),
  (e: unknown) => {
    process.stderr.write(`${formatCliError(e)}\n`);
    process.exit(1);
  },
);
