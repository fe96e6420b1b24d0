/**
 * Flattens reputation entries (networks with records) into sorted, non-overlapping intervals,
 * the form the binary table stores and the Worker binary-searches.
 *
 * Feeds list overlapping prefixes: a /16 hosting range with a /24 VPN exit inside it. The most
 * specific prefix wins for the keys it covers and the wider one shows on both sides of it.
 * Entries for the same key range are merged (default: `mergeRecords`), in input order. IPv6
 * prefixes longer than /64 key as their /64 (see `src/ip/network.ts`), so a /128 and its /64
 * are the same range and merge rather than override. Neighbouring intervals that end up with
 * the same normalized record are coalesced, which keeps the table small.
 *
 * Runs at build time only (CLI, policy compile): one radix sort and one stack sweep over keys
 * split into 32-bit halves, with bigint only on the way in and out; a million prefixes take
 * about two seconds in Node. Networks must nest or be disjoint, as CIDR prefixes always do; a
 * partial overlap (possible only with hand-made ranges) is a programming error and throws.
 */
import type { Family, Network } from '../ip/network';
import { mergeRecords, normalizeRecord, type ReputationRecord } from '../reputation/record';
import { formatKey, joinKey, maxKey } from './keys';

export interface TableEntry {
  network: Network;
  record: ReputationRecord;
}

/** One run of keys with one record; `start` and `end` are inclusive keys. */
export interface Interval {
  start: bigint;
  end: bigint;
  record: ReputationRecord;
}

/** Both families' intervals, each sorted by `start` and non-overlapping. */
export interface BuiltTable {
  v4: Interval[];
  v6: Interval[];
}

export type MergeFn = (a: ReputationRecord, b: ReputationRecord) => ReputationRecord;

/** Flattens `entries`; `merge` combines entries for the same key range, in input order. */
export function buildTable(
  entries: Iterable<TableEntry>,
  merge: MergeFn = mergeRecords,
): BuiltTable {
  const list = Array.isArray(entries) ? (entries as TableEntry[]) : Array.from(entries);
  let v4Count = 0;
  for (const entry of list) {
    checkNetwork(entry.network);
    if (entry.network.family === 4) v4Count++;
  }
  const v4 = new Ranges(v4Count);
  const v6 = new Ranges(list.length - v4Count);
  for (const { network: n, record } of list) {
    if (n.family === 4) v4.push(0, Number(n.start), 0, Number(n.end), record);
    else v6.push(hiOf(n.start), loOf(n.start), hiOf(n.end), loOf(n.end), record);
  }
  const interner = new RecordInterner();
  return {
    v4: flatten(4, v4, merge, interner),
    v6: flatten(6, v6, merge, interner),
  };
}

/**
 * Shares one normalized object per distinct record, so equal records compare by identity (for
 * coalescing here, for the attribute dictionary in the encoder).
 */
export class RecordInterner {
  private readonly byObject = new Map<ReputationRecord, ReputationRecord>();
  private readonly byText = new Map<string, ReputationRecord>();

  intern(record: ReputationRecord): ReputationRecord {
    const seen = this.byObject.get(record);
    if (seen) return seen;
    const normal = normalizeRecord(record);
    const text = JSON.stringify(normal);
    let shared = this.byText.get(text);
    if (!shared) {
      shared = normal;
      this.byText.set(text, shared);
    }
    this.byObject.set(record, shared);
    this.byObject.set(shared, shared);
    return shared;
  }
}

function checkNetwork(n: Network): void {
  if (n.family !== 4 && n.family !== 6) throw new RangeError(`unknown address family ${n.family}`);
  if (typeof n.start !== 'bigint' || typeof n.end !== 'bigint')
    throw new RangeError('network start and end must be bigint keys');
  if (n.start < 0n || n.end > maxKey(n.family) || n.start > n.end)
    throw new RangeError(
      `invalid IPv${n.family} key range ${formatKey(n.family, n.start)}..${formatKey(n.family, n.end)}`,
    );
}

