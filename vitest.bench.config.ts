import { defineConfig } from 'vitest/config';

// `npm run bench`: figures, not pass/fail thresholds (those would be flaky timed tests).
export default defineConfig({
  test: {
    include: ['test/bench/**/*.bench.ts'],
    testTimeout: 300_000,
    pool: 'forks',
    maxWorkers: 1,
    silent: false,
  },
});
