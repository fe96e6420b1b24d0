/**
 * `ipgate enrich`: look addresses up through a live provider, once, and add the answers to the
 * table, so the edge blocks them from then on without another API call.
 *
 *   ipgate enrich --file ips.txt [--provider criminalip] [--budget 100] [--out ipgate.enriched.csv]
 *   ipgate enrich --from-log --remote [--since 24h] …
 *
 * Inputs (cli/enrich/input.ts, cli/enrich/decision-log.ts) → one candidate per client, without
 * non-public addresses, clients the output already holds, and (by default) clients the current
 * table knows (cli/enrich/select.ts) → one provider call at a time within the budget
 * (cli/enrich/run.ts), each answer appended to the output CSV at once
 * (cli/enrich/results-file.ts) → the table rebuilt exactly as `ipgate sync` does, from the feeds
 * config with the output CSV as one more feed.
 *
 * The provider key comes from the environment only and never appears in output: provider
 * failures are redacted where they are made (src/providers/http.ts), and nothing here prints it.
 */
import { existsSync, readFileSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import {
  ENRICH_BACKOFF_BASE_MS,
  ENRICH_DEFAULT_BUDGET,
  ENRICH_DEFAULT_SINCE,
  ENRICH_LOG_MAX_IPS,
  ENRICH_MAX_REPORTED_PROBLEMS,
  ENRICH_TABLE_READ_DEADLINE_MS,
} from '../../src/constants';
import {
  createProvider,
  PROVIDER_NAMES,
  type ProviderName,
  type ReputationProvider,
} from '../../src/providers/index';
import { TableStore } from '../../src/reputation/table-store';
import {
  decisionLogSql,
  decisionsDataset,
  type LogClient,
  parseSince,
  queryDecisionLog,
} from '../enrich/decision-log';
import { type InputFormat, parseInput } from '../enrich/input';
import { ResultsFile, readDone, resultRow } from '../enrich/results-file';
import { type RunReport, runLookups } from '../enrich/run';
import { type Candidate, dropKnown, type Sourced, selectCandidates } from '../enrich/select';
import { CliError, formatCliError } from '../errors';
import { type FeedsConfig, loadFeedsConfig } from '../feeds-config';
import type { KvStore } from '../kv/store';
import { info, progress } from '../output';
import { realSleep } from '../retry';
import { describeTarget, kvFor, TARGET_OPTIONS, type TargetFlags } from '../target';
import { asKvReader } from './lookup';
import { runSync, type SyncReport } from './sync';

const DEFAULT_OUT = 'ipgate.enriched.csv';
const DEFAULT_CONFIG = 'ipgate.feeds.json';

export const ENRICH_USAGE = `usage: ipgate enrich (--file PATH | --from-log --remote) [options]
  --file PATH         addresses to look up: one per line, an ipgate CSV (its network column) or
                      JSON Lines with an "ip" field (a decision log export)
  --from-log          clients the decision log saw on auth paths without a record (needs --remote)
  --since DURATION    how far back --from-log reads: 30m, 24h, 7d (default ${ENRICH_DEFAULT_SINCE})
  --dataset NAME      Analytics Engine dataset (default: the DECISIONS binding in wrangler.toml)
  --provider NAME     criminalip (default) or abuseipdb; key from CRIMINALIP_API_KEY or
                      ABUSEIPDB_API_KEY, base URL from CRIMINALIP_API_URL or ABUSEIPDB_API_URL
  --budget N          at most N API calls, retries included (default ${ENRICH_DEFAULT_BUDGET})
  --out PATH          ipgate CSV the answers are appended to (default ${DEFAULT_OUT}); a second
                      run skips every address it holds
  --no-skip-known     also look up addresses the current table already has a record for
  --dry-run           list what would be looked up; no API call, nothing written
  --no-sync           do not rebuild the table afterwards
  --config FILE       feeds config the table is rebuilt from, plus --out (default ${DEFAULT_CONFIG}
                      when present; without one, the table is rebuilt from --out alone)
  --policy FILE       take the allow list from FILE instead of the target's current policy
  --local             read and write the local KV that npm start serves (default)
  --remote            the account's KV and decision log (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID)
  --json              print the summary as JSON on stdout`;

const PROVIDERS: Record<
  ProviderName,
  { label: string; keyVar: string; urlVar: string; keyHint: string }
> = {
  criminalip: {
    label: 'Criminal IP',
    keyVar: 'CRIMINALIP_API_KEY',
    urlVar: 'CRIMINALIP_API_URL',
    keyHint: 'the key is on your Criminal IP account page (My Information → API key)',
  },
  abuseipdb: {
    label: 'AbuseIPDB',
    keyVar: 'ABUSEIPDB_API_KEY',
    urlVar: 'ABUSEIPDB_API_URL',
    keyHint: 'create a key under your AbuseIPDB account → API',
  },
};

interface EnrichFlags extends TargetFlags {
  file?: string | undefined;
  'from-log'?: boolean | undefined;
  since?: string | undefined;
  dataset?: string | undefined;
  provider?: string | undefined;
  budget?: string | undefined;
  out?: string | undefined;
  'no-skip-known'?: boolean | undefined;
  'dry-run'?: boolean | undefined;
  'no-sync'?: boolean | undefined;
  config?: string | undefined;
  policy?: string | undefined;
  json?: boolean | undefined;
}

interface InputReport {
  file?: {
    path: string;
    format: InputFormat;
    addresses: number;
    badLines: number;
    networks: number;
  };
  log?: { dataset: string; since: string; clients: number; requests: number };
}

/** Prints at most ENRICH_MAX_REPORTED_PROBLEMS lines, then how many more there were. */
function reportLines(lines: string[]): void {
  for (const line of lines.slice(0, ENRICH_MAX_REPORTED_PROBLEMS)) info(line);
  if (lines.length > ENRICH_MAX_REPORTED_PROBLEMS)
    info(`… and ${lines.length - ENRICH_MAX_REPORTED_PROBLEMS} more`);
}

function parseBudget(text: string | undefined): number {
  if (text === undefined) return ENRICH_DEFAULT_BUDGET;
  if (!/^\d{1,9}$/.test(text) || Number(text) < 1)
    throw new CliError(`--budget "${text}" is not a positive whole number`, ENRICH_USAGE, 2);
  return Number(text);
}

function providerName(text: string | undefined): ProviderName {
  const name = (text ?? 'criminalip').toLowerCase();
  if (!(PROVIDER_NAMES as readonly string[]).includes(name))
    throw new CliError(
      `--provider "${text}" is not one ipgate knows`,
      `use one of ${PROVIDER_NAMES.join(', ')}`,
      2,
    );
  return name as ProviderName;
}

function makeProvider(name: ProviderName): ReputationProvider {
  const p = PROVIDERS[name];
  const apiKey = process.env[p.keyVar]?.trim() ?? '';
  if (apiKey === '')
    throw new CliError(
      `${p.keyVar} is not set, so ${p.label} cannot be asked`,
      `${p.keyHint}; then export ${p.keyVar}=… (or try --dry-run first, which needs no key)`,
    );
  const baseUrl = process.env[p.urlVar] || undefined;
  try {
    return createProvider(name, { apiKey, ...(baseUrl ? { baseUrl } : {}) });
  } catch (e) {
    // Construction errors name the option, never its value.
    throw new CliError(
      `${p.label}: ${e instanceof Error ? e.message : e}`,
      `check ${p.urlVar}: it must be an http(s) URL, or unset for the provider's own`,
    );
  }
}

function readInputFile(path: string): { sources: Sourced[]; report: InputReport['file'] } {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(
      `cannot read ${path}: ${e instanceof Error && 'code' in e ? e.code : e}`,
      'check the --file path',
    );
  }
  const parsed = parseInput(text);
  if ('error' in parsed) throw new CliError(`${path}: ${parsed.error}`);
  const name = basename(path);
  reportLines(
    [
      ...parsed.problems.map((p) => ({ line: p.line, text: p.message })),
      ...parsed.networks.map((n) => ({
        line: n.line,
        text: `skipped ${n.text}: a network, not one client`,
      })),
    ]
      .sort((a, b) => a.line - b.line)
      .map((p) => `${name} line ${p.line}: ${p.text}`),
  );
  info(
    `${name}: ${parsed.format}, ${parsed.addresses.length} address(es), ${parsed.problems.length} bad line(s), ${parsed.networks.length} network(s) skipped`,
  );
  return {
    sources: parsed.addresses.map((a) => ({ text: a.text, origin: `${name} line ${a.line}` })),
    report: {
      path,
      format: parsed.format,
      addresses: parsed.addresses.length,
      badLines: parsed.problems.length,
      networks: parsed.networks.length,
    },
  };
}

