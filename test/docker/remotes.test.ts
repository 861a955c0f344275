// init's sync of the drivers into the volume (/var/lib/one/remotes): the image's drivers replace the
// volume's when their content changes (not only the version), and the operator's changes to remotes/etc
// are carried onto the new files by a three-way merge against the pristine copy of the previous image.
import { execFileSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
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

// A kvmrc in the shape of OpenNebula's: comment blocks between the settings.
const KVMRC = (settings: Record<string, string>) =>
  Object.entries(settings)
    .map(([key, value]) => `# ${key}: the setting's documentation\n# continues here\n${key}=${value}\n`)
    .join('\n');
const PACKAGED = { LIBVIRT_URI: 'qemu:///system', QEMU_PROTOCOL: 'qemu+ssh', SHUTDOWN_TIMEOUT: '180' };

function imageRemotes(deploy: string, kvmrc: string) {
  const remotes = join(root, 'usr/share/one/image/remotes');
  mkdirSync(join(remotes, 'vmm/kvm'), { recursive: true });
  mkdirSync(join(remotes, 'etc/vmm/kvm'), { recursive: true });
  writeFileSync(join(remotes, 'vmm/kvm/deploy'), deploy, { mode: 0o755 });
  writeFileSync(join(remotes, 'etc/vmm/kvm/kvmrc'), kvmrc);
}

beforeEach(() => {
  root = makeRoot(TREE);
  imageRemotes('#!/bin/sh\n# 7.4.0\n', KVMRC(PACKAGED));
  env = initEnv(root);
});
afterEach(() => removeRoot(root));

describe('drivers on the volume', () => {
  it('are re-synced when the image ships other content under the same version (a rebuild with fixes)', async () => {
    expect((await init()).code).toBe(0);
    imageRemotes('#!/bin/sh\n# 7.4.0, rebuilt with a fix\n', KVMRC(PACKAGED));
    const run = await init();
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(volume('remotes/vmm/kvm/deploy'), 'utf8')).toContain('rebuilt with a fix');
    expect(run.stderr).toMatch(/onehost sync --force/);
    // Unchanged content: nothing to do.
    expect((await init()).stderr).not.toMatch(/installing OpenNebula/);
  });

  it("carry the operator's changes to remotes/etc onto the new version's file (new settings arrive)", async () => {
    expect((await init()).code).toBe(0);
    writeFileSync(
      volume('remotes/etc/vmm/kvm/kvmrc'),
      KVMRC({ ...PACKAGED, LIBVIRT_URI: 'qemu+tcp://custom/system' }),
    );
    imageRemotes(
      '#!/bin/sh\n# 7.4.1\n',
      KVMRC({ ...PACKAGED, SHUTDOWN_TIMEOUT: '300', VIRTIOFSD_BINARY_PATH: '/usr/libexec/virtiofsd' }),
    );
    const run = await init({ ONE_VERSION: '7.4.1' });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(volume('remotes/etc/vmm/kvm/kvmrc'), 'utf8')).toBe(
      KVMRC({
        ...PACKAGED,
        LIBVIRT_URI: 'qemu+tcp://custom/system',
        SHUTDOWN_TIMEOUT: '300',
        VIRTIOFSD_BINARY_PATH: '/usr/libexec/virtiofsd',
      }),
    );
    expect(existsSync(volume('remotes/etc/vmm/kvm/kvmrc.new'))).toBe(false);
    expect(run.stderr).toMatch(
      /merged your changes to remotes\/etc\/vmm\/kvm\/kvmrc into OpenNebula 7\.4\.1's/,
    );
  });

  it('keep the new version as FILE.new only where both changed the same lines, and list the conflicts', async () => {
    expect((await init()).code).toBe(0);
    const mine = KVMRC({ ...PACKAGED, SHUTDOWN_TIMEOUT: '60' });
    writeFileSync(volume('remotes/etc/vmm/kvm/kvmrc'), mine);
    imageRemotes('#!/bin/sh\n# 7.4.1\n', KVMRC({ ...PACKAGED, SHUTDOWN_TIMEOUT: '300' }));
    const run = await init({ ONE_VERSION: '7.4.1' });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(volume('remotes/etc/vmm/kvm/kvmrc'), 'utf8')).toBe(mine);
    expect(readFileSync(volume('remotes/etc/vmm/kvm/kvmrc.new'), 'utf8')).toContain('SHUTDOWN_TIMEOUT=300');
    expect(run.stderr).toMatch(
      /remotes\/etc: your changes conflict with OpenNebula 7\.4\.1's in: etc\/vmm\/kvm\/kvmrc \(merge kvmrc\.new by hand\)/,
    );
  });

  it('are copied as root through no link oneadmin planted among them', async () => {
    expect((await init()).code).toBe(0);
    const outside = join(root, 'outside-kvmrc');
    writeFileSync(outside, "root's file\n", { mode: 0o600 });
    rmSync(volume('remotes/etc/vmm/kvm/kvmrc'));
    symlinkSync(outside, volume('remotes/etc/vmm/kvm/kvmrc'));
    execFileSync('chown', ['-h', '9869:9869', volume('remotes/etc/vmm/kvm/kvmrc')]);
    imageRemotes('#!/bin/sh\n# 7.4.1\n', KVMRC({ ...PACKAGED, SHUTDOWN_TIMEOUT: '300' }));
    const run = await init({ ONE_VERSION: '7.4.1' });
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(outside, 'utf8')).toBe("root's file\n");
    expect(statSync(outside).uid).toBe(0);
    expect(lstatSync(volume('remotes/etc/vmm/kvm/kvmrc')).isSymbolicLink()).toBe(false);
    expect(readFileSync(volume('remotes/etc/vmm/kvm/kvmrc'), 'utf8')).toContain('SHUTDOWN_TIMEOUT=300');
  });
});
