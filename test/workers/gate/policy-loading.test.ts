/**
 * Policy from KV: defaults when absent, the last good one kept when a new one is invalid,
 * changes picked up within the cache time.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { POLICY_MAX_BYTES, POLICY_MAX_DEPTH } from '../../../src/constants';
import { PolicyStore } from '../../../src/policy/loader';
import {
  clearPolicy,
  expectBlocked,
  from,
  harness,
  putPolicy,
  SAMPLE_CSV,
  seedTable,
  testEnv,
} from '../helpers';

const MONITOR = {
  mode: 'monitor',
  routeClasses: [
    {
      name: 'auth',
      paths: ['/login'],
      rules: [{ name: 'dirty', scores: ['critical'], action: 'block' }],
    },
  ],
};

beforeAll(async () => {
  await seedTable(SAMPLE_CSV);
});

function clockedHarness() {
  const clock = { now: 1_000_000 };
  const policies = new PolicyStore({ now: () => clock.now });
  return { clock, policies, h: harness({ policies }) };
}

async function decisionFor(h: ReturnType<typeof harness>) {
  await h.fetch('/login', { headers: from('203.0.113.7').headers });
  return h.events.at(-1);
}

describe('policy loading', () => {
  it('serves the built-in defaults when POLICY holds none', async () => {
    await clearPolicy();
    const { h, policies } = clockedHarness();
    expect(await decisionFor(h)).toMatchObject({
      action: 'block',
      monitorOnly: false,
      rule: 'dirty',
    });
    expect(policies.status()).toMatchObject({ source: 'default', valid: true });
  });

  it('keeps the last good policy when the new document is not valid JSON', async () => {
    await putPolicy(MONITOR);
    const { h, clock, policies } = clockedHarness();
    expect(await decisionFor(h)).toMatchObject({ monitorOnly: true });
    const good = policies.status().version;
    await putPolicy('{"mode": "enforce", ');
    clock.now += 61_000;
    expect(await decisionFor(h)).toMatchObject({ monitorOnly: true, policyVersion: good });
    const status = policies.status();
    expect(status).toMatchObject({ source: 'kv', valid: false, version: good });
    expect(status.issues[0]?.message).toMatch(/not valid JSON/);
    expect(status.rejectedVersion).not.toBe(good);
  });

  it('keeps the last good policy when the new document breaks the schema', async () => {
    await putPolicy(MONITOR);
    const { h, clock, policies } = clockedHarness();
    await decisionFor(h);
    await putPolicy({
      ...MONITOR,
      mode: 'enforce',
      routeClasses: [{ name: 'auth', paths: ['login'] }],
    });
    clock.now += 61_000;
    expect(await decisionFor(h)).toMatchObject({ monitorOnly: true });
    expect(policies.status().issues).toEqual([
      { path: 'routeClasses[0].paths[0]', message: 'must start with "/"' },
    ]);
  });

  it('falls back to the defaults when the first document it ever sees is invalid', async () => {
    await putPolicy({ mode: 42 });
    const { h, policies } = clockedHarness();
    expect(await decisionFor(h)).toMatchObject({
      action: 'block',
      rule: 'dirty',
      monitorOnly: false,
    });
    expect(policies.status()).toMatchObject({ source: 'default', valid: false });
  });

  it('picks up a change in the background after the soft TTL, and waits after the hard TTL', async () => {
    await putPolicy(MONITOR);
    const { h, clock } = clockedHarness();
    expect(await decisionFor(h)).toMatchObject({ monitorOnly: true });
    await putPolicy({ ...MONITOR, mode: 'enforce' });
    clock.now += 10_000;
    expect(await decisionFor(h)).toMatchObject({ monitorOnly: true });
    clock.now += 25_000; // past the soft TTL: this request still uses the cached one, refreshes behind
    expect(await decisionFor(h)).toMatchObject({ monitorOnly: true });
    expect(await decisionFor(h)).toMatchObject({ monitorOnly: false });
    await putPolicy(MONITOR);
    clock.now += 61_000; // past the hard TTL: the request waits for the reload
    expect(await decisionFor(h)).toMatchObject({ monitorOnly: true });
  });

  it('serves the defaults and does not hammer KV when POLICY fails from the start', async () => {
    let reads = 0;
    const failing = new Proxy(testEnv.POLICY, {
      get(target, prop) {
        if (prop === 'get')
          return () => {
            reads += 1;
            return Promise.reject(new Error('KV unavailable'));
          };
        return Reflect.get(target, prop);
      },
    });
    const { h, policies } = clockedHarness();
    for (let i = 0; i < 5; i++)
      await h.fetch('/login', { headers: from('203.0.113.7').headers }, { POLICY: failing });
    expect(reads).toBe(1);
    expect(h.events.map((e) => e.rule)).toEqual(Array(5).fill('dirty'));
    expect(policies.status()).toMatchObject({
      source: 'default',
      error: expect.stringMatching(/KV unavailable/),
    });
  });

  it('keeps serving when reading POLICY fails', async () => {
    await putPolicy(MONITOR);
    const { h, clock, policies } = clockedHarness();
    await decisionFor(h);
    const failing = new Proxy(testEnv.POLICY, {
      get(target, prop) {
        if (prop === 'get') return () => Promise.reject(new Error('KV unavailable'));
        return Reflect.get(target, prop);
      },
    });
    clock.now += 61_000;
    await h.fetch('/login', { headers: from('203.0.113.7').headers }, { POLICY: failing });
    expect(h.events.at(-1)).toMatchObject({ monitorOnly: true });
    expect(policies.status().error).toMatch(/KV unavailable/);
  });

  it('refuses text with a repeated key, hostile nesting or too many bytes, with the path, and keeps the last good policy', async () => {
    const cases: [string, { path: string; message: RegExp }][] = [
      [
        '{"mode": "monitor", "routeClasses": [{"name": "auth", "paths": ["/login"], "rules": [{"name": "dirty", "scores": ["critical"], "action": "block", "action": "allow"}]}]}',
        { path: 'routeClasses[0].rules[0].action', message: /duplicate key "action"/ },
      ],
      [
        `{"mode": "enforce", "comment": ${'['.repeat(10_000)}${']'.repeat(10_000)}}`,
        { path: `comment${'[0]'.repeat(POLICY_MAX_DEPTH - 1)}`, message: /nested deeper/ },
      ],
      [
        JSON.stringify({ ...MONITOR, mode: 'enforce', comment: 'é'.repeat(POLICY_MAX_BYTES / 2) }),
        { path: '', message: /larger than/ },
      ],
      [
        '{"mode": "enforce", "lookup": {"tableDeadlineMs": 1e999}}',
        {
          path: 'lookup.tableDeadlineMs',
          message: /out of range/,
        },
      ],
    ];
    for (const [text, issue] of cases) {
      await putPolicy(MONITOR);
      const { h, clock, policies } = clockedHarness();
      expect(await decisionFor(h)).toMatchObject({ monitorOnly: true });
      const good = policies.status().version;
      await putPolicy(text);
      clock.now += 61_000;
      expect(await decisionFor(h)).toMatchObject({ monitorOnly: true, policyVersion: good });
      const status = policies.status();
      expect(status).toMatchObject({ source: 'kv', valid: false, version: good });
      expect(status.issues).toContainEqual({
        path: issue.path,
        message: expect.stringMatching(issue.message),
      });
    }
  });

  it('serves a list whose entries carry whitespace around the address', async () => {
    // A deny entry padded past the length of a record's source once made the compiler throw,
    // so the store failed every request instead of serving the document.
    const padded = `${' '.repeat(200)}203.0.113.9${'\n'.repeat(200)}`;
    await putPolicy({ ...MONITOR, mode: 'enforce', deny: { ips: [padded] } });
    const { h, policies } = clockedHarness();
    const { id, headers } = from('203.0.113.9');
    await expectBlocked(await h.fetch('/login', { headers }), id);
    expect(h.events.at(-1)).toMatchObject({ reason: 'deny_list', rule: 'ip:203.0.113.9' });
    expect(policies.status()).toMatchObject({ source: 'kv', valid: true, issues: [] });
  });
});
