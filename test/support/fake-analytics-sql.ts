/**
 * A fake of the Workers Analytics Engine SQL API, free of Node APIs so both test projects use
 * the same one: the Node fake Cloudflare server (test/support/fake-cloudflare.ts) routes its SQL
 * endpoint here, and workerd tests call `fakeAnalyticsFetch` as the report store's fetch.
 *
 * It answers two kinds of statement over stored data points:
 *
 * - the decision-log statement of `ipgate enrich --from-log`, checked clause by clause as
 *   before (every filter it must carry, or a violation);
 * - any other SELECT within the subset of Analytics Engine SQL the report uses, parsed and
 *   evaluated: one table (no JOIN, UNION or subquery), WHERE, GROUP BY (aliases allowed),
 *   ORDER BY, LIMIT, FORMAT JSON; operators OR AND NOT = != <> < <= > >= IN, + - * / %;
 *   functions sum, count (and count(DISTINCT x)), max, min, if, intDiv, toUnixTimestamp,
 *   toDateTime, now, position(needle IN haystack). Anything else (CASE, COALESCE, an unknown
 *   column, another table) is a query error, as the real API would answer.
 *
 * Answers use the documented FORMAT JSON shape, `{meta, data, rows, rows_before_limit_at_least}`,
 * with sums and counts as strings the way ClickHouse quotes 64-bit integers.
 */
import { AE_BLOBS } from '../../src/sink/layout';

/** One stored data point: blobs by position as the sink writes them (`AE_BLOBS`). */
export interface FakeDataPoint {
  /** Epoch ms (the API keeps whole seconds). */
  timestamp: number;
  blobs: string[];
  /** Doubles by position (`AE_DOUBLES`); missing ones read as 0. */
  doubles?: number[];
  /** index1; when absent, the `ip` blob (what the sink writes as the index). */
  indexes?: string[];
  /** Rows this one stands for (Analytics Engine sampling); default 1. */
  sampleInterval?: number;
}

/** A data point from named fields, unnamed blobs empty. */
export function fakeDecisionPoint(
  fields: Partial<Record<(typeof AE_BLOBS)[number], string>>,
  timestamp = Date.now(),
  sampleInterval = 1,
): FakeDataPoint {
  return { timestamp, blobs: AE_BLOBS.map((k) => fields[k] ?? ''), sampleInterval };
}

/** A data point exactly as a Worker wrote it (`writeDataPoint`), stored at `timestamp`. */
export function fakePointOf(
  point: { indexes?: unknown[]; blobs?: unknown[]; doubles?: number[] },
  timestamp: number,
  sampleInterval = 1,
): FakeDataPoint {
  return {
    timestamp,
    blobs: (point.blobs ?? []).map((b) => (b == null ? '' : String(b))),
    doubles: point.doubles ?? [],
    indexes: (point.indexes ?? []).map((i) => (i == null ? '' : String(i))),
    sampleInterval,
  };
}

export type SqlAnswer = { ok: true; body: unknown } | { ok: false; error: string };

// ── The decision-log statement (ipgate enrich --from-log), checked as it always was ─────────

const blob = (field: (typeof AE_BLOBS)[number]) => `blob${AE_BLOBS.indexOf(field) + 1}`;
const UNIT_MS = { SECOND: 1_000, MINUTE: 60_000, HOUR: 3_600_000, DAY: 86_400_000 } as const;

function isDecisionLogStatement(sql: string): boolean {
  return new RegExp(
    `^\\s*SELECT\\s+${blob('ip')}\\s+AS\\s+ip\\s*,\\s*SUM\\(_sample_interval\\)\\s+AS\\s+requests\\s+FROM\\b`,
    'i',
  ).test(sql);
}

