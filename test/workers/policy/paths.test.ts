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
  ])('%s → %s', (raw, expected) => {
    expect(canonicalPath(raw)).toBe(expected);
  });

  it('keeps malformed percent-encoding as written', () => {
    expect(canonicalPath('/a%zz/%E0%A4')).toBe('/a%zz/%e0%a4');
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

  it('canonicalises the patterns themselves', () => {
    expect(matcher('/Login/').matches('/login')).toBe(true);
    expect(matcher('/*').matches('/anything/at/all')).toBe(true);
  });
});
