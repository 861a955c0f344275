// The chart on a real node (test/support/node): containerd, a kubelet and kube-proxy run its pods, with the
// front-end image assembled from the OpenNebula source build and docker/rootfs (test/tools/node/image.sh).
// One node serves every case; each case has its own namespace. What this does not cover (Debian 12 under
// the image instead of Ubuntu 24.04, FireEdge and guacd stand-ins, the MariaDB stand-in) is listed in
// chart/README.md's testing section.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { startCluster, type Cluster } from '../support/cluster.js';
import { KWOKCTL_CONFIG, missingPrerequisites, startNode, type RealNode } from '../support/node/index.js';
import { REPO_ROOT } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
const missing = missingPrerequisites();
const unavailable = missing.length ? `no real node on this machine: missing ${missing.join('; ')}` : '';
if (unavailable) console.warn(`[real-node] skipped: ${unavailable}`);

let cluster: Cluster;
let node: RealNode;
let namespaces = 0;
const timings: Record<string, number> = {};

type Pod = {
  metadata: { name: string; ownerReferences?: { kind: string }[] };
  status: {
    phase: string;
    containerStatuses?: { name: string; ready: boolean; restartCount: number }[];
    initContainerStatuses?: { name: string; ready: boolean; state: { terminated?: { exitCode: number } } }[];
  };
};

