/**
 * The fake Criminal IP server itself: scopes are isolated, the key is checked, control requests
 * validate their input, and reset forgets a scope. The providers' behaviour against it is tested
 * in workerd (test/workers/providers/).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeCriminalIpServer, startFakeCriminalIp } from '../support/fake-criminalip';
import {
  FAKE_ABUSEIPDB_KEY,
  FAKE_CRIMINALIP_KEY,
  fakeStats,
  resetFake,
  scopeUrl,
  setFakeMode,
  setFakeRecords,
} from '../support/fake-criminalip-protocol';

let fake: FakeCriminalIpServer;
beforeAll(async () => {
  fake = await startFakeCriminalIp();
});
afterAll(() => fake.close());

const cip = (base: string, ip: string, key = FAKE_CRIMINALIP_KEY) =>
  fetch(`${base}/v2/feature/ip/suspicious-info?ip=${encodeURIComponent(ip)}`, {
    headers: { 'x-api-key': key },
  });

describe('fake Criminal IP server', () => {
  it('answers documented bodies, canned per IP, and checks the key', async () => {
    const base = scopeUrl(fake.url, 'node-a');
    await setFakeRecords(base, {
      criminalip: { '203.0.113.7': { score: { inbound: 'Critical' } } },
    });
    const ok = await cip(base, '203.0.113.7');
    expect(ok.status).toBe(200);
    expect(await ok.json()).toMatchObject({
      status: 200,
      ip: '203.0.113.7',
      score: { inbound: 'Critical' },
    });
    const bad = await cip(base, '203.0.113.7', 'nope');
    expect(await bad.json()).toEqual({ status: 401, message: 'invalid api key', data: {} });
    const badIp = await cip(base, 'not-an-ip');
    expect(await badIp.json()).toMatchObject({ message: 'Invalid IP Address.' });
    expect(await fakeStats(base)).toMatchObject({
      calls: 3,
      rejectedKeys: 1,
      ips: ['203.0.113.7', '203.0.113.7', 'not-an-ip'],
      inFlight: 0,
      maxConcurrent: 1,
    });
  });

  it('keeps scopes apart and forgets a scope on reset', async () => {
    const a = scopeUrl(fake.url, 'node-b');
    const b = scopeUrl(fake.url, 'node-c');
    await setFakeMode(a, { mode: 'quota' });
    expect(await (await cip(a, '203.0.113.1')).json()).toMatchObject({ message: 'limit exceeded' });
    expect(await (await cip(b, '203.0.113.1')).json()).toMatchObject({ status: 200 });
    expect((await fakeStats(a)).calls).toBe(1);
    expect((await fakeStats(b)).calls).toBe(1);
    await resetFake(a);
    expect(await fakeStats(a)).toMatchObject({ calls: 0, mode: 'success' });
    expect(await (await cip(a, '203.0.113.1')).json()).toMatchObject({ status: 200 });
  });

  it('serves AbuseIPDB check with its own key and error shape', async () => {
    const base = scopeUrl(fake.url, 'node-d');
    const check = (key: string) =>
      fetch(`${base}/api/v2/check?ipAddress=2001:db8::1&maxAgeInDays=90`, {
        headers: { Key: key, Accept: 'application/json' },
      });
    const ok = await check(FAKE_ABUSEIPDB_KEY);
    expect(await ok.json()).toMatchObject({ data: { ipAddress: '2001:db8::1', ipVersion: 6 } });
    const bad = await check(FAKE_CRIMINALIP_KEY);
    expect(bad.status).toBe(401);
    expect(await bad.json()).toMatchObject({ errors: [{ status: 401 }] });
    expect((await fakeStats(base)).byRoute).toEqual({ criminalip: 0, abuseipdb: 2 });
  });

  it('refuses bad control requests', async () => {
    const base = scopeUrl(fake.url, 'node-e');
    const res = await fetch(`${base}/__fake/mode`, {
      method: 'POST',
      body: JSON.stringify({ mode: 'chaos' }),
    });
    expect(res.status).toBe(400);
    await expect(setFakeRecords(base, { criminalip: { x: 1 as never } })).rejects.toThrow(/400/);
    expect((await fetch(`${base}/v1/nothing`)).status).toBe(404);
  });
});
