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
 * split into 32-bit halves, records as interned ids, and the result as columns
 * (`FamilyIntervals`) that the encoder copies straight into chunks; bigint appears only on the
 * way in. A million prefixes take about a second in Node. Networks must nest or be disjoint,
 * as CIDR prefixes always do; a partial overlap (possible only with hand-made ranges) is a
 * programming error and throws.
 */
import type { Family, Network } from '../ip/network';
import { mergeRecords, normalizeRecord, type ReputationRecord } from '../reputation/record';
import { formatKey, joinKey, keyHi, keyLo, maxKey } from './keys';

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

/**
 * One family's sorted, non-overlapping intervals as columns: interval i runs from key
 * `startHi[i]:startLo[i]` to `endHi[i]:endLo[i]` (unsigned 32-bit halves; IPv4 keys have
 * `hi` 0) and has record `records[attr[i]]`. A million intervals are a few typed arrays, not a
 * million objects with bigint keys, which is what lets a 1M-row feed build in seconds. It is
 * iterable as `Interval` objects for tests and tools that want them.
 */
export class FamilyIntervals implements Iterable<Interval> {
  constructor(
    readonly family: Family,
    readonly length: number,
    readonly startHi: Uint32Array,
    readonly startLo: Uint32Array,
    readonly endHi: Uint32Array,
    readonly endLo: Uint32Array,
    readonly attr: Uint32Array,
    /** Distinct normalized records; shared by both families of one build. */
    readonly records: readonly ReputationRecord[],
  ) {}

  /** Columns from interval objects (records interned on the way). */
  static fromIntervals(
    family: Family,
    intervals: readonly Interval[],
    interner: RecordInterner = new RecordInterner(),
  ): FamilyIntervals {
    const r = new Ranges(intervals.length);
    for (const iv of intervals)
      r.push(
        keyHi(iv.start),
        keyLo(iv.start),
        keyHi(iv.end),
        keyLo(iv.end),
        interner.id(iv.record),
      );
    return r.columns(family, interner.records);
  }

  start(i: number): bigint {
    return joinKey(this.startHi[i] ?? 0, this.startLo[i] ?? 0);
  }

  end(i: number): bigint {
    return joinKey(this.endHi[i] ?? 0, this.endLo[i] ?? 0);
  }

  record(i: number): ReputationRecord {
    const r = this.records[this.attr[i] ?? -1];
    if (!r) throw new RangeError(`no interval ${i}`);
    return r;
  }

  at(i: number): Interval | undefined {
    if (!Number.isInteger(i) || i < 0 || i >= this.length) return undefined;
    return { start: this.start(i), end: this.end(i), record: this.record(i) };
  }

  toArray(): Interval[] {
    return Array.from(this);
  }

  *[Symbol.iterator](): Iterator<Interval> {
    for (let i = 0; i < this.length; i++)
      yield { start: this.start(i), end: this.end(i), record: this.record(i) };
  }
}

/** Both families' intervals, each sorted by start and non-overlapping. */
export interface BuiltTable {
  records: readonly ReputationRecord[];
  v4: FamilyIntervals;
  v6: FamilyIntervals;
}

/** A built table from interval lists (tests and tools that write intervals by hand). */
export function tableFromIntervals(v4: readonly Interval[], v6: readonly Interval[]): BuiltTable {
  const interner = new RecordInterner();
  return {
    records: interner.records,
    v4: FamilyIntervals.fromIntervals(4, v4, interner),
    v6: FamilyIntervals.fromIntervals(6, v6, interner),
  };
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
  const interner = new RecordInterner();
  const v4 = new Ranges(v4Count);
  const v6 = new Ranges(list.length - v4Count);
  for (const { network: n, record } of list) {
    const id = interner.id(record);
    if (n.family === 4) v4.push(0, Number(n.start), 0, Number(n.end), id);
    else v6.push(keyHi(n.start), keyLo(n.start), keyHi(n.end), keyLo(n.end), id);
  }
  const flat4 = flatten(4, v4, merge, interner);
  const flat6 = flatten(6, v6, merge, interner);
  const records = interner.records;
  return { records, v4: flat4.columns(4, records), v6: flat6.columns(6, records) };
}

/**
 * Gives each distinct record (by normalized content) one id and one shared normalized object,
 * so equal records compare by id when intervals coalesce and the encoder's per-chunk
 * dictionary is a lookup by number. Lookups by object identity come first: feeds hand the
 * same record object to many rows.
 */
export class RecordInterner {
  readonly records: ReputationRecord[] = [];
  private readonly byObject = new Map<ReputationRecord, number>();
  private readonly byText = new Map<string, number>();

