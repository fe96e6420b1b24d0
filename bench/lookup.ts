/**
 * Benchmark of the reputation table: build, encode, decode and lookups per second, for random
 * tables of 10k, 100k and 1M prefixes per family. Run with `npx tsx bench/lookup.ts [prefixes…]`
 * (default: all three sizes); prints one JSON object per table and family.
 *
 * Prefix lengths follow what feeds carry (IPv4 mostly /24 and /32 with some wider ranges; IPv6
 * /32–/64, mostly /48 and /64) and records come from a small realistic set, so the attribute
 * index is one byte wide. Lookups go through `TableSet`, as in the Worker: half the keys are
 * drawn from inside listed prefixes, half uniformly; a checksum over the results keeps the JIT
 * from dropping the work, and the best of several warm rounds counts.
 *
 * Absolute speeds depend on the machine (and on its other tenants), so each table is also
 * measured against a baseline in the same run: a plain binary search over the same intervals
 * (sorted start keys in a Uint32Array, the last start at or below the key, then its end),
 * with the same probes, in alternating rounds. Its checksum must equal the table's.
 * `ratioToBinarySearch` is the table's speed over the baseline's; `bytesPerInterval` is what
 * the chunks take in KV, `memoryBytesPerInterval` what the decoded chunks hold in memory.
 */

import { weightedPicker as picker, mulberry32 as rng } from '../scripts/seeded-random';
import type { Family, Network } from '../src/ip/network';
import type { ReputationRecord, Score } from '../src/reputation/record';
import { buildTable, type FamilyIntervals, type TableEntry } from '../src/table/build';
import { decodeChunk, encodeTable } from '../src/table/codec';
import type { TableChunk } from '../src/table/lookup';
import { buildManifest, expectedChunk } from '../src/table/manifest';
import { CHUNK_NOT_LOADED, TableSet } from '../src/table/set';

const SIZES = [10_000, 100_000, 1_000_000];
const LOOKUP_KEYS = 4_000_000;
const ROUNDS = 7;
const SEED = 0x1b873593;
const GENERATION = 'bench';

/** Relative frequency of each prefix length. */
// biome-ignore format: a table reads better in rows
const V4_LENGTHS: Record<number, number> = {
  16: 3, 17: 1, 18: 1, 19: 1, 20: 2, 21: 1, 22: 3, 23: 2, 24: 30,
  25: 1, 26: 1, 27: 1, 28: 1, 29: 1, 30: 1, 31: 1, 32: 49,
};
// biome-ignore format: a table reads better in rows
const V6_LENGTHS: Record<number, number> = {
  32: 5, 36: 2, 40: 5, 44: 3, 48: 30, 52: 3, 56: 15, 60: 5, 64: 32,
};

const SCORES: Score[] = ['safe', 'low', 'moderate', 'dangerous', 'critical'];
const CATEGORY_SETS = [[], ['vpn'], ['hosting'], ['proxy'], ['tor'], ['hosting', 'vpn']];
const RECORDS: ReputationRecord[] = SCORES.flatMap((score) =>
  CATEGORY_SETS.map((categories) => ({ score, categories, source: 'bench' })),
);

function randomEntries(family: Family, n: number, next: () => number): TableEntry[] {
  const bits = family === 4 ? 32n : 64n;
  const length = picker(family === 4 ? V4_LENGTHS : V6_LENGTHS, next);
  const out: TableEntry[] = [];
  for (let i = 0; i < n; i++) {
    const len = BigInt(length());
    const raw = family === 4 ? BigInt(next()) : (BigInt(next()) << 32n) | BigInt(next());
    const host = (1n << (bits - len)) - 1n;
    const start = raw & ~host;
    const network: Network = { family, start, end: start | host, prefix: Number(len) };
    out.push({ network, record: RECORDS[next() % RECORDS.length] as ReputationRecord });
  }
  return out;
}

/** Lookup keys as hi/lo words (IPv4: `hi` only), half inside listed prefixes. */
function probeKeys(family: Family, entries: TableEntry[], next: () => number) {
  const hi = new Uint32Array(LOOKUP_KEYS);
  const lo = new Uint32Array(LOOKUP_KEYS);
  for (let i = 0; i < LOOKUP_KEYS; i++) {
    if (i % 2 === 0) {
      hi[i] = next();
      lo[i] = next();
      continue;
    }
    const n = (entries[next() % entries.length] as TableEntry).network;
    const span = n.end - n.start + 1n;
    const offset = ((BigInt(next()) << 32n) | BigInt(next())) % span;
    const key = n.start + offset;
    if (family === 4) hi[i] = Number(key);
    else {
      hi[i] = Number(key >> 32n);
      lo[i] = Number(key & 0xffff_ffffn);
    }
  }
  return { hi, lo };
}

function runLookups(set: TableSet, family: Family, hi: Uint32Array, lo: Uint32Array): number {
  let sum = 0;
  if (family === 4) {
    for (let i = 0; i < hi.length; i++) {
      const r = set.lookupV4(hi[i] as number);
      if (r !== null && r !== CHUNK_NOT_LOADED) sum += r.categories.length + 1;
    }
  } else {
    for (let i = 0; i < hi.length; i++) {
      const r = set.lookupV6(hi[i] as number, lo[i] as number);
      if (r !== null && r !== CHUNK_NOT_LOADED) sum += r.categories.length + 1;
    }
  }
  return sum;
}

/** The baseline: sorted starts and ends as u32 words (IPv6: hi/lo pairs), records by index. */
interface Plain {
  startHi: Uint32Array;
  startLo: Uint32Array;
  endHi: Uint32Array;
  endLo: Uint32Array;
  records: ReputationRecord[];
}

