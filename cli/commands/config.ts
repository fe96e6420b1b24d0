/**
 * `ipgate config`: the policy document, with the same schema module the Worker uses.
 *
 *   ipgate config validate <file>                 every problem with its path; exit 1 if any
 *   ipgate config get [--local | --remote]        the current policy (or says defaults apply)
 *   ipgate config set <file> [--local | --remote] validate, save a version, make it current
 *   ipgate config versions [--local | --remote]   saved versions, newest first
 *   ipgate config rollback [--to VERSION] [--local | --remote]
 *
 * Every `set` stores the document under `policy:version:<time>-<hash>` as well as
 * `policy:current`, so any earlier version can be made current again. Rollback without --to
 * goes to the version saved before the one now current.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { POLICY_CURRENT_KEY, POLICY_VERSION_PREFIX } from '../../src/constants';
import { DEFAULT_POLICY_DOCUMENT } from '../../src/policy/defaults';
import { contentVersion } from '../../src/policy/loader';
import { formatIssues, parsePolicyText } from '../../src/policy/schema';
import { CliError } from '../errors';
import { getText, type KvStore, textPair } from '../kv/store';
import { info } from '../output';
import { kvFor, TARGET_OPTIONS } from '../target';

export const CONFIG_USAGE = `usage: ipgate config <validate FILE | get | set FILE | versions | rollback [--to VERSION]> [--local | --remote]`;

function readPolicyFile(file: string | undefined): string {
  if (!file) throw new CliError('a policy file is required', CONFIG_USAGE);
  try {
    return readFileSync(file, 'utf8');
  } catch {
    throw new CliError(`cannot read ${file}`);
  }
}

/** Validates text; throws with every problem and its path when invalid. */
function validated(text: string, where: string): void {
  const r = parsePolicyText(text);
  if (!r.ok)
    throw new CliError(
      `${where} is not a valid policy (${r.issues.length} problem(s)):\n${formatIssues(r.issues).replace(/^/gm, '  ')}`,
      'see "Policy reference" in the README',
    );
}

/** Saved versions, newest first: `{id, key}`, id being `<time>-<hash>`. */
async function versions(store: KvStore): Promise<{ id: string; key: string }[]> {
  const keys = await store.list(POLICY_VERSION_PREFIX);
  return keys
    .map((key) => ({ id: key.slice(POLICY_VERSION_PREFIX.length), key }))
    .sort((a, b) => b.id.localeCompare(a.id));
}

async function save(store: KvStore, text: string): Promise<string> {
  const stamp = new Date()
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const id = `${stamp}-${await contentVersion(text)}`;
  await store.put([
    textPair(`${POLICY_VERSION_PREFIX}${id}`, text),
    textPair(POLICY_CURRENT_KEY, text),
  ]);
  return id;
}

export async function configCommand(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { ...TARGET_OPTIONS, to: { type: 'string' }, help: { type: 'boolean' } },
  });
  const [verb, file] = positionals;
  if (flags.help || !verb) {
    process.stdout.write(`${CONFIG_USAGE}\n`);
    return flags.help ? 0 : 2;
  }
  if (verb === 'validate') {
    validated(readPolicyFile(file), file ?? '');
    process.stdout.write(`${file}: valid\n`);
    return 0;
  }
  const store = kvFor('POLICY', flags, info);
  switch (verb) {
    case 'get': {
      const text = await getText(store, POLICY_CURRENT_KEY);
      if (text === null) {
        info(`${store.label} holds no policy: the built-in defaults apply`);
        process.stdout.write(`${JSON.stringify(DEFAULT_POLICY_DOCUMENT, null, 2)}\n`);
      } else {
        process.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
      }
      return 0;
    }
    case 'set': {
      const text = readPolicyFile(file);
      validated(text, file ?? '');
      const id = await save(store, text);
      info(`${store.label}: policy ${id} is current (the Worker applies it within 60 s)`);
      return 0;
    }
    case 'versions': {
      const current = await getText(store, POLICY_CURRENT_KEY);
      const currentHash = current === null ? null : await contentVersion(current);
      for (const v of await versions(store))
        process.stdout.write(
          `${v.id}${currentHash && v.id.endsWith(`-${currentHash}`) ? '  (current)' : ''}\n`,
        );
      return 0;
    }
    case 'rollback': {
      const list = await versions(store);
      const current = await getText(store, POLICY_CURRENT_KEY);
      const currentHash = current === null ? null : await contentVersion(current);
      let target = flags.to ? list.find((v) => v.id === flags.to) : undefined;
      if (flags.to && !target)
        throw new CliError(
          `no saved version ${flags.to}`,
          'list them with "ipgate config versions"',
        );
      if (!target) {
        const at = list.findIndex((v) => currentHash !== null && v.id.endsWith(`-${currentHash}`));
        target = at >= 0 ? list[at + 1] : list[0];
      }
      if (!target) throw new CliError('no earlier saved version to roll back to');
      const text = await getText(store, target.key);
      if (text === null) throw new CliError(`version ${target.id} could not be read`);
      validated(text, `version ${target.id}`);
      await store.put([textPair(POLICY_CURRENT_KEY, text)]);
      info(`${store.label}: rolled back to ${target.id}`);
      return 0;
    }
    default:
      throw new CliError(`unknown config command "${verb}"`, CONFIG_USAGE);
  }
}
