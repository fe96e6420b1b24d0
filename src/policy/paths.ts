/**
 * Canonical paths: the one form in which protected-path rules and request paths are compared,
 * so that `/%4Cogin`, `//login/`, `/./login`, `/login;x=1` or `/LOGIN` cannot slip past a rule
 * for `/login`. Matching only: the origin always receives the path exactly as sent.
 *
 * Canonicalisation errs towards matching: where origins disagree, it takes the reading that
 * reaches more of them, since a false match only applies a rule while a miss lets a request
 * past one. In order:
 *
 * 1. Rounds of decoding, up to PATH_MAX_DECODE_ROUNDS (an origin that decodes once sees
 *    `/%256Cogin` as `/%6Cogin`, one that decodes twice sees `/login`). A round decodes every
 *    %XX byte by byte: valid UTF-8 is decoded, overlong forms of ASCII (`%C0%AF` for `/`,
 *    `%C0%AE` for `.`, as old decoders read them) become that character, any other byte stays
 *    as written. Beyond ASCII it then drops control characters (`%00`, `%09`: no origin serves
 *    a different resource for them, and a NUL must not cut a path short here) and applies
 *    Unicode NFKC (fullwidth `ｌｏｇｉｎ` is `login` and `％６Ｃ` is `%6C`, as IIS and Windows
 *    "best fit" mappings fold them). Every round ends in lower case (IIS, Windows and macOS
 *    file systems are case-insensitive). A path that would still change after the last round
 *    is encoded more deeply than any origin decodes: its `%` signs become U+FFFD, so the
 *    result matches nothing a deeper decoding would, and canonicalPath stays idempotent.
 * 2. Backslashes are slashes (IIS; `%5C` once decoded).
 * 3. `;params` are removed up to the next slash (Tomcat, Jetty, Spring), after decoding, so an
 *    encoded slash inside one (`/x;a%2F..%2Flogin`, which nginx resolves to `/login`) is a
 *    separator, as it is at every origin that accepts encoded slashes at all. `/..;/` is `/../`.
 * 4. Dot segments resolved, empty segments dropped (repeated and trailing slashes), trailing
 *    dots and spaces of a segment removed (Windows: `/login.` and `/login%20` are `/login`).
 *
 * Not folded: look-alike letters of other scripts (Cyrillic `о` in `/lоgin`, dotless `ı`). No
 * origin maps them to Latin, so such a path names a different resource and passes as one.
 *
 * Every step is linear in the path's length (a 100 KB path takes milliseconds): no regular
 * expression here can backtrack over a long run, and decoding never throws.
 */
import { PATH_MAX_DECODE_ROUNDS, PATH_SCRIPT_EXTENSIONS } from '../constants';

const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
const PATH_PARAMS = /;[^/]*/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g;
const NON_ASCII_OR_CONTROL = /[^\u0020-\u007e]/;

/** Value of the hex digit at `i`, or -1. */
function hexAt(s: string, i: number): number {
  const c = s.charCodeAt(i);
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 65 && c <= 70) return c - 55;
  if (c >= 97 && c <= 102) return c - 87;
  return -1;
}

/** The byte of the %XX at position `i` (in bytes) of a run. */
function byteAt(run: string, i: number): number {
  return (hexAt(run, i * 3 + 1) << 4) | hexAt(run, i * 3 + 2);
}

/**
 * Decodes one run of %XX bytes in a single pass (no exceptions, which cost microseconds each
 * on hostile runs of invalid bytes): valid UTF-8 is decoded, overlong encodings of ASCII (C0/C1
 * xx, E0 80–81 xx, F0 80 80–81 xx) become the ASCII character, any other byte stays as written.
 */
