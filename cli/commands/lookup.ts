/**
 * `ipgate lookup <ip> [--path /login] [--method GET] [--local | --remote] [--json]`
 *
 * What ipgate knows about an address and what it would do: the table record (and which feed
 * said so), then the decision of the current policy for that path, with its reason. It reads
 * the same KV the Worker reads and runs the Worker's own modules (table store, decide), so the
 * answer is the Worker's answer, short of `request.cf` facts.
 */
import { parseArgs } from 'node:util';
import { POLICY_CURRENT_KEY } from '../../src/constants';
import { clientKey, parseIp } from '../../src/ip/parse';
import { compilePolicy } from '../../src/policy/compile';
import { decide, needsReputation, type Reputation } from '../../src/policy/decide';
import { builtInPolicy, contentVersion } from '../../src/policy/loader';
import { canonicalPath } from '../../src/policy/paths';
import { REASON_DESCRIPTIONS } from '../../src/policy/reasons';
import { formatIssues, parsePolicyText } from '../../src/policy/schema';
import { TableStore } from '../../src/reputation/table-store';
import type { KvReader } from '../../src/util/kv-reader';
import { CliError } from '../errors';
import { getText, type KvStore } from '../kv/store';
import { info } from '../output';
import { kvFor, TARGET_OPTIONS } from '../target';

export const LOOKUP_USAGE =
  'usage: ipgate lookup <ip> [--path /login] [--method GET] [--local | --remote] [--json]';

/** The KV reads the Worker's modules make, served from a CLI store. */
export function asKvReader(store: KvStore): KvReader {
  async function get(
    key: string,
    options: 'text' | 'json' | { type: 'arrayBuffer' },
  ): Promise<unknown> {
    const bytes = await store.get(key);
    if (bytes === null) return null;
    if (typeof options === 'object')
      return bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    const text = new TextDecoder().decode(bytes);
    return options === 'json' ? JSON.parse(text) : text;
  }
  return { get } as KvReader;
}

export async function lookupCommand(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      ...TARGET_OPTIONS,
      path: { type: 'string', default: '/login' },
      method: { type: 'string', default: 'GET' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (flags.help) {
    process.stdout.write(`${LOOKUP_USAGE}\n`);
    return 0;
  }
  const [ipText] = positionals;
  const ip = ipText ? parseIp(ipText) : null;
  if (!ip) throw new CliError(`"${ipText ?? ''}" is not an IP address`, LOOKUP_USAGE);

  const policyText = await getText(kvFor('POLICY', flags, info), POLICY_CURRENT_KEY);
  let policy = await builtInPolicy();
  let policySource = 'built-in defaults';
  if (policyText !== null) {
    const parsed = parsePolicyText(policyText);
    if (!parsed.ok)
      throw new CliError(
        `the stored policy is invalid (the Worker keeps its last good one):\n${formatIssues(parsed.issues)}`,
      );
    policy = compilePolicy(parsed.policy, await contentVersion(policyText));
    policySource = `policy ${policy.version}`;
  }

  const tables = new TableStore();
  const kv = asKvReader(kvFor('REPUTATION', flags, info));
  const reputation: Reputation = await tables.lookup(ip, kv, {
    deadlineMs: 600_000,
    waitUntil: () => {},
  });
  const status = tables.status();
  const path = canonicalPath(flags.path ?? '/login');
  const routeClass = policy.classify(path, (flags.method ?? 'GET').toUpperCase());
  const client = { ip };
  const decision = decide({ client, routeClass, reputation, policy });
  const result = {
    ip: clientKey(ip),
    record: reputation.status === 'hit' ? reputation.record : null,
    lookup: reputation.status,
    ...(reputation.status === 'error' ? { error: reputation.error } : {}),
    table: { generation: status.generation, entries: status.entries },
    policy: policySource,
    path: flags.path,
    routeClass: routeClass.name,
    needsReputation: needsReputation(policy, routeClass, client),
    decision,
    enforced: decision.monitorOnly ? 'allow (monitor mode)' : decision.action,
  };
  if (flags.json) {
    process.stdout.write(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  }
  const r = result.record;
  const lines = [
    `ip:          ${result.ip}`,
    r
      ? `record:      score ${r.score}; categories ${r.categories.join(', ') || 'none'}; ${[r.country, r.asn ? `AS${r.asn}` : '', r.org].filter(Boolean).join(' ')}`
      : `record:      none (${reputation.status}${reputation.status === 'error' ? `: ${reputation.error}` : ''})`,
    ...(r
      ? [
          `source:      ${r.source ?? 'unknown'}${r.observedAt ? ` (observed ${r.observedAt})` : ''}`,
        ]
      : []),
    `table:       generation ${status.generation || '(none)'}, ${status.entries} intervals`,
    `policy:      ${policySource}, mode ${policy.mode}`,
    `route class: ${routeClass.name} (${flags.method?.toUpperCase()} ${flags.path})`,
    `decision:    ${result.enforced} — reason ${decision.reason}${decision.rule ? ` (${decision.rule})` : ''}: ${REASON_DESCRIPTIONS[decision.reason]}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}
