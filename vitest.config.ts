import { configDefaults, defineConfig } from 'vitest/config';

// The rigs that run real OpenNebula front-ends (oned on the host's own ports, the three-member Raft
// cluster, the real kubelet node): one file at a time, after every other test, so that they neither take
// each other's ports nor starve each other of the two cores. Run them alone with `npm test -- --project rigs`.
const RIGS = [
  'test/docker/oned.test.ts',
  'test/docker/vm-logs.test.ts',
  'test/docker/showback-chart.test.ts',
  'test/metrics/exporter.test.ts',
  'test/ha/**/*.test.ts',
  'test/cluster/real-node.test.ts',
];

export default defineConfig({
  test: {
    testTimeout: 300_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: integration tests start registries and spawn bundles; more workers only contend.
    maxWorkers: 2,
    reporters: ['default'],
    projects: [
      {
        extends: true,
        test: { name: 'main', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...RIGS] },
      },
      { extends: true, test: { name: 'rigs', include: RIGS, maxWorkers: 1, sequence: { groupOrder: 1 } } },
    ],
  },
});
