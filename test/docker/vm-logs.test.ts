// Per-VM logs on real OpenNebula 7.4.0 (test/support/opennebula.ts) with a real MariaDB: oned gives each
// VM the log system of its own (src/vm/VirtualMachine.cc), so the image logs oned to a file the oned role
// streams and each VM to /var/lib/one/vms/<id>/vm.log (LOG/USE_VMS_LOCATION), where FireEdge's VM log tab
// reads it. The operator's configuration reaches oned through the overrides directory (the dummy drivers
// as whole files), and the database password holds every character the template syntax uses.
import { chownSync, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeOverrides } from '../support/etc-one.js';
import * as mariadb from '../support/mariadb.js';
import {
  oneadminCall,
  withDummyDrivers,
  vmState,
  createRig,
  eventually,
  opennebulaBuild,
  xmlrpc,
  ONEADMIN_UID,
  type Rig,
  type Running,
} from '../support/opennebula.js';

const VERSION = '7.4.0';
const PASSWORD = 'vm-logs-Pass';
const DB_PASSWORD = `p]["'$,=#w`;

describe(`OpenNebula ${VERSION}: each VM's log in a file, oned's on the container output`, () => {
  let db: mariadb.MariaDb;
  let rig: Rig;
  let oned: Running | undefined;
  let env: Record<string, string>;
  const session = `oneadmin:${PASSWORD}`;
  const call = oneadminCall(PASSWORD);

  beforeAll(async () => {
    db = await mariadb.start();
    await db.sql(
      `CREATE DATABASE vmlogs; CREATE USER 'u_vmlogs'@'%' IDENTIFIED BY '${DB_PASSWORD.replace(/'/g, "\\'")}'; GRANT ALL PRIVILEGES ON vmlogs.* TO 'u_vmlogs'@'%';`,
    );
    rig = createRig(VERSION);
    // OpenNebula's dummy drivers, as an operator adds drivers: whole files in the overrides directory.
    const etc = join(opennebulaBuild(VERSION), 'etc/one');
    const overrides = writeOverrides(join(rig.volume, 'overrides'), {
      files: {
        ...withDummyDrivers(etc),
      },
      edits: { 'oned.conf': 'DEFAULT_UMASK = 117\n' },
    });
    chownRecursive(overrides);
    env = {
      DB_BACKEND: 'mysql',
      DB_HOST: '127.0.0.1',
      DB_PORT: String(db.port),
      DB_NAME: 'vmlogs',
      DB_USER: 'u_vmlogs',
      DB_PASSWORD,
      HOSTNAME: 'localhost',
      DB_WAIT_TIMEOUT: '20',
      ONEADMIN_PASSWORD: PASSWORD,
      ONE_OVERRIDES_DIR: '/var/lib/one/overrides',
    };
    // init asks onedb, which reads the DB block of oned.conf through Augeas: the password must survive it.
    const init = await rig.run(['init'], { env });
    expect(init.code, init.output).toBe(0);
    // The rig's oned listens on the host's ports (2633, its hook manager's 2101 and 2102): a start can lose
    // them to another rig on the same host, and oned then exits at once. Such a start is tried again.
    for (let attempt = 1; ; attempt++) {
      oned = rig.start(['oned'], { env });
      const exited = await Promise.race([oned.exited.then(() => true), sleep(30_000).then(() => false)]);
      if (!exited || attempt === 3) break;
    }
    await eventually(
      async () => (await xmlrpc(2633, 'one.user.info', [session, -1]).catch(() => undefined))?.ok,
      120_000,
      () =>
        `oned answering as oneadmin:\n${oned!.output().slice(-3000)}\n--- oned.log ---\n${onedLog(oned!)}`,
    );
  }, 3_600_000);
  afterAll(async () => {
    await oned?.stop(30_000);
    await rig?.close();
    await db?.stop();
  });

  it("writes a deployed VM's log to /var/lib/one/vms/<id>/vm.log", async () => {
    for (const ds of [0, 1]) await call('one.datastore.update', ds, 'TM_MAD="dummy"', 1);
    const host = Number(await call('one.host.allocate', 'dummy-host', 'dummy', 'dummy', -1));
    await eventually(
      async () => /<STATE>2<\/STATE>/.test(await call('one.host.info', host, false)),
      120_000,
      () => `host ${host} MONITORED:\n${oned!.output().slice(-3000)}`,
    );
    const vm = Number(await call('one.vm.allocate', 'NAME="logged"\nCPU="0.1"\nMEMORY="64"', false));
    let info = '';
    await eventually(
      async () => /<LCM_STATE>3<\/LCM_STATE>/.test((info = await call('one.vm.info', vm, false))),
      180_000,
      () =>
        `VM ${vm} RUNNING (${vmState(info)}):\n${oned!
          .output()
          .split('\n')
          .filter((line) => !/ReM/.test(line))
          .slice(-60)
          .join('\n')}`,
    );
    const log = join(rig.volume, 'vms', String(vm), 'vm.log');
    const text = await eventually(
      async () =>
        existsSync(log) &&
        /New LCM state is RUNNING/.test(readFileSync(log, 'utf8')) &&
        readFileSync(log, 'utf8'),
      30_000,
      `${log} with the VM's state changes`,
    );
    expect(text).toMatch(/New state is ACTIVE/);
    // FireEdge picks the file by the LOG block oned reports.
    expect(await call('one.system.config')).toMatch(/<USE_VMS_LOCATION>(<!\[CDATA\[)?YES/);
  });

  it("streams oned's own log to its container's output", async () => {
    // oned logs its configuration at start: the line is in oned.log and in the role's output.
    await oned!.waitFor(/Starting OpenNebula/, 30_000);
    await oned!.waitFor(/DEFAULT_UMASK\W+117/, 30_000);
  });
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** oned.log in oned's container, seen through its root (for failure messages). */
function onedLog(handle: Running): string {
  const [pid] = handle.pids('/usr/bin/oned');
  try {
    return readFileSync(`/proc/${pid}/root/var/log/one/oned.log`, 'utf8').slice(-4000);
  } catch (error) {
    return String(error);
  }
}

function chownRecursive(path: string): void {
  chownSync(path, ONEADMIN_UID, ONEADMIN_UID);
  if (statSync(path).isDirectory()) for (const name of readdirSync(path)) chownRecursive(join(path, name));
}
