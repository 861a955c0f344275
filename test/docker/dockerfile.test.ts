// The image cannot be built here (the OpenNebula repository is unreachable), so its Dockerfile is checked
// by hadolint and by reading its instructions; the documentation is checked against what the scripts read.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  commandsTheImageLacks,
  driverCommands,
  FRONTEND_COMMANDS,
  imagePackages,
  NOT_FRONTEND_COMMANDS,
} from '../support/driver-commands.js';
import { opennebulaBuild } from '../support/opennebula.js';
import { REPO_ROOT, runTool } from '../support/tools.js';

const DOCKER = join(REPO_ROOT, 'docker');
const read = (path: string) => readFileSync(join(DOCKER, path), 'utf8');

interface Instruction {
  keyword: string;
  args: string;
}

/** Dockerfile instructions, with continuation lines joined and comments dropped. */
function instructions(text: string): Instruction[] {
  const logical: string[] = [];
  let current = '';
  for (const line of text.split('\n')) {
    if (/^\s*#/.test(line)) continue;
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) logical.push(current.trim());
    current = '';
  }
  return logical.map((line) => {
    const [keyword, ...rest] = line.split(/\s+/);
    return { keyword: keyword!.toUpperCase(), args: rest.join(' ') };
  });
}

describe('Dockerfile', () => {
  const text = read('Dockerfile');
  const all = instructions(text);
  const runs = all.filter((i) => i.keyword === 'RUN');

  it('is clean for hadolint', () => {
    runTool('hadolint', [join(DOCKER, 'Dockerfile')]);
  });

  it('pins the Ubuntu 24.04 base by digest through a build argument', () => {
    expect(all[0]).toMatchObject({ keyword: 'ARG' });
    expect(all[0]!.args).toMatch(/^UBUNTU_IMAGE=\S*ubuntu:24\.04@sha256:[0-9a-f]{64}$/);
    expect(all.find((i) => i.keyword === 'FROM')!.args).toBe('${UBUNTU_IMAGE}');
  });

  it('requires ONE_VERSION and installs from its series, or its pinned directory when told', () => {
    expect(all.some((i) => i.keyword === 'ARG' && i.args === 'ONE_VERSION')).toBe(true);
    const install = runs.find((r) => r.args.includes('apt-get install'))!.args;
    expect(install).toContain('ONE_VERSION build argument is required');
    expect(install).toContain('series="$(cut -d. -f1,2 <<<"${ONE_VERSION}")"');
    expect(install).toContain(
      'deb [signed-by=/etc/apt/keyrings/opennebula.gpg] ${ONE_REPOSITORY_URL}/${directory}/Ubuntu/24.04 stable opennebula',
    );
    expect(all.some((i) => i.keyword === 'ARG' && i.args === 'ONE_REPOSITORY_DIR=""')).toBe(true);
    expect(install).toContain('directory="${ONE_REPOSITORY_DIR:-${series}}"');
    expect(install).toContain('ONE_REPOSITORY_DIR must be ${series} or ${ONE_VERSION}');
    expect(install).toContain('"${ONE_REPOSITORY_URL}/repo2.key"');
  });

  it('pins every OpenNebula package to the one version and checks what was installed', () => {
    const install = runs.find((r) => r.args.includes('apt-get install'))!.args;
    expect(install).toContain(
      'packages=(opennebula opennebula-tools opennebula-fireedge opennebula-guacd opennebula-flow opennebula-gate)',
    );
    expect(install).toContain('packages+=(opennebula-form)');
    expect(install).toContain('"${packages[@]/%/=${package_version}}"');
    expect(install).toContain('if [ "${upstream}" != "${ONE_VERSION}" ]');
    for (const pkg of ['mariadb-client', 'openssh-server', 'openssh-client', 'tini', 'supervisor']) {
      expect(install).toContain(pkg);
    }
  });

  it('installs in a single layer and leaves no apt lists behind', () => {
    expect(runs.filter((r) => r.args.includes('apt-get install'))).toHaveLength(1);
    expect(runs).toHaveLength(1);
    expect(runs[0]!.args).toContain('rm -rf /var/lib/apt/lists/*');
    expect(runs[0]!.args).toContain('--no-install-recommends');
  });

  it('exposes the API, gRPC, FireEdge, OneFlow, OneGate, monitord TCP and UDP, and sshd ports', () => {
    const exposed = all.filter((i) => i.keyword === 'EXPOSE').flatMap((i) => i.args.split(/\s+/));
    expect(exposed.sort()).toEqual(['22', '2474', '2616', '2633', '2634', '4124', '4124/udp', '5030'].sort());
  });

  it('runs the entrypoint under tini with a role as the command', () => {
    expect(all.find((i) => i.keyword === 'ENTRYPOINT')!.args).toBe(
      '["/usr/bin/tini", "--", "/usr/local/bin/opennebula-entrypoint"]',
    );
    expect(all.find((i) => i.keyword === 'CMD')!.args).toBe('["all"]');
  });

  it('re-declares UBUNTU_IMAGE after FROM, so the base.name label is not empty', () => {
    const from = all.findIndex((i) => i.keyword === 'FROM');
    const label = all.findIndex((i) => i.keyword === 'LABEL' && i.args.includes('base.name'));
    const redeclared = all.findIndex((i, n) => n > from && i.keyword === 'ARG' && i.args === 'UBUNTU_IMAGE');
    expect(redeclared).toBeGreaterThan(from);
    expect(redeclared).toBeLessThan(label);
  });

  it("removes the packages' one_auth, key and its authorized_keys entry (the postinst makes new ones at every install)", () => {
    const install = runs[0]!.args;
    expect(install).toContain(
      'rm -f /var/lib/one/.one/one_auth /var/lib/one/.ssh/id_rsa /var/lib/one/.ssh/id_rsa.pub /var/lib/one/.ssh/authorized_keys',
    );
    // Hashes of files regenerated at every build could never match a volume's: nothing is kept to compare.
    expect(install).not.toContain('packaged-secrets');
  });

  it('keeps curl (the downloader, libfs.sh and FireEdge download with it) and purges only gnupg', () => {
    const install = runs[0]!.args;
    expect(install).toContain('apt-get purge -y --auto-remove gnupg;');
    expect(install).not.toMatch(/apt-get purge[^;]*curl/);
  });

  it('installs every package whose commands the 7.4 datastore, transfer and market drivers run on the front-end', () => {
    const install = runs[0]!.args;
    const commands = driverCommands(join(opennebulaBuild('7.4.0'), 'var/lib/one/remotes'));
    const unknown = [...commands]
      .filter(([command]) => !FRONTEND_COMMANDS.has(command) && !NOT_FRONTEND_COMMANDS.has(command))
      .map(([command, where]) => `${command} (${where.join(', ')})`);
    expect(unknown, 'commands not in test/support/driver-commands.ts').toEqual([]);
    const missing = commandsTheImageLacks(imagePackages(install)).map(
      (source) => `${source.path} (${source.package})`,
    );
    expect(missing).toEqual([]);
    // The table lists only what the drivers run.
    const unused = [...FRONTEND_COMMANDS.keys(), ...NOT_FRONTEND_COMMANDS.keys()].filter(
      (c) => !commands.has(c),
    );
    expect(unused).toEqual([]);
  });

  it('keeps pristine copies of /etc/one, the drivers and OneForm and OneKS state for init to seed from', () => {
    const install = runs[0]!.args;
    expect(install).toContain('cp -a /etc/one /usr/share/opennebula-container/etc-one');
    expect(install).toContain('cp -a /var/lib/one/remotes /usr/share/one/image/remotes');
    expect(install).toMatch(
      /for state in oneform oneks; do\s+if \[ -d \/var\/lib\/one\/\$state \]; then cp -a \/var\/lib\/one\/\$state \/usr\/share\/one\/image\/\$state; fi;\s+done/,
    );
  });

  it('keeps the executable bit of every program it copies from rootfs (the Raft hooks, ha-oned, ha-label)', () => {
    // The mode each file gets: the --chmod of the last COPY that brings it, or its mode in the repository.
    const copies = all
      .filter((i) => i.keyword === 'COPY')
      .map((i) => /^(?:--chmod=(\d+)\s+)?((?:rootfs\/\S*\s+)+)\S+$/.exec(i.args))
      .filter((m): m is RegExpExecArray => m !== null)
      .flatMap((m) =>
        m[2]!
          .trim()
          .split(/\s+/)
          .map((source) => ({
            mode: m[1] ? parseInt(m[1], 8) : undefined,
            source: source.slice('rootfs/'.length),
          })),
      );
    const programs: string[] = [];
    const walk = (dir: string): void => {
      for (const entry of readdirSync(join(DOCKER, 'rootfs', dir), { withFileTypes: true })) {
        const path = dir ? `${dir}/${entry.name}` : entry.name;
        if (entry.isDirectory()) walk(path);
        else if (statSync(join(DOCKER, 'rootfs', path)).mode & 0o111) programs.push(path);
      }
    };
    walk('');
    expect(programs).toContain('usr/local/lib/opennebula-container/ha-hook');
    const notExecutable = programs.filter((path) => {
      const copy = copies.findLast(
        (c) => path === c.source || (c.source.endsWith('/') && path.startsWith(c.source)),
      );
      return copy === undefined || (copy.mode !== undefined && (copy.mode & 0o111) === 0);
    });
    expect(notExecutable).toEqual([]);
  });

  it('carries the OCI labels', () => {
    const labels = all
      .filter((i) => i.keyword === 'LABEL')
      .map((i) => i.args)
      .join(' ');
    for (const key of ['title', 'description', 'version', 'licenses', 'url', 'base.name']) {
      expect(labels).toContain(`org.opencontainers.image.${key}=`);
    }
  });
});

