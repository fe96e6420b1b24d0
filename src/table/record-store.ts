/**
 * The distinct records of one table generation, held as JSON text instead of as objects.
 *
 * A realistic table has tens of thousands of distinct records (one per organisation, country,
 * score and category mix). As objects (each with its categories array and strings) they were
 * a few hundred thousand small V8 heap objects that every major garbage collection had to
 * mark, which stalled the isolate for tens of milliseconds at a time under load. Here they are
 * a few large strings — one per batch of records added together, usually one per decoded
 * chunk — with typed arrays saying where each record's text starts, and a hash index in a
 * typed array for de-duplication across the chunks of a generation. The collector sees a
 * handful of objects whatever the table's size.
 *
 * A record is parsed from its text when a lookup finds it (a microsecond or two, once per
 * request at most); the last RECORD_STORE_CACHE_SLOTS parsed records are kept in a small
 * direct-mapped cache, so a hot address (a flood from one IP) is parsed once. Texts are
 * checked against the record schema before they are added (the decoder does this once per
 * distinct text), so what `get` parses is trusted. Each `get` of a record that is not cached
 * returns a new object; cached ones are frozen, since callers share them.
 */
import { RECORD_STORE_CACHE_SLOTS } from '../constants';
import type { ReputationRecord } from '../reputation/record';

const INITIAL_CAPACITY = 256;
const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the UTF-16 code units of `text`. */
function hashText(text: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), FNV_PRIME);
  return h >>> 0;
}

export class RecordStore {
  /** Sealed batches: each the concatenated texts of the records added together. */
  private readonly parts: string[] = [];
  /** Texts added since the last seal (not yet joined into a part). */
  private open: string[] = [];
  private openFirst = 0;
  private openLength = 0;
  private count = 0;
  private partOf = new Uint32Array(INITIAL_CAPACITY);
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

  /** Characters of record text held (about the bytes of V8 heap the texts take). */
  get textLength(): number {
    let n = this.openLength;
    for (const p of this.parts) n += p.length;
    return n;
  }

  /** The id of a record with exactly this JSON text, or -1. */
  find(text: string): number {
    return this.findHashed(text, hashText(text));
  }

  /** Adds a record's JSON text (already checked against the record schema); returns its id. */
  add(text: string): number {
    const hash = hashText(text);
    const found = this.findHashed(text, hash);
    if (found >= 0) return found;
    if (this.count === this.partOf.length) this.grow();
    const id = this.count++;
    this.partOf[id] = this.parts.length;
    this.start[id] = this.openLength;
    this.length[id] = text.length;
    this.hashes[id] = hash;
    this.open.push(text);
    this.openLength += text.length;
    this.insert(id, hash);
    if (this.count * 2 > this.index.length) this.rehash();
    return id;
  }

  /** Joins the texts added since the last seal into one string (call after each batch). */
  seal(): void {
    if (this.open.length === 0) return;
    this.parts.push(this.open.join(''));
    this.open = [];
    this.openFirst = this.count;
    this.openLength = 0;
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
    if (id >= this.openFirst) return this.open[id - this.openFirst] as string;
    const s = this.start[id] as number;
    return (this.parts[this.partOf[id] as number] as string).slice(
      s,
      s + (this.length[id] as number),
    );
  }

  private equals(id: number, text: string): boolean {
    if (this.length[id] !== text.length) return false;
    if (id >= this.openFirst) return this.open[id - this.openFirst] === text;
    return (this.parts[this.partOf[id] as number] as string).startsWith(text, this.start[id]);
  }

  private findHashed(text: string, hash: number): number {
    const mask = this.index.length - 1;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const entry = this.index[i] as number;
      if (entry === 0) return -1;
      const id = entry - 1;
      if (this.hashes[id] === hash && this.equals(id, text)) return id;
    }
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
    this.partOf = widen(this.partOf);
    this.start = widen(this.start);
    this.length = widen(this.length);
    this.hashes = widen(this.hashes);
  }
}
