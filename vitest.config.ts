import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: integration tests start registries and spawn bundles; more workers only contend.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
