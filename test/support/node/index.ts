// A real node for the chart's lifecycle tests, beside the kwok cluster of ../cluster.ts: containerd (with
// runc and the CNI bridge), a kubelet and kube-proxy built from the pinned Kubernetes, and CoreDNS, all
// under a temporary directory, joined to a kwokctl cluster started with KWOKCTL_CONFIG and no kwok nodes.
// The images it runs are imported from test/tools/node/image.sh's cache (the front-end assembled from the
// OpenNebula source build, the MariaDB stand-in) and test/tools/install.d/node.sh's pause image. Needs
// root. One node at a time per machine (the bridge, kube-proxy's iptables rules and the node name are
// the machine's); stop() undoes every change and reports any it could not.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Cluster } from '../cluster.js';
import { REPO_ROOT, TOOLS_BIN, TOOLS_DIR, runCommand } from '../tools.js';
import * as config from './config.js';
import * as host from './host.js';

export { KWOKCTL_CONFIG, NODE } from './config.js';

const IMAGE_SCRIPT = join(REPO_ROOT, 'test/tools/node/image.sh');
const PAUSE_ARCHIVE = join(TOOLS_DIR, 'node', 'pause.tar');
const SYSTEM_BINARIES = [
  '/usr/bin/containerd',
  '/usr/bin/ctr',
  '/usr/sbin/runc',
  '/usr/lib/cni/bridge',
  '/usr/sbin/iptables',
];

export interface RealNode {
  readonly dir: string;
  /** Milliseconds from start to a Ready node with its images imported. */
  readonly startMs: number;
  /** Of which importing the images into containerd. */
  readonly importMs: number;
  /** Images imported (references as the chart's defaults name them). */
  readonly images: string[];
  /** The node's daemons' recent log lines, for a failing test's message. */
  logs(lines?: number): string;
  stop(): Promise<string[]>;
}

/** The image archives the node imports: [reference, archive path]. */
export function imageArchives(): [string, string][] {
  return ['opennebula', 'mariadb'].map((name) => [
    execFileSync('bash', [IMAGE_SCRIPT, '--ref', name], { encoding: 'utf8' }).trim(),
    execFileSync('bash', [IMAGE_SCRIPT, '--path', name], { encoding: 'utf8' }).trim(),
  ]);
}

/** What a real node needs and this machine lacks, each with how to get it (empty: all present). */
export function missingPrerequisites(): string[] {
  const missing: string[] = [];
  if (process.getuid?.() !== 0) missing.push('root (containerd, the bridge and iptables need it)');
  for (const tool of ['kubelet', 'kube-proxy', 'coredns']) {
    if (!existsSync(join(TOOLS_BIN, tool)))
      missing.push(`${tool} (test/tools/install.sh --only kubelet coredns)`);
  }
  if (!existsSync(PAUSE_ARCHIVE))
    missing.push(`the pause image ${PAUSE_ARCHIVE} (test/tools/install.sh --only pause-image)`);
  for (const path of SYSTEM_BINARIES) {
    if (!existsSync(path))
      missing.push(
        `${path} (test/tools/install.sh --only containerd runc containernetworking-plugins iptables)`,
      );
  }
  for (const [ref, archive] of imageArchives()) {
    if (!existsSync(archive))
      missing.push(
        `the image ${ref} (bash test/tools/node/image.sh ${ref.includes('mariadb') ? 'mariadb' : 'opennebula'})`,
      );
  }
  return missing;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function waitFor(
  what: string,
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  logs: () => string,
) {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`real node: ${what} within ${timeoutMs / 1000}s\n${logs()}`);
}

/** A node being started or stopped: its files, daemons and the changes to undo. */
interface State {
  cluster: Cluster;
  dir: string;
  p: ReturnType<typeof config.paths>;
  layout: config.Layout;
  cgroupRoot: string;
  daemons: host.Daemon[];
  undo: (() => Promise<void> | void)[];
  logs: (lines?: number) => string;
}

