// What the real test node changes on the machine, and how each change is undone: daemons (each in its
// own process group, logging to the node's directory), the bridge, IP forwarding, kube-proxy's and the
// CNI plugins' iptables rules, mounts under the node's directory, and the kubelet's cgroups.
import { spawn, type ChildProcess } from 'node:child_process';
import {
  createWriteStream,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { runCommand } from '../tools.js';
import { NODE } from './config.js';

export interface Daemon {
  readonly name: string;
  readonly process: ChildProcess;
  readonly log: string;
  exited(): boolean;
}

export function startDaemon(name: string, command: string, args: string[], logDir: string): Daemon {
  const log = join(logDir, `${name}.log`);
  const out = createWriteStream(log);
  const child = spawn(command, args, { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  let done = false;
  child.on('exit', () => (done = true));
  child.on('error', () => (done = true));
  return { name, process: child, log, exited: () => done };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** SIGTERM to the daemon's process group, SIGKILL after `graceMs`. */
export async function stopDaemon(daemon: Daemon, graceMs = 10_000): Promise<void> {
  const pid = daemon.process.pid;
  if (pid === undefined || daemon.exited()) return;
  const signal = (sig: NodeJS.Signals) => {
    try {
      process.kill(-pid, sig);
    } catch {
      /* already gone */
    }
  };
  signal('SIGTERM');
  for (let waited = 0; waited < graceMs && !daemon.exited(); waited += 100) await sleep(100);
  if (!daemon.exited()) signal('SIGKILL');
  for (let waited = 0; waited < 5000 && !daemon.exited(); waited += 100) await sleep(100);
}

export function tail(path: string, lines = 40): string {
  if (!existsSync(path)) return '';
  return readFileSync(path, 'utf8').split('\n').slice(-lines).join('\n');
}

async function must(command: string, args: string[]): Promise<string> {
  const result = await runCommand(command, args);
  if (result.code !== 0)
    throw new Error(`${command} ${args.join(' ')} exited ${result.code}: ${result.stderr}`);
  return result.stdout;
}

/** The machine's address on its default route: the node's InternalIP (the kubelet refuses loopback). */
export async function defaultAddress(): Promise<string> {
  const route = await must('ip', ['-4', '-o', 'route', 'get', '192.0.2.255']).catch(() => '');
  const viaDefault = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(route)?.[1];
  if (viaDefault) return viaDefault;
  const any = await must('ip', ['-4', '-o', 'route', 'get', '1.1.1.1']);
  const src = /\bsrc (\d+\.\d+\.\d+\.\d+)/.exec(any)?.[1];
  if (!src) throw new Error(`cannot find the machine's address (ip route get: ${any})`);
  return src;
}

const FORWARD = '/proc/sys/net/ipv4/ip_forward';

/** Enables IP forwarding (pods reach the API server and each other through the host); returns the undo. */
export function enableForwarding(): () => void {
  const before = readFileSync(FORWARD, 'utf8').trim();
  if (before !== '1') writeFileSync(FORWARD, '1');
  return () => {
    if (before !== '1') writeFileSync(FORWARD, before);
  };
}

/** The bridge with the gateway address, made before CoreDNS binds to it (CNI reuses it). */
export async function createBridge(): Promise<void> {
  await deleteBridge();
  await must('ip', ['link', 'add', NODE.bridge, 'type', 'bridge']);
  await must('ip', ['addr', 'add', `${NODE.gateway}/24`, 'dev', NODE.bridge]);
  await must('ip', ['link', 'set', NODE.bridge, 'up']);
}

export async function deleteBridge(): Promise<void> {
  const shown = await runCommand('ip', ['link', 'show', NODE.bridge]);
  if (shown.code === 0) await must('ip', ['link', 'del', NODE.bridge]);
}

/** Mount points at or under `dir` (deepest first), from the kernel's table. */
export function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .map((field) => field.replace(/\\040/g, ' '))
    .filter((mount) => mount === dir || mount.startsWith(`${dir}/`))
    .sort((a, b) => b.length - a.length);
}

export async function unmountUnder(dir: string): Promise<void> {
  for (const mount of mountsUnder(dir)) await runCommand('umount', ['-l', mount]);
}

const IPTABLES = ['iptables', 'ip6tables'];
const TABLES = ['nat', 'filter', 'mangle'];

interface Saved {
  chains: string[];
  rules: { chain: string; text: string }[];
}

async function save(command: string, table: string): Promise<Saved> {
  const out = (await runCommand(`${command}-save`, ['-t', table])).stdout.split('\n');
  return {
    chains: out.filter((line) => line.startsWith(':')).map((line) => line.slice(1).split(' ')[0]!),
    rules: out
      .filter((line) => line.startsWith('-A '))
      .map((line) => ({ chain: line.split(' ')[1]!, text: line })),
  };
}

/**
 * The node's chains in a table: the kubelet's and kube-proxy's (KUBE-*; no other program here makes them)
 * and the bridge plugin's per-pod chains (CNI-*, whose rules name the network in a comment).
 */
function nodeChains(saved: Saved): Set<string> {
  return new Set(
    saved.chains.filter(
      (chain) =>
        chain.startsWith('KUBE-') ||
        (chain.startsWith('CNI-') &&
          saved.rules.some((r) => r.text.includes(`-j ${chain}`) && r.text.includes(NODE.network))),
    ),
  );
}

/** iptables-save lines the node left (its chains, rules jumping to them, rules naming its network). */
export async function leftoverRules(): Promise<string[]> {
  const left: string[] = [];
  for (const command of IPTABLES) {
    for (const table of TABLES) {
      const saved = await save(command, table);
      const ours = nodeChains(saved);
      left.push(...[...ours].map((chain) => `${command} -t ${table}: chain ${chain}`));
      left.push(
        ...saved.rules
          .filter(
            (r) =>
              !ours.has(r.chain) &&
              ([...ours].some((c) => r.text.includes(`-j ${c}`)) || r.text.includes(NODE.network)),
          )
          .map((r) => `${command} -t ${table}: ${r.text}`),
      );
    }
  }
  return left;
}

/**
 * Removes what the kubelet, kube-proxy and the bridge plugin left in iptables (kube-proxy --cleanup does not
 * remove the kubelet's KUBE-FIREWALL and canary chains, nor CNI's chains of pods never torn down): rules
 * jumping to the node's chains are deleted by number, then the chains are flushed and deleted.
 */
export async function removeNodeRules(): Promise<void> {
  for (const command of IPTABLES) {
    for (const table of TABLES) {
      const saved = await save(command, table);
      const ours = nodeChains(saved);
      if (!ours.size) continue;
      const byChain = new Map<string, string[]>();
      for (const rule of saved.rules)
        byChain.set(rule.chain, [...(byChain.get(rule.chain) ?? []), rule.text]);
      for (const [chain, rules] of byChain) {
        if (ours.has(chain)) continue;
        for (let i = rules.length; i >= 1; i -= 1) {
          const text = rules[i - 1]!;
          if ([...ours].some((c) => text.includes(`-j ${c}`)) || text.includes(NODE.network)) {
            await runCommand(command, ['-t', table, '-D', chain, String(i)]);
          }
        }
      }
      for (const chain of ours) await runCommand(command, ['-t', table, '-F', chain]);
      for (const chain of ours) await runCommand(command, ['-t', table, '-X', chain]);
    }
  }
}

const CGROUP_MOUNT = '/sys/fs/cgroup';

/** Makes the kubelet's cgroup root in every v1 hierarchy (the kubelet requires it to exist). */
export function createCgroups(cgroupRoot: string): void {
  for (const hierarchy of readdirSync(CGROUP_MOUNT)) {
    if (hierarchy === 'unified') continue;
    mkdirSync(join(CGROUP_MOUNT, hierarchy, cgroupRoot), { recursive: true });
  }
}

/** PIDs of every process in the kubelet's cgroup root (the pods' containers), from the pids hierarchy. */
export function processesIn(cgroupRoot: string): number[] {
  const pids: number[] = [];
  const walk = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      if (entry.isDirectory()) walk(join(dir, entry.name));
    }
    const procs = join(dir, 'cgroup.procs');
    if (existsSync(procs)) pids.push(...readFileSync(procs, 'utf8').split('\n').filter(Boolean).map(Number));
  };
  walk(join(CGROUP_MOUNT, 'pids', cgroupRoot));
  return pids;
}

/** PIDs of processes whose command line contains `text` (containerd's shims name its socket). */
export function processesNaming(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      /* exited */
    }
  }
  return pids;
}

export function kill(pids: number[]): void {
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      /* exited */
    }
  }
}

/** Removes the kubelet's cgroup root in every v1 hierarchy (deepest first; empty once pods are gone). */
export function removeCgroups(cgroupRoot: string): void {
  if (!existsSync(CGROUP_MOUNT)) return;
  for (const hierarchy of readdirSync(CGROUP_MOUNT)) {
    const top = join(CGROUP_MOUNT, hierarchy, cgroupRoot);
    if (existsSync(top)) removeTree(top);
  }
}

function removeTree(dir: string): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (entry.isDirectory()) removeTree(join(dir, entry.name));
  }
  try {
    rmdirSync(dir);
  } catch {
    /* a process is still inside: reported by the caller's checks */
  }
}
