/**
 * A line diff for the policy page (old document vs new, before saving). Common leading and
 * trailing lines are set aside first; the rest is a longest-common-subsequence table, exact up
 * to ADMIN_DIFF_MAX_CELLS cells (about 2,000 × 2,000 changed lines) and shown as one removed and
 * one added block beyond that. Pure: text in, lines out.
 */
import { ADMIN_DIFF_MAX_CELLS } from '../constants';

export type DiffLine = { op: 'same' | 'del' | 'add'; text: string } | { op: 'skip'; count: number };

export function lineDiff(before: string, after: string): DiffLine[] {
  const a = before.split('\n');
  const b = after.split('\n');
  let start = 0;
  while (start < a.length && start < b.length && a[start] === b[start]) start++;
  let endA = a.length;
  let endB = b.length;
  while (endA > start && endB > start && a[endA - 1] === b[endB - 1]) {
    endA--;
    endB--;
  }
  const out: DiffLine[] = a.slice(0, start).map((text) => ({ op: 'same', text }));
  out.push(...middle(a.slice(start, endA), b.slice(start, endB)));
  for (const text of a.slice(endA)) out.push({ op: 'same', text });
  return out;
}

function middle(a: string[], b: string[]): DiffLine[] {
  const n = a.length;
  const m = b.length;
  if (n * m > ADMIN_DIFF_MAX_CELLS)
    return [
      ...a.map((text): DiffLine => ({ op: 'del', text })),
      ...b.map((text): DiffLine => ({ op: 'add', text })),
    ];
  // lcs[i * (m + 1) + j]: length of the LCS of a[i..] and b[j..]; min(n, m) ≤ 2,000 fits 16 bits.
  const w = m + 1;
  const lcs = new Uint16Array((n + 1) * w);
  for (let i = n - 1; i >= 0; i--)
    for (let j = m - 1; j >= 0; j--)
      lcs[i * w + j] =
        a[i] === b[j]
          ? (lcs[(i + 1) * w + j + 1] ?? 0) + 1
          : Math.max(lcs[(i + 1) * w + j] ?? 0, lcs[i * w + j + 1] ?? 0);
  const out: DiffLine[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (a[i] === b[j]) {
      out.push({ op: 'same', text: a[i] ?? '' });
      i++;
      j++;
    } else if ((lcs[(i + 1) * w + j] ?? 0) >= (lcs[i * w + j + 1] ?? 0)) {
      out.push({ op: 'del', text: a[i++] ?? '' });
    } else {
      out.push({ op: 'add', text: b[j++] ?? '' });
    }
  }
  while (i < n) out.push({ op: 'del', text: a[i++] ?? '' });
  while (j < m) out.push({ op: 'add', text: b[j++] ?? '' });
  return out;
}

/** Runs of unchanged lines longer than twice `context` shortened to their ends. */
export function withContext(lines: DiffLine[], context = 3): DiffLine[] {
  const out: DiffLine[] = [];
  let run: DiffLine[] = [];
  const flush = (atStart: boolean, atEnd: boolean) => {
    const keepHead = atStart ? 0 : context;
    const keepTail = atEnd ? 0 : context;
    if (run.length > keepHead + keepTail + 1) {
      out.push(...run.slice(0, keepHead));
      out.push({ op: 'skip', count: run.length - keepHead - keepTail });
      out.push(...run.slice(run.length - keepTail));
    } else {
      out.push(...run);
    }
    run = [];
  };
  let seenChange = false;
  for (const line of lines) {
    if (line.op === 'same') {
      run.push(line);
      continue;
    }
    flush(!seenChange, false);
    seenChange = true;
    out.push(line);
  }
  flush(!seenChange, true);
  return out;
}

/** True when the diff changes anything. */
export function changed(lines: DiffLine[]): boolean {
  return lines.some((l) => l.op === 'del' || l.op === 'add');
}
