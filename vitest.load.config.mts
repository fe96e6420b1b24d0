/**
 * The load test (`npm run test:load`): ipgate in local workerd under 50,000 requests with a
 * tenth of its KV reads and live API calls failing (test/load/), and the checks of its fault
 * injectors. Kept apart from `vitest run` because it takes minutes; its files run one after the
 * other, so the load run has the machine to itself. Results: test-results/load.json (counts)
 * and test-results/load-summary.json (the run's one-line JSON summary).
 */
import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/load/**/*.test.ts'],
    environment: 'node',
    fileParallelism: false,
    testTimeout: 60_000,
    hookTimeout: 900_000,
    reporters: ['default', 'json'],
    outputFile: { json: './test-results/load.json' },
  },
});