const ctr = (s: State, args: string[]) =>
  runCommand('/usr/bin/ctr', ['--address', s.p.containerdSocket, '-n', 'k8s.io', ...args]);

async function prepare(cluster: Cluster): Promise<State> {
  const dir = mkdtempSync(join(tmpdir(), 'real-node-'));
  const p = config.paths(dir);
  for (const d of [p.cniConfDir, p.cniIpamDir, p.kubeletRoot, p.podLogs, p.volumes, p.logs])
    mkdirSync(d, { recursive: true });
  const layout: config.Layout = {
    dir,
    kubeconfig: cluster.kubeconfig,
    pauseImage: readFileSync(join(TOOLS_DIR, 'node', 'pause.ref'), 'utf8').trim(),
    kubeletPort: await freePort(),
    proxyPorts: [await freePort(), await freePort()],
    nodeIP: await host.defaultAddress(),
  };
  const daemons: host.Daemon[] = [];
  const logs = (lines = 30) =>
    daemons.map((d) => `--- ${d.name} (${d.log})\n${host.tail(d.log, lines)}`).join('\n');
  return { cluster, dir, p, layout, cgroupRoot: `/real-node-${process.pid}`, daemons, undo: [], logs };
}

/** Stops the node and undoes its changes; returns what it could not undo (empty: nothing left). */
async function teardown(s: State): Promise<string[]> {
  const problems: string[] = [];
  // No pod deletion first: controllers would recreate them. The tasks are killed (./stopTasks); the pods'
  // network namespaces are mounts under the node's directory, their CNI chains are removed below.
  for (const daemon of [...s.daemons].reverse()) {
    if (daemon.name === 'containerd' && !daemon.exited()) await stopTasks(s);
    await host.stopDaemon(daemon);
  }
  // Whatever survived: the pods' processes (in the node's cgroups) and containerd's shims (they name its
  // socket), all started by this node.
  host.kill(host.processesIn(s.cgroupRoot));
  host.kill(host.processesNaming(s.p.containerdSocket));
  const gone = () => !host.processesIn(s.cgroupRoot).length;
  await waitFor("the pods' processes exit", gone, 10_000, s.logs).catch(() => undefined);
  await runCommand(join(TOOLS_BIN, 'kube-proxy'), ['--cleanup']);
  await host.removeNodeRules();
  for (const step of s.undo.reverse()) await step();
  await host.unmountUnder(s.dir);
  host.removeCgroups(s.cgroupRoot);
  const mounts = host.mountsUnder(s.dir);
  if (mounts.length) problems.push(`mounts left: ${mounts.join(', ')}`);
  const rules = await host.leftoverRules();
  if (rules.length) problems.push(`iptables rules left: ${rules.join(' | ')}`);
  const alive = s.daemons.filter((d) => !d.exited()).map((d) => d.name);
  const pods = host.processesIn(s.cgroupRoot);
  if (pods.length) alive.push(`pod processes ${pods.join(' ')}`);
  if (alive.length) problems.push(`processes left: ${alive.join(', ')}`);
  if (!mounts.length) rmSync(s.dir, { recursive: true, force: true });
  return problems;
}

/** Kills every container's task and deletes it, so containerd's shims exit. */
async function stopTasks(s: State): Promise<void> {
  const tasks = (await ctr(s, ['tasks', 'ls', '-q'])).stdout.split('\n').filter(Boolean);
  for (const task of tasks) await ctr(s, ['tasks', 'kill', '--all', '--signal', 'SIGKILL', task]);
  for (const task of tasks) {
    await waitFor(
      'a task stops',
      async () => (await ctr(s, ['tasks', 'delete', task])).code === 0,
      10_000,
      s.logs,
    ).catch(() => undefined);
  }
}

