// Real OpenNebula for the image's tests: the entrypoint's roles run against oned, monitord, onedb, OneFlow
// and OneGate built from source by test/tools/opennebula/build.sh, the way the image runs them.
//
// Each "container" is a root directory the rig assembles in a private mount and PID namespace (unshare,
// as root) and enters with chroot as uid 9869 (oneadmin), as the chart runs every role:
//   /usr, /etc, /var  overlays of: the image's own layer (docker/rootfs, oneadmin in passwd, /etc/one owned
//                     by oneadmin, the pristine copies the Dockerfile makes) over OpenNebula's install over
//                     the host's /usr and /etc (the host stands in for the base image's packages)
//   /var/lib/one      the persistent volume: a host directory kept across "restarts" of the containers
//   /run, /tmp        fresh tmpfs; /proc of the namespace; the host's /dev
// Writes to /usr, /etc and /var go to a tmpfs upper layer, so every start begins from the image, as a
// container does. The network is the host's: oned listens on its real ports (2633, 4124, 2474, 5030).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import {
  chmodSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { commandsTheImageLacks } from './driver-commands.js';
import { REPO_ROOT, runCommand } from './tools.js';

export const ONEADMIN_UID = 9869;
const BUILD_SCRIPT = join(REPO_ROOT, 'test/tools/opennebula/build.sh');
const PATH_IN_IMAGE = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/** The staging root of OpenNebula VERSION's build; builds it (about 15 minutes on 2 cores) when missing. */
export function opennebulaBuild(version: string): string {
  try {
    return execFileSync('bash', [BUILD_SCRIPT, version], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: 3_000_000,
    }).trim();
  } catch (error) {
    const stderr = String((error as { stderr?: unknown }).stderr ?? '').trim();
    throw new Error(
      `cannot build OpenNebula ${version} with ${BUILD_SCRIPT}:\n${stderr || (error as Error).message}`,
      { cause: error },
    );
  }
}

function requireRoot(): void {
  if (process.getuid?.() !== 0) {
    throw new Error(
      'the OpenNebula rig needs root (unshare for a private mount namespace, chroot, uid 9869): run the tests as root',
    );
  }
}

/** The image's own layer: what docker/Dockerfile adds on top of the packages, built once per version. */
function imageLayer(dir: string, build: string, version: string): void {
  const at = (...parts: string[]) => join(dir, ...parts);
  const own = (path: string) => execFileSync('chown', ['-R', `${ONEADMIN_UID}:${ONEADMIN_UID}`, path]);
  mkdirSync(at('usr/local/bin'), { recursive: true });
  cpSync(
    join(REPO_ROOT, 'docker/rootfs/usr/local/bin/opennebula-entrypoint'),
    at('usr/local/bin/opennebula-entrypoint'),
  );
  chmodSync(at('usr/local/bin/opennebula-entrypoint'), 0o755);
  cpSync(
    join(REPO_ROOT, 'docker/rootfs/usr/local/lib/opennebula-container'),
    at('usr/local/lib/opennebula-container'),
    {
      recursive: true,
    },
  );
  cpSync(join(REPO_ROOT, 'docker/rootfs/etc/supervisor'), at('etc/supervisor'), { recursive: true });
  // oneadmin as the Dockerfile creates it; the host's users stand in for the base image's.
  writeFileSync(
    at('etc/passwd'),
    `${readFileSync('/etc/passwd', 'utf8')}oneadmin:x:${ONEADMIN_UID}:${ONEADMIN_UID}::/var/lib/one:/bin/bash\n`,
  );
  writeFileSync(at('etc/group'), `${readFileSync('/etc/group', 'utf8')}oneadmin:x:${ONEADMIN_UID}:\n`);
  // /etc/one writable by oneadmin, and its pristine copy for seeding an empty /etc/one.
  cpSync(join(build, 'etc/one'), at('etc/one'), { recursive: true });
  own(at('etc/one'));
  mkdirSync(at('usr/share/opennebula-container'), { recursive: true });
  cpSync(join(build, 'etc/one'), at('usr/share/opennebula-container/etc-one'), { recursive: true });
  // The drivers' pristine copy that init syncs into the volume, and the image's version.
  mkdirSync(at('usr/share/one/image'), { recursive: true });
  cpSync(join(build, 'var/lib/one/remotes'), at('usr/share/one/image/remotes'), { recursive: true });
  writeFileSync(at('usr/share/one/image/version'), `${version}\n`);
  for (const path of [
    'var/log/one',
    'var/lock/one',
    'run/one/ssh-socks',
    'run/sshd',
    'var/lib/one',
    'etc/ssh/sshd_config.d',
  ]) {
    mkdirSync(at(path), { recursive: true });
  }
  for (const path of ['var/log/one', 'var/lock/one', 'run/one', 'etc/ssh/sshd_config.d']) own(at(path));
  chmodSync(at('run/one/ssh-socks'), 0o700);
  mkdirSync(at('var/tmp'), { recursive: true });
  chmodSync(at('var/tmp'), 0o1777);
  // The host stands in for the base image's packages: the commands the drivers run on the front-end that
  // the image does not install are hidden (overlay whiteouts), so the rig fails where the image would.
  for (const { path } of commandsTheImageLacks()) {
    mkdirSync(at(dirname(path)), { recursive: true });
    execFileSync('mknod', [at(path), 'c', '0', '0']);
  }
  symlinkSync('/run', at('var/run'));
}