describe('.trivyignore', () => {
  it('justifies every accepted vulnerability and gives it a review date', () => {
    const lines = read('.trivyignore').split('\n');
    lines.forEach((line, i) => {
      if (!line.trim() || line.startsWith('#')) return;
      expect(line, `line ${i + 1}`).toMatch(/^(CVE|GHSA|AVD)-[\w-]+$/);
      expect(lines[i - 2], `line ${i + 1}: needs "# why: ..." two lines above`).toMatch(/^# why: \S/);
      const review = /^# review-by: (\d{4}-\d{2}-\d{2})$/.exec(lines[i - 1] ?? '');
      expect(review, `line ${i + 1}: needs "# review-by: YYYY-MM-DD" above`).not.toBeNull();
      expect(Number.isNaN(Date.parse(review![1]!))).toBe(false);
    });
  });
});

describe('docker/README.md', () => {
  const readme = read('README.md');
  const lib = join(DOCKER, 'rootfs/usr/local/lib/opennebula-container');
  const scripts = [
    read('rootfs/usr/local/bin/opennebula-entrypoint'),
    ...readdirSync(lib).map((name) => readFileSync(join(lib, name), 'utf8')),
  ].join('\n');
  // Settings the scripts read from the environment, as ${NAME:-default}, ${NAME:-} or file_env NAME.
  // Not settings: set by the image (ONE_CONFIGURED: by `all` for its programs) or the tests, or (OPTS) read
  // from /etc/one/guacd.
  const INTERNAL = new Set([
    'ONE_ROOT',
    'ONE_VERSION',
    'OPENNEBULA_CONTAINER_LIB',
    'ONEADMIN_UID',
    'ONEADMIN_GID',
    'PATH',
    'OPTS',
    'ONE_CONFIGURED',
    'LIB',
    // The socket of the image's own supervisord under `all` (the Raft hook's supervisorctl).
    'SUPERVISOR_SOCKET',
    // The oned role's own unexported copy of DB_PASSWORD for the HA queries.
    'HA_DB_PASSWORD',
  ]);
  const settings = new Set(
    [...scripts.matchAll(/\$\{([A-Z][A-Z0-9_]+):-/g), ...scripts.matchAll(/^\s*file_env ([A-Z][A-Z0-9_]+)/gm)]
      .map((m) => m[1]!)
      .filter((name) => !INTERNAL.has(name)),
  );

  it('documents every environment variable the entrypoint reads', () => {
    expect(settings.size).toBeGreaterThan(20);
    for (const name of settings) expect(readme, name).toContain(`\`${name}\``);
  });

  it('documents every role the entrypoint accepts', () => {
    const roles = /^ROLES="([^"]+)"/m
      .exec(read('rootfs/usr/local/bin/opennebula-entrypoint'))![1]!
      .split(' ');
    for (const role of roles) expect(readme, role).toMatch(new RegExp(`^\\| \`${role}\``, 'm'));
  });
});

