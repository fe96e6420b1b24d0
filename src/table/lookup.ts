/**
 * One decoded table chunk in isolate memory, and the per-request lookup in it.
 *
 * The lookup runs on every request that needs a reputation, so it allocates nothing and uses
 * no bigint: keys are unsigned 32-bit numbers (IPv4 `v`; IPv6 `hi`/`lo`, the /64).
 *
 * IPv4 is rebuilt at construction into a compact form made for random probes into a table far
 * larger than the CPU caches, where each cache line a lookup touches costs a trip to main
 * memory. The chunk's keys become a sorted list of boundaries, one where each interval starts
 * and one where each gap after an interval starts, stored as two parallel arrays: the low 16
 * bits of the boundary key (`offsets`, u16) and what holds from there on (`slots`, the
 * record's position + 1, or 0 for "no record"; u8, u16 or u32 as the record count needs). A
 * directory with one entry per /16 (`index`) gives the first boundary at or after the /16's
 * first key. A lookup reads the directory, binary-searches the /16's offsets without branches
 * (a few dozen bytes, usually one cache line; the boundary before the /16 stands in when none
 * of its own is at or below the key, so an interval that crosses /16s needs no copies) and
 * reads one slot. That is about 3 bytes per boundary and 4 per /16 of the chunk's occupied
 * range, against 9 bytes per interval in KV; the chunk keeps no reference to the KV bytes.
 *
 * IPv6 keeps the interval arrays as views into the chunk's bytes and a bucket index over the
 * leading bits of the key's offset from the chunk's first key (up to TABLE_INDEX_BITS bits,
 * fewer for small chunks; over the upper 32 bits of the key, or the lower 32 when the whole
 * chunk shares its upper half): bucket b holds the first interval that ends at or after the
 * bucket's first key, so a lookup binary-searches only the few intervals between two buckets.
 */
import { TABLE_INDEX_BITS } from '../constants';
import type { Family } from '../ip/network';
import type { ReputationRecord } from '../reputation/record';
import { keyHi, keyLo } from './keys';

export type AttributeIndex = Uint8Array | Uint16Array | Uint32Array;

/** The validated parts of a chunk, as the decoder hands them over. */
export interface ChunkParts {
  family: Family;
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
/** IPv4 directory granularity: a boundary's offset within its /16 fits a u16. */
const V4_BUCKET_SHIFT = 16;
const V4_OFFSET_MASK = 0xffff;
const U8_SLOTS = 2 ** 8;
const U16_SLOTS = 2 ** 16;
const EMPTY_U32 = new Uint32Array(0);
const EMPTY_U16 = new Uint16Array(0);

export class TableChunk {
  readonly family: Family;
  readonly count: number;
  readonly from: bigint;
  readonly to: bigint;
  /** Bounds as 32-bit halves; for IPv4 the value is in `…Hi` and `…Lo` is 0. */
  readonly fromHi: number;
  readonly fromLo: number;
  readonly toHi: number;
  readonly toLo: number;
  /** Bytes per attribute index entry in the encoded chunk: 1, 2 or 4. */
  readonly attributeWidth: 1 | 2 | 4;
  /** The distinct records of this chunk (frozen: lookups hand out shared objects). */
  readonly records: readonly ReputationRecord[];
  /** Bytes of the typed arrays the chunk holds on to (its records not counted). */
  readonly memoryBytes: number;

  // IPv4: the compact form (see the module comment). Keys outside `v4First..v4Last` hold no
  // record; for an IPv6 or an empty chunk `v4First > v4Last`.
  private readonly v4First: number;
  private readonly v4Last: number;
  private readonly v4Bucket0: number;
  private readonly v4Index: Uint32Array;
  private readonly v4Offsets: Uint16Array;
  private readonly v4Slots: AttributeIndex;
  /** `records` behind a leading null: slot s answers `slotRecords[s]`. */
  private readonly slotRecords: readonly (ReputationRecord | null)[];

  // IPv6: views into the chunk's bytes and the bucket index over them.
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
    this.from = parts.from;
    this.to = parts.to;
    this.fromHi = parts.family === 4 ? Number(parts.from) : keyHi(parts.from);
    this.fromLo = parts.family === 4 ? 0 : keyLo(parts.from);
    this.toHi = parts.family === 4 ? Number(parts.to) : keyHi(parts.to);
    this.toLo = parts.family === 4 ? 0 : keyLo(parts.to);
    this.attributeWidth = parts.attributes.BYTES_PER_ELEMENT as 1 | 2 | 4;
    this.records = parts.records.map(freezeRecord);
    this.slotRecords = [null, ...this.records];

