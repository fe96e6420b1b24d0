/**
 * The challenge page and the return path: 403, HTML or JSON by Accept, Turnstile's script the
 * only script, everything reflected escaped, and no way to turn the return path into a
 * redirect off the site.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { CHALLENGE_FIELDS, challengeResponse } from '../../../src/challenge/page';
import { returnPathOf, safeReturnPath } from '../../../src/challenge/return-path';
import {
  CHALLENGE_MAX_RETURN_CHARS,
  CHALLENGE_PATH,
  REFERENCE_HEADER,
  TURNSTILE_SCRIPT_URL,
} from '../../../src/constants';

const XSS = `"><script>alert(1)</script><img src=x onerror=alert(2)>'`;

function page(over: Partial<Parameters<typeof challengeResponse>[0]> = {}) {
  return challengeResponse({
    siteKey: '1x00000000000000000000AA',
    returnTo: '/login?next=%2Faccount',
    reference: '0123456789abcdef',
    accept: 'text/html,application/xhtml+xml',
    ...over,
  });
}

/** The `value` of the hidden return field, unescaped. */
function hiddenReturn(html: string): string | undefined {
  const m = html.match(new RegExp(`name="${CHALLENGE_FIELDS.returnTo}" value="([^"]*)"`));
  return m?.[1]?.replaceAll('&amp;', '&').replaceAll('&#39;', "'");
}

describe('challenge page', () => {
  it('is a 403 HTML page with the widget, the form and the reference id', async () => {
    const res = page();
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    expect(res.headers.get(REFERENCE_HEADER)).toBe('0123456789abcdef');
    const csp = res.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain('script-src https://challenges.cloudflare.com');
    expect(csp).toContain('frame-src https://challenges.cloudflare.com');
    expect(csp).toContain("form-action 'self'");
    const html = await res.text();
    expect(html).toContain(`<form method="post" action="${CHALLENGE_PATH}">`);
    expect(html).toContain('data-sitekey="1x00000000000000000000AA"');
    expect(html).toContain('<code>0123456789abcdef</code>');
    expect(hiddenReturn(html)).toBe('/login?next=%2Faccount');
    expect(html).not.toContain('did not succeed');
  });

  it('loads Turnstile’s script and no other', async () => {
    const html = await page().text();
    const scripts = [...html.matchAll(/<script\b[^>]*>/gi)].map((m) => m[0]);
    expect(scripts).toEqual([`<script src="${TURNSTILE_SCRIPT_URL}" async defer>`]);
    expect(html).not.toMatch(/\son[a-z]+=/i);
  });

  it('says so when the last token was refused', async () => {
    expect(await page({ retry: true }).text()).toContain('did not succeed');
  });

  it('escapes the site key, the return path, the reference and the operator’s text', async () => {
    const res = page({
      siteKey: XSS,
      returnTo: `/x?q=${XSS}`,
      reference: XSS,
      text: { title: `Title ${XSS}`, message: `Message ${XSS}` },
    });
    const html = await res.text();
    expect(html.match(/<script/gi)).toHaveLength(1);
    expect(html).not.toMatch(/<img|"><script|onerror=alert\(2\)>/i);
    expect(html).toContain('data-sitekey="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;');
    expect(html).toContain('<title>Title &quot;&gt;&lt;script&gt;');
    expect(hiddenReturn(html)).toMatch(/^\/x\?q=/);
    expect(hiddenReturn(html)).not.toMatch(/[<>"]/);
  });

  it('falls back to / for a return path that leaves the site', async () => {
    for (const returnTo of ['//evil.com/x', 'https://evil.com', null])
      expect(hiddenReturn(await page({ returnTo }).text())).toBe('/');
  });

  it('is JSON for clients that ask for JSON, still 403 and not cached', async () => {
    const res = page({ accept: 'application/json', text: { title: XSS } });
    expect(res.status).toBe(403);
    expect(res.headers.get('content-type')).toMatch(/^application\/json/);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = (await res.json()) as Record<string, unknown>;
    expect(body).toMatchObject({
      error: 'challenge_required',
      reference: '0123456789abcdef',
      title: XSS,
    });
    expect(Object.keys(body).sort()).toEqual(['error', 'message', 'reference', 'title']);
  });
});

describe('safeReturnPath', () => {
  it.each([
    '//evil.com',
    '//evil.com/login',
    '///evil.com',
    'https://evil.com',
    'http:/evil.com',
    'HTTPS://evil.com',
    '/\\evil.com',
    '\\\\evil.com',
    '/\\/evil.com',
    'javascript:alert(1)',
    ' javascript:alert(1)',
    'JaVaScRiPt:alert(1)',
    'data:text/html,<script>alert(1)</script>',
    '/\t/evil.com',
    '/\n/evil.com',
    '/\r\n/evil.com',
    '/.//evil.com',
    '/..//evil.com',
    '/a/../..//evil.com',
    ' /login',
    'login',
    '?next=/',
    '#x',
    '',
    null,
    undefined,
    '/__ipgate/challenge',
    '/__IPGATE/health',
    '/%5F_ipgate/health',
    '//__ipgate',
  ])('refuses %j', (raw) => {
    expect(safeReturnPath(raw)).toBe('/');
  });

  it('refuses a path longer than the cap', () => {
    const cap = `/${'a'.repeat(CHALLENGE_MAX_RETURN_CHARS - 1)}`;
    expect(safeReturnPath(cap)).toBe(cap);
    expect(safeReturnPath(`${cap}a`)).toBe('/');
  });

  it.each([
    ['/', '/'],
    ['/login', '/login'],
    ['/login?next=%2Faccount&x=1', '/login?next=%2Faccount&x=1'],
    ['/a/b/../c', '/a/c'],
    ['/search?q=a b', '/search?q=a%20b'],
    ['/page#section', '/page'],
    ['/%2F%2Fevil.com', '/%2F%2Fevil.com'],
    ['/evil.com', '/evil.com'],
    ['/wp-login.php?redirect_to=https://evil.com', '/wp-login.php?redirect_to=https://evil.com'],
  ])('keeps %j as %j', (raw, expected) => {
    expect(safeReturnPath(raw)).toBe(expected);
  });

  it('takes the challenged request’s path and query', () => {
    expect(returnPathOf(new URL('https://gate.test/login?x=1#f'))).toBe('/login?x=1');
    expect(returnPathOf(new URL('https://gate.test//evil.com/'))).toBe('/');
  });

  it('always yields a same-origin path, whatever the input', () => {
    const base = 'https://site.test';
    const pieces = fc.constantFrom(
      '/',
      '//',
      '\\',
      '.',
      '..',
      ':',
      '%2F',
      '\t',
      'evil.com',
      '?',
      '#',
      'a',
    );
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.array(pieces, { maxLength: 8 }).map((p) => p.join('')),
        ),
        (raw) => {
          const out = safeReturnPath(raw);
          expect(out.startsWith('/')).toBe(true);
          expect(out.startsWith('//')).toBe(false);
          expect(out).not.toContain('\\');
          expect([...out].some((c) => c.charCodeAt(0) < 0x20)).toBe(false);
          expect(new URL(out, base).origin).toBe(base);
        },
      ),
      { numRuns: 1000 },
    );
  });
});
