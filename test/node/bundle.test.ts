/** The Worker bundles for deployment: `wrangler deploy --dry-run` succeeds and writes a bundle. */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect, it } from 'vitest';

it('bundles with wrangler deploy --dry-run', () => {
  const out = mkdtempSync(join(tmpdir(), 'ipgate-bundle-'));
  try {
    const r = spawnSync('npx', ['wrangler', 'deploy', '--dry-run', '--outdir', out], {
      encoding: 'utf8',
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false' },
    });
    expect(r.status, r.stderr || r.stdout).toBe(0);
    expect(r.stdout).toMatch(/--dry-run: exiting now/);
    const bundle = readdirSync(out).find((f) => f.endsWith('.js'));
    expect(bundle).toBeDefined();
    const size = statSync(join(out, bundle ?? '')).size;
    // Hono, zod and ipaddr.js included; far below the 3 MiB (free) Worker size limit.
    expect(size).toBeGreaterThan(10_000);
    expect(size).toBeLessThan(3 * 1024 * 1024);
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
});