  id(record: ReputationRecord): number {
    const seen = this.byObject.get(record);
    if (seen !== undefined) return seen;
    const normal = normalizeRecord(record);
    const text = JSON.stringify(normal);
    let id = this.byText.get(text);
    if (id === undefined) {
      id = this.records.length;
      this.records.push(normal);
      this.byText.set(text, id);
      this.byObject.set(normal, id);
    }
    this.byObject.set(record, id);
    return id;
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

const LO_MAX = 0xffff_ffff;
const DIGIT_BITS = 16;
const DIGIT_MASK = 0xffff;

/**
 * Ranges as parallel typed arrays of unsigned 32-bit key halves (start hi/lo, end hi/lo) and
 * record ids, growable up to the capacity given.
 */
class Ranges {
  readonly sh: Uint32Array;
  readonly sl: Uint32Array;
  readonly eh: Uint32Array;
  readonly el: Uint32Array;
  readonly attr: Uint32Array;
  length = 0;

  constructor(capacity: number) {
    this.sh = new Uint32Array(capacity);
    this.sl = new Uint32Array(capacity);
    this.eh = new Uint32Array(capacity);
    this.el = new Uint32Array(capacity);
    this.attr = new Uint32Array(capacity);
  }

  push(sh: number, sl: number, eh: number, el: number, attr: number): void {
    const i = this.length++;
    this.sh[i] = sh;
    this.sl[i] = sl;
    this.eh[i] = eh;
    this.el[i] = el;
    this.attr[i] = attr;
  }

  describe(family: Family, i: number): string {
    const start = joinKey(this.sh[i] ?? 0, this.sl[i] ?? 0);
    const end = joinKey(this.eh[i] ?? 0, this.el[i] ?? 0);
    return `${formatKey(family, start)}..${formatKey(family, end)}`;
  }

  /** The first `length` ranges as a family's columns (copies, so the spare capacity is freed). */
  columns(family: Family, records: readonly ReputationRecord[]): FamilyIntervals {
    const n = this.length;
    return new FamilyIntervals(
      family,
      n,
      this.sh.slice(0, n),
      this.sl.slice(0, n),
      this.eh.slice(0, n),
      this.el.slice(0, n),
      this.attr.slice(0, n),
      records,
    );
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

/** Sorts, merges ranges with identical keys (`merge`, in input order), then sweeps. */
function flatten(family: Family, input: Ranges, merge: MergeFn, interner: RecordInterner): Ranges {
  const order = sortedOrder(input);
  const ranges = new Ranges(input.length);
  const { sh, sl, eh, el, attr } = input;
  const { records } = interner;
  for (const i of order) {
    const last = ranges.length - 1;
    if (
      last >= 0 &&
      ranges.sh[last] === sh[i] &&
      ranges.sl[last] === sl[i] &&
      ranges.eh[last] === eh[i] &&
      ranges.el[last] === el[i]
    ) {
      const a = records[ranges.attr[last] as number] as ReputationRecord;
      const b = records[attr[i] as number] as ReputationRecord;
      ranges.attr[last] = interner.id(merge(a, b));
    } else {
      ranges.push(
        sh[i] as number,
        sl[i] as number,
        eh[i] as number,
        el[i] as number,
        attr[i] as number,
      );
    }
  }
  return sweep(family, ranges);
}

/**
 * Walks ranges sorted by start (widest first on a tie) with a stack of the ranges that contain
 * the current position `ph:pl`; each range's record is emitted for the keys no nested range
 * claims. The sentinel past the last key has `hi = 2^32`, which plain numbers can hold.
 */
function sweep(family: Family, ranges: Ranges): Ranges {
  const { sh, sl, eh, el, attr } = ranges;
  // Each range starts at most one piece of its own and one of its parent's after it.
  const out = new Ranges(2 * ranges.length);
  const stack: number[] = [];
  let ph = 0;
  let pl = 0;

  /** Emits `ph:pl .. e0:e1`; the caller guarantees it is not empty. */
  const emit = (e0: number, e1: number, rec: number): void => {
    const prev = out.length - 1;
    if (prev >= 0 && out.attr[prev] === rec) {
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
        emit(t0, t1, attr[top] as number);
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
        const rec = attr[parent] as number;
        if (s1 === 0) emit(s0 - 1, LO_MAX, rec);
        else emit(s0, s1 - 1, rec);
      }
    }
    ph = s0;
    pl = s1;
    stack.push(i);
  }
  const past = maxKey(family) + 1n;
  // Not keyHi: the sentinel's upper half is 2^32, one past what 32 bits hold.
  closeBefore(Number(past >> 32n), keyLo(past));
  return out;
}
