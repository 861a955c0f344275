// The Helm chart, offline: lint with Helm 4 and Helm 3, helm-unittest suites, every ci/*-values.yaml
// scenario rendered and validated against the Kubernetes 1.29 and 1.36 schemas (unknown fields rejected),
// the values schema, the generated README, the packaged files and deterministic rendering.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { K8S_SCHEMA_DIR, REPO_ROOT, requireTool, runTool } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
const SCENARIOS = readdirSync(join(CHART, 'ci'))
  .filter((name) => name.endsWith('-values.yaml'))
  .sort();
const HELMS = ['helm', 'helm3'] as const;
const KUBERNETES = ['1.29.15', '1.36.3'];

type Manifest = { kind: string; metadata: { name: string; annotations?: Record<string, string> }; [key: string]: unknown };

function render(helm: string, release: string, args: string[] = []): string {
  return runTool(helm, ['template', release, CHART, '--namespace', 'cloud', ...args]);
}

function manifests(text: string): Manifest[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null);
}

/** Runs a command expected to fail and returns its output. */
function failure(tool: string, args: string[]): string {
  try {
    execFileSync(requireTool(tool), args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failed = error as { stdout?: string; stderr?: string };
    return `${failed.stdout ?? ''}${failed.stderr ?? ''}`;
  }
  throw new Error(`${tool} ${args.join(' ')} succeeded but should have failed`);
}

describe('scenarios', () => {
  it('cover every situation the chart must handle', () => {
    for (const name of [
      'defaults',
      'external-db',
      'persistence-off',
      'ingress-tls',
      'gateway-api',
      'hypervisors-loadbalancer',
      'hypervisors-nodeport',
      'hypervisors-hostnetwork',
      'tproxy',
      'user-ssh-keys',
      'backups',
      'networkpolicy-pdb',
      'fullname-override',
      'restore',
      'operator-config',
    ]) {
      expect(SCENARIOS, name).toContain(`${name}-values.yaml`);
    }
  });

  describe.each(HELMS)('%s', (helm) => {
    it('lints the chart strictly', () => {
      runTool(helm, ['lint', '--strict', CHART]);
    });

    it.each(SCENARIOS)('%s renders, lints, and validates against Kubernetes 1.29 and 1.36', (scenario) => {
      const values = join(CHART, 'ci', scenario);
      runTool(helm, ['lint', '--strict', CHART, '-f', values]);
      // A release name without "opennebula" in it, and one with it.
      for (const release of ['one', 'my-opennebula']) {
        const text = render(helm, release, ['-f', values]);
        for (const version of KUBERNETES) {
          const report = runTool(
            'kubeconform',
            ['-strict', '-summary', '-kubernetes-version', version, '-schema-location', K8S_SCHEMA_DIR, '-'],
            { input: text },
          );
          expect(report, `${scenario} ${release} ${version}`).toMatch(/Invalid: 0, Errors: 0, Skipped: 0/);
        }
      }
    });
  });
});

describe('names', () => {
  /** Names of the Secrets the credentials Job makes. */
  const generatedSecrets = (docs: Manifest[]) => {
    const job = docs.find((d) => d.kind === 'Job' && d.metadata.name.endsWith('-credentials')) as unknown as {
      spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } };
    };
    const env = job.spec.template.spec.containers[0]!.env.find((e) => e.name === 'GENERATED_SECRETS')!;
    return (JSON.parse(env.value) as { name: string }[]).map((s) => s.name);
  };
  const resources = (args: string[], release = 'one') => manifests(render('helm', release, args));
  const env = (docs: Manifest[], name: string) => {
    const sts = docs.find(
      (d) => d.kind === 'StatefulSet' && (d.metadata as { labels?: Record<string, string> }).labels?.['app.kubernetes.io/component'] === 'frontend',
    ) as unknown as {
      spec: { template: { spec: { containers: { env: { name: string; value?: string }[] }[] } } };
    };
    return sts.spec.template.spec.containers[0]!.env.find((e) => e.name === name)?.value;
  };

  it('finds the bundled MariaDB under any release name', () => {
    expect(env(resources([]), 'DB_HOST')).toBe('one-mariadb.cloud.svc.cluster.local');
    expect(env(resources([], 'mariadb-lab'), 'DB_HOST')).toBe('mariadb-lab.cloud.svc.cluster.local');
    const names = resources([], 'mariadb-lab').map((d) => `${d.kind}/${d.metadata.name}`);
    expect(names).toContain('Service/mariadb-lab');
    expect(generatedSecrets(resources([], 'mariadb-lab'))).toEqual(['mariadb-lab-opennebula-oneadmin', 'mariadb-lab', 'mariadb-lab-opennebula-monitord']);
  });

  it('follows fullnameOverride for the front-end and the database', () => {
    const docs = resources(['-f', join(CHART, 'ci/fullname-override-values.yaml')]);
    const names = docs.map((d) => `${d.kind}/${d.metadata.name}`);
    expect(names).toEqual(expect.arrayContaining(['StatefulSet/cloud', 'StatefulSet/cloud-db', 'Service/cloud-db', 'Job/cloud-credentials']));
    expect(generatedSecrets(docs)).toEqual(['cloud-oneadmin', 'cloud-db', 'cloud-monitord']);
    expect(env(docs, 'DB_HOST')).toBe('cloud-db.cloud.svc.cluster.local');
    expect(env(docs, 'HOSTNAME')).toBe('cloud-0.cloud-headless.cloud.svc.cluster.local');
  });

  it('renders no MariaDB with an external database', () => {
    const docs = resources(['-f', join(CHART, 'ci/external-db-values.yaml')]);
    expect(docs.filter((d) => d.metadata.name.includes('mariadb'))).toEqual([]);
    expect(env(docs, 'DB_HOST')).toBe('mariadb.databases.svc.cluster.local');
  });

  it('keeps every name within 63 characters for a long release name', () => {
    const release = 'a-very-long-release-name-for-the-cloud-installation-x'; // 53, Helm's limit
    // Cut to 52, the front-end's and MariaDB's StatefulSets would get the same name: refused, naming the way out.
    expect(failure('helm', ['template', release, CHART])).toMatch(
      /release name "a-very-long-release-name-for-the-cloud-installation-x" gives the front-end and the bundled MariaDB the same name .*mariadb\.fullnameOverride/,
    );
    for (const doc of resources(['--set', 'mariadb.fullnameOverride=cloud-db'], release)) {
      // StatefulSets: 52, because the controller-revision-hash label appends 11 characters to the name.
      const limit = doc.kind === 'StatefulSet' ? 52 : 63;
      expect(doc.metadata.name.length, doc.metadata.name).toBeLessThanOrEqual(limit);
    }
  });
});