function answerDecisionLog(sql: string, events: FakeDataPoint[]): SqlAnswer {
  const window =
    /\btimestamp\s*>\s*NOW\(\)\s*-\s*INTERVAL\s*'(\d+)'\s*(SECOND|MINUTE|HOUR|DAY)\b/i.exec(sql);
  const route = new RegExp(`\\b${blob('routeClass')}\\s*(?:!=|<>)\\s*'site'`).test(sql);
  const lookups = new RegExp(`\\b${blob('lookup')}\\s+IN\\s*\\(([^)]*)\\)`, 'i').exec(sql)?.[1];
  const missing = [
    !window && 'a time window (timestamp > NOW() - INTERVAL …)',
    !route && `the route class filter (${blob('routeClass')} != 'site')`,
    !lookups && `the lookup filter (${blob('lookup')} IN (…))`,
    !/\bGROUP\s+BY\s+ip\b/i.test(sql) && 'GROUP BY ip',
    !/\bFORMAT\s+JSON\s*$/i.test(sql) && 'FORMAT JSON',
  ].filter(Boolean);
  if (missing.length || !window || !lookups)
    return { ok: false, error: `statement lacks ${missing.join(', ')}` };
  const since =
    Date.now() - Number(window[1]) * UNIT_MS[(window[2] ?? 'DAY').toUpperCase() as 'DAY'];
  const statuses = new Set([...lookups.matchAll(/'([^']*)'/g)].map((m) => m[1]));
  const at = (p: FakeDataPoint, field: (typeof AE_BLOBS)[number]) =>
    p.blobs[AE_BLOBS.indexOf(field)] ?? '';
  const sums = new Map<string, number>();
  for (const p of events) {
    if (p.timestamp <= since || at(p, 'routeClass') === 'site') continue;
    if (!statuses.has(at(p, 'lookup')) || at(p, 'ip') === '') continue;
    sums.set(at(p, 'ip'), (sums.get(at(p, 'ip')) ?? 0) + (p.sampleInterval ?? 1));
  }
  const limit = Number(/\bLIMIT\s+(\d+)/i.exec(sql)?.[1] ?? Number.POSITIVE_INFINITY);
  const rows = [...sums].sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const data = rows.slice(0, limit).map(([k, n]) => ({ ip: k, requests: String(n) }));
  return {
    ok: true,
    body: {
      meta: [
        { name: 'ip', type: 'String' },
        { name: 'requests', type: 'UInt64' },
      ],
      data,
      rows: data.length,
      rows_before_limit_at_least: rows.length,
    },
  };
}

// ── A small evaluator for the subset of Analytics Engine SQL the report uses ────────────────

class SqlError extends Error {}

type Token =
  | { t: 'num'; v: number }
  | { t: 'str'; v: string }
  | { t: 'id'; v: string }
  | { t: 'op'; v: string };

function tokenize(sql: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < sql.length) {
    const c = sql[i] as string;
    if (/\s/.test(c)) {
      i++;
    } else if (c === '-' && sql[i + 1] === '-') {
      while (i < sql.length && sql[i] !== '\n') i++;
    } else if (/[0-9]/.test(c)) {
      const m = /^\d+(\.\d+)?/.exec(sql.slice(i)) as RegExpExecArray;
      out.push({ t: 'num', v: Number(m[0]) });
      i += m[0].length;
    } else if (/[A-Za-z_]/.test(c)) {
      const m = /^[A-Za-z_][A-Za-z0-9_]*/.exec(sql.slice(i)) as RegExpExecArray;
      out.push({ t: 'id', v: m[0] });
      i += m[0].length;
    } else if (c === "'") {
      let v = '';
      i++;
      for (;;) {
        if (i >= sql.length) throw new SqlError('unterminated string literal');
        const d = sql[i] as string;
        if (d === '\\') {
          v += sql[i + 1] ?? '';
          i += 2;
        } else if (d === "'" && sql[i + 1] === "'") {
          v += "'";
          i += 2;
        } else if (d === "'") {
          i++;
          break;
        } else {
          v += d;
          i++;
        }
      }
      out.push({ t: 'str', v });
    } else {
      const two = sql.slice(i, i + 2);
      if (['!=', '<>', '<=', '>='].includes(two)) {
        out.push({ t: 'op', v: two });
        i += 2;
      } else if ('=<>+-*/%(),'.includes(c)) {
        out.push({ t: 'op', v: c });
        i++;
      } else throw new SqlError(`unexpected character ${c}`);
    }
  }
  return out;
}

type Node =
  | { k: 'num'; v: number }
  | { k: 'str'; v: string }
  | { k: 'col'; name: string }
  | { k: 'call'; fn: string; args: Node[]; distinct: boolean }
  | { k: 'bin'; op: string; l: Node; r: Node }
  | { k: 'not'; e: Node }
  | { k: 'neg'; e: Node }
  | { k: 'in'; e: Node; list: Node[]; not: boolean }
  | { k: 'interval'; seconds: number };

interface Select {
  columns: { expr: Node; alias: string }[];
  from: string;
  where: Node | null;
  groupBy: Node[];
  orderBy: { expr: Node; desc: boolean }[];
  limit: number | null;
  format: string;
}

