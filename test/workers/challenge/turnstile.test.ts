/**
 * Siteverify against a local fake answering in the documented shapes: a verdict as data for
 * every answer (yes, no, slow, broken, unreachable), and the secret in none of them.
 */
import { describe, expect, it } from 'vitest';
import {
  type TurnstileVerifyOptions,
  verifyTurnstileToken,
} from '../../../src/challenge/turnstile';
import { TURNSTILE_ACTION, TURNSTILE_MAX_TOKEN_CHARS } from '../../../src/constants';
import {
  FAKE_TURNSTILE_HOSTNAME,
  FAKE_TURNSTILE_SECRET,
  type FakeTokenKind,
  fakeToken,
  siteverifySeen,
} from '../../support/fake-turnstile-protocol';
import { siteverifyUrl, turnstileBase } from './support';

function verify(kind: FakeTokenKind, extra: Partial<TurnstileVerifyOptions> = {}) {
  return verifyTurnstileToken({
    secret: FAKE_TURNSTILE_SECRET,
    token: fakeToken(kind),
    remoteIp: '203.0.113.7',
    url: siteverifyUrl(),
    ...extra,
  });
}

const noNetwork = () => Promise.reject(new Error('must not be called'));

describe('verifyTurnstileToken', () => {
  it('accepts a token Turnstile accepts, posting the documented form fields', async () => {
    const token = fakeToken('pass');
    const result = await verifyTurnstileToken({
      secret: FAKE_TURNSTILE_SECRET,
      token,
      remoteIp: '2001:db8::7',
      url: siteverifyUrl(),
      expectedHostname: FAKE_TURNSTILE_HOSTNAME,
      expectedAction: TURNSTILE_ACTION,
    });
    expect(result).toEqual({ ok: true });
    const seen = await siteverifySeen(turnstileBase(), token);
    expect(seen).toEqual([
      {
        contentType: expect.stringMatching(/^application\/x-www-form-urlencoded/),
        secretOk: true,
        response: token,
        remoteip: '2001:db8::7',
      },
    ]);
  });

  it('leaves remoteip out when there is none', async () => {
    const token = fakeToken('pass');
    const result = await verifyTurnstileToken({
      secret: FAKE_TURNSTILE_SECRET,
      token,
      remoteIp: null,
      url: siteverifyUrl(),
    });
    expect(result).toEqual({ ok: true });
    expect((await siteverifySeen(turnstileBase(), token))[0]?.remoteip).toBeNull();
  });

  it('compares the hostname without regard to case', async () => {
    expect(await verify('pass', { expectedHostname: 'GATE.Test' })).toEqual({ ok: true });
  });

  it.each([
    ['fail', ['invalid-input-response']],
    ['dup', ['timeout-or-duplicate']],
  ] as const)('calls a %s token invalid with its error codes', async (kind, codes) => {
    expect(await verify(kind)).toEqual({ ok: false, reason: 'invalid', codes });
  });

  it('calls a token from another hostname or action invalid', async () => {
    expect(await verify('other-host', { expectedHostname: FAKE_TURNSTILE_HOSTNAME })).toEqual({
      ok: false,
      reason: 'invalid',
      codes: ['hostname-mismatch'],
    });
    expect(await verify('other-action', { expectedAction: TURNSTILE_ACTION })).toEqual({
      ok: false,
      reason: 'invalid',
      codes: ['action-mismatch'],
    });
    // Without expectations the same answers pass.
    expect(await verify('other-host')).toEqual({ ok: true });
  });

  it('calls internal-error and a refused secret unavailable (no verdict on the token)', async () => {
    expect(await verify('internal')).toEqual({
      ok: false,
      reason: 'unavailable',
      codes: ['internal-error'],
    });
    expect(await verify('pass', { secret: 'wrong-secret' })).toEqual({
      ok: false,
      reason: 'unavailable',
      codes: ['invalid-input-secret'],
    });
  });

  it('calls a 500 and a body that is not the documented JSON unavailable', async () => {
    expect(await verify('error500')).toEqual({
      ok: false,
      reason: 'unavailable',
      codes: ['http-500'],
    });
    expect(await verify('html')).toEqual({
      ok: false,
      reason: 'unavailable',
      codes: ['bad-response'],
    });
  });

  it('times out on a slow answer, within the deadline', async () => {
    const started = Date.now();
    expect(await verify('slow', { timeoutMs: 150 })).toEqual({ ok: false, reason: 'timeout' });
    expect(Date.now() - started).toBeLessThan(1_500);
  });

  it('times out even when the fetch ignores the abort signal', async () => {
    const hang = () => new Promise<Response>(() => {});
    expect(await verify('pass', { fetch: hang, timeoutMs: 50 })).toEqual({
      ok: false,
      reason: 'timeout',
    });
  });

  it('calls an unreachable endpoint unavailable', async () => {
    // A failed connection as fetch reports it (a real refused port makes workerd log the
    // failure as an uncaught exception even when the caller handles it).
    const unreachable = () => Promise.reject(new TypeError('Network connection lost.'));
    expect(await verify('pass', { fetch: unreachable })).toEqual({
      ok: false,
      reason: 'unavailable',
      codes: ['fetch-failed'],
    });
  });

  it('refuses an empty or over-long token without calling siteverify', async () => {
    expect(await verify('pass', { token: '', fetch: noNetwork })).toEqual({
      ok: false,
      reason: 'invalid',
      codes: ['missing-input-response'],
    });
    const long = 'x'.repeat(TURNSTILE_MAX_TOKEN_CHARS + 1);
    expect(await verify('pass', { token: long, fetch: noNetwork })).toEqual({
      ok: false,
      reason: 'invalid',
      codes: ['invalid-input-response'],
    });
  });

  it('reads only the documented shape', async () => {
    const answer =
      (body: string, status = 200) =>
      () =>
        Promise.resolve(new Response(body, { status }));
    const cases: Array<[string, number, unknown]> = [
      ['{"success":"yes"}', 200, { ok: false, reason: 'unavailable', codes: ['bad-response'] }],
      ['[true]', 200, { ok: false, reason: 'unavailable', codes: ['bad-response'] }],
      ['null', 200, { ok: false, reason: 'unavailable', codes: ['bad-response'] }],
      [
        '{"success":false,"error-codes":"x"}',
        200,
        { ok: false, reason: 'unavailable', codes: ['bad-response'] },
      ],
      ['{"success":false}', 200, { ok: false, reason: 'invalid', codes: [] }],
      [
        '{"success":false,"error-codes":["bad-request"]}',
        400,
        { ok: false, reason: 'invalid', codes: ['bad-request'] },
      ],
      ['{"success":true,"error-codes":[]}', 200, { ok: true }],
      ['', 429, { ok: false, reason: 'unavailable', codes: ['http-429'] }],
      ['x'.repeat(64 * 1024), 200, { ok: false, reason: 'unavailable', codes: ['bad-response'] }],
    ];
    for (const [body, status, expected] of cases)
      expect(await verify('pass', { fetch: answer(body, status) }), body.slice(0, 40)).toEqual(
        expected,
      );
  });

  it('never puts the secret into a result', async () => {
    const results = [
      await verify('leak'),
      await verify('pass', { secret: `${FAKE_TURNSTILE_SECRET}-wrong` }),
      await verify('pass', {
        fetch: () => Promise.reject(new Error(`connect failed: ${FAKE_TURNSTILE_SECRET}`)),
      }),
      await verify('pass', {
        fetch: () =>
          Promise.resolve(
            new Response(
              JSON.stringify({ success: false, 'error-codes': [`x-${FAKE_TURNSTILE_SECRET}`] }),
            ),
          ),
      }),
    ];
    expect(results[0]).toEqual({ ok: false, reason: 'invalid', codes: ['invalid-input-response'] });
    for (const r of results) expect(JSON.stringify(r)).not.toContain(FAKE_TURNSTILE_SECRET);
  });
});