/** containerd with the images imported; returns the milliseconds the import took. */
async function startRuntime(s: State): Promise<{ importMs: number; images: string[] }> {
  const { p, layout } = s;
  writeFileSync(p.containerdConfig, config.containerdConfig(layout));
  writeFileSync(join(p.cniConfDir, '10-real-node.conflist'), config.cniConfig(layout));
  s.daemons.push(
    host.startDaemon('containerd', '/usr/bin/containerd', ['--config', p.containerdConfig], p.logs),
  );
  await waitFor('containerd answers', async () => (await ctr(s, ['version'])).code === 0, 30_000, s.logs);
  const started = Date.now();
  const images: string[] = [];
  for (const [ref, archive] of [[layout.pauseImage, PAUSE_ARCHIVE], ...imageArchives()] as [
    string,
    string,
  ][]) {
    const imported = await ctr(s, ['images', 'import', archive]);
    if (imported.code !== 0) throw new Error(`ctr images import ${archive} failed: ${imported.stderr}`);
    images.push(ref);
  }
  return { importMs: Date.now() - started, images };
}

/** CoreDNS, the kubelet and kube-proxy, until the node is Ready; then its local volumes. */
async function joinCluster(s: State): Promise<void> {
  const { p, layout, cluster } = s;
  writeFileSync(p.kubeletConfig, config.kubeletConfig(layout, s.cgroupRoot));
  writeFileSync(p.kubeProxyConfig, config.kubeProxyConfig(layout));
  writeFileSync(p.corefile, config.corefile(layout));
  s.daemons.push(host.startDaemon('coredns', join(TOOLS_BIN, 'coredns'), ['-conf', p.corefile], p.logs));
  const kubelet = [
    `--config=${p.kubeletConfig}`,
    `--kubeconfig=${cluster.kubeconfig}`,
    `--root-dir=${p.kubeletRoot}`,
    `--hostname-override=${config.NODE.name}`,
    `--node-ip=${layout.nodeIP}`,
  ];
  s.daemons.push(host.startDaemon('kubelet', join(TOOLS_BIN, 'kubelet'), kubelet, p.logs));
  s.daemons.push(
    host.startDaemon('kube-proxy', join(TOOLS_BIN, 'kube-proxy'), [`--config=${p.kubeProxyConfig}`], p.logs),
  );
  const registered = async () => (await cluster.run('kubectl', ['get', 'node', config.NODE.name])).code === 0;
  await waitFor('the node registers', registered, 60_000, s.logs);
  await cluster.must('kubectl', [
    'wait',
    '--for=condition=Ready',
    `node/${config.NODE.name}`,
    '--timeout=90s',
  ]);
  for (let i = 0; i < VOLUMES; i += 1) mkdirSync(join(p.volumes, String(i)));
  await cluster.run('kubectl', ['delete', 'storageclass', 'kwok-volume', '--ignore-not-found']);
  await cluster.must('kubectl', ['apply', '-f', '-'], config.storageManifests(layout, VOLUMES));
}

/** Local PersistentVolumes made for the tests' claims (each is used once: reclaim policy Retain). */
const VOLUMES = 24;

export async function startNode(cluster: Cluster): Promise<RealNode> {
  const missing = missingPrerequisites();
  if (missing.length) throw new Error(`real node: missing ${missing.join('; ')}`);
  const started = Date.now();
  const s = await prepare(cluster);
  try {
    s.undo.push(host.enableForwarding());
    host.createCgroups(s.cgroupRoot);
    await host.createBridge();
    s.undo.push(() => host.deleteBridge());
    const { importMs, images } = await startRuntime(s);
    await joinCluster(s);
    return {
      dir: s.dir,
      startMs: Date.now() - started,
      importMs,
      images,
      logs: s.logs,
      stop: () => teardown(s),
    };
  } catch (error) {
    const problems = await teardown(s);
    const left = problems.length ? `\nteardown: ${problems.join('\n')}` : '';
    throw new Error(`${(error as Error).message}${left}`, { cause: error });
  }
}
