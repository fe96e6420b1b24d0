/**
 * The challenge form's POST: a cookie only for a token Turnstile accepted, the page again for a
 * refused one, fail-open without a cookie when there is no verdict, and the return path
 * validated on the way back. The last block runs the real siteverify client against the fake.
 */
import { describe, expect, it } from 'vitest';
import { readClearanceCookie, verifyClearance } from '../../../src/challenge/cookie';
import { CHALLENGE_FIELDS } from '../../../src/challenge/page';
import { type ChallengeSubmitDeps, handleChallengeSubmit } from '../../../src/challenge/submit';
import { type TurnstileResult, verifyTurnstileToken } from '../../../src/challenge/turnstile';
import {
  CHALLENGE_MAX_FORM_BYTES,
  CHALLENGE_PATH,
  CLEARANCE_COOKIE_NAME,
  CLEARANCE_TTL_S,
  REFERENCE_HEADER,
  TURNSTILE_ACTION,
} from '../../../src/constants';
import { FAKE_TURNSTILE_SECRET, fakeToken } from '../../support/fake-turnstile-protocol';
import { ip, NOW, SECRET, siteverifyUrl } from './support';

const CLIENT = ip('203.0.113.7');

interface Call {
  token: string;
  remoteIp: string;
  hostname: string;
}

function deps(answer: TurnstileResult | (() => Promise<TurnstileResult>), over = {}) {
  const calls: Call[] = [];
  const d: ChallengeSubmitDeps = {
    secret: SECRET,
    siteKey: '1x00000000000000000000AA',
    clientIp: CLIENT,
    verify: async (input) => {
      calls.push(input);
      return typeof answer === 'function' ? answer() : answer;
    },
    now: () => NOW,
    reference: () => 'feedc0ffee000001',
    ...over,
  };
  return { d, calls };
}

function post(
  fields: Record<string, string>,
  init: { accept?: string; url?: string; contentType?: string; body?: string } = {},
) {
  return new Request(init.url ?? `https://gate.test${CHALLENGE_PATH}`, {
    method: 'POST',
    headers: {
      'content-type': init.contentType ?? 'application/x-www-form-urlencoded',
      accept: init.accept ?? 'text/html',
    },
    body: init.body ?? new URLSearchParams(fields).toString(),
  });
}

const form = (token: string, returnTo = '/login?x=1') => ({
  [CHALLENGE_FIELDS.token]: token,
  [CHALLENGE_FIELDS.returnTo]: returnTo,
});

/** The cookie value a Set-Cookie header carries. */
function cookieFrom(res: Response): string | null {
  const header = res.headers.get('set-cookie');
  return header === null ? null : readClearanceCookie(header.split(';')[0]);
}

