// The chart's high availability (replicaCount 3 or 5), rendered offline: it lints and validates against the
// Kubernetes schema with Helm 4 and Helm 3, is refused where the API cannot narrow the label loop's rights,
// and every member's pod gets the same Secrets: nothing a member authenticates with
// (oneadmin, serveradmin, one_key, the SSH key, monitord's keys, the database password) is made per pod.
// (trivy-config.test.ts scans the HA render too.)
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { K8S_SCHEMA_DIR, REPO_ROOT, runTool } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
const HA = ['--set', 'replicaCount=3', '--set', 'mariadb.replicaCount=3'];

type Doc = { kind: string; metadata: { name: string }; spec?: Record<string, unknown> };
type Volume = {
  name: string;
  secret?: { secretName: string };
  projected?: { sources: { secret?: { name: string } }[] };
  persistentVolumeClaim?: unknown;
};
type Container = {
  name: string;
  env?: { name: string; value?: string; valueFrom?: { secretKeyRef?: { name: string } } }[];
  volumeMounts?: { name: string; mountPath: string }[];
};
type PodSpec = { volumes: Volume[]; containers: Container[]; initContainers: Container[] };

function render(helm: string, args: string[] = []): Doc[] {
  const text = runTool(helm, ['template', 'one', CHART, '-n', 'cloud', ...HA, ...args]);
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Doc | null)
    .filter((doc): doc is Doc => doc !== null);
}

function failure(helm: string, args: string[]): string {
  try {
    runTool(helm, ['template', 'one', CHART, '-n', 'cloud', ...args]);
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error(`${helm} template ${args.join(' ')} succeeded but should have failed`);
}

const podSpec = (docs: Doc[], name: string) =>
  (docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === name)!.spec as {
    template: { spec: PodSpec };
  }).template.spec;

describe.each(['helm', 'helm3'])('%s', (helm) => {
  it('lints strictly and validates against the Kubernetes 1.36 schema (unknown fields rejected)', () => {
    runTool(helm, ['lint', '--strict', CHART, ...HA]);
    const text = runTool(helm, ['template', 'one', CHART, '-n', 'cloud', ...HA, '--kube-version', '1.36.3']);
    const report = runTool(
      'kubeconform',
      ['-strict', '-summary', '-kubernetes-version', '1.36.3', '-schema-location', K8S_SCHEMA_DIR, '-'],
      { input: text },
    );
    expect(report).toMatch(/Invalid: 0, Errors: 0/);
  });

  it('is refused on Kubernetes 1.29, naming the reason', () => {
    expect(failure(helm, [...HA, '--kube-version', '1.29.15'])).toMatch(
      /replicaCount=3 needs Kubernetes 1.30 or later \(this is v1.29.15\).*ValidatingAdmissionPolicy/,
    );
  });

  it('renders five members with five MariaDB servers', () => {
    const docs = render(helm, ['--set', 'replicaCount=5', '--set', 'mariadb.replicaCount=5']);
    const replicas = docs.filter((d) => d.kind === 'StatefulSet').map((d) => [d.metadata.name, d.spec!.replicas]);
    expect(replicas.sort()).toEqual([
      ['one-mariadb', 5],
      ['one-opennebula', 5],
    ]);
  });
});

describe('shared credentials', () => {
  const docs = render('helm');
  const pod = podSpec(docs, 'one-opennebula');
  const job = docs.find((d) => d.kind === 'Job' && d.metadata.name === 'one-opennebula-credentials') as unknown as {
    spec: { template: { spec: { containers: { env: { name: string; value: string }[] }[] } } };
  };
  const generated = (
    JSON.parse(job.spec.template.spec.containers[0]!.env.find((e) => e.name === 'GENERATED_SECRETS')!.value) as {
      name: string;
      keys: string[];
    }[]
  ).map((s) => [s.name, s.keys] as const);

  it('has the credentials Job make one SSH key for every member, beside the passwords and monitord keys', () => {
    expect(Object.fromEntries(generated)).toEqual({
      'one-opennebula-oneadmin': ['password'],
      'one-mariadb': ['password', 'root-password'],
      'one-opennebula-monitord': ['pubkey.pem', 'prikey.pem'],
      'one-opennebula-ssh': ['public.pem', 'id_rsa'],
    });
  });

  it('gives every member the same Secrets: each one the pod template names is one of those, none per pod', () => {
    const names = new Set<string>();
    for (const volume of pod.volumes) {
      if (volume.secret) names.add(volume.secret.secretName);
      for (const source of volume.projected?.sources ?? []) if (source.secret) names.add(source.secret.name);
    }
    for (const container of [...pod.initContainers, ...pod.containers])
      for (const env of container.env ?? []) if (env.valueFrom?.secretKeyRef) names.add(env.valueFrom.secretKeyRef.name);
    expect([...names].sort()).toEqual(generated.map(([name]) => name).sort());
    for (const name of names) expect(name).not.toMatch(/\$\(|-[0-9]+$/);
  });

  it("copies the cluster's /var/lib/one/.one from a member before init, with the shared key", () => {
    const [copy, init] = pod.initContainers;
    expect([copy!.name, init!.name]).toEqual(['ha-credentials', 'init']);
    for (const container of [copy!, init!]) {
      expect(container.volumeMounts).toEqual(
        expect.arrayContaining([
          { name: 'data', mountPath: '/var/lib/one' },
          { name: 'ssh-key', mountPath: '/run/secrets/opennebula-ssh', readOnly: true },
        ]),
      );
    }
    expect(pod.volumes.find((v) => v.name === 'ssh-key')).toMatchObject({ secret: { secretName: 'one-opennebula-ssh' } });
  });

  it('uses an operator-given SSH key Secret instead, and generates none', () => {
    const given = render('helm', ['--set', 'opennebula.ssh.existingSecret=my-keys']);
    const job = JSON.stringify(given.find((d) => d.kind === 'Job'));
    expect(job).not.toContain('one-opennebula-ssh');
    const volume = podSpec(given, 'one-opennebula').volumes.find((v) => v.name === 'ssh-key');
    expect(volume?.secret).toMatchObject({ secretName: 'my-keys' });
    expect(volume?.secret).not.toHaveProperty('items');
  });
});