describe('supervisord configuration of the all role', () => {
  const readme = read('README.md');
  it('runs every long-running role through the entrypoint', () => {
    const conf = read('rootfs/etc/supervisor/opennebula.conf');
    const programs = [...conf.matchAll(/^\[program:([^\]]+)\]\ncommand=(.*)$/gm)].map((m) => [m[1], m[2]]);
    const roles = programs.filter(([, command]) =>
      command!.startsWith('/usr/local/bin/opennebula-entrypoint '),
    );
    expect(roles.map(([name, command]) => `${name}=${command!.split(' ')[1]}`).sort()).toEqual(
      ['fireedge', 'guacd', 'hem', 'oned', 'oneflow', 'onegate', 'oneform', 'oneks', 'showback', 'sshd']
        .map((r) => `${r}=${r}`)
        .sort(),
    );
    // OneForm (7.2+) and OneKS (7.4+) start only when the `all` role says this OpenNebula has them.
    for (const server of ['oneform', 'oneks']) {
      const section = new RegExp(`^\\[program:${server}\\]\\n(?:[^[].*\\n)*?autostart=(.*)$`, 'm').exec(conf);
      expect(section?.[1], server).toBe(`%(ENV_ONE_START_${server.toUpperCase()})s`);
    }
    // Nothing else: the roles that need the ssh-socks cleaner (oned, hem) run it themselves.
    const every = [...conf.matchAll(/^\[program:([^\]]+)\]$/gm)].map((m) => m[1]);
    expect(every.sort()).toEqual(roles.map(([name]) => name).sort());
  });

  it('gives oned as long to stop as the documented grace period', () => {
    const conf = read('rootfs/etc/supervisor/opennebula.conf');
    const oned = /^\[program:oned\]\n(?:.*\n)*?stopwaitsecs=(\d+)$/m.exec(conf);
    expect(Number(oned?.[1])).toBeGreaterThanOrEqual(60);
    expect(readme).toMatch(/give the container at least 60 s/);
  });
});
