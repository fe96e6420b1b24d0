/**
 * The policy page's form, applied to the operator's document. Pure: the current document as
 * written (not the parsed one with every default filled in, so a save changes only what the
 * operator changed), the parsed view of it for comparison, and the form fields in; a new
 * document out, which the shared schema then validates like any other.
 *
 * Fields (`<c>` is `rc.<index>` for a route class or `site`):
 *   mode · comment · `<c>.paths` (one per line) · `<c>.unknown` ·
 *   `<c>.rule.<j>.present` with `.scores`, `.categories` (checkboxes) and `.action` ·
 *   `allow|deny.ips|asns|countries` (one per line, or separated by commas or spaces)
 * A field that is absent, or equal to what the document already says, leaves it untouched.
 */
import type { ClassBehaviour, Policy } from '../policy/schema';
import { SCORE_LEVELS } from '../reputation/record';
import { isObject, type JsonObject } from '../util/json';

/** Categories offered as checkboxes on every rule (a rule's own others are offered too). */
export const RULE_CATEGORIES = [
  'vpn',
  'anonymous_vpn',
  'tor',
  'proxy',
  'hosting',
  'scanner',
  'remote',
  'mobile',
  'darkweb',
] as const;

const LIST_FIELDS = ['ips', 'asns', 'countries'] as const;

/** The document as pretty JSON text, as the dashboard saves it. */
export function policyText(doc: unknown): string {
  return `${JSON.stringify(doc, null, 2)}\n`;
}

function child(parent: JsonObject, key: string): JsonObject {
  const existing = parent[key];
  if (isObject(existing)) return existing;
  const created: JsonObject = {};
  parent[key] = created;
  return created;
}

function childArray(parent: JsonObject, key: string): unknown[] {
  const existing = parent[key];
  if (Array.isArray(existing)) return existing;
  const created: unknown[] = [];
  parent[key] = created;
  return created;
}

function sameList(a: readonly unknown[] | undefined, b: readonly unknown[]): boolean {
  return a !== undefined && a.length === b.length && a.every((v, i) => v === b[i]);
}

function tokens(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((t) => t.trim())
    .filter((t) => t.length > 0);
}

/** `AS64496` and `64496` are numbers; anything else stays text for the schema to refuse. */
function asnToken(t: string): number | string {
  const m = /^(?:as)?(\d{1,10})$/i.exec(t);
  return m ? Number(m[1]) : t;
}

/** `target` is called only when something changes, so an untouched class is left as written. */
function applyBehaviour(
  target: () => JsonObject,
  view: ClassBehaviour,
  form: URLSearchParams,
  prefix: string,
): void {
  const unknown = form.get(`${prefix}.unknown`);
  if (unknown !== null && unknown !== view.unknown) target().unknown = unknown;
  const rules = view.rules;
  for (let j = 0; j < rules.length; j++) {
    const at = `${prefix}.rule.${j}`;
    if (form.get(`${at}.present`) === null) continue;
    const rule = rules[j];
    if (!rule) continue;
    const rawRules = childArray(target(), 'rules');
    const raw = isObject(rawRules[j]) ? (rawRules[j] as JsonObject) : null;
    if (!raw) continue;
    const checked = new Set(form.getAll(`${at}.scores`));
    const scores = SCORE_LEVELS.filter((s) => checked.has(s));
    if (!sameList(rule.scores ?? [], scores)) {
      if (scores.length) raw.scores = scores;
      else delete raw.scores;
    }
    const categories = [...new Set(form.getAll(`${at}.categories`))];
    const before = rule.categories ?? [];
    const same = before.length === categories.length && before.every((c) => categories.includes(c));
    if (!same) {
      // Keep the document's order for the categories that stay; new ones follow.
      const ordered = [
        ...before.filter((c) => categories.includes(c)),
        ...categories.filter((c) => !before.includes(c)),
      ];
      if (ordered.length) raw.categories = ordered;
      else delete raw.categories;
    }
    const action = form.get(`${at}.action`);
    if (action !== null && action !== rule.action) raw.action = action;
  }
}

/**
 * The document with the form applied. `doc` is the current document as written (a JSON
 * object), `view` its parsed form.
 */
export function applyPolicyForm(doc: JsonObject, view: Policy, form: URLSearchParams): JsonObject {
  const next = structuredClone(doc);
  const mode = form.get('mode');
  if (mode !== null && mode !== view.mode) next.mode = mode;
  const comment = form.get('comment');
  if (comment !== null && comment !== (view.comment ?? '')) {
    if (comment) next.comment = comment;
    else delete next.comment;
  }
  view.routeClasses.forEach((rc, i) => {
    const prefix = `rc.${i}`;
    const touched = [...form.keys()].some((k) => k.startsWith(`${prefix}.`));
    if (!touched) return;
    const raw = childArray(next, 'routeClasses')[i];
    if (!isObject(raw)) return;
    const paths = form.get(`${prefix}.paths`);
    if (paths !== null && !sameList(rc.paths, lines(paths))) raw.paths = lines(paths);
    applyBehaviour(() => raw, rc, form, prefix);
  });
  applyBehaviour(() => child(next, 'site'), view.site, form, 'site');
  for (const listName of ['allow', 'deny'] as const) {
    for (const field of LIST_FIELDS) {
      const text = form.get(`${listName}.${field}`);
      if (text === null) continue;
      const current: readonly unknown[] = view[listName][field];
      const values =
        field === 'asns'
          ? tokens(text).map(asnToken)
          : field === 'countries'
            ? tokens(text).map((c) => c.toUpperCase())
            : tokens(text);
      if (sameList(current, values)) continue;
      child(next, listName)[field] = values;
    }
  }
  return next;
}