const hiOf = (key: bigint): number => Number(key >> 32n);
const loOf = (key: bigint): number => Number(BigInt.asUintN(32, key));
const LO_MAX = 0xffff_ffff;
const DIGIT_BITS = 16;
const DIGIT_MASK = 0xffff;

/**
 * Ranges as parallel typed arrays of unsigned 32-bit key halves (start hi/lo, end hi/lo) and
 * their records: a million of them sort and sweep in well under a second, where objects with
 * bigint keys took several and kept the collector busy.
 */
class Ranges {
  readonly sh: Uint32Array;
  readonly sl: Uint32Array;
  readonly eh: Uint32Array;
  readonly el: Uint32Array;
  readonly record: ReputationRecord[] = [];
  length = 0;

  constructor(capacity: number) {
    this.sh = new Uint32Array(capacity);
    this.sl = new Uint32Array(capacity);
    this.eh = new Uint32Array(capacity);
    this.el = new Uint32Array(capacity);
  }

  push(sh: number, sl: number, eh: number, el: number, record: ReputationRecord): void {
    const i = this.length++;
    this.sh[i] = sh;
    this.sl[i] = sl;
    this.eh[i] = eh;
    this.el[i] = el;
    this.record.push(record);
  }

  describe(family: Family, i: number): string {
    const start = joinKey(this.sh[i] ?? 0, this.sl[i] ?? 0);
    const end = joinKey(this.eh[i] ?? 0, this.el[i] ?? 0);
    return `${formatKey(family, start)}..${formatKey(family, end)}`;
  }
}

/**
 * Indices of `r` sorted by start, then widest first, then input order (the order equal ranges
 * merge in): a stable LSD radix sort on 16-bit digits, least significant key first. Passes
 * where every range has the same digit (all of IPv4's `hi` halves) are skipped.
 */
function sortedOrder(r: Ranges): Uint32Array {
  const n = r.length;
  let order = new Uint32Array(n);
  for (let i = 0; i < n; i++) order[i] = i;
  let spare = new Uint32Array(n);
  const counts = new Uint32Array(DIGIT_MASK + 2);
  const passes: Array<[Uint32Array, number, boolean]> = [
    [r.el, 0, true],
    [r.el, DIGIT_BITS, true],
    [r.eh, 0, true],
    [r.eh, DIGIT_BITS, true],
    [r.sl, 0, false],
    [r.sl, DIGIT_BITS, false],
    [r.sh, 0, false],
    [r.sh, DIGIT_BITS, false],
  ];
  for (const [keys, shift, descending] of passes) {
    counts.fill(0);
    const flip = descending ? DIGIT_MASK : 0;
    for (let i = 0; i < n; i++) {
      const d = (((keys[i] as number) >>> shift) & DIGIT_MASK) ^ flip;
      counts[d + 1] = (counts[d + 1] as number) + 1;
    }
    if (counts.some((c) => c === n)) continue;
    for (let d = 1; d <= DIGIT_MASK + 1; d++)
      counts[d] = (counts[d] as number) + (counts[d - 1] as number);
    for (let i = 0; i < n; i++) {
      const idx = order[i] as number;
      const d = (((keys[idx] as number) >>> shift) & DIGIT_MASK) ^ flip;
      const at = counts[d] as number;
      counts[d] = at + 1;
      spare[at] = idx;
    }
    [order, spare] = [spare, order];
  }
  return order;
}

