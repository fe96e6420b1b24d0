/**
 * The Criminal IP provider against the local fake: success bodies become records, every
 * documented error becomes its failure kind, broken answers and aborts are data, and the key
 * never shows in a result.
 */
import { describe, expect, it } from 'vitest';
import { PROVIDER_MAX_MESSAGE_CHARS } from '../../../src/constants';
import { createProvider, type ProviderFailureKind } from '../../../src/providers';
import { createCriminalIpProvider } from '../../../src/providers/criminalip/client';
import {
  FAKE_CRIMINALIP_KEY,
  type FakeMode,
  fakeStats,
  setFakeMode,
  setFakeRecords,
} from '../../support/fake-criminalip-protocol';
import { FIXED_NOW, fixedNow, freshScope, ip } from './support';

/** A key for tests that fake `fetch` in-process. */
const OTHER_KEY = 'other-test-key-9876543210';

function provider(baseUrl: string, apiKey = FAKE_CRIMINALIP_KEY, timeoutMs?: number) {
  return createProvider('criminalip', { apiKey, baseUrl, now: fixedNow, timeoutMs });
}

describe('criminalip provider: success', () => {
  it('reads a suspicious-info body into a record with source and observedAt', async () => {
    const base = freshScope();
    await setFakeRecords(base, {
      criminalip: {
        '203.0.113.7': {
          score: { inbound: 'Critical', outbound: 'Dangerous' },
          issues: { is_vpn: true, is_anonymous_vpn: true, is_tor: false, is_cloud: true },
          whois: {
            count: 1,
            data: [{ as_no: 64500, as_name: 'EXAMPLE-AS', org_country_code: 'nl' }],
          },
          current_opened_port: { count: 1, data: [{ port: 3389, socket_type: 'tcp' }] },
        },
      },
    });
    const r = await provider(base).lookup(ip('203.0.113.7'));
    expect(r).toEqual({
      ok: true,
      record: {
        score: 'critical',
        categories: ['anonymous_vpn', 'hosting', 'remote', 'vpn'],
        country: 'NL',
        asn: 64500,
        org: 'EXAMPLE-AS',
        source: 'criminalip',
        observedAt: FIXED_NOW.toISOString(),
      },
    });
    const stats = await fakeStats(base);
    expect(stats.calls).toBe(1);
    expect(stats.ips).toEqual(['203.0.113.7']);
    expect(stats.rejectedKeys).toBe(0);
  });

  it('answers a safe record for an address the fake has nothing on', async () => {
    const base = freshScope();
    const r = await provider(base).lookup(ip('198.51.100.1'));
    expect(r).toEqual({
      ok: true,
      record: {
        score: 'safe',
        categories: [],
        source: 'criminalip',
        observedAt: FIXED_NOW.toISOString(),
      },
    });
  });

  it('sends IPv6 addresses in canonical form', async () => {
    const base = freshScope();
    await setFakeRecords(base, {
      criminalip: { '2001:db8:5::17': { score: { inbound: 4 }, issues: { is_tor: true } } },
    });
    const r = await provider(base).lookup(ip('2001:0db8:0005:0000:0000:0000:0000:0017'));
    expect(r.ok && r.record.score).toBe('dangerous');
    expect(r.ok && r.record.categories).toEqual(['tor']);
    expect((await fakeStats(base)).ips).toEqual(['2001:db8:5::17']);
  });

  it('refuses an answer about another address', async () => {
    const base = freshScope();
    await setFakeRecords(base, { criminalip: { '203.0.113.5': { ip: '203.0.113.6' } } });
    const r = await provider(base).lookup(ip('203.0.113.5'));
    expect(r.ok).toBe(false);
    expect(!r.ok && r.failure.kind).toBe('bad_response');
  });
});

