// Three (or five) OpenNebula front-ends in Raft, each a "pod": its own network namespace (ip netns: loopback
// and one veth on a bridge the rig makes, nothing else), its own real MariaDB, and the image's init and oned
// roles in containers of test/support/opennebula.ts's rig, configured as the chart configures HA members
// (HA_PEERS, HA_SERVER_NAME; see docker/rootfs/usr/local/lib/opennebula-container/ha.sh).
//
// How a pod's processes land in its namespace without changing the oned rig: the rig starts containers with
// `unshare` and execs into them with `nsenter`, both found on PATH; this rig puts wrappers first on PATH that
// run the real ones under `ip netns exec POD` for a container whose volume sits in a pod directory (and add
// --net to nsenter). A pod's MariaDB runs on the host like test/support/mariadb.ts's; socat in the pod's
// namespace forwards POD_IP:3306 and 127.0.0.1:3306 to its Unix socket, so oned reaches "its" database on
// localhost and a joining member reaches the leader's at the leader's address, as in a cluster.
// The test process reaches the pods on the bridge (10.213.X.1), as kubectl port-forward would.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chownSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import * as mariadb from './mariadb.js';
import {
  createRig,
  eventually,
  ONEADMIN_UID,
  tmpDir,
  type Rig,
  type RoleRun,
  type Running,
} from './opennebula.js';

export const HA_VERSION = '7.4.0';
export const DB_PASSWORD = 'ha-db-Pass';
export const ONEADMIN_PASSWORD = 'ha-one-Pass';

function tool(name: string): string {
  return execFileSync('bash', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
}

const ip = (...args: string[]) => execFileSync(tool('ip'), args, { stdio: ['ignore', 'ignore', 'pipe'] });

export interface RaftStatus {
  /** 0 solo, 1 candidate, 2 follower, 3 leader */
  state: number;
  term: number;
  commit: number;
  logIndex: number;
}

export interface Pod {
  readonly name: string;
  readonly address: string;
  readonly volume: string;
  /** The image this pod runs (useVersion changes it). */
  rig: Rig;
  readonly db: mariadb.MariaDb;
  readonly env: Record<string, string>;
  oned: Running | undefined;
  /** The init role to completion; `env` adds to (or, with '', unsets) the member's environment. */
  init(timeoutMs?: number, env?: Record<string, string>): Promise<RoleRun>;
  /** Starts the oned role (replacing a finished one). */
  start(env?: Record<string, string>): Running;
  /** The pod runs OpenNebula VERSION's image from now on (same volume and database), as a new image tag. */
  useVersion(version: string): Promise<void>;
  /** One XML-RPC call to this pod's oned as oneadmin: [ok, first value]. */
  rpc(method: string, params?: (string | number | boolean)[]): Promise<{ ok: boolean; value: string }>;
  raft(): Promise<RaftStatus | undefined>;
  /** Sends SIGNAL to this pod's oned process. */
  signalOned(signal: NodeJS.Signals): void;
  /** What the Raft hooks recorded last ("leader ..." / "follower ..."), or undefined. */
  hookRecord(): string | undefined;
}

export interface HaRig {
  readonly pods: Pod[];
  /**
   * Starts every member as the chart's Parallel StatefulSet does: the first one's init (which bootstraps the
   * zone), the shared credentials, then each member's init and oned at once (a joiner's init waits for its
   * turn). Resolves when every oned answers; `phase` hears the elapsed seconds of each step.
   */
  start(phase?: (what: string) => void): Promise<void>;
  /** The pods whose oned reports itself leader. */
  leaders(): Promise<Pod[]>;
  /** Copies the first pod's /var/lib/one/.one to the others (the chart's shared credentials Secret). */
  shareCredentials(): void;
  close(): Promise<void>;
}

const escapeXml = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
const unescapeXml = (s: string) =>
  s
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&amp;/g, '&');

