/**
 * From feed texts to the entries of one table, with the merge rules the README documents:
 *
 * 1. Each feed is parsed by its format's adapter; a bad line is reported (feed, line, why) and
 *    skipped.
 * 2. Networks overlapping reserved, private or bogon space (src/ip/bogons.ts) are reported and
 *    skipped.
 * 3. Networks inside a network on the policy's allow list are skipped; an allow-listed network
 *    inside a kept (broader) network is written as a clean override, so it is never dirty.
 * 4. The table builder then flattens: the most specific prefix wins; on the same prefix the
 *    highest score wins and categories are unioned (mergeRecords).
 */
import { bogonOverlap } from '../src/ip/bogons';
import { formatNetwork, type Network, parseNetwork } from '../src/ip/network';
import { normalizeRecord, type Score } from '../src/reputation/record';
import type { TableEntry } from '../src/table/build';
import { feedParser } from './feeds/index';
import type { FeedMapping, FeedProblem } from './feeds/types';

export interface FeedInput {
  name: string;
  format: string;
  text: string;
  mapping: FeedMapping;
}

export interface FeedSummary {
  name: string;
  format: string;
  /** Networks kept from this feed. */
  entries: number;
  problems: FeedProblem[];
  /** Networks skipped because they overlap reserved/bogon space. */
  bogons: { network: string; range: string }[];
  /** Networks skipped because the policy's allow list covers them. */
  allowListed: number;
}

export interface BuildResult {
  entries: TableEntry[];
  feeds: FeedSummary[];
  /** Kept networks per score. */
  byScore: Record<Score, number>;
  /** Kept networks per category. */
  byCategory: Record<string, number>;
  /** Clean overrides written for allow-listed networks inside kept ones. */
  allowOverrides: number;
}

const within = (inner: Network, outer: Network) =>
  inner.family === outer.family && inner.start >= outer.start && inner.end <= outer.end;

/** Parses the policy's allow-list entries into networks (invalid ones were refused by the schema). */
export function allowNetworks(ips: readonly string[]): Network[] {
  return ips.flatMap((t) => {
    const r = parseNetwork(t);
    return r.ok ? [r.network] : [];
  });
}

export function buildEntries(inputs: FeedInput[], allow: Network[] = []): BuildResult {
  const entries: TableEntry[] = [];
  const feeds: FeedSummary[] = [];
  for (const input of inputs) {
    const summary: FeedSummary = {
      name: input.name,
      format: input.format,
      entries: 0,
      problems: [],
      bogons: [],
      allowListed: 0,
    };
    feeds.push(summary);
    const parse = feedParser(input.format);
    if (!parse) {
      summary.problems.push({ message: `unknown format "${input.format}"` });
      continue;
    }
    const parsed = parse(input.text, input.mapping);
    summary.problems.push(...parsed.problems);
    for (const entry of parsed.entries) {
      const bogon = bogonOverlap(entry.network);
      if (bogon !== null) {
        summary.bogons.push({ network: formatNetwork(entry.network), range: bogon });
        continue;
      }
      if (allow.some((a) => within(entry.network, a))) {
        summary.allowListed += 1;
        continue;
      }
      entries.push(entry);
      summary.entries += 1;
    }
  }
  let allowOverrides = 0;
  for (const a of allow) {
    if (entries.some((e) => within(a, e.network) && !within(e.network, a))) {
      entries.push({
        network: a,
        record: normalizeRecord({ score: 'unknown', categories: [], source: 'policy-allow' }),
      });
      allowOverrides += 1;
    }
  }
  const byScore = { safe: 0, low: 0, moderate: 0, dangerous: 0, critical: 0, unknown: 0 } as Record<
    Score,
    number
  >;
  const byCategory: Record<string, number> = {};
  for (const e of entries) {
    if (e.record.source === 'policy-allow') continue;
    byScore[e.record.score] += 1;
    for (const c of e.record.categories) byCategory[c] = (byCategory[c] ?? 0) + 1;
  }
  return { entries, feeds, byScore, byCategory, allowOverrides };
}

/** Every problem as one line: `feed NAME line N: message` (or `path P`). */
export function problemLines(result: BuildResult): string[] {
  return result.feeds.flatMap((f) => [
    ...f.problems.map((p) => {
      const where =
        p.line !== undefined ? ` line ${p.line}` : p.path !== undefined ? ` ${p.path}` : '';
      return `feed ${f.name}${where}: ${p.message}`;
    }),
    ...f.bogons.map(
      (b) => `feed ${f.name}: skipped ${b.network}: overlaps reserved range ${b.range}`,
    ),
  ]);
}