async function readDecisionLog(
  flags: EnrichFlags,
): Promise<{ sources: Sourced[]; report: InputReport['log'] }> {
  const since = parseSince(flags.since ?? ENRICH_DEFAULT_SINCE);
  const apiToken = process.env.CLOUDFLARE_API_TOKEN;
  const accountId = process.env.CLOUDFLARE_ACCOUNT_ID;
  if (!apiToken || !accountId)
    throw new CliError(
      '--from-log --remote needs CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID in the environment',
      'create a token with "Account Analytics: Read" (and "Workers KV Storage: Edit" to sync) in the Cloudflare dashboard',
    );
  const dataset = flags.dataset ?? decisionsDataset(flags['wrangler-config'] ?? 'wrangler.toml');
  const sql = decisionLogSql(dataset, since, ENRICH_LOG_MAX_IPS);
  const window = flags.since ?? ENRICH_DEFAULT_SINCE;
  info(`reading the decision log (${dataset}, last ${window}) from Analytics Engine`);
  const rows: LogClient[] = await queryDecisionLog(sql, {
    accountId,
    apiToken,
    apiBase: process.env.CLOUDFLARE_API_BASE_URL || undefined,
    onRetry: info,
  });
  const requests = rows.reduce((n, r) => n + r.requests, 0);
  info(
    `decision log: ${rows.length} client(s) without a record on auth paths (${requests} request(s))${rows.length >= ENRICH_LOG_MAX_IPS ? `; only the ${ENRICH_LOG_MAX_IPS} busiest are read` : ''}`,
  );
  return {
    sources: rows.map((r) => ({ text: r.ip, origin: 'decision log' })),
    report: { dataset, since: window, clients: rows.length, requests },
  };
}