    if (parts.family === 4) {
      const v4 = compactV4(parts.startHi, parts.endHi, parts.attributes, this.records.length);
      this.v4First = v4.first;
      this.v4Last = v4.last;
      this.v4Bucket0 = v4.first >>> V4_BUCKET_SHIFT;
      this.v4Index = v4.index;
      this.v4Offsets = v4.offsets;
      this.v4Slots = v4.slots;
      this.startHi = EMPTY_U32;
      this.startLo = EMPTY_U32;
      this.endHi = EMPTY_U32;
      this.endLo = EMPTY_U32;
      this.attributes = EMPTY_U32;
      this.buckets = EMPTY_U32;
      this.shift = 0;
      this.bucketOnLo = false;
      this.memoryBytes = v4.index.byteLength + v4.offsets.byteLength + v4.slots.byteLength;
      return;
    }

    this.v4First = 1;
    this.v4Last = 0;
    this.v4Bucket0 = 0;
    this.v4Index = EMPTY_U32;
    this.v4Offsets = EMPTY_U16;
    this.v4Slots = EMPTY_U32;
    this.startHi = parts.startHi;
    this.startLo = parts.startLo;
    this.endHi = parts.endHi;
    this.endLo = parts.endLo;
    this.attributes = parts.attributes;
    this.bucketOnLo = this.fromHi === this.toHi;
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
    this.memoryBytes =
      retainedBytes([this.startHi, this.startLo, this.endHi, this.endLo, this.attributes]) +
      this.buckets.byteLength;
  }

  /** The record for IPv4 key `v`, or null when no interval holds it or it is not this chunk's. */
  lookupV4(v: number): ReputationRecord | null {
    const key = v >>> 0;
    if (key < this.v4First || key > this.v4Last) return null;
    const index = this.v4Index;
    const offsets = this.v4Offsets;
    const b = (key >>> V4_BUCKET_SHIFT) - this.v4Bucket0;
    const o = key & V4_OFFSET_MASK;
    // Branch-free search for the last boundary at or below the key, from the one before the
    // bucket's first (never compared: it lies below the bucket, so below the key).
    let at = (index[b] as number) - 1;
    let n = (index[b + 1] as number) - at;
    while (n > 1) {
      const half = n >>> 1;
      at += half & ~((o - (offsets[at + half] as number)) >> 31);
      n -= half;
    }
    return this.slotRecords[this.v4Slots[at] as number] ?? null;
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

interface CompactV4 {
  /** First key of the first interval and last key of the last (first > last when empty). */
  first: number;
  last: number;
  index: Uint32Array;
  offsets: Uint16Array;
  slots: AttributeIndex;
}

/**
 * The IPv4 compact form of sorted, non-overlapping intervals: boundary 0 is a "no record"
 * sentinel; then each interval's start, and the key after its end unless the next interval
 * starts there or it is the last. `index[b]` is the first boundary at or after the first key of
 * /16 number `first >>> 16` + b, for every /16 from the first interval's to the last one's and
 * one more entry after them.
 */
function compactV4(
  starts: Uint32Array,
  ends: Uint32Array,
  attributes: AttributeIndex,
  recordCount: number,
): CompactV4 {
  const n = starts.length;
  if (n === 0)
    return {
      first: 1,
      last: 0,
      index: EMPTY_U32,
      offsets: EMPTY_U16,
      slots: new Uint8Array(0),
    };
  let boundaries = 1 + n;
  for (let i = 0; i + 1 < n; i++)
    if ((ends[i] as number) + 1 < (starts[i + 1] as number)) boundaries++;
  const first = starts[0] as number;
  const last = ends[n - 1] as number;
  const bucket0 = first >>> V4_BUCKET_SHIFT;
  const bucketCount = (last >>> V4_BUCKET_SHIFT) - bucket0 + 1;
  const index = new Uint32Array(bucketCount + 1);
  const offsets = new Uint16Array(boundaries);
  const slotCount = recordCount + 1;
  const slots =
    slotCount <= U8_SLOTS
      ? new Uint8Array(boundaries)
      : slotCount <= U16_SLOTS
        ? new Uint16Array(boundaries)
        : new Uint32Array(boundaries);
  let at = 1;
  let bucket = 0;
  const put = (key: number, slot: number) => {
    const b = (key >>> V4_BUCKET_SHIFT) - bucket0;
    while (bucket <= b) index[bucket++] = at;
    offsets[at] = key & V4_OFFSET_MASK;
    slots[at] = slot;
    at++;
  };
  for (let i = 0; i < n; i++) {
    put(starts[i] as number, (attributes[i] as number) + 1);
    const after = (ends[i] as number) + 1;
    if (i + 1 < n && after < (starts[i + 1] as number)) put(after, 0);
  }
  while (bucket <= bucketCount) index[bucket++] = at;
  return { first, last, index, offsets, slots };
}

function bitLength(n: number): number {
  return n <= 0 ? 0 : 32 - Math.clz32(n);
}

/** Bytes of the buffers behind `arrays`, each counted once (views share the chunk's bytes). */
function retainedBytes(arrays: readonly ArrayBufferView[]): number {
  const buffers = new Set<ArrayBufferLike>();
  for (const a of arrays) if (a.byteLength > 0) buffers.add(a.buffer);
  let total = 0;
  for (const b of buffers) total += b.byteLength;
  return total;
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
