/**
 * Passing a request to the origin, untouched: same method, headers and streamed body;
 * redirects returned to the client rather than followed; the response (every Set-Cookie, a
 * WebSocket upgrade) returned as the origin sent it.
 *
 * On a zone route the request goes to its own URL (`fetch(request)` reaches the origin behind
 * the route). With ORIGIN_URL (workers.dev, local runs) the scheme and authority are replaced
 * textually, so the path and query reach the origin byte for byte as the client sent them.
 */

export type OriginTarget = { ok: true; base: string | null } | { ok: false; error: string };

/** Validates ORIGIN_URL once: an http(s) origin without path, query or credentials. */
export function parseOriginUrl(value: string | undefined): OriginTarget {
  if (value === undefined || value.trim() === '') return { ok: true, base: null };
  let u: URL;
  try {
    u = new URL(value.trim());
  } catch {
    return { ok: false, error: 'ORIGIN_URL is not a URL' };
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return { ok: false, error: 'ORIGIN_URL must be http: or https:' };
  if (u.username || u.password) return { ok: false, error: 'ORIGIN_URL must not hold credentials' };
  if ((u.pathname !== '/' && u.pathname !== '') || u.search || u.hash)
    return { ok: false, error: 'ORIGIN_URL must be an origin only (scheme://host[:port])' };
  return { ok: true, base: u.origin };
}

/** The request URL with its scheme and authority replaced by `base`, path and query as sent. */
export function rewriteUrl(requestUrl: string, base: string): string {
  const afterScheme = requestUrl.indexOf('//') + 2;
  const pathStart = requestUrl.indexOf('/', afterScheme);
  return base + (pathStart < 0 ? '/' : requestUrl.slice(pathStart));
}

export function forward(request: Request, base: string | null): Promise<Response> {
  const target = base === null ? request : new Request(rewriteUrl(request.url, base), request);
  return fetch(target, { redirect: 'manual' });
}
