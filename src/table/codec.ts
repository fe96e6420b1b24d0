/**
 * The binary chunk format (docs/table-format.md): the CLI encodes, the Worker decodes, and both
 * use this one module so they cannot disagree.
 *
 * A chunk is self-contained: a fixed header, the interval keys as little-endian u32 arrays, one
 * attribute index per interval (u8, u16 or u32, the narrowest that fits the chunk's distinct
 * records) and a JSON trailer with the records and the key range the chunk answers for. With
 * a few hundred distinct records an IPv4 interval costs 9 bytes, so the largest chunk stays
 * far below KV's value limit. The decoder reads the key and attribute sections as typed-array
 * views of the bytes KV handed over, without a copy, on any little-endian host; an IPv6 chunk
 * keeps them, an IPv4 chunk is rebuilt from them into a smaller form for lookups (./lookup.ts).
 *
 * Chunks are content-addressed (their KV key is their SHA-256, see ./manifest.ts), so a chunk
 * names no generation and its bytes depend only on its own intervals and key range. Where a
 * family is cut into chunks is decided by the content too: a chunk starts at an interval whose
 * start key hashes lower than its neighbours' (see `chunkStarts`), so a small change to the
 * table moves no boundary far from it, most chunks of the next build are byte-identical to
 * this one's, and a writer need not rewrite them.
 *
 * Decoding is a trust boundary (KV content may be stale, cut short or written by another
 * version): `decodeChunk` checks every length, the ordering of the intervals, every attribute
 * index, the trailer's schema and that the chunk covers the key range the manifest gives it,
 * and reports any problem as data. It never throws. Encoding runs at build time and throws on
 * input that could only come from a programming error.
 */
import { z } from 'zod';
import {
  TABLE_CHUNK_MAX_BYTES,
  TABLE_CHUNK_MAX_INTERVALS,
  TABLE_CHUNK_MIN_DIVISOR,
  TABLE_FORMAT_VERSION,
  TABLE_HEADER_BYTES,
  TABLE_MAGIC,
  TABLE_MAX_ATTRIBUTES,
  TABLE_MAX_DICTIONARY_BYTES,
} from '../constants';
import type { Family } from '../ip/network';
import { type ReputationRecord, recordSchema } from '../reputation/record';
import { type BuiltTable, FamilyIntervals, type Interval } from './build';
import { formatKey, keyHi, keyLo, maxKey, parseKey } from './keys';
import { type AttributeIndex, TableChunk } from './lookup';
import { RecordStore } from './record-store';
import { splitTrailer, type TrailerSplit } from './trailer';

/** Byte offsets of the header fields (all little-endian). */
const H = {
  magic: 0,
  version: 4,
  family: 6,
  width: 7,
  count: 8,
  keyBytes: 12,
  attributeBytes: 16,
  trailerBytes: 20,
  recordCount: 24,
  reserved: 28,
} as const;

const U32 = 4;
const LO_MAX = 0xffff_ffff;
/** u32 key arrays per interval: start and end, one word each for IPv4, two for IPv6. */
const KEY_WORDS: Record<Family, number> = { 4: 2, 6: 4 };
const U8_LIMIT = 2 ** 8;
const U16_LIMIT = 2 ** 16;
const IS_LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface EncodedChunk {
  family: Family;
  /** Position among its family's chunks, from 0. */
  index: number;
  /** First and last key this chunk answers for (inclusive). */
  from: bigint;
  to: bigint;
  count: number;
  bytes: Uint8Array;
}

export interface ChunkHeader {
  version: number;
  family: Family;
  attributeWidth: 1 | 2 | 4;
  count: number;
  keyBytes: number;
  attributeBytes: number;
  trailerBytes: number;
  recordCount: number;
}

export type DecodeResult = { ok: true; chunk: TableChunk } | { ok: false; error: string };
export type HeaderResult = { ok: true; header: ChunkHeader } | { ok: false; error: string };

export interface EncodeOptions {
  /** Most intervals per chunk (default TABLE_CHUNK_MAX_INTERVALS). */
  maxIntervals?: number;
}

