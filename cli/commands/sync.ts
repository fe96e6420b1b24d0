/**
 * `ipgate sync`: feeds → table → KV.
 *
 *   ipgate sync [--config ipgate.feeds.json] [--local | --remote] [--dry-run] [--strict] [--json]
 *   ipgate sync --file data.csv [--local | --remote] …      (one ipgate CSV, no config needed)
 *
 * Writes a new generation the safe way round: chunks the store does not already hold first
 * (chunk keys are content hashes, so unchanged chunks are never rewritten), the manifest last,
 * then deletes chunks that neither the new nor the replaced manifest names (the replaced
 * generation stays readable for isolates that have not switched yet).
 */
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { POLICY_CURRENT_KEY, TABLE_CHUNK_PREFIX, TABLE_MANIFEST_KEY } from '../../src/constants';
import { DEFAULT_POLICY_DOCUMENT } from '../../src/policy/defaults';
import { parsePolicy, parsePolicyText } from '../../src/policy/schema';
import { parseManifest } from '../../src/table/manifest';
import {
  allowNetworks,
  type BuildResult,
  buildEntries,
  type FeedInput,
  problemLines,
} from '../build';
import { CliError } from '../errors';
import { type FeedsConfig, loadFeedsConfig } from '../feeds-config';
import { readFeedText } from '../fetch-feed';
import type { KvStore } from '../kv/store';
import { getText } from '../kv/store';
import { info, progress, table } from '../output';
import { generationPairs } from '../table-writer';
import { describeTarget, kvFor, TARGET_OPTIONS, type TargetFlags } from '../target';

export const SYNC_USAGE = `usage: ipgate sync [--config FILE | --file CSV] [--local | --remote] [--dry-run] [--strict] [--json]
  --config FILE   feeds config (default ipgate.feeds.json)
  --file CSV      one ipgate CSV instead of a feeds config
  --local         write the local KV that npm start serves (default)
  --remote        write the account's KV (CLOUDFLARE_API_TOKEN, CLOUDFLARE_ACCOUNT_ID)
  --dry-run       build and report, write nothing
  --strict        any bad line is fatal
  --policy FILE   take the allow list from FILE instead of the target's current policy
  --json          print the summary as JSON on stdout`;

async function gatherInputs(config: FeedsConfig): Promise<FeedInput[]> {
  const inputs: FeedInput[] = [];
  for (const feed of config.feeds) {
    info(`reading feed ${feed.name} (${feed.format}) from ${feed.url ?? feed.path}`);
    const text = await readFeedText(feed, { baseDir: config.baseDir, onRetry: info });
    inputs.push({
      name: feed.name,
      format: feed.format,
      text,
      mapping: {
        source: feed.name,
        ...(feed.score ? { score: feed.score } : {}),
        ...(feed.categories ? { categories: feed.categories } : {}),
        ...(feed.org ? { org: feed.org } : {}),
        ...(feed.country ? { country: feed.country.toUpperCase() } : {}),
      },
    });
  }
  return inputs;
}

/** The allow list that the table must respect: from --policy, else the target's policy. */
async function allowList(
  policyFile: string | undefined,
  policyStore: KvStore | null,
): Promise<string[]> {
  let text: string | null = null;
  let where = 'built-in defaults';
  if (policyFile) {
    text = readFileSync(policyFile, 'utf8');
    where = policyFile;
  } else if (policyStore) {
    text = await getText(policyStore, POLICY_CURRENT_KEY);
    where = `${policyStore.label} ${POLICY_CURRENT_KEY}`;
  }
  const parsed = text === null ? parsePolicy(DEFAULT_POLICY_DOCUMENT) : parsePolicyText(text);
  if (!parsed.ok)
    throw new CliError(
      `the policy in ${where} is invalid, so its allow list cannot be applied`,
      'fix it with "ipgate config validate", or pass --policy FILE',
    );
  return parsed.policy.allow.ips;
}

