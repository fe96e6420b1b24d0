/**
 * Escaping for every string ipgate puts into a page, and for the JSON it answers with: a JSON
 * body carries values from the request, the policy or the table (reflected query values, org
 * names), so its `<`, `>` and `&` are written as `\u003c`… — the same value to any JSON parser,
 * and no markup to anything that would sniff or embed it as HTML.
 */

const ESCAPES: Record<string, string> = {
  '&': '&amp;',
  '<': '&lt;',
  '>': '&gt;',
  '"': '&quot;',
  "'": '&#39;',
};

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

const JSON_ESCAPES: Record<string, string> = {
  '<': '\\u003c',
  '>': '\\u003e',
  '&': '\\u0026',
  '\u2028': '\\u2028',
  '\u2029': '\\u2029',
};

/** `JSON.stringify(value)` with `<`, `>`, `&`, U+2028 and U+2029 escaped. */
export function jsonText(value: unknown): string {
  return (JSON.stringify(value) ?? 'null').replace(
    /[<>&\u2028\u2029]/g,
    (c) => JSON_ESCAPES[c] ?? c,
  );
}
