/**
 * A chunk trailer's UTF-8 JSON, split so that its records dictionary is never one object graph.
 *
 * The trailer is `{"family":…,"from":…,"to":…,"records":[…]}`. Parsed whole, its tens of
 * thousands of records were objects (and then strings) that all lived until the decode was
 * done: megabytes that survived V8's scavenges. V8 sizes its young generation by how much
 * survives, so one table load grew it to the maximum for the life of the isolate, and every
 * later scavenge under load paused about 12 ms instead of 3 (`--trace-gc-nvp`). Here one pass
 * over the bytes finds the records array and the span of each element; the rest of the trailer
 * (the head) is parsed with an empty array in its place, and each record is read from its span
 * when the decoder gets to it: a record already held is matched by its bytes alone, a new one
 * is parsed and checked on its own, and either way nothing of it outlives the step.
 *
 * The pass only tracks nesting and strings. Syntax is left to `JSON.parse`: a head that parses
 * and elements that each parse make a trailer that parses, with the same meaning (a second
 * `records` key is refused; `JSON.parse` would keep the last one silently). A trailer whose
 * records array the pass does not find (a key spelled with escapes) is parsed whole.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
/** `"records"` as UTF-8. */
const RECORDS_KEY = new TextEncoder().encode('"records"');
const INITIAL_SPANS = 1024;

export interface TrailerSplit {
  /** The trailer's text with its records array emptied (or whole, if none was found). */
  head: string;
  /** How many record spans `spans` holds. */
  count: number;
  /** Record i is `bytes[spans[2i] .. spans[2i + 1])`, surrounding whitespace trimmed. */
  spans: Uint32Array;
}

const isSpace = (c: number) => c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d;

function isRecordsKey(bytes: Uint8Array, start: number, end: number): boolean {
  if (end - start !== RECORDS_KEY.length) return false;
  for (let i = 0; i < RECORDS_KEY.length; i++)
    if (bytes[start + i] !== RECORDS_KEY[i]) return false;
  return true;
}

/**
 * Splits the trailer `bytes[from..to)`. `decode` turns bytes into text (fatal on bad UTF-8, so
 * it throws); an error message comes back for a second records array.
 */
export function splitTrailer(
  bytes: Uint8Array,
  from: number,
  to: number,
  decode: (part: Uint8Array) => string,
): TrailerSplit | string {
  let spans = new Uint32Array(INITIAL_SPANS);
  let count = 0;
  const push = (start: number, end: number) => {
    let s = start;
    let e = end;
    while (s < e && isSpace(bytes[s] as number)) s++;
    while (e > s && isSpace(bytes[e - 1] as number)) e--;
    if (2 * count + 2 > spans.length) {
      const wider = new Uint32Array(spans.length * 2);
      wider.set(spans);
      spans = wider;
    }
    spans[2 * count] = s;
    spans[2 * count + 1] = e;
    count++;
  };

  let depth = 0;
  let keyStart = -1;
  let keyEnd = -1;
  let expectKey = false;
  let open = -1; // the records array's `[`
  let close = -1; // its `]`
  let element = -1; // where the current element starts, while inside the records array
  for (let i = from; i < to; i++) {
    const c = bytes[i] as number;
    if (c === QUOTE) {
      let j = i + 1;
      while (j < to && bytes[j] !== QUOTE) j += bytes[j] === BACKSLASH ? 2 : 1;
      if (depth === 1 && expectKey) {
        keyStart = i;
        keyEnd = j + 1;
        expectKey = false;
      }
      i = j;
    } else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
      depth++;
      if (depth === 1) expectKey = c === OPEN_BRACE;
      else if (depth === 2 && c === OPEN_BRACKET && isRecordsKey(bytes, keyStart, keyEnd)) {
        if (open >= 0) return 'trailer has more than one records array';
        open = i;
        element = i + 1;
      }
    } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) {
      if (depth === 2 && element >= 0) {
        push(element, i);
        if (count === 1 && spans[0] === spans[1]) count = 0; // `[]`: no element, not an empty one
        close = i;
        element = -1;
      }
      depth--;
    } else if (c === COMMA) {
      if (depth === 1) expectKey = true;
      else if (depth === 2 && element >= 0) {
        push(element, i);
        element = i + 1;
      }
    }
  }
  if (open < 0 || close < 0) return { head: decode(bytes.subarray(from, to)), count: 0, spans };
  const head = decode(bytes.subarray(from, open + 1)) + decode(bytes.subarray(close, to));
  return { head, count, spans };
}
