/**
 * Corrupt tables: chunks cut short, bit-flipped, of another format version or magic; manifests
 * that lie about sizes, hashes or counts, name chunks that are not there, or are not JSON.
 *
 * - Decoding: random damage to a chunk's bytes never throws and never yields a record the
 *   chunk did not hold. The decoder alone cannot see every change (a record whose country
 *   letter changed is still a record); the manifest's SHA-256 can, and storage bytes are only
 *   ever decoded through `decodeEntryChunk`, which checks it first.
 * - Serving: a corrupt generation published while another serves is refused with its reason
 *   on health and the previous generation keeps serving (a dirty IP stays blocked); with no
 *   previous generation the reason goes into the decision event and the request is decided by
 *   the route class's onError. Every deny test asserts the origin was not called.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseIpgateCsv } from '../../../cli/feeds/ipgate-csv';
import { generationPairs } from '../../../cli/table-writer';
import { TABLE_MANIFEST_KEY } from '../../../src/constants';
import { recordSchema } from '../../../src/reputation/record';
import { TableStore } from '../../../src/reputation/table-store';
import { decodeChunk } from '../../../src/table/codec';
import {
  chunkKey,
  decodeEntryChunk,
  expectedChunk,
  type Manifest,
  type ManifestChunk,
  sha256Hex,
} from '../../../src/table/manifest';
import {
  expectBlocked,
  expectPassed,
  from,
  harness,
  originSaw,
  SAMPLE_CSV,
  seedTable,
  testEnv,
} from '../helpers';
import { entry, load, RECORDS, rec } from './support';

const kv = () => testEnv.REPUTATION;

/** The sample table, except that 203.0.113.7 is clean: serving it would let that IP pass. */
const CLEAN_CSV = SAMPLE_CSV.replace(
  '203.0.113.7,critical,scanner|remote,NL,64496,Example Bulletproof Hosting',
  '203.0.113.7,safe,,NL,64496,Example Bulletproof Hosting',
);

// ── Decoding damaged bytes ─────────────────────────────────────────────────────────────────

/** A table with several chunks per family, both families, many records. */
let built: ReturnType<typeof load> | null = null;
const fixture = () =>
  (built ??= load(
    [
      ...Array.from({ length: 400 }, (_, i) =>
        entry(`${10 + (i % 200)}.${i % 250}.0.0/16`, rec(i)),
      ),
      ...Array.from({ length: 200 }, (_, i) => entry(`2001:db8:${i.toString(16)}::/48`, rec(i))),
      entry('192.0.2.7/32', RECORDS[0] ?? rec(0)),
    ],
    { maxIntervals: 64 },
  ));

const damage = fc.oneof(
  fc.record({
    kind: fc.constant('flip' as const),
    bits: fc.array(fc.nat(), { minLength: 1, maxLength: 8 }),
  }),
  fc.record({
    kind: fc.constant('write' as const),
    at: fc.nat(),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('cut' as const), at: fc.nat() }),
  fc.record({
    kind: fc.constant('append' as const),
    bytes: fc.uint8Array({ minLength: 1, maxLength: 16 }),
  }),
  fc.record({ kind: fc.constant('splice' as const), at: fc.nat(), length: fc.nat({ max: 64 }) }),
);
type Damage = typeof damage extends fc.Arbitrary<infer T> ? T : never;

function damaged(bytes: Uint8Array, d: Damage): Uint8Array {
  const out = bytes.slice();
  switch (d.kind) {
    case 'flip':
      for (const b of d.bits) {
        const bit = b % (out.length * 8);
        out[bit >> 3] = (out[bit >> 3] as number) ^ (1 << (bit & 7));
      }
      return out;
    case 'write':
      out.set(d.bytes.subarray(0, out.length - (d.at % out.length)), d.at % out.length);
      return out;
    case 'cut':
      return out.slice(0, d.at % out.length);
    case 'append': {
      const longer = new Uint8Array(out.length + d.bytes.length);
      longer.set(out);
      longer.set(d.bytes, out.length);
      return longer;
    }
    default: {
      const at = d.at % out.length;
      return new Uint8Array([...out.subarray(0, at), ...out.subarray(at + Math.max(1, d.length))]);
    }
  }
}

function indexOfBytes(haystack: Uint8Array, needle: Uint8Array): number {
  outer: for (let i = 0; i + needle.length <= haystack.length; i++) {
    for (let j = 0; j < needle.length; j++) if (haystack[i + j] !== needle[j]) continue outer;
    return i;
  }
  return -1;
}