// PID 1 of the namespace: assembles the root, then runs the command in it as oneadmin and forwards
// SIGTERM to it (what a container runtime and tini do). Arguments: NAME=VALUE... -- COMMAND...
const CONTAINER_SCRIPT = String.raw`
set -euo pipefail
r=$RIG_ROOT
mount -t tmpfs -o mode=0755 rig "$r"
mkdir -p "$r/.ov" "$r/proc" "$r/dev" "$r/tmp" "$r/run"
for d in usr etc var; do
	mkdir -p "$r/.ov/$d/u" "$r/.ov/$d/w" "$r/$d"
	lower="$RIG_LAYER/$d:$RIG_BUILD/$d"
	case $d in usr | etc) lower="$lower:/$d" ;; esac
	mount -t overlay overlay -o "lowerdir=$lower,upperdir=$r/.ov/$d/u,workdir=$r/.ov/$d/w" "$r/$d"
done
for l in bin sbin lib lib64; do ln -s "usr/$l" "$r/$l"; done
chmod 1777 "$r/tmp"
cp -a "$RIG_LAYER/run/." "$r/run/"
mount --bind "$RIG_VOLUME" "$r/var/lib/one"
if [ "$RIG_ETC_EMPTYDIR" = yes ]; then
	mount -t tmpfs -o mode=0755 etc-one "$r/etc/one"
	chown ${ONEADMIN_UID}:${ONEADMIN_UID} "$r/etc/one"
fi
mount -t proc proc "$r/proc"
mount --rbind /dev "$r/dev"
assignments=()
while [ "$1" != -- ]; do assignments+=("$1"); shift; done
shift
user=()
[ "$RIG_AS_ROOT" = yes ] || user=(--userspec=${ONEADMIN_UID}:${ONEADMIN_UID} --groups=${ONEADMIN_UID})
cd /
# A container runtime hands the container pipes (containerd's FIFOs), not the sockets Node's spawn makes:
# supervisord (the all role) reopens /dev/stdout, which fails with ENXIO on a socket.
exec 3> >(cat)
out=$!
exec 4> >(cat >&2)
err=$!
chroot "${'$'}{user[@]}" "$r" /usr/bin/env -i "${'$'}{assignments[@]}" "$@" >&3 2>&4 3>&- 4>&- &
child=$!
exec 3>&- 4>&-
trap 'kill -TERM $child 2>/dev/null || true' TERM INT
rc=0
while true; do
	wait $child && rc=0 || rc=$?
	kill -0 $child 2>/dev/null || break
done
# Everything the container wrote reaches the test before PID 1 exits (which ends the namespace).
wait $out $err 2>/dev/null || true
exit $rc
`;

export interface RoleRun {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout and stderr interleaved, in arrival order. */
  output: string;
}

/** A long-running role (or command) in its own container. */
export interface Running {
  readonly child: ChildProcess;
  /** Everything it wrote so far (stdout and stderr). */
  output(): string;
  /** Resolves when the output matches, rejects when it exits first or after timeoutMs. */
  waitFor(pattern: RegExp, timeoutMs?: number): Promise<void>;
  /** PIDs (host view) of every process in the container whose command line starts with `prefix`. */
  pids(prefix: string): number[];
  /**
   * Runs the entrypoint with ARGS inside this container, as `kubectl exec` and the kubelet's exec probes do:
   * its mount and PID namespaces, its root, as oneadmin (or root for an asRoot container).
   */
  exec(args: string[], options?: { env?: Record<string, string>; timeoutMs?: number }): Promise<RoleRun>;
  /** SIGTERM to the role, as `docker stop` does; SIGKILL after graceMs. Resolves with its exit status. */
  stop(graceMs?: number): Promise<number>;
  readonly exited: Promise<number>;
}

