/**
 * The path a visitor returns to after a challenge. It travels through the page and the form,
 * so it is attacker-controlled on the way back: only a same-origin path is kept, anything else
 * becomes `/`. That rules out open redirects such as `//evil.com`, `/\evil.com` (browsers read
 * `\` as `/`), `https://evil.com`, `javascript:` and tab or newline tricks (browsers drop them
 * from URLs), and paths that normalise to one of those (`/.//evil.com`).
 */
import { CHALLENGE_MAX_RETURN_CHARS, RESERVED_PREFIX } from '../constants';
import { canonicalPath } from '../policy/paths';

const BASE = 'https://ipgate.invalid';
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it refuses
const REFUSED_CHARS = /[\u0000-\u001f\u007f\\]/;

/** `raw` as a same-origin path with its query (no fragment), or `/`. */
export function safeReturnPath(raw: string | null | undefined): string {
  if (!isPlainPath(raw)) return '/';
  let url: URL;
  try {
    url = new URL(raw, BASE);
  } catch {
    return '/';
  }
  if (url.origin !== BASE) return '/';
  const path = url.pathname + url.search;
  if (!isPlainPath(path)) return '/';
  // Back to ipgate's own routes would only loop (or land on the admin surface).
  const canonical = canonicalPath(url.pathname);
  if (canonical === RESERVED_PREFIX || canonical.startsWith(`${RESERVED_PREFIX}/`)) return '/';
  return path;
}

/** The return path for a challenged request: where it was going, if that is a safe path. */
export function returnPathOf(url: URL): string {
  return safeReturnPath(url.pathname + url.search);
}

function isPlainPath(p: string | null | undefined): p is string {
  return (
    typeof p === 'string' &&
    p.length > 0 &&
    p.length <= CHALLENGE_MAX_RETURN_CHARS &&
    p[0] === '/' &&
    p[1] !== '/' &&
    !REFUSED_CHARS.test(p)
  );
}