function flatten(
  family: Family,
  input: Ranges,
  merge: MergeFn,
  interner: RecordInterner,
): Interval[] {
  const order = sortedOrder(input);
  const ranges = new Ranges(input.length);
  const { sh, sl, eh, el } = input;
  for (const i of order) {
    const rec = input.record[i] as ReputationRecord;
    const last = ranges.length - 1;
    if (
      last >= 0 &&
      ranges.sh[last] === sh[i] &&
      ranges.sl[last] === sl[i] &&
      ranges.eh[last] === eh[i] &&
      ranges.el[last] === el[i]
    ) {
      ranges.record[last] = merge(ranges.record[last] as ReputationRecord, rec);
    } else {
      ranges.push(sh[i] as number, sl[i] as number, eh[i] as number, el[i] as number, rec);
    }
  }
  for (let i = 0; i < ranges.length; i++)
    ranges.record[i] = interner.intern(ranges.record[i] as ReputationRecord);
  const out = sweep(family, ranges);
  const intervals: Interval[] = new Array(out.length);
  for (let i = 0; i < out.length; i++) {
    const lo = out.sl[i] as number;
    const endLo = out.el[i] as number;
    intervals[i] = {
      start: family === 4 ? BigInt(lo) : joinKey(out.sh[i] as number, lo),
      end: family === 4 ? BigInt(endLo) : joinKey(out.eh[i] as number, endLo),
      record: out.record[i] as ReputationRecord,
    };
  }
  return intervals;
}

/**
 * Walks ranges sorted by start (widest first on a tie) with a stack of the ranges that contain
 * the current position `ph:pl`; each range's record is emitted for the keys no nested range
 * claims. The sentinel past the last key has `hi = 2^32`, which plain numbers can hold.
 */
function sweep(family: Family, ranges: Ranges): Ranges {
  const { sh, sl, eh, el, record } = ranges;
  // Each range starts at most one piece of its own and one of its parent's after it.
  const out = new Ranges(2 * ranges.length);
  const stack: number[] = [];
  let ph = 0;
  let pl = 0;

  /** Emits `ph:pl .. e0:e1`; the caller guarantees it is not empty. */
  const emit = (e0: number, e1: number, rec: ReputationRecord): void => {
    const prev = out.length - 1;
    if (prev >= 0 && out.record[prev] === rec) {
      const p0 = out.eh[prev] as number;
      const p1 = out.el[prev] as number;
      if (p1 === LO_MAX ? p0 + 1 === ph && pl === 0 : p0 === ph && p1 + 1 === pl) {
        out.eh[prev] = e0;
        out.el[prev] = e1;
        return;
      }
    }
    out.push(ph, pl, e0, e1, rec);
  };

  /** Pops every range that ends before `lh:ll`, emitting what is left of each. */
  const closeBefore = (lh: number, ll: number): void => {
    while (stack.length > 0) {
      const top = stack[stack.length - 1] as number;
      const t0 = eh[top] as number;
      const t1 = el[top] as number;
      if (!(t0 < lh || (t0 === lh && t1 < ll))) return;
      if (ph < t0 || (ph === t0 && pl <= t1)) {
        emit(t0, t1, record[top] as ReputationRecord);
        if (t1 === LO_MAX) {
          ph = t0 + 1;
          pl = 0;
        } else {
          ph = t0;
          pl = t1 + 1;
        }
      }
      stack.pop();
    }
  };

  for (let i = 0; i < ranges.length; i++) {
    const s0 = sh[i] as number;
    const s1 = sl[i] as number;
    closeBefore(s0, s1);
    if (stack.length > 0) {
      const parent = stack[stack.length - 1] as number;
      const e0 = eh[i] as number;
      const p0 = eh[parent] as number;
      if (e0 > p0 || (e0 === p0 && (el[i] as number) > (el[parent] as number)))
        throw new RangeError(
          `IPv${family} ranges ${ranges.describe(family, parent)} and ` +
            `${ranges.describe(family, i)} overlap without nesting`,
        );
      if (ph < s0 || (ph === s0 && pl < s1)) {
        const rec = record[parent] as ReputationRecord;
        if (s1 === 0) emit(s0 - 1, LO_MAX, rec);
        else emit(s0, s1 - 1, rec);
      }
    }
    ph = s0;
    pl = s1;
    stack.push(i);
  }
  const past = maxKey(family) + 1n;
  closeBefore(hiOf(past), loOf(past));
  return out;
}
