/**
 * The table manifest: the one KV value (TABLE_MANIFEST_KEY) that names the current generation
 * and lists its chunks, with each chunk's key range, size and SHA-256.
 *
 * Chunks are content-addressed: a chunk's key is its family and the SHA-256 of its bytes, so a
 * key's value never changes and two generations share every chunk they have in common. KV has
 * no transactions, so the CLI writes the chunks a new generation lacks first and replaces the
 * manifest last. A reader loads only the chunks its manifest names and checks each one's size
 * and hash against the entry before decoding it, so it never sees half a table nor mixes two
 * generations; chunks no manifest names any more can be deleted after a grace period (readers
 * may still hold the previous manifest). Chunk bounds are strings in JSON
 * (IPv4 decimal, IPv6 16 hex digits, see ./keys.ts), so a manifest stays readable and exact;
 * lookups compare numbers from a compiled form that is built once per manifest object and
 * cached, so finding the chunk for a key is a short binary search over typed arrays.
 *
 * `parseManifest` is a trust boundary: it checks the schema, that each chunk key is the one its
 * family and hash give, that each family's chunks are numbered 0…n-1 and cover the whole key
 * space without gaps or overlaps, and names the path of each problem.
 */

import { z } from 'zod';
import {
  TABLE_CHUNK_INDEX_BITS,
  TABLE_CHUNK_MAX_BYTES,
  TABLE_CHUNK_PREFIX,
  TABLE_HEADER_BYTES,
  TABLE_MANIFEST_MAX_REPORTED_ISSUES,
  TABLE_MANIFEST_VERSION,
} from '../constants';
import type { Family } from '../ip/network';
import { sha256Hex } from '../util/digest';
import { type DecodeResult, decodeChunk, type EncodedChunk, type ExpectedChunk } from './codec';
import { formatKey, isValidGeneration, keyHi, keyLo, maxKey, parseKey } from './keys';
import type { RecordStore } from './record-store';

const SHA256_HEX = /^[0-9a-f]{64}$/;
const U32_MAX = 0xffff_ffff;

const chunkSchema = z
  .object({
    key: z.string().min(1),
    family: z.union([z.literal(4), z.literal(6)], { error: 'expected 4 or 6' }),
    index: z.number().int().min(0),
    from: z.string(),
    to: z.string(),
    count: z.number().int().min(0).max(U32_MAX),
    bytes: z.number().int().min(TABLE_HEADER_BYTES).max(TABLE_CHUNK_MAX_BYTES),
    sha256: z.string().regex(SHA256_HEX, 'expected 64 lower-case hex digits'),
  })
  .strict();

const manifestShape = z
  .object({
    format: z.literal(TABLE_MANIFEST_VERSION),
    generation: z.string().refine(isValidGeneration, 'expected 1-64 of [A-Za-z0-9._-]'),
    createdAt: z.iso.datetime({ offset: true }),
    counts: z
      .object({
        v4: z.number().int().min(0),
        v6: z.number().int().min(0),
      })
      .strict(),
    chunks: z.array(chunkSchema),
  })
  .strict();

export type ManifestChunk = z.infer<typeof chunkSchema>;
export type Manifest = z.infer<typeof manifestShape>;

export const manifestSchema = manifestShape.superRefine(checkChunks);

export type ManifestResult = { ok: true; manifest: Manifest } | { ok: false; error: string };

/**
 * Parses the manifest as read from KV: a parsed JSON value, or its text. Every problem is
 * reported with its path, e.g. `chunks[2].sha256: expected 64 lower-case hex digits`.
 */
export function parseManifest(json: unknown): ManifestResult {
  let value = json;
  if (typeof json === 'string') {
    try {
      value = JSON.parse(json);
    } catch {
      return { ok: false, error: '(root): manifest is not valid JSON' };
    }
  }
  const parsed = manifestSchema.safeParse(value);
  if (parsed.success) return { ok: true, manifest: parsed.data };
  const issues = parsed.error.issues;
  const shown = issues
    .slice(0, TABLE_MANIFEST_MAX_REPORTED_ISSUES)
    .map((i) => `${formatPath(i.path)}: ${i.message}`);
  const more = issues.length - shown.length;
  return { ok: false, error: shown.join('; ') + (more > 0 ? `; and ${more} more` : '') };
}

function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const p of path) out += typeof p === 'number' ? `[${p}]` : `${out ? '.' : ''}${String(p)}`;
  return out || '(root)';
}

/** KV key of a chunk: its family and the lower-case hex SHA-256 of its bytes. */
export function chunkKey(family: Family, sha256: string): string {
  return `${TABLE_CHUNK_PREFIX}${family}:${sha256}`;
}

