// Image contracts the chart relies on, and the defects of issue #14 that a directory tree can show
// (onedb is the stand-in of test/support/entrypoint.ts here; oned.test.ts runs the real one).
import { createHash } from 'node:crypto';
import {
  chownSync,
  cpSync,
  existsSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configTrees, initEnv, makeRoot, removeRoot, runEntrypoint } from '../support/entrypoint.js';

const TREE = configTrees().find((t) => t.label === 'fixture 7.4')!;
let root: string;
let env: Record<string, string>;
const volume = (...parts: string[]) => join(root, 'var/lib/one', ...parts);
const init = (extra: Record<string, string> = {}) => runEntrypoint(['init'], { ...env, ...extra });

function imageRemotes(version: string, kvmrc = 'LIBVIRT_URI=qemu:///system\n') {
  const remotes = join(root, 'usr/share/one/image/remotes');
  mkdirSync(join(remotes, 'vmm/kvm'), { recursive: true });
  mkdirSync(join(remotes, 'etc/vmm/kvm'), { recursive: true });
  writeFileSync(join(remotes, 'vmm/kvm/deploy'), `#!/bin/sh\n# drivers of ${version}\n`, { mode: 0o755 });
  writeFileSync(join(remotes, 'etc/vmm/kvm/kvmrc'), kvmrc);
}

beforeEach(() => {
  root = makeRoot(TREE);
  imageRemotes('7.4.0');
  env = initEnv(root);
});
afterEach(() => removeRoot(root));

describe('GUACD_BIND', () => {
  it('makes guacd listen on 127.0.0.1 by default, whatever the packaged OPTS say', async () => {
    const run = await runEntrypoint(['command', 'guacd'], { ONE_ROOT: root, ONE_VERSION: '7.4.0' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe('/usr/share/one/guacd/sbin/guacd -f -b 127.0.0.1');
  });

  it('takes another address, and refuses what is not one', async () => {
    const run = await runEntrypoint(['command', 'guacd'], { ONE_ROOT: root, GUACD_BIND: '0.0.0.0' });
    expect(run.stdout.trim()).toBe('/usr/share/one/guacd/sbin/guacd -f -b 0.0.0.0');
    const bad = await runEntrypoint(['command', 'guacd'], { ONE_ROOT: root, GUACD_BIND: 'a b' });
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/GUACD_BIND: "a b" is not a host name or IP address/);
  });
});

describe('/etc/one/guacd', () => {
  // guacd runs as root under supervisord (the all role); /etc/one/guacd is the operator's: it is read, never run.
  it('takes OPTS from the file without running anything in it', async () => {
    const planted = join(root, 'planted');
    writeFileSync(
      join(root, 'etc/one/guacd'),
      `touch ${planted}\nOPTS="-L debug -b 0.0.0.0 $(touch ${planted}) /*"\n\`touch ${planted}\`\n`,
    );
    const run = await runEntrypoint(['command', 'guacd'], { ONE_ROOT: root, ONE_VERSION: '7.4.0' });
    expect(run.code, run.stderr).toBe(0);
    expect(existsSync(planted)).toBe(false);
    expect(run.stdout.trim()).toBe(
      `/usr/share/one/guacd/sbin/guacd -f -L debug $(touch ${planted}) /* -b 127.0.0.1`,
    );
    writeFileSync(join(root, 'etc/one/guacd'), "# the packaged file\nexport OPTS='-L info'\n");
    const quoted = await runEntrypoint(['command', 'guacd'], { ONE_ROOT: root, ONE_VERSION: '7.4.0' });
    expect(quoted.stdout.trim()).toBe('/usr/share/one/guacd/sbin/guacd -f -L info -b 127.0.0.1');
  });
});

describe('ONEDB_AUTO_UPGRADE', () => {
  it('upgrades by default, naming the backup and how to roll back', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '2' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/backup: \/?.*onedb-before-7\.4\.0-\d{8}T\d{6}Z\.sql/);
    expect(run.stderr).toMatch(
      /to roll back: restore .*onedb-before-7\.4\.0-.*\.sql.* then roll back the image/,
    );
  });

  it('refuses an older schema when false, with the exact procedure, and upgrades nothing', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '2', ONEDB_AUTO_UPGRADE: 'false' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /database schema is older than OpenNebula 7\.4\.0 and ONEDB_AUTO_UPGRADE=false/,
    );
    // Named as the chart's restore mode takes it (restore.backup=onedb-before-<version>-<time>).
    expect(run.stderr).toMatch(
      /onedb backup \S*\/var\/lib\/one\/backups\/onedb-before-7\.4\.0-\d{8}T\d{6}Z\.sql, then onedb upgrade/,
    );
    const calls = readFileSync(env.FAKE_ONEDB_LOG!, 'utf8');
    expect(calls).not.toMatch(/upgrade/);
  });

  it('refuses a value that is not true or false', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '0', ONEDB_AUTO_UPGRADE: 'yes' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/ONEDB_AUTO_UPGRADE: "yes" is not true or false/);
  });

  it('refuses a database newer than the image with the restore instructions', async () => {
    const run = await init({ FAKE_ONEDB_VERSION_RC: '3' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/newer OpenNebula than this image's 7\.4\.0/);
    expect(run.stderr).toMatch(
      /restore the backup taken before the upgrade with onedb restore --force .*onedb-before-/,
    );
  });
});

