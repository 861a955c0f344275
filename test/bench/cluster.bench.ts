// Benchmark of the chart tests' control plane: cluster start-up, then the time of each lifecycle step
// of the chart with Helm 4 and Helm 3. Prints figures; thresholds are not asserted.
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster.js';
import { REPO_ROOT } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
let cluster: Cluster;
const rows: string[][] = [['step', 'helm', 'ms']];

beforeAll(async () => {
  cluster = await startCluster();
  rows.push(['cluster start (kwokctl, binary runtime, 2 nodes)', '-', String(cluster.startMs)]);
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
  console.log('\nchart on a kwok control plane (Kubernetes v1.36)\n');
  for (const row of rows) console.log(`${row[0]!.padEnd(52)} ${row[1]!.padEnd(6)} ${row[2]!.padStart(7)}`);
});

it.each(['helm', 'helm3'])('lifecycle with %s', async (helm) => {
  const ns = `bench-${helm}`;
  await cluster.must('kubectl', ['create', 'namespace', ns]);
  const timed = async (step: string, args: string[]) => {
    const started = Date.now();
    await cluster.must(helm, [...args, '-n', ns]);
    rows.push([step, helm, String(Date.now() - started)]);
  };
  await timed('install --wait (defaults)', ['install', 'one', CHART, '--wait', '--timeout', '180s']);
  await timed('helm test', ['test', 'one', '--timeout', '120s']);
  const nodePorts = helm === 'helm' ? ['31200', '31201'] : ['31202', '31203'];
  await timed('upgrade --wait (hypervisors NodePort, probes)', [
    'upgrade',
    'one',
    CHART,
    '--wait',
    '--timeout',
    '180s',
    '--set',
    'hypervisors.exposure=NodePort',
    '--set',
    `hypervisors.nodePorts.monitord=${nodePorts[0]}`,
    '--set',
    `hypervisors.nodePorts.ssh=${nodePorts[1]}`,
    '--set',
    'probes.periodSeconds=30',
  ]);
  await timed('rollback --wait', ['rollback', 'one', '1', '--wait', '--timeout', '180s']);
  await timed('uninstall --wait', ['uninstall', 'one', '--wait', '--timeout', '120s']);
  expect(rows.length).toBeGreaterThan(1);
});
