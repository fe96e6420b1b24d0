/**
 * `ipgate sync|config|lookup --remote` against the local fake of the Cloudflare KV REST API:
 * auth, batch limits, generation order, 429 retries, unchanged chunks not rewritten.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type FakeCloudflare, startFakeCloudflare } from '../../support/fake-cloudflare';
import { cli } from '../support';

const TOKEN = 'test-token-not-secret';
const ACCOUNT = 'acc123';
const REPUTATION_NS = '00000000000000000000000000000000';
let fake: FakeCloudflare;
let env: Record<string, string>;

beforeAll(async () => {
  fake = await startFakeCloudflare({ token: TOKEN, accountId: ACCOUNT, rateLimitEvery: 4 });
  env = {
    CLOUDFLARE_API_TOKEN: TOKEN,
    CLOUDFLARE_ACCOUNT_ID: ACCOUNT,
    CLOUDFLARE_API_BASE_URL: fake.url,
  };
});

afterAll(async () => {
  await fake.close();
});

const manifestOf = () =>
  JSON.parse(fake.namespaces.get(REPUTATION_NS)?.get('table:manifest')?.toString() ?? 'null');
const chunkKeys = () =>
  [...(fake.namespaces.get(REPUTATION_NS)?.keys() ?? [])].filter((k) =>
    k.startsWith('table:chunk:'),
  );

describe('remote', () => {
  it('refuses to run without credentials, saying what is missing', async () => {
    const r = await cli(['sync', '--remote', '--file', 'test/fixtures/cli/attack.csv'], {
      CLOUDFLARE_API_TOKEN: '',
      CLOUDFLARE_ACCOUNT_ID: '',
    });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID/);
  });

  it('reports a wrong token with the API’s message and never prints the token', async () => {
    const r = await cli(
      [
        'sync',
        '--remote',
        '--file',
        'test/fixtures/cli/attack.csv',
        '--policy',
        'test/fixtures/cli/policy.json',
      ],
      { ...env, CLOUDFLARE_API_TOKEN: 'wrong-token' },
    );
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/Authentication error/);
    expect(r.stderr).toMatch(/Workers KV Storage/);
    expect(r.stdout + r.stderr).not.toContain('wrong-token');
    fake.violations.length = 0;
  });

  it('syncs a CSV: chunks first, manifest last, through 429s, reporting bad lines', async () => {
    const r = await cli(
      [
        'sync',
        '--remote',
        '--file',
        'test/fixtures/cli/attack.csv',
        '--policy',
        'test/fixtures/cli/policy.json',
        '--json',
      ],
      env,
    );
    expect(r.stderr).toMatch(/attack.csv line 8: network: not an IP address/);
    expect(r.stderr).toMatch(/skipped 10\.1\.2\.0\/24: overlaps reserved range 10\.0\.0\.0\/8/);
    expect(r.code).toBe(0);
    expect(fake.violations).toEqual([]);
    expect(fake.stats.rateLimited).toBeGreaterThan(0);
    // Not a terminal: progress as plain lines, and the retries said out loud.
    expect(r.stderr).toMatch(/writing chunks to remote REPUTATION \(0+\): \d+\/\d+ done/);
    expect(r.stderr).toMatch(/Cloudflare API answered 429; retrying/);
    const report = JSON.parse(r.stdout);
    expect(report).toMatchObject({ target: 'remote', dryRun: false, unchanged: 0 });
    expect(report.scores).toMatchObject({ critical: 1, dangerous: 1, safe: 1, unknown: 2 });
    const manifest = manifestOf();
    expect(manifest.generation).toBe(report.generation);
    expect(chunkKeys().sort()).toEqual(manifest.chunks.map((c: { key: string }) => c.key).sort());
  });

  it('looks an IP up in the remote table with the remote policy', async () => {
    const set = await cli(['config', 'set', 'test/fixtures/cli/policy.json', '--remote'], env);
    expect(set.code).toBe(0);
    const r = await cli(
      ['lookup', '203.0.113.50', '--path', '/api/auth/token', '--remote', '--json'],
      env,
    );
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.record).toMatchObject({
      score: 'critical',
      categories: ['scanner'],
      asn: 64496,
      source: 'attack.csv',
    });
    expect(out.decision).toMatchObject({
      action: 'block',
      reason: 'reputation_rule',
      rule: 'dirty',
    });
    const vpn = JSON.parse(
      (await cli(['lookup', '198.51.100.130', '--remote', '--json'], env)).stdout,
    );
    expect(vpn.decision).toMatchObject({ action: 'block', rule: 'anonymizer' });
    const allowListed = JSON.parse(
      (await cli(['lookup', '198.51.100.201', '--remote', '--json'], env)).stdout,
    );
    expect(allowListed.record).toMatchObject({
      score: 'unknown',
      categories: [],
      source: 'policy-allow',
    });
    const site = await cli(['lookup', '203.0.113.50', '--path', '/', '--remote'], env);
    expect(site.stdout).toMatch(/route class: site/);
    expect(site.stdout).toMatch(/decision:\s+allow — reason no_rules/);
  });

  it('writes nothing for an unchanged table, and removes chunks two generations old', async () => {
    const before = chunkKeys();
    const again = JSON.parse(
      (
        await cli(
          [
            'sync',
            '--remote',
            '--file',
            'test/fixtures/cli/attack.csv',
            '--policy',
            'test/fixtures/cli/policy.json',
            '--json',
          ],
          env,
        )
      ).stdout,
    );
    expect(again).toMatchObject({ written: 0, deleted: 0 });
    expect(again.unchanged).toBe(again.chunks);
    expect(chunkKeys().sort()).toEqual(before.sort());
    const generation = manifestOf().generation;
    const dryRun = await cli(
      ['sync', '--remote', '--file', 'test/fixtures/cli/other.csv', '--dry-run', '--json'],
      env,
    );
    expect(dryRun.code).toBe(0);
    expect(JSON.parse(dryRun.stdout)).toMatchObject({ dryRun: true, written: 0 });
    expect(manifestOf().generation).toBe(generation);
    expect(chunkKeys().sort()).toEqual(before.sort());

    const second = JSON.parse(
      (await cli(['sync', '--remote', '--file', 'test/fixtures/cli/other.csv', '--json'], env))
        .stdout,
    );
    expect(second.deleted).toBe(0);
    const secondKeys = manifestOf().chunks.map((c: { key: string }) => c.key);
    const third = JSON.parse(
      (
        await cli(
          [
            'sync',
            '--remote',
            '--file',
            'test/fixtures/cli/attack.csv',
            '--policy',
            'test/fixtures/cli/policy.json',
            '--json',
          ],
          env,
        )
      ).stdout,
    );
    const live = new Set([
      ...manifestOf().chunks.map((c: { key: string }) => c.key),
      ...secondKeys,
    ]);
    expect(chunkKeys().every((k) => live.has(k))).toBe(true);
    expect(third.written + third.unchanged).toBe(third.chunks);
    expect(fake.violations).toEqual([]);
  });

  it('manages policy versions: set, versions, rollback; refuses invalid files with paths', async () => {
    const bad = await cli(['config', 'set', 'test/fixtures/cli/attack.csv', '--remote'], env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/not valid JSON/);
    const schema = await cli(
      ['config', 'set', 'test/fixtures/cli/policy-bad.json', '--remote'],
      env,
    );
    expect(schema.code).toBe(1);
    for (const path of ['mode', 'routeClasses[0].paths[0]', 'routeClasses[0].rules[0].scores[0]'])
      expect(schema.stderr).toContain(`${path}:`);
    const validate = await cli(['config', 'validate', 'test/fixtures/cli/policy-bad.json']);
    expect(validate.code).toBe(1);
    expect((await cli(['config', 'validate', 'test/fixtures/cli/policy.json'])).code).toBe(0);

    const v1 = (await cli(['config', 'versions', '--remote'], env)).stdout.trim().split('\n');
    expect(v1).toHaveLength(1);
    expect(v1[0]).toMatch(/\(current\)$/);
    expect((await cli(['config', 'rollback', '--remote'], env)).stderr).toMatch(
      /no earlier saved version/,
    );

    await new Promise((r) => setTimeout(r, 1100)); // version ids are per second
    expect(
      (await cli(['config', 'set', 'test/fixtures/cli/policy-monitor.json', '--remote'], env)).code,
    ).toBe(0);
    expect(JSON.parse((await cli(['config', 'get', '--remote'], env)).stdout).mode).toBe('monitor');
    const rolled = await cli(['config', 'rollback', '--remote'], env);
    expect(rolled.code).toBe(0);
    expect(JSON.parse((await cli(['config', 'get', '--remote'], env)).stdout).mode).toBe('enforce');
    const v2 = (await cli(['config', 'versions', '--remote'], env)).stdout.trim().split('\n');
    expect(v2).toHaveLength(2);
    expect(v2[1]).toMatch(/\(current\)$/);
    const forward = v2[0]?.split(' ')[0] ?? '';
    expect((await cli(['config', 'rollback', '--to', forward, '--remote'], env)).code).toBe(0);
    expect(JSON.parse((await cli(['config', 'get', '--remote'], env)).stdout).mode).toBe('monitor');
    expect(fake.violations).toEqual([]);
  });
});