describe('values schema', () => {
  const sections = Object.keys(
    (JSON.parse(readFileSync(join(CHART, 'values.schema.json'), 'utf8')) as { properties: Record<string, { type?: unknown }> }).properties,
  );

  it.each([...sections.filter((s) => !['nameOverride', 'fullnameOverride', 'clusterDomain', 'imagePullSecrets', 'extraVolumes', 'extraVolumeMounts', 'automountServiceAccountToken', 'priorityClassName', 'topologySpreadConstraints', 'tolerations', 'terminationGracePeriodSeconds', 'nodeSelector', 'affinity', 'podAnnotations', 'podLabels', 'podSecurityContext', 'securityContext', 'global', 'replicaCount', 'extraContainers', 'extraInitContainers', 'extraObjects', 'commonLabels', 'timezone', 'hostAliases', 'dnsConfig'].includes(s)), 'opennebula.oneadmin', 'hypervisors.nodePorts', 'mariadb.image'])(
    'rejects an unknown key in %s',
    (section) => {
      const out = failure('helm', ['template', 'one', CHART, '--set', `${section}.notAKey=1`]);
      expect(out).toMatch(/additional properties 'notAKey' not allowed/);
    },
  );

  it.each([
    ['persistence.enabled', 'yes'],
    ['hypervisors.monitordPort', 'x'],
    ['hypervisors.exposure', 'ExternalName'],
    ['hypervisors.loadBalancerSourceRanges[0]', '192.0.2.0'],
    ['hypervisors.loadBalancerIP', '192.0.2.40:80'],
    ['opennebula.config.oned\\.conf.DEFAULT_AUTH', 'a\nb'],
    ['services.api.type', 'Internal'],
    ['opennebula.logLevel', '7'],
    ['opennebula.ssh.port', '22'],
    ['image.pullPolicy', 'Sometimes'],
    ['mariadb.maxConnections', '10'],
    // Kubernetes quantities know k (decimal) and Ki (binary), not K.
    ['persistence.size', '10K'],
    ['mariadb.persistence.size', '8K'],
    ['backup.persistence.size', '1K'],
    ['uploads.sizeLimit', '1K'],
    // Resource quantities as the API server parses them: no GB, no spaces, no words.
    ['resources.fireedge.requests.ephemeral-storage', '1GB'],
    ['resources.oned.limits.memory', '512MB'],
    ['backup.resources.requests.cpu', 'half'],
    ['mariadb.resources.limits.memory', '1 Gi'],
  ])('rejects %s=%s', (key, value) => {
    const out = failure('helm', ['template', 'one', CHART, '--set-string', `${key}=${value}`]);
    expect(out).toMatch(/values don't meet the specifications of the schema/);
  });
});

describe('resource quantities', () => {
  it('accepts every form Kubernetes accepts (millicores, decimals, exponents, binary and decimal suffixes, numbers)', () => {
    const set = ['resources.oned.requests.cpu=250m', 'resources.fireedge.requests.cpu=250000u', 'resources.guacd.requests.cpu=100000000n', 'resources.sshd.requests.memory=+16Mi', 'resources.oned.requests.memory=1.5Gi', 'resources.oned.limits.memory=2e9', 'resources.fireedge.requests.ephemeral-storage=12G', 'mariadb.resources.requests.cpu=0.5', 'backup.resources.limits.memory=128974848'];
    const docs = manifests(render('helm', 'one', set.flatMap((value) => ['--set', value])));
    const oned = (docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'one-opennebula')!.spec as { template: { spec: { containers: { resources: unknown }[] } } }).template.spec.containers[0]!.resources;
    expect(oned).toMatchObject({ requests: { cpu: '250m', memory: '1.5Gi' }, limits: { memory: '2e9' } });
  });
});

