// Role dispatch: each role runs the command line of OpenNebula's own systemd unit; services that need the
// credentials oned writes at bootstrap wait for them, for a bounded time; unknown roles are refused.
import {
  chownSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { configTrees, makeRoot, removeRoot, runEntrypoint } from '../support/entrypoint.js';
import { REPO_ROOT } from '../support/tools.js';

const EXPECTED: Record<string, string> = {
  oned: '/usr/bin/oned -f',
  fireedge: '/usr/bin/node /usr/lib/one/fireedge/dist/index.js',
  guacd: '/usr/share/one/guacd/sbin/guacd -f -b 127.0.0.1',
  oneflow: '/usr/bin/ruby /usr/lib/one/oneflow/oneflow-server.rb',
  onegate: '/usr/bin/ruby /usr/lib/one/onegate/onegate-server.rb',
  oneform: '/usr/bin/ruby /usr/lib/one/oneform/oneform-server.rb',
  oneks: '/usr/bin/ruby /usr/lib/one/oneks/oneks-server.rb',
  hem: '/usr/bin/ruby /usr/lib/one/onehem/onehem-server.rb',
  sshd: '/usr/sbin/sshd -D -e',
  all: '/usr/bin/supervisord -n -c /etc/supervisor/opennebula.conf',
};

const UNIT_OF: Record<string, string> = {
  oned: 'opennebula.service',
  fireedge: 'opennebula-fireedge.service',
  guacd: 'opennebula-guacd.service',
  oneflow: 'opennebula-flow.service',
  onegate: 'opennebula-gate.service',
  hem: 'opennebula-hem.service',
  oneform: 'opennebula-form.service',
  oneks: 'opennebula-ks.service',
};
// Servers that came with a later series than 7.0: their units exist from that version on.
const SINCE: Record<string, number[]> = { oneform: [7, 2], oneks: [7, 4] };
const atLeast = (version: string, since: number[] = [0]) => {
  const [major = 0, minor = 0] = version.replace('opennebula-', '').split('.').map(Number);
  return major > since[0]! || (major === since[0]! && minor >= (since[1] ?? 0));
};

const TREE = configTrees().find((t) => t.label === 'fixture 7.4')!;
let root: string;
beforeEach(() => {
  root = makeRoot(TREE);
});
afterEach(() => removeRoot(root));

describe('command lines', () => {
  it.each(Object.entries(EXPECTED))('%s runs %s', async (role, command) => {
    const run = await runEntrypoint(['command', role], { ONE_ROOT: root });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim()).toBe(command);
  });

  // OpenNebula's units, when the reference copy of them is present beside the repository.
  const shared = resolve(REPO_ROOT, '..', 'shared', 'upstream');
  const versions = existsSync(shared)
    ? readdirSync(shared).filter((name) => name.startsWith('opennebula-'))
    : [];
  it.runIf(versions.length > 0).each(versions)(
    'matches the ExecStart of the systemd units of %s',
    (version) => {
      for (const [role, unit] of Object.entries(UNIT_OF)) {
        if (!atLeast(version, SINCE[role])) continue;
        const text = readFileSync(join(shared, version, 'systemd', unit), 'utf8');
        const execStart = /^ExecStart=(.*)$/m.exec(text)![1]!;
        const program = EXPECTED[role]!.replace('/usr/bin/node ', 'node ').replace(' -b 127.0.0.1', ' $OPTS');
        expect(execStart, `${version} ${unit}`).toContain(program);
      }
    },
  );
});

