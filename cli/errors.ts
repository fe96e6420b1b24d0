/**
 * Errors the CLI reports to a person: what went wrong, why, and how to fix it. Anything else
 * that escapes a command is a bug and is reported as one.
 */

export class CliError extends Error {
  constructor(
    message: string,
    readonly hint?: string,
    readonly exitCode = 1,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

/** Text for stderr: the message, and the hint on its own line. */
export function formatCliError(e: unknown): string {
  if (e instanceof CliError) return `error: ${e.message}${e.hint ? `\n  hint: ${e.hint}` : ''}`;
  const detail = e instanceof Error ? (e.stack ?? e.message) : String(e);
  return `error: unexpected failure (a bug in ipgate; please report it)\n${detail}`;
}
