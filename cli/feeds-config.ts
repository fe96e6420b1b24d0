/**
 * The feeds config (`ipgate.feeds.json`): which sources make up the table and what each one
 * means. Parsed by a schema, never cast; every problem is reported with its path. Paths in the
 * config are relative to the config file. See `ipgate.feeds.example.jsonc` for a commented
 * example and docs/feeds.md for the reference.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { SCORE_LEVELS } from '../src/reputation/record';
import { CliError } from './errors';
import { FEED_FORMAT_NAMES } from './feeds/index';

const category = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,31}$/, 'a lower-case category name');

const feedSchema = z
  .object({
    name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/, 'letters, digits, "_", "." or "-"'),
    format: z.enum(FEED_FORMAT_NAMES as [string, ...string[]], {
      message: `one of ${FEED_FORMAT_NAMES.join(', ')}`,
    }),
    url: z.url({ protocol: /^https?$/ }).optional(),
    path: z.string().min(1).optional(),
    score: z.enum(SCORE_LEVELS).optional(),
    categories: z.array(category).optional(),
    org: z.string().max(256).optional(),
    country: z
      .string()
      .regex(/^[A-Za-z][A-Za-z0-9]$/)
      .optional(),
    enabled: z.boolean().default(true),
  })
  .strict()
  .refine((f) => (f.url === undefined) !== (f.path === undefined), {
    message: 'a feed needs exactly one of "url" or "path"',
  });

export const feedsConfigSchema = z
  .object({
    $schema: z.string().optional(),
    comment: z.string().optional(),
    feeds: z
      .array(feedSchema)
      .min(1)
      .superRefine((feeds, ctx) => {
        const seen = new Set<string>();
        feeds.forEach((f, i) => {
          if (seen.has(f.name))
            ctx.addIssue({
              code: 'custom',
              message: `duplicate feed name "${f.name}"`,
              path: [i, 'name'],
            });
          seen.add(f.name);
        });
      }),
  })
  .strict();

export type FeedConfig = z.output<typeof feedSchema>;

export interface FeedsConfig {
  feeds: FeedConfig[];
  /** Directory that relative `path`s are resolved against. */
  baseDir: string;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path
    .map((k) => (typeof k === 'number' ? `[${k}]` : `.${String(k)}`))
    .join('')
    .replace(/^\./, '');
}

/** Strips // and /* *\/ comments outside strings, so the example file can be JSON with comments. */
export function stripJsonComments(text: string): string {
  return text.replace(/"(?:\\.|[^"\\])*"|\/\/[^\n]*|\/\*[\s\S]*?\*\//g, (m) =>
    m.startsWith('"') ? m : '',
  );
}

export function parseFeedsConfig(text: string, baseDir: string): FeedsConfig {
  let value: unknown;
  try {
    value = JSON.parse(stripJsonComments(text));
  } catch (e) {
    throw new CliError(`feeds config is not valid JSON: ${e instanceof Error ? e.message : e}`);
  }
  const r = feedsConfigSchema.safeParse(value);
  if (!r.success) {
    const lines = r.error.issues.map(
      (i) => `  ${formatPath(i.path) || '(document)'}: ${i.message}`,
    );
    throw new CliError(`feeds config has ${lines.length} problem(s):\n${lines.join('\n')}`);
  }
  return { feeds: r.data.feeds.filter((f) => f.enabled), baseDir };
}

export function loadFeedsConfig(file: string): FeedsConfig {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new CliError(
      `cannot read feeds config ${file}`,
      'create one from ipgate.feeds.example.jsonc, pass --config FILE, or use --file data.csv',
    );
  }
  return parseFeedsConfig(text, dirname(resolve(file)));
}
