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
import { POLICY_CURRENT_KEY } from '../../src/constants';
import { DEFAULT_POLICY_DOCUMENT } from '../../src/policy/defaults';
import { formatIssues, type PolicyIssue, parsePolicyText } from '../../src/policy/schema';
import {
  currentPolicyVersion,
  listPolicyVersions,
  type PolicyKv,
  rollbackPolicy,
  savePolicy,
} from '../../src/policy/versions';
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

function invalid(where: string, issues: PolicyIssue[]): CliError {
  return new CliError(
    `${where} is not a valid policy (${issues.length} problem(s)):\n${formatIssues(issues).replace(/^/gm, '  ')}`,
    'see "Policy reference" in the README',
  );
}

/** Validates text; throws with every problem and its path when invalid. */
function validated(text: string, where: string): void {
  const r = parsePolicyText(text);
  if (!r.ok) throw invalid(where, r.issues);
}

/** The shared policy-version logic (src/policy/versions.ts) over a CLI store. */
export function policyKv(store: KvStore): PolicyKv {
  return {
    getText: (key) => getText(store, key),
    putText: (pairs) => store.put(pairs.map((p) => textPair(p.key, p.text))),
    listKeys: (prefix) => store.list(prefix),
  };
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
      const saved = await savePolicy(policyKv(store), readPolicyFile(file), new Date());
      if (!saved.ok) throw invalid(file ?? '', saved.issues);
      info(`${store.label}: policy ${saved.id} is current (the Worker applies it within 60 s)`);
      return 0;
    }
    case 'versions': {
      const kv = policyKv(store);
      const currentHash = await currentPolicyVersion(kv);
      for (const v of await listPolicyVersions(kv))
        process.stdout.write(`${v.id}${v.hash === currentHash ? '  (current)' : ''}\n`);
      return 0;
    }
    case 'rollback': {
      const rolled = await rollbackPolicy(policyKv(store), flags.to);
      if (!rolled.ok) {
        if (rolled.problem === 'invalid') throw invalid(`version ${rolled.id}`, rolled.issues);
        throw new CliError(
          rolled.detail,
          rolled.problem === 'no_such_version'
            ? 'list them with "ipgate config versions"'
            : undefined,
        );
      }
      info(`${store.label}: rolled back to ${rolled.id}`);
      return 0;
    }
    default:
      throw new CliError(`unknown config command "${verb}"`, CONFIG_USAGE);
  }
}
