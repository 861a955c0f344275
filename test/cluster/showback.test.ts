// The showback CronJob against a real API server (kwok nodes): applied with strict server-side validation,
// and a run of it (kubectl create job --from=cronjob) makes a pod that a namespace enforcing the
// `restricted` Pod Security Standard admits and that completes. kwok runs no containers: what the role does
// against oned is test/docker/showback-chart.test.ts's.
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster.js';
import { eventually } from '../support/opennebula.js';
import { REPO_ROOT } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
let cluster: Cluster;
let namespaces = 0;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
});

async function restrictedNamespace(): Promise<string> {
  const ns = `showback-${++namespaces}`;
  await cluster.must('kubectl', ['create', 'namespace', ns]);
  await cluster.must('kubectl', ['label', 'namespace', ns, 'pod-security.kubernetes.io/enforce=restricted']);
  return ns;
}

/** The rendered CronJob, applied with strict server-side validation. */
async function applyCronJob(ns: string, values: string[] = []): Promise<void> {
  const rendered = await cluster.must('helm', [
    'template',
    'one',
    CHART,
    '-n',
    ns,
    '-s',
    'templates/showback.yaml',
    ...values.flatMap((value) => ['--set', value]),
  ]);
  await cluster.must(
    'kubectl',
    ['apply', '-n', ns, '--validate=strict', '--server-side', '-f', '-'],
    rendered,
  );
}

/** One run of the CronJob now; resolves with its Job's pods' phases and the Job's events. */
async function runOnce(ns: string): Promise<{ phases: string[]; events: string }> {
  await cluster.must('kubectl', [
    '-n',
    ns,
    'create',
    'job',
    'run-1',
    '--from=cronjob/one-opennebula-showback',
  ]);
  let phases: string[] = [];
  let events = '';
  await eventually(
    async () => {
      const pods = JSON.parse(
        await cluster.must('kubectl', ['-n', ns, 'get', 'pods', '-l', 'job-name=run-1', '-o', 'json']),
      ) as { items: { status: { phase: string } }[] };
      phases = pods.items.map((pod) => pod.status.phase);
      events = await cluster.must('kubectl', [
        '-n',
        ns,
        'get',
        'events',
        '--field-selector',
        'involvedObject.name=run-1',
      ]);
      return phases.includes('Succeeded') || /FailedCreate/.test(events);
    },
    60_000,
    () => `a pod of the showback run, or its refusal (pods: ${phases.join(' ')}; events: ${events})`,
  );
  return { phases, events };
}

describe('showback CronJob', () => {
  it('is accepted, and its run makes a pod that Pod Security restricted admits and that completes', async () => {
    const ns = await restrictedNamespace();
    await applyCronJob(ns);
    const cronJob = JSON.parse(
      await cluster.must('kubectl', ['-n', ns, 'get', 'cronjob', 'one-opennebula-showback', '-o', 'json']),
    ) as { spec: { schedule: string; concurrencyPolicy: string } };
    expect(cronJob.spec).toMatchObject({ schedule: '0 0 * * *', concurrencyPolicy: 'Forbid' });
    const run = await runOnce(ns);
    expect(run.events).not.toMatch(/FailedCreate/);
    expect(run.phases).toContain('Succeeded');
  }, 120_000);

  it('the same rig refuses a run whose pod breaks restricted (the check above can fail)', async () => {
    const ns = await restrictedNamespace();
    await applyCronJob(ns, ['securityContext.allowPrivilegeEscalation=true']);
    const run = await runOnce(ns);
    expect(run.events).toMatch(/FailedCreate.*violates PodSecurity "restricted/s);
    expect(run.phases).toEqual([]);
  }, 120_000);
});
