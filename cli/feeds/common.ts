/**
 * What the feed adapters share: the mapping checked once per feed (not per line), the records a
 * mapping implies, numbered lines, and small JSON helpers that never throw.
 */
import { parse } from 'csv-parse/sync';
import { normalizeRecord, type ReputationRecord, SCORE_LEVELS } from '../../src/reputation/record';
import type { FeedMapping, FeedProblem } from './types';

export { isObject, show } from '../../src/util/json';

export const CATEGORY_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;
const COUNTRY_RE = /^[A-Za-z]{2}$/;
const SCORES: readonly string[] = ['unknown', ...SCORE_LEVELS];

/**
 * Problems with the mapping itself, each without line or path. A `list` feed has no facts of its
 * own, so its mapping must give a score or at least one category.
 */
export function checkMapping(mapping: FeedMapping, kind: 'list' | 'data'): FeedProblem[] {
  const m = (typeof mapping === 'object' && mapping !== null ? mapping : {}) as Partial<
    Record<keyof FeedMapping, unknown>
  >;
  const out: string[] = [];
  if (typeof m.source !== 'string' || m.source.trim() === '')
    out.push('mapping: source must name the feed');
  else if (m.source.length > 128) out.push('mapping: source is longer than 128 characters');
  if (m.score !== undefined && !(typeof m.score === 'string' && SCORES.includes(m.score)))
    out.push(`mapping: score ${JSON.stringify(m.score)} is not ${SCORES.join(', ')}`);
  if (m.categories !== undefined) {
    if (!Array.isArray(m.categories)) out.push('mapping: categories must be a list');
    else
      for (const c of m.categories)
        if (typeof c !== 'string' || !CATEGORY_RE.test(c))
          out.push(`mapping: ${JSON.stringify(c)} is not a valid category name`);
  }
  if (m.org !== undefined && (typeof m.org !== 'string' || m.org === '' || m.org.length > 256))
    out.push('mapping: org must be a name of at most 256 characters');
  if (m.country !== undefined && !(typeof m.country === 'string' && COUNTRY_RE.test(m.country)))
    out.push(`mapping: country ${JSON.stringify(m.country)} is not a 2-letter code`);
  const hasCategories = Array.isArray(m.categories) && m.categories.length > 0;
  if (kind === 'list' && m.score === undefined && !hasCategories)
    out.push(
      'mapping: a list feed needs a score or categories (its lines carry no facts of their own)',
    );
  return out.map((message) => ({ message }));
}

/** The one record every address of a list feed gets. */
export function listRecord(mapping: FeedMapping, observedAt?: string): ReputationRecord {
  const r: ReputationRecord = {
    score: mapping.score ?? 'unknown',
    categories: mapping.categories ?? [],
    source: mapping.source,
  };
  if (mapping.org) r.org = mapping.org;
  if (mapping.country) r.country = mapping.country;
  if (observedAt) r.observedAt = observedAt;
  return normalizeRecord(r);
}

/** A record from a feed's own facts, completed by its mapping (see `types.ts`). */
export function withMapping(facts: ReputationRecord, mapping: FeedMapping): ReputationRecord {
  const r: ReputationRecord = {
    ...facts,
    categories: [...facts.categories, ...(mapping.categories ?? [])],
    source: mapping.source,
  };
  if (r.score === 'unknown' && mapping.score) r.score = mapping.score;
  if (!r.org && mapping.org) r.org = mapping.org;
  if (!r.country && mapping.country) r.country = mapping.country;
  return normalizeRecord(r);
}

/** Lines without their terminators (CRLF or LF), a leading byte-order mark removed. */
export function splitLines(text: string): string[] {
  return text.replace(/^\uFEFF/, '').split(/\r?\n/);
}

export type JsonResult = { ok: true; value: unknown } | { ok: false; error: string };

export function parseJson(text: string): JsonResult {
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    return { ok: false, error: e instanceof Error ? e.message : 'not valid JSON' };
  }
}

/** Joins JSON path parts: `joinPath('prefixes[3]', 'ip_prefix')`, `joinPath('', 'ip')`. */
export function joinPath(base: string, field: string | undefined): string {
  if (!field) return base;
  if (!base) return field;
  return field.startsWith('[') ? `${base}${field}` : `${base}.${field}`;
}

/**
 * One CSV line's cells; a syntax error (such as an unclosed quote) is a message. Feeds are read
 * line by line (no record spans lines), so a broken line costs that line only.
 */
export function parseCsvLine(line: string): string[] | string {
  // Most lines have no quotes: a plain split is exact for them and far faster than a parser.
  if (!line.includes('"')) return line.split(',');
  try {
    const [cells] = parse(line, { relax_column_count: true }) as string[][];
    return cells ?? [];
  } catch (e) {
    return e instanceof Error ? e.message.replace(/ at line \d+$/, '') : 'unreadable line';
  }
}