function decodeRun(run: string): string {
  const n = run.length / 3;
  let out = '';
  let i = 0;
  while (i < n) {
    const b0 = byteAt(run, i);
    let length = 0;
    let code = 0;
    if (b0 < 0x80) {
      length = 1;
      code = b0;
    } else if (b0 >= 0xc0 && b0 < 0xf5) {
      length = b0 < 0xe0 ? 2 : b0 < 0xf0 ? 3 : 4;
      code = b0 & (b0 < 0xe0 ? 0x1f : b0 < 0xf0 ? 0x0f : 0x07);
      // The second byte's range rules out surrogates (ED A0–BF) and code points past U+10FFFF.
      const hi = b0 === 0xed ? 0x9f : b0 === 0xf4 ? 0x8f : 0xbf;
      for (let k = 1; k < length; k++) {
        const b = i + k < n ? byteAt(run, i + k) : -1;
        if (b < 0x80 || b > (k === 1 ? hi : 0xbf)) {
          length = 0;
          break;
        }
        code = (code << 6) | (b & 0x3f);
      }
      // Overlong: allowed only where it spells ASCII.
      const least = length === 2 ? 0x80 : length === 3 ? 0x800 : 0x10000;
      if (length > 1 && code < least && code >= 0x80) length = 0;
    }
    if (length === 0) {
      out += run.slice(i * 3, i * 3 + 3);
      i += 1;
    } else {
      out += String.fromCodePoint(code);
      i += length;
    }
  }
  return out;
}

/** One round: percent-decoding, then (beyond ASCII) NFKC without control characters, lower case. */
function decodeRound(s: string): string {
  const decoded = s.includes('%') ? s.replace(PERCENT_RUN, decodeRun) : s;
  if (!NON_ASCII_OR_CONTROL.test(decoded)) return decoded.toLowerCase();
  return decoded.replace(CONTROL_CHARS, '').normalize('NFKC').toLowerCase();
}

/** The canonical form of a URL path (always starts with `/`, no trailing slash but the root). */
export function canonicalPath(rawPath: string): string {
  let p = rawPath;
  let stable = false;
  for (let i = 0; i < PATH_MAX_DECODE_ROUNDS && !stable; i++) {
    const next = decodeRound(p);
    stable = next === p;
    p = next;
  }
  if (!stable && decodeRound(p) !== p) p = p.replaceAll('%', '\uFFFD');
  p = p.replaceAll('\\', '/').replace(PATH_PARAMS, '');
  const out: string[] = [];
  for (const raw of p.split('/')) {
    const trimmed = raw.slice(0, trimmedEnd(raw, false));
    const seg = trimmed === '.' || trimmed === '..' ? trimmed : raw.slice(0, trimmedEnd(raw, true));
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
}

/**
 * Where a segment ends without its trailing spaces (and dots). A scan from the end: the regular
 * expression `/[. ]+$/` takes quadratic time on a long run of spaces followed by anything else.
 */
function trimmedEnd(seg: string, dots: boolean): number {
  let end = seg.length;
  for (; end > 0; end--) {
    const c = seg.charCodeAt(end - 1);
    if (c !== 32 && !(dots && c === 46)) break;
  }
  return end;
}

export type PathPattern = { kind: 'exact'; path: string } | { kind: 'prefix'; path: string };

/**
 * Parses a path pattern from the policy: `/login` (that path) or `/api/auth/*` (that path and
 * everything below it). Returns an error string for anything else.
 */
export function parsePathPattern(pattern: string): PathPattern | string {
  if (!pattern.startsWith('/')) return 'must start with "/"';
  const isPrefix = pattern.endsWith('/*');
  const body = isPrefix ? pattern.slice(0, -2) : pattern;
  if (body.includes('*')) return '"*" is only allowed as a final "/*"';
  return { kind: isPrefix ? 'prefix' : 'exact', path: canonicalPath(body) };
}

/** True for a path whose last segment is a script that takes PATH_INFO (`/wp-login.php`). */
function isScript(path: string): boolean {
  const last = path.slice(path.lastIndexOf('/') + 1);
  return PATH_SCRIPT_EXTENSIONS.some((ext) => last.length > ext.length && last.endsWith(ext));
}

/**
 * A compiled set of patterns; `matches` takes a canonical path. An exact pattern for a script
 * (PATH_SCRIPT_EXTENSIONS) also matches everything below it: `/wp-login.php/x` runs
 * wp-login.php on Apache and on PHP-FPM with PATH_INFO, so it is the same resource.
 */
export class PathMatcher {
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];

  constructor(patterns: PathPattern[]) {
    for (const p of patterns) {
      if (p.kind === 'exact' && !isScript(p.path)) this.exact.add(p.path);
      else if (p.path === '/') this.prefixes.push('');
      else this.prefixes.push(p.path);
    }
  }

  matches(path: string): boolean {
    if (this.exact.has(path)) return true;
    for (const prefix of this.prefixes) {
      if (path === prefix || path.startsWith(`${prefix}/`) || prefix === '') return true;
    }
    return false;
  }
}
