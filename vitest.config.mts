/**
 * Two test projects: `workers` runs in workerd through @cloudflare/vitest-pool-workers with real
 * local KV and D1 (migrations/ applied before each file); `node` runs the CLI, scripts and
 * end-to-end checks in Node. A local origin server (test/support/origin-server.ts) is started
 * once for both by the global setup.
 */
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    globalSetup: ['./test/support/global-setup.ts'],
    // The JSON report lets CI print one closing "N passed, N failed" line.
    reporters: ['default', 'json'],
    outputFile: { json: './test-results/vitest.json' },
    projects: [
      {
        extends: true,
        plugins: [
          cloudflareTest(async ({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ORIGIN_URL: inject<string>('originUrl'),
                CRIMINALIP_API_URL: inject<string>('criminalIpUrl'),
                // Applied to DECISIONS_DB by test/workers/setup-d1.ts.
                TEST_MIGRATIONS: await readD1Migrations('./migrations'),
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
          setupFiles: ['./test/workers/setup-d1.ts'],
          testTimeout: 30_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
    ],
  },
});
