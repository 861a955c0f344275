// The `init` role on a directory tree standing in for the container: volume layout, SSH keys, the
// database decision from `onedb version`'s exit codes (onedb itself is a stand-in: OpenNebula cannot be
// installed here), first-boot password seeding and the drivers sync.
import { execFileSync } from 'node:child_process';
import {
  chownSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configTrees, initEnv, makeRoot, removeRoot, runEntrypoint } from '../support/entrypoint.js';
import * as mariadb from '../support/mariadb.js';
import { freePort } from '../support/oci-registry.js';

const TREE = configTrees().find((t) => t.label === 'fixture 7.4')!;
let root: string;
let onedbLog: string;
let env: Record<string, string>;

function seedImageRemotes(version: string) {
  const remotes = join(root, 'usr/share/one/image/remotes');
  mkdirSync(join(remotes, 'vmm/kvm'), { recursive: true });
  writeFileSync(join(remotes, 'vmm/kvm/deploy'), `#!/bin/sh\n# drivers of ${version}\n`, { mode: 0o755 });
}

const volume = (...parts: string[]) => join(root, 'var/lib/one', ...parts);
const onedbCalls = () => (existsSync(onedbLog) ? readFileSync(onedbLog, 'utf8').trim().split('\n') : []);
const init = (extra: Record<string, string> = {}) => runEntrypoint(['init'], { ...env, ...extra });

beforeEach(() => {
  root = makeRoot(TREE);
  onedbLog = join(root, 'onedb.log');
  seedImageRemotes('7.4.0');
  env = initEnv(root);
});
afterEach(() => removeRoot(root));

describe('first boot (empty database)', () => {
  it('refuses to bootstrap without an oneadmin password', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '1' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /ONEADMIN_PASSWORD \(or ONEADMIN_PASSWORD_FILE\) is required to bootstrap .* there is no default/,
    );
    expect(existsSync(volume('.one/one_auth'))).toBe(false);
  });

  it('seeds one_auth once, and never writes the credentials oned creates itself', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '1', ONEADMIN_PASSWORD: 'first-password' });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(volume('.one/one_auth'), 'utf8')).toBe('oneadmin:first-password\n');
    expect(statSync(volume('.one/one_auth')).mode & 0o777).toBe(0o600);
    expect(statSync(volume('.one/one_auth')).uid).toBe(9869);
    for (const name of ['sunstone_auth', 'oneflow_auth', 'onegate_auth', 'oneform_auth', 'one_key']) {
      expect(existsSync(volume('.one', name)), name).toBe(false);
    }
    // A restart before oned has bootstrapped keeps the first password, whatever the environment says now.
    const again = await init({ FAKE_ONEDB_VERSION_RC: '1', ONEADMIN_PASSWORD: 'second-password' });
    expect(again.code).toBe(0);
    expect(readFileSync(volume('.one/one_auth'), 'utf8')).toBe('oneadmin:first-password\n');
  });

  it('reads the password from ONEADMIN_PASSWORD_FILE', async () => {
    writeFileSync(join(root, 'pw'), 'from-secret');
    const run = await init({ FAKE_ONEDB_VERSION_RC: '1', ONEADMIN_PASSWORD_FILE: join(root, 'pw') });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(volume('.one/one_auth'), 'utf8')).toBe('oneadmin:from-secret\n');
  });

  it('refuses an empty database beside service credentials from another installation', async () => {
    mkdirSync(volume('.one'), { recursive: true });
    writeFileSync(volume('.one/sunstone_auth'), 'serveradmin:old\n');
    const run = await init({ FAKE_ONEDB_VERSION_RC: '1', ONEADMIN_PASSWORD: 'x' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/the database is empty but .*sunstone_auth exists/);
  });
});

