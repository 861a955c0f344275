// Runs the chart's credentials Job the way the kubelet would, on this machine: kwok only marks pods as
// completed, so the Job's own command (ruby, files/credentials.rb) is run with the Job's environment and a
// token of the Job's ServiceAccount against the real API server. The RBAC the chart renders is what
// allows or refuses it.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments } from 'yaml';
import type { Cluster, CommandResult } from '../support/cluster.js';
import { runCommand } from '../support/tools.js';

type Doc = { kind: string; metadata: { name: string } };
type Job = Doc & {
  spec: {
    template: {
      spec: {
        serviceAccountName: string;
        containers: { command: string[]; args: string[]; env: { name: string; value: string }[] }[];
      };
    };
  };
};

export function documents(text: string): Doc[] {
  return parseAllDocuments(text)
    .map((doc) => doc.toJS() as Doc | null)
    .filter((doc): doc is Doc => doc !== null);
}

/** Creates the Job's ServiceAccount and RBAC from `rendered` (when not there yet) and runs its script. */
export function runCredentialsJob(cluster: Cluster, ns: string, rendered: Doc[]): Promise<CommandResult> {
  return runJobScript(cluster, ns, rendered, (name) => name.endsWith('-credentials'));
}

/**
 * Runs the script of the rendered Job whose name `matches`, with its environment (and `env` over it) and a
 * token of its ServiceAccount, created from `rendered` with its RBAC, against the API server.
 */
export async function runJobScript(
  cluster: Cluster,
  ns: string,
  rendered: Doc[],
  matches: (name: string) => boolean,
  env: Record<string, string> = {},
): Promise<CommandResult> {
  const job = rendered.find((d) => d.kind === 'Job' && matches(d.metadata.name)) as Job | undefined;
  if (!job) throw new Error('the rendered chart has no such Job');
  const pod = job.spec.template.spec;
  const rbac = rendered.filter(
    (d) =>
      ['ServiceAccount', 'Role', 'RoleBinding'].includes(d.kind) &&
      d.metadata.name === pod.serviceAccountName,
  );
  await cluster.must(
    'kubectl',
    ['apply', '-n', ns, '-f', '-'],
    rbac.map((d) => JSON.stringify(d)).join('\n'),
  );
  const token = (await cluster.must('kubectl', ['-n', ns, 'create', 'token', pod.serviceAccountName])).trim();
  const config = JSON.parse(
    await cluster.must('kubectl', ['config', 'view', '--raw', '--minify', '-o', 'json']),
  ) as {
    clusters: {
      cluster: { server: string; 'certificate-authority-data'?: string; 'certificate-authority'?: string };
    }[];
  };
  const server = new URL(config.clusters[0]!.cluster.server);
  const authority = config.clusters[0]!.cluster;
  const account = mkdtempSync(join(tmpdir(), 'serviceaccount-'));
  try {
    writeFileSync(join(account, 'token'), token);
    writeFileSync(join(account, 'namespace'), ns);
    if (authority['certificate-authority-data'])
      writeFileSync(join(account, 'ca.crt'), Buffer.from(authority['certificate-authority-data'], 'base64'));
    else writeFileSync(join(account, 'ca.crt'), readFileSync(authority['certificate-authority']!));
    const container = pod.containers[0]!;
    const environment = {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      ...Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value])),
      KUBERNETES_SERVICE_HOST: server.hostname,
      KUBERNETES_SERVICE_PORT: server.port || '443',
      SERVICEACCOUNT_DIR: account,
      ...env,
    };
    const [file, ...args] = [...container.command, ...container.args];
    return await runCommand(file!, args, { env: environment, timeoutMs: 120_000 });
  } finally {
    rmSync(account, { recursive: true, force: true });
  }
}
