/**
 * Two test projects: `workers` runs in workerd through @cloudflare/vitest-pool-workers with real
 * local KV; `node` runs the CLI, scripts and end-to-end checks in Node. A local origin server
 * (test/support/origin-server.ts) is started once for both by the global setup.
 */
import { cloudflareTest } from '@cloudflare/vitest-pool-workers';
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
          cloudflareTest(({ inject }) => ({
            wrangler: { configPath: './wrangler.toml' },
            miniflare: {
              bindings: {
                ORIGIN_URL: inject<string>('originUrl'),
                CRIMINALIP_API_URL: inject<string>('criminalIpUrl'),
              },
            },
          })),
        ],
        test: {
          name: 'workers',
          include: ['test/workers/**/*.test.ts'],
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