describe('existing database', () => {
  it('leaves a current database alone and needs no password', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '0' });
    expect(run.code, run.stderr).toBe(0);
    expect(onedbCalls()).toEqual(['onedb version']);
  });

  // A 7.0 database upgraded by a 7.2 image: oned never bootstrapped it with OneForm's credentials, and only
  // 7.4's migrator copies them; without the file OneForm waits ONE_AUTH_WAIT_TIMEOUT and restarts forever.
  it.each([
    ['0', 'current'],
    ['2', 'upgraded'],
  ])(
    'writes a missing oneform_auth and oneks_auth from the serveradmin files (database %s: %s)',
    async (rc) => {
      mkdirSync(volume('.one'), { recursive: true });
      writeFileSync(volume('.one/oneflow_auth'), 'serveradmin:the-secret\n', { mode: 0o600 });
      writeFileSync(volume('.one/sunstone_auth'), 'serveradmin:the-secret\n', { mode: 0o600 });
      writeFileSync(volume('.one/oneks_auth'), 'serveradmin:kept\n', { mode: 0o600 });
      const run = await init({ FAKE_ONEDB_VERSION_RC: rc });
      expect(run.code, run.stderr).toBe(0);
      expect(readFileSync(volume('.one/oneform_auth'), 'utf8')).toBe('serveradmin:the-secret\n');
      expect(statSync(volume('.one/oneform_auth')).mode & 0o777).toBe(0o600);
      expect(statSync(volume('.one/oneform_auth')).uid).toBe(9869);
      expect(readFileSync(volume('.one/oneks_auth'), 'utf8')).toBe('serveradmin:kept\n');
      expect(run.stderr).toMatch(/wrote .*oneform_auth from sunstone_auth/);
    },
  );

  it('upgrades an older schema with onedb upgrade and a backup on the volume', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '2' });
    expect(run.code, run.stderr).toBe(0);
    const upgrade = onedbCalls().find((call) => call.startsWith('onedb upgrade'));
    expect(upgrade).toMatch(
      /^onedb upgrade --backup .*\/var\/lib\/one\/backups\/onedb-before-7\.4\.0-\d{8}T\d{6}Z\.sql$/,
    );
    expect(existsSync(upgrade!.split(' ').at(-1)!)).toBe(true);
  });

  it('fails when the upgrade fails, naming the backup', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '2', FAKE_ONEDB_UPGRADE_RC: '1' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/onedb upgrade failed; the backup taken before it is .*onedb-before-7\.4\.0/);
  });

  it('refuses to start on a database newer than the image', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '3' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/written by a newer OpenNebula than this image's 7\.4\.0/);
  });

  it('gives up after DB_WAIT_TIMEOUT when onedb cannot reach the database', async () => {
    const started = Date.now();
    const run = await init({ FAKE_ONEDB_VERSION_RC: '255', DB_WAIT_TIMEOUT: '2' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/onedb version failed \(exit 255\) for 2s \(DB_WAIT_TIMEOUT\)/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  // Debian 12's MariaDB 10.11 has only @@tx_isolation; 11.1 added @@transaction_isolation (Debian 13's 11.8,
  // from the tools directory).
  it.each(['system', 'mariadb-11'] as const)(
    'warns when MariaDB does not run with READ-COMMITTED isolation (%s server)',
    async (server) => {
      const db = await mariadb.start({ server });
      try {
        const mysql = {
          DB_BACKEND: 'mysql',
          DB_HOST: db.host,
          DB_PORT: String(db.port),
          DB_USER: 'root',
          DB_PASSWORD: db.rootPassword,
          DB_NAME: 'opennebula',
          FAKE_ONEDB_VERSION_RC: '0',
        };
        const version = await db.sql('SELECT VERSION()');
        expect(version).toMatch(server === 'system' ? /^10\./ : /^11\.([1-9]|\d\d)/);
        const variable = server === 'system' ? 'tx_isolation' : 'transaction_isolation';
        await db.sql(`SET GLOBAL ${variable} = 'REPEATABLE-READ'`);
        const wrong = await init(mysql);
        expect(wrong.code, wrong.stderr).toBe(0);
        expect(wrong.stderr).toMatch(
          /transaction isolation REPEATABLE-READ; OpenNebula requires READ-COMMITTED/,
        );
        await db.sql(`SET GLOBAL ${variable} = 'READ-COMMITTED'`);
        const right = await init(mysql);
        expect(right.code, right.stderr).toBe(0);
        expect(right.stderr).not.toMatch(/isolation/);
      } finally {
        await db.stop();
      }
    },
    120_000,
  );

  it('waits for an unreachable MariaDB for a bounded time with a clear message', async () => {
    const port = await freePort();
    const started = Date.now();
    const run = await init({
      DB_BACKEND: 'mysql',
      DB_HOST: '127.0.0.1',
      DB_PORT: String(port),
      DB_PASSWORD: 'x',
      DB_WAIT_TIMEOUT: '2',
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      `database 127.0.0.1:${port} did not accept connections within 2s (DB_WAIT_TIMEOUT)`,
    );
    expect(Date.now() - started).toBeLessThan(15_000);
    expect(onedbCalls()).toEqual([]);
  });
});

describe('volume, SSH and drivers', () => {
  it('generates a keypair once, authorizes it, and writes the SSH client config', async () => {
    expect((await init()).code).toBe(0);
    const key = readFileSync(volume('.ssh/id_ed25519'), 'utf8');
    const pub = readFileSync(volume('.ssh/id_ed25519.pub'), 'utf8');
    expect(readFileSync(volume('.ssh/authorized_keys'), 'utf8')).toContain(
      pub.split(' ').slice(0, 2).join(' '),
    );
    const config = readFileSync(volume('.ssh/config'), 'utf8');
    expect(config).toMatch(/StrictHostKeyChecking accept-new/);
    expect(config).toMatch(/ControlPath \/run\/one\/ssh-socks\//);
    expect(statSync(volume('.ssh/id_ed25519')).mode & 0o777).toBe(0o600);
    expect(existsSync(volume('.ssh-host-keys/ssh_host_ed25519_key'))).toBe(true);

    expect((await init()).code).toBe(0);
    expect(readFileSync(volume('.ssh/id_ed25519'), 'utf8')).toBe(key);
    expect(readFileSync(volume('.ssh/authorized_keys'), 'utf8').trim().split('\n')).toHaveLength(1);
  });

  it('replaces the rotated key in authorized_keys, keeping the entries it did not write', async () => {
    const secret = join(root, 'secret');
    mkdirSync(secret);
    const keygen = (comment: string) => {
      rmSync(join(secret, 'id_ed25519'), { force: true });
      rmSync(join(secret, 'id_ed25519.pub'), { force: true });
      execFileSync('ssh-keygen', [
        '-q',
        '-t',
        'ed25519',
        '-N',
        '',
        '-C',
        comment,
        '-f',
        join(secret, 'id_ed25519'),
      ]);
      return readFileSync(join(secret, 'id_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    };
    const first = keygen('first');
    expect((await init({ ONE_SSH_KEY_DIR: secret })).code).toBe(0);
    const operator =
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOperatorsOwnKeyOperatorsOwnKeyOperatorsOwn operator';
    writeFileSync(
      volume('.ssh/authorized_keys'),
      `${readFileSync(volume('.ssh/authorized_keys'), 'utf8')}${operator}\n`,
    );
    const second = keygen('second');
    const rotated = await init({ ONE_SSH_KEY_DIR: secret });
    expect(rotated.code, rotated.stderr).toBe(0);
    const authorized = readFileSync(volume('.ssh/authorized_keys'), 'utf8');
    expect(authorized).toContain(second);
    expect(authorized).not.toContain(first);
    expect(authorized).toContain(operator);
    expect(authorized.trim().split('\n')).toHaveLength(2);
  });

  // Under `all` init runs as root on a volume oneadmin writes: links oneadmin planted there are not followed.
  it('follows no symbolic link oneadmin planted on the volume', async () => {
    const outside = join(root, 'outside');
    mkdirSync(join(outside, 'dot-one'), { recursive: true });
    const targets = { '.ssh/config': 'config', '.ssh/authorized_keys': 'authorized_keys', '.one': 'dot-one' };
    writeFileSync(join(outside, 'config'), "root's config\n", { mode: 0o600 });
    writeFileSync(join(outside, 'authorized_keys'), "root's keys\n", { mode: 0o600 });
    mkdirSync(volume('.ssh'), { recursive: true });
    for (const [link, target] of Object.entries(targets)) {
      symlinkSync(join(outside, target), volume(link));
      execFileSync('chown', ['-h', '9869:9869', volume(link)]);
    }
    const run = await init({ FAKE_ONEDB_VERSION_RC: '1', ONEADMIN_PASSWORD: 'first-password' });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(outside, 'config'), 'utf8')).toBe("root's config\n");
    expect(readFileSync(join(outside, 'authorized_keys'), 'utf8')).toBe("root's keys\n");
    expect(readdirSync(join(outside, 'dot-one'))).toEqual([]);
    for (const name of ['config', 'authorized_keys']) expect(statSync(join(outside, name)).uid).toBe(0);
    for (const link of Object.keys(targets))
      expect(lstatSync(volume(link)).isSymbolicLink(), link).toBe(false);
    expect(readFileSync(volume('.one/one_auth'), 'utf8')).toBe('oneadmin:first-password\n');
    expect(run.stderr).toMatch(/removed the symbolic link .*\.ssh\/config/);
  });

  it('sends the drivers to sshd on its own port when the front-end SSHes to itself', async () => {
    expect((await init({ HOSTNAME: 'one-0.one.ns.svc.cluster.local', SSHD_PORT: '2222' })).code).toBe(0);
    expect(readFileSync(volume('.ssh/config'), 'utf8')).toMatch(
      /^Host one-0\.one\.ns\.svc\.cluster\.local\n {2}Port 2222\nHost \*$/m,
    );
    const sshd = readFileSync(join(root, 'etc/ssh/sshd_config.d/opennebula.conf'), 'utf8');
    expect(sshd).toMatch(/^Port 2222$/m);
    expect(sshd).toMatch(/^UsePAM no$/m);
    expect(sshd).toMatch(/^AllowUsers oneadmin$/m);
    expect(sshd).toMatch(/^PasswordAuthentication no$/m);
  });

  it("sends the drivers to the pod's own sshd when HOSTNAME is an address outside the pod (FRONTEND_SSH_ADDRESS)", async () => {
    // The chart: HOSTNAME is the hypervisors' address (a load balancer, port 22 there), sshd listens on
    // 2222 in the pod; the front-end reaches its own sshd on the pod's loopback, not through the balancer.
    const run = await init({
      HOSTNAME: '203.0.113.10',
      SSHD_PORT: '2222',
      FRONTEND_SSH_ADDRESS: '127.0.0.1',
    });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(volume('.ssh/config'), 'utf8')).toMatch(
      /^Host 203\.0\.113\.10\n {2}HostName 127\.0\.0\.1\n {2}Port 2222\nHost \*$/m,
    );
    // sshd on 22 too: the address still needs its entry.
    expect((await init({ HOSTNAME: 'one.example.org', FRONTEND_SSH_ADDRESS: '127.0.0.1' })).code).toBe(0);
    expect(readFileSync(volume('.ssh/config'), 'utf8')).toMatch(
      /^Host one\.example\.org\n {2}HostName 127\.0\.0\.1\n {2}Port 22\nHost \*$/m,
    );
    const bad = await init({ HOSTNAME: 'one.example.org', FRONTEND_SSH_ADDRESS: 'not an address' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toContain('FRONTEND_SSH_ADDRESS');
  });

  it('takes the keypair from a mounted Secret, deriving the public key from a lone private key', async () => {
    const secret = join(root, 'secret');
    mkdirSync(secret);
    execFileSync('ssh-keygen', [
      '-q',
      '-t',
      'ed25519',
      '-N',
      '',
      '-C',
      'user-provided',
      '-f',
      join(secret, 'id_ed25519'),
    ]);
    const expected = readFileSync(join(secret, 'id_ed25519.pub'), 'utf8').split(' ').slice(0, 2).join(' ');
    execFileSync('rm', [join(secret, 'id_ed25519.pub')]);
    const run = await init({ ONE_SSH_KEY_DIR: secret });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(volume('.ssh/id_ed25519.pub'), 'utf8')).toContain(expected);
    expect(readFileSync(volume('.ssh/authorized_keys'), 'utf8')).toContain(expected);
  });

  it('rejects a Secret that holds no usable private key', async () => {
    const secret = join(root, 'secret');
    mkdirSync(secret);
    writeFileSync(join(secret, 'id_rsa'), 'not a key\n');
    const run = await init({ ONE_SSH_KEY_DIR: secret });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/id_rsa is not a usable SSH private key/);
  });

  it('syncs the drivers when the image version changes, and only then', async () => {
    expect((await init()).code).toBe(0);
    expect(readFileSync(volume('remotes/vmm/kvm/deploy'), 'utf8')).toContain('drivers of 7.4.0');
    expect(readFileSync(volume('.opennebula-image-version'), 'utf8')).toBe('7.4.0\n');

    writeFileSync(volume('remotes/vmm/kvm/local-hook'), 'custom\n');
    writeFileSync(volume('remotes/vmm/kvm/deploy'), 'edited on the volume\n');
    expect((await init()).code).toBe(0);
    expect(readFileSync(volume('remotes/vmm/kvm/deploy'), 'utf8')).toBe('edited on the volume\n');

    seedImageRemotes('7.4.1');
    const upgraded = await init({ ONE_VERSION: '7.4.1' });
    expect(upgraded.code, upgraded.stderr).toBe(0);
    expect(readFileSync(volume('remotes/vmm/kvm/deploy'), 'utf8')).toContain('drivers of 7.4.1');
    expect(readFileSync(volume('remotes/vmm/kvm/local-hook'), 'utf8')).toBe('custom\n');
    expect(upgraded.stderr).toMatch(/onehost sync --force/);
  });

  it('does not chown the volume recursively', async () => {
    mkdirSync(volume('datastores/0'), { recursive: true });
    writeFileSync(volume('datastores/0/disk.0'), '');
    chownSync(volume('datastores/0/disk.0'), 1234, 1234);
    expect((await init()).code).toBe(0);
    expect(statSync(volume('datastores/0/disk.0')).uid).toBe(1234);
    expect(statSync(volume()).uid).toBe(9869);
  });
});
