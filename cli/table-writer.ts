/**
 * Turns table entries into the KV pairs of one generation: every chunk, then the manifest.
 * Writers must put the chunks first and the manifest last, so a reader never sees a manifest
 * whose chunks are not there yet.
 */
import { TABLE_MANIFEST_KEY } from '../src/constants';
import { buildTable, type TableEntry } from '../src/table/build';
import { encodeTable } from '../src/table/codec';
import { buildManifest, chunkKey, type Manifest } from '../src/table/manifest';

export interface KvPair {
  key: string;
  value: Uint8Array;
}

export interface GenerationPairs {
  manifest: Manifest;
  /** Chunk pairs, to be written before the manifest. */
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
  const chunks = encodeTable(buildTable(entries), {
    generation,
    maxIntervals: options.maxIntervals,
  });
  const manifest = await buildManifest(generation, chunks, now);
  return {
    manifest,
    chunks: chunks.map((c) => ({ key: chunkKey(generation, c.family, c.index), value: c.bytes })),
    manifestPair: {
      key: TABLE_MANIFEST_KEY,
      value: new TextEncoder().encode(JSON.stringify(manifest)),
    },
  };
}