describe('rendering', () => {
  it.each(SCENARIOS)('%s: identical output on every render (GitOps renderers have no lookup)', (scenario) => {
    const args = ['-f', join(CHART, 'ci', scenario)];
    expect(render('helm', 'one', args)).toBe(render('helm', 'one', args));
  });

  it.each(SCENARIOS)('%s: renders no Secret, so no password, default or generated', (scenario) => {
    const docs = manifests(render('helm', 'one', ['-f', join(CHART, 'ci', scenario)]));
    expect(docs.filter((d) => d.kind === 'Secret').map((d) => d.metadata.name)).toEqual([]);
  });
});

describe('chart files', () => {
  let work: string;
  beforeAll(() => {
    work = mkdtempSync(join(tmpdir(), 'chart-files-'));
  });
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it('passes its helm-unittest suites', () => {
    const out = runTool('helm-unittest', [CHART]);
    expect(out).toMatch(/Tests:\s+\d+ passed, \d+ total/);
    expect(out).not.toMatch(/failed/);
  });

  it('has a README generated from the current values', () => {
    const copy = join(work, 'docs', 'opennebula');
    cpSync(CHART, copy, { recursive: true });
    runTool('helm-docs', [
      '--chart-search-root',
      copy,
      '--document-dependency-values',
      '--skip-version-footer',
      '--template-files',
      'README.md.gotmpl',
      '--log-level',
      'error',
    ]);
    for (const file of ['README.md', 'charts/mariadb/README.md']) {
      expect(readFileSync(join(CHART, file), 'utf8'), `chart/opennebula/${file} is stale: run PATH=.tools/bin:$PATH npm run chart:docs`).toBe(
        readFileSync(join(copy, file), 'utf8'),
      );
    }
  });

  it('packages the helm test hooks but not the development files', () => {
    runTool('helm', ['package', CHART, '--destination', work]);
    const listing = execFileSync('tar', ['-tzf', join(work, 'opennebula-0.1.0.tgz')], { encoding: 'utf8' });
    expect(listing).toContain('opennebula/templates/tests/test-oned.yaml');
    expect(listing).toContain('opennebula/templates/tests/test-fireedge.yaml');
    expect(listing).toContain('opennebula/charts/mariadb/templates/statefulset.yaml');
    expect(listing).toContain('opennebula/values.schema.json');
    expect(listing).not.toMatch(/opennebula\/tests\/|opennebula\/ci\/|README\.md\.gotmpl/);
  });
});