/**
 * Splits each family's intervals into chunks of at most `maxIntervals` at content-defined
 * boundaries (`chunkStarts`). The chunks of a family cover its whole key space without gaps:
 * the first starts at key 0, each next one at its first interval's start, right after the
 * previous one ends, and the last ends at the largest key. A family with no intervals still
 * gets one (empty) chunk, so every key has a chunk.
 */
export function encodeTable(built: BuiltTable, opts: EncodeOptions = {}): EncodedChunk[] {
  const maxIntervals = opts.maxIntervals ?? TABLE_CHUNK_MAX_INTERVALS;
  if (!Number.isSafeInteger(maxIntervals) || maxIntervals < 1)
    throw new RangeError(`maxIntervals must be a positive integer, got ${maxIntervals}`);
  return [...encodeFamily(built.v4, maxIntervals), ...encodeFamily(built.v6, maxIntervals)];
}

function encodeFamily(cols: FamilyIntervals, maxIntervals: number): EncodedChunk[] {
  const { family } = cols;
  checkIntervals(cols, 0n, maxKey(family));
  const starts = chunkStarts(cols, maxIntervals);
  const scratch = new Dictionary(cols.records);
  const out: EncodedChunk[] = [];
  for (let k = 0; k < starts.length; k++) {
    const first = starts[k] as number;
    const end = starts[k + 1] ?? cols.length;
    const from = k === 0 ? 0n : cols.start(first);
    const to = end < cols.length ? cols.start(end) - 1n : maxKey(family);
    const bytes = encodeRange(cols, first, end, from, to, scratch);
    out.push({ family, index: k, from, to, count: end - first, bytes });
  }
  return out;
}

/**
 * Index of the first interval of each chunk (the first is 0). A chunk starts at interval i when
 * i's start key hashes lower than the keys of the `reach` = maxIntervals /
 * TABLE_CHUNK_MIN_DIVISOR intervals on either side (a local minimum; ties go to the lower
 * index, and i needs `reach` intervals on both sides), which puts starts at least reach + 1 and
 * on average about 2 * reach + 1 apart; a run between two such starts that is longer than
 * maxIntervals is cut into equal chunks. Whether i starts a chunk depends only on the keys near
 * i, so an edit to the table moves at most the boundaries within `reach` intervals of it and
 * the chunks further away keep their bytes (unless the edit makes a chunk overflow, which is
 * rare).
 */
export function chunkStarts(cols: FamilyIntervals, maxIntervals: number): number[] {
  const n = cols.length;
  const reach = Math.max(1, Math.floor(maxIntervals / TABLE_CHUNK_MIN_DIVISOR));
  const hash = new Uint32Array(n);
  const { startHi, startLo } = cols;
  for (let i = 0; i < n; i++) {
    const lo = startLo[i] as number;
    // A uniform hash of the start key (murmur3's finalizer; IPv6 folds both halves).
    hash[i] = cols.family === 4 ? mix32(lo) : mix32((startHi[i] as number) ^ mix32(lo));
  }
  // Distance to the nearest lower (or, on the left, equal) hash, by two monotonic stacks; the
  // largest u32 where there is none.
  const left = new Uint32Array(n).fill(NONE);
  const right = new Uint32Array(n).fill(NONE);
  const stack = new Int32Array(n);
  let top = 0;
  for (let i = 0; i < n; i++) {
    const h = hash[i] as number;
    while (top > 0 && (hash[stack[top - 1] as number] as number) > h) top--;
    if (top > 0) left[i] = i - (stack[top - 1] as number);
    stack[top++] = i;
  }
  top = 0;
  for (let i = n - 1; i >= 0; i--) {
    const h = hash[i] as number;
    while (top > 0 && (hash[stack[top - 1] as number] as number) >= h) top--;
    if (top > 0) right[i] = (stack[top - 1] as number) - i;
    stack[top++] = i;
  }
  const starts = [0];
  const cutBefore = (end: number) => {
    const from = starts[starts.length - 1] as number;
    const pieces = Math.ceil((end - from) / maxIntervals);
    for (let p = 1; p < pieces; p++) starts.push(from + Math.floor(((end - from) * p) / pieces));
    if (end < n) starts.push(end);
  };
  for (let i = reach; i + reach < n; i++)
    if (i > 0 && (left[i] as number) > reach && (right[i] as number) > reach) cutBefore(i);
  cutBefore(n);
  return starts;
}

