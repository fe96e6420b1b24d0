/**
 * The `ipgate` command: noun-verb subcommands over the Worker's own modules. Exit codes: 0 ok,
 * 1 failure (with what, why and how to fix on stderr), 2 usage error.
 */
import { configCommand } from './commands/config';
import { enrichCommand } from './commands/enrich';
import { lookupCommand } from './commands/lookup';
import { replayCommand } from './commands/replay';
import { reportCommand } from './commands/report';
import { syncCommand } from './commands/sync';
import { CliError, formatCliError } from './errors';

const USAGE = `ipgate — edge filter for the pages bots hammer

usage: ipgate <command> [options]

commands:
  sync      build the reputation table from feeds and write it to KV (--local or --remote)
  lookup    show an IP's record and the decision the current policy would make
  config    validate, get, set, list versions of or roll back the policy
  enrich    look IPs up through Criminal IP (or AbuseIPDB) within a budget and add them to the table
  report    what was blocked and why, from the decision log (local D1 or Analytics Engine)
  replay    replay an attack CSV against a local ipgate and count what was blocked and passed

Run "ipgate <command> --help" for a command's options.`;

/** Every command by name (exported so scripts can tell whether one exists yet). */
export const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = {
  sync: syncCommand,
  lookup: lookupCommand,
  config: configCommand,
  enrich: enrichCommand,
  report: reportCommand,
  replay: replayCommand,
};

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (!command || command === '--help' || command === 'help' || command === '-h') {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) {
    process.stderr.write(`error: unknown command "${command}"\n\n${USAGE}\n`);
    return 2;
  }
  try {
    return await run(rest);
  } catch (e) {
    if (e instanceof TypeError && 'code' in e && String(e.code).startsWith('ERR_PARSE_ARGS')) {
      process.stderr.write(`error: ${e.message}\n`);
      return 2;
    }
    process.stderr.write(`${formatCliError(e)}\n`);
    return e instanceof CliError ? e.exitCode : 1;
  }
}
