// The leader label on a real API server: a kwok control plane (test/support/cluster.ts) holding the pods of
// an HA rig's members (kwok runs no containers: the pods are records with addresses and readiness), the
// chart's own HA templates (ha-rbac.yaml: the loop's Role and the admission policy; ha-services.yaml: the
// leader Service) applied as rendered, and one reconcile loop (the image's ha-label) per member, run with the
// ServiceAccount's token against that member's real oned.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startCluster, type Cluster } from './cluster.js';
import type { HaRig } from './ha-rig.js';
import { REPO_ROOT } from './tools.js';

const NAMESPACE = 'ha';
const LABEL_LOOP = join(REPO_ROOT, 'docker/rootfs/usr/local/lib/opennebula-container/ha-label');
// fullnameOverride "one": the StatefulSet's pods are one-0, one-1, ... as the rig's members are named.
const CHART_SETTINGS = [
  '--set',
  'fullnameOverride=one',
  '--set',
  'replicaCount=3',
  '--skip-schema-validation',
];

export interface LabelRig {
  readonly cluster: Cluster;
  /** The raft-role label of each member's pod, by name. */
  labels(): Promise<Record<string, string | undefined>>;
  /** The pod names behind the leader Service's EndpointSlices (ready endpoints). */
  leaderEndpoints(): Promise<string[]>;
  /** Runs kubectl with the loop's ServiceAccount token (for least-privilege checks). */
  asLoop(args: string[]): Promise<{ code: number; output: string }>;
  close(): Promise<void>;
}

export async function startLabelRig(ha: HaRig, cluster?: Cluster): Promise<LabelRig> {
  const kube = cluster ?? (await startCluster({ nodes: 1 }));
  const dir = join(kube.kubeconfig, '..');
  const loops: ChildProcess[] = [];
  const kubectl = (args: string[], input?: string) => kube.must('kubectl', [...args, '-n', NAMESPACE], input);
  await kube.must('kubectl', ['create', 'namespace', NAMESPACE]);
  // The HA templates alone: until the StatefulSet is wired for HA (issue 26) it refuses replicaCount 3, so
  // they are rendered from a copy of the chart without it.
  const chart = join(dir, 'chart');
  cpSync(join(REPO_ROOT, 'chart/opennebula'), chart, { recursive: true });
  rmSync(join(chart, 'templates/statefulset.yaml'));
  const rendered = await kube.must('helm', [
    'template',
    'one',
    chart,
    '-n',
    NAMESPACE,
    ...CHART_SETTINGS,
    '--show-only',
    'templates/ha-rbac.yaml',
    '--show-only',
    'templates/ha-services.yaml',
    '--show-only',
    'templates/serviceaccount.yaml',
  ]);
  await kubectl(['apply', '-f', '-'], rendered);
  const selector = {
    'app.kubernetes.io/name': 'opennebula',
    'app.kubernetes.io/instance': 'one',
    'app.kubernetes.io/component': 'frontend',
  };
  const pods = ha.pods.map((pod) => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: pod.name, labels: selector },
    spec: {
      containers: [
        {
          name: 'oned',
          image: 'opennebula:ha',
          ports: [
            { name: 'xmlrpc', containerPort: 2633 },
            { name: 'grpc', containerPort: 2634 },
            { name: 'monitord-tcp', containerPort: 4124 },
            { name: 'monitord-udp', containerPort: 4124, protocol: 'UDP' },
            { name: 'oneflow', containerPort: 2474 },
            { name: 'onegate', containerPort: 5030 },
          ],
        },
      ],
      tolerations: [{ operator: 'Exists' }],
    },
  }));
  await kubectl(['apply', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: pods }));
  await kubectl(['wait', '--for=condition=Ready', 'pod', '--all', '--timeout=120s']);
  const token = join(dir, 'loop-token');
  writeFileSync(token, (await kubectl(['create', 'token', 'one', '--duration=2h'])).trim(), { mode: 0o600 });
  const server = (
    await kube.must('kubectl', ['config', 'view', '--raw', '-o', 'jsonpath={.clusters[0].cluster.server}'])
  ).trim();
  const caData = await kube.must('kubectl', [
    'config',
    'view',
    '--raw',
    '-o',
    'jsonpath={.clusters[0].cluster.certificate-authority-data}',
  ]);
  const ca = join(dir, 'loop-ca.crt');
  if (caData.trim()) writeFileSync(ca, Buffer.from(caData.trim(), 'base64'));
  else {
    const caFile = await kube.must('kubectl', [
      'config',
      'view',
      '--raw',
      '-o',
      'jsonpath={.clusters[0].cluster.certificate-authority}',
    ]);
    writeFileSync(ca, readFileSync(caFile.trim()));
  }
  const peers = ha.pods.map((pod) => `${pod.name}=${pod.address}`).join(' ');
  for (const pod of ha.pods) {
    const loop = spawn('ruby', [LABEL_LOOP], {
      env: {
        PATH: process.env.PATH,
        HA_SERVER_NAME: pod.name,
        HA_PEERS: peers,
        HA_LOCAL_RPC: `http://${pod.address}:2633/RPC2`,
        ONE_AUTH: join(pod.volume, '.one/one_auth'),
        POD_NAMESPACE: NAMESPACE,
        HA_KUBE_API: server,
        HA_KUBE_TOKEN_FILE: token,
        HA_KUBE_CA_FILE: ca,
        HA_LABEL_PERIOD: '1',
      },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    loops.push(loop);
  }
  return {
    cluster: kube,
    async labels() {
      const list = JSON.parse(await kubectl(['get', 'pods', '-o', 'json'])) as {
        items: { metadata: { name: string; labels?: Record<string, string> } }[];
      };
      return Object.fromEntries(
        list.items.map((item) => [item.metadata.name, item.metadata.labels?.['opennebula.io/raft-role']]),
      );
    },
    async leaderEndpoints() {
      const slices = JSON.parse(
        await kubectl(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=one-leader', '-o', 'json']),
      ) as { items: { endpoints?: { conditions?: { ready?: boolean }; targetRef?: { name: string } }[] }[] };
      return slices.items
        .flatMap((slice) => slice.endpoints ?? [])
        .filter((endpoint) => endpoint.conditions?.ready !== false)
        .map((endpoint) => endpoint.targetRef?.name ?? '?')
        .sort();
    },
    async asLoop(args) {
      const result = await kube.run('kubectl', [
        '--server',
        server,
        '--certificate-authority',
        ca,
        '--token',
        readFileSync(token, 'utf8'),
        '--kubeconfig',
        '/dev/null',
        '-n',
        NAMESPACE,
        ...args,
      ]);
      return { code: result.code, output: result.stdout + result.stderr };
    },
    async close() {
      for (const loop of loops) loop.kill('SIGTERM');
      if (!cluster) await kube.stop();
    },
  };
}
