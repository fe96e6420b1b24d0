/**
 * The methods a request may be handled as at the origin, for matching method-scoped route
 * classes: a class applies when its `methods` include any of them.
 *
 * - The request's own method, upper-cased.
 * - GET for HEAD: frameworks answer HEAD with the GET handler (the same work at the origin).
 * - Method overrides the client asks for: the X-HTTP-Method-Override, X-HTTP-Method and
 *   X-Method-Override headers and the `_method` query parameter (Rails, Laravel, Symfony,
 *   Express method-override, ASP.NET). Origins honour them on POST, so `POST /login?_method=GET`
 *   is a GET of the login page there and must meet a GET-only rule. A class applies to a
 *   request that names its method in an override even where the origin ignores overrides; that
 *   errs towards the rule. When classes share paths but differ in methods, the first in policy
 *   order that applies wins, so list the stricter one first.
 *
 * Not seen: `_method` inside a form body. ipgate streams bodies to the origin unread, so a
 * form POST classifies as POST; where the origin honours `_method` in form bodies, include
 * POST in a method-scoped class's `methods`.
 */
import { METHOD_OVERRIDE_HEADERS, METHOD_OVERRIDE_MAX, METHOD_OVERRIDE_PARAM } from '../constants';

const METHOD = /^[A-Z]{1,20}$/;

/** `url` is the request's parsed URL (the caller has it already). */
export function requestMethods(request: Request, url: URL): string[] {
  const method = request.method.toUpperCase();
  const out = [method];
  if (method === 'HEAD') out.push('GET');
  for (const name of METHOD_OVERRIDE_HEADERS) {
    const value = request.headers.get(name);
    if (value !== null) for (const m of value.split(',')) add(out, m);
  }
  if (url.search !== '')
    for (const m of url.searchParams.getAll(METHOD_OVERRIDE_PARAM)) add(out, m);
  return out;
}

function add(out: string[], text: string): void {
  const m = text.trim().toUpperCase();
  if (out.length < METHOD_OVERRIDE_MAX + 2 && METHOD.test(m) && !out.includes(m)) out.push(m);
}
