/**
 * Injected failures on the live path, through the real chain: a table miss, the API cache in
 * real local KV, the broker Durable Object and the local fake Criminal IP API (each test in its
 * own fake scope and its own broker). The provider answers 500, hangs, refuses the key, has no
 * quota left, sends HTML or half a body; the broker binding throws or never answers; the API
 * cache fails. Every request still gets what the route class's `unknown` action says (allow,
 * challenge or block), never a 5xx; every decision is recorded with its reason and what failed;
 * the API key appears in no event, no stored row and no response.
 */
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { LIVE_BACKOFF_MS, LIVE_CALL_TIMEOUT_MS } from '../../../src/constants';
import type { Env } from '../../../src/env';
import { parseIp } from '../../../src/ip/parse';
import { apiCacheKey } from '../../../src/reputation/api-cache';
import { LiveReputation } from '../../../src/reputation/live';
import {
  FAKE_CRIMINALIP_KEY,
  type FakeModeRequest,
  fakeStats,
  scopeUrl,
  setFakeMode,
  setFakeRecords,
} from '../../support/fake-criminalip-protocol';
import { FAKE_TURNSTILE_SECRET } from '../../support/fake-turnstile-protocol';
import {
  clearPolicy,
  closedPortUrl,
  expectBlocked,
  expectPassed,
  from,
  type Harness,
  harness,
  originSaw,
  putPolicy,
  testEnv,
  testId,
  useSampleTable,
} from '../helpers';

useSampleTable();

const SITE_KEY = '1x00000000000000000000AA';
const CRITICAL = { score: { inbound: 'Critical', outbound: 'Critical' } };

type UnknownAction = 'allow' | 'challenge' | 'block';
const ACTIONS: UnknownAction[] = ['allow', 'challenge', 'block'];

/** The auth class with the given unknown action (and a Turnstile site key for challenges). */
function policyFor(unknown: UnknownAction, liveDeadlineMs = 1_500) {
  return {
    challenge: { siteKey: SITE_KEY },
    routeClasses: [
      {
        name: 'auth',
        paths: ['/login'],
        rules: [{ name: 'dirty', scores: ['dangerous', 'critical'], action: 'block' }],
        unknown,
      },
    ],
    lookup: { live: { deadlineMs: liveDeadlineMs } },
  };
}

let ipCounter = 0;
/** A client address no table, cache or other test knows (its own IPv6 /64). */
function freshIp(): string {
  ipCounter += 1;
  return `2001:db8:fa:${ipCounter.toString(16)}::1`;
}

/** Every harness made in the current test, so afterEach can check all their events. */
let harnesses: Harness[] = [];
beforeEach(() => {
  harnesses = [];
});
afterEach(async () => {
  for (const h of harnesses)
    for (const e of h.events) expect(JSON.stringify(e)).not.toContain(FAKE_CRIMINALIP_KEY);
  await clearPolicy();
});

/**
 * A fresh fake scope and broker. `env` points the Worker at them with the fake's key; `isolate`
 * builds another isolate's worth of gate on the same broker.
 */
function live(
  label: string,
  options: {
    answerMaxMs?: number;
    now?: () => number;
    gate?: Parameters<typeof harness>[0];
  } = {},
) {
  const scope = testId(label);
  const base = scopeUrl(inject('criminalIpUrl'), scope);
  const env: Partial<Env> = {
    CRIMINALIP_API_KEY: FAKE_CRIMINALIP_KEY,
    CRIMINALIP_API_URL: base,
    TURNSTILE_SECRET: FAKE_TURNSTILE_SECRET,
  };
  const isolate = () => {
    const h = harness({
      ...options.gate,
      live: new LiveReputation({
        brokerName: `:${scope}`,
        answerMaxMs: options.answerMaxMs,
        now: options.now,
      }),
    });
    harnesses.push(h);
    return h;
  };
  return { base, env, h: isolate(), isolate };
}

