/**
 * Shared pieces of the table tests: a small pool of records, networks from text, the full
 * build → encode → manifest → decode → TableSet pipeline as the CLI and the Worker run it,
 * and a naive longest-prefix model to compare lookups against.
 */
import { expect } from 'vitest';
import { type Network, parseNetwork } from '../../../src/ip/network';
import {
  mergeRecords,
  normalizeRecord,
  type ReputationRecord,
} from '../../../src/reputation/record';
import { buildTable, type Interval, type MergeFn, type TableEntry } from '../../../src/table/build';
import { decodeChunk, type EncodedChunk, encodeTable } from '../../../src/table/codec';
import type { TableChunk } from '../../../src/table/lookup';
import {
  buildManifest,
  expectedChunk,
  type Manifest,
  parseManifest,
  verifyChunkBytes,
} from '../../../src/table/manifest';
import { TableSet } from '../../../src/table/set';

export const RECORDS: ReputationRecord[] = [
  { score: 'critical', categories: ['scanner'], country: 'US', asn: 64500, source: 'feed-a' },
  { score: 'dangerous', categories: ['vpn', 'proxy'], country: 'de', source: 'feed-b' },
  { score: 'low', categories: ['hosting'], org: 'Example Hosting', asn: 64501 },
  { score: 'safe', categories: [] },
  { score: 'unknown', categories: ['tor'] },
  { score: 'moderate', categories: ['Mobile', 'remote'], observedAt: '2024-05-01T00:00:00Z' },
];

export function rec(i: number): ReputationRecord {
  const r = RECORDS[i % RECORDS.length];
  if (!r) throw new Error('no record');
  return r;
}

export function net(text: string): Network {
  const parsed = parseNetwork(text);
  if (!parsed.ok) throw new Error(`${text}: ${parsed.error}`);
  return parsed.network;
}

export function entry(text: string, record: ReputationRecord): TableEntry {
  return { network: net(text), record };
}

export interface Loaded {
  /** Each family's built intervals, as arrays. */
  built: { v4: Interval[]; v6: Interval[] };
  chunks: EncodedChunk[];
  manifest: Manifest;
  chunkMap: Map<string, TableChunk>;
  set: TableSet;
}

/**
 * Runs the whole write and read path. The manifest goes through JSON and `parseManifest`, and
 * each chunk is checked against its entry and decoded from a fresh ArrayBuffer, as from KV.
 */
export async function load(
  entries: TableEntry[],
  options: { generation?: string; maxIntervals?: number; merge?: MergeFn } = {},
): Promise<Loaded> {
  const generation = options.generation ?? 'gen-1';
  const built = buildTable(entries, options.merge);
  const chunks = encodeTable(built, { maxIntervals: options.maxIntervals });
  const written = await buildManifest(generation, chunks, new Date(0));
  const parsed = parseManifest(JSON.parse(JSON.stringify(written)));
  if (!parsed.ok) throw new Error(parsed.error);
  const manifest = parsed.manifest;
  const chunkMap = new Map<string, TableChunk>();
  for (const c of chunks) {
    const e = manifest.chunks.find((m) => m.family === c.family && m.index === c.index);
    if (!e) throw new Error(`no manifest entry for ${c.family}:${c.index}`);
    expect(await verifyChunkBytes(e, c.bytes)).toBeNull();
    const decoded = decodeChunk(c.bytes.slice().buffer, expectedChunk(e));
    if (!decoded.ok) throw new Error(decoded.error);
    chunkMap.set(e.key, decoded.chunk);
  }
  const created = TableSet.create(manifest, chunkMap);
  if (!created.ok) throw new Error(created.error);
  const arrays = { v4: built.v4.toArray(), v6: built.v6.toArray() };
  return { built: arrays, chunks, manifest, chunkMap, set: created.set };
}

/**
 * Longest-prefix match by scanning every entry: the narrowest key range holding the key wins;
 * entries with that same range merge in input order. IPv6 ranges are /64 keys, so a /128 and
 * its /64 are one range.
 */
export function naiveLookup(
  entries: readonly TableEntry[],
  family: 4 | 6,
  key: bigint,
  merge: MergeFn = mergeRecords,
): ReputationRecord | null {
  let best: TableEntry[] = [];
  let bestSize = -1n;
  for (const e of entries) {
    const n = e.network;
    if (n.family !== family || key < n.start || key > n.end) continue;
    const size = n.end - n.start;
    if (bestSize < 0n || size < bestSize) {
      best = [e];
      bestSize = size;
    } else if (size === bestSize) {
      best.push(e);
    }
  }
  const [first, ...rest] = best;
  if (!first) return null;
  return normalizeRecord(rest.reduce((acc, e) => merge(acc, e.record), first.record));
}

/** The table's answer for a bigint key, through the TableSet as the Worker asks it. */
export function tableLookup(set: TableSet, family: 4 | 6, key: bigint): unknown {
  return family === 4
    ? set.lookupV4(Number(key))
    : set.lookupV6(Number(key >> 32n), Number(key & 0xffff_ffffn));
}
