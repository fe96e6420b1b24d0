/**
 * A whole table in memory: a manifest and the chunks of it that are loaded, looked up by
 * address. Pure (no KV, no clock): the Worker's loader decides what to fetch and when, and
 * hands the decoded chunks in.
 *
 * Chunks are checked against their manifest entry when added (family, key range, interval
 * count), so a chunk can never answer for keys the manifest gave to another; that the chunk's
 * bytes are the ones the entry names (size, SHA-256) the loader checks before decoding. A key
 * whose chunk is not loaded yields CHUNK_NOT_LOADED, distinct from null ("no interval holds
 * this key"), so a caller can tell "clean" from "not known yet".
 */
import type { Family } from '../ip/network';
import type { IpAddress } from '../ip/parse';
import type { ReputationRecord } from '../reputation/record';
import type { TableChunk } from './lookup';
import {
  chunkBounds,
  chunkPosition,
  compileManifest,
  type FamilyIndex,
  type Manifest,
  type ManifestChunk,
} from './manifest';

export const CHUNK_NOT_LOADED: unique symbol = Symbol('chunk not loaded');

/** A record, null when no interval holds the key, or CHUNK_NOT_LOADED. */
export type TableLookup = ReputationRecord | null | typeof CHUNK_NOT_LOADED;

export type TableSetResult = { ok: true; set: TableSet } | { ok: false; error: string };

export class TableSet {
  readonly manifest: Manifest;
  private readonly v4: FamilyIndex;
  private readonly v6: FamilyIndex;
  /** Loaded chunks by position in their family's index; null until loaded. */
  private readonly v4Chunks: (TableChunk | null)[];
  private readonly v6Chunks: (TableChunk | null)[];

  private constructor(manifest: Manifest) {
    this.manifest = manifest;
    const compiled = compileManifest(manifest);
    this.v4 = compiled.v4;
    this.v6 = compiled.v6;
    this.v4Chunks = this.v4.chunks.map(() => null);
    this.v6Chunks = this.v6.chunks.map(() => null);
  }

  /** A set over a validated manifest with the given chunks (by chunk key) added. */
  static create(
    manifest: Manifest,
    chunks: ReadonlyMap<string, TableChunk> = new Map(),
  ): TableSetResult {
    const set = new TableSet(manifest);
    for (const [key, chunk] of chunks) {
      const error = set.add(key, chunk);
      if (error) return { ok: false, error };
    }
    return { ok: true, set };
  }

  /** Adds (or replaces) the chunk stored under `key`; returns the problem, or null. */
  add(key: string, chunk: TableChunk): string | null {
    const found = this.locate(key);
    if (!found) return `chunk ${key} is not in manifest generation ${this.manifest.generation}`;
    const { entry, slots, position } = found;
    if (chunk.family !== entry.family) return `chunk ${key} holds IPv${chunk.family} keys`;
    const b = chunkBounds(entry);
    if (
      chunk.fromHi !== b.fromHi ||
      chunk.fromLo !== b.fromLo ||
      chunk.toHi !== b.toHi ||
      chunk.toLo !== b.toLo
    )
      return `chunk ${key} covers other keys than its manifest entry`;
    if (chunk.count !== entry.count)
      return `chunk ${key} has ${chunk.count} intervals, the manifest says ${entry.count}`;
    slots[position] = chunk;
    return null;
  }

  /** The loaded chunk stored under `key`, or null. */
  get(key: string): TableChunk | null {
    const found = this.locate(key);
    return found ? (found.slots[found.position] ?? null) : null;
  }

  /** How many of the manifest's chunks are loaded. */
  loadedCount(): number {
    return [...this.v4Chunks, ...this.v6Chunks].filter((c) => c !== null).length;
  }

  /** Manifest entries whose chunks are not loaded yet. */
  missing(): ManifestChunk[] {
    const out: ManifestChunk[] = [];
    this.v4Chunks.forEach((c, k) => {
      if (!c && this.v4.chunks[k]) out.push(this.v4.chunks[k]);
    });
    this.v6Chunks.forEach((c, k) => {
      if (!c && this.v6.chunks[k]) out.push(this.v6.chunks[k]);
    });
    return out;
  }

  /** The manifest entry of the chunk that answers for the address. */
  chunkFor(ip: IpAddress): ManifestChunk | null {
    const index = ip.family === 4 ? this.v4 : this.v6;
    const k = ip.family === 4 ? chunkPosition(index, ip.v4, 0) : chunkPosition(index, ip.hi, ip.lo);
    return index.chunks[k] ?? null;
  }

  lookup(ip: IpAddress): TableLookup {
    return ip.family === 4 ? this.lookupV4(ip.v4) : this.lookupV6(ip.hi, ip.lo);
  }

  lookupV4(v: number): TableLookup {
    const key = v >>> 0;
    const chunk = this.v4Chunks[chunkPosition(this.v4, key, 0)];
    return chunk ? chunk.lookupV4(key) : CHUNK_NOT_LOADED;
  }

  lookupV6(hi: number, lo: number): TableLookup {
    const h = hi >>> 0;
    const l = lo >>> 0;
    const chunk = this.v6Chunks[chunkPosition(this.v6, h, l)];
    return chunk ? chunk.lookupV6(h, l) : CHUNK_NOT_LOADED;
  }

  private locate(
    key: string,
  ): { entry: ManifestChunk; slots: (TableChunk | null)[]; position: number } | null {
    for (const family of [4, 6] as Family[]) {
      const index = family === 4 ? this.v4 : this.v6;
      const position = index.chunks.findIndex((c) => c.key === key);
      const entry = index.chunks[position];
      if (entry) return { entry, slots: family === 4 ? this.v4Chunks : this.v6Chunks, position };
    }
    return null;
  }
}