describe('/etc/one seeded from the pristine copy', () => {
  it('copies the packaged files into an empty /etc/one, then configures them', async () => {
    const pristine = join(root, 'usr/share/opennebula-container/etc-one');
    mkdirSync(join(root, 'usr/share/opennebula-container'), { recursive: true });
    cpSync(TREE.etc, pristine, { recursive: true });
    rmSync(join(root, 'etc/one'), { recursive: true });
    mkdirSync(join(root, 'etc/one'));
    const run = await runEntrypoint(['configure', '--root', root], { ONE_VERSION: '7.4.0' });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stderr).toMatch(/seeded .*\/etc\/one from .*\/usr\/share\/opennebula-container\/etc-one/);
    expect(readFileSync(join(root, 'etc/one/oned.conf'), 'utf8')).toMatch(/SYSTEM {6}= "file"/);
    // The pristine copy itself is never edited.
    expect(readFileSync(join(pristine, 'oned.conf'), 'utf8')).toBe(
      readFileSync(join(TREE.etc, 'oned.conf'), 'utf8'),
    );
  });
});

describe('packaged secrets', () => {
  // The postinst makes a new password and key at every install, so an image's build cannot know the ones a
  // volume filled from another build holds: the image deletes them at build time and compares nothing.
  it('init keeps no list of packaged secrets to refuse (one that can never match)', async () => {
    mkdirSync(join(root, 'usr/share/opennebula-container'), { recursive: true });
    const packaged = 'oneadmin:packaged-password\n';
    writeFileSync(
      join(root, 'usr/share/opennebula-container/packaged-secrets.sha256'),
      `${createHash('sha256').update(packaged).digest('hex')}  /var/lib/one/.one/one_auth\n`,
    );
    mkdirSync(volume('.one'), { recursive: true });
    writeFileSync(volume('.one/one_auth'), packaged, { mode: 0o600 });
    const run = await init({ FAKE_ONEDB_VERSION_RC: '1', ONEADMIN_PASSWORD: 'mine' });
    expect(run.code, run.stderr).toBe(0);
  });
});

describe('TPROXY edits the packaged OpenNebulaNetwork.conf on the volume', () => {
  it('writes the section into remotes/etc/vnm after the drivers are synced', async () => {
    const vnm = join(root, 'usr/share/one/image/remotes/etc/vnm');
    mkdirSync(vnm, { recursive: true });
    writeFileSync(
      join(vnm, 'OpenNebulaNetwork.conf'),
      readFileSync(join(TREE.etc, 'OpenNebulaNetwork.conf')),
    );
    const run = await init({ TPROXY_REMOTE_ADDR: '192.0.2.10' });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(volume('remotes/etc/vnm/OpenNebulaNetwork.conf'), 'utf8')).toMatch(
      /^:tproxy:\n- :service_port: 5030\n {2}:remote_addr: 192\.0\.2\.10\n/m,
    );
    expect(existsSync(join(root, 'etc/one/OpenNebulaNetwork.conf.tproxy'))).toBe(false);
  });
});

