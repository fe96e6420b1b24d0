/**
 * Small helpers for reading untrusted JSON values (provider answers, saved responses, feeds)
 * without casts: shape checks and short quotes of a value for error messages.
 */

export type JsonObject = Record<string, unknown>;

export function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Short JSON text of a value for messages (at most 60 characters). */
export function show(value: unknown): string {
  const s = JSON.stringify(value) ?? String(value);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}

/** The trimmed string, or undefined for anything else or blank. */
export function nonEmpty(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}
