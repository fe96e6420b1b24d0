/**
 * The policy document: its schema and the one parser that the Worker, the CLI and the
 * dashboard share. Documents are parsed, never cast: every problem comes back with its path
 * (`routeClasses[0].rules[1].scores[0]`), so an operator can fix a bad file in one pass.
 *
 * The reference for every field is the README's "Policy reference".
 */
import { z } from 'zod';
import {
  CLEARANCE_MAX_TTL_S,
  CLEARANCE_TTL_S,
  LIVE_DAILY_BUDGET,
  LIVE_DEADLINE_MS,
  LIVE_MAX_CONCURRENCY,
  POLICY_MAX_BYTES,
  POLICY_MAX_REPORTED_ISSUES,
} from '../constants';
import { parseNetwork } from '../ip/network';
import { PROVIDER_NAMES } from '../providers/types';
import { SCORE_LEVELS } from '../reputation/record';
import { scanJsonText } from './json-text';
import { parsePathPattern } from './paths';

export const ACTIONS = ['allow', 'block', 'challenge'] as const;
export type PolicyAction = (typeof ACTIONS)[number];

const action = z.enum(ACTIONS);
/** A client without a usable IP cannot be bound to a clearance cookie, so no `challenge`. */
const noIpAction = z.enum(['allow', 'block']);
const method = z
  .string()
  .regex(/^[A-Za-z]{1,20}$/, 'an HTTP method name')
  .transform((m) => m.toUpperCase());

const pathPattern = z.string().superRefine((p, ctx) => {
  const parsed = parsePathPattern(p);
  if (typeof parsed === 'string') ctx.addIssue({ code: 'custom', message: parsed });
});

const category = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a lower-case category name');

const ruleSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9_.-]{1,40}$/, 'letters, digits, "_", "-" or "." (1–40)'),
    scores: z.array(z.enum(SCORE_LEVELS)).optional(),
    categories: z.array(category).optional(),
    action: action,
  })
  .strict()
  .refine((r) => (r.scores?.length ?? 0) + (r.categories?.length ?? 0) > 0, {
    message: 'a rule needs at least one of "scores" or "categories"',
  });

const classBehaviour = {
  rules: z.array(ruleSchema).max(50).default([]),
  unknown: action.default('allow'),
  invalidClientIp: noIpAction.default('allow'),
  onError: z.enum(['open', 'closed']).default('open'),
};

const routeClassSchema = z
  .object({
    name: z
      .string()
      .regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a lower-case name (1–32)')
      .refine((n) => n !== 'site', { message: '"site" is the name of the default class' }),
    paths: z.array(pathPattern).min(1).max(500),
    methods: z.array(method).min(1).optional(),
    ...classBehaviour,
  })
  .strict();

const networkEntry = z.string().superRefine((s, ctx) => {
  const r = parseNetwork(s);
  if (!r.ok) ctx.addIssue({ code: 'custom', message: r.error });
});

const listSchema = z
  .object({
    ips: z.array(networkEntry).max(100_000).default([]),
    asns: z.array(z.number().int().min(0).max(0xffff_ffff)).max(10_000).default([]),
    countries: z
      .array(
        z.string().regex(/^[A-Za-z][A-Za-z0-9]$/, 'an ISO 3166-1 alpha-2 code (or T1 for Tor)'),
      )
      .transform((cs) => cs.map((c) => c.toUpperCase()))
      .default([]),
  })
  .strict();

