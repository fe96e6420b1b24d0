/**
 * The chunk codec: layout, content-defined chunk boundaries, attribute widths, and refusal (as
 * data, never an exception) of every kind of damaged or foreign chunk.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { TABLE_FORMAT_VERSION, TABLE_HEADER_BYTES, TABLE_MAGIC } from '../../../src/constants';
import type { ReputationRecord } from '../../../src/reputation/record';
import {
  type BuiltTable,
  buildTable,
  type Interval,
  tableFromIntervals,
} from '../../../src/table/build';
import {
  chunkStarts,
  decodeChunk,
  type EncodedChunk,
  type ExpectedChunk,
  encodeChunk,
  encodeTable,
  readChunkHeader,
} from '../../../src/table/codec';
import { V4_MAX_KEY, V6_MAX_KEY } from '../../../src/table/keys';
import { buildManifest } from '../../../src/table/manifest';
import { RecordStore } from '../../../src/table/record-store';
import { entry, rec } from './support';

const sample = buildTable([
  entry('10.0.0.0/8', rec(2)),
  entry('10.1.2.0/24', rec(0)),
  entry('192.0.2.7/32', rec(1)),
  entry('2001:db8::/32', rec(2)),
  entry('2001:db8:1::/48', rec(0)),
]);

function chunkOf(family: 4 | 6, built: BuiltTable = sample): EncodedChunk {
  const c = encodeTable(built).find((x) => x.family === family);
  if (!c) throw new Error('no chunk');
  return c;
}

const v4Bytes = chunkOf(4).bytes;
const v6Bytes = chunkOf(6).bytes;

function buf(bytes: Uint8Array): ArrayBuffer {
  return bytes.slice().buffer;
}

function mutate(bytes: Uint8Array, edit: (view: DataView, copy: Uint8Array) => void): ArrayBuffer {
  const copy = bytes.slice();
  edit(new DataView(copy.buffer), copy);
  return copy.buffer;
}

/** Re-encodes `bytes` with the trailer replaced (header length updated to match). */
function withTrailer(bytes: Uint8Array, trailer: Uint8Array | string): ArrayBuffer {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const trailerAt = TABLE_HEADER_BYTES + view.getUint32(12, true) + view.getUint32(16, true);
  const body = typeof trailer === 'string' ? new TextEncoder().encode(trailer) : trailer;
  const out = new Uint8Array(trailerAt + body.length);
  out.set(bytes.subarray(0, trailerAt));
  out.set(body, trailerAt);
  new DataView(out.buffer).setUint32(20, body.length, true);
  return out.buffer;
}

function trailerOf(bytes: Uint8Array): Record<string, unknown> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const trailerAt = TABLE_HEADER_BYTES + view.getUint32(12, true) + view.getUint32(16, true);
  return JSON.parse(new TextDecoder().decode(bytes.subarray(trailerAt)));
}

function refused(result: ReturnType<typeof decodeChunk>, pattern?: RegExp): string {
  if (result.ok) throw new Error('expected the chunk to be refused');
  expect(typeof result.error).toBe('string');
  if (pattern) expect(result.error).toMatch(pattern);
  return result.error;
}

const expect4: ExpectedChunk = { family: 4, from: 0n, to: V4_MAX_KEY };
const expect6: ExpectedChunk = { family: 6, from: 0n, to: V6_MAX_KEY };