const NONE = 0xffff_ffff;

function mix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85eb_ca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2_ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

export interface ChunkInput {
  family: Family;
  from: bigint;
  to: bigint;
  /** Sorted, non-overlapping, all within `from..to`. */
  intervals: readonly Interval[];
}

/** Encodes one chunk. Throws RangeError on intervals or records the decoder would refuse. */
export function encodeChunk(input: ChunkInput): Uint8Array {
  const { family, from, to, intervals } = input;
  if (family !== 4 && family !== 6) throw new RangeError(`unknown address family ${family}`);
  for (let i = 0; i < intervals.length; i++) {
    const iv = intervals[i] as Interval;
    if (typeof iv.start !== 'bigint' || typeof iv.end !== 'bigint' || iv.start > iv.end)
      throw new RangeError(`interval ${i} is not a bigint range with start <= end`);
    if (iv.start < 0n || iv.end > maxKey(family))
      throw new RangeError(`interval ${i} lies outside the IPv${family} key space`);
  }
  const cols = FamilyIntervals.fromIntervals(family, intervals);
  checkIntervals(cols, from, to);
  return encodeRange(cols, 0, cols.length, from, to, new Dictionary(cols.records));
}

/**
 * Throws unless `from..to` is a valid range of the family's keys and the intervals are sorted,
 * do not overlap, and lie inside it. Compares 32-bit halves: this runs over every interval of
 * every build.
 */
function checkIntervals(cols: FamilyIntervals, from: bigint, to: bigint): void {
  const { family, startHi, startLo, endHi, endLo } = cols;
  if (from < 0n || to > maxKey(family) || from > to)
    throw new RangeError(
      `invalid chunk range ${formatKey(family, from)}..${formatKey(family, to)}`,
    );
  if (cols.length === 0) return;
  const before = (h1: number, l1: number, h2: number, l2: number) =>
    h1 < h2 || (h1 === h2 && l1 < l2);
  if (cols.start(0) < from)
    throw new RangeError(`interval 0 starts before ${formatKey(family, from)}`);
  for (let i = 0; i < cols.length; i++) {
    const sh = startHi[i] as number;
    const sl = startLo[i] as number;
    if (before(endHi[i] as number, endLo[i] as number, sh, sl))
      throw new RangeError(`interval ${i} ends before it starts`);
    if (i > 0 && !before(endHi[i - 1] as number, endLo[i - 1] as number, sh, sl))
      throw new RangeError(
        `interval ${i} (${formatKey(family, cols.start(i))}) is unsorted or overlaps`,
      );
  }
  if (cols.end(cols.length - 1) > to)
    throw new RangeError(`interval ${cols.length - 1} ends past ${formatKey(family, to)}`);
}

