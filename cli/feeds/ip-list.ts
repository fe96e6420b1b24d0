/**
 * Plain address lists: one IP or CIDR a line, with comments. One reader covers the published
 * lists ipgate takes:
 *
 *   FireHOL .netset / .ipset     "#" header lines, then 1.10.16.0/20 or 198.51.100.42
 *   Spamhaus DROP, text          "; Spamhaus DROP List …" header, then 1.10.16.0/20 ; SBL256894
 *   Tor bulk exit list           one exit address a line, nothing else
 *   X4BNet lists_vpn ipv4.txt    one CIDR a line (output/vpn/ and output/datacenter/)
 *   Spamhaus DROP, JSON Lines    {"cidr":"1.10.16.0/20","sblid":"SBL256894","rir":"apnic"} a line,
 *                                then {"type":"metadata","timestamp":…,"size":…,"records":N,…}
 *
 * In text lists `#` and `;` start a comment anywhere on a line, and what is left must be one
 * address or CIDR with its host bits clear. `parseIpList` reads the JSON Lines form when the
 * first line that is neither blank nor a comment starts with `{`; `parseSpamhausDropJson` always
 * does. Spamhaus ends its JSON files with the metadata line: its `timestamp` becomes each record's
 * `observedAt`, and its `records` count is checked, so a truncated download (no metadata line, or
 * fewer records than it announces) is reported rather than loaded as if whole.
 *
 * The addresses carry no facts of their own: score and categories come from the mapping, which
 * must give at least one of them, and every entry shares one record.
 */
import { type Network, parseNetwork } from '../../src/ip/network';
import type { TableEntry } from '../../src/table/build';
import { checkMapping, isObject, listRecord, parseJson, show, splitLines } from './common';
import type { FeedMapping, FeedProblem, FeedResult } from './types';

export type IpListFormat = 'auto' | 'text' | 'json-lines';

function isComment(trimmed: string): boolean {
  return trimmed.startsWith('#') || trimmed.startsWith(';');
}

function detect(lines: string[]): 'text' | 'json-lines' {
  for (const raw of lines) {
    const t = raw.trim();
    if (t === '' || isComment(t)) continue;
    return t.startsWith('{') ? 'json-lines' : 'text';
  }
  return 'text';
}

function readText(lines: string[], problems: FeedProblem[]): Network[] {
  const networks: Network[] = [];
  lines.forEach((raw, i) => {
    const content = raw.replace(/[#;].*$/, '').trim();
    if (content === '') return;
    if (/\s/.test(content)) {
      problems.push({
        line: i + 1,
        message: `expected one address or CIDR, found ${show(content)}`,
      });
      return;
    }
    const net = parseNetwork(content);
    if (net.ok) networks.push(net.network);
    else problems.push({ line: i + 1, message: net.error });
  });
  return networks;
}

function epochToIso(value: unknown): string | undefined {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) return undefined;
  const d = new Date(value * 1000);
  return Number.isNaN(d.getTime()) ? undefined : d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function readJsonLines(
  lines: string[],
  problems: FeedProblem[],
): { networks: Network[]; observedAt?: string } {
  const networks: Network[] = [];
  let records = 0;
  let meta: { line: number; value: Record<string, unknown> } | undefined;
  lines.forEach((raw, i) => {
    const line = i + 1;
    const t = raw.trim();
    if (t === '' || isComment(t)) return;
    const j = parseJson(t);
    if (j.ok && isObject(j.value) && j.value.type === 'metadata') {
      meta = { line, value: j.value };
      return;
    }
    records++;
    if (!j.ok) {
      problems.push({ line, message: `not valid JSON: ${j.error}` });
      return;
    }
    if (!isObject(j.value)) {
      problems.push({ line, message: `expected a JSON object, got ${show(j.value)}` });
      return;
    }
    const cidr = j.value.cidr;
    if (typeof cidr !== 'string') {
      problems.push({ line, message: `no "cidr" string in ${show(j.value)}` });
      return;
    }
    const net = parseNetwork(cidr);
    if (net.ok) networks.push(net.network);
    else problems.push({ line, message: net.error });
  });
  if (!meta) {
    problems.push({ message: 'no metadata line at the end: the download may be truncated' });
    return { networks };
  }
  const announced = meta.value.records;
  if (typeof announced === 'number' && announced !== records)
    problems.push({
      line: meta.line,
      message: `metadata announces ${announced} records, the file has ${records}`,
    });
  const observedAt = epochToIso(meta.value.timestamp);
  return observedAt ? { networks, observedAt } : { networks };
}

/**
 * Reads an address list; `format` forces one layout, `auto` (the default) picks JSON Lines when
 * the first significant line starts with `{` and text otherwise.
 */
export function parseIpList(
  text: string,
  mapping: FeedMapping,
  format: IpListFormat = 'auto',
): FeedResult {
  const problems = checkMapping(mapping, 'list');
  if (problems.length > 0) return { entries: [], problems };
  const lines = splitLines(text);
  const layout = format === 'auto' ? detect(lines) : format;
  const read =
    layout === 'json-lines'
      ? readJsonLines(lines, problems)
      : { networks: readText(lines, problems) };
  const record = listRecord(mapping, read.observedAt);
  const entries: TableEntry[] = read.networks.map((network) => ({ network, record }));
  if (entries.length === 0 && problems.length === 0)
    problems.push({ message: 'the list has no addresses' });
  return { entries, problems };
}

/** Spamhaus DROP / DROPv6 in their JSON Lines form (`drop_v4.json`, `drop_v6.json`). */
export function parseSpamhausDropJson(text: string, mapping: FeedMapping): FeedResult {
  return parseIpList(text, mapping, 'json-lines');
}
