/**
 * The trailer split: the records array's elements come out as byte spans that parse to the
 * same values `JSON.parse` of the whole trailer gives, whatever the strings inside them hold
 * and however the text is spaced; the head parses to the trailer with an empty records array.
 * A trailer whose records array the pass cannot find comes back whole; a second records array
 * is refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { splitTrailer, type TrailerSplit } from '../../../src/table/trailer';

const utf8 = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false });
const decode = (part: Uint8Array) => decoder.decode(part);

/** Splits `text` placed after some unrelated bytes, as a trailer sits in a chunk. */
function split(text: string): { bytes: Uint8Array; result: TrailerSplit | string } {
  const prefix = utf8.encode('[not,"part":{of}the trailer');
  const body = utf8.encode(text);
  const bytes = new Uint8Array(prefix.length + body.length + 3);
  bytes.set(prefix);
  bytes.set(body, prefix.length);
  bytes.set(utf8.encode(']]"'), prefix.length + body.length);
  return {
    bytes,
    result: splitTrailer(bytes, prefix.length, prefix.length + body.length, decode),
  };
}

function records(bytes: Uint8Array, s: TrailerSplit): string[] {
  const out: string[] = [];
  for (let i = 0; i < s.count; i++)
    out.push(decode(bytes.subarray(s.spans[2 * i], s.spans[2 * i + 1])));
  return out;
}

function expectSplit(text: string): TrailerSplit & { texts: string[] } {
  const { bytes, result } = split(text);
  if (typeof result === 'string') throw new Error(result);
  return { ...result, texts: records(bytes, result) };
}

describe('splitTrailer', () => {
  it('gives each record its exact text and the head without them', () => {
    const recs = [
      { score: 'low', categories: ['vpn'], org: 'A, "B" [C] {D} \\ é 😀' },
      { score: 'critical', categories: [] },
      { score: 'safe', categories: ['a', 'b'], source: ']},{"x":[' },
    ];
    const trailer = { family: 4, from: '0', to: '4294967295', records: recs };
    const s = expectSplit(JSON.stringify(trailer));
    expect(s.texts).toEqual(recs.map((r) => JSON.stringify(r)));
    expect(JSON.parse(s.head)).toEqual({ ...trailer, records: [] });
  });

  it('trims the whitespace around records, keeps it inside them, and takes any key order', () => {
    const text =
      '{ "records" : [\n  {"score": "low", "categories": [ ] } ,\t{"score":"safe","categories":[]}\r\n ],\n "family": 6 }';
    const s = expectSplit(text);
    expect(s.texts).toEqual([
      '{"score": "low", "categories": [ ] }',
      '{"score":"safe","categories":[]}',
    ]);
    expect(JSON.parse(s.head)).toEqual({ records: [], family: 6 });
  });

  it('finds no record in an empty or blank array', () => {
    for (const text of ['{"records":[]}', '{"records":[ \n\t ]}']) {
      const s = expectSplit(text);
      expect(s.count).toBe(0);
      expect(JSON.parse(s.head)).toEqual({ records: [] });
    }
  });

  it('leaves an empty element to fail as JSON: a trailing or doubled comma', () => {
    expect(expectSplit('{"records":[1,]}').texts).toEqual(['1', '']);
    expect(expectSplit('{"records":[1,,2]}').texts).toEqual(['1', '', '2']);
  });

  it('does not take a records key nested deeper, or a records value that is not an array', () => {
    for (const text of [
      '{"x":{"records":[1,2]},"records":[3]}',
      '{"records":{"records":[1]}}',
      '{"records":"[1,2]"}',
      '{"a":"records","b":[1]}',
    ]) {
      const s = expectSplit(text);
      const whole = JSON.parse(text);
      if (s.count > 0) expect(s.texts.map((t) => JSON.parse(t))).toEqual(whole.records);
      else expect(JSON.parse(s.head)).toEqual(whole);
    }
  });

  it('gives back the whole text when the records key is spelled with an escape', () => {
    const text = '{"rec\\u006frds":[{"score":"low","categories":[]}]}';
    const s = expectSplit(text);
    expect(s.count).toBe(0);
    expect(s.head).toBe(text);
  });

  it('refuses a second records array', () => {
    const { result } = split('{"records":[1],"records":[2]}');
    expect(result).toBe('trailer has more than one records array');
  });

  it('throws on malformed UTF-8 in the head (the decoder is fatal)', () => {
    const bytes = new Uint8Array([
      ...utf8.encode('{"from":"'),
      0xff,
      ...utf8.encode('","records":[]}'),
    ]);
    expect(() => splitTrailer(bytes, 0, bytes.length, decode)).toThrow();
  });

  it('agrees with JSON.parse of the whole trailer, for any records and spacing', () => {
    fc.assert(
      fc.property(
        fc.array(fc.jsonValue({ maxDepth: 3 }), { maxLength: 30 }),
        fc.constantFrom(undefined, 1, '\t', ' \n '),
        (recs, indent) => {
          const trailer = { family: 4, from: '0', to: '9', records: recs };
          const text = JSON.stringify(trailer, null, indent);
          const s = expectSplit(text);
          expect(s.texts.map((t) => JSON.parse(t))).toEqual(JSON.parse(text).records);
          expect(JSON.parse(s.head)).toEqual({ ...JSON.parse(text), records: [] });
        },
      ),
      { numRuns: 300 },
    );
  });
});