function plainOf(cols: FamilyIntervals): Plain {
  const records: ReputationRecord[] = new Array(cols.length);
  for (let i = 0; i < cols.length; i++) records[i] = cols.record(i);
  return {
    startHi: cols.startHi,
    startLo: cols.startLo,
    endHi: cols.endHi,
    endLo: cols.endLo,
    records,
  };
}

/** The baseline for IPv4: the last start at or below the key, then its end. */
function runPlainV4(p: Plain, keys: Uint32Array): number {
  const starts = p.startLo;
  const ends = p.endLo;
  const records = p.records;
  const n = starts.length;
  let sum = 0;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i] as number;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((starts[mid] as number) <= k) lo = mid + 1;
      else hi = mid;
    }
    if (lo > 0 && (ends[lo - 1] as number) >= k)
      sum += (records[lo - 1] as ReputationRecord).categories.length + 1;
  }
  return sum;
}

/** The baseline for IPv6: the same over (hi, lo) word pairs. */
function runPlainV6(p: Plain, keysHi: Uint32Array, keysLo: Uint32Array): number {
  const { startHi, startLo, endHi, endLo, records } = p;
  const n = startHi.length;
  let sum = 0;
  for (let i = 0; i < keysHi.length; i++) {
    const h = keysHi[i] as number;
    const l = keysLo[i] as number;
    let lo = 0;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const sh = startHi[mid] as number;
      if (sh < h || (sh === h && (startLo[mid] as number) <= l)) lo = mid + 1;
      else hi = mid;
    }
    if (lo === 0) continue;
    const eh = endHi[lo - 1] as number;
    if (eh > h || (eh === h && (endLo[lo - 1] as number) >= l))
      sum += (records[lo - 1] as ReputationRecord).categories.length + 1;
  }
  return sum;
}

async function bench(family: Family, prefixes: number): Promise<void> {
  const next = rng(SEED ^ (prefixes * family));
  const entries = randomEntries(family, prefixes, next);

  let t = performance.now();
  const built = buildTable(entries);
  const buildMs = performance.now() - t;
  const intervals = family === 4 ? built.v4.length : built.v6.length;

  t = performance.now();
  const encoded = encodeTable(built);
  const encodeMs = performance.now() - t;
  const manifest = await buildManifest(GENERATION, encoded, new Date());
  const chunks = encoded.filter((c) => c.family === family);
  const totalBytes = chunks.reduce((n, c) => n + c.bytes.byteLength, 0);
  // KV hands the Worker a fresh ArrayBuffer per chunk; copy so decode starts from the same.
  const buffers = chunks.map((c) => c.bytes.slice().buffer);

  t = performance.now();
  const loaded = new Map<string, TableChunk>();
  for (const [k, buf] of buffers.entries()) {
    const entry = manifest.chunks.find((c) => c.family === family && c.index === k);
    if (!entry) throw new Error(`no manifest entry for chunk ${k}`);
    const decoded = decodeChunk(buf, expectedChunk(entry));
    if (!decoded.ok) throw new Error(`decode failed: ${decoded.error}`);
    loaded.set(entry.key, decoded.chunk);
  }
  const decodeMs = performance.now() - t;
  const memoryBytes = [...loaded.values()].reduce((n, c) => n + c.memoryBytes, 0);
  // The other family's chunks stay unloaded: this family's lookups never reach them.
  const created = TableSet.create(manifest, loaded);
  if (!created.ok) throw new Error(created.error);

  const plain = plainOf(family === 4 ? built.v4 : built.v6);
  const { hi, lo } = probeKeys(family, entries, next);
  let best = Number.POSITIVE_INFINITY;
  let baselineBest = Number.POSITIVE_INFINITY;
  let checksum = 0;
  let baselineChecksum = 0;
  const timed = (f: () => number): [number, number] => {
    const start = performance.now();
    const sum = f();
    return [performance.now() - start, sum];
  };
  for (let round = 0; round < ROUNDS; round++) {
    const ours = () => runLookups(created.set, family, hi, lo);
    const theirs = () => (family === 4 ? runPlainV4(plain, hi) : runPlainV6(plain, hi, lo));
    const [a, b] = round % 2 === 0 ? [ours, theirs] : [theirs, ours];
    const [ms1, sum1] = timed(a);
    const [ms2, sum2] = timed(b);
    const [oursMs, theirsMs] = a === ours ? [ms1, ms2] : [ms2, ms1];
    [checksum, baselineChecksum] = a === ours ? [sum1, sum2] : [sum2, sum1];
    best = Math.min(best, oursMs);
    baselineBest = Math.min(baselineBest, theirsMs);
  }
  if (checksum !== baselineChecksum)
    throw new Error(`checksum ${checksum} differs from the baseline's ${baselineChecksum}`);
  const round2 = (x: number) => Math.round(x * 100) / 100;
  const perSecond = (ms: number) => Math.round(LOOKUP_KEYS / (ms / 1000));
  console.log(
    JSON.stringify({
      family: `v${family}`,
      intervals,
      prefixes,
      lookupsPerSecond: perSecond(best),
      baselineLookupsPerSecond: perSecond(baselineBest),
      ratioToBinarySearch: round2(baselineBest / best),
      bytesPerInterval: round2(totalBytes / Math.max(1, intervals)),
      memoryBytesPerInterval: round2(memoryBytes / Math.max(1, intervals)),
      decodeMs: round2(decodeMs),
      buildMs: Math.round(buildMs),
      encodeMs: Math.round(encodeMs),
      chunks: chunks.length,
      checksum,
    }),
  );
}

const sizes = process.argv.slice(2).map(Number);
for (const prefixes of sizes.length > 0 ? sizes : SIZES) {
  await bench(4, prefixes);
  await bench(6, prefixes);
}
