/**
 * `ipgate replay`: play an attack back against a local ipgate, one client per CSV row.
 *
 *   ipgate replay attack.csv [--target http://localhost:8787] [--path /login] [--rate N]
 *                 [--requests-per-ip K] [--concurrency C] [--allow-remote] [--json]
 *
 * Reads an ipgate CSV (the format `ipgate sync --file` loads), sends K GET requests per
 * address with `CF-Connecting-IP` set, and summarises what ipgate did with them. Local targets
 * only, unless --allow-remote (cli/replay/guard.ts says why). Ctrl-C stops sending, waits for
 * the requests in flight and prints the summary so far.
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  REPLAY_DEFAULT_CONCURRENCY,
  REPLAY_DEFAULT_PATH,
  REPLAY_DEFAULT_RATE,
  REPLAY_DEFAULT_TARGET,
  REPLAY_MAX_CONCURRENCY,
  REPLAY_MAX_RATE,
  REPLAY_MAX_REPORTED_PROBLEMS,
  REPLAY_MAX_REQUESTS_PER_IP,
} from '../../src/constants';
import { CliError } from '../errors';
import { info } from '../output';
import { runReplay } from '../replay/index';
import { formatSummary } from '../replay/summary';
import { readReplayClients } from '../replay/targets';

export const REPLAY_USAGE = `usage: ipgate replay <csv> [--target URL] [--path PATH] [--rate N] [--requests-per-ip K]
                     [--concurrency C] [--allow-remote] [--json]
  <csv>                an ipgate CSV (network,score,categories,country,asn,org); a CIDR row is
                       replayed as its first usable address
  --target URL         the Worker to replay against (default ${REPLAY_DEFAULT_TARGET}, npm start)
  --path PATH          path requested (default ${REPLAY_DEFAULT_PATH})
  --rate N             most requests per second (default ${REPLAY_DEFAULT_RATE})
  --requests-per-ip K  GET requests per address (default 1)
  --concurrency C      most requests in flight (default ${REPLAY_DEFAULT_CONCURRENCY})
  --allow-remote       allow a target that is not this machine (refused by default)
  --json               print the summary as JSON on stdout`;

function numberFlag(
  name: string,
  value: string | undefined,
  fallback: number,
  max: number,
  integer: boolean,
): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0 || n > max || (integer && !Number.isInteger(n)))
    throw new CliError(
      `--${name} ${JSON.stringify(value)} is not ${integer ? 'a whole number' : 'a number'} from ${integer ? 1 : 'above 0'} to ${max}`,
      undefined,
      2,
    );
  return n;
}

export async function replayCommand(argv: string[]): Promise<number> {
  const { values: flags, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      target: { type: 'string' },
      path: { type: 'string' },
      rate: { type: 'string' },
      'requests-per-ip': { type: 'string' },
      concurrency: { type: 'string' },
      'allow-remote': { type: 'boolean' },
      json: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  });
  if (flags.help) {
    process.stdout.write(`${REPLAY_USAGE}\n`);
    return 0;
  }
  if (positionals.length !== 1)
    throw new CliError(
      positionals.length ? 'give one CSV file' : 'which CSV? give the file to replay',
      'ipgate replay attack.csv --target http://localhost:8787',
      2,
    );
  const file = positionals[0] as string;
  const rate = numberFlag('rate', flags.rate, REPLAY_DEFAULT_RATE, REPLAY_MAX_RATE, false);
  const requestsPerIp = numberFlag(
    'requests-per-ip',
    flags['requests-per-ip'],
    1,
    REPLAY_MAX_REQUESTS_PER_IP,
    true,
  );
  const concurrency = numberFlag(
    'concurrency',
    flags.concurrency,
    REPLAY_DEFAULT_CONCURRENCY,
    REPLAY_MAX_CONCURRENCY,
    true,
  );

  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (e) {
    const code = e && typeof e === 'object' && 'code' in e ? String(e.code) : 'unreadable';
    throw new CliError(`cannot read ${file} (${code})`, 'check the path of the CSV');
  }
  const input = readReplayClients(text);
  for (const p of input.problems.slice(0, REPLAY_MAX_REPORTED_PROBLEMS))
    info(`${file}:${p.line}: ${p.message} (skipped)`);
  if (input.problems.length > REPLAY_MAX_REPORTED_PROBLEMS)
    info(`… and ${input.problems.length - REPLAY_MAX_REPORTED_PROBLEMS} more bad lines (skipped)`);

  const stop = new AbortController();
  const onSigint = () => {
    info('interrupted: waiting for the requests in flight (Ctrl-C again to quit at once)');
    stop.abort();
    process.once('SIGINT', () => process.exit(130));
  };
  process.once('SIGINT', onSigint);
  let summary: Awaited<ReturnType<typeof runReplay>>;
  try {
    summary = await runReplay({
      input,
      target: flags.target ?? REPLAY_DEFAULT_TARGET,
      path: flags.path ?? REPLAY_DEFAULT_PATH,
      rate,
      requestsPerIp,
      concurrency,
      allowRemote: flags['allow-remote'] ?? false,
      label: `replaying ${file}`,
      signal: stop.signal,
    });
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  if (flags.json) process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  else info(formatSummary(summary));
  if (summary.interrupted) return 130;
  if (summary.requests > 0 && summary.outcomes.network_error === summary.requests) {
    info(`error: every request failed (${Object.keys(summary.networkErrors).join(', ')})`);
    return 1;
  }
  return 0;
}
