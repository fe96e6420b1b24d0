/**
 * The record store: texts de-duplicated, found by exact text (or exact UTF-8 bytes) only, ids
 * and texts stable through growth and re-hashing, records parsed on demand and frozen when
 * cached.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { RECORD_STORE_CACHE_SLOTS } from '../../../src/constants';
import type { ReputationRecord } from '../../../src/reputation/record';
import { RecordStore } from '../../../src/table/record-store';

const text = (r: ReputationRecord) => JSON.stringify(r);
const rec = (i: number): ReputationRecord => ({
  score: (['safe', 'low', 'moderate', 'dangerous', 'critical'] as const)[i % 5] ?? 'safe',
  categories: i % 3 === 0 ? ['vpn'] : [],
  country: 'US',
  asn: 64_496 + i,
  org: `Org ${i} — Ünïcode`,
});

describe('RecordStore', () => {
  it('gives one id per distinct text', () => {
    const store = new RecordStore();
    const a = store.add(text(rec(1)));
    const b = store.add(text(rec(2)));
    expect(store.add(text(rec(1)))).toBe(a);
    expect(store.add(text(rec(2)))).toBe(b);
    expect(store.find(text(rec(1)))).toBe(a);
    expect(store.find(text(rec(3)))).toBe(-1);
    expect(store.size).toBe(2);
    expect(store.get(a)).toEqual(rec(1));
    expect(store.get(b)).toEqual(rec(2));
  });

  it('matches exact text only: a prefix, a longer text or another key order is another record', () => {
    const store = new RecordStore();
    const t = text(rec(7));
    store.add(t);
    expect(store.find(t.slice(0, -1))).toBe(-1);
    expect(store.find(`${t} `)).toBe(-1);
    const reordered = JSON.stringify({ categories: rec(7).categories, score: rec(7).score });
    expect(store.find(reordered)).toBe(-1);
  });

  it('keeps every id and text through growth and re-hashing (20,000 records)', () => {
    const store = new RecordStore();
    const ids: number[] = [];
    for (let i = 0; i < 20_000; i++) ids.push(store.add(text(rec(i))));
    expect(new Set(ids).size).toBe(20_000);
    for (let i = 0; i < 20_000; i += 7) {
      expect(store.find(text(rec(i)))).toBe(ids[i]);
      expect(store.text(ids[i] as number)).toBe(text(rec(i)));
    }
    // Adding them all again adds nothing.
    for (let i = 0; i < 20_000; i++) expect(store.add(text(rec(i)))).toBe(ids[i]);
    expect(store.size).toBe(20_000);
    const utf8 = new TextEncoder();
    expect(store.textBytes).toBe(
      ids.reduce((n, _id, i) => n + utf8.encode(text(rec(i))).length, 0),
    );
  });

  it('round-trips any set of records, added as text or as bytes', () => {
    const record = fc.record({
      score: fc.constantFrom('safe', 'low', 'moderate', 'dangerous', 'critical', 'unknown'),
      categories: fc.uniqueArray(fc.constantFrom('vpn', 'tor', 'proxy', 'hosting'), {
        maxLength: 4,
      }),
      org: fc.string({ maxLength: 40 }),
    });
    fc.assert(
      fc.property(fc.array(fc.tuple(record, fc.boolean()), { maxLength: 300 }), (items) => {
        const store = new RecordStore();
        const seen = new Map<string, number>();
        for (const [r, asBytes] of items) {
          const t = JSON.stringify(r);
          // As bytes, the text sits between others, as a record does in a chunk's trailer.
          const bytes = new TextEncoder().encode(`[${t},1]`);
          const end = bytes.length - 3;
          const found = asBytes ? store.findBytes(bytes, 1, end) : store.find(t);
          expect(found).toBe(seen.get(t) ?? -1);
          const id = asBytes ? store.addBytes(bytes, 1, end) : store.add(t);
          if (seen.has(t)) expect(id).toBe(seen.get(t));
          seen.set(t, id);
        }
        expect(store.size).toBe(seen.size);
        for (const [t, id] of seen) {
          expect(store.text(id)).toBe(t);
          expect(store.get(id)).toEqual(JSON.parse(t));
        }
      }),
      { numRuns: 100 },
    );
  });

  it('caches parsed records (frozen, shared) and parses again after a cache slot is reused', () => {
    const store = new RecordStore();
    const first = store.add(text(rec(1)));
    for (let i = 1; i < RECORD_STORE_CACHE_SLOTS; i++) store.add(text(rec(i + 10_000)));
    const other = store.add(text(rec(99_999)));
    const one = store.get(first);
    expect(store.get(first)).toBe(one);
    expect(Object.isFrozen(one)).toBe(true);
    expect(Object.isFrozen(one.categories)).toBe(true);
    // `other` lands in `first`'s slot: `first` is parsed afresh, equal but a new object.
    expect(other % RECORD_STORE_CACHE_SLOTS).toBe(first % RECORD_STORE_CACHE_SLOTS);
    expect(store.get(other)).toEqual(rec(99_999));
    const again = store.get(first);
    expect(again).toEqual(one);
    expect(again).not.toBe(one);
  });
});
