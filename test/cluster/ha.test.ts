// High availability on a real API server (kwok nodes; kwok runs no containers, so what oned does is the Raft
// rig's job, test/ha): `helm install` with replicaCount 3 renders and schedules as designed (three front-end
// pods and three MariaDB servers, each on its own node by the required anti-affinity; budgets of one; the
// headless Service publishing not-ready members; the leader Service following the label the loop sets with
// the pod's ServiceAccount), and `helm upgrade` from one front-end to three keeps the StatefulSets and the
// single front-end's volumes (MariaDB server 0's claim stays the database of member 0).
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster.js';
import { REPO_ROOT } from '../support/tools.js';
import { documents, runCredentialsJob } from './credentials-job.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
const HA = ['--set', 'replicaCount=3', '--set', 'mariadb.replicaCount=3'];

let cluster: Cluster;
beforeAll(async () => {
  cluster = await startCluster({ nodes: 3 });
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
});

type Meta = { name: string; uid: string; labels?: Record<string, string> };
type Pod = {
  metadata: Meta;
  spec: { nodeName?: string };
  status: { conditions?: { type: string; status: string }[] };
};

async function json<T>(ns: string, args: string[]): Promise<T> {
  return JSON.parse(await cluster.must('kubectl', ['-n', ns, ...args, '-o', 'json'])) as T;
}

/** What the credentials hook Job does on a node, done just before (kwok runs no containers). */
async function credentials(ns: string, args: string[]) {
  const rendered = documents(await cluster.must('helm', ['template', 'one', CHART, '-n', ns, ...args]));
  const run = await runCredentialsJob(cluster, ns, rendered);
  if (run.code !== 0) throw new Error(`credentials Job failed:\n${run.stdout}${run.stderr}`);
}

async function helm(verb: 'install' | 'upgrade', ns: string, args: string[]) {
  await credentials(ns, args);
  return cluster.must('helm', [verb, 'one', CHART, '-n', ns, '--wait', '--timeout', '240s', ...args]);
}

async function pods(ns: string, component: string): Promise<Pod[]> {
  return (await json<{ items: Pod[] }>(ns, ['get', 'pods', '-l', `app.kubernetes.io/component=${component}`]))
    .items;
}

/** The pod names behind a Service's ready endpoints. */
async function endpoints(ns: string, service: string): Promise<string[]> {
  const slices = await json<{
    items: { endpoints?: { conditions?: { ready?: boolean }; targetRef?: { name: string } }[] }[];
  }>(ns, ['get', 'endpointslices', '-l', `kubernetes.io/service-name=${service}`]);
  return slices.items
    .flatMap((slice) => slice.endpoints ?? [])
    .filter((endpoint) => endpoint.conditions?.ready !== false)
    .map((endpoint) => endpoint.targetRef?.name ?? '?')
    .sort();
}

/** kubectl as a ServiceAccount alone: its token, the cluster's address and CA, no other credential. */
async function serviceAccount(ns: string, name: string) {
  const token = (await cluster.must('kubectl', ['-n', ns, 'create', 'token', name])).trim();
  const config = JSON.parse(
    await cluster.must('kubectl', ['config', 'view', '--raw', '--minify', '-o', 'json']),
  ) as {
    clusters: {
      cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string };
    }[];
  };
  const { server, ...authority } = config.clusters[0]!.cluster;
  const ca = join(cluster.kubeconfig, '..', `${ns}-${name}-ca.crt`);
  if (authority['certificate-authority-data'])
    writeFileSync(ca, Buffer.from(authority['certificate-authority-data'], 'base64'));
  else writeFileSync(ca, readFileSync(authority['certificate-authority']!));
  return (args: string[]) =>
    cluster.run('kubectl', [
      '--kubeconfig',
      '/dev/null',
      '--server',
      server,
      '--certificate-authority',
      ca,
      '--token',
      token,
      '-n',
      ns,
      ...args,
    ]);
}

async function eventually<T>(read: () => Promise<T>, expected: T, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last: T = await read();
  while (JSON.stringify(last) !== JSON.stringify(expected) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500));
    last = await read();
  }
  expect(last).toEqual(expected);
}

