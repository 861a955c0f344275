// The backup CronJob's and the restore Job's scripts as the chart renders them, run with bash against a
// real MariaDB server (Debian's mariadbd): verified dumps, the credentials directory saved beside them,
// retention that never removes the newest good backup, a loud failure (no published file) when the
// database is down, and a restore that gives back exactly the backed-up database and credentials.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import * as mariadb from '../support/mariadb.js';
import { startS3, type S3Server } from '../support/seaweedfs.js';
import { REPO_ROOT, runCommand, runTool, type CommandResult } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');

type CronJob = {
  spec: {
    jobTemplate: {
      spec: { template: { spec: { containers: { command: string[]; args: string[]; env: { name: string; value?: string }[] }[] } } };
    };
  };
};

type PodSpec = { containers: { command: string[]; args: string[]; env: { name: string; value?: string }[] }[] };

function renderedScript(template = 'templates/backup.yaml', values: string[] = []): { command: string[]; env: Record<string, string> } {
  const text = runTool('helm', ['template', 'one', CHART, '--show-only', template, '--set', 'backup.enabled=true', ...values.flatMap((v) => ['--set', v])]);
  const doc = text
    .split(/^---$/m)
    .map((d) => parse(d) as { kind?: string } | null)
    .find((d) => d?.kind === 'CronJob' || d?.kind === 'Job') as unknown as CronJob & { kind?: string; spec: { template: { spec: PodSpec } } };
  const pod = doc.kind === 'CronJob' ? doc.spec.jobTemplate.spec.template.spec : doc.spec.template.spec;
  const container = pod.containers[0]!;
  return {
    command: [...container.command, ...container.args],
    env: Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!])),
  };
}

let db: mariadb.MariaDb;
let work: string;
let backups: string;
let one: string;
const script = renderedScript();

beforeAll(async () => {
  db = await mariadb.start();
  await db.sql(
    [
      'CREATE DATABASE opennebula;',
      "CREATE USER 'oneadmin'@'127.0.0.1' IDENTIFIED BY 'db-pass\"word';",
      "GRANT ALL ON opennebula.* TO 'oneadmin'@'127.0.0.1';",
      'CREATE TABLE opennebula.pool_control (tablename VARCHAR(32) PRIMARY KEY, last_oid BIGINT);',
      "INSERT INTO opennebula.pool_control VALUES ('vm_pool', 41), ('host_pool', 3);",
    ].join('\n'),
  );
}, 120_000);
afterAll(async () => {
  await db?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});
beforeEach(() => {
  if (work) rmSync(work, { recursive: true, force: true });
  work = mkdtempSync(join(tmpdir(), 'backup-'));
  backups = join(work, 'backups');
  one = join(work, 'one');
  mkdirSync(backups);
  mkdirSync(join(one, '.one'), { recursive: true });
  writeFileSync(join(one, '.one', 'one_key'), 'key-material\n');
  writeFileSync(join(one, '.one', 'sunstone_auth'), 'serveradmin:secret\n');
  // oneadmin's generated key and sshd's host keys, as init makes them: every hypervisor trusts these.
  mkdirSync(join(one, '.ssh'));
  writeFileSync(join(one, '.ssh', 'id_ed25519'), 'oneadmin-private-key\n');
  writeFileSync(join(one, '.ssh', 'authorized_keys'), 'ssh-ed25519 AAAA oneadmin\n');
  mkdirSync(join(one, '.ssh-host-keys'));
  writeFileSync(join(one, '.ssh-host-keys', 'ssh_host_ed25519_key'), 'host-private-key\n');
  writeFileSync(join(work, 'password'), 'db-pass"word');
});

/** A session of the front-end's database user that lasts `seconds` (what a running oned holds). */
function session(seconds: number) {
  return runCommand('mariadb', ['-h', '127.0.0.1', '-P', String(db.port), '-u', 'oneadmin', '-e', `SELECT SLEEP(${seconds})`], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MYSQL_PWD: 'db-pass"word' },
  });
}

