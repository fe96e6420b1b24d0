/**
 * Turns table entries into the KV pairs of one generation: every chunk, then the manifest.
 * Writers must put the chunks first and the manifest last, so a reader never sees a manifest
 * whose chunks are not there yet.
 *
 * Chunk keys are content addresses (`chunkKey(family, sha256)`): a pair whose key already
 * holds a value in KV holds these very bytes, so a writer may skip it, and the pairs of one
 * generation never repeat a key.
 */
import { TABLE_MANIFEST_KEY } from '../src/constants';
import { buildTable, type TableEntry } from '../src/table/build';
import { encodeTable } from '../src/table/codec';
import { buildManifest, type Manifest } from '../src/table/manifest';

export interface KvPair {
  key: string;
  value: Uint8Array;
}

export interface GenerationPairs {
  manifest: Manifest;
  /** Chunk pairs, one per distinct chunk key, to be written before the manifest. */
  chunks: KvPair[];
  /** The manifest pair, to be written last. */
  manifestPair: KvPair;
}

/** A generation id: UTC time plus random suffix, sortable and unique. */
export function newGeneration(now: Date): string {
  const stamp = now
    .toISOString()
    .replace(/[-:]/g, '')
    .replace(/\.\d+Z$/, 'Z');
  const rand = Math.random().toString(36).slice(2, 8);
  return `${stamp}-${rand}`;
}

export async function generationPairs(
  entries: TableEntry[],
  options: { generation?: string; now?: Date; maxIntervals?: number } = {},
): Promise<GenerationPairs> {
  const now = options.now ?? new Date();
  const generation = options.generation ?? newGeneration(now);
  const chunks = encodeTable(buildTable(entries), { maxIntervals: options.maxIntervals });
  const manifest = await buildManifest(generation, chunks, now);
  const bytesOf = new Map(chunks.map((c) => [`${c.family}:${c.index}`, c.bytes]));
  const pairs = new Map<string, KvPair>();
  for (const e of manifest.chunks) {
    const value = bytesOf.get(`${e.family}:${e.index}`);
    if (!value) throw new Error(`no encoded chunk for manifest entry ${e.key}`);
    if (!pairs.has(e.key)) pairs.set(e.key, { key: e.key, value });
  }
  return {
    manifest,
    chunks: [...pairs.values()],
    manifestPair: {
      key: TABLE_MANIFEST_KEY,
      value: new TextEncoder().encode(JSON.stringify(manifest)),
    },
  };
}