describe.skipIf(unavailable)('the chart on a real node', { timeout: 900_000 }, () => {
  beforeAll(async () => {
    const started = Date.now();
    cluster = await startCluster({ nodes: 0, config: [KWOKCTL_CONFIG] });
    node = await startNode(cluster);
    timings['cluster start (ms)'] = cluster.startMs;
    timings['node start incl. image import (ms)'] = node.startMs;
    timings['image import (ms)'] = node.importMs;
    timings['cluster + node (ms)'] = Date.now() - started;
  }, 300_000);
  afterAll(async () => {
    const problems = node ? await node.stop() : [];
    await cluster?.stop();
    console.log(`[real-node] timings: ${JSON.stringify(timings)}`);
    expect(problems, 'the node left changes on the machine').toEqual([]);
  }, 180_000);

  const kubectl = (args: string[], input?: string) => cluster.must('kubectl', args, input);
  const json = async <T>(args: string[]) => JSON.parse(await kubectl([...args, '-o', 'json'])) as T;
  const helm = (args: string[]) => cluster.run('helm', args);
  const timed = async <T>(name: string, work: () => Promise<T>) => {
    const started = Date.now();
    const result = await work();
    timings[`${name} (ms)`] = Date.now() - started;
    return result;
  };

  async function namespace(): Promise<string> {
    namespaces += 1;
    const name = `real-${namespaces}`;
    await kubectl(['create', 'namespace', name]);
    await kubectl(['label', 'namespace', name, 'pod-security.kubernetes.io/enforce=restricted']);
    return name;
  }

  /** Every container of the StatefulSets' pods in `ns` ready, with the node's logs if not. */
  async function expectAllReady(ns: string) {
    const pods = (await json<{ items: Pod[] }>(['-n', ns, 'get', 'pods'])).items.filter((pod) =>
      pod.metadata.ownerReferences?.some((owner) => owner.kind === 'StatefulSet'),
    );
    const notReady = pods.flatMap((pod) =>
      (pod.status.containerStatuses ?? [])
        .filter((c) => !c.ready)
        .map((c) => `${pod.metadata.name}/${c.name}`),
    );
    expect(notReady, node.logs(5)).toEqual([]);
    return pods;
  }

  // OneForm and OneKS stay off: their servers need OpenNebula's vendored gems (dry-validation and its
  // family), which the packages ship and Debian does not, so the image assembled here cannot run them.
  const WITHOUT_ONEFORM_ONEKS = [
    '--set',
    'opennebula.oneform.enabled=false',
    '--set',
    'opennebula.oneks.enabled=false',
  ];

  async function install(ns: string, args: string[] = []) {
    const result = await helm([
      'install',
      'one',
      CHART,
      '-n',
      ns,
      '--wait',
      '--timeout',
      '300s',
      ...WITHOUT_ONEFORM_ONEKS,
      ...args,
    ]);
    if (result.code !== 0) {
      const described = await cluster.run('kubectl', ['-n', ns, 'describe', 'pods']);
      throw new Error(
        `helm install failed:\n${result.stderr}\n${described.stdout.slice(-6000)}\n${node.logs(20)}`,
      );
    }
  }

  it('installs the defaults: every container Ready, helm test passes against the real oned', async () => {
    const ns = await namespace();
    await timed('helm install --wait', () => install(ns));
    const pods = await expectAllReady(ns);
    expect(pods.map((p) => p.metadata.name).sort()).toEqual(['one-mariadb-0', 'one-opennebula-0']);
    const test = await timed('helm test', () =>
      helm(['test', 'one', '-n', ns, '--timeout', '180s', '--logs']),
    );
    expect(test.code, `${test.stdout}${test.stderr}`).toBe(0);
    expect(test.stdout).toMatch(/one-opennebula-test-oned[\s\S]*Phase:\s+Succeeded/);
    expect(test.stdout).toMatch(/OpenNebula 7\.4\.0/);
  });

  /** Runs a CLI command in the front-end's oned container (as oneadmin, with its one_auth). */
  const one = (ns: string, args: string[]) =>
    cluster.run('kubectl', ['-n', ns, 'exec', 'one-opennebula-0', '-c', 'oned', '--', ...args]);

  it.each([
    ['an image tag that cannot be pulled', 'image.tag=7.4.0-does-not-exist'],
    ['a front-end pod that cannot be scheduled', 'resources.oned.requests.memory=100000Gi'],
  ])('a broken upgrade (%s) is undone by helm rollback alone', async (what, value) => {
    const ns = 'real-1';
    const broken = await timed(`broken helm upgrade (${what})`, () =>
      helm([
        'upgrade',
        'one',
        CHART,
        '-n',
        ns,
        '--reuse-values',
        '--set',
        value,
        '--wait',
        '--timeout',
        '60s',
      ]),
    );
    expect(broken.code, 'the broken upgrade must fail').not.toBe(0);
    const rolledBack = await timed(`helm rollback --wait (${what})`, () =>
      helm(['rollback', 'one', '-n', ns, '--wait', '--timeout', '300s']),
    );
    expect(rolledBack.code, `${rolledBack.stdout}${rolledBack.stderr}\n${node.logs(10)}`).toBe(0);
    await expectAllReady(ns);
    const zones = await one(ns, ['onezone', 'list']);
    expect(zones.code, zones.stderr).toBe(0);
  });

  it('a pod restart keeps the credentials and the database', async () => {
    const ns = 'real-1';
    const secret = await kubectl([
      '-n',
      ns,
      'get',
      'secret',
      'one-opennebula-oneadmin',
      '-o',
      'jsonpath={.data}',
    ]);
    const created = await one(ns, ['oneuser', 'create', 'real-node-marker', 'marker-password']);
    expect(created.code, created.stderr).toBe(0);
    await timed('pod restart (front-end and MariaDB)', async () => {
      await kubectl(['-n', ns, 'delete', 'pod', 'one-opennebula-0', 'one-mariadb-0', '--wait=true']);
      await kubectl(['-n', ns, 'rollout', 'status', 'statefulset/one-mariadb', '--timeout=300s']);
      await kubectl(['-n', ns, 'rollout', 'status', 'statefulset/one-opennebula', '--timeout=300s']);
      await kubectl([
        '-n',
        ns,
        'wait',
        '--for=condition=Ready',
        'pod/one-opennebula-0',
        'pod/one-mariadb-0',
        '--timeout=300s',
      ]);
    });
    await expectAllReady(ns);
    expect(
      await kubectl(['-n', ns, 'get', 'secret', 'one-opennebula-oneadmin', '-o', 'jsonpath={.data}']),
    ).toBe(secret);
    const shown = await one(ns, ['oneuser', 'show', 'real-node-marker']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/real-node-marker/);
  });

  it('a Service named guacd in the namespace does not break the pod', async () => {
    const ns = await namespace();
    await kubectl(['-n', ns, 'create', 'service', 'clusterip', 'guacd', '--tcp=4822:4822']);
    await install(ns);
    await expectAllReady(ns);
    await helm(['uninstall', 'one', '-n', ns, '--wait', '--timeout', '120s']);
  });

  it("the backup CronJob's Job runs and its dump restores", async () => {
    const ns = 'real-1';
    const upgrade = (args: string[]) =>
      helm(['upgrade', 'one', CHART, '-n', ns, '--reuse-values', '--wait', '--timeout', '300s', ...args]);
    const enabled = await upgrade(['--set', 'backup.enabled=true']);
    expect(enabled.code, enabled.stderr).toBe(0);
    await kubectl(['-n', ns, 'create', 'job', 'backup-now', '--from=cronjob/one-opennebula-backup']);
    await timed('backup Job', () =>
      kubectl(['-n', ns, 'wait', '--for=condition=complete', 'job/backup-now', '--timeout=300s']),
    );
    const log = await kubectl(['-n', ns, 'logs', 'job/backup-now']);
    const backup = /wrote \/backups\/(opennebula-\d{8}T\d{6}Z)\.sql\.gz/.exec(log)?.[1];
    expect(backup, log).toBeDefined();

    const deleted = await one(ns, ['oneuser', 'delete', 'real-node-marker']);
    expect(deleted.code, deleted.stderr).toBe(0);
    await timed('restore (restore mode, Job, front-end back)', async () => {
      const restoring = await upgrade(['--set', 'restore.enabled=true', '--set', `restore.backup=${backup}`]);
      expect(restoring.code, restoring.stderr).toBe(0);
      // The chart names the Job after the backup, without its `opennebula-` prefix.
      const job = `job/one-opennebula-restore-${backup!.replace(/^opennebula-/, '').toLowerCase()}`;
      const done = await cluster.run('kubectl', [
        '-n',
        ns,
        'wait',
        '--for=condition=complete',
        job,
        '--timeout=300s',
      ]);
      const logs = await cluster.run('kubectl', ['-n', ns, 'logs', job]);
      expect(done.code, `${done.stderr}${logs.stdout}${logs.stderr}`).toBe(0);
      const back = await upgrade(['--set', 'restore.enabled=false']);
      expect(back.code, back.stderr).toBe(0);
    });
    await expectAllReady(ns);
    const shown = await one(ns, ['oneuser', 'show', 'real-node-marker']);
    expect(shown.code, `the user deleted after the backup is back: ${shown.stderr}`).toBe(0);
  });
});
