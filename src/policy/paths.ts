/**
 * Canonical paths: the one form in which protected-path rules and request paths are compared,
 * so that `/%4Cogin`, `//login/`, `/./login`, `/login;x=1` or `/LOGIN` cannot slip past a rule
 * for `/login`. Matching only: the origin always receives the path exactly as sent.
 *
 * Canonicalisation errs towards matching: an origin that decodes once sees `/%256Cogin` as
 * `/%6Cogin`, one that decodes twice sees `/login`, so both are treated as `/login`.
 */
import { PATH_MAX_DECODE_ROUNDS } from '../constants';

const PERCENT_RUN = /(?:%[0-9a-fA-F]{2})+/g;
const PATH_PARAMS = /;[^/]*/g;
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it removes
const CONTROL_CHARS = /[\u0000-\u001f\u007f]/g;

/** Decodes every run of %XX that forms valid UTF-8; leaves any other run as written. */
function decodeOnce(s: string): string {
  return s.replace(PERCENT_RUN, (run) => {
    try {
      return decodeURIComponent(run);
    } catch {
      return run;
    }
  });
}

/** The canonical form of a URL path (always starts with `/`, no trailing slash but the root). */
export function canonicalPath(rawPath: string): string {
  let p = rawPath.replace(PATH_PARAMS, '');
  for (let i = 0; i < PATH_MAX_DECODE_ROUNDS && p.includes('%'); i++) {
    const next = decodeOnce(p).replace(PATH_PARAMS, '');
    if (next === p) break;
    p = next;
  }
  p = p.replace(CONTROL_CHARS, '').replaceAll('\\', '/').normalize('NFKC').toLowerCase();
  const out: string[] = [];
  for (const raw of p.split('/')) {
    const seg = raw === '.' || raw === '..' ? raw : raw.replace(/[. ]+$/, '');
    if (seg === '' || seg === '.') continue;
    if (seg === '..') out.pop();
    else out.push(seg);
  }
  return `/${out.join('/')}`;
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

/** A compiled set of patterns; `matches` takes a canonical path. */
export class PathMatcher {
  private readonly exact = new Set<string>();
  private readonly prefixes: string[] = [];

  constructor(patterns: PathPattern[]) {
    for (const p of patterns) {
      if (p.kind === 'exact') this.exact.add(p.path);
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
