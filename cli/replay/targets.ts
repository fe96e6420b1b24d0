/**
 * The clients a replay plays, read from an ipgate CSV with the feed parser the table builder
 * uses (cli/feeds/ipgate-csv.ts), so a file `ipgate sync` accepts is a file `ipgate replay`
 * accepts, line for line.
 *
 * One client per row. A single address is replayed as written (canonical form). A CIDR row
 * stands for its first usable address: the network address + 1 for IPv4 up to /30 and for
 * IPv6 below /128; the network address itself for IPv4 /31 and /32 (RFC 3021: both are
 * usable). One address is enough: the table gives every address of a network the same record.
 * The row's score and categories are kept, because ipgate never tells a client why it was
 * blocked and the replay summary groups outcomes by what the CSV says about each address.
 */
import ipaddr from 'ipaddr.js';
import { formatIpv4 } from '../../src/ip/parse';
import type { Score } from '../../src/reputation/record';
import { parseCsvLine } from '../feeds/common';
import { parseIpgateCsv } from '../feeds/ipgate-csv';
import type { FeedProblem } from '../feeds/types';

export interface ReplayClient {
  /** The address sent as `CF-Connecting-IP`. */
  ip: string;
  /** The CSV's network when the row was a CIDR, else absent. */
  network?: string;
  score: Score;
  categories: string[];
  country?: string;
  /** 1-based line of the CSV. */
  line: number;
}

export interface ReplayClients {
  clients: ReplayClient[];
  problems: FeedProblem[];
  /** Rows whose address an earlier row already gave (replayed once). */
  duplicates: number;
}

/** First usable address of a parsed network, from its own text (IPv6 keys drop the low bits). */
function firstUsable(cell: string, family: 4 | 6, start: bigint, prefix: number): string {
  if (family === 4) return formatIpv4(Number(start) + (prefix <= 30 ? 1 : 0));
  const text = cell.trim();
  const slash = text.indexOf('/');
  const bytes = ipaddr.IPv6.parse(slash < 0 ? text : text.slice(0, slash)).toByteArray();
  // Host bits are zero (the parser refuses anything else), so +1 is setting the last bit.
  if (slash >= 0 && prefix < 128) bytes[15] = (bytes[15] ?? 0) | 1;
  return ipaddr.fromByteArray(bytes).toString();
}

/**
 * Every replayable client of an ipgate CSV text, with the bad lines (line number and why),
 * exactly as `ipgate sync` would report them. Lines are parsed one at a time so each client
 * keeps its own line number.
 */
export function readReplayClients(text: string): ReplayClients {
  const clients: ReplayClient[] = [];
  const problems: FeedProblem[] = [];
  const seen = new Set<string>();
  let duplicates = 0;
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  for (const [i, raw] of lines.entries()) {
    const line = i + 1;
    const parsed = parseIpgateCsv(raw, 'replay');
    for (const p of parsed.problems) problems.push({ line, message: p.message });
    const entry = parsed.entries[0];
    if (!entry) continue;
    const cells = parseCsvLine(raw);
    const cell = typeof cells === 'string' ? '' : (cells[0] ?? '');
    const isNetwork = cell.includes('/');
    const { network: n, record } = entry;
    const ip = firstUsable(
      cell,
      n.family,
      n.start,
      isNetwork ? n.prefix : n.family === 4 ? 32 : 128,
    );
    if (seen.has(ip)) {
      duplicates++;
      continue;
    }
    seen.add(ip);
    clients.push({
      ip,
      ...(isNetwork ? { network: cell.trim() } : {}),
      score: record.score,
      categories: [...record.categories],
      ...(record.country ? { country: record.country } : {}),
      line,
    });
  }
  return { clients, problems, duplicates };
}
