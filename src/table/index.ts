/**
 * The binary reputation table, shared by the CLI (build, encode, manifest) and the Worker
 * (decode, lookup). Format: docs/table-format.md.
 */
export {
  type BuiltTable,
  buildTable,
  FamilyIntervals,
  type Interval,
  type MergeFn,
  type TableEntry,
  tableFromIntervals,
} from './build';
export {
  type ChunkHeader,
  type ChunkInput,
  chunkStarts,
  type DecodeResult,
  decodeChunk,
  type EncodedChunk,
  type EncodeOptions,
  type ExpectedChunk,
  encodeChunk,
  encodeTable,
  readChunkHeader,
} from './codec';
export { formatKey, isValidGeneration, parseKey } from './keys';
export { TableChunk } from './lookup';
export {
  buildManifest,
  chunkBounds,
  chunkKey,
  decodeEntryChunk,
  expectedChunk,
  findChunk,
  type Manifest,
  type ManifestChunk,
  type ManifestResult,
  manifestSchema,
  type NumericBounds,
  parseManifest,
  sha256Hex,
  verifyChunkBytes,
} from './manifest';
export { RecordStore } from './record-store';
export { CHUNK_NOT_LOADED, type TableLookup, TableSet, type TableSetResult } from './set';