/** Encodes intervals `first..end-1` of `cols` as the chunk answering for `from..to`. */
function encodeRange(
  cols: FamilyIntervals,
  first: number,
  end: number,
  from: bigint,
  to: bigint,
  dict: Dictionary,
): Uint8Array {
  const { family } = cols;
  const { texts, attributes } = dict.build(cols.attr, first, end);
  const count = end - first;
  const width = texts.length <= U8_LIMIT ? 1 : texts.length <= U16_LIMIT ? 2 : 4;
  // What JSON.stringify({ family, from, to, records }) writes, from each record's cached text.
  const head = JSON.stringify({ family, from: formatKey(family, from), to: formatKey(family, to) });
  const trailer = new TextEncoder().encode(`${head.slice(0, -1)},"records":[${texts.join(',')}]}`);
  if (trailer.length > TABLE_MAX_DICTIONARY_BYTES)
    throw new RangeError(
      `record dictionary of ${trailer.length} bytes exceeds ${TABLE_MAX_DICTIONARY_BYTES}; ` +
        'use a smaller maxIntervals',
    );
  const keyBytes = count * KEY_WORDS[family] * U32;
  const attributeBytes = count * width;
  const total = TABLE_HEADER_BYTES + keyBytes + attributeBytes + trailer.length;
  if (total > TABLE_CHUNK_MAX_BYTES)
    throw new RangeError(
      `chunk of ${total} bytes exceeds ${TABLE_CHUNK_MAX_BYTES}; use a smaller maxIntervals`,
    );

  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  view.setUint32(H.magic, TABLE_MAGIC, true);
  view.setUint16(H.version, TABLE_FORMAT_VERSION, true);
  view.setUint8(H.family, family);
  view.setUint8(H.width, width);
  view.setUint32(H.count, count, true);
  view.setUint32(H.keyBytes, keyBytes, true);
  view.setUint32(H.attributeBytes, attributeBytes, true);
  view.setUint32(H.trailerBytes, trailer.length, true);
  view.setUint32(H.recordCount, texts.length, true);
  view.setUint32(H.reserved, 0, true);

  const columns =
    family === 4
      ? [cols.startLo, cols.endLo]
      : [cols.startHi, cols.startLo, cols.endHi, cols.endLo];
  for (let c = 0; c < columns.length; c++) {
    const column = (columns[c] as Uint32Array).subarray(first, end);
    writeLittleEndian(view, TABLE_HEADER_BYTES + c * count * U32, 4, column);
  }
  const attrAt = TABLE_HEADER_BYTES + keyBytes;
  writeLittleEndian(view, attrAt, width, attributes);
  bytes.set(trailer, attrAt + attributeBytes);
  return bytes;
}

/**
 * Writes unsigned integers of `width` bytes at `offset`: one typed-array copy on a
 * little-endian host (the offsets are aligned by the layout), a loop elsewhere.
 */
function writeLittleEndian(
  view: DataView,
  offset: number,
  width: 1 | 2 | 4,
  values: Uint32Array,
): void {
  const n = values.length;
  if (width === 1) {
    new Uint8Array(view.buffer, offset, n).set(values);
  } else if (IS_LITTLE_ENDIAN) {
    (width === 2
      ? new Uint16Array(view.buffer, offset, n)
      : new Uint32Array(view.buffer, offset, n)
    ).set(values);
  } else {
    for (let i = 0; i < n; i++) {
      const v = values[i] as number;
      if (width === 2) view.setUint16(offset + 2 * i, v, true);
      else view.setUint32(offset + 4 * i, v, true);
    }
  }
}

/**
 * Per-chunk record dictionaries over one build's records: each chunk lists the distinct
 * records its intervals use (first use first) and gives each interval its position in that
 * list. A record is checked against the schema the decoder applies, and turned into JSON, once
 * per build however many chunks use it.
 */
class Dictionary {
  private readonly texts: (string | undefined)[];
  /** Position of each build record in the current chunk's list, -1 when unused. */
  private readonly local: Int32Array;

  constructor(private readonly records: readonly ReputationRecord[]) {
    this.texts = new Array(records.length);
    this.local = new Int32Array(records.length).fill(-1);
  }

  build(attr: Uint32Array, first: number, end: number) {
    const used: number[] = [];
    const texts: string[] = [];
    const attributes = new Uint32Array(end - first);
    for (let i = first; i < end; i++) {
      const id = attr[i] as number;
      let a = this.local[id] as number;
      if (a < 0) {
        a = used.length;
        this.local[id] = a;
        used.push(id);
        texts.push(this.text(id, i));
      }
      attributes[i - first] = a;
    }
    for (const id of used) this.local[id] = -1;
    return { texts, attributes };
  }

  private text(id: number, i: number): string {
    let text = this.texts[id];
    if (text === undefined) {
      const checked = recordSchema.safeParse(this.records[id]);
      if (!checked.success)
        throw new RangeError(`interval ${i} has an invalid record: ${checked.error.message}`);
      text = JSON.stringify(this.records[id]);
      this.texts[id] = text;
    }
    return text;
  }
}

// ── Decoding ───────────────────────────────────────────────────────────────────────────────

const trailerSchema = z
  .object({
    family: z.union([z.literal(4), z.literal(6)]),
    from: z.string(),
    to: z.string(),
    records: z.array(z.unknown()),
  })
  .strict();

