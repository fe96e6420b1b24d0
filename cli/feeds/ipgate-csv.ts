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
import { parseNetwork } from '../../src/ip/network';
import { normalizeRecord, parseScore, type ReputationRecord } from '../../src/reputation/record';
import type { TableEntry } from '../../src/table/build';
import { CATEGORY_RE, parseCsvLine } from './common';
import type { FeedMapping, FeedProblem, FeedResult } from './types';

export type { FeedProblem, FeedResult } from './types';

export const CSV_COLUMNS = ['network', 'score', 'categories', 'country', 'asn', 'org'] as const;

/**
 * Parses one row. Rows with the same attributes share one record object (large feeds repeat a
 * few combinations millions of times), which saves the table builder its interning work.
 */
function parseRow(
  raw: string,
  cells: string[],
  source: string,
  records: Map<string, ReputationRecord>,
): TableEntry | string {
  const net = parseNetwork(cells[0] ?? '');
  if (!net.ok) return `network: ${net.error}`;
  // The text after the network is the record's key: identical rows share one record.
  const key = raw.slice(raw.indexOf(',') + 1);
  const cached = records.get(key);
  if (cached) return { network: net.network, record: cached };
  const [, score = '', categories = '', country = '', asn = '', org = ''] = cells.map((c) =>
    c.trim(),
  );
  const record = parseAttributes(score, categories, country, asn, org, source);
  if (typeof record === 'string') return record;
  records.set(key, record);
  return { network: net.network, record };
}

function parseAttributes(
  score: string,
  categories: string,
  country: string,
  asn: string,
  org: string,
  source: string,
): ReputationRecord | string {
  const s = parseScore(score);
  if (s === null) return `score: "${score}" is not safe, low, moderate, dangerous, critical or 1–5`;
  const cats = categories === '' ? [] : categories.split('|').map((c) => c.trim().toLowerCase());
  const badCat = cats.find((c) => !CATEGORY_RE.test(c));
  if (badCat !== undefined) return `categories: "${badCat}" is not a valid category name`;
  const record: ReputationRecord = { score: s, categories: cats, source };
  if (country !== '') {
    if (!/^[A-Za-z][A-Za-z0-9]$/.test(country))
      return `country: "${country}" is not a 2-letter code`;
    record.country = country.toUpperCase();
  }
  if (asn !== '') {
    const n = Number(asn.replace(/^AS/i, ''));
    if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff)
      return `asn: "${asn}" is not an AS number`;
    record.asn = n;
  }
  if (org !== '') record.org = org;
  return normalizeRecord(record);
}

/**
 * Parses a whole ipgate CSV text; the mapping's `source` (or `source` given as a plain string)
 * names the feed in every record, and the rows carry everything else. Lines are parsed one by
 * one (a record never spans lines), so a broken line costs that line only and every problem
 * carries its exact line number.
 */
export function parseIpgateCsv(text: string, mapping: FeedMapping | string): FeedResult {
  const source = typeof mapping === 'string' ? mapping : mapping.source;
  const entries: TableEntry[] = [];
  const problems: FeedProblem[] = [];
  const records = new Map<string, ReputationRecord>();
  const lines = text.split(/\r?\n/);
  lines.forEach((raw, i) => {
    const line = i + 1;
    const first = raw.charCodeAt(0);
    // Fast skip of blank and comment lines; only lines starting with white space need a trim.
    if (Number.isNaN(first) || first === 35) return;
    if (first <= 32) {
      const trimmed = raw.trim();
      if (trimmed === '' || trimmed.startsWith('#')) return;
    }
    // Fast path: a row whose attributes (the text after the first comma) an earlier row already
    // had needs only its network parsed; everything else about it was checked then.
    const comma = raw.indexOf(',');
    if (comma > 0 && first !== 34) {
      const cached = records.get(raw.slice(comma + 1));
      if (cached) {
        const net = parseNetwork(raw.slice(0, comma));
        if (net.ok) entries.push({ network: net.network, record: cached });
        else problems.push({ line, message: `network: ${net.error}` });
        return;
      }
    }
    const cells = parseCsvLine(raw);
    if (typeof cells === 'string') {
      problems.push({ line, message: cells });
      return;
    }
    if (
      (first === 110 || first === 78 || first <= 32) &&
      cells[0]?.trim().toLowerCase() === 'network'
    )
      return;
    if (cells.length > CSV_COLUMNS.length) {
      problems.push({
        line,
        message: `expected at most ${CSV_COLUMNS.length} columns, found ${cells.length}`,
      });
      return;
    }
    const entry = parseRow(raw, cells, source, records);
    if (typeof entry === 'string') problems.push({ line, message: entry });
    else entries.push(entry);
  });
  return { entries, problems };
}
