/** The manifest: building, parsing (each problem named by its path), finding chunks. */
import { describe, expect, it } from 'vitest';
import { TABLE_CHUNK_PREFIX } from '../../../src/constants';
import { parseIp } from '../../../src/ip/parse';
import { buildTable } from '../../../src/table/build';
import { encodeTable } from '../../../src/table/codec';
import {
  buildManifest,
  chunkBounds,
  chunkKey,
  expectedChunk,
  findChunk,
  type Manifest,
  parseManifest,
  sha256Hex,
  verifyChunkBytes,
} from '../../../src/table/manifest';
import { TableSet } from '../../../src/table/set';
import { entry, rec } from './support';

const GEN = '20240501T000000Z-abc';

const entries = [
  ...Array.from({ length: 9 }, (_, i) => entry(`10.${i}.0.0/16`, rec(i))),
  ...Array.from({ length: 5 }, (_, i) => entry(`2001:db8:${i}::/48`, rec(i))),
];
const chunks = encodeTable(buildTable(entries), { maxIntervals: 4 });
const manifest = await buildManifest(GEN, chunks, new Date('2024-05-01T00:00:00Z'));
/** Positions in `manifest.chunks` of the last IPv4 and the first IPv6 chunk. */
const LAST4 = chunks.filter((c) => c.family === 4).length - 1;
const FIRST6 = LAST4 + 1;

// biome-ignore lint/suspicious/noExplicitAny: the cases poke at arbitrary fields of raw JSON
type RawJson = Record<string, any>;

/** A JSON copy of the valid manifest with one change applied. */
function variant(change: (m: RawJson) => void): unknown {
  const copy = JSON.parse(JSON.stringify(manifest));
  change(copy);
  return copy;
}

function errorOf(json: unknown): string {
  const parsed = parseManifest(json);
  if (parsed.ok) throw new Error('expected the manifest to be refused');
  return parsed.error;
}

describe('buildManifest', () => {
  it('describes every chunk with its key, range, size and hash', async () => {
    expect(manifest.format).toBe(1);
    expect(manifest.generation).toBe(GEN);
    expect(manifest.createdAt).toBe('2024-05-01T00:00:00.000Z');
    expect(manifest.counts).toEqual({ v4: 9, v6: 5 });
    // Enough chunks per family for the cases below to name distinct ones.
    expect(LAST4).toBeGreaterThanOrEqual(2);
    expect(manifest.chunks.length - FIRST6).toBeGreaterThanOrEqual(2);
    expect(manifest.chunks).toHaveLength(chunks.length);
    for (const [k, c] of chunks.entries()) {
      const e = manifest.chunks[k];
      const sha = await sha256Hex(c.bytes);
      expect(e).toMatchObject({
        key: `${TABLE_CHUNK_PREFIX}${c.family}:${sha}`,
        family: c.family,
        index: c.index,
        count: c.count,
        bytes: c.bytes.byteLength,
        sha256: sha,
      });
    }
    expect(manifest.chunks[0]).toMatchObject({ family: 4, index: 0, from: '0' });
    expect(manifest.chunks[LAST4]?.to).toBe('4294967295');
    expect(manifest.chunks[FIRST6]).toMatchObject({
      family: 6,
      index: 0,
      from: '0000000000000000',
    });
    expect(manifest.chunks[manifest.chunks.length - 1]?.to).toBe('ffffffffffffffff');
  });

  it('gives another generation of the same table the very same chunk keys', async () => {
    const again = await buildManifest(
      'gen-2',
      encodeTable(buildTable(entries), { maxIntervals: 4 }),
      new Date(0),
    );
    expect(again.chunks.map((c) => c.key)).toEqual(manifest.chunks.map((c) => c.key));
  });

  it('hashes with SHA-256', async () => {
    expect(await sha256Hex(new TextEncoder().encode('abc'))).toBe(
      'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad',
    );
  });

  it('throws when the chunks do not form a complete table', async () => {
    await expect(buildManifest(GEN, chunks.slice(1), new Date())).rejects.toThrow(
      /chunks\[0\]\.from/,
    );
  });

  it('names chunk keys after family and SHA-256', () => {
    const sha = 'ab'.repeat(32);
    expect(chunkKey(6, sha)).toBe(`table:chunk:6:${sha}`);
  });
});

