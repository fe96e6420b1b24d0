/**
 * The table the HTTP benchmark loads into local KV: about `intervals` random networks (90%
 * IPv4, mostly /24 and /32 with some wider; 10% IPv6 /32–/64). Seeded, so every run holds the
 * same table. Records come in one of two mixes, since the attribute dictionary each chunk
 * carries grows with the distinct records it references:
 *
 * - `feeds` (default): 2,000 ASNs with country and organisation, mixed scores and categories,
 *   the mix of bench/sync.ts; tens of thousands of distinct records per chunk (enriched feeds).
 * - `small`: scores × categories only, no ASN or organisation, the mix of bench/lookup.ts; a
 *   few dozen distinct records (category lists such as VPN or hosting ranges).
 *
 * Three address ranges are kept out of the random part so the scenarios know what each address
 * is: CLEAN_IP (a `safe` /32, forwarded on auth paths), DIRTY_IP (a `critical` /32, blocked)
 * and UNKNOWN_V4_BASE, the first address of 45.0.0.0/8, which no entry covers (table miss, so
 * auth paths ask the live API).
 */

import { type GenerationPairs, generationPairs } from '../../cli/table-writer';
import { weightedPicker as picker, mulberry32 as rng } from '../../scripts/seeded-random';
import type { Family, Network } from '../../src/ip/network';
import type { ReputationRecord, Score } from '../../src/reputation/record';
import type { TableEntry } from '../../src/table/build';
import { ipv4 } from './spec';

export const CLEAN_IP = '44.0.0.1';
export const DIRTY_IP = '44.0.0.2';
/** 45.0.0.0: a public /8 the table leaves out (table misses for the live-lookup scenario). */
export const UNKNOWN_V4_BASE = 45 * 2 ** 24;
/** First octets no random IPv4 entry uses: the two ranges above, and private/loopback. */
const RESERVED_FIRST_OCTETS = new Set([0, 10, 44, 45, 127]);

/** Relative frequency of each IPv4 prefix length (as in bench/lookup.ts). */
// biome-ignore format: a table reads better in rows
const V4_LENGTHS: Record<number, number> = {
  16: 3, 17: 1, 18: 1, 19: 1, 20: 2, 21: 1, 22: 3, 23: 2, 24: 30,
  25: 1, 26: 1, 27: 1, 28: 1, 29: 1, 30: 1, 31: 1, 32: 49,
};
// biome-ignore format: a table reads better in rows
const V6_LENGTHS: Record<number, number> = {
  32: 5, 36: 2, 40: 5, 44: 3, 48: 30, 52: 3, 56: 15, 60: 5, 64: 32,
};
const SCORES: Score[] = ['unknown', 'safe', 'low', 'moderate', 'dangerous', 'critical'];
const CATEGORY_SETS = [
  [],
  [],
  ['vpn'],
  ['tor'],
  ['proxy'],
  ['hosting'],
  ['scanner'],
  ['hosting', 'vpn'],
];
const COUNTRIES = ['US', 'NL', 'RU', 'CN', 'DE', 'BR', 'IN', 'SG', 'FR', 'GB'];

function network(family: Family, raw: bigint, prefix: number): Network {
  const bits = family === 4 ? 32n : 64n;
  const host = (1n << (bits - BigInt(prefix))) - 1n;
  const start = raw & ~host;
  return { family, start, end: start | host, prefix };
}

export const RECORD_MIXES = ['feeds', 'small'] as const;
export type RecordMix = (typeof RECORD_MIXES)[number];

export function benchEntries(intervals: number, mix: RecordMix, seed = 0x5eed): TableEntry[] {
  const next = rng(seed);
  const v4Length = picker(V4_LENGTHS, next);
  const v6Length = picker(V6_LENGTHS, next);
  const asns = Array.from({ length: 2_000 }, (_, i) => ({
    asn: 1_000 + i * 17,
    country: COUNTRIES[next() % COUNTRIES.length] ?? 'US',
    org: `Example Network ${i}`,
  }));
  const records = new Map<string, ReputationRecord>();
  const recordFor = (): ReputationRecord => {
    const a = asns[next() % asns.length] as (typeof asns)[number];
    const score = SCORES[next() % SCORES.length] as Score;
    const categories = CATEGORY_SETS[next() % CATEGORY_SETS.length] as string[];
    const id = mix === 'feeds' ? `${a.asn}|${score}|${categories}` : `${score}|${categories}`;
    let r = records.get(id);
    if (!r) {
      r =
        mix === 'feeds'
          ? { score, categories, country: a.country, asn: a.asn, org: a.org, source: 'bench' }
          : { score, categories, source: 'bench' };
      records.set(id, r);
    }
    return r;
  };
  const out: TableEntry[] = [];
  while (out.length < intervals) {
    if (next() % 10 === 0) {
      // 2000::/4-ish global unicast, random below.
      const raw = (0x2000n << 48n) | (BigInt(next() & 0x0fff) << 48n) | (BigInt(next()) << 16n);
      out.push({ network: network(6, raw, v6Length()), record: recordFor() });
      continue;
    }
    const raw = next();
    if (RESERVED_FIRST_OCTETS.has(raw >>> 24) || raw >>> 24 >= 224) continue;
    out.push({ network: network(4, BigInt(raw), v4Length()), record: recordFor() });
  }
  const special = (ip: string, record: ReputationRecord): TableEntry => {
    const v = ip.split('.').reduce((n, o) => n * 256 + Number(o), 0);
    return { network: network(4, BigInt(v), 32), record };
  };
  const bench = { country: 'US', asn: 64496, source: 'bench' };
  out.push(special(CLEAN_IP, { score: 'safe', categories: [], org: 'Bench Clean ISP', ...bench }));
  out.push(
    special(DIRTY_IP, { score: 'critical', categories: [], org: 'Bench Dirty Hosting', ...bench }),
  );
  return out;
}

/** What `seedTable` writes to: a KV namespace (Miniflare's, or a binding). */
export interface KvWriter {
  put(key: string, value: ArrayBufferView | ArrayBuffer | string): Promise<unknown>;
}

/** Writes a generation as `ipgate sync` does: every chunk first, the manifest last. */
export async function seedTable(kv: KvWriter, gen: GenerationPairs): Promise<void> {
  for (const c of gen.chunks) await kv.put(c.key, c.value);
  await kv.put(gen.manifestPair.key, gen.manifestPair.value);
}

/** The KV pairs of the benchmark table (one generation: chunks, then the manifest). */
export function benchTable(intervals: number, mix: RecordMix): Promise<GenerationPairs> {
  return generationPairs(benchEntries(intervals, mix), { generation: 'bench-0' });
}

/** An address inside each chunk of the manifest, so requests from them load every chunk. */
export function chunkProbeIps(gen: GenerationPairs): string[] {
  return gen.manifest.chunks.map((c) => {
    const from = BigInt(c.family === 4 ? c.from : `0x${c.from}`);
    const to = BigInt(c.family === 4 ? c.to : `0x${c.to}`);
    const mid = from + (to - from) / 2n;
    if (c.family === 4) return ipv4(Number(mid));
    const hex = mid.toString(16).padStart(16, '0');
    return `${hex.slice(0, 4)}:${hex.slice(4, 8)}:${hex.slice(8, 12)}:${hex.slice(12, 16)}::1`;
  });
}