const AGGREGATES = new Set(['sum', 'count', 'max', 'min']);
const FUNCTIONS = new Set([
  ...AGGREGATES,
  'if',
  'intdiv',
  'tounixtimestamp',
  'todatetime',
  'now',
  'position',
]);
const KEYWORDS = new Set([
  'select',
  'from',
  'where',
  'group',
  'by',
  'order',
  'limit',
  'format',
  'and',
  'or',
  'not',
  'in',
  'as',
  'asc',
  'desc',
  'distinct',
  'interval',
  'join',
  'union',
  'having',
]);
const INTERVAL_SECONDS: Record<string, number> = {
  SECOND: 1,
  MINUTE: 60,
  HOUR: 3_600,
  DAY: 86_400,
};

class Parser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }
  private isKw(word: string, at = 0): boolean {
    const t = this.tokens[this.i + at];
    return t?.t === 'id' && t.v.toLowerCase() === word;
  }
  private isOp(op: string): boolean {
    const t = this.peek();
    return t?.t === 'op' && t.v === op;
  }
  private expectKw(word: string): void {
    if (!this.isKw(word)) throw new SqlError(`expected ${word.toUpperCase()}`);
    this.i++;
  }
  private expectOp(op: string): void {
    if (!this.isOp(op)) throw new SqlError(`expected "${op}"`);
    this.i++;
  }

  statement(): Select {
    for (const t of this.tokens)
      if (t.t === 'id' && ['join', 'union'].includes(t.v.toLowerCase()))
        throw new SqlError(`${t.v.toUpperCase()} is not supported`);
      else if (t.t === 'id' && t.v.toLowerCase() === 'case')
        throw new SqlError('CASE is not in Analytics Engine SQL: use if()');
    this.expectKw('select');
    const columns: Select['columns'] = [];
    do {
      const expr = this.expr();
      let alias = '';
      if (this.isKw('as')) {
        this.i++;
        alias = this.ident();
      } else alias = expr.k === 'col' ? expr.name : `column${columns.length + 1}`;
      columns.push({ expr, alias });
    } while (this.isOp(',') && ++this.i);
    this.expectKw('from');
    if (this.isOp('(')) throw new SqlError('subqueries are not supported by this fake');
    const from = this.ident();
    let where: Node | null = null;
    if (this.isKw('where')) {
      this.i++;
      where = this.expr();
    }
    const groupBy: Node[] = [];
    if (this.isKw('group')) {
      this.i++;
      this.expectKw('by');
      do groupBy.push(this.expr());
      while (this.isOp(',') && ++this.i);
    }
    if (this.isKw('having')) throw new SqlError('HAVING is not used by ipgate');
    const orderBy: Select['orderBy'] = [];
    if (this.isKw('order')) {
      this.i++;
      this.expectKw('by');
      do {
        const expr = this.expr();
        let desc = false;
        if (this.isKw('desc')) {
          desc = true;
          this.i++;
        } else if (this.isKw('asc')) this.i++;
        orderBy.push({ expr, desc });
      } while (this.isOp(',') && ++this.i);
    }
    let limit: number | null = null;
    if (this.isKw('limit')) {
      this.i++;
      const t = this.peek();
      if (t?.t !== 'num') throw new SqlError('LIMIT needs a number');
      limit = t.v;
      this.i++;
    }
    let format = 'JSON';
    if (this.isKw('format')) {
      this.i++;
      format = this.ident();
    }
    if (this.peek()) throw new SqlError(`unexpected ${JSON.stringify(this.peek())} at the end`);
    return { columns, from, where, groupBy, orderBy, limit, format };
  }

  private ident(): string {
    const t = this.peek();
    if (t?.t !== 'id' || KEYWORDS.has(t.v.toLowerCase()))
      throw new SqlError(`expected a name, got ${JSON.stringify(t)}`);
    this.i++;
    return t.v;
  }

  expr(): Node {
    let l = this.and();
    while (this.isKw('or')) {
      this.i++;
      l = { k: 'bin', op: 'or', l, r: this.and() };
    }
    return l;
  }
  private and(): Node {
    let l = this.not();
    while (this.isKw('and')) {
      this.i++;
      l = { k: 'bin', op: 'and', l, r: this.not() };
    }
    return l;
  }
  private not(): Node {
    if (this.isKw('not')) {
      this.i++;
      return { k: 'not', e: this.not() };
    }
    return this.comparison();
  }
  private comparison(): Node {
    const l = this.additive();
    const t = this.peek();
    if (t?.t === 'op' && ['=', '!=', '<>', '<', '<=', '>', '>='].includes(t.v)) {
      this.i++;
      return { k: 'bin', op: t.v === '<>' ? '!=' : t.v, l, r: this.additive() };
    }
    const negated = this.isKw('not') && this.isKw('in', 1);
    if (negated || this.isKw('in')) {
      this.i += negated ? 2 : 1;
      this.expectOp('(');
      const list: Node[] = [];
      do list.push(this.additive());
      while (this.isOp(',') && ++this.i);
      this.expectOp(')');
      return { k: 'in', e: l, list, not: negated };
    }
    return l;
  }
  private additive(): Node {
    let l = this.multiplicative();
    while (this.isOp('+') || this.isOp('-')) {
      const op = (this.peek() as Token).v as string;
      this.i++;
      l = { k: 'bin', op, l, r: this.multiplicative() };
    }
    return l;
  }
  private multiplicative(): Node {
    let l = this.unary();
    while (this.isOp('*') || this.isOp('/') || this.isOp('%')) {
      const op = (this.peek() as Token).v as string;
      this.i++;
      l = { k: 'bin', op, l, r: this.unary() };
    }
    return l;
  }
  private unary(): Node {
    if (this.isOp('-')) {
      this.i++;
      return { k: 'neg', e: this.unary() };
    }
    return this.primary();
  }
  private primary(): Node {
    const t = this.peek();
    if (!t) throw new SqlError('unexpected end of statement');
    if (t.t === 'num') {
      this.i++;
      return { k: 'num', v: t.v };
    }
    if (t.t === 'str') {
      this.i++;
      return { k: 'str', v: t.v };
    }
    if (t.t === 'op' && t.v === '(') {
      this.i++;
      const e = this.expr();
      this.expectOp(')');
      return e;
    }
    if (t.t === 'id' && t.v.toLowerCase() === 'interval') {
      this.i++;
      const n = this.peek();
      if (n?.t !== 'str' || !/^\d+$/.test(n.v)) throw new SqlError("INTERVAL needs 'n'");
      this.i++;
      const unit = this.ident().toUpperCase();
      const s = INTERVAL_SECONDS[unit];
      if (s === undefined) throw new SqlError(`unknown interval unit ${unit}`);
      return { k: 'interval', seconds: Number(n.v) * s };
    }
    if (t.t === 'id') {
      const name = t.v;
      if (KEYWORDS.has(name.toLowerCase())) throw new SqlError(`unexpected ${name}`);
      this.i++;
      if (!this.isOp('(')) return { k: 'col', name };
      this.i++;
      const fn = name.toLowerCase();
      if (!FUNCTIONS.has(fn)) throw new SqlError(`unknown function ${name}`);
      if (fn === 'position') {
        const needle = this.additive();
        this.expectKw('in');
        const haystack = this.additive();
        this.expectOp(')');
        return { k: 'call', fn, args: [needle, haystack], distinct: false };
      }
      let distinct = false;
      if (this.isKw('distinct')) {
        distinct = true;
        this.i++;
      }
      const args: Node[] = [];
      if (!this.isOp(')')) {
        do args.push(this.expr());
        while (this.isOp(',') && ++this.i);
      }
      this.expectOp(')');
      return { k: 'call', fn, args, distinct };
    }
    throw new SqlError(`unexpected ${JSON.stringify(t)}`);
  }
}