describe('parseManifest', () => {
  it('accepts the built manifest, as an object or as JSON text', () => {
    const fromObject = parseManifest(JSON.parse(JSON.stringify(manifest)));
    expect(fromObject).toEqual({ ok: true, manifest });
    expect(parseManifest(JSON.stringify(manifest))).toEqual({ ok: true, manifest });
  });

  it('accepts a createdAt with an offset', () => {
    expect(parseManifest(variant((m) => (m.createdAt = '2024-05-01T02:00:00+02:00'))).ok).toBe(
      true,
    );
  });

  const cases: Array<[string, (m: RawJson) => void, RegExp]> = [
    ['format', (m) => (m.format = 2), /^format: /],
    ['generation', (m) => (m.generation = 'no spaces allowed'), /^generation: expected 1-64[^;]*$/],
    ['createdAt', (m) => (m.createdAt = 'yesterday'), /^createdAt: /],
    ['counts.v4 type', (m) => (m.counts.v4 = -1), /^counts\.v4: /],
    ['counts.v6 total', (m) => (m.counts.v6 = 4), /^counts\.v6: is 4, but the IPv6 chunks hold 5/],
    ['unknown field', (m) => (m.extra = true), /^\(root\): .*extra/],
    ['chunks type', (m) => (m.chunks = {}), /^chunks: /],
    ['family', (m) => (m.chunks[1].family = 5), /^chunks\[1\]\.family: expected 4 or 6$/],
    ['sha256', (m) => (m.chunks[0].sha256 = 'XYZ'), /^chunks\[0\]\.sha256: expected 64/],
    ['bytes', (m) => (m.chunks[0].bytes = 12), /^chunks\[0\]\.bytes: /],
    ['count', (m) => (m.chunks[2].count = 1.5), /^chunks\[2\]\.count: /],
    [
      'key of the generation-named form',
      (m) => (m.chunks[1].key = `table:chunk:${GEN}:4:1`),
      /^chunks\[1\]\.key: expected "table:chunk:4:[0-9a-f]{64}"$/,
    ],
    [
      'key of another hash',
      (m) => (m.chunks[0].sha256 = 'f'.repeat(64)),
      /^chunks\[0\]\.key: expected "table:chunk:4:f{64}"$/,
    ],
    [
      'key of another family',
      (m) => (m.chunks[FIRST6].key = m.chunks[FIRST6].key.replace(':6:', ':4:')),
      new RegExp(`^chunks\\[${FIRST6}\\]\\.key: expected "table:chunk:6:`),
    ],
    [
      'duplicate chunk',
      (m) => m.chunks.push({ ...m.chunks[0] }),
      new RegExp(
        `chunks\\[${manifest.chunks.length}\\]\\.key: names the same chunk as an earlier entry`,
      ),
    ],
    [
      'v4 from text',
      (m) => (m.chunks[1].from = '0x10'),
      /^chunks\[1\]\.from: expected the decimal/,
    ],
    [
      'v6 to text',
      (m) => (m.chunks[FIRST6].to = 'FFFF'),
      new RegExp(`^chunks\\[${FIRST6}\\]\\.to: expected 16 lower-case`),
    ],
    [
      'gap',
      (m) => (m.chunks[1].from = String(Number(m.chunks[1].from) + 1)),
      /^chunks\[1\]\.from: must be/,
    ],
    [
      'first from',
      (m) => (m.chunks[FIRST6].from = '0000000000000001'),
      new RegExp(`^chunks\\[${FIRST6}\\]\\.from: the first IPv6`),
    ],
    [
      'last to',
      (m) => (m.chunks[LAST4].to = '4294967294'),
      new RegExp(`^chunks\\[${LAST4}\\]\\.to: the last IPv4 chunk`),
    ],
    [
      'inverted',
      (m) => (m.chunks[1].to = String(Number(m.chunks[1].from) - 1)),
      /^chunks\[1\]\.to: ends before it starts/,
    ],
    [
      'duplicate index',
      (m) => (m.chunks[1].index = 0),
      new RegExp(`chunks\\[\\d\\]\\.index: IPv4 chunk indexes must run 0…${LAST4}`),
    ],
    ['no v6 chunks', (m) => (m.chunks = m.chunks.slice(0, FIRST6)), /^chunks: no IPv6 chunk/],
  ];
  for (const [name, change, pattern] of cases)
    it(`reports ${name} with its path`, () => {
      expect(errorOf(variant(change))).toMatch(pattern);
    });

  it('refuses text that is not JSON, and values that are not objects', () => {
    expect(errorOf('{"format":')).toMatch(/not valid JSON/);
    expect(errorOf(null)).toMatch(/^\(root\): /);
    expect(errorOf([])).toMatch(/^\(root\): /);
  });

  it('lists several problems, capped', () => {
    const error = errorOf(
      variant((m) => {
        for (const c of m.chunks) c.sha256 = 'x';
        m.format = 9;
      }),
    );
    expect(error).toMatch(/format: /);
    expect(error.split('; ').length).toBe(1 + manifest.chunks.length);
    const many = errorOf(variant((m) => (m.chunks = Array.from({ length: 20 }, () => ({})))));
    expect(many).toMatch(/; and \d+ more$/);
  });
});

