/**
 * Structural checks of a policy's JSON text that `JSON.parse` and the schema cannot make,
 * because they are gone once the text is a value:
 *
 * - a key written twice in one object (`JSON.parse` keeps the last silently, so an operator
 *   reading the file may believe the first one applies);
 * - a key named `__proto__` (the schema never sees it: it is skipped, not refused);
 * - a number too large for a double (`1e400` parses to Infinity);
 * - nesting deeper than POLICY_MAX_DEPTH (no valid policy nests beyond a handful of levels, and
 *   tools that walk the value recursively should never meet a hostile depth).
 *
 * The scan is a single pass over text that `JSON.parse` has already accepted, with an explicit
 * stack (never recursion), so its cost is linear in the text and bounded by its size cap.
 */
import { POLICY_MAX_DEPTH } from '../constants';

export interface TextIssue {
  path: (string | number)[];
  message: string;
}

type Frame =
  | { kind: 'object'; key: string | null; keys: Set<string>; expectKey: boolean }
  | { kind: 'array'; index: number };

const WS = /[ \t\n\r]/;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

function pathOf(stack: readonly Frame[]): (string | number)[] {
  const out: (string | number)[] = [];
  for (const f of stack) {
    if (f.kind === 'array') out.push(f.index);
    else if (f.key !== null) out.push(f.key);
  }
  return out;
}

/** End (exclusive) of the string token starting at `start` (a `"`). */
function stringEnd(text: string, start: number): number {
  let i = start + 1;
  while (i < text.length) {
    const c = text.charCodeAt(i);
    if (c === 0x5c) i += 2;
    else if (c === 0x22) return i + 1;
    else i += 1;
  }
  return text.length;
}

/**
 * Problems of valid JSON `text`, at most `max` of them; each with the path of the value it
 * concerns. Deeper nesting than `maxDepth` stops the scan at the first level too deep.
 */
export function scanJsonText(text: string, max: number, maxDepth = POLICY_MAX_DEPTH): TextIssue[] {
  const issues: TextIssue[] = [];
  const stack: Frame[] = [];
  let i = 0;
  // A scalar or container value just ended: an object now expects `,` then a key.
  const valueDone = () => {
    const top = stack[stack.length - 1];
    if (top?.kind === 'object') top.key = null;
  };
  while (i < text.length && issues.length < max) {
    const c = text[i] as string;
    if (WS.test(c) || c === ':') {
      i += 1;
    } else if (c === '{' || c === '[') {
      if (stack.length >= maxDepth) {
        issues.push({
          path: pathOf(stack),
          message: `nested deeper than ${maxDepth} levels (no policy needs more than a few)`,
        });
        return issues;
      }
      stack.push(
        c === '{'
          ? { kind: 'object', key: null, keys: new Set(), expectKey: true }
          : { kind: 'array', index: 0 },
      );
      i += 1;
    } else if (c === '}' || c === ']') {
      stack.pop();
      valueDone();
      i += 1;
    } else if (c === ',') {
      const top = stack[stack.length - 1];
      if (top?.kind === 'array') top.index += 1;
      else if (top?.kind === 'object') top.expectKey = true;
      i += 1;
    } else if (c === '"') {
      const end = stringEnd(text, i);
      const top = stack[stack.length - 1];
      if (top?.kind === 'object' && top.expectKey) {
        const key = JSON.parse(text.slice(i, end)) as string;
        top.expectKey = false;
        top.key = key;
        if (key === '__proto__')
          issues.push({ path: pathOf(stack), message: 'a key named "__proto__" is not allowed' });
        else if (top.keys.has(key))
          issues.push({
            path: pathOf(stack),
            message: `duplicate key "${key}" (JSON keeps only the last; write it once)`,
          });
        top.keys.add(key);
      } else {
        valueDone();
      }
      i = end;
    } else {
      NUMBER.lastIndex = i;
      const m = NUMBER.exec(text);
      if (m && m.index === i) {
        if (!Number.isFinite(Number(m[0])))
          issues.push({ path: pathOf(stack), message: `number ${m[0]} is out of range` });
        i += m[0].length;
      } else {
        // true, false or null.
        i += c === 'f' ? 5 : 4;
      }
      valueDone();
    }
  }
  return issues;
}