describe('criminalip provider: error classification', () => {
  const cases: Array<[FakeMode, ProviderFailureKind, string]> = [
    ['invalid_key', 'invalid_key', 'invalid api key'],
    ['quota', 'quota', 'limit exceeded'],
    ['concurrency', 'concurrency', 'unable to call api at the same time'],
    ['invalid_ip', 'invalid_ip', 'Invalid IP Address.'],
  ];
  for (const httpErrors of [false, true]) {
    for (const [mode, kind, message] of cases) {
      it(`${mode} (${httpErrors ? 'HTTP error status' : 'HTTP 200, status in body'}) → ${kind}`, async () => {
        const base = freshScope();
        await setFakeMode(base, { mode, httpErrors });
        const r = await provider(base).lookup(ip('203.0.113.20'));
        expect(r).toMatchObject({ ok: false, failure: { kind, message } });
        expect((await fakeStats(base)).calls).toBe(1);
      });
    }
  }

  it('a wrong key is invalid_key', async () => {
    const base = freshScope();
    const r = await provider(base, 'not-the-key').lookup(ip('203.0.113.20'));
    expect(r).toMatchObject({ ok: false, failure: { kind: 'invalid_key' } });
    expect((await fakeStats(base)).rejectedKeys).toBe(1);
  });

  it('matches messages without regard to case or a trailing full stop', async () => {
    const answers: Array<[string, ProviderFailureKind]> = [
      ['INVALID API KEY', 'invalid_key'],
      ['Limit Exceeded.', 'quota'],
      ['Unable to call API at the same time', 'concurrency'],
      ['invalid ip address', 'invalid_ip'],
      ['something else', 'server'],
    ];
    for (const [message, kind] of answers) {
      const p = createCriminalIpProvider({
        apiKey: OTHER_KEY,
        fetch: async () => Response.json({ status: 500, message }),
      });
      const r = await p.lookup(ip('203.0.113.20'));
      expect(r).toMatchObject({ ok: false, failure: { kind } });
    }
  });

  it('HTTP 500 with an HTML page is server, and no HTML reaches the message', async () => {
    const base = freshScope();
    await setFakeMode(base, { mode: 'html500' });
    const r = await provider(base).lookup(ip('203.0.113.21'));
    expect(r).toMatchObject({ ok: false, failure: { kind: 'server', status: 500 } });
    expect(JSON.stringify(r)).not.toContain('<');
  });

  it('HTTP 200 with an HTML page is bad_response', async () => {
    const base = freshScope();
    await setFakeMode(base, { mode: 'html200' });
    const r = await provider(base).lookup(ip('203.0.113.21'));
    expect(r).toMatchObject({ ok: false, failure: { kind: 'bad_response', status: 200 } });
    expect(!r.ok && r.failure.message).toMatch(/not JSON.*text\/html/);
  });

  it('JSON of the wrong shape is bad_response', async () => {
    const base = freshScope();
    await setFakeMode(base, { mode: 'wrong_json' });
    const r = await provider(base).lookup(ip('203.0.113.22'));
    expect(r).toMatchObject({ ok: false, failure: { kind: 'bad_response' } });
  });

  it('a thrown fetch is network; a redirect is bad_response and not followed', async () => {
    const thrown = createCriminalIpProvider({
      apiKey: OTHER_KEY,
      fetch: async () => {
        throw new TypeError('Network connection lost.');
      },
    });
    expect(await thrown.lookup(ip('203.0.113.23'))).toMatchObject({
      ok: false,
      failure: { kind: 'network', message: 'TypeError: Network connection lost.' },
    });

    const seen: RequestInit[] = [];
    const redirected = createCriminalIpProvider({
      apiKey: OTHER_KEY,
      fetch: async (_url, init) => {
        seen.push(init);
        return new Response(null, { status: 302, headers: { location: 'https://evil.test/' } });
      },
    });
    expect(await redirected.lookup(ip('203.0.113.23'))).toMatchObject({
      ok: false,
      failure: { kind: 'bad_response', status: 302 },
    });
    expect(seen.map((i) => i.redirect)).toEqual(['manual']);
  });

  it('a body above the size cap is bad_response', async () => {
    const p = createCriminalIpProvider({
      apiKey: OTHER_KEY,
      fetch: async () => new Response('x'.repeat(2 * 1024 * 1024)),
    });
    expect(await p.lookup(ip('203.0.113.23'))).toMatchObject({
      ok: false,
      failure: { kind: 'bad_response' },
    });
  });
});

