/**
 * The local D1 database `wrangler dev` (and so `npm start`) writes decision events to, read
 * through `wrangler d1 execute DECISIONS_DB --local --json --command …` with the same state
 * directory as every local command (`--persist-to`, default .wrangler/state). wrangler takes no
 * bound parameters there, so the report's statements go with their values inlined
 * (src/report/d1.ts `inlineParams`), all of one call in one command: wrangler answers a JSON
 * array with one result per statement.
 */
import { type D1Reader, inlineParams } from '../../src/report/d1';
import { CliError } from '../errors';
import { type LocalState, wrangler } from '../kv/local';

/** The binding of the decisions database (wrangler.toml `[[d1_databases]]`). */
export const DECISIONS_DB_BINDING = 'DECISIONS_DB';

const NO_TABLE_HINT = `run npm start (it applies the schema) and send some traffic: every decision is recorded there; or apply the schema yourself with "npx wrangler d1 migrations apply ${DECISIONS_DB_BINDING} --local" (with the same --persist-to)`;

function parseResults(out: string): Record<string, unknown>[][] {
  const start = out.search(/[[{]/);
  let json: unknown;
  try {
    json = JSON.parse(start >= 0 ? out.slice(start) : out);
  } catch {
    throw new CliError(
      `wrangler d1 execute answered something that is not JSON: ${out.trim().slice(0, 200)}`,
    );
  }
  const error = (json as { error?: { text?: string } } | null)?.error;
  if (error) throw describe(error.text ?? JSON.stringify(error));
  if (!Array.isArray(json))
    throw new CliError('wrangler d1 execute answered JSON that is not a list of results');
  return json.map((r: { results?: unknown }) =>
    Array.isArray(r?.results) ? (r.results as Record<string, unknown>[]) : [],
  );
}

function describe(message: string, hint?: string): CliError {
  if (/no such table:?\s*decisions/i.test(message))
    return new CliError(
      'the local D1 database has no decisions table yet, so there is nothing to report',
      NO_TABLE_HINT,
    );
  if (/couldn.t find a D1 DB/i.test(message))
    return new CliError(
      `the wrangler config binds no D1 database as ${DECISIONS_DB_BINDING}, so there is no local decision store to read`,
      `bind it in wrangler.toml ([[d1_databases]] binding = "${DECISIONS_DB_BINDING}", see README "Bindings")`,
    );
  return new CliError(`reading the local D1 database failed: ${message}`, hint);
}

export function localD1Reader(state: LocalState): D1Reader {
  return async (statements) => {
    const command = statements.map((s) => `${inlineParams(s)};`).join('\n');
    let out: Buffer;
    try {
      out = wrangler(
        ['d1', 'execute', DECISIONS_DB_BINDING, '--json', '--command', command],
        state,
      );
    } catch (e) {
      if (e instanceof CliError) throw describe(e.message, e.hint);
      throw e;
    }
    const results = parseResults(out.toString());
    if (results.length < statements.length)
      throw new CliError(
        `wrangler d1 execute answered ${results.length} result(s) for ${statements.length} statement(s)`,
      );
    return results;
  };
}
