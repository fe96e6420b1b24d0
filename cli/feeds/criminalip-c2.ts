/**
 * Criminal IP's C2 daily feed (the `criminalip/C2-Daily-Feed` repository: one CSV a day, a
 * sample of the C2_TI data):
 *
 *   IP,Target C2,OpenPorts,Score(Inbound/Outbound),Country,Scan Time
 *   216.209.32.35,C2,80,Critical/Critical,ca,2025-09-19 20:03:38
 *   212.227.76.105,c2_mythic,443,Moderate/Low,de,2025-09-19 13:17:38
 *
 * Every row is a command-and-control server: category `c2`, plus `remote` when its open ports
 * include 22 (SSH) or 3389 (RDP). The published files hold one port a row, while the feed's
 * README describes the column as a list ("[80, 443]", quoted in CSV); both are read, and so are
 * ports separated by spaces, `;` or `|`. The score is the inbound half of `Inbound/Outbound`
 * (level names in any case, or 1–5). Country codes are lower-case in recent files. Scan Time has
 * no zone in the source, so `observedAt` keeps it as published (`2025-09-19T20:03:38`).
 *
 * A file whose first line is not this header is not this feed: one problem, no entries. Header
 * lines further down (daily files concatenated) are skipped. Lines are parsed one by one, so a
 * broken row is reported with its line number and the rest still loads.
 */

import { REMOTE_ACCESS_PORTS } from '../../src/constants';
import { parseNetwork } from '../../src/ip/network';
import { parseIp } from '../../src/ip/parse';
import { parseScore, type ReputationRecord } from '../../src/reputation/record';
import type { TableEntry } from '../../src/table/build';
import { checkMapping, parseCsvLine, show, splitLines, withMapping } from './common';
import type { FeedMapping, FeedProblem, FeedResult } from './types';

export const C2_CSV_HEADER = [
  'IP',
  'Target C2',
  'OpenPorts',
  'Score(Inbound/Outbound)',
  'Country',
  'Scan Time',
] as const;

const HEADER_KEYS = C2_CSV_HEADER.map(headerKey);
/** SSH and RDP: an exposed one puts `remote` on the record. */
const NO_COUNTRY = new Set(['', '-', 'n/a', 'na', 'none', 'unknown']);

function headerKey(cell: string): string {
  const k = cell.toLowerCase().replace(/[^a-z0-9]/g, '');
  return k === 'ipaddress' ? 'ip' : k;
}

function isHeader(cells: string[]): boolean {
  return (
    cells.length === HEADER_KEYS.length && cells.every((c, i) => headerKey(c) === HEADER_KEYS[i])
  );
}

function parsePorts(text: string): number[] | string {
  const inner = text.trim().replace(/^\[(.*)\]$/, '$1');
  const ports: number[] = [];
  for (const token of inner.split(/[\s,;|]+/)) {
    if (token === '') continue;
    const n = /^\d{1,5}$/.test(token) ? Number(token) : Number.NaN;
    if (!(n >= 0 && n <= 65535)) return `OpenPorts: ${show(token)} is not a port number`;
    ports.push(n);
  }
  return ports;
}

function parseRow(cells: string[], mapping: FeedMapping): TableEntry | string {
  if (cells.length !== C2_CSV_HEADER.length)
    return `expected ${C2_CSV_HEADER.length} columns, found ${cells.length}`;
  const [ipText = '', , portsText = '', scoreText = '', countryText = '', scanTime = ''] =
    cells.map((c) => c.trim());
  const ip = parseIp(ipText);
  if (!ip) return `IP: ${show(ipText)} is not a single IP address`;
  const net = parseNetwork(ip.text);
  if (!net.ok) return `IP: ${net.error}`;
  const ports = parsePorts(portsText);
  if (typeof ports === 'string') return ports;
  const inbound = scoreText.split('/')[0]?.trim() ?? '';
  const score = inbound === '' ? null : parseScore(inbound);
  if (score === null)
    return `Score: ${show(scoreText)} does not start with Safe, Low, Moderate, Dangerous, Critical or 1–5`;

  const record: ReputationRecord = { score, categories: ['c2'] };
  if (ports.some((p) => REMOTE_ACCESS_PORTS.has(p))) record.categories.push('remote');
  if (!NO_COUNTRY.has(countryText.toLowerCase())) {
    if (!/^[A-Za-z]{2}$/.test(countryText))
      return `Country: ${show(countryText)} is not a 2-letter code`;
    record.country = countryText;
  }
  if (scanTime !== '') {
    const m = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})$/.exec(scanTime);
    if (!m) return `Scan Time: ${show(scanTime)} is not YYYY-MM-DD hh:mm:ss`;
    record.observedAt = `${m[1]}T${m[2]}`;
  }
  return { network: net.network, record: withMapping(record, mapping) };
}

export function parseCriminalIpC2Csv(text: string, mapping: FeedMapping): FeedResult {
  const problems: FeedProblem[] = checkMapping(mapping, 'data');
  if (problems.length > 0) return { entries: [], problems };
  const entries: TableEntry[] = [];
  let sawHeader = false;
  const lines = splitLines(text);
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i] ?? '';
    if (raw.trim() === '') continue;
    const line = i + 1;
    const cells = parseCsvLine(raw);
    if (typeof cells === 'string') {
      if (!sawHeader) break;
      problems.push({ line, message: cells });
      continue;
    }
    if (isHeader(cells)) {
      sawHeader = true;
      continue;
    }
    if (!sawHeader) break;
    const entry = parseRow(cells, mapping);
    if (typeof entry === 'string') problems.push({ line, message: entry });
    else entries.push(entry);
  }
  if (!sawHeader) {
    const first = lines.find((l) => l.trim() !== '');
    return {
      entries: [],
      problems: [
        {
          message:
            first === undefined
              ? 'the feed is empty'
              : `not a Criminal IP C2 feed: the first line should be "${C2_CSV_HEADER.join(',')}", found ${show(first.trim())}`,
        },
      ],
    };
  }
  if (entries.length === 0 && problems.length === 0)
    problems.push({ message: 'the feed has no entries' });
  return { entries, problems };
}