describe('dispatch', () => {
  it('refuses an unknown role with the list of roles', async () => {
    const run = await runEntrypoint(['sunstone'], { ONE_ROOT: root, ONE_VERSION: '7.4.0' });
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/unknown role "sunstone"/);
    expect(run.stderr).toMatch(
      /roles: oned fireedge guacd oneflow onegate oneform oneks hem sshd showback exporter init all/,
    );
  });

  it('prints usage without arguments', async () => {
    const run = await runEntrypoint([]);
    expect(run.code).toBe(64);
    expect(run.stderr).toMatch(/^usage: opennebula-entrypoint ROLE/);
  });

  it.each([
    ['fireedge', 'sunstone_auth'],
    ['oneflow', 'oneflow_auth'],
    ['onegate', 'onegate_auth'],
    ['oneform', 'oneform_auth'],
    ['oneks', 'oneks_auth'],
  ])('%s waits for %s, then gives up with a clear message', async (role, file) => {
    const started = Date.now();
    const run = await runEntrypoint([role], {
      ONE_ROOT: root,
      ONE_VERSION: '7.4.0',
      ONE_AUTH_WAIT_TIMEOUT: '2',
    });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(`waiting for oned to write ${root}/var/lib/one/.one/${file}`);
    expect(run.stderr).toMatch(
      new RegExp(`${file} did not appear within 2s \\(ONE_AUTH_WAIT_TIMEOUT\\).*is oned running\\?`),
    );
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('starts FireEdge once oned has written its credentials, logging to the container streams', async () => {
    mkdirSync(join(root, 'var/lib/one/.one'), { recursive: true });
    writeFileSync(join(root, 'var/lib/one/.one/sunstone_auth'), 'serveradmin:x\n');
    const run = await runEntrypoint(['fireedge'], {
      ONE_ROOT: root,
      ONE_VERSION: '7.4.0',
      ONE_AUTH_WAIT_TIMEOUT: '2',
    });
    // The daemon itself is not installed here: reaching its exec is what this test checks.
    expect(run.stderr).toContain('starting fireedge: /usr/bin/node /usr/lib/one/fireedge/dist/index.js');
    const logs = join(root, 'var/log/one');
    expect(readdirSync(logs).sort()).toEqual(['fireedge.error', 'fireedge.log']);
    // Started as root (the all role), the files the daemon appends to belong to oneadmin.
    if (process.getuid?.() === 0) {
      for (const name of readdirSync(logs)) expect(statSync(join(logs, name)).uid, name).toBe(9869);
    }
  });

  it.each([
    ['oneform', '7.0.0', '7.2.0'],
    ['oneks', '7.2.0', '7.4.0'],
  ])('refuses %s on OpenNebula %s, naming the version it needs', async (role, version, since) => {
    const run = await runEntrypoint([role], { ONE_ROOT: root, ONE_VERSION: version });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toContain(
      `the ${role} role needs OpenNebula ${since} or later (this image has ${version})`,
    );
  });

  it.each(['oneform', 'oneks'])(
    'seeds %s state from the image copy once, as oneadmin, leaving an operator-changed volume as it is',
    async (role) => {
      // The volume as init leaves it: its root belongs to oneadmin.
      chownSync(join(root, 'var/lib/one'), 9869, 9869);
      mkdirSync(join(root, `usr/share/one/image/${role}/extra`), { recursive: true });
      writeFileSync(join(root, `usr/share/one/image/${role}/extra/flavour.yaml`), 'packaged\n');
      const env = { ONE_ROOT: root, ONE_VERSION: '7.4.0', ONE_AUTH_WAIT_TIMEOUT: '1' };
      const first = await runEntrypoint([role], env);
      expect(first.stderr).toContain(`seeded ${root}/var/lib/one/${role}`);
      const seeded = join(root, `var/lib/one/${role}/extra/flavour.yaml`);
      expect(readFileSync(seeded, 'utf8')).toBe('packaged\n');
      // Run as root (the all role), the server (oneadmin) must own what it writes its driver states into.
      for (const path of ['', 'extra', 'extra/flavour.yaml']) {
        expect(statSync(join(root, `var/lib/one/${role}`, path)).uid, path).toBe(9869);
      }
      writeFileSync(seeded, 'changed\n');
      const second = await runEntrypoint([role], env);
      expect(second.stderr).not.toContain('seeded');
      expect(readFileSync(seeded, 'utf8')).toBe('changed\n');
    },
  );

  it('refuses to start a role on a bad setting', async () => {
    const run = await runEntrypoint(['oned'], { ONE_ROOT: root, ONE_VERSION: '7.4.0', MONITOR_PORT: 'udp' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/MONITOR_PORT: "udp" is not a TCP\/UDP port/);
  });
});