/** The candidates the current table has no record for, read as `ipgate lookup` reads it. */
async function dropKnownToTable(
  candidates: Candidate[],
  store: KvStore,
): Promise<{ unknown: Candidate[]; known: string[] }> {
  info(`reading the current table from ${store.label} to skip the addresses it knows`);
  const kv = asKvReader(store);
  const tables = new TableStore();
  const options = { deadlineMs: ENRICH_TABLE_READ_DEADLINE_MS, waitUntil: () => {} };
  return dropKnown(candidates, async (c) => {
    const r = await tables.lookup(c.ip, kv, options);
    if (r.status === 'error')
      throw new CliError(
        `cannot read the table in ${store.label} to skip known addresses: ${r.error}`,
        'fix the table with "ipgate sync", or pass --no-skip-known to look every address up',
      );
    return r.status === 'hit';
  });
}

/** The feeds config with the results file as one more feed (alone when there is no config). */
function syncConfig(flags: EnrichFlags, out: string): FeedsConfig {
  const configFile = flags.config ?? (existsSync(DEFAULT_CONFIG) ? DEFAULT_CONFIG : null);
  const resultsPath = resolve(out);
  if (configFile === null) {
    info(
      `no feeds config (${DEFAULT_CONFIG}): the table is rebuilt from ${out} alone, as "ipgate sync --file ${out}" would; pass --config FILE to keep your other feeds in it`,
    );
    return {
      feeds: [{ name: feedName(out, []), format: 'ipgate-csv', path: resultsPath, enabled: true }],
      baseDir: process.cwd(),
    };
  }
  const config = loadFeedsConfig(configFile);
  const listed = config.feeds.some(
    (f) => f.path !== undefined && resolve(config.baseDir, f.path) === resultsPath,
  );
  if (listed) return config;
  const names = config.feeds.map((f) => f.name);
  return {
    ...config,
    feeds: [
      ...config.feeds,
      { name: feedName(out, names), format: 'ipgate-csv', path: resultsPath, enabled: true },
    ],
  };
}

/** A feed name (it becomes the records' `source`) for the results file, unique in the config. */
function feedName(out: string, taken: string[]): string {
  const base =
    basename(out)
      .replace(/[^A-Za-z0-9_.-]/g, '-')
      .replace(/^[^A-Za-z0-9]+/, '') || 'enriched';
  let name = base.slice(0, 64);
  for (let i = 2; taken.includes(name); i++) name = `${base.slice(0, 60)}-${i}`;
  return name;
}

function counts(record: Record<string, number>): string {
  const entries = Object.entries(record).sort(([a], [b]) => a.localeCompare(b));
  return entries.length ? entries.map(([k, v]) => `${k} ${v}`).join(', ') : 'none';
}

