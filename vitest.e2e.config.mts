/**
 * Browser tests (`npm run test:e2e`): the real local stack (`scripts/start.ts`: wrangler dev,
 * local KV and D1, the demo origin, the fake Criminal IP API) driven by Debian's Chromium
 * through playwright-core. Kept apart from `vitest run` because they need a browser.
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/e2e/**/*.test.ts'],
    environment: 'node',
    testTimeout: 180_000,
    hookTimeout: 180_000,
    reporters: ['default', 'json'],
    outputFile: { json: './test-results/e2e.json' },
  },
});
