import { describe, expect, it } from 'vitest';
import {
  canonicalPath,
  PathMatcher,
  type PathPattern,
  parsePathPattern,
} from '../../../src/policy/paths';

const matcher = (...patterns: string[]) =>
  new PathMatcher(patterns.map((p) => parsePathPattern(p) as PathPattern));

describe('canonicalPath', () => {
  it.each([
    ['/login', '/login'],
    ['/LOGIN', '/login'],
    ['/%6Cogin', '/login'],
    ['/%4Cogin', '/login'],
    ['/%256Cogin', '/login'],
    ['//login', '/login'],
    ['/login/', '/login'],
    ['/./login', '/login'],
    ['/x/../login', '/login'],
    ['/login;x=1', '/login'],
    ['/login;jsessionid=abc/', '/login'],
    ['/login%3Bx=1', '/login'],
    ['\\login', '/login'],
    ['/login.', '/login'],
    ['/%2e/login', '/login'],
    ['/ｌｏｇｉｎ', '/login'],
    ['/', '/'],
    ['', '/'],
    ['/../../', '/'],
    ['/wp-login.php', '/wp-login.php'],
    ['/api//auth/./token/', '/api/auth/token'],
    // Decoded before `;params` are dropped: an encoded slash inside one still separates.
    ['/x;a%2F..%2Flogin', '/login'],
    ['/login;x%2F..%2Fadmin', '/admin'],
    ['/x/..;/login', '/login'],
    ['/x%5C..%5Clogin', '/login'],
    // Overlong UTF-8 of ASCII, as old decoders read it.
    ['/%C0%AFlogin', '/login'],
    ['/x/%C0%AE%C0%AE/login', '/login'],
    ['/%E0%80%AFlogin', '/login'],
    ['/%F0%80%80%AFlogin', '/login'],
    ['/%C1%AC%C1%AF%C1%A7%C1%A9%C1%AE', '/login'],
    // NFKC inside the decoding rounds: a fullwidth % sign starts an escape.
    ['/％６Ｃogin', '/login'],
    ['/%EF%BC%85%36%43ogin', '/login'],
    ['/ＬＯＧＩＮ', '/login'],
    ['/ℓogin', '/login'],
    // Control characters are dropped; trailing spaces and dots too.
    ['/log%00in', '/login'],
    ['/login%09', '/login'],
    ['/login%20', '/login'],
    ['/login. . ', '/login'],
    ['/x/.. /login', '/login'],
    ['/x/%2e%2e%20/login', '/login'],
    // Three rounds of decoding; a fourth level is deeper than any origin decodes.
    ['/%25256Cogin', '/login'],
    ['/%2525256Cogin', '/\uFFFD6cogin'],
    // Not folded: other scripts' look-alikes name other resources.
    ['/l\u043egin', '/l\u043egin'],
    ['/log\u0131n', '/log\u0131n'],
  ])('%s → %s', (raw, expected) => {
    expect(canonicalPath(raw)).toBe(expected);
  });

  it('keeps malformed percent-encoding as written', () => {
    expect(canonicalPath('/a%zz/%E0%A4')).toBe('/a%zz/%e0%a4');
    // Each invalid byte stays, and valid bytes beside it are still decoded.
    expect(canonicalPath('/%C0%6Cogin')).toBe('/%c0login');
    expect(canonicalPath('/%C3%28')).toBe('/%c3(');
    // Surrogates (ED A0 80) and code points past U+10FFFF (F4 90 80 80) are not UTF-8.
    expect(canonicalPath('/%ED%A0%80/%F4%90%80%80')).toBe('/%ed%a0%80/%f4%90%80%80');
    // Overlong forms of non-ASCII characters are refused like any invalid sequence.
    expect(canonicalPath('/%C2%80/%E0%82%80')).toBe('/\u0080/%e0%82%80');
  });

  it('is linear on long runs of spaces and dots inside a segment', () => {
    const raw = `/a${' .'.repeat(200_000)}b`;
    const started = performance.now();
    expect(canonicalPath(raw)).toBe(raw.toLowerCase());
    expect(performance.now() - started).toBeLessThan(1_000);
  });
});

describe('path patterns', () => {
  it('rejects patterns that are not absolute or have inner wildcards', () => {
    expect(parsePathPattern('login')).toBe('must start with "/"');
    expect(typeof parsePathPattern('/a/*/b')).toBe('string');
  });

  it('matches exact paths only for exact patterns', () => {
    const m = matcher('/login');
    expect(m.matches('/login')).toBe(true);
    expect(m.matches('/login/x')).toBe(false);
    expect(m.matches('/loginx')).toBe(false);
  });

  it('matches a prefix pattern at and below its path, not beside it', () => {
    const m = matcher('/api/auth/*');
    expect(m.matches('/api/auth')).toBe(true);
    expect(m.matches('/api/auth/token')).toBe(true);
    expect(m.matches('/api/authx')).toBe(false);
    expect(m.matches('/api')).toBe(false);
  });

  it('an exact pattern for a script also matches PATH_INFO below it', () => {
    const m = matcher('/wp-login.php', '/login', '/cgi-bin/auth.cgi');
    expect(m.matches('/wp-login.php')).toBe(true);
    expect(m.matches('/wp-login.php/x')).toBe(true);
    expect(m.matches('/cgi-bin/auth.cgi/x/y')).toBe(true);
    expect(m.matches('/wp-login.phpx')).toBe(false);
    expect(m.matches('/wp-login.php.bak')).toBe(false);
    expect(m.matches('/login/x')).toBe(false);
    expect(matcher('/.php').matches('/.php/x')).toBe(false);
  });

  it('canonicalises the patterns themselves', () => {
    expect(matcher('/Login/').matches('/login')).toBe(true);
    expect(matcher('/*').matches('/anything/at/all')).toBe(true);
  });
});
