import { describe, expect, it } from 'vitest';
import { DEFAULT_POLICY_DOCUMENT } from '../../../src/policy/defaults';
import { parsePolicy, parsePolicyText } from '../../../src/policy/schema';

describe('policy schema', () => {
  it('accepts the built-in policy and fills defaults', () => {
    const r = parsePolicy(DEFAULT_POLICY_DOCUMENT);
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    expect(r.policy.mode).toBe('enforce');
    expect(r.policy.routeClasses[0]?.name).toBe('auth');
    expect(r.policy.blockResponse.title).toBe('Access denied');
  });

  it('fills every default from an empty document', () => {
    const r = parsePolicy({});
    expect(r.ok && r.policy.site).toEqual({
      rules: [],
      unknown: 'allow',
      invalidClientIp: 'allow',
      onError: 'open',
    });
    expect(r.ok && r.policy.lookup.tableDeadlineMs).toBe(750);
  });

  it('reports every problem with its path', () => {
    const r = parsePolicy({
      mode: 'panic',
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login', 'signin', '/a/*/b'],
          rules: [
            { name: 'x', scores: ['evil'], action: 'block' },
            { name: 'y', action: 'block' },
          ],
        },
      ],
      allow: { ips: ['10.0.0.1/8', 'nope'], countries: ['USA'] },
      surprise: true,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    const paths = r.issues.map((i) => i.path);
    expect(paths).toEqual(
      expect.arrayContaining([
        'mode',
        'routeClasses[0].paths[1]',
        'routeClasses[0].paths[2]',
        'routeClasses[0].rules[0].scores[0]',
        'routeClasses[0].rules[1]',
        'allow.ips[0]',
        'allow.ips[1]',
        'allow.countries[0]',
        '',
      ]),
    );
    const hostBits = r.issues.find((i) => i.path === 'allow.ips[0]');
    expect(hostBits?.message).toMatch(/host bits/);
    const unknownKey = r.issues.find((i) => i.path === '');
    expect(unknownKey?.message).toMatch(/surprise/);
  });

  it('refuses duplicate route class names and the reserved name "site"', () => {
    const r = parsePolicy({
      routeClasses: [
        { name: 'a', paths: ['/a'] },
        { name: 'a', paths: ['/b'] },
        { name: 'site', paths: ['/c'] },
      ],
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.issues.map((i) => i.path)).toEqual(
      expect.arrayContaining(['routeClasses[1].name', 'routeClasses[2].name']),
    );
  });

  it('reports invalid JSON and oversized documents as document-level problems', () => {
    const bad = parsePolicyText('{"mode": ');
    expect(bad.ok).toBe(false);
    expect(!bad.ok && bad.issues[0]?.message).toMatch(/not valid JSON/);
    const huge = parsePolicyText(`{"comment": "${'x'.repeat(300_000)}"}`);
    expect(!huge.ok && huge.issues[0]?.message).toMatch(/larger than/);
  });

  it('normalises methods and countries to upper case', () => {
    const r = parsePolicy({
      routeClasses: [{ name: 'a', paths: ['/a'], methods: ['post'] }],
      deny: { countries: ['ru', 't1'] },
    });
    expect(r.ok && r.policy.routeClasses[0]?.methods).toEqual(['POST']);
    expect(r.ok && r.policy.deny.countries).toEqual(['RU', 'T1']);
  });
});

describe('policy text: what only the text shows', () => {
  const issues = (text: string) => {
    const r = parsePolicyText(text);
    return r.ok ? [] : r.issues;
  };

  it('refuses a key written twice, however it is spelled, with its path', () => {
    expect(issues('{"mode": "monitor", "mo\\u0064e": "enforce"}')).toEqual([
      { path: 'mode', message: 'duplicate key "mode" (JSON keeps only the last; write it once)' },
    ]);
    expect(
      issues(
        '{"routeClasses": [{"name": "a", "paths": ["/a"]}, {"name": "b", "paths": ["/b"], "rules": [{"name": "r", "action": "block", "scores": ["low"], "action": "allow"}]}]}',
      ),
    ).toEqual([{ path: 'routeClasses[1].rules[0].action', message: expect.any(String) }]);
  });

  it('does not take the same key in sibling objects, or brackets inside strings, for problems', () => {
    const text = JSON.stringify({
      comment: '{"mode": [[[ "} ] \\" {',
      routeClasses: [
        { name: 'a', paths: ['/a'] },
        { name: 'b', paths: ['/b'] },
      ],
      allow: { ips: [] },
      deny: { ips: [] },
    });
    expect(parsePolicyText(text).ok).toBe(true);
  });

  it('refuses a "__proto__" key, which the schema would skip without a word', () => {
    expect(parsePolicy(JSON.parse('{"__proto__": {"mode": "monitor"}}')).ok).toBe(true);
    expect(issues('{"__proto__": {"mode": "monitor"}}')).toEqual([
      { path: '__proto__', message: 'a key named "__proto__" is not allowed' },
    ]);
  });

  it('lists at most the reported-issues cap of duplicates', () => {
    const text = `{${Array.from({ length: 80 }, () => '"mode": "enforce"').join(',')}}`;
    expect(issues(text)).toHaveLength(50);
  });

  it('compiles lists whose entries carry whitespace around the address', async () => {
    const { compilePolicy } = await import('../../../src/policy/compile');
    const { parseIp } = await import('../../../src/ip/parse');
    const padded = `${' '.repeat(300)}203.0.113.0/24${'\t'.repeat(300)}`;
    const r = parsePolicy({ deny: { ips: [padded] } });
    expect(r.ok).toBe(true);
    if (!r.ok) return;
    const compiled = compilePolicy(r.policy, 'v');
    const ip = parseIp('203.0.113.7');
    if (!ip) throw new Error('address');
    expect(compiled.deny.networks.lookup(ip)).toBe('203.0.113.0/24');
  });
});
