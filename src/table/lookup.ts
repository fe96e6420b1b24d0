/**
 * One decoded table chunk in isolate memory, and the per-request lookup in it.
 *
 * The lookup runs on every request that needs a reputation, so it allocates nothing and uses
 * no bigint: keys are unsigned 32-bit numbers (IPv4 `v`; IPv6 `hi`/`lo`, the /64). The interval
 * arrays are views into the chunk's bytes. At construction a bucket index is built over the
 * leading bits of the key's offset from the chunk's first key (up to TABLE_INDEX_BITS bits,
 * fewer for small chunks): bucket b holds the first interval that ends at or after the bucket's
 * first key, so a lookup binary-searches only the few intervals between two buckets, a couple
 * of steps instead of twenty at a million intervals. It costs 4 bytes per bucket (256 KiB at
 * most per chunk) and one pass over the ends.
 *
 * For IPv6 the buckets divide the upper 32 bits of the chunk's range, or the lower 32 when the
 * whole chunk shares its upper half.
 */
import { TABLE_INDEX_BITS } from '../constants';
import type { Family } from '../ip/network';
import type { ReputationRecord } from '../reputation/record';
import { keyHi, keyLo } from './keys';

export type AttributeIndex = Uint8Array | Uint16Array | Uint32Array;

/** The validated parts of a chunk, as the decoder hands them over. */
export interface ChunkParts {
  family: Family;
  generation: string;
  /** First and last key the chunk answers for. */
  from: bigint;
  to: bigint;
  /** IPv4: the interval starts; IPv6: their upper 32 bits. */
  startHi: Uint32Array;
  /** IPv6: lower 32 bits of the starts; empty for IPv4. */
  startLo: Uint32Array;
  endHi: Uint32Array;
  endLo: Uint32Array;
  /** Per interval, its record's position in `records`. */
  attributes: AttributeIndex;
  records: readonly ReputationRecord[];
}

const WORD = 2 ** 32;
const MAX_SHIFT = 31;

export class TableChunk {
  readonly family: Family;
  readonly count: number;
  readonly generation: string;
  readonly from: bigint;
  readonly to: bigint;
  /** Bounds as 32-bit halves; for IPv4 the value is in `…Hi` and `…Lo` is 0. */
  readonly fromHi: number;
  readonly fromLo: number;
  readonly toHi: number;
  readonly toLo: number;
  /** Bytes per attribute index entry: 1, 2 or 4. */
  readonly attributeWidth: 1 | 2 | 4;
  /** The distinct records of this chunk (frozen: lookups hand out shared objects). */
  readonly records: readonly ReputationRecord[];

  private readonly startHi: Uint32Array;
  private readonly startLo: Uint32Array;
  private readonly endHi: Uint32Array;
  private readonly endLo: Uint32Array;
  private readonly attributes: AttributeIndex;
  private readonly buckets: Uint32Array;
  private readonly shift: number;
  private readonly bucketOnLo: boolean;

  /** Takes parts that `decodeChunk` has validated; it does not check them again. */
  constructor(parts: ChunkParts) {
    this.family = parts.family;
    this.count = parts.attributes.length;
    this.generation = parts.generation;
    this.from = parts.from;
    this.to = parts.to;
    this.fromHi = parts.family === 4 ? Number(parts.from) : keyHi(parts.from);
    this.fromLo = parts.family === 4 ? 0 : keyLo(parts.from);
    this.toHi = parts.family === 4 ? Number(parts.to) : keyHi(parts.to);
    this.toLo = parts.family === 4 ? 0 : keyLo(parts.to);
    this.attributeWidth = parts.attributes.BYTES_PER_ELEMENT as 1 | 2 | 4;
    this.records = parts.records.map(freezeRecord);
    this.startHi = parts.startHi;
    this.startLo = parts.startLo;
    this.endHi = parts.endHi;
    this.endLo = parts.endLo;
    this.attributes = parts.attributes;

    this.bucketOnLo = parts.family === 6 && this.fromHi === this.toHi;
    const base = this.bucketOnLo ? this.fromLo : this.fromHi;
    const span = (this.bucketOnLo ? this.toLo : this.toHi) - base;
    const bits = Math.min(TABLE_INDEX_BITS, bitLength(this.count));
    this.shift = Math.min(MAX_SHIFT, Math.max(0, bitLength(span) - bits));
    const bucketCount = Math.floor(span / 2 ** this.shift) + 1;
    this.buckets = buildBuckets(
      this.bucketOnLo ? this.endLo : this.endHi,
      this.count,
      base,
      this.shift,
      bucketCount,
    );
  }

  /** The record for IPv4 key `v`, or null when no interval holds it or it is not this chunk's. */
  lookupV4(v: number): ReputationRecord | null {
    const key = v >>> 0;
    if (this.family !== 4 || key < this.fromHi || key > this.toHi) return null;
    const ends = this.endHi;
    const b = (key - this.fromHi) >>> this.shift;
    let lo = this.buckets[b] as number;
    let hi = this.buckets[b + 1] as number;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((ends[mid] as number) < key) lo = mid + 1;
      else hi = mid;
    }
    if (lo >= this.count || (this.startHi[lo] as number) > key) return null;
    return this.records[this.attributes[lo] as number] ?? null;
  }

  /** The record for the IPv6 /64 `hi:lo`, or null when no interval holds it or it is not ours. */
  lookupV6(hi: number, lo: number): ReputationRecord | null {
    const h = hi >>> 0;
    const l = lo >>> 0;
    if (
      this.family !== 6 ||
      h < this.fromHi ||
      (h === this.fromHi && l < this.fromLo) ||
      h > this.toHi ||
      (h === this.toHi && l > this.toLo)
    )
      return null;
    const endHi = this.endHi;
    const endLo = this.endLo;
    const b = this.bucketOnLo ? (l - this.fromLo) >>> this.shift : (h - this.fromHi) >>> this.shift;
    let a = this.buckets[b] as number;
    let z = this.buckets[b + 1] as number;
    while (a < z) {
      const mid = (a + z) >>> 1;
      const eh = endHi[mid] as number;
      if (eh < h || (eh === h && (endLo[mid] as number) < l)) a = mid + 1;
      else z = mid;
    }
    if (a >= this.count) return null;
    const sh = this.startHi[a] as number;
    if (sh > h || (sh === h && (this.startLo[a] as number) > l)) return null;
    return this.records[this.attributes[a] as number] ?? null;
  }
}

function bitLength(n: number): number {
  return n <= 0 ? 0 : 32 - Math.clz32(n);
}

/**
 * `buckets[b]` = first interval whose end (in the bucketed word) is at or past the first key of
 * bucket b; the last entry is `count`. The first bucket starts at the chunk's first key, which
 * no interval ends before.
 */
function buildBuckets(
  ends: Uint32Array,
  count: number,
  base: number,
  shift: number,
  bucketCount: number,
): Uint32Array {
  const buckets = new Uint32Array(bucketCount + 1);
  const width = 2 ** shift;
  let i = 0;
  for (let b = 1; b <= bucketCount; b++) {
    const first = b === bucketCount ? WORD : base + b * width;
    while (i < count && (ends[i] as number) < first) i++;
    buckets[b] = i;
  }
  buckets[bucketCount] = count;
  return buckets;
}

function freezeRecord(r: ReputationRecord): ReputationRecord {
  Object.freeze(r.categories);
  return Object.freeze(r);
}