export interface ContainerOptions {
  env?: Record<string, string>;
  /** Run as root (docker run without --user) instead of oneadmin (the chart). */
  asRoot?: boolean;
  /** /etc/one is an empty directory (the chart's emptyDir with a read-only root file system). */
  etcEmptyDir?: boolean;
}

export interface Rig {
  readonly version: string;
  /** The persistent volume (host directory mounted at /var/lib/one). */
  readonly volume: string;
  /** Runs a role (or any command, with `command`) to completion. */
  run(
    args: string[],
    options?: ContainerOptions & { timeoutMs?: number; command?: boolean },
  ): Promise<RoleRun>;
  /** Starts a long-running role. */
  start(args: string[], options?: ContainerOptions & { command?: boolean }): Running;
  /** Stops whatever still runs and removes every directory the rig made. */
  close(): Promise<void>;
}

function descendants(pid: number): number[] {
  const found: number[] = [];
  const visit = (p: number) => {
    let children: string[] = [];
    try {
      for (const task of readdirSync(`/proc/${p}/task`)) {
        children.push(
          ...readFileSync(`/proc/${p}/task/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean),
        );
      }
    } catch {
      children = [];
    }
    for (const child of children) {
      found.push(Number(child));
      visit(Number(child));
    }
  };
  visit(pid);
  return found;
}

function cmdline(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
  } catch {
    return '';
  }
}

/** A rig for OpenNebula VERSION, with a fresh (empty) volume unless one is given. */
export function createRig(
  version: string,
  options: {
    /** An existing volume (another rig's), for upgrades. */
    volume?: string;
    /**
     * Edits the image's /etc/one before any container starts, as an image whose OpenNebula ships those files
     * would have them: the pristine copy the config step rebuilds /etc/one from, and /etc/one itself. (An
     * operator's configuration goes through ONE_OVERRIDES_DIR instead.)
     */
    editEtc?: (etcOne: string) => void;
    /** Adds files to the image's layer (a program this build lacks), given the layer's root. */
    editImage?: (layer: string) => void;
  } = {},
): Rig {
  requireRoot();
  const build = opennebulaBuild(version);
  const dir = mkdtempSync(join(tmpdir(), `one-rig-${version}-`));
  const layer = join(dir, 'layer');
  imageLayer(layer, build, version);
  options.editEtc?.(join(layer, 'usr/share/opennebula-container/etc-one'));
  options.editEtc?.(join(layer, 'etc/one'));
  options.editImage?.(layer);
  const volume = options.volume ?? join(dir, 'volume');
  if (!existsSync(volume)) {
    mkdirSync(volume, { recursive: true });
    chmodSync(volume, 0o750);
    chownSync(volume, ONEADMIN_UID, ONEADMIN_UID);
  }
  const running = new Set<Running>();
  let counter = 0;

  const launch = (args: string[], opts: ContainerOptions & { command?: boolean }): Running => {
    const root = join(dir, `root-${++counter}`);
    mkdirSync(root);
    const env: Record<string, string> = {
      PATH: PATH_IN_IMAGE,
      HOME: opts.asRoot ? '/root' : '/var/lib/one',
      ONE_VERSION: version,
      ...opts.env,
    };
    const command = opts.command ? args : ['/usr/local/bin/opennebula-entrypoint', ...args];
    const child = spawn(
      'unshare',
      [
        '--mount',
        '--pid',
        '--fork',
        '--propagation',
        'private',
        '--kill-child',
        'bash',
        '-c',
        CONTAINER_SCRIPT,
        'rig',
        ...Object.entries(env).map(([key, value]) => `${key}=${value}`),
        '--',
        ...command,
      ],
      {
        env: {
          PATH: process.env.PATH ?? '/usr/bin:/bin',
          RIG_ROOT: root,
          RIG_LAYER: layer,
          RIG_BUILD: build,
          RIG_VOLUME: volume,
          RIG_ETC_EMPTYDIR: opts.etcEmptyDir ? 'yes' : 'no',
          RIG_AS_ROOT: opts.asRoot ? 'yes' : 'no',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let output = '';
    const waiters = new Set<() => void>();
    const append = (chunk: Buffer) => {
      output += chunk.toString();
      for (const waiter of waiters) waiter();
    };
    child.stdout.on('data', append);
    child.stderr.on('data', append);
    const exited = new Promise<number>((resolve) => {
      child.on('close', (code, signal) => {
        for (const waiter of waiters) waiter();
        resolve(code ?? (signal ? 128 : 1));
      });
    });
    let done = false;
    void exited.then(() => {
      done = true;
      for (const waiter of waiters) waiter();
    });
    const pid1 = () => descendants(child.pid ?? -1)[0];
    const handle: Running = {
      child,
      output: () => output,
      exited,
      waitFor(pattern, timeoutMs = 120_000) {
        return new Promise((resolve, reject) => {
          const timer = setTimeout(() => {
            waiters.delete(check);
            reject(
              new Error(`timed out after ${timeoutMs}ms waiting for ${pattern} in:\n${output.slice(-6000)}`),
            );
          }, timeoutMs);
          const check = () => {
            if (pattern.test(output)) {
              clearTimeout(timer);
              waiters.delete(check);
              resolve();
            } else if (done) {
              clearTimeout(timer);
              waiters.delete(check);
              reject(new Error(`exited before ${pattern} appeared:\n${output.slice(-6000)}`));
            }
          };
          waiters.add(check);
          check();
        });
      },
      pids(prefix) {
        return descendants(child.pid ?? -1).filter((pid) => cmdline(pid).startsWith(prefix));
      },
      exec(execArgs, execOptions = {}) {
        // The container's first process inside its root (PID 1 of the namespace assembles it outside).
        const inside = descendants(child.pid ?? -1).find((pid) => {
          try {
            return readlinkSync(`/proc/${pid}/root`) !== '/';
          } catch {
            return false;
          }
        });
        if (inside === undefined || done) {
          return Promise.reject(new Error(`exec ${execArgs.join(' ')}: the container is not running`));
        }
        const user = opts.asRoot ? [] : [`--setuid=${ONEADMIN_UID}`, `--setgid=${ONEADMIN_UID}`];
        const execEnv = { ...env, ...execOptions.env };
        const nsenter = [
          `--target=${inside}`,
          '--mount',
          '--pid',
          '--root',
          '--wd',
          ...user,
          '--',
          '/usr/bin/env',
          '-i',
          ...Object.entries(execEnv).map(([key, value]) => `${key}=${value}`),
          '/usr/local/bin/opennebula-entrypoint',
          ...execArgs,
        ];
        return runCommand('nsenter', nsenter, { timeoutMs: execOptions.timeoutMs ?? 60_000 }).then(
          (result) => ({
            ...result,
            output: result.stdout + result.stderr,
          }),
        );
      },
      async stop(graceMs = 60_000) {
        const init = pid1();
        if (init !== undefined && !done) {
          try {
            process.kill(init, 'SIGTERM');
          } catch {
            // already gone
          }
          const timer = setTimeout(() => {
            try {
              process.kill(init, 'SIGKILL');
            } catch {
              // already gone
            }
          }, graceMs);
          const code = await exited;
          clearTimeout(timer);
          return code;
        }
        return exited;
      },
    };
    running.add(handle);
    void exited.then(() => running.delete(handle));
    return handle;
  };

  return {
    version,
    volume,
    start: (args, opts = {}) => launch(args, opts),
    async run(args, opts = {}) {
      const handle = launch(args, opts);
      const timer = setTimeout(() => void handle.stop(1_000), opts.timeoutMs ?? 300_000);
      let stdout = '';
      let stderr = '';
      handle.child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      handle.child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await handle.exited;
      clearTimeout(timer);
      return { code, stdout, stderr, output: handle.output() };
    },
    async close() {
      await Promise.all([...running].map((handle) => handle.stop(10_000)));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** OpenNebula's dummy monitoring and VM drivers, as its packaged files show them (one line each). */
export const DUMMY_DRIVERS = {
  'monitord.conf':
    'IM_MAD = [ NAME = "dummy", SUNSTONE_NAME = "Dummy", EXECUTABLE = "one_im_sh", ARGUMENTS = "-r 3 -t 15 -w 90 dummy", THREADS = 0 ]',
  'oned.conf':
    'VM_MAD = [ NAME = "dummy", SUNSTONE_NAME = "Testing", EXECUTABLE = "one_vmm_dummy", TYPE = "xml" ]',
} as const;

// A system datastore switched to the dummy TM_MAD becomes SHARED: oned's scheduler places no VM on a
// shared system datastore it has not monitored ("No system datastores found to run VMs"), and oned
// monitors datastores at start and then every MONITORING_INTERVAL_DATASTORE (300 s in the packaged
// oned.conf): a VM created after the switch waited up to 5 minutes. Every MANAGER_TIMER (15 s) instead.
const DATASTORE_MONITORING = /^MONITORING_INTERVAL_DATASTORE\s*=.*$/m;

/**
 * ETC's oned.conf and monitord.conf with the dummy drivers appended (and oned.conf's datastores monitored
 * every 15 s): file name → text.
 */
export function withDummyDrivers(etc: string): Record<keyof typeof DUMMY_DRIVERS, string> {
  const files = {} as Record<keyof typeof DUMMY_DRIVERS, string>;
  for (const [file, line] of Object.entries(DUMMY_DRIVERS) as [keyof typeof DUMMY_DRIVERS, string][]) {
    let text = readFileSync(join(etc, file), 'utf8');
    if (file === 'oned.conf') {
      if (!DATASTORE_MONITORING.test(text))
        throw new Error(`${etc}/oned.conf: no MONITORING_INTERVAL_DATASTORE`);
      text = text.replace(DATASTORE_MONITORING, 'MONITORING_INTERVAL_DATASTORE = 15');
    }
    files[file] = `${text}\n${line}\n`;
  }
  return files;
}

/** An editEtc for createRig that adds the dummy drivers. */
export function addDummyDrivers(etc: string): void {
  for (const [file, text] of Object.entries(withDummyDrivers(etc))) writeFileSync(join(etc, file), text);
}

/** A VM's STATE, LCM_STATE and the scheduler's message from its one.vm.info XML (for failure messages). */
export function vmState(info: string): string {
  const field = (name: string) =>
    new RegExp(`<${name}>(?:<!\\[CDATA\\[)?([^<\\]]*)`).exec(info)?.[1] ?? '(none)';
  return `STATE ${field('STATE')}, LCM_STATE ${field('LCM_STATE')}, SCHED_MESSAGE ${field('SCHED_MESSAGE')}`;
}

/** oned's XML-RPC on the host's port 2633 as oneadmin: the first value of a successful call, else throws. */
export function oneadminCall(password: string) {
  return async (method: string, ...params: (string | number | boolean)[]): Promise<string> => {
    const answer = await xmlrpc(2633, method, [`oneadmin:${password}`, ...params]);
    if (!answer.ok) throw new Error(`${method} failed: ${answer.body}`);
    return answer.value;
  };
}

/** One XML-RPC call to oned; returns [success, first value as text]. */
export async function xmlrpc(
  port: number,
  method: string,
  params: (string | number | boolean)[],
): Promise<{ ok: boolean; value: string; body: string }> {
  const escape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
  const value = (p: string | number | boolean) =>
    typeof p === 'number'
      ? `<i4>${p}</i4>`
      : typeof p === 'boolean'
        ? `<boolean>${p ? 1 : 0}</boolean>`
        : `<string>${escape(p)}</string>`;
  const body = `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>${params
    .map((p) => `<param><value>${value(p)}</value></param>`)
    .join('')}</params></methodCall>`;
  const response = await fetch(`http://127.0.0.1:${port}/RPC2`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body,
  });
  const text = await response.text();
  const ok = /<boolean>1<\/boolean>/.test(text.split('</value>')[0] ?? '');
  const match = /<\/boolean><\/value>\s*<\/data>|<value>(?:<string>)?([^<]*)/.exec(
    text.split('</boolean>')[1] ?? '',
  );
  const unescape = (s: string) =>
    s
      .replace(/&lt;/g, '<')
      .replace(/&gt;/g, '>')
      .replace(/&quot;/g, '"')
      .replace(/&amp;/g, '&');
  return { ok, value: unescape(match?.[1] ?? ''), body: text };
}

/** Polls until `check` resolves truthy or the time is up. */
export async function eventually<T>(
  check: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  what: string | (() => string) = 'condition',
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const result = await check();
      if (result) return result;
    } catch (error) {
      last = error;
    }
    await new Promise((resolve) => setTimeout(resolve, 1_000));
  }
  const described = typeof what === 'function' ? what() : what;
  throw new Error(`${described} not reached within ${timeoutMs}ms${last ? `: ${String(last)}` : ''}`);
}

export function tmpDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