/** A DateTime value: whole seconds since the epoch (UTC). */
class Dt {
  constructor(readonly s: number) {}
}
type Value = string | number | Dt;

interface Row {
  p: FakeDataPoint;
}

function column(name: string, row: Row, dataset: string): Value {
  const p = row.p;
  const m = /^(blob|double)(\d+)$/.exec(name);
  if (m) {
    const i = Number(m[2]) - 1;
    if (m[1] === 'blob') {
      if (i >= 20) throw new SqlError(`unknown column ${name}`);
      return p.blobs[i] ?? '';
    }
    if (i >= 20) throw new SqlError(`unknown column ${name}`);
    return p.doubles?.[i] ?? 0;
  }
  if (name === 'index1') return p.indexes?.[0] ?? p.blobs[AE_BLOBS.indexOf('ip')] ?? '';
  if (name === 'timestamp') return new Dt(Math.floor(p.timestamp / 1000));
  if (name === '_sample_interval') return p.sampleInterval ?? 1;
  if (name === 'dataset') return dataset;
  throw new SqlError(`unknown column ${name}`);
}

const isAggregate = (n: Node): boolean =>
  n.k === 'call'
    ? AGGREGATES.has(n.fn) || n.args.some(isAggregate)
    : n.k === 'bin'
      ? isAggregate(n.l) || isAggregate(n.r)
      : n.k === 'not' || n.k === 'neg'
        ? isAggregate(n.e)
        : n.k === 'in'
          ? isAggregate(n.e)
          : false;