describe('criminalip provider: deadlines', () => {
  it("the caller's AbortSignal ends a slow call as timeout", async () => {
    const base = freshScope();
    await setFakeMode(base, { mode: 'slow', delayMs: 3_000 });
    const started = Date.now();
    const r = await provider(base).lookup(ip('203.0.113.30'), AbortSignal.timeout(150));
    expect(Date.now() - started).toBeLessThan(2_000);
    expect(r).toMatchObject({ ok: false, failure: { kind: 'timeout', message: 'aborted' } });
    expect((await fakeStats(base)).calls).toBe(1);
  });

  it("the provider's own deadline ends a slow call as timeout", async () => {
    const base = freshScope();
    await setFakeMode(base, { mode: 'slow', delayMs: 3_000 });
    const r = await provider(base, FAKE_CRIMINALIP_KEY, 150).lookup(ip('203.0.113.31'));
    expect(r).toMatchObject({
      ok: false,
      failure: { kind: 'timeout', message: 'no answer within 150 ms' },
    });
  });

  it('an already aborted signal makes no call', async () => {
    const base = freshScope();
    const controller = new AbortController();
    controller.abort();
    const r = await provider(base).lookup(ip('203.0.113.32'), controller.signal);
    expect(r).toMatchObject({ ok: false, failure: { kind: 'timeout' } });
    expect((await fakeStats(base)).calls).toBe(0);
  });

  it('a slow call within the deadline succeeds', async () => {
    const base = freshScope();
    await setFakeMode(base, { mode: 'slow', delayMs: 100 });
    const r = await provider(base).lookup(ip('203.0.113.33'), AbortSignal.timeout(5_000));
    expect(r.ok).toBe(true);
  });
});

describe('criminalip provider: the fake counts calls and concurrency', () => {
  it('records the most calls ever in flight and refuses overlapping ones', async () => {
    const base = freshScope();
    await setFakeMode(base, { mode: 'slow', delayMs: 300 });
    const p = provider(base);
    const [a, b] = await Promise.all([p.lookup(ip('203.0.113.40')), p.lookup(ip('203.0.113.41'))]);
    const kinds = [a, b].map((r) => (r.ok ? 'ok' : r.failure.kind)).sort();
    expect(kinds).toEqual(['concurrency', 'ok']);
    const stats = await fakeStats(base);
    expect(stats.calls).toBe(2);
    expect(stats.maxConcurrent).toBe(2);
    expect(stats.inFlight).toBe(0);
  });

  it('sequential calls never overlap', async () => {
    const base = freshScope();
    const p = provider(base);
    for (const a of ['203.0.113.42', '203.0.113.43', '203.0.113.44'])
      expect((await p.lookup(ip(a))).ok).toBe(true);
    const stats = await fakeStats(base);
    expect(stats.calls).toBe(3);
    expect(stats.maxConcurrent).toBe(1);
  });

  it('an aborted call ends at the fake with its connection, unless holdAfterAbort', async () => {
    const ended = freshScope();
    await setFakeMode(ended, { mode: 'slow', delayMs: 2_000 });
    const p1 = provider(ended);
    await p1.lookup(ip('203.0.113.46'), AbortSignal.timeout(100));
    await setFakeMode(ended, { mode: 'success' });
    expect((await p1.lookup(ip('203.0.113.46'))).ok).toBe(true);
    expect((await fakeStats(ended)).maxConcurrent).toBe(1);

    // The real API goes on with a call its client gave up on: the next one overlaps it.
    const held = freshScope();
    await setFakeMode(held, { mode: 'slow', delayMs: 2_000, holdAfterAbort: true });
    const p2 = provider(held);
    await p2.lookup(ip('203.0.113.47'), AbortSignal.timeout(100));
    await setFakeMode(held, { mode: 'success' });
    expect(await p2.lookup(ip('203.0.113.47'))).toMatchObject({
      ok: false,
      failure: { kind: 'concurrency' },
    });
    const stats = await fakeStats(held);
    expect(stats.maxConcurrent).toBe(2);
    expect(stats.inFlight).toBe(1);
  });

  it('a mode limited by `times` returns to success', async () => {
    const base = freshScope();
    await setFakeMode(base, { mode: 'concurrency', times: 1 });
    const p = provider(base);
    expect(await p.lookup(ip('203.0.113.45'))).toMatchObject({
      ok: false,
      failure: { kind: 'concurrency' },
    });
    expect((await p.lookup(ip('203.0.113.45'))).ok).toBe(true);
  });
});