export async function rpcTo(
  address: string,
  method: string,
  params: (string | number | boolean)[],
  timeoutMs = 10_000,
): Promise<{ ok: boolean; value: string }> {
  const value = (p: string | number | boolean) =>
    typeof p === 'number'
      ? `<i4>${p}</i4>`
      : typeof p === 'boolean'
        ? `<boolean>${p ? 1 : 0}</boolean>`
        : `<string>${escapeXml(p)}</string>`;
  const all = [`oneadmin:${ONEADMIN_PASSWORD}`, ...params];
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${all
    .map((p) => `<param><value>${value(p)}</value></param>`)
    .join('')}</params></methodCall>`;
  const response = await fetch(`http://${address}:2633/RPC2`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body,
    signal: AbortSignal.timeout(timeoutMs),
  });
  const text = await response.text();
  const ok = /<boolean>1<\/boolean>/.test(text.split('</value>')[0] ?? '');
  const rest = text.split('</boolean></value>')[1] ?? '';
  const match = /<value>(?:<string>|<i4>|<int>)?([^<]*)/.exec(rest);
  return { ok, value: unescapeXml(match?.[1] ?? '') };
}

const tag = (name: string, xml: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(xml)?.[1];

function wrappers(dir: string): string {
  const bin = join(dir, 'bin');
  mkdirSync(bin, { recursive: true });
  const [unshare, nsenter, ipTool] = [tool('unshare'), tool('nsenter'), tool('ip')];
  writeFileSync(
    join(bin, 'unshare'),
    `#!/bin/bash\nns=\nif [ -n "\${RIG_VOLUME:-}" ] && [ -f "\${RIG_VOLUME%/*}/netns" ]; then ns=$(<"\${RIG_VOLUME%/*}/netns"); fi\n` +
      `if [ -n "$ns" ]; then exec ${ipTool} netns exec "$ns" ${unshare} "$@"; fi\nexec ${unshare} "$@"\n`,
    { mode: 0o755 },
  );
  writeFileSync(
    join(bin, 'nsenter'),
    `#!/bin/bash\nargs=()\nfor a in "$@"; do args+=("$a"); case $a in --target=*) args+=(--net) ;; esac; done\nexec ${nsenter} "\${args[@]}"\n`,
    { mode: 0o755 },
  );
  return bin;
}

export interface HaRigOptions {
  members?: 3 | 5;
  /** One member without HA (no HA_PEERS): OpenNebula solo, the figure HA is compared with. */
  solo?: boolean;
  /** Extra environment of every member (HA_LOG_RETENTION, ...). */
  env?: Record<string, string>;
  /**
   * Each member's database answers only at an address of its own (HA_DB_HOSTS, no DB_HOST), not at its
   * oned's address: the chart's bundled MariaDB StatefulSet. Otherwise at the oned's address and 127.0.0.1.
   */
  dbHosts?: boolean;
  /** OpenNebula version of every member's image (default HA_VERSION). */
  version?: string;
}

let rigs = 0;

/** Makes the network and the databases; no member runs yet. */
export async function createHaRig(options: HaRigOptions = {}): Promise<HaRig> {
  const started = Date.now();
  const count = options.solo ? 1 : (options.members ?? 3);
  const dir = tmpDir('ha-rig-');
  rigs += 1;
  const tag4 = `${process.pid % 1000}${rigs}`;
  const subnet = `10.213.${(process.pid + 37 * rigs) % 250}`;
  const bridge = `hab${tag4}`;
  const bin = wrappers(dir);
  const savedPath = process.env.PATH;
  process.env.PATH = `${bin}:${process.env.PATH ?? '/usr/bin:/bin'}`;
  const forwarders: ChildProcess[] = [];
  const databases: mariadb.MariaDb[] = [];
  const namespaces: string[] = [];
  const pods: Pod[] = [];
  const cleanup = async () => {
    await Promise.all(pods.map((pod) => pod.oned?.stop(10_000)));
    await Promise.all(pods.map((pod) => pod.rig.close()));
    for (const child of forwarders) child.kill('SIGTERM');
    await Promise.all(databases.map((db) => db.stop()));
    for (const ns of namespaces) execFileSync(tool('ip'), ['netns', 'del', ns], { stdio: 'ignore' });
    try {
      ip('link', 'del', bridge);
    } catch {
      // already gone
    }
    process.env.PATH = savedPath;
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    ip('link', 'add', bridge, 'type', 'bridge');
    ip('addr', 'add', `${subnet}.1/24`, 'dev', bridge);
    ip('link', 'set', bridge, 'up');
    const names = Array.from({ length: count }, (_, i) => `one-${i}`);
    const addresses = names.map((_, i) => `${subnet}.${11 + i}`);
    const dbAddresses = names.map((_, i) => `${subnet}.${21 + i}`);
    const peers = names.map((name, i) => `${name}=${addresses[i]}`).join(' ');
    const dbHosts = options.dbHosts
      ? names.map((name, i) => `${name}=${dbAddresses[i]}`).join(' ')
      : undefined;
    for (const [i, name] of names.entries()) {
      const ns = `ha${tag4}-${i}`;
      namespaces.push(ns);
      podNetwork(ns, `ha${tag4}`, i, bridge, addresses[i]!);
      if (dbHosts) ip('-n', ns, 'addr', 'add', `${dbAddresses[i]}/24`, 'dev', 'eth0');
      const podDir = join(dir, name);
      mkdirSync(podDir);
      writeFileSync(join(podDir, 'netns'), ns);
      const db = await mariadb.start();
      databases.push(db);
      forwarders.push(await podDatabase(ns, db, dbHosts ? dbAddresses[i] : undefined));
      const volume = join(podDir, 'volume');
      const rig = createRig(options.version ?? HA_VERSION, { volume });
      const env = memberEnv(name, peers, dbHosts, options);
      pods.push(makePod(name, addresses[i]!, volume, rig, db, env));
    }
  } catch (error) {
    await cleanup();
    throw error;
  }
  const rig: HaRig = {
    pods,
    start: (phase = () => undefined) => startMembers(rig, started, phase),
    async leaders() {
      const states = await Promise.all(pods.map((pod) => pod.raft()));
      return pods.filter((_, i) => states[i]?.state === 3);
    },
    shareCredentials() {
      const source = join(pods[0]!.volume, '.one');
      for (const pod of pods.slice(1)) {
        const target = join(pod.volume, '.one');
        rmSync(target, { recursive: true, force: true });
        cpSync(source, target, { recursive: true, preserveTimestamps: true });
        execFileSync('chown', ['-R', `${ONEADMIN_UID}:${ONEADMIN_UID}`, target]);
      }
      chownSync(pods[0]!.volume, ONEADMIN_UID, ONEADMIN_UID);
    },
    close: cleanup,
  };
  return rig;
}

/** A member's environment, as the chart sets it. */
function memberEnv(
  name: string,
  peers: string,
  dbHosts: string | undefined,
  options: HaRigOptions,
): Record<string, string> {
  return {
    DB_BACKEND: 'mysql',
    ...(dbHosts ? { HA_DB_HOSTS: dbHosts } : { DB_HOST: '127.0.0.1' }),
    DB_PORT: '3306',
    DB_NAME: 'opennebula',
    DB_USER: 'oneadmin',
    DB_PASSWORD,
    DB_WAIT_TIMEOUT: '60',
    ONEADMIN_PASSWORD,
    ...(options.solo ? {} : { HA_PEERS: peers, HA_SERVER_NAME: name, HA_JOIN_TIMEOUT: '600' }),
    ...options.env,
  };
}

/** The pod's namespace: loopback, and eth0 (ADDRESS/24) on the bridge through a veth pair. */
function podNetwork(ns: string, prefix: string, i: number, bridge: string, address: string): void {
  ip('netns', 'add', ns);
  ip('link', 'add', `${prefix}h${i}`, 'type', 'veth', 'peer', 'name', `${prefix}p${i}`);
  ip('link', 'set', `${prefix}h${i}`, 'master', bridge, 'up');
  ip('link', 'set', `${prefix}p${i}`, 'netns', ns);
  ip('-n', ns, 'link', 'set', `${prefix}p${i}`, 'name', 'eth0');
  ip('-n', ns, 'addr', 'add', `${address}/24`, 'dev', 'eth0');
  ip('-n', ns, 'link', 'set', 'eth0', 'up');
  ip('-n', ns, 'link', 'set', 'lo', 'up');
}

/**
 * The member's database and user (as the chart's MariaDB makes them), served on port 3306 of its namespace:
 * at ADDRESS alone when given, else at every address of the namespace.
 */
async function podDatabase(ns: string, db: mariadb.MariaDb, address?: string): Promise<ChildProcess> {
  await db.sql(
    [
      "SET GLOBAL tx_isolation = 'READ-COMMITTED';",
      'CREATE DATABASE opennebula;',
      `CREATE USER 'oneadmin'@'%' IDENTIFIED BY '${DB_PASSWORD}';`,
      `GRANT ALL PRIVILEGES ON opennebula.* TO 'oneadmin'@'%';`,
    ].join('\n'),
  );
  return spawn(
    tool('ip'),
    [
      'netns',
      'exec',
      ns,
      tool('socat'),
      `TCP-LISTEN:3306,fork,reuseaddr${address ? `,bind=${address}` : ''}`,
      `UNIX-CONNECT:${db.socket}`,
    ],
    { stdio: 'ignore' },
  );
}

async function startMembers(rig: HaRig, started: number, phase: (what: string) => void): Promise<void> {
  const step = (what: string) => phase(`${what}: ${Math.round((Date.now() - started) / 1000)} s`);
  step('network and databases');
  const [first] = rig.pods;
  const init = await first!.init();
  if (init.code !== 0) throw new Error(`init of ${first!.name} failed:\n${init.output}`);
  step(`${first!.name} initialised`);
  rig.shareCredentials();
  await Promise.all(
    rig.pods.map(async (pod, i) => {
      if (i > 0) {
        const run = await pod.init();
        if (run.code !== 0) throw new Error(`init of ${pod.name} failed:\n${run.output}`);
      }
      pod.start();
      // A joiner's init waits for the members before it: their oned must run before it can join.
      await eventually(
        async () => (await pod.raft())?.state !== undefined,
        180_000,
        () => `${pod.name} answering:\n${pod.oned?.output().slice(-3000)}`,
      );
      step(`${pod.name} runs`);
    }),
  );
}

function makePod(
  name: string,
  address: string,
  volume: string,
  rig: Rig,
  db: mariadb.MariaDb,
  env: Record<string, string>,
): Pod {
  const pod: Pod = {
    name,
    address,
    volume,
    rig,
    db,
    env,
    oned: undefined,
    init: (timeoutMs = 600_000, extra = {}) =>
      pod.rig.run(['init'], { env: { ...env, ...extra }, timeoutMs }),
    start(extra = {}) {
      pod.oned = pod.rig.start(['oned'], { env: { ...env, ...extra } });
      return pod.oned;
    },
    async useVersion(version) {
      const old = pod.rig;
      pod.rig = createRig(version, { volume });
      await old.close();
    },
    rpc: (method, params = []) => rpcTo(address, method, params),
    async raft() {
      const answer = await rpcTo(address, 'one.zone.raftstatus', [], 3_000).catch(() => undefined);
      if (!answer?.ok) return undefined;
      const number = (key: string) => Number(tag(key, answer.value) ?? NaN);
      return {
        state: number('STATE'),
        term: number('TERM'),
        commit: number('COMMIT'),
        logIndex: number('LOG_INDEX'),
      };
    },
    signalOned(signal) {
      const pids = pod.oned?.pids('/usr/bin/oned') ?? [];
      if (pids.length === 0) throw new Error(`${name}: no oned process to send ${signal} to`);
      for (const pid of pids) process.kill(pid, signal);
    },
    hookRecord() {
      const file = join(volume, '.ha', 'raft-role');
      return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
    },
  };
  return pod;
}

/** Server names of zone 0 as PODs' oned lists them. */
export async function zoneServers(pod: Pod): Promise<string[]> {
  const zone = await pod.rpc('one.zone.info', [0]);
  if (!zone.ok) throw new Error(`${pod.name}: one.zone.info failed: ${zone.value}`);
  return [...zone.value.matchAll(/<SERVER>[\s\S]*?<NAME>(?:<!\[CDATA\[)?([^<\]]*)/g)].map((m) => m[1]!);
}