const numeric = (v: Value): number => (v instanceof Dt ? v.s : typeof v === 'number' ? v : NaN);

function compare(a: Value, b: Value): number {
  if (typeof a === 'string' || typeof b === 'string') {
    if (typeof a !== 'string' || typeof b !== 'string')
      throw new SqlError('cannot compare a string with a number');
    return a < b ? -1 : a > b ? 1 : 0;
  }
  return numeric(a) - numeric(b);
}

const truthy = (v: Value): boolean => (typeof v === 'string' ? v !== '' : numeric(v) !== 0);

class Evaluator {
  constructor(
    private readonly dataset: string,
    private readonly now: number,
    private readonly aliases: Map<string, Node>,
  ) {}

  /** Value of `n` for one row (no aggregates). */
  row(n: Node, row: Row): Value {
    return this.evaluate(n, [row], false);
  }

  /** Value of `n` for a group of rows (aggregates over them, other columns from the first). */
  group(n: Node, rows: Row[]): Value {
    return this.evaluate(n, rows, true);
  }

  private evaluate(n: Node, rows: Row[], grouped: boolean): Value {
    const first = rows[0];
    switch (n.k) {
      case 'num':
        return n.v;
      case 'str':
        return n.v;
      case 'interval':
        return n.seconds;
      case 'col': {
        const alias = this.aliases.get(n.name);
        if (alias && !(alias.k === 'col' && alias.name === n.name))
          return this.evaluate(alias, rows, grouped);
        if (!first) throw new SqlError(`column ${n.name} outside any row`);
        return column(n.name, first, this.dataset);
      }
      case 'not':
        return truthy(this.evaluate(n.e, rows, grouped)) ? 0 : 1;
      case 'neg':
        return -numeric(this.evaluate(n.e, rows, grouped));
      case 'in': {
        const v = this.evaluate(n.e, rows, grouped);
        const hit = n.list.some((x) => compare(v, this.evaluate(x, rows, grouped)) === 0);
        return hit !== n.not ? 1 : 0;
      }
      case 'bin': {
        if (n.op === 'and')
          return truthy(this.evaluate(n.l, rows, grouped)) &&
            truthy(this.evaluate(n.r, rows, grouped))
            ? 1
            : 0;
        if (n.op === 'or')
          return truthy(this.evaluate(n.l, rows, grouped)) ||
            truthy(this.evaluate(n.r, rows, grouped))
            ? 1
            : 0;
        const l = this.evaluate(n.l, rows, grouped);
        const r = this.evaluate(n.r, rows, grouped);
        switch (n.op) {
          case '=':
            return compare(l, r) === 0 ? 1 : 0;
          case '!=':
            return compare(l, r) !== 0 ? 1 : 0;
          case '<':
            return compare(l, r) < 0 ? 1 : 0;
          case '<=':
            return compare(l, r) <= 0 ? 1 : 0;
          case '>':
            return compare(l, r) > 0 ? 1 : 0;
          case '>=':
            return compare(l, r) >= 0 ? 1 : 0;
        }
        if (typeof l === 'string' || typeof r === 'string')
          throw new SqlError(`arithmetic on a string (${n.op})`);
        const a = numeric(l);
        const b = numeric(r);
        const dt = l instanceof Dt && !(r instanceof Dt);
        switch (n.op) {
          case '+':
            return dt ? new Dt(a + b) : a + b;
          case '-':
            return dt ? new Dt(a - b) : a - b;
          case '*':
            return a * b;
          case '/':
            return a / b;
          case '%':
            return a % b;
        }
        throw new SqlError(`unknown operator ${n.op}`);
      }
      case 'call':
        return this.call(n, rows, grouped);
    }
  }

