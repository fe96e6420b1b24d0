/**
 * Escaping by construction for the dashboard's pages: `html` is a tagged template that escapes
 * every interpolated value unless it is already `SafeHtml` (the output of another `html`), so a
 * value from the decision store, the policy or the request cannot become markup by being
 * forgotten. Attribute values must always be quoted in the templates.
 */
import { escapeHtml, jsonText } from '../util/html';

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

type Part = SafeHtml | string | number | boolean | null | undefined | readonly Part[];

function render(value: Part): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(String(value));
}

export function html(strings: TemplateStringsArray, ...values: Part[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

/**
 * JSON for a `<script type="application/json">` data block: `<`, `>` and `&` are escaped as
 * `\u003c`… so no value can close the element or open a comment; U+2028/2029 for old parsers.
 */
export function jsonBlock(id: string, value: unknown): SafeHtml {
  return html`<script type="application/json" id="${id}">${new SafeHtml(jsonText(value))}</script>`;
}
