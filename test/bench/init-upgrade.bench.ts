// Benchmark: the memory and time the `init` role needs to upgrade a large OpenNebula 7.0.0 database with the
// 7.4.0 image (its dump before the upgrade, then `onedb upgrade`), the figure behind the chart's
// resources.init. Real OpenNebula (test/tools/opennebula/build.sh's cached builds, test/support/opennebula.ts's
// rig) and a real MariaDB (test/support/mariadb.ts), both in a network namespace of their own so that oned's
// fixed ports (2633, 4124) do not meet another rig's on this host.
//
// The database: 7.0.0's oned bootstraps it, a dummy host runs one VM (OpenNebula's dummy drivers, with a
// history record and monitoring), and that VM's rows (vm_pool, history, vm_monitoring) are cloned by direct
// SQL inserts into BENCH_INIT_VMS VMs (default 10000): as oned would have stored them, without deploying
// thousands of VMs. Then 7.4.0's init runs on it while this process samples its processes' memory
// (/proc/PID/status: VmHWM, each process's own peak RSS, and the sum of VmRSS over the container).
// Prints figures; nothing is asserted about them.
import { execFileSync } from 'node:child_process';
import { readFileSync, rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { database, isolate, runningDummyVm, sql as sqlAs, type Netns } from '../support/isolated-rig.js';
import * as mariadb from '../support/mariadb.js';
import { addDummyDrivers, createRig, eventually, tmpDir, type Rig } from '../support/opennebula.js';

const VMS = Number(process.env.BENCH_INIT_VMS ?? 10_000);
const rows: [string, string][] = [];
let work: string;
let ns: Netns | undefined;
let db: mariadb.MariaDb;
let old: Rig;
let env: Record<string, string>;
const sql = (query: string) => sqlAs(db, query, 'opennebula');

beforeAll(async () => {
  work = tmpDir('init-bench-');
  ns = isolate(work);
  db = await mariadb.start();
  env = { ...database(db, 'opennebula'), HOSTNAME: 'localhost', ONEADMIN_PASSWORD: 'bench-Pass_word' };
  old = createRig('7.0.0', { editEtc: addDummyDrivers });
  const init = await old.run(['init'], { env });
  if (init.code !== 0) throw new Error(`7.0.0 init failed:\n${init.output}`);
  const oned = old.start(['oned'], { env });
  try {
    await runningDummyVm(old, env);
    // Dummy monitoring of the VM, when it comes within a minute (the clones copy what is there).
    await eventually(async () => Number(sql('SELECT COUNT(*) FROM vm_monitoring')) > 0, 60_000).catch(
      () => 0,
    );
  } finally {
    await oned.stop(30_000);
  }
  clone();
}, 1_800_000);

afterAll(async () => {
  console.log(`\ninit of the OpenNebula 7.4.0 image on a 7.0.0 database (${VMS} VMs)\n`);
  for (const [measure, value] of rows) console.log(`${measure.padEnd(60)} ${value.padStart(14)}`);
  await old?.close();
  await db?.stop();
  ns?.close();
  if (work) rmSync(work, { recursive: true, force: true });
}, 180_000);

/** VM 0's rows, inserted again for VMs 1..VMS-1 (its ID replaced in the ID columns and the body's first ID). */
function clone(): void {
  const started = Date.now();
  for (const [table, idColumn] of [
    ['vm_pool', 'oid'],
    ['history', 'vid'],
    ['vm_monitoring', 'vmid'],
  ] as const) {
    const columns = sql(
      `SELECT column_name FROM information_schema.columns WHERE table_schema='opennebula' AND table_name='${table}' ORDER BY ordinal_position`,
    )
      .trim()
      .split('\n');
    const tag = table === 'history' ? 'OID' : 'ID';
    const value = (column: string) =>
      column === idColumn
        ? 's.seq'
        : column === 'name'
          ? "CONCAT(t.name, '-', s.seq)"
          : column === 'body'
            ? `INSERT(t.body, LOCATE('<${tag}>0</${tag}>', t.body), ${tag.length * 2 + 6}, CONCAT('<${tag}>', s.seq, '</${tag}>'))`
            : `t.\`${column}\``;
    for (let from = 1; from < VMS; from += 5_000) {
      const to = Math.min(VMS - 1, from + 4_999);
      sql(
        `INSERT INTO ${table} (${columns.map((c) => `\`${c}\``).join(', ')}) SELECT ${columns.map(value).join(', ')} FROM ${table} AS t JOIN seq_${from}_to_${to} AS s WHERE t.${idColumn} = 0;`,
      );
    }
  }
  sql(`UPDATE pool_control SET last_oid = ${VMS - 1} WHERE tablename = 'vm_pool';`);
  rows.push(['VMs (vm_pool rows)', sql('SELECT COUNT(*) FROM vm_pool').trim()]);
  rows.push(['history rows', sql('SELECT COUNT(*) FROM history').trim()]);
  rows.push(['vm_monitoring rows', sql('SELECT COUNT(*) FROM vm_monitoring').trim()]);
  rows.push(['bytes of one VM body', sql('SELECT LENGTH(body) FROM vm_pool WHERE oid = 0').trim()]);
  // InnoDB's sizes in information_schema are estimates until the tables are analyzed.
  sql('ANALYZE TABLE vm_pool, history, vm_monitoring;');
  const size = sql(
    "SELECT SUM(data_length + index_length) FROM information_schema.tables WHERE table_schema='opennebula'",
  );
  rows.push(['database size, MiB (data + indexes)', (Number(size) / 2 ** 20).toFixed(1)]);
  rows.push(['seconds to insert the clones', ((Date.now() - started) / 1000).toFixed(1)]);
}

/** Status fields of PID in kB (VmHWM, VmRSS), 0 once it is gone. */
function status(pid: number, field: 'VmHWM' | 'VmRSS'): number {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(
      readFileSync(`/proc/${pid}/status`, 'utf8'),
    );
    return Number(match?.[1] ?? 0);
  } catch {
    return 0;
  }
}

function command(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').slice(0, 3).join(' ').trim();
  } catch {
    return '';
  }
}

it(`init 7.4.0 upgrades the ${VMS}-VM database: peak memory and duration`, async () => {
  const rig = createRig('7.4.0', { volume: old.volume });
  try {
    const started = Date.now();
    const init = rig.start(['init'], { env: { ...env, ONEDB_AUTO_UPGRADE: 'true' } });
    const peaks = new Map<number, { hwm: number; command: string }>();
    let sumPeak = 0;
    let done = false;
    void init.exited.then(() => (done = true));
    while (!done) {
      let sum = 0;
      for (const pid of init.pids('')) {
        const hwm = status(pid, 'VmHWM');
        sum += status(pid, 'VmRSS');
        const seen = peaks.get(pid);
        if (hwm > (seen?.hwm ?? 0)) peaks.set(pid, { hwm, command: seen?.command ?? command(pid) });
      }
      sumPeak = Math.max(sumPeak, sum);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    const code = await init.exited;
    const seconds = (Date.now() - started) / 1000;
    expect(code, init.output().slice(-4000)).toBe(0);
    expect(init.output()).toMatch(/database upgraded to OpenNebula 7\.4\.0/);
    const largest = [...peaks.values()].sort((a, b) => b.hwm - a.hwm);
    rows.push(['init duration, s (dump + onedb upgrade + the rest)', seconds.toFixed(1)]);
    rows.push(['peak RSS of the container, MiB (sum over processes, 50 ms)', (sumPeak / 1024).toFixed(1)]);
    for (const peak of largest.slice(0, 3)) {
      rows.push([`peak RSS (VmHWM), MiB: ${peak.command.slice(0, 40)}`, (peak.hwm / 1024).toFixed(1)]);
    }
    const dump = execFileSync('bash', ['-c', `stat -c %s ${old.volume}/backups/onedb-before-7.4.0-*.sql`], {
      encoding: 'utf8',
    });
    rows.push(['pre-upgrade dump on the volume, MiB', (Number(dump.trim()) / 2 ** 20).toFixed(1)]);
    rows.push(['pre-upgrade dump per VM, KiB', (Number(dump.trim()) / 1024 / VMS).toFixed(1)]);
  } finally {
    await rig.close();
  }
}, 1_800_000);
