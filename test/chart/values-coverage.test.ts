// Every value in values.yaml (and the MariaDB subchart's) must change what the chart renders: a value
// without effect is a broken promise in the README. Each leaf is changed in turn, with the features it
// belongs to switched on, and the output compared with the unchanged render.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse, parseAllDocuments } from 'yaml';
import { REPO_ROOT, runTool } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

// Maps and Kubernetes structures: changed as a whole, not key by key.
const WHOLE = new Set([
  'annotations',
  'podAnnotations',
  'podLabels',
  'nodeSelector',
  'affinity',
  'podSecurityContext',
  'securityContext',
  'requests',
  'limits',
  'config',
]);

function leaves(value: Json, path: string[] = []): [string[], Json][] {
  if (value !== null && typeof value === 'object' && !Array.isArray(value) && !WHOLE.has(path.at(-1) ?? '')) {
    const entries = Object.entries(value);
    if (entries.length > 0) return entries.flatMap(([key, child]) => leaves(child, [...path, key]));
  }
  return [[path, value]];
}

const SAMPLE_LISTS: Record<string, Json[]> = {
  imagePullSecrets: [{ name: 'regcred' }],
  extraEnv: [{ name: 'EXTRA', value: 'x' }],
  extraVolumes: [{ name: 'extra', emptyDir: {} }],
  extraVolumeMounts: [{ name: 'extra', mountPath: '/extra' }],
  tolerations: [{ key: 'k', operator: 'Exists' }],
  topologySpreadConstraints: [{ maxSkew: 1, topologyKey: 'zone', whenUnsatisfiable: 'ScheduleAnyway' }],
  tls: [{ secretName: 'tls' }],
  parentRefs: [{ name: 'other-gateway' }],
  extraIngress: [{ from: [{ ipBlock: { cidr: '10.0.0.0/8' } }] }],
  loadBalancerSourceRanges: ['10.0.0.0/8'],
  networks: ['public'],
  hostnames: ['other.example.org'],
  hosts: ['other.example.org'],
  accessModes: ['ReadWriteMany'],
  extraContainers: [{ name: 'sidecar', image: 'busybox:1.37' }],
  extraInitContainers: [{ name: 'wait', image: 'busybox:1.37' }],
  extraObjects: [{ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: '{{ .Release.Name }}-extra' } }],
  hostAliases: [{ ip: '192.0.2.21', hostnames: ['kvm1'] }],
  configFiles: [{ path: 'auth/ldap_auth.conf', secret: 'ldap', key: 'ldap_auth.conf' }],
  // NetworkPolicy peers and rules.
  fireedge: [{ ipBlock: { cidr: '10.1.0.0/16' } }],
  api: [{ ipBlock: { cidr: '10.2.0.0/16' } }],
  onegate: [{ ipBlock: { cidr: '10.3.0.0/16' } }],
  hypervisors: [{ ipBlock: { cidr: '10.4.0.0/16' } }],
  extra: [{ ports: [{ port: 443, protocol: 'TCP' }] }],
  // Metrics: relabel configs, extra alerting rules, scrapers' peers.
  relabelings: [{ action: 'replace', targetLabel: 'node', replacement: 'x' }],
  metricRelabelings: [{ action: 'drop', sourceLabels: ['__name__'], regex: 'x' }],
  rules: [{ alert: 'Mine', expr: 'vector(1)' }],
  sources: [{ ipBlock: { cidr: '10.5.0.0/16' } }],
};

const SAMPLE_STRINGS: Record<string, string> = {
  tag: '7.2.0',
  digest: `sha256:${'a'.repeat(64)}`,
  pullPolicy: 'Always',
  externalTrafficPolicy: 'Local',
  exposure: 'NodePort',
  timeZone: 'Europe/Madrid',
  backup: 'opennebula-20250202T000000Z',
  size: '33Gi',
  sizeLimit: '33Gi',
  schedule: '5 4 * * *',
  proxyBodySize: '1g',
  clusterDomain: 'example.internal',
  repository: 'registry.example.org/other',
  endpoint: 'http://onegate.example.org:5030',
  loadBalancerIP: '192.0.2.9',
  timezone: 'Europe/Madrid',
  interval: '2m',
  scrapeTimeout: '20s',
  serviceDownFor: '5m',
};

function mutate(path: string[], value: Json): Json {
  const key = path.at(-1)!;
  if (key === 'type') return value === 'LoadBalancer' ? 'NodePort' : 'LoadBalancer';
  if (typeof value === 'boolean') return !value;
  if (typeof value === 'number') return key === 'logLevel' ? 2 : value === 0 ? 1 : value + 1;
  if (value === null) return 30999;
  if (typeof value === 'string') return SAMPLE_STRINGS[key] ?? 'mutated';
  if (Array.isArray(value)) return value.length > 0 && !(key in SAMPLE_LISTS) ? [] : (SAMPLE_LISTS[key] ?? ['mutated']);
  if (key === 'requests' || key === 'limits') return { cpu: '3' };
  if (key === 'config') return { 'oned.conf': { DEFAULT_AUTH: '"ldap"' } };
  return { ...(value as object), 'example.org/mutated': 'x' } as Json;
}