describe('replicaCount 3', () => {
  const ns = 'ha';
  beforeAll(async () => {
    await cluster.must('kubectl', ['create', 'namespace', ns]);
    await cluster.must('kubectl', [
      'label',
      'namespace',
      ns,
      'pod-security.kubernetes.io/enforce=restricted',
    ]);
    await helm('install', ns, HA);
  }, 300_000);

  it('runs three front-ends and three MariaDB servers, Ready, each on its own node', async () => {
    for (const [component, prefix] of [
      ['frontend', 'one-opennebula'],
      ['database', 'one-mariadb'],
    ] as const) {
      const list = await pods(ns, component);
      expect(list.map((p) => p.metadata.name).sort()).toEqual([0, 1, 2].map((i) => `${prefix}-${i}`));
      for (const pod of list)
        expect(pod.status.conditions?.find((c) => c.type === 'Ready')?.status, pod.metadata.name).toBe(
          'True',
        );
      expect(new Set(list.map((p) => p.spec.nodeName)).size, `${component} nodes`).toBe(3);
    }
    const claims = await json<{ items: { metadata: Meta; status: { phase: string } }[] }>(ns, ['get', 'pvc']);
    expect(claims.items.map((c) => [c.metadata.name, c.status.phase]).sort()).toEqual(
      ['mariadb', 'opennebula'].flatMap((name) => [0, 1, 2].map((i) => [`data-one-${name}-${i}`, 'Bound'])),
    );
  });

  it('keeps a fourth member off the three nodes (required anti-affinity): it stays Pending', async () => {
    const other = 'ha-five';
    await cluster.must('kubectl', ['create', 'namespace', other]);
    await credentials(other, ['--set', 'replicaCount=5', '--set', 'mariadb.replicaCount=5']);
    await cluster.must('helm', [
      'install',
      'one',
      CHART,
      '-n',
      other,
      '--set',
      'replicaCount=5',
      '--set',
      'mariadb.replicaCount=5',
    ]);
    const scheduled = async () => {
      const list = await pods(other, 'frontend');
      return [list.filter((p) => p.spec.nodeName).length, list.length];
    };
    await eventually(scheduled, [3, 5], 60_000);
    await cluster.must('helm', ['uninstall', 'one', '-n', other, '--wait']);
  });

  it('lets one front-end and one MariaDB server be evicted at a time', async () => {
    const budgets = await json<{ items: { metadata: Meta; spec: { maxUnavailable: number } }[] }>(ns, [
      'get',
      'pdb',
    ]);
    expect(budgets.items.map((b) => [b.metadata.name, b.spec.maxUnavailable]).sort()).toEqual([
      ['one-mariadb', 1],
      ['one-opennebula', 1],
    ]);
  });

  it("publishes every member's address before it is ready, for its peers", async () => {
    for (const service of ['one-opennebula-headless', 'one-mariadb-headless']) {
      const spec = (
        await json<{ spec: { clusterIP: string; publishNotReadyAddresses: boolean } }>(ns, [
          'get',
          'service',
          service,
        ])
      ).spec;
      expect(spec, service).toMatchObject({ clusterIP: 'None', publishNotReadyAddresses: true });
      await eventually(
        () => endpoints(ns, service),
        [0, 1, 2].map((i) => `${service.replace('-headless', '')}-${i}`),
      );
    }
  });

  it('routes the leader Service, OneFlow, OneGate and the hypervisors to the pod the loop labels leader; the API to all', async () => {
    const leaderOnly = [
      'one-opennebula-leader',
      'one-opennebula-oneflow',
      'one-opennebula-onegate',
      'one-opennebula-hypervisors',
    ];
    for (const service of leaderOnly) expect(await endpoints(ns, service), service).toEqual([]);
    await eventually(
      () => endpoints(ns, 'one-opennebula-api'),
      ['one-opennebula-0', 'one-opennebula-1', 'one-opennebula-2'],
    );
    // The loop's patch, with the token of the chart's ServiceAccount and nothing else (what ha-label sends).
    const asLoop = await serviceAccount(ns, 'one-opennebula');
    const label = async (pod: string, role: string) => {
      const result = await asLoop(['label', '--overwrite', 'pod', pod, `opennebula.io/raft-role=${role}`]);
      expect(result.code, result.stderr).toBe(0);
    };
    await label('one-opennebula-1', 'leader');
    for (const service of leaderOnly) await eventually(() => endpoints(ns, service), ['one-opennebula-1']);
    // A failover: the old leader's loop labels it follower, the new one's leader.
    await label('one-opennebula-1', 'follower');
    await label('one-opennebula-2', 'leader');
    for (const service of leaderOnly) await eventually(() => endpoints(ns, service), ['one-opennebula-2']);
    // The token may do nothing else to the pods: another label is refused by the admission policy.
    const refused = await asLoop(['label', 'pod', 'one-opennebula-0', 'other=x']);
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/may change only the opennebula.io\/raft-role label/);
  });
});

describe('from one front-end to three', () => {
  const ns = 'one-to-three';
  const uids = async (kind: string) =>
    Object.fromEntries(
      (await json<{ items: { metadata: Meta }[] }>(ns, ['get', kind])).items.map((item) => [
        item.metadata.name,
        item.metadata.uid,
      ]),
    );

  it('keeps both StatefulSets and the single front-end volumes, and adds members 1 and 2', async () => {
    await cluster.must('kubectl', ['create', 'namespace', ns]);
    await helm('install', ns, []);
    const statefulSets = await uids('statefulset');
    const claims = await uids('pvc');
    expect(Object.keys(statefulSets).sort()).toEqual(['one-mariadb', 'one-opennebula']);
    expect(Object.keys(claims).sort()).toEqual(['data-one-mariadb-0', 'data-one-opennebula-0']);

    await helm('upgrade', ns, HA);
    expect(await uids('statefulset')).toEqual(statefulSets);
    const after = await uids('pvc');
    expect(Object.keys(after).sort()).toEqual(
      ['mariadb', 'opennebula'].flatMap((name) => [0, 1, 2].map((i) => `data-one-${name}-${i}`)),
    );
    for (const [name, uid] of Object.entries(claims)) expect(after[name], name).toBe(uid);
    const replicas = await json<{ items: { metadata: Meta; spec: { replicas: number } }[] }>(ns, [
      'get',
      'statefulset',
    ]);
    expect(replicas.items.map((s) => [s.metadata.name, s.spec.replicas]).sort()).toEqual([
      ['one-mariadb', 3],
      ['one-opennebula', 3],
    ]);
  });
});
