// A network namespace of its own for test/support/opennebula.ts's rig and test/support/mariadb.ts's server,
// so that oned's fixed ports (2633, 4124, ...) never meet another rig's on this host (rigs run in
// parallel). Wrappers first on PATH run `unshare` (how the rig starts every container) and `mariadbd`
// inside the namespace; nothing of either helper changes. The test process stays outside: it reaches
// MariaDB through its Unix socket (sql) and oned through the CLI in a container of the rig (cli).
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { MariaDb } from './mariadb.js';
import { eventually, type Rig } from './opennebula.js';

export interface Netns {
  readonly name: string;
  /** Restores PATH and deletes the namespace. */
  close(): void;
}

/** Makes the namespace (loopback up) and puts the wrappers first on PATH; `dir` holds them. */
export function isolate(dir: string): Netns {
  const name = `rig${process.pid}${Math.floor(Math.random() * 1e4)}`;
  execFileSync('ip', ['netns', 'add', name]);
  execFileSync('ip', ['-n', name, 'link', 'set', 'lo', 'up']);
  const bin = join(dir, 'netns-bin');
  mkdirSync(bin, { recursive: true });
  for (const tool of ['unshare', 'mariadbd']) {
    const real = execFileSync('bash', ['-c', `PATH=/usr/sbin:/usr/bin:/sbin:/bin command -v ${tool}`], {
      encoding: 'utf8',
    }).trim();
    writeFileSync(join(bin, tool), `#!/bin/sh\nexec ip netns exec ${name} ${real} "$@"\n`, { mode: 0o755 });
  }
  const saved = process.env.PATH;
  process.env.PATH = `${bin}:${saved ?? '/usr/bin:/bin'}`;
  return {
    name,
    close() {
      process.env.PATH = saved;
      execFileSync('ip', ['netns', 'del', name]);
    },
  };
}

/**
 * SQL as root through the server's Unix socket (its TCP port is inside the namespace; root@localhost
 * authenticates as the Unix user root, whom the rig requires).
 */
export function sql(db: MariaDb, query: string, database = ''): string {
  return execFileSync(
    'mariadb',
    ['--no-defaults', `--socket=${db.socket}`, '-uroot', '-N', '-B', ...(database ? [database] : [])],
    { input: query, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 },
  );
}

/** A database and its user for the rig's roles: the role environment's DB_* settings. */
export function database(db: MariaDb, name: string, password = `db-${name}-pw`): Record<string, string> {
  sql(
    db,
    `CREATE DATABASE ${name}; CREATE USER 'u_${name}'@'%' IDENTIFIED BY '${password}'; GRANT ALL PRIVILEGES ON ${name}.* TO 'u_${name}'@'%';`,
  );
  return {
    DB_BACKEND: 'mysql',
    DB_HOST: '127.0.0.1',
    DB_PORT: String(db.port),
    DB_NAME: name,
    DB_USER: `u_${name}`,
    DB_PASSWORD: password,
  };
}

/** A shell command with the OpenNebula CLI as oneadmin in a container of RIG (its one_auth on the volume). */
export async function cli(rig: Rig, env: Record<string, string>, command: string): Promise<string> {
  const run = await rig.run(['bash', '-c', command], { env, command: true, timeoutMs: 60_000 });
  if (run.code !== 0) throw new Error(`${command} failed (${run.code}):\n${run.output}`);
  return run.stdout;
}

/**
 * A VM RUNNING on a dummy host (OpenNebula's dummy drivers: the rig made with addDummyDrivers), as users
 * write them: two NICs on a network, two volatile disks, a context section and user attributes (no image
 * disks: no image datastore driver runs here). oned runs in RIG. Resolves with the VM's ID (0).
 */
export async function runningDummyVm(rig: Rig, env: Record<string, string>): Promise<number> {
  await eventually(
    () => cli(rig, env, 'onevm list >/dev/null && echo up'),
    120_000,
    'oned answering the CLI',
  );
  await cli(
    rig,
    env,
    `set -e
for ds in 0 1; do echo 'TM_MAD = "dummy"' >/tmp/ds; onedatastore update $ds /tmp/ds -a; done
onehost create dummy-host -i dummy -v dummy
cat >/tmp/net <<'EOF'
NAME = "net"
VN_MAD = "dummy"
BRIDGE = "br0"
AR = [ TYPE = "IP4", IP = "10.0.0.2", SIZE = "250" ]
EOF
onevnet create /tmp/net
cat >/tmp/vm <<'EOF'
NAME = "vm"
CPU = "0.5"
VCPU = "2"
MEMORY = "512"
NIC = [ NETWORK = "net" ]
NIC = [ NETWORK = "net" ]
DISK = [ TYPE = "fs", SIZE = "1024", FORMAT = "raw" ]
DISK = [ TYPE = "swap", SIZE = "512" ]
CONTEXT = [ NETWORK = "YES", SSH_PUBLIC_KEY = "$USER[SSH_PUBLIC_KEY]", START_SCRIPT = "echo started" ]
GRAPHICS = [ TYPE = "VNC", LISTEN = "0.0.0.0" ]
DESCRIPTION = "a test VM"
LABELS = "test,web"
SCHED_REQUIREMENTS = "ID=0"
EOF
onevm create /tmp/vm`,
  );
  await eventually(
    async () => /LCM_STATE\s*:\s*RUNNING/.test(await cli(rig, env, 'onevm show 0')),
    180_000,
    'VM 0 RUNNING on the dummy host',
  );
  return 0;
}