function checkChunks(m: Manifest, ctx: z.RefinementCtx): void {
  const issue = (path: PropertyKey[], message: string) =>
    ctx.addIssue({ code: 'custom', path, message });
  const seen = new Set<string>();
  m.chunks.forEach((c, at) => {
    if (seen.has(c.key)) issue(['chunks', at, 'key'], 'names the same chunk as an earlier entry');
    seen.add(c.key);
  });
  for (const family of [4, 6] as const) {
    const mine = m.chunks
      .map((c, at) => ({ c, at }))
      .filter(({ c }) => c.family === family)
      .sort((a, b) => a.c.index - b.c.index);
    if (mine.length === 0) {
      issue(['chunks'], `no IPv${family} chunk (every family needs at least one)`);
      continue;
    }
    let total = 0;
    let expectFrom: bigint | null = 0n;
    for (let k = 0; k < mine.length; k++) {
      const { c, at } = mine[k] as { c: ManifestChunk; at: number };
      total += c.count;
      if (c.index !== k)
        issue(
          ['chunks', at, 'index'],
          `IPv${family} chunk indexes must run 0…${mine.length - 1} once each`,
        );
      const key = chunkKey(family, c.sha256);
      if (SHA256_HEX.test(c.sha256) && c.key !== key)
        issue(['chunks', at, 'key'], `expected ${JSON.stringify(key)}`);
      const from = parseKey(family, c.from);
      const to = parseKey(family, c.to);
      if (from === null) issue(['chunks', at, 'from'], keyFormatMessage(family));
      if (to === null) issue(['chunks', at, 'to'], keyFormatMessage(family));
      if (from === null || to === null) {
        expectFrom = null;
        continue;
      }
      if (from > to) issue(['chunks', at, 'to'], `ends before it starts (${c.from})`);
      if (expectFrom !== null && from !== expectFrom)
        issue(
          ['chunks', at, 'from'],
          k === 0
            ? `the first IPv${family} chunk must start at ${formatKey(family, 0n)}`
            : `must be ${formatKey(family, expectFrom)}, right after IPv${family} chunk ${k - 1} ends`,
        );
      if (k === mine.length - 1 && to !== maxKey(family))
        issue(
          ['chunks', at, 'to'],
          `the last IPv${family} chunk must end at ${formatKey(family, maxKey(family))}`,
        );
      expectFrom = to + 1n;
    }
    const counted = family === 4 ? m.counts.v4 : m.counts.v6;
    if (counted !== total)
      issue(
        ['counts', `v${family}`],
        `is ${counted}, but the IPv${family} chunks hold ${total} intervals`,
      );
  }
}

function keyFormatMessage(family: Family): string {
  return family === 4
    ? 'expected the decimal of a 32-bit value, without leading zeros'
    : 'expected 16 lower-case hex digits';
}

/**
 * Null when `bytes` are the chunk the entry describes (size and SHA-256), else the problem. A
 * reader calls it before `decodeChunk`: it is what ties the bytes to this manifest.
 */
export async function verifyChunkBytes(
  entry: ManifestChunk,
  bytes: ArrayBuffer | ArrayBufferView,
): Promise<string | null> {
  const problem = `chunk ${entry.key} does not match its manifest entry`;
  if (bytes.byteLength !== entry.bytes)
    return `${problem}: ${bytes.byteLength} bytes, the manifest says ${entry.bytes}`;
  const sha = await sha256Hex(bytes);
  return sha === entry.sha256 ? null : `${problem}: its SHA-256 differs`;
}

/**
 * Decodes chunk bytes read from storage for their manifest entry: size and SHA-256 first, then
 * `decodeChunk` with the entry's family and key range. The hash is what detects a changed
 * byte anywhere in the chunk; the decoder alone cannot (a record whose country letter changed
 * is still a valid record), so storage bytes are never decoded any other way.
 */
export async function decodeEntryChunk(
  entry: ManifestChunk,
  bytes: ArrayBuffer | ArrayBufferView,
  store?: RecordStore,
): Promise<DecodeResult> {
  const mismatch = await verifyChunkBytes(entry, bytes);
  if (mismatch) return { ok: false, error: mismatch };
  const decoded = decodeChunk(bytes, expectedChunk(entry), store);
  return decoded.ok
    ? decoded
    : { ok: false, error: `chunk ${entry.key} refused: ${decoded.error}` };
}

/** What `decodeChunk` must find in the chunk a validated manifest entry names. */
export function expectedChunk(entry: ManifestChunk): ExpectedChunk {
  return {
    family: entry.family,
    from: parseKey(entry.family, entry.from) ?? 0n,
    to: parseKey(entry.family, entry.to) ?? 0n,
  };
}

/**
 * The manifest for the chunks of one `encodeTable` run, named `generation`. Throws if the
 * chunks do not form a complete table (a programming error, not bad input).
 */
export async function buildManifest(
  generation: string,
  chunks: EncodedChunk[],
  createdAt: Date,
): Promise<Manifest> {
  const entries: ManifestChunk[] = [];
  for (const c of chunks) {
    const sha256 = await sha256Hex(c.bytes);
    entries.push({
      key: chunkKey(c.family, sha256),
      family: c.family,
      index: c.index,
      from: formatKey(c.family, c.from),
      to: formatKey(c.family, c.to),
      count: c.count,
      bytes: c.bytes.byteLength,
      sha256,
    });
  }
  const sum = (f: Family) => chunks.filter((c) => c.family === f).reduce((n, c) => n + c.count, 0);
  const parsed = parseManifest({
    format: TABLE_MANIFEST_VERSION,
    generation,
    createdAt: createdAt.toISOString(),
    counts: { v4: sum(4), v6: sum(6) },
    chunks: entries,
  });
  if (!parsed.ok) throw new Error(`chunks do not form a complete table: ${parsed.error}`);
  return parsed.manifest;
}

