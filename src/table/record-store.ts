/**
 * The distinct records of one table generation, held as UTF-8 JSON text in one growing byte
 * buffer instead of as objects or strings.
 *
 * A realistic table has tens of thousands of distinct records (one per organisation, country,
 * score and category mix). As objects they were a few hundred thousand small V8 heap objects
 * that every major garbage collection had to mark. As strings they were few objects, but
 * megabytes that the load allocated in V8's young generation and that survived its scavenges:
 * V8 sizes the young generation by how much survives, so loading a table grew it to its
 * maximum for the life of the isolate, and every later scavenge paused four times longer
 * (about 12 ms instead of 3 under load, measured with `--trace-gc-nvp`). Here the texts go
 * into a byte buffer whose storage is outside the V8 heap, with typed arrays saying where each
 * record starts, and a hash index in a typed array for de-duplication across the chunks of a
 * generation. Nothing the store keeps is a young object, whatever the table's size.
 *
 * A record is decoded and parsed from its bytes when a lookup finds it (a microsecond or two,
 * once per request at most); the last RECORD_STORE_CACHE_SLOTS parsed records are kept in a
 * small direct-mapped cache, so a hot address (a flood from one IP) is parsed once. Texts are
 * checked against the record schema before they are added (the decoder does this once per
 * distinct text), so what `get` parses is trusted. Each `get` of a record that is not cached
 * returns a new object; cached ones are frozen, since callers share them.
 */
import {
  RECORD_STORE_CACHE_SLOTS,
  RECORD_STORE_GROWTH,
  RECORD_STORE_INITIAL_BYTES,
} from '../constants';
import type { ReputationRecord } from '../reputation/record';

const INITIAL_CAPACITY = 256;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;
/** UTF-8 bytes per UTF-16 code unit, at most. */
const MAX_UTF8_PER_UNIT = 3;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export class RecordStore {
  /** The texts, back to back; bytes from `used` on are free (and scratch for probes). */
  private bytes = new Uint8Array(RECORD_STORE_INITIAL_BYTES);
  private used = 0;
  private count = 0;
  private start = new Uint32Array(INITIAL_CAPACITY);
  private length = new Uint32Array(INITIAL_CAPACITY);
  private hashes = new Uint32Array(INITIAL_CAPACITY);
  /** Open addressing: id + 1, or 0 for an empty slot. */
  private index = new Int32Array(INITIAL_CAPACITY * 2);
  private readonly cacheIds = new Int32Array(RECORD_STORE_CACHE_SLOTS).fill(-1);
  private readonly cached: (ReputationRecord | undefined)[] = new Array(RECORD_STORE_CACHE_SLOTS);

  /** Distinct records held. */
  get size(): number {
    return this.count;
  }

  /** Bytes of record text held (UTF-8). */
  get textBytes(): number {
    return this.used;
  }

  /** The id of a record with exactly this JSON text, or -1. */
  find(text: string): number {
    const n = this.stage(text);
    return this.findStaged(n, this.hashStaged(n));
  }

  /** The id of a record whose UTF-8 text is exactly `src[start..end)`, or -1. */
  findBytes(src: Uint8Array, start: number, end: number): number {
    const n = this.stageBytes(src, start, end);
    return this.findStaged(n, this.hashStaged(n));
  }

  /** Adds a record's JSON text (already checked against the record schema); returns its id. */
  add(text: string): number {
    return this.commit(this.stage(text));
  }

  /** Adds a record's UTF-8 JSON text `src[start..end)` (already checked); returns its id. */
  addBytes(src: Uint8Array, start: number, end: number): number {
    return this.commit(this.stageBytes(src, start, end));
  }

  /** Keeps the `n` staged bytes as a record, unless an equal one is held; returns its id. */
  private commit(n: number): number {
    const hash = this.hashStaged(n);
    const found = this.findStaged(n, hash);
    if (found >= 0) return found;
    if (this.count === this.start.length) this.grow();
    const id = this.count++;
    this.start[id] = this.used;
    this.length[id] = n;
    this.hashes[id] = hash;
    this.used += n;
    this.insert(id, hash);
    if (this.count * 2 > this.index.length) this.rehash();
    return id;
  }

  /** The record with this id (parsed from its text, or from the cache). */
  get(id: number): ReputationRecord {
    const slot = id & (RECORD_STORE_CACHE_SLOTS - 1);
    if (this.cacheIds[slot] === id) return this.cached[slot] as ReputationRecord;
    const record = JSON.parse(this.text(id)) as ReputationRecord;
    Object.freeze(record.categories);
    Object.freeze(record);
    this.cacheIds[slot] = id;
    this.cached[slot] = record;
    return record;
  }

  /** The JSON text of the record with this id. */
  text(id: number): string {
    const s = this.start[id] as number;
    return decoder.decode(this.bytes.subarray(s, s + (this.length[id] as number)));
  }

  /** Writes `text` as UTF-8 just past the held texts; returns its byte length. */
  private stage(text: string): number {
    this.reserve(text.length * MAX_UTF8_PER_UNIT);
    return encoder.encodeInto(text, this.bytes.subarray(this.used)).written;
  }

  /** Copies `src[start..end)` just past the held texts; returns its length. */
  private stageBytes(src: Uint8Array, start: number, end: number): number {
    this.reserve(end - start);
    this.bytes.set(src.subarray(start, end), this.used);
    return end - start;
  }

  /** Makes room for `n` more bytes past the held texts. */
  private reserve(n: number): void {
    const room = this.used + n;
    if (room <= this.bytes.length) return;
    const next = new Uint8Array(Math.max(room, Math.ceil(this.bytes.length * RECORD_STORE_GROWTH)));
    next.set(this.bytes.subarray(0, this.used));
    this.bytes = next;
  }

  /** FNV-1a over the `n` staged bytes. */
  private hashStaged(n: number): number {
    const b = this.bytes;
    let h = FNV_OFFSET;
    for (let i = this.used, end = this.used + n; i < end; i++)
      h = Math.imul(h ^ (b[i] as number), FNV_PRIME);
    return h >>> 0;
  }

  private findStaged(n: number, hash: number): number {
    const mask = this.index.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = this.index[i] as number;
      if (entry === 0) return -1;
      const id = entry - 1;
      if (this.hashes[id] === hash && this.length[id] === n && this.sameAsStaged(id, n)) return id;
    }
  }

  private sameAsStaged(id: number, n: number): boolean {
    const b = this.bytes;
    const s = this.start[id] as number;
    for (let i = 0; i < n; i++) if (b[s + i] !== b[this.used + i]) return false;
    return true;
  }

  private insert(id: number, hash: number): void {
    const mask = this.index.length - 1;
    let i = hash & mask;
    while (this.index[i] !== 0) i = (i + 1) & mask;
    this.index[i] = id + 1;
  }

  private rehash(): void {
    this.index = new Int32Array(this.index.length * 2);
    for (let id = 0; id < this.count; id++) this.insert(id, this.hashes[id] as number);
  }

  private grow(): void {
    const widen = (a: Uint32Array) => {
      const b = new Uint32Array(a.length * 2);
      b.set(a);
      return b;
    };
    this.start = widen(this.start);
    this.length = widen(this.length);
    this.hashes = widen(this.hashes);
  }
}