describe('encodeTable / decodeChunk', () => {
  it('writes the documented header and sizes', () => {
    const view = new DataView(v4Bytes.buffer, v4Bytes.byteOffset, v4Bytes.byteLength);
    expect(view.getUint32(0, true)).toBe(TABLE_MAGIC);
    expect(new TextDecoder().decode(v4Bytes.subarray(0, 4))).toBe('IPGT');
    expect(view.getUint16(4, true)).toBe(2);
    expect(TABLE_FORMAT_VERSION).toBe(2);
    expect(view.getUint8(6)).toBe(4);
    expect(view.getUint8(7)).toBe(1);
    const count = view.getUint32(8, true);
    expect(count).toBe(sample.v4.length);
    expect(view.getUint32(12, true)).toBe(count * 8);
    expect(view.getUint32(16, true)).toBe(count);
    expect(view.getUint32(24, true)).toBe(3);
    expect(v4Bytes.length).toBe(32 + count * 9 + view.getUint32(20, true));
    expect(Object.keys(trailerOf(v4Bytes))).toEqual(['family', 'from', 'to', 'records']);
    expect(trailerOf(v4Bytes)).toMatchObject({ family: 4, from: '0', to: '4294967295' });
    expect(trailerOf(v6Bytes)).toMatchObject({ from: '0000000000000000', to: 'ffffffffffffffff' });
    const header = readChunkHeader(v6Bytes);
    expect(header.ok && header.header).toMatchObject({
      family: 6,
      keyBytes: sample.v6.length * 16,
    });
  });

  it('decodes what it encoded, for both families', () => {
    const v4 = decodeChunk(buf(v4Bytes), expect4);
    const v6 = decodeChunk(buf(v6Bytes), expect6);
    if (!v4.ok || !v6.ok) throw new Error('decode failed');
    expect(v4.chunk.count).toBe(sample.v4.length);
    for (const iv of sample.v4) {
      expect(v4.chunk.lookupV4(Number(iv.start))).toEqual(iv.record);
      expect(v4.chunk.lookupV4(Number(iv.end))).toEqual(iv.record);
    }
    expect(v4.chunk.lookupV4(0x0b00_0000)).toBeNull();
    for (const iv of sample.v6) {
      const hi = Number(iv.start >> 32n);
      const lo = Number(iv.start & 0xffff_ffffn);
      expect(v6.chunk.lookupV6(hi, lo)).toEqual(iv.record);
    }
    expect(v6.chunk.lookupV6(0x2001_0db9, 0)).toBeNull();
    expect(v4.chunk.lookupV6(0x2001_0db8, 0)).toBeNull();
  });

  it('keeps IPv6 as views of the bytes it was given, without a copy', () => {
    const bytes = buf(v6Bytes);
    const decoded = decodeChunk(bytes, expect6);
    if (!decoded.ok) throw new Error(decoded.error);
    const first = sample.v6.at(0) as Interval;
    const probe = () => decoded.chunk.lookupV6(Number(first.start >> 32n), 0);
    const before = probe();
    // Flipping the first attribute index in the source buffer changes what the chunk answers.
    const attrs = new Uint8Array(bytes);
    const at = TABLE_HEADER_BYTES + sample.v6.length * 16;
    attrs[at] = (attrs[at] as number) ^ 1;
    expect(probe()).not.toBe(before);
    expect(decoded.chunk.memoryBytes).toBeGreaterThanOrEqual(bytes.byteLength);
  });

  it('rebuilds IPv4 into its own compact arrays and keeps nothing of the bytes', () => {
    const bytes = buf(v4Bytes);
    const decoded = decodeChunk(bytes, expect4);
    if (!decoded.ok) throw new Error(decoded.error);
    const key = Number(sample.v4.at(0)?.start);
    const before = decoded.chunk.lookupV4(key);
    new Uint8Array(bytes).fill(0xff);
    expect(decoded.chunk.lookupV4(key)).toBe(before);
    // 10.0.0.0/8 split around 10.1.2.0/24, and 192.0.2.7: a u32 directory entry per /16 from
    // 10.0 to 192.0, and blocks of a u16 count, u16 offsets and u8 slots padded to u16s: 10.0
    // (starts with 10.0.0.0: 2 units), 10.1 (10.1.2.0 and 10.1.3.0 inside: 5), 10.2 (in force
    // from 10.1.3.0, shared by 10.3-10.255: 2), 11.0 (the gap from 11.0.0.0, shared up to
    // 191.255: 2) and 192.0 (192.0.2.7 inside: 3).
    expect(sample.v4).toHaveLength(4);
    const directory = 4 * (0xc000 - 0x0a00 + 1);
    expect(decoded.chunk.memoryBytes).toBe(directory + 2 * (2 + 5 + 2 + 2 + 3));
  });

  it('decodes from an unaligned byte view by copying', () => {
    const shifted = new Uint8Array(v6Bytes.length + 1);
    shifted.set(v6Bytes, 1);
    const decoded = decodeChunk(shifted.subarray(1), expect6);
    if (!decoded.ok) throw new Error(decoded.error);
    const first = sample.v6.at(0) as Interval;
    expect(decoded.chunk.lookupV6(Number(first.start >> 32n), 0)).toEqual(first.record);
  });

  it('encodes an empty family as one chunk covering every key', () => {
    const chunks = encodeTable(tableFromIntervals([], []));
    expect(chunks.map((c) => [c.family, c.index, c.from, c.to, c.count])).toEqual([
      [4, 0, 0n, 0xffff_ffffn, 0],
      [6, 0, 0n, 0xffff_ffff_ffff_ffffn, 0],
    ]);
    const d = decodeChunk(buf((chunks[0] as EncodedChunk).bytes), expect4);
    expect(d.ok && d.chunk.lookupV4(0x7f00_0001)).toBeNull();
  });

  it('refuses to encode what the decoder would refuse', () => {
    expect(() => encodeTable(sample, { maxIntervals: 0 })).toThrow(/maxIntervals/);
    const r = rec(0);
    const unsorted: Interval[] = [
      { start: 10n, end: 20n, record: r },
      { start: 5n, end: 6n, record: r },
    ];
    expect(() => encodeTable(tableFromIntervals(unsorted, []))).toThrow(/unsorted/);
    const bad = { score: 'low', categories: [], country: 'USA' } as ReputationRecord;
    expect(() =>
      encodeTable(tableFromIntervals([{ start: 1n, end: 1n, record: bad }], [])),
    ).toThrow(/invalid record/);
    expect(() => encodeChunk({ family: 4, from: 0n, to: 1n << 32n, intervals: [] })).toThrow(
      /invalid chunk range/,
    );
  });
});