/** A chunk's bounds as unsigned 32-bit halves; for IPv4 the value is in `…Hi`, `…Lo` is 0. */
export interface NumericBounds {
  fromHi: number;
  fromLo: number;
  toHi: number;
  toLo: number;
}

/** Numeric bounds of a validated manifest entry. */
export function chunkBounds(entry: ManifestChunk): NumericBounds {
  const from = parseKey(entry.family, entry.from) ?? 0n;
  const to = parseKey(entry.family, entry.to) ?? 0n;
  if (entry.family === 4) return { fromHi: Number(from), fromLo: 0, toHi: Number(to), toLo: 0 };
  return { fromHi: keyHi(from), fromLo: keyLo(from), toHi: keyHi(to), toLo: keyLo(to) };
}

/**
 * One family's chunks in index order, with their first keys as numbers, and a directory on
 * the leading TABLE_CHUNK_INDEX_BITS bits of the key (IPv4 value, IPv6 upper half): `top[t]`
 * is the chunk holding the first key with those bits, so finding a key's chunk is usually
 * one read and a comparison, however many chunks there are.
 */
export interface FamilyIndex {
  chunks: ManifestChunk[];
  fromHi: Uint32Array;
  fromLo: Uint32Array;
  top: Uint32Array;
}

export interface CompiledManifest {
  v4: FamilyIndex;
  v6: FamilyIndex;
}

const compiledCache = new WeakMap<Manifest, CompiledManifest>();
const TOP_SHIFT = 32 - TABLE_CHUNK_INDEX_BITS;

/** The numeric form of a validated manifest, built once per manifest object. */
export function compileManifest(manifest: Manifest): CompiledManifest {
  let compiled = compiledCache.get(manifest);
  if (!compiled) {
    compiled = { v4: familyIndex(manifest, 4), v6: familyIndex(manifest, 6) };
    compiledCache.set(manifest, compiled);
  }
  return compiled;
}

function familyIndex(manifest: Manifest, family: Family): FamilyIndex {
  const chunks = manifest.chunks
    .filter((c) => c.family === family)
    .sort((a, b) => a.index - b.index);
  const fromHi = new Uint32Array(chunks.length);
  const fromLo = new Uint32Array(chunks.length);
  chunks.forEach((c, k) => {
    const b = chunkBounds(c);
    fromHi[k] = b.fromHi;
    fromLo[k] = b.fromLo;
  });
  const top = new Uint32Array((1 << TABLE_CHUNK_INDEX_BITS) + 1);
  let k = 0;
  for (let t = 0; t < top.length; t++) {
    const first = t * 2 ** TOP_SHIFT;
    while (k + 1 < chunks.length && startsAtOrBefore(fromHi, fromLo, k + 1, first)) k++;
    top[t] = k;
  }
  return { chunks, fromHi, fromLo, top };
}

/** Whether chunk k starts at or before key `hi:0`. */
function startsAtOrBefore(
  fromHi: Uint32Array,
  fromLo: Uint32Array,
  k: number,
  hi: number,
): boolean {
  const fh = fromHi[k] as number;
  return fh < hi || (fh === hi && fromLo[k] === 0);
}

/**
 * Position (in `FamilyIndex.chunks`) of the chunk responsible for key `hi:lo` (IPv4: `v:0`):
 * the last chunk that starts at or before the key. Chunks cover the family from key 0, so
 * there always is one; -1 only for a family without chunks.
 */
export function chunkPosition(index: FamilyIndex, hi: number, lo: number): number {
  const { fromHi, fromLo, top } = index;
  const t = hi >>> TOP_SHIFT;
  let a = top[t] as number;
  let z = Math.min(top[t + 1] as number, fromHi.length - 1);
  while (a < z) {
    const mid = (a + z + 1) >>> 1;
    const fh = fromHi[mid] as number;
    if (fh < hi || (fh === hi && (fromLo[mid] as number) <= lo)) a = mid;
    else z = mid - 1;
  }
  return z;
}

/** The manifest entry of the chunk that holds IPv4 key `v`, or IPv6 /64 `hi:lo`. */
export function findChunk(manifest: Manifest, family: 4, v: number): ManifestChunk | null;
export function findChunk(
  manifest: Manifest,
  family: 6,
  hi: number,
  lo: number,
): ManifestChunk | null;
export function findChunk(
  manifest: Manifest,
  family: Family,
  hi: number,
  lo = 0,
): ManifestChunk | null {
  const index = compileManifest(manifest)[family === 4 ? 'v4' : 'v6'];
  const k = chunkPosition(index, hi >>> 0, family === 4 ? 0 : lo >>> 0);
  return index.chunks[k] ?? null;
}

export { sha256Hex };
