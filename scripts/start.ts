/**
 * `npm start`: ipgate locally, on its embedded defaults, with no account, key or network.
 *
 * 1. Seeds local KV (only what is absent, so a table synced later or an edited policy stays):
 *    the sample table from sample/reputation.csv and the built-in policy.
 * 2. Starts the demo origin on 127.0.0.1:8788, unless `.dev.vars` names an ORIGIN_URL.
 * 3. Unless a CRIMINALIP_API_KEY is set (`.dev.vars` or the environment), starts the local fake
 *    Criminal IP API (test/support/fake-criminalip.ts, the one the tests use) on 127.0.0.1:8789
 *    with a few demo verdicts, so live lookups work offline: 203.0.113.150 is Critical,
 *    203.0.113.151 a Tor exit, 203.0.113.152 a hosting server; any other public IP is Safe.
 * 4. Applies the D1 schema (migrations/) to the local decision store the dashboard and
 *    `ipgate report --local` read.
 * 5. Runs `wrangler dev` on http://localhost:8787. The dashboard is at /__ipgate/, signed in
 *    with ADMIN_TOKEN from `.dev.vars`, `--admin-token`, or else a random token printed here.
 *
 * Flags: --port N (default 8787), --origin-port N (8788), --api-port N (8789), --reseed
 * (overwrite the sample table and policy), --persist-to DIR (local state elsewhere than
 * .wrangler/state), --inspector-port N (for a second wrangler dev beside another).
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs, parseEnv } from 'node:util';
import { buildEntries, problemLines } from '../cli/build';
import { policyKv } from '../cli/commands/config';
import { writeGeneration } from '../cli/commands/sync';
import { localKv, wrangler } from '../cli/kv/local';
import { generationPairs } from '../cli/table-writer';
import { POLICY_CURRENT_KEY, TABLE_MANIFEST_KEY } from '../src/constants';
import { DEFAULT_POLICY_DOCUMENT } from '../src/policy/defaults';
import { savePolicy } from '../src/policy/versions';
import { startFakeCriminalIp } from '../test/support/fake-criminalip';
import { FAKE_CRIMINALIP_KEY, setFakeRecords } from '../test/support/fake-criminalip-protocol';
import { startDemoOrigin } from './demo-origin';

const SAMPLE_CSV = 'sample/reputation.csv';

/** What the fake API says about a few addresses the sample table does not list. */
const DEMO_VERDICTS: Record<string, Record<string, unknown>> = {
  '203.0.113.150': { score: { inbound: 'Critical', outbound: 'Critical' } },
  '203.0.113.151': { score: { inbound: 'Low', outbound: 'Low' }, issues: { is_tor: true } },
  '203.0.113.152': {
    score: { inbound: 'Moderate', outbound: 'Low' },
    issues: { is_hosting: true },
  },
};

const { values: args } = parseArgs({
  options: {
    port: { type: 'string', default: '8787' },
    'origin-port': { type: 'string', default: '8788' },
    'api-port': { type: 'string', default: '8789' },
    'admin-token': { type: 'string' },
    reseed: { type: 'boolean', default: false },
    'persist-to': { type: 'string' },
    'inspector-port': { type: 'string' },
  },
});

function log(message: string): void {
  process.stdout.write(`[ipgate] ${message}\n`);
}

async function seed(reseed: boolean, persistTo: string | undefined): Promise<void> {
  const reputation = localKv('REPUTATION', { persistTo });
  if (reseed || (await reputation.get(TABLE_MANIFEST_KEY)) === null) {
    const text = readFileSync(SAMPLE_CSV, 'utf8');
    const result = buildEntries([
      { name: 'sample', format: 'ipgate-csv', text, mapping: { source: 'sample' } },
    ]);
    for (const line of problemLines(result)) log(`${SAMPLE_CSV}: ${line}`);
    const gen = await generationPairs(result.entries);
    await writeGeneration(reputation, gen);
    log(
      `loaded sample table: ${result.entries.length} networks, generation ${gen.manifest.generation}`,
    );
  } else {
    log('local table present; keeping it (--reseed to replace it with the sample)');
  }
  const policy = localKv('POLICY', { persistTo });
  if (reseed || (await policy.get(POLICY_CURRENT_KEY)) === null) {
    // Saved as a version, so the dashboard and `ipgate config rollback` can return to it.
    const text = `${JSON.stringify(DEFAULT_POLICY_DOCUMENT, null, 2)}\n`;
    const saved = await savePolicy(policyKv(policy), text, new Date());
    if (!saved.ok)
      throw new Error(`the default policy is invalid: ${JSON.stringify(saved.issues)}`);
    log(`loaded the default policy (version ${saved.id})`);
  } else {
    log('local policy present; keeping it');
  }
}

async function main(): Promise<void> {
  const devVars = existsSync('.dev.vars') ? parseEnv(readFileSync('.dev.vars', 'utf8')) : {};
  const persistTo = args['persist-to'];
  await seed(args.reseed ?? false, persistTo);
  wrangler(['d1', 'migrations', 'apply', 'DECISIONS_DB'], { persistTo });
  log('decision store: local D1 schema up to date');
  const wranglerArgs = ['wrangler', 'dev', '--ip', '127.0.0.1', '--port', String(args.port)];
  const adminToken = args['admin-token'] ?? devVars.ADMIN_TOKEN;
  if (!devVars.ADMIN_TOKEN) {
    const token = adminToken ?? randomBytes(32).toString('base64url');
    wranglerArgs.push('--var', `ADMIN_TOKEN:${token}`);
    if (!adminToken) log(`dashboard token (this run only): ${token}`);
  }
  if (persistTo) wranglerArgs.push('--persist-to', persistTo);
  if (args['inspector-port']) wranglerArgs.push('--inspector-port', args['inspector-port']);
  let closeOrigin = async () => {};
  if (devVars.ORIGIN_URL) {
    log(`origin: ${devVars.ORIGIN_URL} (from .dev.vars)`);
  } else {
    const port = Number(args['origin-port']);
    const server = await startDemoOrigin(port);
    closeOrigin = () => new Promise((resolve) => server.close(() => resolve()));
    wranglerArgs.push('--var', `ORIGIN_URL:http://127.0.0.1:${port}`);
    log(`origin: demo site on http://127.0.0.1:${port}`);
  }
  let closeApi = async () => {};
  if (devVars.CRIMINALIP_API_KEY || process.env.CRIMINALIP_API_KEY) {
    log('live lookups: Criminal IP with the key from .dev.vars / the environment');
  } else {
    const api = await startFakeCriminalIp(Number(args['api-port']));
    closeApi = () => api.close();
    await setFakeRecords(api.url, { criminalip: DEMO_VERDICTS });
    wranglerArgs.push('--var', `CRIMINALIP_API_KEY:${FAKE_CRIMINALIP_KEY}`);
    wranglerArgs.push('--var', `CRIMINALIP_API_URL:${api.url}`);
    log(`live lookups: local fake Criminal IP API on ${api.url} (no CRIMINALIP_API_KEY set)`);
  }
  log(`ipgate: http://localhost:${args.port}  (health: /__ipgate/health, dashboard: /__ipgate/)`);
  const child = spawn('npx', wranglerArgs, { stdio: 'inherit' });
  const stop = (signal: NodeJS.Signals) => child.kill(signal);
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  child.on('exit', async (code) => {
    await closeOrigin();
    await closeApi();
    process.exit(code ?? 0);
  });
}

main().catch((e: unknown) => {
  process.stderr.write(`[ipgate] start failed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
