/**
 * The origin fails: nothing listens on its port, it drops the connection without answering,
 * it is slow, it answers 5xx itself. ipgate answers 502 only when it could not get an answer
 * from the origin at all, with a fixed text and a reference id and nothing about the failure;
 * an origin's own 5xx reaches the client as the origin sent it; a slow answer arrives intact.
 * Blocks and challenges do not depend on the origin. Every decision is still recorded.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { REFERENCE_HEADER } from '../../../src/constants';
import type { Env } from '../../../src/env';
import { FAKE_TURNSTILE_SECRET } from '../../support/fake-turnstile-protocol';
import {
  clearPolicy,
  closedPortUrl,
  from,
  harness,
  originSaw,
  originUrl,
  putPolicy,
  SAMPLE_CSV,
  seedTable,
} from '../helpers';

beforeAll(async () => {
  await seedTable(SAMPLE_CSV);
  await clearPolicy();
});

/** A 502 from ipgate: fixed text, its reference in header and body, no detail of the failure. */
async function expectUnreachable(res: Response, origin: string): Promise<string> {
  expect(res.status).toBe(502);
  expect(res.headers.get('content-type')).toBe('text/plain; charset=utf-8');
  expect(res.headers.get('cache-control')).toBe('no-store');
  const ref = res.headers.get(REFERENCE_HEADER) ?? '';
  expect(ref).toMatch(/^[0-9a-f]{16}$/);
  const text = await res.text();
  expect(text).toBe(`The site’s server could not be reached.\nReference: ${ref}\n`);
  expect(text).not.toContain(new URL(origin).port);
  return ref;
}

describe('the origin refuses connections', () => {
  let env: Partial<Env>;
  beforeAll(async () => {
    env = { ORIGIN_URL: await closedPortUrl() };
  });

  it('answers 502 and records the decision under the same reference', async () => {
    const h = harness();
    const { headers } = from('203.0.113.10');
    const ref = await expectUnreachable(
      await h.fetch('/login', { headers }, env),
      env.ORIGIN_URL ?? '',
    );
    expect(h.events).toMatchObject([{ action: 'allow', reason: 'clean', ref }]);
  });

  it.each([
    ['a 20 MB POST body', { method: 'POST', body: new Uint8Array(20 * 1024 * 1024) }],
    ['a WebSocket upgrade', { headers: { Upgrade: 'websocket' } }],
    ['a JSON client', { headers: { Accept: 'application/json' } }],
  ])('answers 502 to %s', async (_name, init: RequestInit) => {
    const h = harness();
    const { headers } = from('203.0.113.10', init.headers as Record<string, string>);
    await expectUnreachable(
      await h.fetch('/upload', { ...init, headers }, env),
      env.ORIGIN_URL ?? '',
    );
    expect(h.events).toMatchObject([{ action: 'allow', reason: 'no_rules' }]);
  });

  it('still blocks and challenges without the origin', async () => {
    const siteKey = '1x00000000000000000000AA';
    await putPolicy({
      challenge: { siteKey },
      routeClasses: [
        {
          name: 'auth',
          paths: ['/login'],
          rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
          unknown: 'challenge',
        },
      ],
    });
    try {
      const h = harness();
      const withTurnstile = { ...env, TURNSTILE_SECRET: FAKE_TURNSTILE_SECRET };
      const bad = from('203.0.113.7');
      const blocked = await h.fetch('/login', { headers: bad.headers }, withTurnstile);
      expect(blocked.status).toBe(403);
      expect(await blocked.text()).toContain('Access denied');
      const stranger = from('203.0.113.201');
      const challenged = await h.fetch('/login', { headers: stranger.headers }, withTurnstile);
      expect(challenged.status).toBe(403);
      expect(await challenged.text()).toContain(siteKey);
      expect(h.events.map((e) => [e.action, e.reason])).toEqual([
        ['block', 'reputation_rule'],
        ['challenge', 'unknown'],
      ]);
    } finally {
      await clearPolicy();
    }
  });
});

describe('the origin fails otherwise', () => {
  it('answers 502 when the origin closes the connection without an answer', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.10');
    const res = await h.fetch('/drop', { headers });
    await expectUnreachable(res, originUrl());
    expect(await originSaw(id)).toHaveLength(1);
    expect(h.events).toMatchObject([{ action: 'allow', reason: 'no_rules' }]);
  });

  it.each([500, 502, 503, 504])('passes the origin’s own %i through untouched', async (code) => {
    const h = harness();
    const { id, headers } = from('203.0.113.10');
    const res = await h.fetch(`/status?code=${code}`, { headers });
    expect(res.status).toBe(code);
    expect(res.headers.get('x-origin')).toBe('test');
    expect(res.headers.get(REFERENCE_HEADER)).toBeNull();
    expect(await res.text()).toBe(`origin status ${code}\n`);
    expect(await originSaw(id)).toHaveLength(1);
  });

  it('waits for a slow origin and returns its answer intact', async () => {
    const h = harness();
    const { id, headers } = from('203.0.113.10');
    const size = 1024 * 1024;
    const started = Date.now();
    const res = await h.fetch(`/bytes?n=${size}&delayMs=2000`, { headers });
    expect(Date.now() - started).toBeGreaterThanOrEqual(2_000);
    expect(res.status).toBe(200);
    const digest = new crypto.DigestStream('SHA-256');
    await res.body?.pipeTo(digest);
    expect(Number(digest.bytesWritten)).toBe(size);
    const hex = [...new Uint8Array(await digest.digest)]
      .map((b) => b.toString(16).padStart(2, '0'))
      .join('');
    expect(hex).toBe(res.headers.get('x-body-sha256'));
    expect(await originSaw(id)).toHaveLength(1);
    // The gate's own time, not the origin's, is what the event records.
    expect(h.events[0]?.latencyMs).toBeLessThan(1_000);
  });
});