/**
 * Each record's id in `store` (one store per generation, shared by its chunks: realistic
 * tables repeat the same tens of thousands of records in every chunk's dictionary). A record
 * whose text the store holds is matched by its bytes; a new one is parsed and checked against
 * the record schema first, so each distinct record is checked once per generation; a problem
 * names its path. Records the split did not find come parsed, in `parsed`.
 */
function storeRecords(
  bytes: Uint8Array,
  split: TrailerSplit,
  parsed: readonly unknown[],
  store: RecordStore,
): Uint32Array | string {
  const ids = new Uint32Array(split.count + parsed.length);
  for (let i = 0; i < split.count; i++) {
    const start = split.spans[2 * i] as number;
    const end = split.spans[2 * i + 1] as number;
    let id = store.findBytes(bytes, start, end);
    if (id < 0) {
      let raw: unknown;
      try {
        raw = JSON.parse(utf8(bytes.subarray(start, end)));
      } catch {
        return `trailer is not valid UTF-8 JSON at records.${i}`;
      }
      const problem = recordProblem(raw, i);
      if (problem) return problem;
      id = store.addBytes(bytes, start, end);
    }
    ids[i] = id;
  }
  for (let i = 0; i < parsed.length; i++) {
    const text = JSON.stringify(parsed[i]);
    let id = store.find(text);
    if (id < 0) {
      const problem = recordProblem(parsed[i], split.count + i);
      if (problem) return problem;
      id = store.add(text);
    }
    ids[split.count + i] = id;
  }
  return ids;
}