describe('sync_remotes on an upgrade', () => {
  it('keeps operator-modified config files, installs the new ones beside them, and fixes ownership', async () => {
    expect((await init()).code).toBe(0);
    writeFileSync(volume('remotes/etc/vmm/kvm/kvmrc'), 'LIBVIRT_URI=qemu+ssh://custom\n');
    imageRemotes('7.4.1', 'LIBVIRT_URI=qemu:///system\nNEW_SETTING=1\n');
    writeFileSync(join(root, 'usr/share/one/image/remotes/vmm/kvm/new-action'), '#!/bin/sh\n', {
      mode: 0o755,
    });
    const run = await init({ ONE_VERSION: '7.4.1' });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(volume('remotes/etc/vmm/kvm/kvmrc'), 'utf8')).toBe('LIBVIRT_URI=qemu+ssh://custom\n');
    expect(readFileSync(volume('remotes/etc/vmm/kvm/kvmrc.new'), 'utf8')).toContain('NEW_SETTING=1');
    // Both changed the first line: a conflict, listed.
    expect(run.stderr).toMatch(
      /conflict with OpenNebula 7\.4\.1's in: etc\/vmm\/kvm\/kvmrc \(merge kvmrc\.new by hand\)/,
    );
    expect(readFileSync(volume('remotes/vmm/kvm/deploy'), 'utf8')).toContain('drivers of 7.4.1');
    expect(statSync(volume('remotes/vmm/kvm/new-action')).uid).toBe(9869);
  });

  it('updates config files the operator did not modify', async () => {
    expect((await init()).code).toBe(0);
    imageRemotes('7.4.1', 'LIBVIRT_URI=qemu:///system\nNEW_SETTING=1\n');
    expect((await init({ ONE_VERSION: '7.4.1' })).code).toBe(0);
    expect(readFileSync(volume('remotes/etc/vmm/kvm/kvmrc'), 'utf8')).toContain('NEW_SETTING=1');
    expect(existsSync(volume('remotes/etc/vmm/kvm/kvmrc.new'))).toBe(false);
  });
});

describe('atomic configuration writes', () => {
  it('replaces oned.conf by rename (a reader never sees a half-written file), root-owned and group-readable as packaged', async () => {
    const file = join(root, 'etc/one/oned.conf');
    chownSync(file, 9869, 9869);
    const original = readFileSync(file, 'utf8');
    // A second name for the original inode: an in-place write would change what it shows.
    linkSync(file, join(root, 'oned.conf.reader'));
    const run = await runEntrypoint(['configure', '--root', root], { ONE_VERSION: '7.4.0' });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(root, 'oned.conf.reader'), 'utf8')).toBe(original);
    expect(readFileSync(file, 'utf8')).not.toBe(original);
    const after = statSync(file);
    // Run as root (docker run): root's, group oneadmin, as OpenNebula's packages install it.
    expect([after.uid, after.gid]).toEqual([0, 9869]);
    expect(after.mode & 0o777).toBe(0o640);
  });
});

describe('log files of the daemons that only log to files', () => {
  it('are regular files the role streams, not links to /dev/stdout a daemon dropped to oneadmin cannot reopen', async () => {
    mkdirSync(volume('.one'), { recursive: true });
    writeFileSync(volume('.one/oneflow_auth'), 'serveradmin:x\n');
    const run = await runEntrypoint(['oneflow'], {
      ONE_ROOT: root,
      ONE_VERSION: '7.4.0',
      ONE_AUTH_WAIT_TIMEOUT: '2',
    });
    expect(run.stderr).toContain('starting oneflow');
    const log = lstatSync(join(root, 'var/log/one/oneflow.log'));
    expect(log.isFile()).toBe(true);
  });
});