export const policySchema = z
  .object({
    $schema: z.string().optional(),
    comment: z.string().max(1000).optional(),
    updatedAt: z.string().max(40).optional(),
    mode: z.enum(['enforce', 'monitor']).default('enforce'),
    routeClasses: z
      .array(routeClassSchema)
      .max(50)
      .default([])
      .superRefine((classes, ctx) => {
        const seen = new Set<string>();
        classes.forEach((c, i) => {
          if (seen.has(c.name))
            ctx.addIssue({
              code: 'custom',
              message: `duplicate name "${c.name}"`,
              path: [i, 'name'],
            });
          seen.add(c.name);
        });
      }),
    site: z.object(classBehaviour).strict().prefault({}),
    allow: listSchema.prefault({}),
    deny: listSchema.prefault({}),
    lookup: z
      .object({
        tableDeadlineMs: z.number().int().min(10).max(10_000).default(750),
        live: z
          .object({
            provider: z.enum(['off', ...PROVIDER_NAMES]).default('criminalip'),
            deadlineMs: z.number().int().min(50).max(10_000).default(LIVE_DEADLINE_MS),
            concurrency: z.number().int().min(1).max(LIVE_MAX_CONCURRENCY).default(1),
            dailyBudget: z.number().int().min(0).max(10_000_000).default(LIVE_DAILY_BUDGET),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
    challenge: z
      .object({
        siteKey: z
          .string()
          .regex(/^[0-9A-Za-z_-]{1,100}$/, 'a Turnstile site key')
          .optional(),
        ttlSeconds: z.number().int().min(60).max(CLEARANCE_MAX_TTL_S).default(CLEARANCE_TTL_S),
      })
      .strict()
      .prefault({}),
    blockResponse: z
      .object({
        title: z.string().min(1).max(200).default('Access denied'),
        message: z
          .string()
          .min(1)
          .max(2000)
          .default(
            'This request was blocked by the site’s security filter. If you believe this is a mistake, contact the site owner and quote the reference below.',
          ),
      })
      .strict()
      .prefault({}),
  })
  .strict()
  .superRefine((doc, ctx) => {
    if (doc.challenge.siteKey !== undefined) return;
    const classes = [
      ...doc.routeClasses.map((c, i) => ({ c, at: ['routeClasses', i] })),
      {
        c: doc.site,
        at: ['site'],
      },
    ];
    for (const { c, at } of classes) {
      const uses = c.unknown === 'challenge' ? [...at, 'unknown'] : null;
      const rule = c.rules.findIndex((r) => r.action === 'challenge');
      const where = uses ?? (rule >= 0 ? [...at, 'rules', rule, 'action'] : null);
      if (where)
        ctx.addIssue({
          code: 'custom',
          message: '"challenge" needs challenge.siteKey (a Turnstile site key)',
          path: where,
        });
    }
  });

/** A policy document with every default filled in. */
export type Policy = z.output<typeof policySchema>;
/** A policy document as an operator writes it (defaults optional). */
export type PolicyInput = z.input<typeof policySchema>;
export type RouteClassConfig = z.output<typeof routeClassSchema>;
export type ClassBehaviour = Policy['site'];
export type RuleConfig = z.output<typeof ruleSchema>;

export interface PolicyIssue {
  /** Where the problem is, e.g. `routeClasses[0].paths[2]`; empty for the whole document. */
  path: string;
  message: string;
}

export type ParseResult = { ok: true; policy: Policy } | { ok: false; issues: PolicyIssue[] };

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else out += out ? `.${String(key)}` : String(key);
  }
  return out;
}

/** Validates an already-parsed JSON value. */
export function parsePolicy(value: unknown): ParseResult {
  const result = policySchema.safeParse(value);
  if (result.success) return { ok: true, policy: result.data };
  const issues = result.error.issues
    .slice(0, POLICY_MAX_REPORTED_ISSUES)
    .map((i) => ({ path: formatPath(i.path), message: i.message }));
  return { ok: false, issues };
}

/**
 * Parses policy text (JSON). Size, syntax and the structure only the text shows (duplicate
 * keys, `__proto__`, numbers out of range, hostile nesting: ./json-text.ts) are reported like
 * schema errors, with their paths; the schema runs only on text without such problems.
 */
export function parsePolicyText(text: string): ParseResult {
  // UTF-8 never has fewer bytes than UTF-16 has code units, so the cheap check goes first.
  if (
    text.length > POLICY_MAX_BYTES ||
    new TextEncoder().encode(text).byteLength > POLICY_MAX_BYTES
  )
    return {
      ok: false,
      issues: [{ path: '', message: `document is larger than ${POLICY_MAX_BYTES} bytes` }],
    };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (e) {
    return {
      ok: false,
      issues: [{ path: '', message: `not valid JSON: ${e instanceof Error ? e.message : ''}` }],
    };
  }
  const structural = scanJsonText(text, POLICY_MAX_REPORTED_ISSUES);
  if (structural.length > 0)
    return {
      ok: false,
      issues: structural.map((i) => ({ path: formatPath(i.path), message: i.message })),
    };
  return parsePolicy(value);
}

/** One line per problem, for CLIs and logs. */
export function formatIssues(issues: PolicyIssue[]): string {
  return issues.map((i) => `${i.path || '(document)'}: ${i.message}`).join('\n');
}
