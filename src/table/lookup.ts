/**
 * One decoded table chunk in isolate memory, and the per-request lookup in it.
 *
 * The lookup runs on every request that needs a reputation, so it allocates nothing and uses
 * no bigint: keys are unsigned 32-bit numbers (IPv4 `v`; IPv6 `hi`/`lo`, the /64).
 *
 * IPv4 is rebuilt at construction into a compact form made for random probes into a table far
 * larger than the CPU caches, where every cache line a lookup touches may cost a trip to main
 * memory. The chunk's keys become boundaries, one where each interval starts and one where
 * each gap after an interval starts, each with a slot: what holds from there on (the record's
 * position + 1, or 0 for "no record"). They are grouped by /16, one block per /16 from the
 * first interval's to the last one's, in one u16 array: the number c of boundaries inside the
 * /16 after its first key, their offsets (the low 16 bits of the key, ascending), then c + 1
 * slots (u8, u16 or u32 as the record count needs): the slot in force at the /16's first key
 * (an interval crossing into the /16, a gap, or a boundary right there), then one per offset.
 * A directory (`index`, u32 per /16) gives each block's position; a run of /16s that no
 * boundary touches shares one block. A lookup reads the
 * directory, then the block: a branch-free binary search over its offsets and the slot beside
 * them, usually in the same one or two cache lines. That is about 3 bytes per boundary (with
 * u8 slots) and 8 per /16 of the occupied range, against 9 bytes per interval in KV, and small
 * enough that much of a large table stays in the CPU's last-level cache; the chunk keeps no
 * reference to the KV bytes.
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
import type { RecordStore } from './record-store';

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
  /** Per interval, its record's position in `recordIds`. */
  attributes: AttributeIndex;
  /** The chunk's distinct records, in dictionary order, as ids in `store`. */
  recordIds: Uint32Array;
  store: RecordStore;
}

const WORD = 2 ** 32;
const MAX_SHIFT = 31;
/** IPv4 directory granularity: a boundary's offset within its /16 fits a u16. */
const V4_BUCKET_SHIFT = 16;
const V4_OFFSET_MASK = 2 ** V4_BUCKET_SHIFT - 1;
const U8_SLOTS = 2 ** 8;
const U16_SLOTS = 2 ** 16;
const U16_BITS = 16;
const U16_MASK = 0xffff;
const EMPTY_U32 = new Uint32Array(0);
const EMPTY_U16 = new Uint16Array(0);
const EMPTY_U8 = new Uint8Array(0);

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
  /** How many distinct records the chunk's intervals refer to. */
  readonly recordCount: number;
  /** Bytes of the typed arrays the chunk holds on to (its records not counted). */
  readonly memoryBytes: number;

  // IPv4: the compact form (see the module comment). Keys outside `v4First..v4Last` hold no
  // record; for an IPv6 or an empty chunk `v4First > v4Last`.
  private readonly v4First: number;
  private readonly v4Last: number;
  private readonly v4Bucket0: number;
  private readonly v4Index: Uint32Array;
  private readonly v4Blocks: Uint16Array;
  /** The same bytes as `v4Blocks`, for u8 slots. */
  private readonly v4Bytes: Uint8Array;
  private readonly v4SlotWidth: 1 | 2 | 4;
  /**
   * Always 0. A lookup masks a read of its block's slots with it, which starts loading their
   * cache line while the search runs; a constant 0 would let the compiler drop the read.
   */
  private readonly v4Zero: number = 0;
  /** Record ids in the generation's store, by dictionary position. */
  private readonly recordIds: Uint32Array;
  private readonly store: RecordStore;

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
    this.recordIds = parts.recordIds;
    this.store = parts.store;
    this.recordCount = parts.recordIds.length;

    if (parts.family === 4) {
      const v4 = compactV4(parts.startHi, parts.endHi, parts.attributes, this.recordCount);
      this.v4First = v4.first;
      this.v4Last = v4.last;
      this.v4Bucket0 = v4.first >>> V4_BUCKET_SHIFT;
      this.v4Index = v4.index;
      this.v4Blocks = v4.blocks;
      this.v4Bytes = new Uint8Array(v4.blocks.buffer);
      this.v4SlotWidth = v4.slotWidth;
      this.startHi = EMPTY_U32;
      this.startLo = EMPTY_U32;
      this.endHi = EMPTY_U32;
      this.endLo = EMPTY_U32;
      this.attributes = EMPTY_U32;
      this.buckets = EMPTY_U32;
      this.shift = 0;
      this.bucketOnLo = false;
      this.memoryBytes = v4.index.byteLength + v4.blocks.byteLength;
      return;
    }

    this.v4First = 1;
    this.v4Last = 0;
    this.v4Bucket0 = 0;
    this.v4Index = EMPTY_U32;
    this.v4Blocks = EMPTY_U16;
    this.v4Bytes = EMPTY_U8;
    this.v4SlotWidth = 1;
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
    const blocks = this.v4Blocks;
    const block = this.v4Index[(key >>> V4_BUCKET_SHIFT) - this.v4Bucket0] as number;
    const c = blocks[block] as number;
    const slots = block + 1 + c;
    const early = (blocks[slots] as number) & this.v4Zero;
    const o = key & V4_OFFSET_MASK;
    // Branch-free search for the last offset at or below the key's; the count word stands in
    // for the /16's first key (never compared: offset 0 is at or below every key's).
    let at = block;
    let n = c + 1;
    while (n > 1) {
      const half = n >>> 1;
      at += half & ~((o - (blocks[at + half] as number)) >> 31);
      n -= half;
    }
    const k = at - block + early;
    const w = this.v4SlotWidth;
    const slot =
      w === 1
        ? (this.v4Bytes[2 * slots + k] as number)
        : w === 2
          ? (blocks[slots + k] as number)
          : ((blocks[slots + 2 * k] as number) |
              ((blocks[slots + 2 * k + 1] as number) << U16_BITS)) >>>
            0;
    return slot === 0 ? null : this.record(slot - 1);
  }

  /** The record at dictionary position `i` (0 ≤ i < recordCount). */
  record(i: number): ReputationRecord {
    return this.store.get(this.recordIds[i] as number);
  }

  /** Every distinct record of the chunk, in dictionary order. */
  records(): ReputationRecord[] {
    return Array.from(this.recordIds, (id) => this.store.get(id));
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
    return this.record(this.attributes[a] as number);
  }
}

