/**
 * The ipgate CSV feed: the format operators use for their own data.
 *
 *   network,score,categories,country,asn,org
 *   203.0.113.7,critical,,,,
 *   198.51.100.0/24,low,hosting,US,64500,"Example Hosting, Inc."
 *
 * `network` is an IP or CIDR (v4 or v6); `score` one of safe/low/moderate/dangerous/critical
 * (any case, or 1–5) or empty; `categories` separated by `|`. Blank lines and lines starting
 * with `#` are skipped. A bad line is reported with its line number and skipped; the rest of
 * the feed still loads.
 */
import { parse } from 'csv-parse/sync';
import { parseNetwork } from '../../src/ip/network';
import { normalizeRecord, parseScore, type ReputationRecord } from '../../src/reputation/record';
import type { TableEntry } from '../../src/table/build';

export interface FeedProblem {
  line: number;
  message: string;
}

export interface FeedResult {
  entries: TableEntry[];
  problems: FeedProblem[];
}

export const CSV_COLUMNS = ['network', 'score', 'categories', 'country', 'asn', 'org'] as const;

const CATEGORY_RE = /^[a-z0-9][a-z0-9_-]{0,31}$/;

function parseRow(cells: string[], source: string): TableEntry | string {
  const [network = '', score = '', categories = '', country = '', asn = '', org = ''] = cells.map(
    (c) => c.trim(),
  );
  const net = parseNetwork(network);
  if (!net.ok) return `network: ${net.error}`;
  const s = parseScore(score);
  if (s === null) return `score: "${score}" is not safe, low, moderate, dangerous, critical or 1–5`;
  const cats = categories === '' ? [] : categories.split('|').map((c) => c.trim().toLowerCase());
  const badCat = cats.find((c) => !CATEGORY_RE.test(c));
  if (badCat !== undefined) return `categories: "${badCat}" is not a valid category name`;
  const record: ReputationRecord = { score: s, categories: cats, source };
  if (country !== '') {
    if (!/^[A-Za-z][A-Za-z0-9]$/.test(country)) return `country: "${country}" is not a 2-letter code`;
    record.country = country.toUpperCase();
  }
  if (asn !== '') {
    const n = Number(asn.replace(/^AS/i, ''));
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff) return `asn: "${asn}" is not an AS number`;
    record.asn = n;
  }
  if (org !== '') record.org = org;
  return { network: net.network, record: normalizeRecord(record) };
}

/** Parses a whole ipgate CSV text; `source` names the feed in every record. */
export function parseIpgateCsv(text: string, source: string): FeedResult {
  const entries: TableEntry[] = [];
  const problems: FeedProblem[] = [];
  const rows = parse(text, {
    relax_column_count: true,
    skip_empty_lines: true,
    comment: '#',
    comment_no_infix: true,
    info: true,
    skip_records_with_error: true,
    on_skip: (err) => {
      const e = err as { lines?: number; message?: string } | undefined;
      problems.push({ line: e?.lines ?? 0, message: e?.message ?? 'unreadable line' });
    },
  }) as unknown as { record: string[]; info: { lines: number } }[];
  for (const { record: cells, info } of rows) {
    if (cells[0]?.trim().toLowerCase() === 'network') continue;
    if (cells.length > CSV_COLUMNS.length) {
      problems.push({ line: info.lines, message: `expected at most ${CSV_COLUMNS.length} columns, found ${cells.length}` });
      continue;
    }
    const entry = parseRow(cells, source);
    if (typeof entry === 'string') problems.push({ line: info.lines, message: entry });
    else entries.push(entry);
  }
  return { entries, problems };
}
