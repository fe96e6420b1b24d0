/**
 * The ipgate CSV that `ipgate enrich` appends its answers to, one row per client as soon as the
 * provider answers, so an interrupted run loses at most the call in flight; the next run reads
 * the file back and skips every client it already holds (resuming costs no API call).
 *
 * Rows follow the documented ipgate CSV (`network,score,categories,country,asn,org`) and are
 * read by the same feed adapter as any operator's CSV. `network` is the client key (the IPv4
 * address or the IPv6 /64), `score` is empty when the provider gave none, and `org` is quoted
 * when it holds a comma or a quote; line breaks and control characters in it become spaces,
 * since the format has one row per line.
 */
import { appendFileSync, existsSync, readFileSync, statSync } from 'node:fs';
import type { ReputationRecord } from '../../src/reputation/record';
import { CliError } from '../errors';
import { parseCsvLine, splitLines } from '../feeds/common';
import { CSV_COLUMNS } from '../feeds/ipgate-csv';
import { toClient } from './input';

export const RESULTS_HEADER = CSV_COLUMNS.join(',');

/** One cell, quoted when the CSV parser would otherwise split or misread it. */
export function csvCell(value: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: one row per line, so none may stay
  const flat = value.replace(/[\u0000-\u001f\u007f]+/g, ' ').trim();
  return /[",]/.test(flat) ? `"${flat.replaceAll('"', '""')}"` : flat;
}

/** The CSV row for a client's record (no line terminator). */
export function resultRow(key: string, record: ReputationRecord): string {
  return [
    key,
    record.score === 'unknown' ? '' : record.score,
    record.categories.join('|'),
    record.country ?? '',
    record.asn === undefined ? '' : String(record.asn),
    csvCell(record.org ?? ''),
  ].join(',');
}

export interface DoneKeys {
  keys: Set<string>;
  /** Rows of the file that name no single client (reported; the sync reports them too). */
  problems: { line: number; message: string }[];
}

/** The clients the file already answers; an absent file answers none. */
export function readDone(path: string): DoneKeys {
  const out: DoneKeys = { keys: new Set(), problems: [] };
  if (!existsSync(path)) return out;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new CliError(
      `cannot read ${path}: ${e instanceof Error ? e.message : e}`,
      'check the --out path and its permissions',
    );
  }
  splitLines(text).forEach((raw, i) => {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const cells = parseCsvLine(raw);
    const first = typeof cells === 'string' ? '' : (cells[0]?.trim() ?? '');
    if (first.toLowerCase() === 'network') return;
    const client = toClient(first);
    if (client.ok) out.keys.add(client.client.key);
    else
      out.problems.push({ line: i + 1, message: typeof cells === 'string' ? cells : client.error });
  });
  return out;
}

/** Appends rows to the results file, creating it with its header first. */
export class ResultsFile {
  private needsNewline: boolean;

  constructor(readonly path: string) {
    const size = existsSync(path) ? statSync(path).size : 0;
    if (size === 0) {
      this.write(`${RESULTS_HEADER}\n`);
      this.needsNewline = false;
    } else {
      const text = readFileSync(path, 'utf8');
      this.needsNewline = !text.endsWith('\n');
    }
  }

  append(row: string): void {
    this.write(`${this.needsNewline ? '\n' : ''}${row}\n`);
    this.needsNewline = false;
  }

  private write(text: string): void {
    try {
      appendFileSync(this.path, text);
    } catch (e) {
      throw new CliError(
        `cannot write ${this.path}: ${e instanceof Error ? e.message : e}`,
        'check the --out path, its directory and free disk space',
      );
    }
  }
}