describe('criminalip provider: only public addresses, and never the key', () => {
  const notPublic = [
    '10.1.2.3',
    '127.0.0.1',
    '192.168.1.1',
    '172.16.0.9',
    '100.64.0.1',
    '169.254.1.1',
    '0.0.0.0',
    '224.0.0.1',
    '255.255.255.255',
    '::1',
    'fe80::1',
    'fc00::1',
    'ff02::1',
    '::ffff:10.0.0.1',
  ];
  it('answers invalid_ip for non-public addresses without any call', async () => {
    const base = freshScope();
    const p = provider(base);
    for (const text of notPublic) {
      const r = await p.lookup(ip(text));
      expect(r, text).toMatchObject({ ok: false, failure: { kind: 'invalid_ip' } });
      expect(!r.ok && r.failure.status).toBeUndefined();
    }
    expect((await fakeStats(base)).calls).toBe(0);
  });

  it('keeps the key out of every failing result, even when the API echoes it', async () => {
    const modes: FakeMode[] = [
      'invalid_key',
      'quota',
      'concurrency',
      'invalid_ip',
      'html500',
      'html200',
      'wrong_json',
      'echo_key',
    ];
    for (const mode of modes) {
      const base = freshScope();
      await setFakeMode(base, { mode, httpErrors: mode === 'html500' });
      const r = await provider(base).lookup(ip('203.0.113.50'));
      expect(r.ok, mode).toBe(false);
      expect(JSON.stringify(r), mode).not.toContain(FAKE_CRIMINALIP_KEY);
    }
    const echoed = freshScope();
    await setFakeMode(echoed, { mode: 'echo_key' });
    const r = await provider(echoed).lookup(ip('203.0.113.50'));
    expect(r).toMatchObject({
      ok: false,
      failure: { kind: 'invalid_key', message: 'invalid api key: [redacted]' },
    });
  });

  it('keeps the key out of network and timeout failures, and cuts long messages', async () => {
    const key = 'secret-key-that-must-not-leak';
    const p = createCriminalIpProvider({
      apiKey: key,
      fetch: async () => {
        throw new Error(`connect failed with header x-api-key: ${key} ${'x'.repeat(500)}`);
      },
    });
    const r = await p.lookup(ip('203.0.113.51'));
    expect(r).toMatchObject({ ok: false, failure: { kind: 'network' } });
    expect(JSON.stringify(r)).not.toContain(key);
    expect(!r.ok && r.failure.message.length).toBeLessThanOrEqual(PROVIDER_MAX_MESSAGE_CHARS);
  });

  it('refuses a missing key or a bad base URL at construction', () => {
    expect(() => createProvider('criminalip', { apiKey: '' })).toThrow(/apiKey/);
    expect(() => createProvider('criminalip', { apiKey: 'k', baseUrl: 'not a url' })).toThrow(
      /baseUrl/,
    );
    expect(() => createProvider('criminalip', { apiKey: 'k', baseUrl: 'ftp://x' })).toThrow(
      /baseUrl/,
    );
  });

  it('sends the documented request', async () => {
    const seen: Array<{ url: string; headers: Headers }> = [];
    const p = createCriminalIpProvider({
      apiKey: 'the-key',
      fetch: async (url, init) => {
        seen.push({ url, headers: new Headers(init.headers) });
        return Response.json({ status: 200, ip: '203.0.113.60', score: { inbound: 'Low' } });
      },
    });
    expect((await p.lookup(ip('203.0.113.60'))).ok).toBe(true);
    expect(seen[0]?.url).toBe(
      'https://api.criminalip.io/v2/feature/ip/suspicious-info?ip=203.0.113.60',
    );
    expect(seen[0]?.headers.get('x-api-key')).toBe('the-key');
  });
});