describe('handleChallengeSubmit', () => {
  it('on success redirects (303) to the return path with a clearance for the client', async () => {
    const { d, calls } = deps({ ok: true });
    const { response, outcome, reference } = await handleChallengeSubmit(post(form('tok')), d);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/login?x=1');
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(response.headers.get(REFERENCE_HEADER)).toBe(reference);
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(
      new RegExp(`^${CLEARANCE_COOKIE_NAME}=[A-Za-z0-9_-]+\\.[A-Za-z0-9_-]+;`),
    );
    for (const attr of [
      'HttpOnly',
      'Secure',
      'SameSite=Lax',
      'Path=/',
      `Max-Age=${CLEARANCE_TTL_S}`,
    ])
      expect(setCookie).toContain(attr);
    const value = cookieFrom(response);
    const check = await verifyClearance(SECRET, value, CLIENT, NOW);
    expect(check.ok).toBe(true);
    expect(outcome).toEqual({ kind: 'cleared', expiresAt: check.ok ? check.expiresAt : -1 });
    expect(calls).toEqual([{ token: 'tok', remoteIp: '203.0.113.7', hostname: 'gate.test' }]);
  });

  it('binds an IPv6 clearance to the /64 and honours the configured lifetime', async () => {
    const v6 = ip('2001:db8:bad:1::99');
    const { d } = deps({ ok: true }, { clientIp: v6, ttlSeconds: 60 });
    const { response } = await handleChallengeSubmit(post(form('tok')), d);
    expect(response.headers.get('set-cookie')).toContain('Max-Age=60');
    const value = cookieFrom(response);
    expect((await verifyClearance(SECRET, value, ip('2001:db8:bad:1::1'), NOW)).ok).toBe(true);
    expect(await verifyClearance(SECRET, value, ip('2001:db8:bad:2::1'), NOW)).toEqual({
      ok: false,
      reason: 'other_ip',
    });
  });

  it.each([
    '//evil.com',
    'https://evil.com/login',
    '/\\evil.com',
    'javascript:alert(1)',
    '/.//evil.com',
    `${CHALLENGE_PATH}`,
  ])('redirects to / instead of %j', async (returnTo) => {
    const { d } = deps({ ok: true });
    const { response } = await handleChallengeSubmit(post(form('tok', returnTo)), d);
    expect(response.status).toBe(303);
    expect(response.headers.get('location')).toBe('/');
  });

  it('redirects to / when the return field is missing', async () => {
    const { d } = deps({ ok: true });
    const res = await handleChallengeSubmit(post({ [CHALLENGE_FIELDS.token]: 'tok' }), d);
    expect(res.response.headers.get('location')).toBe('/');
  });

  it('shows the page again, without a cookie, when the token is refused', async () => {
    const { d } = deps({ ok: false, reason: 'invalid', codes: ['timeout-or-duplicate'] });
    const { response, outcome, reference } = await handleChallengeSubmit(
      post(form('tok', '/x?q="><script>alert(1)</script>')),
      d,
    );
    expect(response.status).toBe(403);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(response.headers.get(REFERENCE_HEADER)).toBe(reference);
    const html = await response.text();
    expect(html).toContain('did not succeed');
    expect(html).toContain('data-sitekey="1x00000000000000000000AA"');
    expect(html.match(/<script/gi)).toHaveLength(1);
    expect(html).not.toContain('timeout-or-duplicate');
    expect(outcome).toEqual({ kind: 'refused', codes: ['timeout-or-duplicate'] });
  });

  it('answers a refused JSON client in JSON', async () => {
    const { d } = deps({ ok: false, reason: 'invalid', codes: ['invalid-input-response'] });
    const { response } = await handleChallengeSubmit(
      post(form('tok'), { accept: 'application/json' }),
      d,
    );
    expect(response.status).toBe(403);
    expect(await response.json()).toMatchObject({ error: 'challenge_required' });
  });

  it('calls an empty token refused', async () => {
    const { d } = deps({ ok: false, reason: 'invalid', codes: ['missing-input-response'] });
    const { response, outcome } = await handleChallengeSubmit(post(form('')), d);
    expect(response.status).toBe(403);
    expect(outcome.kind).toBe('refused');
  });

  const noVerdict: Array<['timeout' | 'unavailable', TurnstileResult, string[]]> = [
    ['timeout', { ok: false, reason: 'timeout' }, []],
    [
      'unavailable',
      { ok: false, reason: 'unavailable', codes: ['internal-error'] },
      ['internal-error'],
    ],
  ];
  it.each(noVerdict)(
    'fails open on %s: back to the return path, no cookie',
    async (reason, answer, codes) => {
      const { d } = deps(answer);
      const { response, outcome } = await handleChallengeSubmit(post(form('tok')), d);
      expect(response.status).toBe(303);
      expect(response.headers.get('location')).toBe('/login?x=1');
      expect(response.headers.get('set-cookie')).toBeNull();
      expect(outcome).toEqual({ kind: 'no_verdict', reason, codes });
    },
  );

  it('fails open, without a cookie, when the verifier throws', async () => {
    const { d } = deps(() => Promise.reject(new Error(`boom ${SECRET}`)));
    const { response, outcome } = await handleChallengeSubmit(post(form('tok')), d);
    expect(response.status).toBe(303);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(outcome).toEqual({ kind: 'no_verdict', reason: 'unavailable', codes: ['verify-threw'] });
    expect(JSON.stringify(outcome)).not.toContain(SECRET);
  });

  it('sends a client without a usable IP back without asking Turnstile', async () => {
    const { d, calls } = deps({ ok: true }, { clientIp: null });
    const { response, outcome } = await handleChallengeSubmit(post(form('tok')), d);
    expect(response.status).toBe(303);
    expect(response.headers.get('set-cookie')).toBeNull();
    expect(outcome).toEqual({ kind: 'no_client_ip' });
    expect(calls).toHaveLength(0);
  });

  it('refuses other methods, other encodings and oversized forms before verifying', async () => {
    const { d, calls } = deps({ ok: true });
    const get = await handleChallengeSubmit(new Request(`https://gate.test${CHALLENGE_PATH}`), d);
    expect(get.response.status).toBe(405);
    expect(get.response.headers.get('allow')).toBe('POST');
    expect(get.outcome).toEqual({ kind: 'bad_request', problem: 'method' });

    const json = await handleChallengeSubmit(
      post({}, { contentType: 'application/json', body: '{"cf-turnstile-response":"tok"}' }),
      d,
    );
    expect(json.response.status).toBe(415);
    expect(json.outcome).toEqual({ kind: 'bad_request', problem: 'content_type' });

    const big = await handleChallengeSubmit(
      post({}, { body: `${CHALLENGE_FIELDS.token}=${'x'.repeat(CHALLENGE_MAX_FORM_BYTES)}` }),
      d,
    );
    expect(big.response.status).toBe(400);
    expect(big.outcome).toEqual({ kind: 'bad_request', problem: 'body' });
    for (const r of [get, json, big]) {
      expect(r.response.headers.get('cache-control')).toBe('no-store');
      expect(r.response.headers.get('set-cookie')).toBeNull();
    }
    expect(calls).toHaveLength(0);
  });

  it('accepts a form content type with parameters', async () => {
    const { d } = deps({ ok: true });
    const res = await handleChallengeSubmit(
      post(form('tok'), { contentType: 'Application/X-WWW-Form-Urlencoded; charset=UTF-8' }),
      d,
    );
    expect(res.response.status).toBe(303);
  });
});

