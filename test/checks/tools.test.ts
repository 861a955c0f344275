// The pinned tools are present, at their pinned versions, and do their job here (not only --version).
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { K8S_SCHEMA_DIR, REPO_ROOT, requireTool, runTool } from '../support/tools.js';

function pins(): Record<string, string> {
  const text = readFileSync(join(REPO_ROOT, 'test/tools/versions.sh'), 'utf8');
  return Object.fromEntries(
    [...text.matchAll(/^([A-Z0-9_]+)="?([^"#\n]*?)"?\s*(?:#.*)?$/gm)].map((m) => [m[1]!, m[2]!.trim()]),
  );
}

/** Runs a tool expected to fail; returns its combined output. */
function runFailing(name: string, args: string[], cwd: string): string {
  try {
    execFileSync(requireTool(name), args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (error) {
    const failure = error as { stdout?: string; stderr?: string };
    return `${failure.stdout ?? ''}${failure.stderr ?? ''}`;
  }
  throw new Error(`${name} ${args.join(' ')} succeeded but should have failed`);
}

const PIN = pins();
let work: string;
beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'tools-check-'));
});
afterAll(() => rmSync(work, { recursive: true, force: true }));

describe('pinned versions', () => {
  it.each([
    ['helm', ['version', '--short'], PIN.HELM_VERSION],
    ['helm3', ['version', '--short'], PIN.HELM3_VERSION],
    ['kubeconform', ['-v'], PIN.KUBECONFORM_VERSION],
    ['actionlint', ['-version'], PIN.ACTIONLINT_VERSION],
    ['trivy', ['--version'], PIN.TRIVY_VERSION?.replace(/^v/, '')],
  ])('%s is the pinned version', (tool, args, version) => {
    expect(version).toBeTruthy();
    expect(runTool(tool, args)).toContain(version!.replace(/^v/, ''));
  });

  it.each([
    'helm-unittest',
    'shellcheck',
    'bats',
    'hadolint',
    'zizmor',
    'yamllint',
    'buildah',
    'docker-registry',
    'git',
  ])('%s is installed', (tool) => {
    expect(requireTool(tool)).toMatch(/\//);
  });
});

describe('tools work', () => {
  function writeChart(dir: string) {
    mkdirSync(join(dir, 'templates'), { recursive: true });
    writeFileSync(
      join(dir, 'Chart.yaml'),
      'apiVersion: v2\nname: probe\nversion: 0.1.0\nkubeVersion: ">=1.29.0-0"\n',
    );
    writeFileSync(
      join(dir, 'templates', 'cm.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  kube: "{{ .Capabilities.KubeVersion.Version }}"\n',
    );
    return dir;
  }

  it.each(['helm', 'helm3'])(
    '%s renders a chart that requires Kubernetes >= 1.29 (build-time version set)',
    (tool) => {
      const chart = writeChart(join(work, `chart-${tool}`));
      const out = runTool(tool, ['template', 'probe', chart]);
      expect(out).toMatch(/kube: "v1\.(29|[3-9]\d)\.\d+"/);
    },
  );

  it('helm-unittest runs a suite and reports a failing assertion', () => {
    const chart = writeChart(join(work, 'chart-unittest'));
    mkdirSync(join(chart, 'tests'));
    writeFileSync(
      join(chart, 'tests', 'cm_test.yaml'),
      'suite: probe\ntemplates: [templates/cm.yaml]\ntests:\n  - it: names the ConfigMap\n    asserts:\n      - equal: {path: metadata.name, value: wrong}\n',
    );
    expect(runFailing('helm-unittest', [chart], work)).toMatch(/names the ConfigMap/);
  });

  it.each(['v1.29.15', 'v1.36.3'])(
    'kubeconform validates against the generated %s schemas, rejecting unknown fields',
    (version) => {
      const good = join(work, `good-${version}.yaml`);
      const bad = join(work, `bad-${version}.yaml`);
      writeFileSync(
        good,
        [
          'apiVersion: apps/v1',
          'kind: StatefulSet',
          'metadata: {name: one, labels: null}',
          'spec:',
          '  serviceName: one',
          '  selector: {matchLabels: {app: one}}',
          '  template:',
          '    metadata: {labels: {app: one}}',
          '    spec:',
          '      containers:',
          '        - name: oned',
          '          image: example/one:7.4.0',
          '          ports: [{containerPort: 2633}]',
          '          resources: {requests: {cpu: 1, memory: 1Gi}}',
          '          livenessProbe: {tcpSocket: {port: 2633}}',
          '---',
          'apiVersion: v1',
          'kind: Service',
          'metadata: {name: one}',
          'spec: {ports: [{port: 4124, protocol: UDP, targetPort: monitord}]}',
        ].join('\n'),
      );
      writeFileSync(
        bad,
        'apiVersion: v1\nkind: Service\nmetadata: {name: one}\nspec: {ports: [{port: 4124}], externalTrafficPolcy: Local}\n',
      );
      const args = [
        '-strict',
        '-summary',
        '-kubernetes-version',
        version.slice(1),
        '-schema-location',
        K8S_SCHEMA_DIR,
      ];
      expect(runTool('kubeconform', [...args, good])).toMatch(/Valid: 2, Invalid: 0, Errors: 0/);
      expect(runFailing('kubeconform', [...args, bad], work)).toMatch(/externalTrafficPolcy/);
    },
  );

  it('hadolint reports a Dockerfile problem', () => {
    writeFileSync(
      join(work, 'Dockerfile'),
      'FROM ubuntu:latest\nRUN apt-get update && apt-get install -y curl\n',
    );
    expect(runFailing('hadolint', [join(work, 'Dockerfile')], work)).toMatch(/DL3007|DL3008/);
  });

  it('buildah can build an image from a test context', () => {
    const context = join(work, 'context');
    mkdirSync(context);
    writeFileSync(join(context, 'hello.txt'), 'hello\n');
    writeFileSync(
      join(context, 'Containerfile'),
      'FROM scratch\nCOPY hello.txt /hello.txt\nLABEL org.opencontainers.image.title=probe\n',
    );
    const storage = join(work, 'buildah-storage');
    const common = ['--root', storage, '--runroot', join(work, 'buildah-run'), '--storage-driver', 'vfs'];
    const id = runTool('buildah', [
      ...common,
      'build',
      '--quiet',
      '--isolation',
      'chroot',
      '-f',
      join(context, 'Containerfile'),
      '-t',
      'probe:1',
      context,
    ]).trim();
    expect(id).toMatch(/[0-9a-f]{12,}/);
    const inspect = JSON.parse(runTool('buildah', [...common, 'inspect', '--type', 'image', 'probe:1'])) as {
      OCIv1: { config: { Labels: Record<string, string> } };
    };
    expect(inspect.OCIv1.config.Labels['org.opencontainers.image.title']).toBe('probe');
  });
});

describe('install.sh --only', () => {
  const check = (...args: string[]) => {
    try {
      return execFileSync('bash', [join(REPO_ROOT, 'test/tools/install.sh'), '--check', ...args], {
        env: { ...process.env, TOOLS_DIR: join(work, 'empty-tools') },
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      });
    } catch (error) {
      return (error as { stderr?: string }).stderr ?? '';
    }
  };
  it('considers only the tools it names', () => {
    const some = check('--only', 'helm', 'trivy');
    expect(some).toMatch(/helm v\d/);
    expect(some).toMatch(/trivy v\d/);
    expect(some).not.toMatch(/kube-apiserver|helm-unittest|kubeconform/);
    expect(check()).toMatch(/kube-apiserver/);
  });
});