export async function enrichCommand(argv: string[]): Promise<number> {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      ...TARGET_OPTIONS,
      file: { type: 'string' },
      'from-log': { type: 'boolean' },
      since: { type: 'string' },
      dataset: { type: 'string' },
      provider: { type: 'string' },
      budget: { type: 'string' },
      out: { type: 'string' },
      'no-skip-known': { type: 'boolean' },
      'dry-run': { type: 'boolean' },
      'no-sync': { type: 'boolean' },
      config: { type: 'string' },
      policy: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (flags.help) {
    process.stdout.write(`${ENRICH_USAGE}\n`);
    return 0;
  }
  if (!flags.file && !flags['from-log'])
    throw new CliError(
      'nothing to look up: give --file PATH, --from-log --remote, or both',
      ENRICH_USAGE,
      2,
    );
  const target = describeTarget(flags);
  if (flags['from-log'] && target === 'local')
    throw new CliError(
      '--from-log reads the decision log, and there is no local decision log yet: locally the Worker records decisions nowhere a command can read (the D1 store does not exist yet)',
      'read the production log with --from-log --remote, or export events as JSON Lines and pass --file',
      2,
    );
  if (flags.since && !flags['from-log'])
    throw new CliError('--since only applies to --from-log', ENRICH_USAGE, 2);
  if (flags.since) parseSince(flags.since);
  const name = providerName(flags.provider);
  const budget = parseBudget(flags.budget);
  const out = flags.out ?? DEFAULT_OUT;
  const dryRun = flags['dry-run'] ?? false;
  const provider = dryRun ? null : makeProvider(name);
  const label = PROVIDERS[name].label;
  // Read now, so a bad config or missing credentials stop the run before any call is spent.
  const feeds = dryRun || flags['no-sync'] ? null : syncConfig(flags, out);
  const skipKnown = !flags['no-skip-known'];
  const tableStore = skipKnown || feeds ? kvFor('REPUTATION', flags, info) : null;

  // Inputs → candidates.
  const sources: Sourced[] = [];
  const input: InputReport = {};
  if (flags.file) {
    const got = readInputFile(flags.file);
    sources.push(...got.sources);
    input.file = got.report;
  }
  if (flags['from-log']) {
    const got = await readDecisionLog(flags);
    sources.push(...got.sources);
    input.log = got.report;
  }
  const done = readDone(out);
  reportLines(done.problems.map((p) => `${out} line ${p.line}: ${p.message}`));
  const selection = selectCandidates(sources, done.keys);
  reportLines([
    ...selection.invalid.map((x) => `${x.origin}: ${x.error}`),
    ...selection.nonPublic.map((x) => `${x.origin}: skipped ${x.key}: ${x.reason}; never sent`),
  ]);
  let candidates = selection.candidates;
  let known: string[] = [];
  if (skipKnown && tableStore && candidates.length) {
    const split = await dropKnownToTable(candidates, tableStore);
    candidates = split.unknown;
    known = split.known;
  }
  const planned = candidates.slice(0, budget);

  const skipped = {
    known: known.length,
    nonPublic: selection.nonPublic.length,
    done: selection.done.length,
    duplicates: selection.duplicates,
    overBudget: 0,
  };
  const base = { provider: name, dryRun, out, budget, input, candidates: candidates.length };

  if (dryRun) {
    skipped.overBudget = candidates.length - planned.length;
    info(
      `dry run: ${planned.length} address(es) would be looked up with ${label}${skipped.overBudget ? ` (${skipped.overBudget} more over the budget of ${budget})` : ''}; skipped ${skipped.known} known, ${skipped.nonPublic} non-public, ${skipped.done} already in ${out}, ${skipped.duplicates} duplicate(s)`,
    );
    if (flags.json)
      process.stdout.write(
        `${JSON.stringify({ ...base, wouldLookUp: planned.map((c) => c.key), skipped }, null, 2)}\n`,
      );
    else for (const c of planned) process.stdout.write(`${c.key}\n`);
    return 0;
  }
  if (!provider) throw new Error('unreachable: no provider outside a dry run');

  // Lookups, one at a time, each answer written at once.
  const results = new ResultsFile(out);
  const controller = new AbortController();
  const onSigint = () => {
    info('interrupted: finishing the call in flight (Ctrl-C again to quit at once)');
    controller.abort();
    process.removeListener('SIGINT', onSigint);
  };
  process.on('SIGINT', onSigint);
  let run: RunReport;
  const envBackoff = Number(process.env.IPGATE_ENRICH_BACKOFF_MS);
  try {
    if (planned.length)
      info(`looking up ${planned.length} address(es) with ${label}, one at a time`);
    const bar = planned.length ? progress(`${name} lookups`, planned.length) : null;
    run = await runLookups(candidates, {
      provider,
      budget,
      backoffBaseMs:
        Number.isFinite(envBackoff) && envBackoff >= 0 ? envBackoff : ENRICH_BACKOFF_BASE_MS,
      sleep: realSleep,
      signal: controller.signal,
      onResult: (c, record) => results.append(resultRow(c.key, record)),
      onFailure: (c, f, calls) =>
        info(`${c.key}: failed after ${calls} call(s): ${f.kind}: ${f.message}`),
      onRetry: info,
      onProgress: (d) => bar?.update(Math.min(d, planned.length)),
    });
    bar?.stop();
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  skipped.overBudget = run.stopped?.reason === 'budget' ? run.notReached : 0;

  info(
    `looked up:  ${run.lookedUp} of ${candidates.length} (${run.calls} API call(s); budget ${budget}, ${budget - run.calls} left)`,
  );
  info(`scores:     ${counts(run.byScore)}`);
  info(`categories: ${counts(run.byCategory)}`);
  info(
    `failed:     ${run.failed.length}${run.failed.length ? ` (${counts(run.failedByKind)})` : ''}`,
  );
  info(
    `skipped:    ${skipped.known} known, ${skipped.nonPublic} non-public, ${skipped.done} already in ${out}, ${skipped.duplicates} duplicate(s), ${skipped.overBudget} over budget`,
  );
  info(`results:    ${run.lookedUp} row(s) appended to ${out}`);

  let exitCode = 0;
  let stopError: CliError | null = null;
  const stop = run.stopped;
  if (stop?.reason === 'budget')
    info(
      `stopped: the budget of ${budget} call(s) is spent; ${run.notReached} address(es) left for the next run (--budget N for more)`,
    );
  else if (stop?.reason === 'quota')
    info(
      `stopped: ${label} says the quota is used up (${stop.message}); ${run.lookedUp} answer(s) of this run are kept in ${out}. Run the same command when the quota resets: it skips what is done (${run.notReached} left)`,
    );
  else if (stop?.reason === 'invalid_key') {
    exitCode = 1;
    stopError = new CliError(
      `${label} refused the API key (${stop.message}); stopped after ${run.lookedUp} answer(s), which are kept in ${out}`,
      `check ${PROVIDERS[name].keyVar}: ${PROVIDERS[name].keyHint}`,
    );
  } else if (stop?.reason === 'interrupted') {
    exitCode = 130;
    info(
      `interrupted: ${run.lookedUp} answer(s) are kept in ${out}; run the same command to go on (the table was not rebuilt)`,
    );
  }

  // The table, rebuilt as `ipgate sync` builds it, with the results as one more feed.
  let sync: SyncReport | null = null;
  if (feeds && stop?.reason !== 'interrupted') {
    const onlyResults =
      feeds.feeds.length === 1 && resolve(feeds.feeds[0]?.path ?? '') === resolve(out);
    if (onlyResults && readDone(out).keys.size === 0)
      info(`nothing to sync: ${out} holds no answers yet and there is no feeds config`);
    else if (stop?.reason === 'invalid_key' && run.lookedUp === 0)
      info('not synced: this run added no answers');
    else {
      info(`rebuilding the table (${target}) with ${out}`);
      sync = await runSync(feeds, {
        local: flags.local,
        remote: flags.remote,
        'persist-to': flags['persist-to'],
        'wrangler-config': flags['wrangler-config'],
        policy: flags.policy,
      });
    }
  } else if (flags['no-sync'] && run.lookedUp)
    info(
      `not synced (--no-sync): "ipgate sync" with ${out} in the feeds config puts the answers in the table`,
    );

  if (flags.json)
    process.stdout.write(
      `${JSON.stringify(
        {
          ...base,
          lookedUp: run.lookedUp,
          calls: run.calls,
          budgetLeft: budget - run.calls,
          scores: run.byScore,
          categories: run.byCategory,
          failed: run.failed,
          failedByKind: run.failedByKind,
          skipped,
          stopped: stop,
          notReached: run.notReached,
          sync,
        },
        null,
        2,
      )}\n`,
    );
  if (stopError) process.stderr.write(`${formatCliError(stopError)}\n`);
  return exitCode;
}
