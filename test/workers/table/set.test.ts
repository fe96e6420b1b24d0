/** TableSet: lookups by address across chunks, partial loading, and refusal of wrong chunks. */
import { describe, expect, it } from 'vitest';
import { parseIp } from '../../../src/ip/parse';
import { buildTable } from '../../../src/table/build';
import { decodeChunk, encodeTable } from '../../../src/table/codec';
import type { TableChunk } from '../../../src/table/lookup';
import { buildManifest, expectedChunk } from '../../../src/table/manifest';
import { CHUNK_NOT_LOADED, TableSet } from '../../../src/table/set';
import { entry, load, rec } from './support';

const entries = [
  entry('0.0.0.0/0', rec(3)),
  entry('10.0.0.0/8', rec(2)),
  entry('10.9.9.9/32', rec(0)),
  entry('192.0.2.0/24', rec(1)),
  entry('198.51.100.0/24', rec(4)),
  entry('203.0.113.0/24', rec(5)),
  entry('2001:db8::/32', rec(2)),
  entry('2001:db8:bad::/48', rec(0)),
  entry('2001:db8:bad:1::1/128', rec(1)),
];

function ip(text: string) {
  const parsed = parseIp(text);
  if (!parsed) throw new Error(`bad ip ${text}`);
  return parsed;
}

describe('TableSet', () => {
  it('looks up parsed addresses across chunks', async () => {
    const { set, manifest } = await load(entries, { maxIntervals: 2 });
    expect(manifest.chunks.length).toBeGreaterThan(4);
    expect(set.missing()).toEqual([]);
    expect(set.lookup(ip('10.9.9.9'))).toMatchObject({ score: 'critical' });
    expect(set.lookup(ip('10.9.9.10'))).toMatchObject({ score: 'low' });
    expect(set.lookup(ip('8.8.8.8'))).toMatchObject({ score: 'safe' });
    expect(set.lookup(ip('203.0.113.200'))).toMatchObject({ score: 'moderate' });
    // IPv4-mapped IPv6 folds to IPv4.
    expect(set.lookup(ip('::ffff:192.0.2.1'))).toMatchObject({ score: 'dangerous' });
    expect(set.lookup(ip('2001:db8:bad:0:1:2:3:4'))).toMatchObject({ score: 'critical' });
    // A /128 keys as its /64: every address in that /64 gets its record.
    expect(set.lookup(ip('2001:db8:bad:1:ffff::9'))).toMatchObject({ score: 'dangerous' });
    expect(set.lookup(ip('2001:db8:1::1'))).toMatchObject({ score: 'low' });
    expect(set.lookup(ip('2001:db9::1'))).toBeNull();
  });

  it('hands out frozen records', async () => {
    const { set } = await load(entries);
    const r = set.lookup(ip('10.9.9.9'));
    expect(Object.isFrozen(r)).toBe(true);
  });

  it('says CHUNK_NOT_LOADED, not null, for keys of chunks it does not hold', async () => {
    const { manifest, chunkMap } = await load(entries, { maxIntervals: 2 });
    const target = ip('192.0.2.1');
    const partial = TableSet.create(manifest, new Map());
    if (!partial.ok) throw new Error(partial.error);
    const set = partial.set;
    expect(set.lookup(target)).toBe(CHUNK_NOT_LOADED);
    expect(set.missing()).toHaveLength(manifest.chunks.length);
    const entryFor = set.chunkFor(target);
    if (!entryFor) throw new Error('no chunk entry');
    expect(set.add(entryFor.key, chunkMap.get(entryFor.key) as TableChunk)).toBeNull();
    expect(set.lookup(target)).toMatchObject({ score: 'dangerous' });
    expect(set.missing()).toHaveLength(manifest.chunks.length - 1);
    expect(set.lookup(ip('2001:db8::1'))).toBe(CHUNK_NOT_LOADED);
  });

  it('refuses chunks that do not belong where they are put', async () => {
    const { manifest, chunkMap } = await load(entries, { maxIntervals: 2 });
    const [firstKey, secondKey] = [...chunkMap.keys()];
    const first = chunkMap.get(firstKey ?? '') as TableChunk;
    const created = TableSet.create(manifest);
    if (!created.ok) throw new Error(created.error);
    const set = created.set;
    expect(set.add('table:chunk:nope:4:0', first)).toMatch(/not in manifest generation/);
    expect(set.add(secondKey ?? '', first)).toMatch(/covers other keys/);

    const other = await load([entry('192.0.2.0/24', rec(1))], { maxIntervals: 2 });
    expect(set.add(firstKey ?? '', other.chunkMap.values().next().value as TableChunk)).toMatch(
      /covers other keys/,
    );

    const v6Key = manifest.chunks.find((c) => c.family === 6)?.key ?? '';
    expect(set.add(v6Key, first)).toMatch(/holds IPv4 keys/);

    const bad = TableSet.create(manifest, new Map([[secondKey ?? '', first]]));
    expect(bad.ok).toBe(false);
  });

  it('takes the chunks of another generation of the same table: they are the same chunks', async () => {
    const a = await load(entries, { maxIntervals: 2, generation: 'gen-a' });
    const b = await load(entries, { maxIntervals: 2, generation: 'gen-b' });
    expect([...b.chunkMap.keys()]).toEqual([...a.chunkMap.keys()]);
    const created = TableSet.create(b.manifest, a.chunkMap);
    if (!created.ok) throw new Error(created.error);
    expect(created.set.missing()).toEqual([]);
    expect(created.set.lookup(ip('10.9.9.9'))).toMatchObject({ score: 'critical' });
  });

  it('refuses a chunk whose interval count differs from its manifest entry', async () => {
    const gen = 'gen-1';
    const chunks = encodeTable(buildTable(entries));
    const manifest = await buildManifest(gen, chunks, new Date(0));
    const v4 = manifest.chunks[0];
    if (!v4) throw new Error('no chunk');
    const tampered = {
      ...manifest,
      chunks: [{ ...v4, count: v4.count + 1 }, ...manifest.chunks.slice(1)],
    };
    const decoded = decodeChunk(
      (chunks[0]?.bytes ?? new Uint8Array()).slice().buffer,
      expectedChunk(v4),
    );
    if (!decoded.ok) throw new Error(decoded.error);
    const created = TableSet.create(tampered, new Map([[v4.key, decoded.chunk]]));
    expect(created.ok ? '' : created.error).toMatch(/intervals, the manifest says/);
  });
});