const same = (a: Uint8Array, b: Uint8Array) =>
  a.length === b.length && a.every((x, i) => x === b[i]);

/** Probe keys of a chunk: its bounds, and keys spread across its range. */
function probes(e: ManifestChunk): bigint[] {
  const { from, to } = expectedChunk(e);
  const out = [from, to];
  for (let k = 1n; k < 16n; k++) out.push(from + ((to - from) * k) / 16n);
  return out;
}

function answer(chunk: { lookupV4(v: number): unknown; lookupV6(h: number, l: number): unknown }) {
  return (family: 4 | 6, key: bigint) =>
    family === 4
      ? chunk.lookupV4(Number(key))
      : chunk.lookupV6(Number(key >> 32n), Number(key & 0xffff_ffffn));
}

describe('decoding damaged chunk bytes', () => {
  it('through the manifest entry: refused whenever the bytes changed, exact records otherwise', async () => {
    const { chunks, manifest } = await fixture();
    const entries = manifest.chunks;
    await fc.assert(
      fc.asyncProperty(fc.nat(), damage, async (pick, d) => {
        const e = entries[pick % entries.length] as ManifestChunk;
        const original = chunks.find((c) => c.family === e.family && c.index === e.index)?.bytes;
        if (!original) throw new Error('no chunk');
        const bytes = damaged(original, d);
        const result = await decodeEntryChunk(e, bytes.slice().buffer);
        if (!same(bytes, original)) {
          expect(result.ok).toBe(false);
          expect(!result.ok && result.error).toMatch(
            /does not match its manifest entry: (\d+ bytes, the manifest says \d+|its SHA-256 differs)/,
          );
          return;
        }
        // A damage that wrote the same bytes back: the chunk is the chunk.
        expect(result.ok).toBe(true);
        const reference = await decodeEntryChunk(e, original.slice().buffer);
        if (!result.ok || !reference.ok) return;
        for (const key of probes(e))
          expect(answer(result.chunk)(e.family, key)).toEqual(
            answer(reference.chunk)(e.family, key),
          );
      }),
      { numRuns: 500 },
    );
  });

  it('by the decoder alone: never throws, and never hands out a record that is not a valid one', async () => {
    const { chunks, manifest } = await fixture();
    fc.assert(
      fc.property(fc.nat(), damage, (pick, d) => {
        const e = manifest.chunks[pick % manifest.chunks.length] as ManifestChunk;
        const original = chunks.find((c) => c.family === e.family && c.index === e.index)?.bytes;
        if (!original) throw new Error('no chunk');
        const result = decodeChunk(damaged(original, d), expectedChunk(e));
        if (!result.ok) {
          expect(result.error.length).toBeGreaterThan(0);
          return;
        }
        for (const key of probes(e)) {
          const found = answer(result.chunk)(e.family, key);
          if (found !== null) expect(recordSchema.safeParse(found).success).toBe(true);
        }
      }),
      { numRuns: 1000 },
    );
  });

  it('the decoder alone accepts a changed record; the hash is what refuses it', async () => {
    const { chunks, manifest } = await fixture();
    const e = manifest.chunks.find((c) => c.family === 4) as ManifestChunk;
    const original = chunks.find((c) => c.family === 4 && c.index === e.index)?.bytes;
    if (!original) throw new Error('no chunk');
    const at = indexOfBytes(original, new TextEncoder().encode('"country":"US"'));
    expect(at).toBeGreaterThan(0);
    const changed = original.slice();
    changed[at + '"country":"U'.length] = 'K'.charCodeAt(0); // "US" becomes "UK"
    const alone = decodeChunk(changed.slice().buffer, expectedChunk(e));
    expect(alone.ok).toBe(true);
    expect(alone.ok && alone.chunk.records().some((r) => r.country === 'UK')).toBe(true);
    const checked = await decodeEntryChunk(e, changed.slice().buffer);
    expect(checked).toEqual({
      ok: false,
      error: `chunk ${e.key} does not match its manifest entry: its SHA-256 differs`,
    });
  });
});

// ── Serving through KV ───────────────────────────────────────────────────────────────────────

interface Published {
  manifest: Manifest;
  /** The IPv4 chunk that answers for 203.0.113.7 (its own in the clean table, not shared). */
  v4: ManifestChunk;
  bytes: Uint8Array;
}