interface CompactV4 {
  /** First key of the first interval and last key of the last (first > last when empty). */
  first: number;
  last: number;
  index: Uint32Array;
  blocks: Uint16Array;
  slotWidth: 1 | 2 | 4;
}

/**
 * The IPv4 compact form (see the module comment) of sorted, non-overlapping intervals, in two
 * passes over their boundaries: one counts each /16's, one fills the blocks in key order.
 */
function compactV4(
  starts: Uint32Array,
  ends: Uint32Array,
  attributes: AttributeIndex,
  recordCount: number,
): CompactV4 {
  const n = starts.length;
  if (n === 0) return { first: 1, last: 0, index: EMPTY_U32, blocks: EMPTY_U16, slotWidth: 1 };
  const first = starts[0] as number;
  const last = ends[n - 1] as number;
  const bucket0 = first >>> V4_BUCKET_SHIFT;
  const bucketCount = (last >>> V4_BUCKET_SHIFT) - bucket0 + 1;
  const slotCount = recordCount + 1;
  const slotWidth = slotCount <= U8_SLOTS ? 1 : slotCount <= U16_SLOTS ? 2 : 4;

  // Boundaries per /16 after its first key (one right at the first key only sets the slot in
  // force there and needs no offset), and which /16s have a boundary at all.
  const inner = new Uint32Array(bucketCount);
  const touched = new Uint8Array(bucketCount);
  const count = (key: number) => {
    const b = (key >>> V4_BUCKET_SHIFT) - bucket0;
    touched[b] = 1;
    if ((key & V4_OFFSET_MASK) !== 0) inner[b] = (inner[b] as number) + 1;
  };
  for (let i = 0; i < n; i++) {
    count(starts[i] as number);
    const gap = (ends[i] as number) + 1;
    if (i + 1 < n && gap < (starts[i + 1] as number)) count(gap);
  }
  // A /16 without boundaries after one whose slot holds all through shares that one's block.
  const index = new Uint32Array(bucketCount);
  let units = 0;
  for (let b = 0; b < bucketCount; b++) {
    if (b > 0 && touched[b] === 0 && inner[b - 1] === 0) {
      index[b] = index[b - 1] as number;
      continue;
    }
    index[b] = units;
    const c = inner[b] as number;
    units += 1 + c + Math.ceil(((c + 1) * slotWidth) / 2);
  }

  const out: BlockWriter = {
    blocks: new Uint16Array(units),
    bytes: new Uint8Array(0),
    slotWidth,
    index,
    inner,
    bucket: -1,
    block: 0,
    filled: 0,
    inForce: 0,
  };
  out.bytes = new Uint8Array(out.blocks.buffer);
  for (let i = 0; i < n; i++) {
    writeBoundary(out, starts[i] as number, (attributes[i] as number) + 1, bucket0);
    const gap = (ends[i] as number) + 1;
    if (i + 1 < n && gap < (starts[i + 1] as number)) writeBoundary(out, gap, 0, bucket0);
  }
  openBlocksTo(out, bucketCount - 1);
  return { first, last, index, blocks: out.blocks, slotWidth };
}

/** The state of the fill pass of `compactV4`. */
interface BlockWriter {
  blocks: Uint16Array;
  bytes: Uint8Array;
  slotWidth: 1 | 2 | 4;
  index: Uint32Array;
  inner: Uint32Array;
  /** The /16 (from the first) being filled, its block and how many offsets it has so far. */
  bucket: number;
  block: number;
  filled: number;
  /** The slot of the last boundary written. */
  inForce: number;
}

function writeBoundary(w: BlockWriter, key: number, slot: number, bucket0: number): void {
  openBlocksTo(w, (key >>> V4_BUCKET_SHIFT) - bucket0);
  const o = key & V4_OFFSET_MASK;
  if (o !== 0) {
    w.filled++;
    w.blocks[w.block + w.filled] = o;
  }
  writeSlot(w, w.filled, slot);
  w.inForce = slot;
}

/** Starts the blocks up to /16 `bucket`, each with the slot in force at its first key. */
function openBlocksTo(w: BlockWriter, bucket: number): void {
  while (w.bucket < bucket) {
    w.bucket++;
    w.block = w.index[w.bucket] as number;
    w.blocks[w.block] = w.inner[w.bucket] as number;
    w.filled = 0;
    writeSlot(w, 0, w.inForce);
  }
}

function writeSlot(w: BlockWriter, k: number, slot: number): void {
  const at = w.block + 1 + (w.blocks[w.block] as number);
  if (w.slotWidth === 1) w.bytes[2 * at + k] = slot;
  else if (w.slotWidth === 2) w.blocks[at + k] = slot;
  else {
    w.blocks[at + 2 * k] = slot & U16_MASK;
    w.blocks[at + 2 * k + 1] = slot >>> U16_BITS;
  }
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