describe('content-defined chunk boundaries', () => {
  const MAX = 32;
  const BASE = 0x0a00_0000;
  /** Single addresses 16 apart, records cycling so that no two neighbours coalesce. */
  const spread = (count: number) =>
    Array.from({ length: count }, (_, i) => ({
      network: {
        family: 4 as const,
        start: BigInt(BASE + 16 * i),
        end: BigInt(BASE + 16 * i),
        prefix: 32,
      },
      record: rec(i),
    }));
  const extra = (i: number) => ({
    network: {
      family: 4 as const,
      start: BigInt(BASE + 16 * i + 5),
      end: BigInt(BASE + 16 * i + 5),
      prefix: 32,
    },
    record: rec(1),
  });
  const base = spread(3000);

  async function v4Keys(entries: ReturnType<typeof spread>): Promise<string[]> {
    const m = await buildManifest(
      'g',
      encodeTable(buildTable(entries), { maxIntervals: MAX }),
      new Date(0),
    );
    return m.chunks.filter((c) => c.family === 4).map((c) => c.key);
  }
  const baseKeys = v4Keys(base);
  /** How many chunk keys of `entries` the base table does not have. */
  const changed = async (entries: ReturnType<typeof spread>) => {
    const before = new Set(await baseKeys);
    return (await v4Keys(entries)).filter((k) => !before.has(k)).length;
  };

  it('covers the key space with chunks of at most maxIntervals, about half full on average', () => {
    const built = buildTable(base);
    const chunks = encodeTable(built, { maxIntervals: MAX }).filter((c) => c.family === 4);
    expect(chunks.map((c) => c.index)).toEqual(chunks.map((_, k) => k));
    expect(chunks[0]?.from).toBe(0n);
    expect(chunks[chunks.length - 1]?.to).toBe(V4_MAX_KEY);
    for (let k = 1; k < chunks.length; k++) {
      const c = chunks[k] as EncodedChunk;
      const prev = chunks[k - 1] as EncodedChunk;
      expect(c.from).toBe(prev.to + 1n);
      expect(c.from).toBe(built.v4.toArray().find((iv) => iv.start === c.from)?.start);
      // Natural starts are local minima more than MAX/4 apart; a longer run is cut evenly.
      expect(c.count).toBeGreaterThan(MAX / 4);
    }
    expect(chunks.every((c) => c.count <= MAX)).toBe(true);
    expect(chunks.reduce((n, c) => n + c.count, 0)).toBe(built.v4.length);
    const mean = built.v4.length / chunks.length;
    expect(mean).toBeGreaterThan(MAX / 3);
    expect(mean).toBeLessThan((MAX * 2) / 3);
    const starts = chunkStarts(built.v4, MAX);
    expect(starts.map((i) => built.v4.at(i)?.start)).toEqual(
      chunks.map((c) => c.from || built.v4.at(0)?.start),
    );
  });

  it('holds each distinct record once across the chunks decoded with one store', () => {
    const chunks = encodeTable(buildTable(base), { maxIntervals: MAX }).filter(
      (c) => c.family === 4,
    );
    expect(chunks.length).toBeGreaterThan(2);
    const decodeAll = (store?: RecordStore) =>
      chunks.map((c) => {
        const d = decodeChunk(c.bytes, c, store);
        if (!d.ok) throw new Error(d.error);
        return d.chunk;
      });
    const firstKeyOf = (c: EncodedChunk) => Number(c.from === 0n ? base[0]?.network.start : c.from);
    const records = (decoded: ReturnType<typeof decodeAll>) =>
      decoded.map((d, k) => d.lookupV4(firstKeyOf(chunks[k] as EncodedChunk)));
    const store = new RecordStore();
    const shared = decodeAll(store);
    const apart = decodeAll();
    expect(records(shared)).toEqual(records(apart));
    // Every chunk repeats records of the others; the shared store holds each one once.
    const perChunk = apart.reduce((n, c) => n + c.recordCount, 0);
    const distinct = new Set(apart.flatMap((c) => c.records().map((r) => JSON.stringify(r))));
    expect(perChunk).toBeGreaterThan(distinct.size);
    expect(store.size).toBe(distinct.size);
    for (const c of shared) expect(c.records()).toEqual(apart[shared.indexOf(c)]?.records());
  });

  it('changes at most 2 chunk keys of many when one interval is added in the middle', async () => {
    expect((await baseKeys).length).toBeGreaterThan(150);
    const n = await changed([...base, extra(1500)]);
    expect(n).toBeGreaterThanOrEqual(1);
    expect(n).toBeLessThanOrEqual(2);
  });

  it('keeps every other chunk when one interval is added, removed or changed anywhere', async () => {
    for (let i = 25; i < base.length; i += 100) {
      expect(await changed([...base, extra(i)]), `add after ${i}`).toBeLessThanOrEqual(2);
      expect(await changed(base.filter((_, j) => j !== i)), `remove ${i}`).toBeLessThanOrEqual(2);
      const other = base.map((e, j) => (j === i ? { ...e, record: rec(i + 1) } : e));
      expect(await changed(other), `change ${i}`).toBe(1);
    }
  });

  it('is a pure function of the intervals: the same table gives the same chunks', async () => {
    expect(await v4Keys(spread(3000))).toEqual(await baseKeys);
  });
});

