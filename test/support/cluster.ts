// A real Kubernetes control plane on 127.0.0.1 for chart tests: etcd, kube-apiserver,
// kube-controller-manager and kube-scheduler built from source by test/tools/install.sh, started by
// `kwokctl --runtime binary` (nothing downloaded), with kwok nodes. kwok's stages make pods Ready,
// complete Job pods, delete terminating pods, provision and bind PVCs through its default StorageClass;
// ours (kwok/stages.yaml) complete `helm test` pods and give LoadBalancer Services an address. The
// Gateway API CRDs are installed too.
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { REPO_ROOT, TOOLS_DIR, requireTool, runCommand, type CommandResult } from './tools.js';

export type { CommandResult } from './tools.js';

export interface Cluster {
  readonly name: string;
  readonly kubeconfig: string;
  /** Milliseconds from `kwokctl create cluster` to a ready API server with nodes. */
  readonly startMs: number;
  run(tool: string, args: string[], input?: string): Promise<CommandResult>;
  /** Like run, but throws with the output on a non-zero exit. */
  must(tool: string, args: string[], input?: string): Promise<string>;
  stop(): Promise<void>;
}

/** kwok's stages from the module (copied by install.sh) followed by ours, and `extra`, as one kwokctl config. */
function stagesConfig(dir: string, extra: string[]): string {
  const kwokStages = join(TOOLS_DIR, 'kwok-stages');
  const documents = readdirSync(kwokStages)
    .filter((name) => name.endsWith('.yaml') && name !== 'storage-class.yaml')
    .sort()
    .map((name) => readFileSync(join(kwokStages, name), 'utf8'));
  documents.push(readFileSync(join(REPO_ROOT, 'test/support/kwok/stages.yaml'), 'utf8'), ...extra);
  const path = join(dir, 'kwok-config.yaml');
  writeFileSync(path, documents.map((doc) => doc.trim()).join('\n---\n') + '\n');
  return path;
}

export interface ClusterOptions {
  /** kwok nodes (default 2); 0 for none (a real node joins instead: test/support/node). */
  nodes?: number;
  /** Further kwokctl configuration documents (e.g. a KwokctlConfiguration with componentsPatches). */
  config?: string[];
}

export async function startCluster(options: ClusterOptions = {}): Promise<Cluster> {
  const binaries = Object.fromEntries(
    [
      'kwokctl',
      'kwok',
      'etcd',
      'kube-apiserver',
      'kube-controller-manager',
      'kube-scheduler',
      'kubectl',
      'helm',
      'helm3',
    ].map((tool) => [tool, requireTool(tool)]),
  );
  const dir = mkdtempSync(join(tmpdir(), 'kwok-'));
  const name = `t${process.pid}-${Math.floor(Math.random() * 1e6)}`;
  const kubeconfig = join(dir, 'kubeconfig');
  const env: NodeJS.ProcessEnv = {
    PATH: `${join(TOOLS_DIR, 'bin')}:${process.env.PATH ?? ''}`,
    HOME: dir,
    KWOK_WORKDIR: join(dir, 'kwok'),
    KUBECONFIG: kubeconfig,
    // Helm keeps its caches and repositories in the cluster's directory, away from the user's.
    HELM_CACHE_HOME: join(dir, 'helm-cache'),
    HELM_CONFIG_HOME: join(dir, 'helm-config'),
    HELM_DATA_HOME: join(dir, 'helm-data'),
  };
  const kwokctl = (args: string[]) => runCommand(binaries.kwokctl!, [...args, '--name', name], { env });
  const started = Date.now();
  const created = await kwokctl([
    'create',
    'cluster',
    '--runtime',
    'binary',
    '--kube-apiserver-binary',
    binaries['kube-apiserver']!,
    '--kube-controller-manager-binary',
    binaries['kube-controller-manager']!,
    '--kube-scheduler-binary',
    binaries['kube-scheduler']!,
    '--etcd-binary',
    binaries.etcd!,
    '--kwok-controller-binary',
    binaries.kwok!,
    '--config',
    stagesConfig(dir, options.config ?? []),
    '--wait',
    '120s',
  ]);
  const stop = async () => {
    await kwokctl(['delete', 'cluster']);
    rmSync(dir, { recursive: true, force: true });
  };
  if (created.code !== 0) {
    const logs = await kwokctl(['logs', 'kube-apiserver']);
    await stop();
    throw new Error(`kwokctl create cluster failed:\n${created.stderr}\n${logs.stdout.slice(-4000)}`);
  }
  writeFileSync(kubeconfig, (await kwokctl(['get', 'kubeconfig'])).stdout);
  // As real nodes do, they report local ephemeral storage (kwok's default node has none, and a pod that
  // requests some, as FireEdge does for uploads, would never be scheduled). 1Ti: each front-end requests
  // its scratch volumes' size (about 11Gi by default), and the lifecycle tests keep dozens of releases.
  // No kwok node at all for the real-node rig (test/support/node), whose kubelet registers its own.
  const nodes = options.nodes ?? 2;
  const scaled =
    nodes === 0
      ? { code: 0, stdout: '', stderr: '' }
      : await kwokctl([
          'scale',
          'node',
          '--replicas',
          String(nodes),
          '--param',
          '.allocatable["ephemeral-storage"]="1Ti"',
        ]);
  if (scaled.code !== 0) {
    await stop();
    throw new Error(`kwokctl scale node failed:\n${scaled.stderr}`);
  }
  const run = (tool: string, args: string[], input?: string) =>
    runCommand(binaries[tool] ?? requireTool(tool), args, { env, input });
  const must = async (tool: string, args: string[], input?: string) => {
    const result = await run(tool, args, input);
    if (result.code !== 0)
      throw new Error(`${tool} ${args.join(' ')} exited ${result.code}:\n${result.stdout}${result.stderr}`);
    return result.stdout;
  };
  await must('kubectl', ['apply', '-f', join(TOOLS_DIR, 'kwok-stages', 'storage-class.yaml')]);
  // Gateway API CRDs (from the sigs.k8s.io/gateway-api module), so HTTPRoutes can be created.
  await must('kubectl', ['apply', '--server-side', '-f', join(TOOLS_DIR, 'gateway-api-crds')]);
  // The Prometheus Operator's ServiceMonitor, PodMonitor and PrometheusRule CRDs (from its module), as a
  // cluster running kube-prometheus-stack has them, for the chart's metrics scenario.
  await must('kubectl', ['apply', '--server-side', '-f', join(TOOLS_DIR, 'monitoring-crds')]);
  if (nodes > 0) await must('kubectl', ['wait', '--for=condition=Ready', 'node', '--all', '--timeout=60s']);
  return { name, kubeconfig, startMs: Date.now() - started, run, must, stop };
}