  private call(n: Extract<Node, { k: 'call' }>, rows: Row[], grouped: boolean): Value {
    const arg = (i: number, over: Row[] = rows) => {
      const a = n.args[i];
      if (!a) throw new SqlError(`${n.fn} needs more arguments`);
      return this.evaluate(a, over, grouped);
    };
    if (AGGREGATES.has(n.fn)) {
      if (!grouped) throw new SqlError(`aggregate ${n.fn} where no aggregate is allowed`);
      if (n.args.some(isAggregate)) throw new SqlError('nested aggregates');
      if (n.fn === 'count' && n.args.length === 0) return rows.length;
      if (n.args.length !== 1) throw new SqlError(`${n.fn} takes one argument`);
      const values = rows.map((r) => this.evaluate(n.args[0] as Node, [r], false));
      if (n.fn === 'count')
        return n.distinct
          ? new Set(values.map((v) => (v instanceof Dt ? `dt:${v.s}` : JSON.stringify(v)))).size
          : values.length;
      if (n.distinct) throw new SqlError(`DISTINCT in ${n.fn} is not used by ipgate`);
      if (n.fn === 'sum') return values.reduce<number>((s, v) => s + numeric(v), 0);
      if (values.length === 0) return 0;
      return values.reduce((m, v) =>
        n.fn === 'max' ? (compare(v, m) > 0 ? v : m) : compare(v, m) < 0 ? v : m,
      );
    }
    switch (n.fn) {
      case 'if':
        return truthy(arg(0)) ? arg(1) : arg(2);
      case 'intdiv': {
        const b = numeric(arg(1));
        if (b === 0) throw new SqlError('division by zero');
        return Math.floor(numeric(arg(0)) / b);
      }
      case 'tounixtimestamp': {
        const v = arg(0);
        if (!(v instanceof Dt)) throw new SqlError('toUnixTimestamp needs a DateTime');
        return v.s;
      }
      case 'todatetime': {
        const v = arg(0);
        if (typeof v !== 'number') throw new SqlError('toDateTime: only unix seconds here');
        return new Dt(Math.floor(v));
      }
      case 'now':
        return new Dt(Math.floor(this.now / 1000));
      case 'position': {
        const needle = arg(0);
        const haystack = arg(1);
        if (typeof needle !== 'string' || typeof haystack !== 'string')
          throw new SqlError('position needs strings');
        return haystack.indexOf(needle) + 1;
      }
    }
    throw new SqlError(`unknown function ${n.fn}`);
  }
}

function dtText(v: Dt): string {
  return new Date(v.s * 1000).toISOString().slice(0, 19).replace('T', ' ');
}

function evaluateSelect(
  sql: string,
  dataset: string,
  events: FakeDataPoint[],
  now: number,
): SqlAnswer {
  const s = new Parser(tokenize(sql)).statement();
  if (s.from !== dataset) throw new SqlError(`unknown table ${s.from}`);
  if (s.format.toUpperCase() !== 'JSON')
    throw new SqlError(`FORMAT ${s.format} is not what ipgate reads`);
  const aliases = new Map(s.columns.map((c) => [c.alias, c.expr]));
  const ev = new Evaluator(dataset, now, aliases);
  const rows: Row[] = events.map((p) => ({ p }));
  const kept = s.where ? rows.filter((r) => truthy(ev.row(s.where as Node, r))) : rows;
  const aggregate = s.groupBy.length > 0 || s.columns.some((c) => isAggregate(c.expr));
  let groups: Row[][];
  if (!aggregate) groups = kept.map((r) => [r]);
  else if (s.groupBy.length === 0) groups = [kept];
  else {
    const byKey = new Map<string, Row[]>();
    for (const r of kept) {
      const key = JSON.stringify(
        s.groupBy.map((g) => {
          const v = ev.row(g, r);
          return v instanceof Dt ? `dt:${v.s}` : v;
        }),
      );
      const list = byKey.get(key) ?? [];
      list.push(r);
      byKey.set(key, list);
    }
    groups = [...byKey.values()];
  }
  const evalFor = (n: Node, g: Row[]) => (aggregate ? ev.group(n, g) : ev.row(n, g[0] as Row));
  const out = groups.map((g) => ({
    g,
    values: s.columns.map((c) => evalFor(c.expr, g)),
  }));
  if (s.orderBy.length) {
    const keys = new Map(
      out.map((o) => [o, s.orderBy.map((ob) => evalFor(ob.expr, o.g))] as const),
    );
    out.sort((a, b) => {
      const ka = keys.get(a) as Value[];
      const kb = keys.get(b) as Value[];
      for (const [i, ob] of s.orderBy.entries()) {
        const c = compare(ka[i] as Value, kb[i] as Value);
        if (c !== 0) return ob.desc ? -c : c;
      }
      return 0;
    });
  }
  const limited = s.limit === null ? out : out.slice(0, s.limit);
  const quoted = s.columns.map(
    (c) => c.expr.k === 'call' && (c.expr.fn === 'sum' || c.expr.fn === 'count'),
  );
  const data = limited.map((o) =>
    Object.fromEntries(
      s.columns.map((c, i) => {
        const v = o.values[i] as Value;
        return [c.alias, v instanceof Dt ? dtText(v) : quoted[i] ? String(v) : v];
      }),
    ),
  );
  const meta = s.columns.map((c, i) => {
    const v = limited[0]?.values[i];
    const type =
      v instanceof Dt
        ? 'DateTime'
        : typeof v === 'string'
          ? 'String'
          : quoted[i]
            ? 'UInt64'
            : 'Float64';
    return { name: c.alias, type };
  });
  return {
    ok: true,
    body: { meta, data, rows: data.length, rows_before_limit_at_least: out.length },
  };
}