/** Writes every chunk of the clean generation `name` (not the manifest yet). */
async function cleanGeneration(name: string): Promise<Published> {
  const feed = parseIpgateCsv(CLEAN_CSV, 'clean');
  const gen = await generationPairs(feed.entries, { generation: name });
  for (const c of gen.chunks) await kv().put(c.key, c.value);
  const v4 = gen.manifest.chunks.find((c) => c.family === 4) as ManifestChunk;
  const bytes = gen.chunks.find((c) => c.key === v4.key)?.value;
  if (!bytes) throw new Error('no IPv4 chunk');
  return { manifest: structuredClone(gen.manifest), v4, bytes };
}

async function putManifest(manifest: unknown): Promise<void> {
  await kv().put(
    TABLE_MANIFEST_KEY,
    typeof manifest === 'string' ? manifest : JSON.stringify(manifest),
  );
}

/** The manifest with its IPv4 chunk entry replaced. */
function withV4(p: Published, change: Partial<ManifestChunk>): Manifest {
  const m = structuredClone(p.manifest);
  m.chunks = m.chunks.map((c) => (c.key === p.v4.key ? { ...c, ...change } : c));
  return m;
}

/** Stores `bytes` as the IPv4 chunk with a manifest entry that describes them truthfully. */
async function honestEntryFor(p: Published, bytes: Uint8Array): Promise<Manifest> {
  const sha256 = await sha256Hex(bytes);
  const key = chunkKey(4, sha256);
  await kv().put(key, bytes);
  return withV4(p, { key, sha256, bytes: bytes.byteLength });
}

function header(p: Published, edit: (view: DataView) => void): Uint8Array {
  const out = p.bytes.slice();
  edit(new DataView(out.buffer));
  return out;
}

/** Each way to publish a corrupt clean generation, and the reason it must be refused for. */
const CORRUPTIONS: [string, (p: Published) => Promise<void>, RegExp][] = [
  [
    'a truncated chunk',
    async (p) => {
      await kv().put(p.v4.key, p.bytes.slice(0, p.bytes.length - 7));
      await putManifest(p.manifest);
    },
    /\d+ bytes, the manifest says \d+/,
  ],
  [
    'a truncated chunk its manifest entry describes',
    async (p) => putManifest(await honestEntryFor(p, p.bytes.slice(0, p.bytes.length - 7))),
    /refused: chunk is truncated/,
  ],
  [
    'a bit-flipped chunk',
    async (p) => {
      const flipped = p.bytes.slice();
      flipped[flipped.length - 20] = (flipped[flipped.length - 20] as number) ^ 0x04;
      await kv().put(p.v4.key, flipped);
      await putManifest(p.manifest);
    },
    /its SHA-256 differs/,
  ],
  [
    'a chunk of another format version',
    async (p) =>
      putManifest(
        await honestEntryFor(
          p,
          header(p, (v) => v.setUint16(4, 3, true)),
        ),
      ),
    /chunk format version 3, this decoder reads 2/,
  ],
  [
    'a chunk with the wrong magic',
    async (p) =>
      putManifest(
        await honestEntryFor(
          p,
          header(p, (v) => v.setUint32(0, 0x46445025, true)),
        ),
      ),
    /not a table chunk: magic 0x46445025/,
  ],
  [
    'a manifest that lies about a chunk size',
    async (p) => putManifest(withV4(p, { bytes: p.v4.bytes + 1 })),
    /\d+ bytes, the manifest says \d+/,
  ],
  [
    'a manifest that lies about a chunk hash',
    async (p) => {
      const sha256 = 'ab'.repeat(32);
      const key = chunkKey(4, sha256);
      await kv().put(key, p.bytes);
      await putManifest(withV4(p, { key, sha256 }));
    },
    /its SHA-256 differs/,
  ],
  [
    'a manifest that lies about the interval count of a chunk',
    async (p) => {
      const m = withV4(p, { count: p.v4.count + 1 });
      m.counts.v4 += 1;
      await putManifest(m);
    },
    /has \d+ intervals, the manifest says \d+/,
  ],
  [
    'a manifest whose totals do not add up',
    async (p) => putManifest({ ...p.manifest, counts: { ...p.manifest.counts, v4: 1 } }),
    /manifest refused: counts\.v4: is 1, but the IPv4 chunks hold \d+ intervals/,
  ],
  [
    'a manifest that names a chunk that is not there',
    async (p) => {
      await kv().delete(p.v4.key);
      await putManifest(p.manifest);
    },
    /chunk table:chunk:4:[0-9a-f]{64} is missing/,
  ],
  [
    'a manifest that is not JSON',
    async (p) => putManifest(JSON.stringify(p.manifest).slice(0, -10)),
    /manifest refused: \(root\): manifest is not valid JSON/,
  ],
  [
    'a manifest of another format',
    async (p) => putManifest({ ...p.manifest, format: 2 }),
    /manifest refused: format/,
  ],
];

