/**
 * The reputation record: one provider-independent shape for what is known about an address,
 * the same in the table, the API cache, the sink and the CLI.
 *
 * Scores follow Criminal IP's five inbound levels; `unknown` means nobody said. Categories are
 * an open-ended set of lower-case tags, with the ones policy rules use named here.
 */
import { z } from 'zod';

export const SCORE_LEVELS = ['safe', 'low', 'moderate', 'dangerous', 'critical'] as const;
export type ScoreLevel = (typeof SCORE_LEVELS)[number];
export type Score = ScoreLevel | 'unknown';

export interface ReputationRecord {
  score: Score;
  /** Sorted, de-duplicated, lower-case. */
  categories: string[];
  /** ISO 3166-1 alpha-2, upper-case. */
  country?: string;
  asn?: number;
  org?: string;
  /** Feed or provider that said so. */
  source?: string;
  /** ISO 8601 time the source observed it. */
  observedAt?: string;
}

/** Rank of a score, for comparisons: unknown < safe < … < critical. */
export function scoreRank(score: Score): number {
  return score === 'unknown' ? 0 : SCORE_LEVELS.indexOf(score) + 1;
}

/** "Dirty" in the case's sense: score at least `dangerous`. */
export function isDirty(score: Score): boolean {
  return scoreRank(score) >= scoreRank('dangerous');
}

/** Numeric levels 1–5 (Criminal IP's scale) map onto the five names in order. */
export function scoreFromNumber(n: number): Score {
  return Number.isInteger(n) && n >= 1 && n <= 5 ? (SCORE_LEVELS[n - 1] ?? 'unknown') : 'unknown';
}

/** Accepts a level name in any case, or 1–5 as number or string; anything else is null. */
export function parseScore(value: unknown): Score | null {
  if (typeof value === 'number') {
    const s = scoreFromNumber(value);
    return s === 'unknown' ? null : s;
  }
  if (typeof value !== 'string') return null;
  const v = value.trim().toLowerCase();
  if (v === 'unknown' || v === '') return 'unknown';
  if (/^[1-5]$/.test(v)) return scoreFromNumber(Number(v));
  return (SCORE_LEVELS as readonly string[]).includes(v) ? (v as ScoreLevel) : null;
}

const CATEGORY_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;

export const recordSchema = z
  .object({
    score: z.enum([...SCORE_LEVELS, 'unknown']),
    categories: z.array(z.string().regex(CATEGORY_RE)).max(32),
    country: z
      .string()
      .regex(/^[A-Z]{2}$/)
      .optional(),
    asn: z.number().int().min(0).max(0xffff_ffff).optional(),
    org: z.string().max(256).optional(),
    source: z.string().max(128).optional(),
    observedAt: z.string().max(40).optional(),
  })
  .strict();

/** Puts a record into canonical form: categories sorted and unique, country upper-case. */
export function normalizeRecord(r: ReputationRecord): ReputationRecord {
  const out: ReputationRecord = {
    score: r.score,
    categories: [...new Set(r.categories.map((c) => c.toLowerCase()))].sort(),
  };
  if (r.country) out.country = r.country.toUpperCase();
  if (r.asn !== undefined) out.asn = r.asn;
  if (r.org) out.org = r.org;
  if (r.source) out.source = r.source;
  if (r.observedAt) out.observedAt = r.observedAt;
  return out;
}

/**
 * Merges two records for the same prefix: the higher score wins, categories are unioned, and
 * the other fields come from the record with the higher score (the first one on a tie).
 */
export function mergeRecords(a: ReputationRecord, b: ReputationRecord): ReputationRecord {
  const [hi, lo] = scoreRank(b.score) > scoreRank(a.score) ? [b, a] : [a, b];
  return normalizeRecord({
    ...lo,
    ...stripUndefined(hi),
    score: hi.score,
    categories: [...a.categories, ...b.categories],
  });
}

function stripUndefined(r: ReputationRecord): Partial<ReputationRecord> {
  return Object.fromEntries(Object.entries(r).filter(([, v]) => v !== undefined));
}