function backup(overrides: Record<string, string> = {}, rendered = script): Promise<CommandResult> {
  const env = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    ...rendered.env,
    DB_HOST: '127.0.0.1',
    DB_PORT: String(db.port),
    DB_PASSWORD_FILE: join(work, 'password'),
    BACKUP_DIR: backups,
    ONE_DIR: one,
    BACKUP_RETENTION: '3',
    ...overrides,
  };
  return runCommand(rendered.command[0]!, rendered.command.slice(1), { env });
}

const files = () => readdirSync(backups).sort();

describe('backup script', () => {
  it('renders with pipefail, reading every path from its environment', () => {
    expect(script.command.slice(0, 2)).toEqual(['/bin/bash', '-c']);
    expect(script.command[2]).toMatch(/set -Eeuo pipefail/);
    expect(script.env).toMatchObject({ DB_NAME: 'opennebula', DB_USER: 'oneadmin', BACKUP_DIR: '/backups' });
  });

  it('writes a verified dump that restores, and the credentials directory', async () => {
    const run = await backup();
    expect(run.code, run.stderr).toBe(0);
    const [credentials, dump] = files();
    expect(dump).toMatch(/^opennebula-\d{8}T\d{6}Z\.sql\.gz$/);
    expect(credentials).toBe(dump!.replace('.sql.gz', '.one.tar.gz'));
    expect(statSync(join(backups, dump!)).mode & 0o077).toBe(0);
    const listing = runTool('tar', ['-tzf', join(backups, credentials!)]);
    expect(listing).toMatch(/\.one\/one_key/);
    expect(listing).toMatch(/\.one\/sunstone_auth/);
    expect(listing).toMatch(/\.ssh\/id_ed25519/);
    expect(listing).toMatch(/\.ssh-host-keys\/ssh_host_ed25519_key/);
    // The dump restores into an empty database with the same rows.
    await db.sql('CREATE DATABASE restored;');
    await db.sql(gunzipSync(readFileSync(join(backups, dump!))).toString(), { database: 'restored' });
    expect(await db.sql('SELECT tablename, last_oid FROM restored.pool_control ORDER BY tablename')).toBe('host_pool\t3\nvm_pool\t41\n');
    await db.sql('DROP DATABASE restored;');
  });

  it('fails loudly, publishes nothing and keeps every backup when the database is down', async () => {
    writeFileSync(join(backups, 'opennebula-20250101T000000Z.sql.gz'), 'an older good dump');
    const down = await mariadb.start();
    const port = down.port;
    await down.stop();
    const run = await backup({ DB_PORT: String(port), BACKUP_RETENTION: '1' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/backup FAILED: mariadb-dump of opennebula on 127\.0\.0\.1:\d+ failed: .*Can't connect/);
    expect(files()).toEqual(['opennebula-20250101T000000Z.sql.gz']);
  }, 60_000);

  it('fails on a wrong password without publishing a dump', async () => {
    writeFileSync(join(work, 'password'), 'not-the-password');
    const run = await backup();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Access denied for user 'oneadmin'/);
    expect(files()).toEqual([]);
  });

  it('refuses a database without tables and a front-end volume without one_key, publishing nothing', async () => {
    await db.sql("CREATE DATABASE empty_db; GRANT ALL ON empty_db.* TO 'oneadmin'@'127.0.0.1';");
    const empty = await backup({ DB_NAME: 'empty_db' });
    expect(empty.code).not.toBe(0);
    expect(empty.stderr).toMatch(/holds no table/);
    // Checked after each run: a later run in the same second would remove what an earlier one left.
    expect(files()).toEqual([]);
    rmSync(join(one, '.one', 'one_key'));
    const keyless = await backup();
    expect(keyless.code).not.toBe(0);
    expect(keyless.stderr).toMatch(/one_key is missing/);
    // Neither half of an incomplete backup is published: a lone dump would count towards retention.
    expect(files()).toEqual([]);
  });

  it('keeps the newest BACKUP_RETENTION backups and removes leftovers of interrupted runs', async () => {
    for (const stamp of ['20250101T000000Z', '20250102T000000Z', '20250103T000000Z']) {
      writeFileSync(join(backups, `opennebula-${stamp}.sql.gz`), 'old');
      writeFileSync(join(backups, `opennebula-${stamp}.one.tar.gz`), 'old');
    }
    writeFileSync(join(backups, 'opennebula-20250104T000000Z.sql.gz.part'), 'interrupted');
    const run = await backup({ BACKUP_RETENTION: '2' });
    expect(run.code, run.stderr).toBe(0);
    const left = files();
    expect(left.filter((f) => f.startsWith('opennebula-2025'))).toEqual([
      'opennebula-20250103T000000Z.one.tar.gz',
      'opennebula-20250103T000000Z.sql.gz',
    ]);
    expect(left).toHaveLength(4);
    expect(left.some((f) => f.endsWith('.part'))).toBe(false);
  });

  it('rejects a retention below 1 before dumping anything', async () => {
    const run = await backup({ BACKUP_RETENTION: '0' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/BACKUP_RETENTION must be a whole number of at least 1, got '0'/);
    expect(files()).toEqual([]);
  });

  it('refuses a missing backup directory (the claim is not mounted)', async () => {
    const run = await backup({ BACKUP_DIR: join(work, 'not-mounted') });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/the backup directory .*not-mounted is missing or not writable/);
  });
});

describe('restore script', () => {
  const restoreScript = () => renderedScript('templates/restore.yaml', ['restore.enabled=true', 'restore.backup=opennebula-20250101T000000Z']);
  // No Kubernetes API here: the wait for the front-end's pods is tested on the API-server rig (test/cluster/restore.test.ts).
  const restore = (name: string, overrides: Record<string, string> = {}) => backup({ RESTORE_BACKUP: name, FRONTEND_SELECTOR: '', ...overrides }, restoreScript());
  const rows = () => db.sql('SELECT tablename, last_oid FROM opennebula.pool_control ORDER BY tablename');

  it('renders the chosen backup, with pipefail', () => {
    const rendered = restoreScript();
    expect(rendered.command[2]).toMatch(/set -Eeuo pipefail/);
    expect(rendered.env).toMatchObject({ RESTORE_BACKUP: 'opennebula-20250101T000000Z', ONE_DIR: '/var/lib/one' });
  });

  it('gives back the backed-up database (tables added since dropped) and credentials', async () => {
    const before = await rows();
    expect((await backup()).code).toBe(0);
    const name = files()[1]!.replace('.sql.gz', '');
    // What an upgrade or an accident does afterwards.
    await db.sql("UPDATE opennebula.pool_control SET last_oid = 99; CREATE TABLE opennebula.newer_schema (x INT);");
    writeFileSync(join(one, '.one', 'one_key'), 'rotated\n');
    // A new volume: init generated other keys, which no hypervisor knows.
    writeFileSync(join(one, '.ssh', 'id_ed25519'), 'new-key\n');
    rmSync(join(one, '.ssh-host-keys'), { recursive: true });
    const run = await restore(name);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/set restore.enabled=false/);
    expect(await rows()).toBe(before);
    expect(await db.sql("SHOW TABLES FROM opennebula LIKE 'newer_schema'")).toBe('');
    expect(readFileSync(join(one, '.one', 'one_key'), 'utf8')).toBe('key-material\n');
    expect(readFileSync(join(one, '.ssh', 'id_ed25519'), 'utf8')).toBe('oneadmin-private-key\n');
    expect(readFileSync(join(one, '.ssh-host-keys', 'ssh_host_ed25519_key'), 'utf8')).toBe('host-private-key\n');
  });

  it("waits until the front-end's database user has no session left, then restores", async () => {
    expect((await backup()).code).toBe(0);
    const name = files()[1]!.replace('.sql.gz', '');
    const oned = session(4);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const started = Date.now();
    const run = await restore(name, { RESTORE_WAIT_SECONDS: '60' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/waiting for 1 session\(s\) of oneadmin on opennebula to end/);
    expect(Date.now() - started).toBeGreaterThan(2500);
    expect((await oned).code).toBe(0);
  }, 60_000);

  it("refuses to restore while the front-end's user keeps a session, changing nothing, and can be re-run with the same backup", async () => {
    expect((await backup()).code).toBe(0);
    const name = files()[1]!.replace('.sql.gz', '');
    await db.sql('UPDATE opennebula.pool_control SET last_oid = 77');
    const changed = await rows();
    writeFileSync(join(one, '.one', 'one_key'), 'current\n');
    const oned = session(8);
    await new Promise((resolve) => setTimeout(resolve, 500));
    const refused = await restore(name, { RESTORE_WAIT_SECONDS: '2' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/restore FAILED: oneadmin still has 1 session\(s\) on 127\.0\.0\.1:\d+ after 2 s: is the front-end still running\?/);
    expect(await rows()).toBe(changed);
    expect(readFileSync(join(one, '.one', 'one_key'), 'utf8')).toBe('current\n');
    await oned;
    // Leftovers of an interrupted run do not stop the next one.
    mkdirSync(join(one, '.one.restoring'));
    mkdirSync(join(one, '.ssh.restoring'));
    const again = await restore(name, { RESTORE_WAIT_SECONDS: '2' });
    expect(again.code, again.stderr).toBe(0);
    expect(await rows()).not.toBe(changed);
    expect(readFileSync(join(one, '.one', 'one_key'), 'utf8')).toBe('key-material\n');
    expect(readdirSync(one).filter((f) => f.endsWith('.restoring'))).toEqual([]);
  }, 60_000);

  it('changes nothing when the backup is incomplete or missing, and names it', async () => {
    const before = await rows();
    writeFileSync(join(one, '.one', 'one_key'), 'current\n');
    const truncated = 'opennebula-20250101T000000Z';
    // What a dump cut off by a full volume looks like.
    writeFileSync(join(backups, `${truncated}.sql.gz`), gzipSync('-- MariaDB dump\n'.repeat(500)).subarray(0, 30));
    const broken = await restore(truncated);
    expect(broken.code).not.toBe(0);
    expect(broken.stderr).toMatch(/restore FAILED: .*opennebula-20250101T000000Z\.sql\.gz is not a complete gzip file/);
    const missing = await restore('opennebula-20250102T000000Z');
    expect(missing.stderr).toMatch(/restore FAILED: there is no .*opennebula-20250102T000000Z\.sql\.gz/);
    const bad = await restore('../etc/passwd');
    expect(bad.stderr).toMatch(/RESTORE_BACKUP must name a backup as opennebula-<YYYYMMDDTHHMMSSZ> or onedb-before-<version>-<YYYYMMDDTHHMMSSZ>, got '\.\.\/etc\/passwd'/);
    expect(await rows()).toBe(before);
    expect(readFileSync(join(one, '.one', 'one_key'), 'utf8')).toBe('current\n');
  });

  it('checks a dump as the backup does: a large one passes, one without a table or trailer is refused', async () => {
    // A dump far larger than a pipe's buffer: a check that stops reading early must not fail it.
    const large = 'opennebula-20250103T000000Z';
    const padding = '-- padding line for a dump larger than a pipe buffer\n'.repeat(200_000);
    const body = `CREATE TABLE opennebula.big (x INT);\n${padding}-- Dump completed on 2025-01-03  0:00:00\n`;
    writeFileSync(join(backups, `${large}.sql.gz`), gzipSync(body));
    const ok = await restore(large, { ONE_DIR: '' });
    expect(ok.code, ok.stderr).toBe(0);
    expect((await db.sql("SHOW TABLES FROM opennebula LIKE 'big'")).trim()).toBe('big');
    const tableless = 'opennebula-20250104T000000Z';
    writeFileSync(join(backups, `${tableless}.sql.gz`), gzipSync('-- MariaDB dump\n-- Dump completed on 2025-01-04\n'));
    const refused = await restore(tableless, { ONE_DIR: '' });
    expect(refused.code).not.toBe(0);
    expect(refused.stderr).toMatch(/restore FAILED: .*opennebula-20250104T000000Z\.sql\.gz holds no table/);
    const untrailed = 'opennebula-20250105T000000Z';
    writeFileSync(join(backups, `${untrailed}.sql.gz`), gzipSync('CREATE TABLE opennebula.t (x INT);\n'));
    const cut = await restore(untrailed, { ONE_DIR: '' });
    expect(cut.stderr).toMatch(/restore FAILED: .*opennebula-20250105T000000Z\.sql\.gz has no completion trailer/);
  }, 120_000);

  it("gives back the database from the dump init took before a schema upgrade, on the front-end's volume (a rollback)", async () => {
    // The database as OpenNebula left it (an earlier test restored a dump without this table).
    await db.sql(
      "CREATE TABLE IF NOT EXISTS opennebula.pool_control (tablename VARCHAR(32) PRIMARY KEY, last_oid BIGINT); DELETE FROM opennebula.pool_control; INSERT INTO opennebula.pool_control VALUES ('vm_pool', 41), ('host_pool', 3);",
    );
    const before = await rows();
    // As init takes it (docker/rootfs/usr/local/lib/opennebula-container/init.sh, backup_database).
    const name = 'onedb-before-7.4.0-20261101T031700Z';
    mkdirSync(join(one, 'backups'));
    const dumped = await runCommand(
      'bash',
      ['-c', `mariadb-dump -h 127.0.0.1 -P ${db.port} -u oneadmin --single-transaction --routines opennebula >"$1"`, 'dump', join(one, 'backups', `${name}.sql`)],
      { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', MYSQL_PWD: 'db-pass"word' } },
    );
    expect(dumped.code, dumped.stderr).toBe(0);
    // What the upgrade did: new tables, changed rows; the credentials are the front-end's current ones.
    await db.sql('UPDATE opennebula.pool_control SET last_oid = 99; CREATE TABLE opennebula.newer_schema (x INT);');
    writeFileSync(join(one, '.one', 'one_key'), 'current\n');
    // The backup claim is not needed (no backups CronJob): BACKUP_DIR is not even there.
    const run = await restore(name, { BACKUP_DIR: join(work, 'no-backup-claim') });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(/credentials .*left as they are/);
    expect(await rows()).toBe(before);
    expect(await db.sql("SHOW TABLES FROM opennebula LIKE 'newer_schema'")).toBe('');
    expect(readFileSync(join(one, '.one', 'one_key'), 'utf8')).toBe('current\n');
    // A dump that names its database (older images dumped with --databases) restores only into that one:
    // loaded into another, its USE would put every table back into the first and leave this one empty.
    await db.sql("CREATE DATABASE other_db; GRANT ALL ON other_db.* TO 'oneadmin'@'127.0.0.1'; CREATE TABLE other_db.keep (x INT);");
    const named = `${name.slice(0, -'20261101T031700Z'.length)}20261101T031701Z`;
    writeFileSync(join(one, 'backups', `${named}.sql`), `-- MariaDB dump\nCREATE DATABASE IF NOT EXISTS \`opennebula\`;\nUSE \`opennebula\`;\nCREATE TABLE t (x INT);\n-- Dump completed on 2026-11-01\n`);
    const elsewhere = await restore(named, { DB_NAME: 'other_db' });
    expect(elsewhere.code).not.toBe(0);
    expect(elsewhere.stderr).toMatch(/restore FAILED: .*is a dump of database opennebula, not of other_db/);
    expect(await db.sql("SHOW TABLES FROM other_db LIKE 'keep'")).toBe('keep\n');
    // Without the front-end's volume there is no such dump to restore.
    const novolume = await restore(name, { ONE_DIR: '' });
    expect(novolume.code).not.toBe(0);
    expect(novolume.stderr).toMatch(/restore FAILED: onedb-before-7\.4\.0-20261101T031700Z is a dump init kept on the front-end's volume/);
  }, 60_000);

  it('fails loudly when the database is down, before touching the credentials', async () => {
    expect((await backup()).code).toBe(0);
    const name = files()[1]!.replace('.sql.gz', '');
    writeFileSync(join(one, '.one', 'one_key'), 'current\n');
    const down = await mariadb.start();
    const port = down.port;
    await down.stop();
    const run = await restore(name, { DB_PORT: String(port) });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/restore FAILED: cannot reach database opennebula on 127\.0\.0\.1:\d+/);
    expect(readFileSync(join(one, '.one', 'one_key'), 'utf8')).toBe('current\n');
  }, 60_000);
});

describe("pruning init's pre-upgrade dumps", () => {
  type Pod = { spec: { template: { spec: { initContainers: { name: string; command: string[]; args: string[]; env: { name: string; value: string }[] }[] } } } };
  const rendered = (values: string[]) => {
    const text = runTool('helm', ['template', 'one', CHART, '--show-only', 'templates/statefulset.yaml', ...values.flatMap((v) => ['--set', v])]);
    return (parse(text) as Pod).spec.template.spec.initContainers.find((c) => c.name === 'prune-upgrade-dumps');
  };

  it('keeps the newest database.upgradeDumpRetention dumps by their time stamp, whatever their version', async () => {
    const container = rendered(['database.upgradeDumpRetention=2'])!;
    const dir = join(work, 'one', 'backups');
    mkdirSync(dir);
    for (const name of ['onedb-before-7.2.0-20260101T000000Z.sql', 'onedb-before-7.4.0-20260301T000000Z.sql', 'onedb-before-7.10.0-20260201T000000Z.sql', 'onedb-before-7.4.1-20260401T000000Z.sql', 'unrelated.sql']) {
      writeFileSync(join(dir, name), '-- dump');
    }
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', ...Object.fromEntries(container.env.map((e) => [e.name, e.value])), DUMPS_DIR: dir };
    const run = await runCommand(container.command[0]!, [...container.command.slice(1), ...container.args], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(readdirSync(dir).sort()).toEqual(['onedb-before-7.4.0-20260301T000000Z.sql', 'onedb-before-7.4.1-20260401T000000Z.sql', 'unrelated.sql']);
    // Nothing to do without the directory (a first start).
    const none = await runCommand(container.command[0]!, [...container.command.slice(1), ...container.args], { env: { ...env, DUMPS_DIR: join(work, 'absent') } });
    expect(none.code, none.stderr).toBe(0);
  });

  it('keeps every dump with 0, and has nothing to prune without a volume', () => {
    expect(rendered(['database.upgradeDumpRetention=0'])).toBeUndefined();
    expect(rendered(['persistence.enabled=false'])).toBeUndefined();
  });
});

describe('off-cluster copies (backup.s3), against a real S3-compatible server (SeaweedFS)', () => {
  const s3Values = ['backup.s3.enabled=true', 'backup.s3.endpoint=http://s3.example.org', 'backup.s3.bucket=backups', 'backup.s3.existingSecret=s3', 'backup.s3.prefix=one/prod/'];
  let s3: S3Server;
  let s3Backup: ReturnType<typeof renderedScript>;
  let s3Restore: ReturnType<typeof renderedScript>;
  const s3Env = (secret = s3.secretKey) => {
    writeFileSync(join(work, 'access-key-id'), s3.accessKey);
    writeFileSync(join(work, 'secret-access-key'), secret);
    return { S3_ENDPOINT: s3.endpoint, S3_ACCESS_KEY_ID_FILE: join(work, 'access-key-id'), S3_SECRET_ACCESS_KEY_FILE: join(work, 'secret-access-key') };
  };
  beforeAll(async () => {
    s3 = await startS3('backups');
    s3Backup = renderedScript('templates/backup.yaml', s3Values);
    s3Restore = renderedScript('templates/restore.yaml', [...s3Values, 'restore.enabled=true', 'restore.backup=opennebula-20250101T031700Z']);
  }, 180_000);
  afterAll(async () => {
    await s3?.stop();
  });

  it('copies each verified backup under the prefix, byte for byte, and signs with the Secret’s key', async () => {
    expect(s3Backup.env).toMatchObject({ S3_BUCKET: 'backups', S3_PREFIX: 'one/prod/', S3_REGION: 'us-east-1', S3_ACCESS_KEY_ID_FILE: '/run/secrets/opennebula-s3/access-key-id' });
    const run = await backup(s3Env(), s3Backup);
    expect(run.code, run.stderr).toBe(0);
    const [credentials, dump] = files();
    expect(run.stdout).toMatch(new RegExp(`copied .*${dump} to s3://backups/one/prod/${dump}`));
    expect(await s3.object(`one/prod/${dump}`)).toEqual(readFileSync(join(backups, dump!)));
    expect(await s3.object(`one/prod/${credentials}`)).toEqual(readFileSync(join(backups, credentials!)));
  }, 60_000);

  it("keeps backup.retention backups in the bucket too, leaving other objects alone", async () => {
    for (const stamp of ['20240101T000000Z', '20240102T000000Z', '20240103T000000Z']) {
      await s3.put(`one/prod/opennebula-${stamp}.sql.gz`, 'old');
      await s3.put(`one/prod/opennebula-${stamp}.one.tar.gz`, 'old');
    }
    await s3.put('one/prod/README', 'not a backup');
    await s3.put('one/other/opennebula-20240101T000000Z.sql.gz', 'another prefix');
    const stampsOf = (keys: string[]) => [...new Set(keys.flatMap((k) => /^one\/prod\/opennebula-(\d{8}T\d{6}Z)\./.exec(k)?.[1] ?? []))];
    // The first test's backup is there too, unless it ran in this run's second (then this run replaces it).
    const before = stampsOf(await s3.keys());
    const run = await backup({ ...s3Env(), BACKUP_RETENTION: '2' }, s3Backup);
    expect(run.code, run.stderr).toBe(0);
    const kept = (await s3.keys()).filter((k) => k.startsWith('one/'));
    const ours = /opennebula-(\d{8}T\d{6}Z)/.exec(files().find((f) => f.endsWith('.sql.gz'))!)![1]!;
    // The two newest stamps, this run's among them; the older ones are gone, with both of their files.
    const newest = [...new Set([...before, ours])].sort().slice(-2);
    expect(stampsOf(kept).sort()).toEqual(newest);
    expect(newest).toContain(ours);
    expect(kept.filter((k) => k.startsWith('one/prod/opennebula-'))).toHaveLength(4);
    expect(kept).toEqual(expect.arrayContaining(['one/other/opennebula-20240101T000000Z.sql.gz', 'one/prod/README']));
  }, 60_000);

  it('fails, naming the request and the server’s refusal, when the key is wrong; the backup stays in the claim', async () => {
    const run = await backup(s3Env('not-the-secret'), s3Backup);
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/S3: uploading .* to s3:\/\/backups\/one\/prod\/opennebula-\d{8}T\d{6}Z\.one\.tar\.gz: HTTP 403 .*SignatureDoesNotMatch/);
    expect(run.stderr).toMatch(/backup FAILED: copying .* to s3:\/\/backups failed \(it is kept in/);
    expect(files().filter((f) => f.endsWith('.sql.gz'))).toHaveLength(1);
  }, 60_000);

  it('restores a backup the claim lost from the bucket (the cluster’s storage gone)', async () => {
    const before = await db.sql('SELECT tablename, last_oid FROM opennebula.pool_control ORDER BY tablename');
    expect((await backup(s3Env(), s3Backup)).code).toBe(0);
    const name = files()[1]!.replace('.sql.gz', '');
    for (const file of files()) rmSync(join(backups, file));
    await db.sql('UPDATE opennebula.pool_control SET last_oid = 5');
    writeFileSync(join(one, '.one', 'one_key'), 'lost\n');
    const run = await backup({ ...s3Env(), RESTORE_BACKUP: name, FRONTEND_SELECTOR: '' }, s3Restore);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toMatch(new RegExp(`downloaded s3://backups/one/prod/${name}\\.sql\\.gz`));
    expect(files()).toEqual([`${name}.one.tar.gz`, `${name}.sql.gz`]);
    expect(await db.sql('SELECT tablename, last_oid FROM opennebula.pool_control ORDER BY tablename')).toBe(before);
    expect(readFileSync(join(one, '.one', 'one_key'), 'utf8')).toBe('key-material\n');
    const missing = await backup({ ...s3Env(), RESTORE_BACKUP: 'opennebula-20200101T000000Z', FRONTEND_SELECTOR: '' }, s3Restore);
    expect(missing.code).not.toBe(0);
    expect(missing.stderr).toMatch(/S3: downloading s3:\/\/backups\/one\/prod\/opennebula-20200101T000000Z\.one\.tar\.gz: HTTP 404/);
    expect(files()).toEqual([`${name}.one.tar.gz`, `${name}.sql.gz`]);
  }, 60_000);
});
