// The image's roles against real OpenNebula 7.4.0 (oned, monitord, onedb, OneFlow, OneGate built from
// source by test/tools/opennebula/build.sh) and a real MariaDB, in the image's layout as uid 9869 (see
// test/support/opennebula.ts). The first run builds OpenNebula (about 15 minutes on 2 cores); later runs
// reuse the cached build.
import { execFileSync } from 'node:child_process';
import {
  appendFileSync,
  chownSync,
  cpSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as mariadb from '../support/mariadb.js';
import { REPO_ROOT } from '../support/tools.js';
import {
  addDummyDrivers,
  vmState,
  oneadminCall,
  createRig,
  eventually,
  xmlrpc,
  ONEADMIN_UID,
  type Rig,
  type Running,
} from '../support/opennebula.js';

const VERSION = '7.4.0';
const PASSWORD = 'first-Pass_word';
let db: mariadb.MariaDb;

beforeAll(async () => {
  db = await mariadb.start();
}, 3_600_000);
afterAll(async () => {
  await db?.stop();
});

/** A database and its user, as the chart's MariaDB (or an operator) provides them. */
async function database(name: string, options: { create?: boolean; userPassword?: string } = {}) {
  const password = options.userPassword ?? `db-${name}-pw`;
  if (options.create ?? true) await db.sql(`CREATE DATABASE ${name}`);
  await db.sql(
    `CREATE USER 'u_${name}'@'%' IDENTIFIED BY '${password.replace(/'/g, "\\'")}'; GRANT ALL PRIVILEGES ON ${name}.* TO 'u_${name}'@'%';`,
  );
  return {
    DB_BACKEND: 'mysql',
    DB_HOST: '127.0.0.1',
    DB_PORT: String(db.port),
    DB_NAME: name,
    DB_USER: `u_${name}`,
    DB_PASSWORD: password,
    HOSTNAME: 'localhost',
    DB_WAIT_TIMEOUT: '20',
  };
}

/** The processes of a container whose environment holds one of SECRETS (as any variable's value). */
function secretsInEnvironments(container: Running, secrets: string[]): string[] {
  return container.pids('').flatMap((pid) => {
    let environ: string[];
    try {
      environ = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    } catch {
      return []; // exited meanwhile
    }
    const held = environ.filter((e) => secrets.some((secret) => e.includes(secret)));
    return held.length
      ? [
          `${pid} ${readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ')}: ${held.map((e) => e.split('=')[0]).join(' ')}`,
        ]
      : [];
  });
}

/** /proc/PID's fields, or undefined once the process has gone (a zombie counts as gone). */
function procOf(pid: number): { argv: string[]; nspid: number } | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    if (/^State:\s+Z/m.test(status)) return undefined;
    const nspid = Number(/^NSpid:.*\s(\d+)\s*$/m.exec(status)?.[1]);
    return { argv: readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0'), nspid };
  } catch {
    return undefined;
  }
}

/**
 * The container's helper loops (`bash -c SCRIPT NAME PID JOBS...`: the role's log keeper and socks
 * cleaner), once each (a loop's short-lived forks share its name and PID), by the PID in the container's
 * namespace of the role they serve; those whose role is gone are orphans.
 */
function helperLoops(container: Running) {
  const live = new Set<number>();
  const loops = new Map<string, { name: string; serves: number; jobs: string }>();
  for (const pid of container.pids('')) {
    const proc = procOf(pid);
    if (!proc) continue;
    live.add(proc.nspid);
    const [program, flag, , name, serves, ...rest] = proc.argv;
    if (program === 'bash' && flag === '-c' && name && /^\d+$/.test(serves ?? '')) {
      loops.set(`${name} ${serves}`, { name, serves: Number(serves), jobs: rest.slice(2).join(' ').trim() });
    }
  }
  const all = [...loops.values()];
  return {
    serving: (role: number) =>
      all
        .filter((loop) => loop.serves === role)
        .map((loop) => loop.name)
        .sort(),
    orphans: all
      .filter((loop) => !live.has(loop.serves))
      .map((loop) => `${loop.name} ${loop.serves} ${loop.jobs}`),
  };
}

const login = (password: string) => xmlrpc(2633, 'one.user.info', [`oneadmin:${password}`, -1]);

async function startOned(rig: Rig, env: Record<string, string>): Promise<Running> {
  const oned = rig.start(['oned'], { env });
  await eventually(
    async () => (await login(PASSWORD).catch(() => undefined))?.ok,
    120_000,
    `oned answering as oneadmin:\n${oned.output().slice(-3000)}`,
  ).catch(async (error: Error) => {
    await oned.stop(5_000);
    if (process.env.ONED_DEBUG_LOG) writeFileSync(process.env.ONED_DEBUG_LOG, oned.output());
    throw new Error(`${error.message}\n--- oned output ---\n${oned.output().slice(-5000)}`);
  });
  return oned;
}