/** A gate serving the sample table with its own clock; 203.0.113.7 (critical) is blocked. */
async function servingSample(label: string) {
  const generation = await seedTable(SAMPLE_CSV, { generation: `sample-${label}` });
  const clock = { now: 1_000_000 };
  const tables = new TableStore({ now: () => clock.now });
  const h = harness({ tables });
  await expectDirtyBlocked(h);
  return { h, clock, tables, generation };
}

async function expectDirtyBlocked(h: ReturnType<typeof harness>): Promise<void> {
  const { id, headers } = from('203.0.113.7');
  await expectBlocked(await h.fetch('/login', { headers }), id);
  expect(h.events.at(-1)).toMatchObject({ rule: 'dirty', score: 'critical' });
}

async function healthTable(h: ReturnType<typeof harness>) {
  const res = await h.fetch('/__ipgate/health');
  return ((await res.json()) as { table: { generation: string; lastError: string | null } }).table;
}

describe('a corrupt generation published while another serves', () => {
  for (const [name, publish, reason] of CORRUPTIONS) {
    it(`${name}: refused with the reason on health; the dirty IP stays blocked`, async () => {
      const s = await servingSample(name.replace(/\W+/g, '-'));
      const p = await cleanGeneration(`corrupt-${name.replace(/\W+/g, '-')}`);
      await publish(p);
      s.clock.now += 31_000; // the refresh is due: this request starts it in the background
      await expectDirtyBlocked(s.h);
      await expectDirtyBlocked(s.h);
      expect(s.h.events.at(-1)?.tableGeneration).toBe(s.generation);
      const table = await healthTable(s.h);
      expect(table.generation).toBe(s.generation);
      expect(table.lastError).toMatch(reason);
      // Retried later, refused again: the previous generation still serves.
      s.clock.now += 31_000;
      await expectDirtyBlocked(s.h);
      await expectDirtyBlocked(s.h);
      expect((await healthTable(s.h)).lastError).toMatch(reason);
    });
  }

  it('the next sound generation is adopted (the refusal was for the bytes, not for good)', async () => {
    const s = await servingSample('recover');
    const p = await cleanGeneration('recover-clean');
    await kv().put(p.v4.key, p.bytes.slice(0, 40));
    await putManifest(p.manifest);
    s.clock.now += 31_000;
    await expectDirtyBlocked(s.h);
    expect((await healthTable(s.h)).lastError).toMatch(/the manifest says/);
    await kv().put(p.v4.key, p.bytes);
    s.clock.now += 31_000;
    await s.h.fetch('/', { headers: from('203.0.113.7').headers }); // starts the refresh
    const { id, headers } = from('203.0.113.7');
    const res = await s.h.fetch('/login', { headers });
    expect(res.status).toBe(200);
    expect(await originSaw(id)).toHaveLength(1);
    expect(s.h.events.at(-1)).toMatchObject({ reason: 'clean', tableGeneration: 'recover-clean' });
    expect(await healthTable(s.h)).toMatchObject({ generation: 'recover-clean', lastError: null });
  });

  it('random damage to a stored chunk never reaches a decision', async () => {
    const s = await servingSample('random');
    await fc.assert(
      fc.asyncProperty(damage, async (d) => {
        const p = await cleanGeneration('random-clean');
        const bytes = damaged(p.bytes, d);
        fc.pre(!same(bytes, p.bytes));
        await kv().put(p.v4.key, bytes);
        await putManifest(p.manifest);
        s.clock.now += 31_000;
        await expectDirtyBlocked(s.h);
        await expectDirtyBlocked(s.h);
        expect(s.tables.status().generation).toBe(s.generation);
        expect(s.tables.status().lastError).toMatch(/does not match its manifest entry/);
      }),
      { numRuns: 15 },
    );
  });
});

describe('a corrupt generation at cold start', () => {
  for (const [name, publish, reason] of CORRUPTIONS) {
    it(`${name}: the reason goes into the decision event; onError decides`, async () => {
      const p = await cleanGeneration(`cold-${name.replace(/\W+/g, '-')}`);
      await publish(p);
      const h = harness({ tables: new TableStore() });
      const { id, headers } = from('203.0.113.7');
      await expectPassed(await h.fetch('/login', { headers }), id);
      expect(h.events.at(-1)).toMatchObject({
        reason: 'internal_error',
        rule: 'fail-open',
        lookup: 'error',
      });
      expect(h.events.at(-1)?.detail).toMatch(reason);
    });
  }
});