// The features a value belongs to are switched on, so that it has something to change.
const ALL_ON = {
  ingress: { enabled: true },
  httpRoute: { enabled: true, parentRefs: [{ name: 'gateway' }] },
  backup: { enabled: true, s3: { enabled: true, endpoint: 'https://s3.example.org', bucket: 'backups', existingSecret: 's3' } },
  restore: { enabled: true, backup: 'opennebula-20250101T000000Z' },
  networkPolicy: { enabled: true, egress: { enabled: true } },
  podDisruptionBudget: { enabled: true },
  opennebula: { tproxy: { enabled: true, remoteAddress: '192.0.2.1' } },
  services: { onegate: { ingress: { enabled: true, host: 'onegate.example.org' } } },
  hypervisors: { exposure: 'LoadBalancer', loadBalancerAllowAllSources: true, nodePorts: { monitord: 30124, ssh: 30022 } },
  metrics: { enabled: true, serviceMonitor: { enabled: true }, prometheusRule: { enabled: true }, grafanaDashboards: { enabled: true }, mysqldExporter: { enabled: true } },
};
const EXTERNAL_DB = {
  ...ALL_ON,
  mariadb: { enabled: false },
  externalDatabase: { host: 'db.example.org', existingSecret: 'db' },
};

function setAt(base: Record<string, Json>, path: string[], value: Json): Record<string, Json> {
  const copy = structuredClone(base);
  let node = copy as Record<string, Json>;
  for (const key of path.slice(0, -1)) {
    if (typeof node[key] !== 'object' || node[key] === null) node[key] = {};
    node = node[key] as Record<string, Json>;
  }
  node[path.at(-1)!] = value;
  return copy;
}

/** The value in effect: the base's override if it has one, else the chart default. */
function effective(base: Record<string, Json>, path: string[], fallback: Json): Json {
  let node: Json = base;
  for (const key of path) {
    if (node === null || typeof node !== 'object' || Array.isArray(node) || !(key in node)) return fallback;
    node = (node as Record<string, Json>)[key]!;
  }
  return node;
}

/** The render, or the error that refused it (a value that makes the chart refuse has an effect too). */
function renderOrRefusal(values: object): string {
  try {
    return JSON.stringify(render(values));
  } catch (error) {
    return `refused: ${(error as Error).message}`;
  }
}

function render(values: object): unknown[] {
  const text = runTool('helm', ['template', 'one', CHART, '--namespace', 'cloud', '-f', '-'], {
    input: JSON.stringify(values),
  });
  // Generated secrets differ on every render: compare only their keys.
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as { kind?: string; data?: object } | null)
    .filter((doc) => doc !== null)
    .map((doc) => (doc!.kind === 'Secret' ? { ...doc, data: Object.keys(doc!.data ?? {}) } : doc));
}

const parentValues = parse(readFileSync(join(CHART, 'values.yaml'), 'utf8')) as Json;
const mariadbValues = parse(readFileSync(join(CHART, 'charts/mariadb/values.yaml'), 'utf8')) as Json;

describe('every value changes the rendered chart', () => {
  const cases = [
    // mariadb.enabled=false needs an external database: that side is the second case.
    ...leaves(parentValues).filter(([path]) => path[0] !== 'externalDatabase' && path.join('.') !== 'mariadb.enabled'),
    ...leaves(mariadbValues)
      .filter(([path]) => path[0] !== 'enabled')
      .map(([path, value]) => [['mariadb', ...path], value] as [string[], Json]),
  ];
  const external = leaves(parentValues).filter(([path]) => path[0] === 'externalDatabase');
  // Restore mode runs no front-end pod, so there is no PodDisruptionBudget to shape: those values are
  // checked with the front-end running.
  const running = cases.filter(([path]) => path[0] === 'podDisruptionBudget');
  const RUNNING = { ...ALL_ON, restore: { enabled: false } };

  it.each([
    ['with every feature on', ALL_ON, cases.filter(([path]) => path[0] !== 'podDisruptionBudget')],
    ['with an external database', EXTERNAL_DB, external],
    ['with the front-end running (no restore mode)', RUNNING, running],
  ] as const)('%s', (_label, base, list) => {
    expect(list.length).toBeGreaterThan(0);
    const baseline = JSON.stringify(render(base));
    const withoutEffect: string[] = [];
    for (const [path, value] of list) {
      const current = effective(base as Record<string, Json>, path, value);
      const changed = renderOrRefusal(setAt(base as Record<string, Json>, path, mutate(path, current)));
      if (changed === baseline) withoutEffect.push(path.join('.'));
    }
    expect(withoutEffect, 'values that change nothing').toEqual([]);
  });
});