describe(`OpenNebula ${VERSION}: first boot and restart`, () => {
  let rig: Rig;
  let env: Record<string, string>;
  let oned: Running | undefined;

  beforeAll(async () => {
    rig = createRig(VERSION);
    env = { ...(await database('first')), ONEADMIN_PASSWORD: PASSWORD };
  }, 3_600_000);
  afterAll(async () => {
    await oned?.stop(30_000);
    await rig?.close();
  });

  it('first boot on an empty database: oneadmin logs in, oned writes the serveradmin files, probe passes', async () => {
    const init = await rig.run(['init'], { env });
    expect(init.code, init.output).toBe(0);
    expect(init.output).toMatch(/seeded the oneadmin password/);
    oned = await startOned(rig, env);
    for (const name of ['sunstone_auth', 'oneflow_auth', 'onegate_auth', 'one_key']) {
      expect(existsSync(join(rig.volume, '.one', name)), name).toBe(true);
    }
    expect((await login('wrong')).ok).toBe(false);
    const probe = await rig.run(['probe', 'oned'], { env: { ONE_PROBE_AUTH: `oneadmin:${PASSWORD}` } });
    expect(probe.code, probe.output).toBe(0);
    expect(probe.stdout).toBe(`OpenNebula ${VERSION}\n`);
  });

  it('OneFlow and OneGate start with the serveradmin credentials and answer', async () => {
    expect(oned, 'first boot ran').toBeDefined();
    const oneflow = rig.start(['oneflow'], { env });
    const onegate = rig.start(['onegate'], { env });
    try {
      const flow = await eventually(
        async () => {
          const response = await fetch('http://127.0.0.1:2474/service', {
            headers: { authorization: `Basic ${Buffer.from(`oneadmin:${PASSWORD}`).toString('base64')}` },
          });
          return response.status === 200 ? response.json() : undefined;
        },
        90_000,
        () => `OneFlow answering:\n${oneflow.output().slice(-3000)}`,
      );
      expect(flow).toHaveProperty('DOCUMENT_POOL');
      const gate = await eventually(
        async () => (await fetch('http://127.0.0.1:5030/vm')).status,
        90_000,
        () => `OneGate answering:\n${onegate.output().slice(-3000)}`,
      );
      // No token: OneGate answers 401 after asking oned, which it does with onegate_auth.
      expect(gate).toBe(401);
    } finally {
      await Promise.all([oneflow.stop(10_000), onegate.stop(10_000)]);
    }
  });

  it('restart with state: nothing is re-seeded, one_key is unchanged, a new ONEADMIN_PASSWORD is ignored', async () => {
    expect(oned, 'first boot ran').toBeDefined();
    const key = readFileSync(join(rig.volume, '.one/one_key'), 'utf8');
    const auth = readFileSync(join(rig.volume, '.one/one_auth'), 'utf8');
    // A volume whose database was bootstrapped before OpenNebula 7.2 (then upgraded by a 7.2 image) has no
    // oneform_auth: init writes what oned 7.4 itself writes when it bootstraps.
    const written = Object.fromEntries(
      ['oneform_auth', 'oneks_auth'].map((name) => [
        name,
        readFileSync(join(rig.volume, '.one', name), 'utf8'),
      ]),
    );
    expect(await oned!.stop(60_000)).toBe(0);
    oned = undefined;
    for (const name of Object.keys(written)) rmSync(join(rig.volume, '.one', name));
    const restartEnv = { ...env, ONEADMIN_PASSWORD: 'another-password' };
    const init = await rig.run(['init'], { env: restartEnv });
    expect(init.code, init.output).toBe(0);
    for (const [name, content] of Object.entries(written)) {
      expect(readFileSync(join(rig.volume, '.one', name), 'utf8'), name).toBe(content);
      expect(statSync(join(rig.volume, '.one', name)).mode & 0o777, name).toBe(0o600);
      expect(init.output).toMatch(new RegExp(`wrote \\S*${name} from`));
    }
    expect(init.output).toMatch(/database schema is current for OpenNebula 7\.4\.0/);
    expect(init.output).not.toMatch(/seeded/);
    oned = await startOned(rig, restartEnv);
    expect(readFileSync(join(rig.volume, '.one/one_key'), 'utf8')).toBe(key);
    expect(readFileSync(join(rig.volume, '.one/one_auth'), 'utf8')).toBe(auth);
    expect((await login('another-password')).ok).toBe(false);
    // oned's log reaches its output through `tail -F`, up to a poll interval late: wait for this refused
    // login to arrive so that the next test's "nothing logged from now on" starts after it.
    await eventually(
      async () => /couldn't be authenticated/.test(oned!.output()),
      15_000,
      () => `the refused login in oned's output:\n${oned!.output().slice(-2000)}`,
    );
  });

  it("keeps the database and oneadmin passwords out of every process's environment in the container", async () => {
    expect(oned, 'restart ran').toBeDefined();
    expect(oned!.pids('/usr/bin/oned'), oned!.output()).toHaveLength(1);
    // oned, its drivers, the log tail, the ssh-agent, the socks cleaner, the showback loop.
    expect(secretsInEnvironments(oned!, [env.DB_PASSWORD!, 'another-password'])).toEqual([]);
  });

  it('probe oned without credentials does not fill the log with authentication errors', async () => {
    expect(oned, 'restart ran').toBeDefined();
    const before = oned!.output().length;
    const probe = await rig.run(['probe', 'oned']);
    expect(probe.code, probe.output).toBe(0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(oned!.output().slice(before)).not.toMatch(/auth|denied|Error/i);
  });

  it("streams monitord's log (its own streams are closed by oned) into oned's output", async () => {
    expect(oned, 'restart ran').toBeDefined();
    const [pid] = oned!.pids('/usr/bin/oned');
    // The container's file, seen through oned's root.
    const log = `/proc/${pid}/root/var/log/one/monitor.log`;
    const first = await eventually(
      async () =>
        readFileSync(log, 'utf8')
          .split('\n')
          .find((line) => line.trim()),
      30_000,
      `a line in ${log}`,
    );
    await oned!.waitFor(new RegExp(first.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 10_000);
  });

  it('refuses a database newer than the image, with the restore instructions', async () => {
    expect(oned, 'restart ran').toBeDefined();
    expect(await oned!.stop(60_000)).toBe(0);
    oned = undefined;
    await db.sql(
      "UPDATE db_versioning SET version = '99.0.0'; UPDATE local_db_versioning SET version = '99.0.0';",
      {
        database: 'first',
      },
    );
    const init = await rig.run(['init'], { env });
    expect(init.code).not.toBe(0);
    expect(init.output).toMatch(/written by a newer OpenNebula than this image's 7\.4\.0/);
    expect(init.output).toMatch(/onedb restore --force \/var\/lib\/one\/backups\//);
  });
});

describe(`OpenNebula ${VERSION}: an external database that does not exist yet`, () => {
  it('is created by init when the user may, and oned bootstraps it', async () => {
    const rig = createRig(VERSION);
    let oned: Running | undefined;
    try {
      const env = { ...(await database('notyet', { create: false })), ONEADMIN_PASSWORD: PASSWORD };
      expect(await db.sql("SHOW DATABASES LIKE 'notyet'")).toBe('');
      const init = await rig.run(['init'], { env });
      expect(init.code, init.output).toBe(0);
      expect(init.output).toMatch(/created database notyet on 127\.0\.0\.1:/);
      oned = await startOned(rig, env);
      expect(Number(await db.sql('SELECT COUNT(*) FROM user_pool', { database: 'notyet' }))).toBeGreaterThan(
        0,
      );
    } finally {
      await oned?.stop(30_000);
      await rig.close();
    }
  });

  it('is reported, naming what to do, when the user may not create it', async () => {
    const rig = createRig(VERSION);
    try {
      const env = { ...(await database('granted', { create: false })), DB_NAME: 'other_db' };
      const init = await rig.run(['init'], { env });
      expect(init.code).not.toBe(0);
      expect(init.output).toMatch(
        /database other_db does not exist on 127\.0\.0\.1:\d+ and u_granted may not create it \(or has no privileges on it\): create it \(CREATE DATABASE other_db\)/,
      );
    } finally {
      await rig.close();
    }
  });
});

describe(`OpenNebula ${VERSION}: refusals`, () => {
  it('leftover serveradmin files beside an empty database are refused with the documented message', async () => {
    const rig = createRig(VERSION);
    try {
      const env = { ...(await database('leftover')), ONEADMIN_PASSWORD: PASSWORD };
      mkdirSync(join(rig.volume, '.one'), { recursive: true });
      chownSync(join(rig.volume, '.one'), ONEADMIN_UID, ONEADMIN_UID);
      writeFileSync(join(rig.volume, '.one/oneflow_auth'), 'serveradmin:from-before\n');
      const init = await rig.run(['init'], { env });
      expect(init.code).not.toBe(0);
      expect(init.output).toMatch(/the database is empty but \/var\/lib\/one\/\.one\/oneflow_auth exists/);
    } finally {
      await rig.close();
    }
  });
});

describe(`OpenNebula ${VERSION}: a dummy host monitored, a VM scheduled onto it, a hook run by hem`, () => {
  let rig: Rig;
  let env: Record<string, string>;
  const running: Running[] = [];
  const call = oneadminCall(PASSWORD);

  beforeAll(async () => {
    // The operator's configuration for testing: OpenNebula's dummy drivers, as its packaged files show.
    rig = createRig(VERSION, {
      editEtc: addDummyDrivers,
    });
    // Small log files, checked often: the log keeper's cap shows within the test.
    env = {
      ...(await database('dummy')),
      ONEADMIN_PASSWORD: PASSWORD,
      LOG_MAX_BYTES: '1024',
      LOG_CHECK_INTERVAL: '2',
    };
    const init = await rig.run(['init'], { env });
    expect(init.code, init.output).toBe(0);
    running.push(await startOned(rig, env));
    running.push(rig.start(['hem'], { env }));
  }, 3_600_000);
  afterAll(async () => {
    for (const handle of running.reverse()) await handle.stop(30_000);
    await rig?.close();
  });

  it('monitors the host through monitord, schedules the VM onto it to RUNNING, and hem runs the state hook', async () => {
    for (const ds of [0, 1]) await call('one.datastore.update', ds, 'TM_MAD="dummy"', 1);
    await call(
      'one.hook.allocate',
      'NAME="vm-running"\nTYPE="state"\nRESOURCE="VM"\nON="RUNNING"\nCOMMAND="/bin/touch"\nARGUMENTS="/var/lib/one/hook-ran"',
    );
    const host = Number(await call('one.host.allocate', 'dummy-host', 'dummy', 'dummy', -1));
    await eventually(
      async () => /<STATE>2<\/STATE>/.test(await call('one.host.info', host, false)),
      120_000,
      `host ${host} MONITORED:\n${running[0]!.output().slice(-3000)}`,
    );
    const vm = Number(await call('one.vm.allocate', 'NAME="t"\nCPU="0.1"\nMEMORY="64"', false));
    let info = '';
    await eventually(
      async () => {
        info = await call('one.vm.info', vm, false);
        return /<STATE>3<\/STATE>/.test(info) && /<LCM_STATE>3<\/LCM_STATE>/.test(info);
      },
      180_000,
      () =>
        `VM ${vm} RUNNING (${vmState(info)}):\n${running[0]!
          .output()
          .split('\n')
          .filter((line) => /TrM|TM\]|\[E\]|LCM|DiM/.test(line))
          .slice(-40)
          .join('\n')}`,
    );
    // hem ran the state hook for it, as oneadmin on the front-end.
    await eventually(
      async () => existsSync(join(rig.volume, 'hook-ran')),
      60_000,
      () =>
        `the hook's file:\n${running[1]!.output().slice(-2000)}\n${running[0]!
          .output()
          .split('\n')
          .filter((line) => /HKM|hook|Hook/.test(line))
          .slice(-20)
          .join('\n')}`,
    );
  });

  // The default image datastore (fs) runs its driver on the front-end: mkfs (qemu-img), clone (cp, jq,
  // qemu-img info); the dummy VM takes the clone as a new disk.
  it('creates a datablock on the default datastore to READY, clones it, and attaches the clone to the VM', async () => {
    const vm = 0;
    expect(await call('one.vm.info', vm, false)).toMatch(/<LCM_STATE>3<\/LCM_STATE>/);
    const imageState = async (id: number) => {
      const info = await call('one.image.info', id, false);
      return { state: Number(/<STATE>(\d+)<\/STATE>/.exec(info)?.[1]), info };
    };
    const ready = async (id: number) => {
      let last = { state: -1, info: '' };
      await eventually(
        async () => {
          last = await imageState(id);
          return last.state === 1 || last.state === 5; // READY, or ERROR: no retry helps
        },
        120_000,
        () =>
          `image ${id} READY (state ${last.state}, ${/<ERROR>[^<]*/.exec(last.info)?.[0] ?? ''}):\n${running[0]!
            .output()
            .split('\n')
            .filter((line) => /ImM|\[E\]|mkfs|clone/.test(line))
            .slice(-20)
            .join('\n')}`,
      );
      expect(
        last.state,
        `image ${id}: ${/<ERROR>.*?<\/ERROR>/.exec(last.info)?.[0]}\n${running[0]!
          .output()
          .split('\n')
          .filter((line) => /ImM|\[E\]/.test(line))
          .slice(-20)
          .join('\n')}`,
      ).toBe(1);
    };
    const image = Number(
      await call('one.image.allocate', 'NAME="blank"\nTYPE="DATABLOCK"\nSIZE="1"\nFORMAT="raw"', 1, false),
    );
    await ready(image);
    const clone = Number(await call('one.image.clone', image, 'blank-clone', 1));
    await ready(clone);
    await call('one.vm.attach', vm, `DISK=[ IMAGE_ID="${clone}" ]`);
    await eventually(
      async () => {
        const info = await call('one.vm.info', vm, false);
        return (
          /<LCM_STATE>3<\/LCM_STATE>/.test(info) &&
          new RegExp(`<IMAGE_ID><!\\[CDATA\\[${clone}\\]\\]>`).test(info)
        );
      },
      120_000,
      `VM ${vm} RUNNING with image ${clone} attached`,
    );
    expect((await imageState(clone)).info).toMatch(/<RUNNING_VMS>1<\/RUNNING_VMS>/);
  });

  it("showback: the role runs oneshowback calculate once against oned, which then holds the VM's records", async () => {
    const run = await rig.run(['showback'], { env });
    expect(run.code, run.output).toBe(0);
    expect(await call('one.vmpool.showback', -2, -1, -1, -1, -1)).toMatch(/<SHOWBACK>.*<VMID>0<\/VMID>/s);
  });

  // The daemons' own lines reach the output; lines the test appends (as a daemon appends) mark what reaches
  // it exactly once, and a file past LOG_MAX_BYTES is emptied by the keeper (every LOG_CHECK_INTERVAL = 2 s).
  it("streams the scheduler's and monitord's logs once, and caps their files at LOG_MAX_BYTES", async () => {
    const oned = running[0]!;
    const [pid] = oned.pids('/usr/bin/oned');
    const occurrences = (text: string) => oned.output().split(text).length - 1;
    for (const name of ['rank_sched.log', 'monitor.log']) {
      const file = `/proc/${pid}/root/var/log/one/${name}`;
      // The scheduler placed the VM above; monitord logs every few seconds.
      const own = await eventually(
        async () =>
          readFileSync(file, 'utf8')
            .split('\n')
            .find((line) => line.trim()),
        60_000,
        `a line of the daemon's own in ${name}`,
      );
      await oned.waitFor(new RegExp(own.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')), 10_000);
      const before = `${name}: a line before the cap ${Date.now()}`;
      appendFileSync(file, `${before}\n`);
      await oned.waitFor(new RegExp(before), 10_000);
      appendFileSync(file, `${'x'.repeat(2048)}\n`);
      // The daemon only appends: a line gone from the file is the keeper's emptying it.
      await eventually(
        async () => !readFileSync(file, 'utf8').includes(before),
        30_000,
        () => `${name} emptied past 1024 bytes (now ${statSync(file).size} bytes)`,
      );
      expect(statSync(file).size, name).toBeLessThan(4096);
      // tail follows the emptied file: what is appended next streams too.
      const after = `${name}: a line after the cap ${Date.now()}`;
      appendFileSync(file, `${after}\n`);
      await oned.waitFor(new RegExp(after), 10_000);
      expect([occurrences(before), occurrences(after)], name).toEqual([1, 1]);
    }
  });

  // oned appends each VM's state changes to /var/lib/one/vms/<id>/vm.log for as long as the VM exists: the
  // keeper rotates one past LOG_MAX_BYTES to vm.log.1 (copytruncate: oned keeps appending to vm.log), so
  // FireEdge's VM log tab shows what came after and the file before it stays beside it, both bounded.
  it("rotates each VM's vm.log past LOG_MAX_BYTES to vm.log.1, keeping one previous file", async () => {
    const log = join(rig.volume, 'vms', '0', 'vm.log');
    expect(existsSync(log), log).toBe(true);
    for (const round of [1, 2]) {
      const marker = `round ${round}: ${'y'.repeat(2048)}`;
      appendFileSync(log, `${marker}\n`);
      await eventually(
        async () => existsSync(`${log}.1`) && readFileSync(`${log}.1`, 'utf8').includes(marker),
        30_000,
        () => `${log} (${statSync(log).size} bytes) rotated to vm.log.1 in round ${round}`,
      );
      expect(readFileSync(log, 'utf8')).not.toContain(marker);
      expect(statSync(log).size).toBeLessThan(4096);
    }
    // One previous file only: round 2 replaced round 1's.
    expect(readFileSync(`${log}.1`, 'utf8')).not.toContain('round 1:');
    expect(
      readdirSync(dirname(log))
        .filter((name) => name.startsWith('vm.log'))
        .sort(),
    ).toEqual(['vm.log', 'vm.log.1']);
    // oned's next line for the VM lands in vm.log.
    await call('one.vm.action', 'poweroff', 0);
    await eventually(
      async () => /New LCM state is|New state is/.test(readFileSync(log, 'utf8')),
      60_000,
      `${log}: a line of oned's after the rotation`,
    );
  });

  it('gives oned and hem an ssh-agent holding oneadmin key', async () => {
    for (const [handle, name] of [
      [running[0]!, '/usr/bin/oned'],
      [running[1]!, '/usr/bin/ruby'],
    ] as const) {
      const [pid] = handle.pids(name);
      expect(pid, handle.output()).toBeDefined();
      const sock = readFileSync(`/proc/${pid}/environ`, 'utf8')
        .split('\0')
        .find((e) => e.startsWith('SSH_AUTH_SOCK='))
        ?.slice('SSH_AUTH_SOCK='.length);
      expect(sock, name).toMatch(/^\/run\/one\/ssh-agent\.\w+\.sock$/);
      const listed = execFileSync('ssh-add', ['-l'], {
        env: { SSH_AUTH_SOCK: `/proc/${pid}/root${sock}` },
        encoding: 'utf8',
      });
      const pub = readFileSync(join(rig.volume, '.ssh/id_ed25519.pub'), 'utf8');
      expect(listed).toContain(
        execFileSync('ssh-keygen', ['-lf', '-'], { input: pub, encoding: 'utf8' }).split(' ')[1],
      );
    }
  });

  // The chart's startup and liveness probes of the hem container (hem listens on nothing of its own).
  it("probe hem: passes while hem holds its connections to oned's hook manager or oned is down, fails when hem lost them to a live oned", async () => {
    const hem = running[1]!;
    const connected = await hem.exec(['probe', 'hem']);
    expect(connected.code, connected.output).toBe(0);
    expect(connected.stdout).toMatch(/^hem \(pid \d+\) is connected to oned\n$/);
    // A container where hem does not run.
    const absent = await rig.run(['probe', 'hem']);
    expect(absent.code).not.toBe(0);
    expect(absent.stderr).toContain('probe hem: hem (/usr/lib/one/onehem/onehem-server.rb) is not running');

    // hem stuck (stopped) while oned restarts: its connections close and it makes no new ones.
    const [ruby] = hem.pids('/usr/bin/ruby');
    expect(ruby, hem.output()).toBeDefined();
    process.kill(ruby!, 'SIGSTOP');
    try {
      expect(await running[0]!.stop(60_000)).toBe(0);
      const down = await hem.exec(['probe', 'hem']);
      expect(down.code, down.output).toBe(0);
      expect(down.stdout).toContain(
        "oned's subscriber at tcp://localhost:2101 accepts no connection (oned is not running): hem reconnects when it does",
      );
      running[0] = await startOned(rig, env);
      let stuck = await hem.exec(['probe', 'hem']);
      await eventually(
        async () => (stuck = await hem.exec(['probe', 'hem'])).code !== 0,
        60_000,
        () => `probe hem failing with hem stopped and oned up: ${stuck.output}`,
      );
      expect(stuck.stderr).toMatch(
        /probe hem: hem \(pid \d+\) has no connection to oned's (subscriber at tcp:\/\/localhost:2101|replier at tcp:\/\/localhost:2102), which accepts connections/,
      );
    } finally {
      process.kill(ruby!, 'SIGCONT');
    }
    // Resumed, hem reconnects by itself and the probe passes again.
    let again = await hem.exec(['probe', 'hem']);
    await eventually(
      async () => (again = await hem.exec(['probe', 'hem'])).code === 0,
      60_000,
      () => `probe hem passing after hem resumed: ${again.output}`,
    );
  });
});

describe('upgrade: a database created by 7.0.0 under the 7.4.0 roles', () => {
  it('refuses with ONEDB_AUTO_UPGRADE=false, then upgrades with a backup (a quote in the password too) and serves', async () => {
    const old = createRig('7.0.0');
    let rig: Rig | undefined;
    let oned: Running | undefined;
    try {
      const env = {
        ...(await database('upgrade', { userPassword: "it's-a-pass" })),
        ONEADMIN_PASSWORD: PASSWORD,
      };
      const first = await old.run(['init'], { env });
      expect(first.code, first.output).toBe(0);
      oned = await startOned(old, env);
      expect((await xmlrpc(2633, 'one.system.version', [`oneadmin:${PASSWORD}`])).value).toBe('7.0.0');
      expect(await oned.stop(60_000)).toBe(0);
      oned = undefined;

      rig = createRig(VERSION, { volume: old.volume });
      const refused = await rig.run(['init'], { env: { ...env, ONEDB_AUTO_UPGRADE: 'false' } });
      expect(refused.code).not.toBe(0);
      expect(refused.output).toMatch(/older than OpenNebula 7\.4\.0 and ONEDB_AUTO_UPGRADE=false/);
      expect(refused.output).toMatch(/onedb backup .* then onedb upgrade/);

      const upgraded = await rig.run(['init'], { env });
      expect(upgraded.code, upgraded.output).toBe(0);
      const backup = /backup: (\/var\/lib\/one\/backups\/onedb-before-7\.4\.0-\d{8}T\d{6}Z\.sql)/.exec(
        upgraded.output,
      )?.[1];
      expect(backup, upgraded.output).toBeDefined();
      expect(upgraded.output).toMatch(
        /to roll back: restore .*\(with the Helm chart: restore\.enabled=true, restore\.backup=onedb-before-7\.4\.0-\d{8}T\d{6}Z; elsewhere: onedb restore --force .*\), then roll back the image/,
      );
      const dump = readFileSync(join(rig.volume, backup!.slice('/var/lib/one/'.length)), 'utf8');
      expect(dump).toMatch(/INSERT INTO `db_versioning`/);
      // No USE: the chart's restore mode loads it into the database it is told (DB_NAME).
      expect(dump).not.toMatch(/^USE /m);
      expect(readFileSync(join(rig.volume, '.opennebula-image-version'), 'utf8')).toBe('7.4.0\n');

      oned = await startOned(rig, env);
      expect((await xmlrpc(2633, 'one.system.version', [`oneadmin:${PASSWORD}`])).value).toBe(VERSION);
    } finally {
      await oned?.stop(30_000);
      await rig?.close();
      await old.close();
    }
  }, 3_600_000);
});

// `docker run IMAGE` with no command: every role under supervisord, as root until each drops to oneadmin.
// FireEdge, guacd, OneForm, OneKS and sshd are not part of this rig (no FireEdge bundle, no guacd, gems
// Debian lacks, no openssh-server on the host), so supervisord gives up on them; the others must run as in
// their own containers.
describe(`OpenNebula ${VERSION}: the all role under supervisord`, () => {
  let rig: Rig;
  let all: Running | undefined;
  let env: Record<string, string>;
  const started = () => {
    expect(all, 'all started').toBeDefined();
    return all!;
  };

  beforeAll(() => {
    rig = createRig(VERSION);
  }, 3_600_000);
  afterAll(async () => {
    await all?.stop(90_000);
    await rig?.close();
  });

  it('configures once; oned, OneFlow, OneGate and hem run as oneadmin and log to the container', async () => {
    env = { ...(await database('allrole')), ONEADMIN_PASSWORD: PASSWORD };
    all = rig.start(['all'], { env, asRoot: true });
    await eventually(
      async () => (await login(PASSWORD).catch(() => undefined))?.ok,
      180_000,
      () => `oned answering under all:\n${all!.output().slice(-4000)}`,
    );
    const basic = `Basic ${Buffer.from(`oneadmin:${PASSWORD}`).toString('base64')}`;
    await eventually(
      async () =>
        (await fetch('http://127.0.0.1:2474/service', { headers: { authorization: basic } })).status === 200,
      120_000,
      () => `OneFlow answering under all:\n${all!.output().slice(-4000)}`,
    );
    await eventually(
      async () => (await fetch('http://127.0.0.1:5030/vm')).status === 401,
      120_000,
      () => `OneGate answering under all:\n${all!.output().slice(-4000)}`,
    );
    // hem subscribes to oned's events once oned answers; its log file reaches supervisord's output.
    await all.waitFor(/Hooks successfully loaded/, 60_000);

    const output = all.output();
    expect(output.match(/configuration written under/g) ?? [], output.slice(-4000)).toHaveLength(1);
    expect(output).not.toMatch(/Permission denied|Read-only file system/);
    for (const program of ['oned', 'oneflow', 'onegate', 'hem']) {
      expect(output, program).toMatch(new RegExp(`success: ${program} entered RUNNING state`));
    }
    for (const daemon of ['/usr/bin/oned', '/usr/bin/ruby /usr/lib/one/oneflow/oneflow-server.rb']) {
      const [pid] = all.pids(daemon);
      expect(pid, `${daemon}\n${output.slice(-3000)}`).toBeDefined();
      expect(readFileSync(`/proc/${pid}/status`, 'utf8')).toMatch(
        new RegExp(`^Uid:\\s+${ONEADMIN_UID}\\s`, 'm'),
      );
    }
  }, 600_000);

  // The program waits for oned, then runs `oneshowback calculate` at once (and daily after): oned's log, in
  // the container's output, shows the call succeed.
  it('runs showback as the timer of the packages does', async () => {
    expect(started().output()).toMatch(/success: showback entered RUNNING state/);
    await started().waitFor(/one\.vmpool\.calculateshowback result SUCCESS/, 120_000);
  });

  it('keeps the passwords out of every process: supervisord, each program, each helper', () => {
    expect(secretsInEnvironments(started(), [env.DB_PASSWORD!, PASSWORD])).toEqual([]);
  });

  // The role's helper loops (log keeper, socks cleaner) each watch the role's PID, the daemon's. Counting
  // them was racy: the rig's roots lack sshd, guacd, FireEdge's bundle and OneForm's gems, so those roles
  // exit and restart, each run's keeper living up to a second after it. What must hold: the loops of a
  // killed daemon go, its next run has the same ones, no loop outlives its role by more than a second or
  // two, and the ssh-agents stay one per daemon.
  it('a restarted oned or hem leaves no ssh-agent, log keeper or socks cleaner of its previous run behind', async () => {
    const container = started();
    // -1 once the process has gone (a role that exited again), so that no check or message throws.
    const nsPid = (hostPid: number) => procOf(hostPid)?.nspid ?? -1;
    const agents = container.pids('ssh-agent').length;
    expect(agents).toBe(2);
    for (const daemon of ['/usr/bin/oned', '/usr/bin/ruby /usr/lib/one/onehem/onehem-server.rb']) {
      const [pid] = container.pids(daemon);
      const old = nsPid(pid!);
      const loops = helperLoops(container).serving(old);
      expect(loops, daemon).toEqual(['log-keeper', 'socks-cleaner']);
      process.kill(pid!, 'SIGKILL');
      const next = await eventually(
        async () => container.pids(daemon).find((p) => p !== pid),
        60_000,
        `${daemon} restarted`,
      );
      await eventually(
        async () => {
          const now = helperLoops(container);
          return now.serving(old).length === 0 && now.serving(nsPid(next)).join() === loops.join();
        },
        30_000,
        () => {
          const now = helperLoops(container);
          return `${daemon}'s loops moved from ${old} (left: ${now.serving(old).join()}) to ${nsPid(next)} (${now.serving(nsPid(next)).join()}); orphans: ${now.orphans.join('; ')}`;
        },
      );
    }
    // ssh-agent looks for its daemon every 10 s.
    await eventually(
      async () => container.pids('ssh-agent').length === agents,
      30_000,
      () => `ssh-agents: ${container.pids('ssh-agent').length}`,
    );
    const orphans = helperLoops(container).orphans;
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(helperLoops(container).orphans.filter((orphan) => orphans.includes(orphan))).toEqual([]);
  });

  it("follows no link oneadmin planted where hem's role (root until it drops) touches, chowns and tails", async () => {
    const container = started();
    const [oned] = container.pids('/usr/bin/oned');
    const root = `/proc/${oned}/root`;
    writeFileSync(`${root}/etc/root-only`, 'root-only-secret\n', { mode: 0o600 });
    rmSync(`${root}/var/log/one/onehem.log`, { force: true });
    symlinkSync('/etc/root-only', `${root}/var/log/one/onehem.log`);
    execFileSync('chown', ['-h', `${ONEADMIN_UID}:${ONEADMIN_UID}`, `${root}/var/log/one/onehem.log`]);
    const hem = '/usr/bin/ruby /usr/lib/one/onehem/onehem-server.rb';
    const [pid] = container.pids(hem);
    process.kill(pid!, 'SIGKILL');
    await eventually(async () => container.pids(hem).some((p) => p !== pid), 60_000, 'hem restarted');
    await new Promise((resolve) => setTimeout(resolve, 3_000));
    expect(statSync(`${root}/etc/root-only`).uid).toBe(0);
    expect(readFileSync(`${root}/etc/root-only`, 'utf8')).toBe('root-only-secret\n');
    expect(container.output()).not.toContain('root-only-secret');
  });

  it('stops every program on SIGTERM (supervisord is root), oned within its grace period', async () => {
    expect(await started().stop(90_000)).toBe(0);
    all = undefined;
  });
});

// FireEdge's bundle is not built here: a stand-in logs as FireEdge's server logger does (winston's File
// transport, FireEdge's 5 MB maxsize, not tailable) at FireEdge's pinned winston version, the real library.
// It writes in small bursts: winston 3.3.3 itself drops the lines in flight when it rolls over mid-burst.
const FIREEDGE_STAND_IN = String.raw`
const { createLogger, format, transports } = require('winston');
const logger = createLogger({
  transports: [
    new transports.File({
      filename: '/var/log/one/fireedge.log',
      maxsize: 5242880,
      format: format.printf((info) => info.message),
    }),
  ],
});
const padding = 'x'.repeat(1000);
let n = 0;
(function burst() {
  for (let i = 0; i < 20 && n < LINES; i++) logger.info('fireedge-line-' + ++n + ' ' + padding);
  if (n < LINES) setTimeout(burst, 2);
})();
setInterval(() => {}, 60000);
`;
const FIREEDGE_LINES = 12_000; // about 12 MB: fireedge.log and two more

/** Copies a package and everything it depends on from the project's node_modules into DIR/node_modules. */
function copyPackage(
  name: string,
  dir: string,
  from = join(REPO_ROOT, 'node_modules'),
  seen = new Set<string>(),
) {
  const nested = join(from, 'node_modules', name);
  const source = existsSync(nested) ? nested : join(REPO_ROOT, 'node_modules', name);
  if (seen.has(source)) return;
  seen.add(source);
  cpSync(source, join(dir, 'node_modules', relative(join(REPO_ROOT, 'node_modules'), source)), {
    recursive: true,
  });
  const manifest = JSON.parse(readFileSync(join(source, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>;
  };
  for (const dependency of Object.keys(manifest.dependencies ?? {}))
    copyPackage(dependency, dir, source, seen);
}

describe(`OpenNebula ${VERSION}: FireEdge's log past winston's rollover`, () => {
  let rig: Rig;
  let fireedge: Running | undefined;

  beforeAll(() => {
    rig = createRig(VERSION, {
      editImage: (layer) => {
        const app = join(layer, 'usr/lib/one/fireedge');
        mkdirSync(join(app, 'dist'), { recursive: true });
        writeFileSync(
          join(app, 'dist/index.js'),
          FIREEDGE_STAND_IN.replaceAll('LINES', String(FIREEDGE_LINES)),
        );
        copyPackage('winston', app);
      },
    });
  }, 3_600_000);
  afterAll(async () => {
    await fireedge?.stop(10_000);
    await rig?.close();
  });

  it('streams every line once across the files winston rolls over to, and prunes what it streamed', async () => {
    const env = await database('fireedge');
    mkdirSync(join(rig.volume, '.one'), { recursive: true });
    writeFileSync(join(rig.volume, '.one/sunstone_auth'), 'serveradmin:secret\n');
    chownSync(join(rig.volume, '.one'), ONEADMIN_UID, ONEADMIN_UID);
    chownSync(join(rig.volume, '.one/sunstone_auth'), ONEADMIN_UID, ONEADMIN_UID);
    // The log keeper prunes what was streamed every LOG_CHECK_INTERVAL seconds (60 by default).
    fireedge = rig.start(['fireedge'], { env: { ...env, LOG_CHECK_INTERVAL: '10' } });
    await fireedge.waitFor(new RegExp(`fireedge-line-${FIREEDGE_LINES} `), 120_000);
    const [pid] = fireedge.pids('/usr/bin/node');
    expect(pid, fireedge.output().slice(-3000)).toBeDefined();
    const logs = `/proc/${pid}/root/var/log/one`;
    const rolled = () => readdirSync(logs).filter((name) => /^fireedge\d+\.log$/.test(name));
    expect(rolled().length, readdirSync(logs).join(' ')).toBeGreaterThanOrEqual(1);
    // What winston wrote (read before the first pruning, 10 s in; winston itself may drop a few lines in
    // flight at a rollover) reached the output, each line once.
    const written = readdirSync(logs)
      .filter((name) => /^fireedge\d*\.log$/.test(name))
      .flatMap((name) => readFileSync(join(logs, name), 'utf8').match(/fireedge-line-\d+ /g) ?? []);
    const seen = fireedge.output().match(/fireedge-line-\d+ /g) ?? [];
    expect(new Set(seen).size, 'no line streamed twice').toBe(seen.length);
    expect(written.length).toBeGreaterThan(FIREEDGE_LINES * 0.9);
    const streamed = new Set(seen);
    expect(written.filter((line) => !streamed.has(line)).slice(0, 5), 'written but not streamed').toEqual([]);
    // Already streamed: the first file goes; the current and the previous stay.
    await eventually(
      async () => !existsSync(join(logs, 'fireedge.log')),
      30_000,
      () => readdirSync(logs).join(' '),
    );
    // winston numbers them as it likes (it skips under load): the newest two stay, nothing else.
    expect(rolled(), readdirSync(logs).join(' ')).toHaveLength(2);
    expect(
      readdirSync(logs)
        .filter((name) => name.startsWith('fireedge'))
        .sort(),
    ).toEqual(['fireedge.error', ...rolled()].sort());
  }, 600_000);
});
