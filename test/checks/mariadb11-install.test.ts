// test/tools/install.d/mariadb11.sh fetches MariaDB 11 from Debian 13's archive outside apt: it must refuse,
// naming the file, whatever the signed index does not vouch for, and leave no server behind. A mirror on
// 127.0.0.1 serves the index the installer verified (kept in the tools directory) with one part altered.
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { freePort } from '../support/oci-registry.js';
import { REPO_ROOT, runCommand, TOOLS_DIR } from '../support/tools.js';

const INDEX = join(TOOLS_DIR, 'mariadb-11', 'index');
let mirror: string;
let server: Server;
let url: string;

/** Serves the files under the mirror directory; 404 for anything else. */
beforeAll(async () => {
  if (!existsSync(join(INDEX, 'InRelease'))) {
    throw new Error(`${INDEX} is missing: run test/tools/install.sh --only mariadb-11`);
  }
  mirror = mkdtempSync(join(tmpdir(), 'debian-mirror-'));
  server = createServer((request, response) => {
    const file = join(mirror, decodeURIComponent(new URL(request.url!, 'http://x').pathname));
    if (!file.startsWith(`${mirror}/`) || !existsSync(file)) return void response.writeHead(404).end();
    response.writeHead(200).end(readFileSync(file));
  });
  const port = await freePort();
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${port}`;
});
afterAll(async () => {
  await new Promise((resolve) => server?.close(resolve));
  if (mirror) rmSync(mirror, { recursive: true, force: true });
});

const dists = () => join(mirror, 'dists', 'trixie');
beforeEach(() => {
  rmSync(join(mirror, 'dists'), { recursive: true, force: true });
  rmSync(join(mirror, 'pool'), { recursive: true, force: true });
  mkdirSync(join(dists(), 'main', 'binary-amd64'), { recursive: true });
  copyFileSync(join(INDEX, 'InRelease'), join(dists(), 'InRelease'));
  copyFileSync(join(INDEX, 'Packages.xz'), join(dists(), 'main', 'binary-amd64', 'Packages.xz'));
});

/**
 * A real InRelease Debian signed for another suite (bookworm's, from apt's lists on a Debian host): served
 * as trixie's, its signature is good, and only its Codename tells. Undefined on a host without one.
 */
const APT_LISTS = '/var/lib/apt/lists';
const otherSuite = (existsSync(APT_LISTS) ? readdirSync(APT_LISTS) : [])
  .filter((f) => /^deb\.debian\.org_debian_dists_[a-z]+_InRelease$/.test(f))
  .map((f) => join(APT_LISTS, f))
  .find((f) => !/^Codename: trixie$/m.test(readFileSync(f, 'utf8')));

/** Where the index says the package's .deb lies. */
function debPath(name: string): string {
  const packages = execFileSync('xz', ['-dc', join(INDEX, 'Packages.xz')], {
    maxBuffer: 256 * 1024 * 1024,
  }).toString();
  const block = packages.split('\n\n').find((b) => b.startsWith(`Package: ${name}\n`))!;
  return /^Filename: (.+)$/m.exec(block)![1]!;
}

async function install() {
  const tools = mkdtempSync(join(tmpdir(), 'tools-'));
  try {
    const run = await runCommand('bash', [join(REPO_ROOT, 'test/tools/install.sh'), '--only', 'mariadb-11'], {
      env: { ...process.env, TOOLS_DIR: tools, MARIADB11_MIRROR: url },
    });
    return { ...run, server: existsSync(join(tools, 'mariadb-11', 'sbin', 'mariadbd')) };
  } finally {
    rmSync(tools, { recursive: true, force: true });
  }
}

describe('MariaDB 11 from Debian 13, outside apt', () => {
  it('refuses an index whose signature is not good', async () => {
    const release = join(dists(), 'InRelease');
    writeFileSync(
      release,
      readFileSync(release, 'utf8').replace(/^(Codename: )trixie$/m, '$1trixie-altered'),
    );
    const run = await install();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/dists\/trixie\/InRelease: no good signature by Debian's archive keys/);
    expect(run.server).toBe(false);
  });

  it.skipIf(!otherSuite)(
    'refuses an index Debian signed for another suite (a replayed InRelease)',
    async () => {
      copyFileSync(otherSuite!, join(dists(), 'InRelease'));
      const run = await install();
      expect(run.code).not.toBe(0);
      expect(run.stderr).toMatch(/dists\/trixie\/InRelease is signed, but not trixie's/);
      expect(run.server).toBe(false);
    },
  );

  it('refuses a Packages.xz the signed index does not list', async () => {
    writeFileSync(join(dists(), 'main', 'binary-amd64', 'Packages.xz'), 'not the index');
    const run = await install();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/Packages\.xz: SHA256 is not [0-9a-f]{64} \(as the signed index says\)/);
    expect(run.server).toBe(false);
  });

  it('refuses a package whose digest the index does not vouch for', async () => {
    const deb = debPath('mariadb-server-core');
    mkdirSync(dirname(join(mirror, deb)), { recursive: true });
    writeFileSync(join(mirror, deb), 'not the package');
    const run = await install();
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /mariadb-server-core_[^ ]+\.deb: SHA256 is not [0-9a-f]{64} \(as the signed index says\)/,
    );
    expect(run.stderr).toMatch(/FAILED to install mariadb-11/);
    expect(run.server).toBe(false);
  });
});