function recordProblem(raw: unknown, i: number): string | null {
  const checked = recordSchema.safeParse(raw);
  if (checked.success) return null;
  const issue = checked.error.issues[0];
  const where = ['records', i, ...(issue?.path ?? [])].map(String).join('.');
  return `trailer is invalid at ${where}: ${issue?.message ?? 'unknown problem'}`;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
/** UTF-8 bytes as text; throws on malformed UTF-8. */
const utf8 = (part: Uint8Array) => utf8Decoder.decode(part);

const familyName = (f: number) => `IPv${f}`;

/** Reads and checks the fixed header against the buffer's length. */
export function readChunkHeader(buf: ArrayBuffer | ArrayBufferView): HeaderResult {
  const bytes = asBytes(buf);
  if (!bytes) return fail('chunk is not an ArrayBuffer or a byte view');
  return readHeader(bytes);
}

/** What the manifest entry says a chunk is: its family and the key range it answers for. */
export interface ExpectedChunk {
  family: Family;
  from: bigint;
  to: bigint;
}

/**
 * Decodes and validates one chunk. `expect` comes from the manifest entry that named the
 * chunk; a chunk of another family or key range is refused.
 */
export function decodeChunk(
  buf: ArrayBuffer | ArrayBufferView,
  expect: ExpectedChunk,
  store: RecordStore = new RecordStore(),
): DecodeResult {
  try {
    return decode(buf, expect, store);
  } catch (e) {
    return fail(`chunk could not be decoded: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function decode(
  buf: ArrayBuffer | ArrayBufferView,
  expect: ExpectedChunk,
  store: RecordStore,
): DecodeResult {
  const bytes = asBytes(buf);
  if (!bytes) return fail('chunk is not an ArrayBuffer or a byte view');
  const head = readHeader(bytes);
  if (!head.ok) return head;
  const h = head.header;
  if (h.family !== expect.family)
    return fail(`chunk holds ${familyName(h.family)} keys, expected ${familyName(expect.family)}`);

  const trailerAt = TABLE_HEADER_BYTES + h.keyBytes + h.attributeBytes;
  let split: TrailerSplit | string;
  let parsed: unknown;
  try {
    split = splitTrailer(bytes, trailerAt, trailerAt + h.trailerBytes, utf8);
    if (typeof split === 'string') return fail(split);
    parsed = JSON.parse(split.head);
  } catch {
    return fail('trailer is not valid UTF-8 JSON');
  }
  const trailer = trailerSchema.safeParse(parsed);
  if (!trailer.success) {
    const issue = trailer.error.issues[0];
    const where = issue ? issue.path.map(String).join('.') || '(root)' : '(root)';
    return fail(`trailer is invalid at ${where}: ${issue?.message ?? 'unknown problem'}`);
  }
  const t = trailer.data;
  const recordIds = storeRecords(bytes, split, t.records, store);
  if (typeof recordIds === 'string') return fail(recordIds);
  if (t.family !== h.family)
    return fail(`trailer says ${familyName(t.family)}, header says ${familyName(h.family)}`);
  const from = parseKey(h.family, t.from);
  const to = parseKey(h.family, t.to);
  if (from === null || to === null || from > to)
    return fail(`trailer key range ${JSON.stringify(t.from)}..${JSON.stringify(t.to)} is invalid`);
  if (from !== expect.from || to !== expect.to)
    return fail(
      `chunk covers ${t.from}..${t.to}, expected ${formatKey(h.family, expect.from)}..` +
        formatKey(h.family, expect.to),
    );
  if (recordIds.length !== h.recordCount)
    return fail(`trailer has ${recordIds.length} records, header says ${h.recordCount}`);

  const words = views(bytes, h);
  const problem = checkDecoded(h, words, from, to);
  if (problem) return fail(problem);
  return {
    ok: true,
    chunk: new TableChunk({
      family: h.family,
      from,
      to,
      ...words,
      recordIds,
      store,
    }),
  };
}

function readHeader(bytes: Uint8Array): HeaderResult {
  if (bytes.length < TABLE_HEADER_BYTES)
    return fail(
      `chunk is truncated: ${bytes.length} bytes, the header alone is ${TABLE_HEADER_BYTES}`,
    );
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const magic = view.getUint32(H.magic, true);
  if (magic !== TABLE_MAGIC)
    return fail(`not a table chunk: magic 0x${magic.toString(16).padStart(8, '0')}`);
  const version = view.getUint16(H.version, true);
  if (version !== TABLE_FORMAT_VERSION)
    return fail(`chunk format version ${version}, this decoder reads ${TABLE_FORMAT_VERSION}`);
  const family = view.getUint8(H.family);
  if (family !== 4 && family !== 6) return fail(`unknown address family ${family} in header`);
  const width = view.getUint8(H.width);
  if (width !== 1 && width !== 2 && width !== 4)
    return fail(`attribute width ${width} is not 1, 2 or 4`);
  const reserved = view.getUint32(H.reserved, true);
  if (reserved !== 0) return fail(`reserved header field is ${reserved}, not 0`);
  const count = view.getUint32(H.count, true);
  const keyBytes = view.getUint32(H.keyBytes, true);
  const attributeBytes = view.getUint32(H.attributeBytes, true);
  const trailerBytes = view.getUint32(H.trailerBytes, true);
  const recordCount = view.getUint32(H.recordCount, true);
  if (keyBytes !== count * KEY_WORDS[family] * U32)
    return fail(
      `key section of ${keyBytes} bytes does not fit ${count} ${familyName(family)} intervals`,
    );
  if (attributeBytes !== count * width)
    return fail(`attribute section of ${attributeBytes} bytes does not fit ${count} × ${width}`);
  if (trailerBytes > TABLE_MAX_DICTIONARY_BYTES)
    return fail(`trailer of ${trailerBytes} bytes exceeds ${TABLE_MAX_DICTIONARY_BYTES}`);
  if (recordCount > Math.min(count, TABLE_MAX_ATTRIBUTES, 2 ** (8 * width)))
    return fail(`${recordCount} records cannot belong to ${count} intervals of width ${width}`);
  const expected = TABLE_HEADER_BYTES + keyBytes + attributeBytes + trailerBytes;
  if (bytes.length < expected)
    return fail(`chunk is truncated: ${bytes.length} bytes, the header describes ${expected}`);
  if (bytes.length > expected)
    return fail(`chunk has ${bytes.length - expected} unexpected bytes after its trailer`);
  return {
    ok: true,
    header: {
      version,
      family,
      attributeWidth: width,
      count,
      keyBytes,
      attributeBytes,
      trailerBytes,
      recordCount,
    },
  };
}

interface Words {
  startHi: Uint32Array;
  startLo: Uint32Array;
  endHi: Uint32Array;
  endLo: Uint32Array;
  attributes: AttributeIndex;
}

/**
 * Typed arrays over the key and attribute sections. Views share the bytes when the host is
 * little-endian and the sections are aligned (always, for a whole ArrayBuffer); otherwise the
 * values are copied out through a DataView.
 */
function views(bytes: Uint8Array, h: ChunkHeader): Words {
  const n = h.count;
  const share = IS_LITTLE_ENDIAN && bytes.byteOffset % U32 === 0;
  const data = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const column = (c: number): Uint32Array => {
    const at = TABLE_HEADER_BYTES + c * n * U32;
    if (share) return new Uint32Array(bytes.buffer, bytes.byteOffset + at, n);
    const out = new Uint32Array(n);
    for (let i = 0; i < n; i++) out[i] = data.getUint32(at + i * U32, true);
    return out;
  };
  const attrAt = TABLE_HEADER_BYTES + h.keyBytes;
  const attributes = (): AttributeIndex => {
    const at = bytes.byteOffset + attrAt;
    if (h.attributeWidth === 1) return new Uint8Array(bytes.buffer, at, n);
    if (share && h.attributeWidth === 2) return new Uint16Array(bytes.buffer, at, n);
    if (share) return new Uint32Array(bytes.buffer, at, n);
    const out = h.attributeWidth === 2 ? new Uint16Array(n) : new Uint32Array(n);
    for (let i = 0; i < n; i++)
      out[i] =
        h.attributeWidth === 2
          ? data.getUint16(attrAt + 2 * i, true)
          : data.getUint32(attrAt + U32 * i, true);
    return out;
  };
  if (h.family === 4) {
    const empty = new Uint32Array(0);
    return {
      startHi: column(0),
      startLo: empty,
      endHi: column(1),
      endLo: empty,
      attributes: attributes(),
    };
  }
  return {
    startHi: column(0),
    startLo: column(1),
    endHi: column(2),
    endLo: column(3),
    attributes: attributes(),
  };
}

/** Every interval inside `from..to`, start <= end, sorted without overlap; indexes in range. */
function checkDecoded(h: ChunkHeader, w: Words, from: bigint, to: bigint): string | null {
  const { startHi, startLo, endHi, endLo, attributes } = w;
  const v6 = h.family === 6;
  const fromHi = v6 ? keyHi(from) : Number(from);
  const fromLo = v6 ? keyLo(from) : 0;
  const toHi = v6 ? keyHi(to) : Number(to);
  const toLo = v6 ? keyLo(to) : 0;
  // The previous interval's end, starting one key below `from` (hi -1 sits below key 0).
  let ph = fromHi - 1;
  let pl = 0;
  if (v6 && fromLo === 0) pl = LO_MAX;
  else if (v6) {
    ph = fromHi;
    pl = fromLo - 1;
  }
  for (let i = 0; i < h.count; i++) {
    const sh = startHi[i] as number;
    const sl = v6 ? (startLo[i] as number) : 0;
    const eh = endHi[i] as number;
    const el = v6 ? (endLo[i] as number) : 0;
    if (sh > eh || (sh === eh && sl > el)) return `interval ${i} starts after it ends`;
    if (sh < ph || (sh === ph && sl <= pl))
      return i === 0
        ? `interval 0 starts before the chunk's first key`
        : `interval ${i} is unsorted or overlaps interval ${i - 1}`;
    if ((attributes[i] as number) >= h.recordCount)
      return `interval ${i} has attribute index ${attributes[i]}, only ${h.recordCount} records`;
    ph = eh;
    pl = el;
  }
  if (h.count > 0 && (ph > toHi || (ph === toHi && pl > toLo)))
    return `interval ${h.count - 1} ends after the chunk's last key`;
  return null;
}

function asBytes(buf: unknown): Uint8Array | null {
  if (buf instanceof ArrayBuffer) return new Uint8Array(buf);
  if (ArrayBuffer.isView(buf)) return new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  return null;
}

function fail(error: string): { ok: false; error: string } {
  return { ok: false, error };
}