describe('handleChallengeSubmit with the siteverify client against the fake', () => {
  const withSiteverify = (timeoutMs = 1_000) =>
    deps(
      { ok: true },
      {
        verify: ({ token, remoteIp, hostname }: Call) =>
          verifyTurnstileToken({
            secret: FAKE_TURNSTILE_SECRET,
            token,
            remoteIp,
            url: siteverifyUrl(),
            timeoutMs,
            expectedHostname: hostname,
            expectedAction: TURNSTILE_ACTION,
          }),
      },
    ).d;

  it('clears a client whose token Turnstile accepts', async () => {
    const { response, outcome } = await handleChallengeSubmit(
      post(form(fakeToken('pass'))),
      withSiteverify(),
    );
    expect(response.status).toBe(303);
    expect(outcome.kind).toBe('cleared');
    expect((await verifyClearance(SECRET, cookieFrom(response), CLIENT, NOW)).ok).toBe(true);
  });

  it('refuses a token solved on another hostname', async () => {
    const { response, outcome } = await handleChallengeSubmit(
      post(form(fakeToken('other-host'))),
      withSiteverify(),
    );
    expect(response.status).toBe(403);
    expect(outcome).toEqual({ kind: 'refused', codes: ['hostname-mismatch'] });
  });

  it('fails open without a cookie when siteverify is slow or broken', async () => {
    for (const kind of ['slow', 'error500', 'internal'] as const) {
      const { response, outcome } = await handleChallengeSubmit(
        post(form(fakeToken(kind))),
        withSiteverify(150),
      );
      expect(response.status, kind).toBe(303);
      expect(response.headers.get('set-cookie'), kind).toBeNull();
      expect(outcome.kind, kind).toBe('no_verdict');
    }
  });

  it('never shows either secret to the client', async () => {
    for (const kind of ['pass', 'fail', 'leak', 'error500'] as const) {
      const { response, outcome } = await handleChallengeSubmit(
        post(form(fakeToken(kind))),
        withSiteverify(),
      );
      const text = `${[...response.headers].join('\n')}\n${await response.text()}\n${JSON.stringify(outcome)}`;
      expect(text).not.toContain(FAKE_TURNSTILE_SECRET);
      expect(text).not.toContain(SECRET);
    }
  });
});