describe('as a dependency of an umbrella chart', () => {
  let umbrella: string;
  beforeAll(() => {
    umbrella = mkdtempSync(join(tmpdir(), 'umbrella-'));
    mkdirSync(join(umbrella, 'templates'));
    writeFileSync(
      join(umbrella, 'Chart.yaml'),
      ['apiVersion: v2', 'name: platform', 'version: 1.0.0', 'dependencies:', '  - name: opennebula', '    version: 0.1.0', `    repository: file://${CHART}`, ''].join('\n'),
    );
    // What umbrella charts commonly set for every subchart: a global pull secret and other global keys.
    writeFileSync(
      join(umbrella, 'values.yaml'),
      ['global:', '  imagePullSecrets:', '    - name: platform-registry', '  storageClass: fast', 'opennebula:', '  backup:', '    enabled: true', ''].join('\n'),
    );
    runTool('helm', ['dependency', 'build', umbrella]);
  });
  afterAll(() => rmSync(umbrella, { recursive: true, force: true }));

  it('accepts global values and pulls every image with global.imagePullSecrets', () => {
    const docs = manifests(runTool('helm', ['template', 'platform', umbrella, '--namespace', 'cloud']));
    const pods = docs.flatMap((doc) => {
      const spec = doc.spec as { template?: { spec: object }; jobTemplate?: { spec: { template: { spec: object } } }; containers?: unknown } | undefined;
      if (doc.kind === 'Pod') return [[doc.metadata.name, spec]];
      if (spec?.template) return [[doc.metadata.name, spec.template.spec]];
      if (spec?.jobTemplate) return [[doc.metadata.name, spec.jobTemplate.spec.template.spec]];
      return [];
    }) as [string, { imagePullSecrets?: { name: string }[] }][];
    expect(pods.map(([name]) => name)).toEqual(expect.arrayContaining(['platform-opennebula', 'platform-mariadb', 'platform-opennebula-backup']));
    for (const [name, spec] of pods) expect(spec.imagePullSecrets, name).toEqual([{ name: 'platform-registry' }]);
  });

  it("adds the chart's own imagePullSecrets to the global ones, for MariaDB too", () => {
    const docs = manifests(
      runTool('helm', ['template', 'platform', umbrella, '--set', 'opennebula.imagePullSecrets[0].name=one-registry', '--set', 'opennebula.mariadb.imagePullSecrets[0].name=db-registry']),
    );
    const specOf = (name: string) => (docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === name)!.spec as { template: { spec: { imagePullSecrets: unknown } } }).template.spec.imagePullSecrets;
    expect(specOf('platform-opennebula')).toEqual([{ name: 'platform-registry' }, { name: 'one-registry' }]);
    expect(specOf('platform-mariadb')).toEqual([{ name: 'platform-registry' }, { name: 'db-registry' }]);
  });

  it('pulls every image from global.imageRegistry and puts every claim on global.storageClass', () => {
    const values = join(umbrella, 'registry.yaml');
    writeFileSync(values, ['global:', '  imageRegistry: mirror.example.org:5000', '  storageClass: fast', 'opennebula:', '  backup:', '    enabled: true', ''].join('\n'));
    const docs = manifests(runTool('helm', ['template', 'platform', umbrella, '-f', values]));
    const text = JSON.stringify(docs);
    const images = [...text.matchAll(/"image":"([^"]+)"/g)].map((m) => m[1]);
    expect(images.length).toBeGreaterThan(8);
    for (const image of images) expect(image).toMatch(/^mirror\.example\.org:5000\/(pablodelarco\/opennebula|library\/mariadb):/);
    const claims = [
      ...docs.filter((d) => d.kind === 'PersistentVolumeClaim').map((d) => [d.metadata.name, (d as unknown as { spec: { storageClassName?: string } }).spec.storageClassName]),
      ...docs.flatMap((d) => ((d.spec as { volumeClaimTemplates?: { metadata: { name: string }; spec: { storageClassName?: string } }[] } | undefined)?.volumeClaimTemplates ?? []).map((t) => [`${d.metadata.name}/${t.metadata.name}`, t.spec.storageClassName])),
    ];
    expect(claims.map(([name]) => name).sort()).toEqual(['platform-mariadb/data', 'platform-opennebula-backup', 'platform-opennebula/data']);
    for (const [name, storageClass] of claims) expect(storageClass, name).toBe('fast');
    // The chart's own values win over the global ones.
    const own = manifests(runTool('helm', ['template', 'platform', umbrella, '-f', values, '--set', 'opennebula.persistence.storageClass=local', '--set', 'opennebula.mariadb.image.repository=quay.io/mariadb/mariadb']));
    const frontEnd = own.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'platform-opennebula')!.spec as { volumeClaimTemplates: { spec: { storageClassName: string } }[] };
    expect(frontEnd.volumeClaimTemplates[0]!.spec.storageClassName).toBe('local');
    expect(JSON.stringify(own)).toContain('"image":"mirror.example.org:5000/mariadb/mariadb:');
  });

  it('takes pull secrets given as plain names too, as the schema allows', () => {
    const values = join(umbrella, 'plain.yaml');
    writeFileSync(
      values,
      ['global:', '  imagePullSecrets: [platform-plain, { name: platform-registry }]', 'opennebula:', '  imagePullSecrets: [one-plain]', '  mariadb:', '    imagePullSecrets: [db-plain]', ''].join('\n'),
    );
    const docs = manifests(runTool('helm', ['template', 'platform', umbrella, '-f', values]));
    const specOf = (name: string) => (docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === name)!.spec as { template: { spec: { imagePullSecrets: unknown } } }).template.spec.imagePullSecrets;
    expect(specOf('platform-opennebula')).toEqual([{ name: 'platform-plain' }, { name: 'platform-registry' }, { name: 'one-plain' }]);
    expect(specOf('platform-mariadb')).toEqual([{ name: 'platform-plain' }, { name: 'platform-registry' }, { name: 'db-plain' }]);
  });
});