describe('attribute index width', () => {
  function tableWith(distinct: number): BuiltTable {
    const v4: Interval[] = [];
    for (let i = 0; i < distinct; i++) {
      const record: ReputationRecord = { score: 'low', categories: [], asn: i };
      v4.push({ start: BigInt(i * 2), end: BigInt(i * 2), record });
    }
    return tableFromIntervals(v4, []);
  }

  for (const [distinct, width] of [
    [1, 1],
    [256, 1],
    [257, 2],
    [65_536, 2],
    [65_537, 4],
  ] as const) {
    it(`uses ${width} byte(s) for ${distinct} distinct records and round-trips them`, () => {
      const built = tableWith(distinct);
      const [chunk] = encodeTable(built, { maxIntervals: 1_000_000 });
      if (!chunk) throw new Error('no chunk');
      const header = readChunkHeader(chunk.bytes);
      expect(header.ok && header.header.attributeWidth).toBe(width);
      expect(chunk.bytes.length).toBeGreaterThan(32 + distinct * (8 + width));
      const decoded = decodeChunk(buf(chunk.bytes), expect4);
      if (!decoded.ok) throw new Error(decoded.error);
      expect(decoded.chunk.attributeWidth).toBe(width);
      for (const i of [0, 1, distinct >> 1, distinct - 2, distinct - 1].filter(
        (x) => x >= 0 && x < distinct,
      )) {
        expect(decoded.chunk.lookupV4(i * 2)?.asn).toBe(i);
        expect(decoded.chunk.lookupV4(i * 2 + 1)).toBeNull();
      }
    });
  }
});