describe('expectedChunk', () => {
  it('gives the family and key range decodeChunk must find', () => {
    const e = manifest.chunks[FIRST6];
    if (!e) throw new Error('no chunk');
    const x = expectedChunk(e);
    expect(x.family).toBe(6);
    expect(x.from).toBe(0n);
    expect(x.to).toBe(BigInt(`0x${e.to}`));
    const c = chunks[FIRST6];
    expect(c && [c.from, c.to]).toEqual([x.from, x.to]);
  });
});

describe('finding chunks', () => {
  const v4 = manifest.chunks.filter((c) => c.family === 4);
  const v6 = manifest.chunks.filter((c) => c.family === 6);

  it('gives the chunk whose range holds the key, at every boundary', () => {
    for (const c of v4) {
      const b = chunkBounds(c);
      expect(findChunk(manifest, 4, b.fromHi)).toBe(c);
      expect(findChunk(manifest, 4, b.toHi)).toBe(c);
    }
    expect(findChunk(manifest, 4, 0)).toBe(v4[0]);
    expect(findChunk(manifest, 4, 0xffff_ffff)).toBe(v4[v4.length - 1]);
    for (const c of v6) {
      const b = chunkBounds(c);
      expect(findChunk(manifest, 6, b.fromHi, b.fromLo)).toBe(c);
      expect(findChunk(manifest, 6, b.toHi, b.toLo)).toBe(c);
    }
    expect(findChunk(manifest, 6, 0xffff_ffff, 0xffff_ffff)).toBe(v6[v6.length - 1]);
  });

  it('finds the chunk for a parsed address (TableSet.chunkFor)', () => {
    const ip = parseIp('2001:db8:4::1');
    if (!ip) throw new Error('bad ip');
    const created = TableSet.create(manifest);
    if (!created.ok) throw new Error(created.error);
    const findChunkFor = (a: NonNullable<ReturnType<typeof parseIp>>) => created.set.chunkFor(a);
    const c = findChunkFor(ip);
    expect(c?.family).toBe(6);
    const b = chunkBounds(c as NonNullable<typeof c>);
    expect(b.fromHi < 0x2001_0db8 || (b.fromHi === 0x2001_0db8 && b.fromLo <= 0x0004_0000)).toBe(
      true,
    );
    expect(findChunkFor(parseIp('10.8.1.1') as NonNullable<ReturnType<typeof parseIp>>)).toBe(
      v4[v4.length - 1],
    );
  });

  it('splits IPv6 chunk boundaries below the upper 32 bits correctly', async () => {
    // Chunk starts that share their upper half exercise the directory's tie on `hi`.
    const close = Array.from({ length: 6 }, (_, i) => entry(`2001:db8:0:${i}::/64`, rec(i)));
    const cs = encodeTable(buildTable(close), { maxIntervals: 1 });
    const m: Manifest = await buildManifest(GEN, cs, new Date(0));
    for (const c of m.chunks.filter((x) => x.family === 6)) {
      const b = chunkBounds(c);
      expect(findChunk(m, 6, b.fromHi, b.fromLo)).toBe(c);
      expect(findChunk(m, 6, b.toHi, b.toLo)).toBe(c);
    }
  });
});

describe('verifyChunkBytes', () => {
  it('accepts the chunk and refuses a changed or resized one', async () => {
    const e = manifest.chunks[0];
    const bytes = chunks[0]?.bytes;
    if (!e || !bytes) throw new Error('missing chunk');
    expect(await verifyChunkBytes(e, bytes)).toBeNull();
    const changed = bytes.slice();
    changed[40] = (changed[40] as number) ^ 1;
    expect(await verifyChunkBytes(e, changed)).toMatch(
      /does not match its manifest entry: its SHA-256 differs/,
    );
    expect(await verifyChunkBytes(e, bytes.subarray(1))).toMatch(
      /does not match its manifest entry: \d+ bytes, the manifest says/,
    );
  });
});