/** Checks the response is what `unknown` says, that ipgate's own page tells nothing, and no 5xx. */
async function expectActed(
  res: Response,
  id: string,
  action: UnknownAction,
  detail: string,
): Promise<void> {
  expect(res.status).toBeLessThan(500);
  if (action === 'allow') return expectPassed(res, id);
  const body = await res.text();
  expect(res.status).toBe(403);
  expect(await originSaw(id)).toHaveLength(0);
  if (action === 'challenge') expect(body).toContain(SITE_KEY);
  else expect(body).not.toContain(SITE_KEY);
  expect(body).not.toContain(FAKE_CRIMINALIP_KEY);
  if (detail) expect(body).not.toContain(detail);
  expect(body).not.toMatch(/quota|invalid_key|bad_response|network|broker|timeout/i);
}

/** What a provider failure leaves in the event's detail (`<broker refusal>: <kind>: <message>`). */
const PROVIDER_FAILURES: [string, FakeModeRequest, RegExp][] = [
  ['HTTP 500 with an HTML page', { mode: 'html500' }, /^failed: server: HTTP 500, text\/html/],
  ['limit exceeded', { mode: 'quota' }, /^failed: quota: limit exceeded$/],
  [
    'limit exceeded as HTTP 403',
    { mode: 'quota', httpErrors: true },
    /^failed: quota: limit exceeded$/,
  ],
  ['invalid api key', { mode: 'invalid_key' }, /^failed: invalid_key: invalid api key$/],
  [
    'invalid api key as HTTP 401',
    { mode: 'invalid_key', httpErrors: true },
    /^failed: invalid_key: invalid api key$/,
  ],
  [
    'an error that repeats the key',
    { mode: 'echo_key' },
    /^failed: invalid_key: invalid api key: \[redacted\]$/,
  ],
  [
    'an HTML page instead of JSON',
    { mode: 'html200' },
    /^failed: bad_response: not JSON \(HTTP 200, text\/html/,
  ],
  [
    'truncated JSON',
    { mode: 'truncated_json' },
    /^failed: bad_response: not JSON \(HTTP 200, application\/json/,
  ],
  ['a connection closed mid-body', { mode: 'drop_mid_body' }, /^failed: network: /],
  ['JSON of another shape', { mode: 'wrong_json' }, /^failed: bad_response: /],
];

describe('the provider fails', () => {
  for (const action of ACTIONS)
    it.each(PROVIDER_FAILURES)(`${action}s unknown on %s`, async (_name, mode, detail) => {
      await putPolicy(policyFor(action));
      const t = live('provider');
      await setFakeMode(t.base, mode);
      const { id, headers } = from(freshIp());
      const res = await t.h.fetch('/login', { headers }, t.env);
      const event = t.h.events[0];
      await expectActed(res, id, action, event?.detail ?? '');
      expect(t.h.events).toMatchObject([
        {
          action,
          reason: 'unknown',
          rule: 'unavailable',
          lookup: 'unavailable',
          routeClass: 'auth',
        },
      ]);
      expect(event?.detail).toMatch(detail);
      const stats = await fakeStats(t.base);
      expect(stats).toMatchObject({ calls: 1, rejectedKeys: 0, inFlight: 0 });
    });

  it('passes when the provider’s address refuses connections', async () => {
    const t = live('refused');
    const env = { ...t.env, CRIMINALIP_API_URL: await closedPortUrl() };
    const { id, headers } = from(freshIp());
    await expectPassed(await t.h.fetch('/login', { headers }, env), id);
    expect(t.h.events).toMatchObject([{ reason: 'unknown', lookup: 'unavailable' }]);
    expect(t.h.events[0]?.detail).toMatch(/^failed: network: /);
  });

  it.each([
    ['not a URL', 'not a url'],
    ['not http(s)', 'ftp://criminalip.example'],
  ])('passes, and spends no budget, when the provider base URL is %s', async (_name, url) => {
    const t = live('bad-base');
    const env = { ...t.env, CRIMINALIP_API_URL: url };
    for (let i = 0; i < 2; i++) {
      const { id, headers } = from(freshIp());
      await expectPassed(await t.h.fetch('/login', { headers }, env), id);
    }
    expect(t.h.events.map((e) => [e.reason, e.lookup])).toEqual([
      ['unknown', 'unavailable'],
      ['unknown', 'unavailable'],
    ]);
    expect(t.h.events[0]?.detail).toMatch(/^failed: TypeError: Criminal IP: baseUrl /);
    const health = (await (await t.h.fetch('/__ipgate/health', {}, env)).json()) as {
      live: { broker: { callsToday: number } };
    };
    expect(health.live.broker.callsToday).toBe(0);
  });

  it('stops asking once the key is refused, and every later request still follows the policy', async () => {
    await putPolicy(policyFor('block'));
    const t = live('refused-key');
    await setFakeMode(t.base, { mode: 'echo_key' });
    for (let i = 0; i < 3; i++) {
      const { id, headers } = from(freshIp());
      await expectActed(await t.h.fetch('/login', { headers }, t.env), id, 'block', '');
    }
    expect(t.h.events.map((e) => [e.action, e.reason, e.detail.split(':')[0]])).toEqual([
      ['block', 'unknown', 'failed'],
      ['block', 'unknown', 'invalid_key'],
      ['block', 'unknown', 'invalid_key'],
    ]);
    expect((await fakeStats(t.base)).calls).toBe(1);
  });

  it('keeps the key out of the stored rows of both decision stores', async () => {
    const points: AnalyticsEngineDataPoint[] = [];
    const dataset = { writeDataPoint: (p?: AnalyticsEngineDataPoint) => p && points.push(p) };
    const t = live('stored', { gate: { sink: undefined } });
    const h = t.h;
    await setFakeMode(t.base, { mode: 'echo_key' });
    const host = `${testId('host')}.test`;
    const { headers } = from(freshIp());
    const res = await h.fetch(
      `http://${host}/login`,
      { headers },
      {
        ...t.env,
        DECISIONS: dataset as AnalyticsEngineDataset,
      },
    );
    expect(res.status).toBe(200);
    const rows = await testEnv.DECISIONS_DB?.prepare(
      'SELECT reason, lookup, detail FROM decisions WHERE host = ?',
    )
      .bind(host)
      .all<{ reason: string; lookup: string; detail: string }>();
    expect(rows?.results).toHaveLength(1);
    expect(rows?.results[0]).toMatchObject({ reason: 'unknown', lookup: 'unavailable' });
    expect(rows?.results[0]?.detail).toContain('[redacted]');
    expect(JSON.stringify(rows?.results)).not.toContain(FAKE_CRIMINALIP_KEY);
    expect(points).toHaveLength(1);
    expect(JSON.stringify(points)).toContain('[redacted]');
    expect(JSON.stringify(points)).not.toContain(FAKE_CRIMINALIP_KEY);
  });
});

describe('the provider is slow', () => {
  it.each(ACTIONS)('%ss unknown at the deadline and keeps the late verdict', async (action) => {
    await putPolicy(policyFor(action, 300));
    const t = live('late');
    const ip = freshIp();
    await setFakeRecords(t.base, { criminalip: { [ip]: CRITICAL } });
    await setFakeMode(t.base, { mode: 'slow', delayMs: 1_000 });
    const first = from(ip);
    const started = Date.now();
    const run = t.h.start('/login', { headers: first.headers }, t.env);
    const res = await run.response;
    expect(Date.now() - started).toBeLessThan(900);
    await expectActed(res, first.id, action, '');
    await run.background();
    expect(t.h.events[0]).toMatchObject({ action, reason: 'unknown', lookup: 'timeout' });
    // The answer that came after the deadline is remembered and cached: the next request
    // from the IP is judged by it, in this isolate and in another one.
    const again = from(ip);
    await expectBlocked(await t.h.fetch('/login', { headers: again.headers }, t.env), again.id);
    const other = from(ip);
    const elsewhere = t.isolate();
    await expectBlocked(
      await elsewhere.fetch('/login', { headers: other.headers }, t.env),
      other.id,
    );
    expect(t.h.events[1]).toMatchObject({ reason: 'reputation_rule', lookup: 'hit' });
    expect(elsewhere.events[0]).toMatchObject({ reason: 'reputation_rule', lookup: 'hit' });
    expect((await fakeStats(t.base)).calls).toBe(1);
  });

  it.each(['allow', 'block'] as const)(
    '%ss unknown when the provider hangs past the broker’s own call timeout',
    async (action) => {
      await putPolicy(policyFor(action, 300));
      const t = live('hang');
      await setFakeMode(t.base, { mode: 'slow', delayMs: LIVE_CALL_TIMEOUT_MS + 4_000 });
      const ip = freshIp();
      const first = from(ip);
      const started = Date.now();
      const run = t.h.start('/login', { headers: first.headers }, t.env);
      const res = await run.response;
      expect(Date.now() - started).toBeLessThan(900);
      await expectActed(res, first.id, action, '');
      await run.background();
      // The broker gave up on the call and said so; the isolate remembers that for a while.
      expect(Date.now() - started).toBeLessThan(LIVE_CALL_TIMEOUT_MS + 3_000);
      expect((await fakeStats(t.base)).inFlight).toBe(0);
      const again = from(ip);
      await expectActed(
        await t.h.fetch('/login', { headers: again.headers }, t.env),
        again.id,
        action,
        '',
      );
      expect(t.h.events.map((e) => [e.action, e.reason, e.lookup])).toEqual([
        [action, 'unknown', 'timeout'],
        [action, 'unknown', 'unavailable'],
      ]);
      expect(t.h.events[1]?.detail).toBe(
        `failed: timeout: no answer within ${LIVE_CALL_TIMEOUT_MS} ms`,
      );
      expect((await fakeStats(t.base)).calls).toBe(1);
    },
  );
});

/** A broker binding whose object is reached through `stub`. */
function brokerBinding(stub: () => unknown): DurableObjectNamespace {
  const ns = testEnv.REPUTATION_BROKER as unknown as DurableObjectNamespace;
  return {
    idFromName: (name: string) => ns.idFromName(name),
    get: () => stub(),
  } as unknown as DurableObjectNamespace;
}

const BROKER_FAILURES: [string, () => DurableObjectNamespace, RegExp][] = [
  [
    'a binding that throws',
    () =>
      ({
        idFromName() {
          throw new Error('binding unavailable');
        },
      }) as unknown as DurableObjectNamespace,
    /^broker: Error: binding unavailable$/,
  ],
  [
    'an RPC call that rejects',
    () =>
      brokerBinding(() => ({
        lookup: () =>
          Promise.reject(new Error('Durable Object reset because its code was updated.')),
      })),
    /^broker: Error: Durable Object reset/,
  ],
  [
    'an RPC call that throws',
    () =>
      brokerBinding(() => ({
        lookup() {
          throw new TypeError('stub.lookup is not a function');
        },
      })),
    /^broker: TypeError: stub.lookup is not a function$/,
  ],
  [
    'an answer of the wrong shape',
    () => brokerBinding(() => ({ lookup: () => Promise.resolve(undefined) })),
    /^broker: TypeError: /,
  ],
];

describe('the broker Durable Object is unavailable', () => {
  for (const action of ACTIONS)
    it.each(BROKER_FAILURES)(`${action}s unknown on %s`, async (_name, binding, detail) => {
      await putPolicy(policyFor(action));
      const t = live('broker');
      const { id, headers } = from(freshIp());
      const res = await t.h.fetch(
        '/login',
        { headers },
        { ...t.env, REPUTATION_BROKER: binding() as never },
      );
      const event = t.h.events[0];
      await expectActed(res, id, action, event?.detail ?? '');
      expect(t.h.events).toMatchObject([{ action, reason: 'unknown', lookup: 'unavailable' }]);
      expect(event?.detail).toMatch(detail);
      expect((await fakeStats(t.base)).calls).toBe(0);
    });

  it('treats a missing binding as no live lookups: a table miss stays a miss', async () => {
    const t = live('unbound');
    const { id, headers } = from(freshIp());
    await expectPassed(
      await t.h.fetch('/login', { headers }, { ...t.env, REPUTATION_BROKER: undefined }),
      id,
    );
    expect(t.h.events).toMatchObject([{ reason: 'unknown', lookup: 'miss', detail: '' }]);
    expect((await fakeStats(t.base)).calls).toBe(0);
  });

  it.each(['allow', 'block'] as const)(
    '%ss unknown at the deadline when an RPC call never answers, and asks again later',
    async (action) => {
      await putPolicy(policyFor(action, 200));
      let calls = 0;
      const hanging = brokerBinding(() => ({
        lookup: () => {
          calls += 1;
          return new Promise(() => {});
        },
      }));
      let clock = Date.now();
      const t = live('broker-hang', { answerMaxMs: 400, now: () => clock });
      const env = { ...t.env, REPUTATION_BROKER: hanging as never };
      const ip = freshIp();
      const first = from(ip);
      const started = Date.now();
      const run = t.h.start('/login', { headers: first.headers }, env);
      await expectActed(await run.response, first.id, action, '');
      expect(Date.now() - started).toBeLessThan(900);
      // The background work ends: the isolate gives up on the call instead of waiting forever.
      await run.background();
      expect(t.h.events[0]).toMatchObject({ action, reason: 'unknown', lookup: 'timeout' });
      const again = from(ip);
      await expectActed(
        await t.h.fetch('/login', { headers: again.headers }, env),
        again.id,
        action,
        '',
      );
      expect(t.h.events[1]).toMatchObject({ action, reason: 'unknown', lookup: 'unavailable' });
      expect(t.h.events[1]?.detail).toBe('broker: no answer within 400 ms');
      expect(calls).toBe(1);
      clock += LIVE_BACKOFF_MS + 1;
      const later = from(ip);
      const third = t.h.start('/login', { headers: later.headers }, env);
      await expectActed(await third.response, later.id, action, '');
      await third.background();
      expect(calls).toBe(2);
    },
  );
});

/** REPUTATION with API cache reads (`api:` keys) replaced; the table's keys read as usual. */
function apiCacheFailing(get: () => Promise<unknown>): KVNamespace {
  const kv = testEnv.REPUTATION;
  return new Proxy(kv, {
    get(target, prop) {
      if (prop === 'get')
        return (key: string, ...rest: unknown[]) =>
          key.startsWith('api:')
            ? get()
            : (target.get as (...a: unknown[]) => unknown)(key, ...rest);
      const value = Reflect.get(target, prop);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

describe('the API cache fails', () => {
  it.each([
    ['text that is not JSON', '{"record": {"score": "crit'],
    ['JSON that is not a record', JSON.stringify({ record: { score: 'evil', categories: 'x' } })],
  ])('asks the broker when the API cache holds %s', async (_name, value) => {
    const t = live('api-cache-garbage');
    const ip = freshIp();
    await setFakeRecords(t.base, { criminalip: { [ip]: CRITICAL } });
    const key = apiCacheKey('criminalip', parseIp(ip) as NonNullable<ReturnType<typeof parseIp>>);
    await testEnv.REPUTATION.put(key, value);
    const { id, headers } = from(ip);
    await expectBlocked(await t.h.fetch('/login', { headers }, t.env), id);
    expect(t.h.events).toMatchObject([{ reason: 'reputation_rule', lookup: 'hit' }]);
    expect((await fakeStats(t.base)).calls).toBe(1);
    // The broker's verdict replaced the bad value.
    expect(await testEnv.REPUTATION.get(key, 'json')).toMatchObject({
      record: { score: 'critical' },
    });
  });

  it.each([
    ['throws', () => Promise.reject(new Error('KV is down'))],
    ['never answers', () => new Promise<never>(() => {})],
  ])('asks the broker when the API cache read %s', async (_name, get) => {
    const t = live('api-cache');
    const ip = freshIp();
    await setFakeRecords(t.base, { criminalip: { [ip]: CRITICAL } });
    const { id, headers } = from(ip);
    const started = Date.now();
    const res = await t.h.fetch(
      '/login',
      { headers },
      { ...t.env, REPUTATION: apiCacheFailing(get) },
    );
    await expectBlocked(res, id);
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(t.h.events).toMatchObject([
      { action: 'block', reason: 'reputation_rule', lookup: 'hit', source: 'criminalip' },
    ]);
    // The broker still wrote its verdict to the (real) API cache.
    const key = apiCacheKey('criminalip', parseIp(ip) as NonNullable<ReturnType<typeof parseIp>>);
    expect(await testEnv.REPUTATION.get(key, 'json')).toMatchObject({
      record: { score: 'critical' },
    });
  });
});