describe('decodeChunk refuses damaged or foreign chunks', () => {
  it('refuses every truncation', () => {
    for (const bytes of [v4Bytes, v6Bytes])
      for (let len = 0; len < bytes.length; len++)
        refused(
          decodeChunk(buf(bytes.subarray(0, len)), bytes === v4Bytes ? expect4 : expect6),
          /truncated/,
        );
  });

  it('refuses trailing bytes', () => {
    const longer = new Uint8Array(v4Bytes.length + 1);
    longer.set(v4Bytes);
    refused(decodeChunk(longer.buffer, expect4), /1 unexpected bytes/);
  });

  it('refuses every single-bit flip in the header', () => {
    for (let bit = 0; bit < TABLE_HEADER_BYTES * 8; bit++) {
      const damaged = mutate(v4Bytes, (_, b) => {
        b[bit >> 3] = (b[bit >> 3] as number) ^ (1 << (bit & 7));
      });
      refused(decodeChunk(damaged, expect4));
    }
  });

  it('names the problem for magic, version, family and width', () => {
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => v.setUint32(0, 0x12345678, true)),
        expect4,
      ),
      /magic/,
    );
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => v.setUint16(4, 1, true)),
        expect4,
      ),
      /version 1, this decoder reads 2/,
    );
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => v.setUint16(4, 3, true)),
        expect4,
      ),
      /version 3/,
    );
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => v.setUint8(6, 5)),
        expect4,
      ),
      /family 5/,
    );
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => v.setUint8(7, 3)),
        expect4,
      ),
      /width 3/,
    );
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => v.setUint32(8, 1, true)),
        expect4,
      ),
      /does not fit/,
    );
  });

  it('refuses a chunk of another family or key range than the manifest entry says', () => {
    refused(
      decodeChunk(buf(v4Bytes), { ...expect4, from: 1n }),
      /covers 0\.\.4294967295, expected 1\.\.4294967295/,
    );
    refused(
      decodeChunk(buf(v4Bytes), { ...expect4, to: 0xffff_fffen }),
      /expected 0\.\.4294967294/,
    );
    refused(
      decodeChunk(buf(v6Bytes), { ...expect6, from: 0x2001_0db8n << 32n }),
      /expected 20010db800000000\.\.ffffffffffffffff/,
    );
    refused(decodeChunk(buf(v4Bytes), expect6), /IPv4 keys, expected IPv6/);
    refused(decodeChunk(buf(v6Bytes), expect4), /IPv6 keys, expected IPv4/);
  });

  it('refuses unsorted, overlapping and inverted intervals', () => {
    const n = sample.v4.length;
    const startAt = (i: number) => TABLE_HEADER_BYTES + 4 * i;
    const endAt = (i: number) => TABLE_HEADER_BYTES + 4 * n + 4 * i;
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => {
          const s0 = v.getUint32(startAt(0), true);
          const e0 = v.getUint32(endAt(0), true);
          v.setUint32(startAt(0), v.getUint32(startAt(1), true), true);
          v.setUint32(endAt(0), v.getUint32(endAt(1), true), true);
          v.setUint32(startAt(1), s0, true);
          v.setUint32(endAt(1), e0, true);
        }),
        expect4,
      ),
      /unsorted or overlaps/,
    );
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => v.setUint32(startAt(1), v.getUint32(endAt(0), true), true)),
        expect4,
      ),
      /interval 1 is unsorted or overlaps/,
    );
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => v.setUint32(startAt(2), v.getUint32(endAt(2), true) + 1, true)),
        expect4,
      ),
      /interval 2 starts after it ends/,
    );
    const m = sample.v6.length;
    refused(
      decodeChunk(
        mutate(v6Bytes, (v) => {
          // endHi of interval 0 below its startHi.
          v.setUint32(TABLE_HEADER_BYTES + 8 * m, 0, true);
        }),
        expect6,
      ),
      /starts after it ends/,
    );
  });

  it('refuses an attribute index past the record list', () => {
    const attrAt = TABLE_HEADER_BYTES + sample.v4.length * 8;
    refused(
      decodeChunk(
        mutate(v4Bytes, (v) => v.setUint8(attrAt + 1, 3)),
        expect4,
      ),
      /attribute index 3, only 3 records/,
    );
  });

  it('refuses intervals outside the chunk range the trailer names', () => {
    const t = trailerOf(v4Bytes);
    const first = Number(sample.v4.at(0)?.start);
    const last = Number(sample.v4.at(sample.v4.length - 1)?.end);
    refused(
      decodeChunk(withTrailer(v4Bytes, JSON.stringify({ ...t, from: String(first + 1) })), {
        ...expect4,
        from: BigInt(first + 1),
      }),
      /before the chunk's first key/,
    );
    refused(
      decodeChunk(withTrailer(v4Bytes, JSON.stringify({ ...t, to: String(last - 1) })), {
        ...expect4,
        to: BigInt(last - 1),
      }),
      /ends after the chunk's last key/,
    );
  });

  it('refuses bad trailers', () => {
    const t = trailerOf(v4Bytes);
    const cases: Array<[string | Uint8Array, RegExp]> = [
      [new Uint8Array([0xff, 0xfe, 0x7b]), /not valid UTF-8 JSON/],
      ['{"family":', /not valid UTF-8 JSON/],
      ['[]', /trailer is invalid at \(root\)/],
      [JSON.stringify({ ...t, records: undefined }), /trailer is invalid at records/],
      [
        JSON.stringify({
          ...t,
          records: [{ score: 'terrible', categories: [] }, ...(t.records as [])],
        }),
        /trailer is invalid at records\.0\.score/,
      ],
      [JSON.stringify({ ...t, records: (t.records as []).slice(1) }), /2 records, header says 3/],
      [JSON.stringify({ ...t, extra: 1 }), /trailer is invalid/],
      [JSON.stringify({ ...t, family: 6 }), /trailer says IPv6/],
      [JSON.stringify({ generation: 'gen-1', ...t }), /trailer is invalid/],
      [JSON.stringify({ ...t, from: '007' }), /key range/],
      [JSON.stringify({ ...t, from: '100', to: '99' }), /key range/],
      [JSON.stringify({ ...t, to: '4294967296' }), /key range/],
    ];
    for (const [trailer, pattern] of cases)
      refused(decodeChunk(withTrailer(v4Bytes, trailer), expect4), pattern);
    const t6 = trailerOf(v6Bytes);
    refused(
      decodeChunk(withTrailer(v6Bytes, JSON.stringify({ ...t6, to: 'FFFFFFFFFFFFFFFF' })), expect6),
      /key range/,
    );
  });

  it('reads a trailer however it is spaced, or with its records key spelled with an escape', () => {
    const t = trailerOf(v4Bytes);
    const escaped = JSON.stringify(t).replace('"records"', '"rec\\u006frds"');
    expect(escaped).toContain('rec\\u006frds');
    for (const trailer of [JSON.stringify(t, null, 2), JSON.stringify(t, null, '\t'), escaped]) {
      const decoded = decodeChunk(withTrailer(v4Bytes, trailer), expect4);
      if (!decoded.ok) throw new Error(decoded.error);
      for (const iv of sample.v4)
        expect(decoded.chunk.lookupV4(Number(iv.start))).toEqual(iv.record);
    }
  });

  it('refuses a bad record wherever it is in the trailer, with its path', () => {
    const t = trailerOf(v4Bytes);
    const text = JSON.stringify(t);
    const records = t.records as ReputationRecord[];
    const last = records.length - 1;
    const withLast = (r: unknown) =>
      JSON.stringify({ ...t, records: [...records.slice(0, -1), r] });
    const cut = text.lastIndexOf('}]') + 1; // the records array's `]`
    const bytes = (...parts: (string | number)[]) =>
      new Uint8Array(
        parts.flatMap((p) => (typeof p === 'number' ? [p] : [...new TextEncoder().encode(p)])),
      );
    const cases: Array<[string | Uint8Array, RegExp]> = [
      [
        withLast({ score: 'low', categories: [1] }),
        new RegExp(`records\\.${last}\\.categories\\.0`),
      ],
      [withLast('low'), new RegExp(`trailer is invalid at records\\.${last}:`)],
      [`${text.slice(0, cut)},]}`, new RegExp(`not valid UTF-8 JSON at records\\.${last + 1}$`)],
      [`${text.slice(0, cut)} x]}`, new RegExp(`not valid UTF-8 JSON at records\\.${last}$`)],
      [
        bytes(text.slice(0, cut - 1), ',"source":"', 0xff, '"}', text.slice(cut)),
        new RegExp(`not valid UTF-8 JSON at records\\.${last}$`),
      ],
      [`${text.slice(0, -1)},"records":[]}`, /more than one records array/],
    ];
    for (const [trailer, pattern] of cases)
      refused(decodeChunk(withTrailer(v4Bytes, trailer), expect4), pattern);
  });

  it('refuses things that are not bytes', () => {
    for (const junk of [null, undefined, 'IPGT', 42, {}, [1, 2, 3]])
      refused(decodeChunk(junk as unknown as ArrayBuffer, expect4), /not an ArrayBuffer/);
  });

  it('never throws, whatever the bytes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(v4Bytes, v6Bytes),
        fc.array(fc.record({ at: fc.nat(), value: fc.integer({ min: 0, max: 255 }) }), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.option(fc.nat(), { nil: undefined }),
        (bytes, edits, cut) => {
          const copy = bytes.slice();
          for (const { at, value } of edits) copy[at % copy.length] = value;
          const input = cut === undefined ? copy : copy.subarray(0, cut % (copy.length + 1));
          const family = bytes === v4Bytes ? 4 : 6;
          const result = decodeChunk(input, family === 4 ? expect4 : expect6);
          expect(typeof result.ok).toBe('boolean');
          if (result.ok) {
            result.chunk.lookupV4(0x0a01_0203);
            result.chunk.lookupV6(0x2001_0db8, 1);
          } else {
            expect(result.error.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 1000 },
    );
  });
});