function printSummary(result: BuildResult, intervals: number, chunks: number): void {
  info(
    table([
      ['feed', 'format', 'kept', 'bad lines', 'reserved', 'allow-listed'],
      ...result.feeds.map((f) => [
        f.name,
        f.format,
        f.entries,
        f.problems.length,
        f.bogons.length,
        f.allowListed,
      ]),
    ]),
  );
  info(
    `scores:     ${Object.entries(result.byScore)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  const cats = Object.entries(result.byCategory).sort(([a], [b]) => a.localeCompare(b));
  info(`categories: ${cats.length ? cats.map(([k, v]) => `${k} ${v}`).join(', ') : 'none'}`);
  info(`table:      ${intervals} intervals in ${chunks} chunks`);
}

export interface SyncOptions extends TargetFlags {
  dryRun?: boolean | undefined;
  strict?: boolean | undefined;
  /** Take the allow list from this policy file instead of the target's current policy. */
  policy?: string | undefined;
}

export interface SyncReport {
  generation: string;
  target: 'local' | 'remote';
  dryRun: boolean;
  intervals: number;
  chunks: number;
  written: number;
  unchanged: number;
  deleted: number;
  feeds: (Omit<BuildResult['feeds'][number], 'problems' | 'bogons'> & {
    problems: number;
    bogons: number;
  })[];
  scores: BuildResult['byScore'];
  categories: BuildResult['byCategory'];
}

/**
 * Feeds → table → KV for one feeds config: what `ipgate sync` does after reading its flags,
 * shared with `ipgate enrich`, which rebuilds the table with its results as one more feed.
 */
export async function runSync(config: FeedsConfig, options: SyncOptions): Promise<SyncReport> {
  const target = describeTarget(options);
  const inputs = await gatherInputs(config);
  const dryRun = options.dryRun ?? false;
  const policyStore = options.policy ? null : kvFor('POLICY', options, info);
  const result = buildEntries(inputs, allowNetworks(await allowList(options.policy, policyStore)));
  const problems = problemLines(result);
  for (const line of problems) info(line);
  const badLines = result.feeds.reduce((n, f) => n + f.problems.length, 0);
  if (options.strict && badLines > 0)
    throw new CliError(
      `${badLines} bad line(s) and --strict: nothing written`,
      'fix the lines above, or drop --strict to skip them',
    );

  const gen = await generationPairs(result.entries);
  const intervals = gen.manifest.counts.v4 + gen.manifest.counts.v6;
  printSummary(result, intervals, gen.manifest.chunks.length);

  const report: SyncReport = {
    generation: gen.manifest.generation,
    target,
    dryRun,
    intervals,
    chunks: gen.manifest.chunks.length,
    written: 0,
    unchanged: 0,
    deleted: 0,
    feeds: result.feeds.map((f) => ({
      ...f,
      problems: f.problems.length,
      bogons: f.bogons.length,
    })),
    scores: result.byScore,
    categories: result.byCategory,
  };
  if (!dryRun) {
    const store = kvFor('REPUTATION', options, info);
    const written = await writeGeneration(store, gen);
    Object.assign(report, written);
    info(
      `${store.label}: generation ${gen.manifest.generation} live (${written.written} chunks written, ${written.unchanged} unchanged, ${written.deleted} old deleted)`,
    );
  } else {
    info('dry run: nothing written');
  }
  return report;
}

export async function syncCommand(argv: string[]): Promise<number> {
  const { values: flags } = parseArgs({
    args: argv,
    options: {
      ...TARGET_OPTIONS,
      config: { type: 'string' },
      file: { type: 'string' },
      'dry-run': { type: 'boolean' },
      strict: { type: 'boolean' },
      policy: { type: 'string' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (flags.help) {
    process.stdout.write(`${SYNC_USAGE}\n`);
    return 0;
  }
  if (flags.file && flags.config) throw new CliError('use either --file or --config, not both');
  describeTarget(flags);
  const config: FeedsConfig = flags.file
    ? {
        feeds: [
          { name: basename(flags.file), format: 'ipgate-csv', path: flags.file, enabled: true },
        ],
        baseDir: process.cwd(),
      }
    : loadFeedsConfig(flags.config ?? 'ipgate.feeds.json');

  const report = await runSync(config, { ...flags, dryRun: flags['dry-run'] });
  if (flags.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

/** Chunks first (only those missing), manifest last, then old chunks out. */
export async function writeGeneration(
  store: KvStore,
  gen: Awaited<ReturnType<typeof generationPairs>>,
): Promise<{ written: number; unchanged: number; deleted: number }> {
  const previousText = await getText(store, TABLE_MANIFEST_KEY);
  const previous = previousText === null ? null : parseManifest(previousText);
  const existing = new Set(await store.list(TABLE_CHUNK_PREFIX));
  const missing = gen.chunks.filter((c) => !existing.has(c.key));
  if (missing.length) {
    const bar = progress(`writing chunks to ${store.label}`, missing.length);
    await store.put(missing, (d) => bar.update(d));
    bar.stop();
  }
  await store.put([gen.manifestPair]);
  const keep = new Set(gen.chunks.map((c) => c.key));
  if (previous?.ok) for (const c of previous.manifest.chunks) keep.add(c.key);
  const stale = [...existing].filter((k) => !keep.has(k));
  if (stale.length) await store.delete(stale);
  return {
    written: missing.length,
    unchanged: gen.chunks.length - missing.length,
    deleted: stale.length,
  };
}