/** Answers one statement over `events`, or says what is wrong with it. */
export function answerSql(
  sql: string,
  dataset: string,
  events: FakeDataPoint[],
  now = Date.now(),
): SqlAnswer {
  const from = /\bFROM\s+([A-Za-z_][A-Za-z0-9_]*)/i.exec(sql)?.[1];
  if (from !== dataset) return { ok: false, error: `unknown table ${from ?? '(none)'}` };
  if (isDecisionLogStatement(sql)) return answerDecisionLog(sql, events);
  try {
    return evaluateSelect(sql, dataset, events, now);
  } catch (e) {
    if (e instanceof SqlError) return { ok: false, error: e.message };
    throw e;
  }
}

// ── The HTTP endpoint, for both the Node server and an in-process fetch ─────────────────────

export interface FakeAnalyticsState {
  token: string;
  accountId: string;
  dataset: string;
  events: FakeDataPoint[];
  queries: string[];
  violations: string[];
}

export interface FakeAnswer {
  status: number;
  contentType: string;
  body: string;
}

const SQL_PATH = /^(?:\/client\/v4)?\/accounts\/([^/]+)\/analytics_engine\/sql$/;

export function isSqlPath(pathname: string): boolean {
  return SQL_PATH.test(pathname);
}

const json = (status: number, body: unknown): FakeAnswer => ({
  status,
  contentType: 'application/json',
  body: JSON.stringify(body),
});
const fail = (code: number, message: string) => ({
  success: false,
  errors: [{ code, message }],
  messages: [],
  result: null,
});

/** The SQL endpoint after authentication: account, method, statement. */
export function answerSqlRequest(
  state: FakeAnalyticsState,
  method: string,
  pathname: string,
  statement: string,
): FakeAnswer {
  const m = SQL_PATH.exec(pathname);
  if (!m || method !== 'POST' || m[1] !== state.accountId)
    return json(404, fail(7003, 'Could not route to the requested resource'));
  state.queries.push(statement);
  const answer = answerSql(statement, state.dataset, state.events);
  if (!answer.ok) {
    state.violations.push(`SQL: ${answer.error}`);
    return { status: 422, contentType: 'text/plain', body: answer.error };
  }
  return json(200, answer.body);
}

/** The endpoint as a fetch function, for a store running in workerd. */
export function fakeAnalyticsFetch(
  state: FakeAnalyticsState,
): (input: string, init: RequestInit) => Promise<Response> {
  return async (input, init) => {
    const url = new URL(input);
    const auth = new Headers(init.headers).get('authorization');
    if (auth !== `Bearer ${state.token}`) {
      state.violations.push(`bad authorization on ${init.method ?? 'GET'} ${url.pathname}`);
      const a = json(403, fail(10000, 'Authentication error'));
      return new Response(a.body, { status: a.status, headers: { 'content-type': a.contentType } });
    }
    const body = typeof init.body === 'string' ? init.body : '';
    const a = answerSqlRequest(state, init.method ?? 'GET', url.pathname, body);
    return new Response(a.body, { status: a.status, headers: { 'content-type': a.contentType } });
  };
}
