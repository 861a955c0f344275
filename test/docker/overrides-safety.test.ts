// The config step where several run at once and where root runs it: the chart's containers all configure
// the one shared /etc/one when the pod starts (and again when one restarts), so concurrent runs, from a fresh
// seed and on a configured tree, must each leave every setting of the environment in place, and a reader
// must never see a half-configured file; run as root (docker run, `all`), /etc/one is root's and readable by
// oneadmin's group, as the packages install it, and no link oneadmin planted is followed.
import {
  chmodSync,
  chownSync,
  lstatSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { configTrees, ENTRYPOINT, ENTRYPOINT_LIB, removeRoot, runEntrypoint } from '../support/entrypoint.js';
import { seededRoot } from '../support/etc-one.js';
import { templateValue } from '../support/one-template.js';
import { runCommand } from '../support/tools.js';

const tree =
  configTrees().find((t) => t.label === 'upstream 7.4.0') ??
  configTrees().find((t) => t.label === 'fixture 7.4')!;
const ONEADMIN = 9869;
const RUNS = 5;
const TRIALS = 8;

const ENV = {
  ONE_VERSION: tree.version,
  DB_BACKEND: 'mysql',
  DB_HOST: 'mariadb.example.com',
  DB_PASSWORD: 'pa55:word!',
  HOSTNAME: 'one.example.com',
  MONITOR_ADDRESS: '192.0.2.10',
  MONITOR_PORT: '30124',
  ONEGATE_ENDPOINT: 'http://192.0.2.10:5030',
  ONED_ENDPOINT: 'http://127.0.0.1:2633/RPC2',
  ONEFLOW_ENDPOINT: 'http://127.0.0.1:2474',
  GUACD_HOST: '127.0.0.1',
  GUACD_PORT: '4823',
};

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach(removeRoot));

const read = (root: string, file: string) => readFileSync(join(root, 'etc/one', file), 'utf8');

/** Every key the environment sets, as the files hold it (throws naming the first that is not). */
function expectEnvironmentApplied(root: string): void {
  const oned = read(root, 'oned.conf');
  expect(templateValue(oned, 'DB')).toMatchObject({
    BACKEND: 'mysql',
    SERVER: ENV.DB_HOST,
    PASSWD: ENV.DB_PASSWORD,
  });
  expect(templateValue(oned, 'HOSTNAME')).toBe(ENV.HOSTNAME);
  expect(templateValue(oned, 'ONEGATE_ENDPOINT')).toBe(ENV.ONEGATE_ENDPOINT);
  expect(templateValue(read(root, 'monitord.conf'), 'NETWORK')).toMatchObject({
    MONITOR_ADDRESS: ENV.MONITOR_ADDRESS,
    PORT: ENV.MONITOR_PORT,
  });
  expect(parse(read(root, 'fireedge-server.conf'))).toMatchObject({
    one_xmlrpc: ENV.ONED_ENDPOINT,
    oneflow_server: ENV.ONEFLOW_ENDPOINT,
    guacd: { host: ENV.GUACD_HOST, port: 4823 },
    default_zone: { endpoint: ENV.ONED_ENDPOINT },
  });
  expect(parse(read(root, 'oneflow-server.conf'))).toMatchObject({ ':one_xmlrpc': ENV.ONED_ENDPOINT });
  expect(parse(read(root, 'onegate-server.conf'))).toMatchObject({
    ':one_xmlrpc': ENV.ONED_ENDPOINT,
    ':oneflow_server': ENV.ONEFLOW_ENDPOINT,
  });
}

async function concurrently(root: string): Promise<void> {
  const runs = await Promise.all(
    Array.from({ length: RUNS }, () => runEntrypoint(['configure', '--root', root], ENV, 180_000)),
  );
  for (const run of runs) expect(run.code, run.stderr).toBe(0);
  // No scratch tree is left behind.
  expect(readdirSync(join(root, 'etc/one')).filter((name) => name.startsWith('.configure.'))).toEqual([]);
}

describe(`${RUNS} configuration steps at once (${tree.label})`, () => {
  it(`from a fresh seed, ${TRIALS} times: every run leaves every setting of the environment`, async () => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const root = seededRoot(tree);
      roots.push(root);
      await concurrently(root);
      expectEnvironmentApplied(root);
    }
  }, 600_000);

  it('on a configured tree, while a reader sees every file configured at every moment', async () => {
    const root = seededRoot(tree);
    roots.push(root);
    expect((await runEntrypoint(['configure', '--root', root], ENV)).code).toBe(0);
    let reading = true;
    let reads = 0;
    const reader = (async () => {
      while (reading) {
        expectEnvironmentApplied(root);
        reads++;
        await new Promise((resolve) => setTimeout(resolve, 2));
      }
    })();
    try {
      for (let trial = 0; trial < 3; trial++) await concurrently(root);
    } finally {
      reading = false;
    }
    await reader;
    expect(reads).toBeGreaterThan(10);
    expectEnvironmentApplied(root);
  }, 600_000);
});

describe('ownership of /etc/one', () => {
  it('run as root: root:oneadmin, group-readable, nothing for others; a link oneadmin planted is not followed', async () => {
    const root = seededRoot(tree);
    roots.push(root);
    expect((await runEntrypoint(['configure', '--root', root], ENV)).code).toBe(0);
    const check = (dir: string) => {
      for (const name of readdirSync(dir)) {
        const path = join(dir, name);
        const stat = lstatSync(path);
        expect([path, stat.uid, stat.gid]).toEqual([path, 0, ONEADMIN]);
        // The copy kept of a replaced tree holds what was there, links as links (never followed).
        if (stat.isSymbolicLink() && path.includes('/.previous/')) continue;
        expect([path, stat.mode & 0o777]).toEqual([path, stat.isDirectory() ? 0o750 : 0o640]);
        if (stat.isDirectory()) check(path);
      }
    };
    const etc = join(root, 'etc/one');
    expect(lstatSync(etc).mode & 0o777).toBe(0o750);
    check(etc);

    // What a oneadmin process could have left in a persisted /etc/one of an earlier image (owned by it).
    const victims = mkdtempSync(join(tmpdir(), 'one-victim-'));
    roots.push(victims);
    writeFileSync(join(victims, 'shadow'), 'root:secret\n');
    mkdirSync(join(victims, 'dir'));
    rmSync(join(etc, 'guacd'));
    symlinkSync(join(victims, 'shadow'), join(etc, 'guacd'));
    rmSync(join(etc, 'auth'), { recursive: true });
    symlinkSync(join(victims, 'dir'), join(etc, 'auth'));
    const run = await runEntrypoint(['configure', '--root', root], ENV);
    expect(run.code, run.stderr).toBe(0);
    expect(readFileSync(join(victims, 'shadow'), 'utf8')).toBe('root:secret\n');
    expect(lstatSync(join(victims, 'shadow')).uid).toBe(0);
    expect(readdirSync(join(victims, 'dir'))).toEqual([]);
    expect(lstatSync(join(etc, 'guacd')).isFile()).toBe(true);
    expect(lstatSync(join(etc, 'auth')).isDirectory()).toBe(true);
    check(etc);
  });

  it("run as oneadmin (the chart's containers) on an emptyDir it may write", async () => {
    const root = seededRoot(tree);
    roots.push(root);
    chmodSync(root, 0o755);
    chownSync(join(root, 'etc/one'), ONEADMIN, ONEADMIN);
    chownSync(join(root, 'var/lib/one/remotes/etc/vnm'), ONEADMIN, ONEADMIN);
    mkdirSync(join(root, 'etc/ssh/sshd_config.d'), { recursive: true });
    chownSync(join(root, 'etc/ssh/sshd_config.d'), ONEADMIN, ONEADMIN);
    const run = await runCommand(
      'setpriv',
      [
        `--reuid=${ONEADMIN}`,
        `--regid=${ONEADMIN}`,
        '--clear-groups',
        'bash',
        ENTRYPOINT,
        'configure',
        '--root',
        root,
      ],
      { env: { PATH: process.env.PATH, OPENNEBULA_CONTAINER_LIB: ENTRYPOINT_LIB, ...ENV } },
    );
    expect(run.code, run.stderr).toBe(0);
    expectEnvironmentApplied(root);
    const stat = lstatSync(join(root, 'etc/one/oned.conf'));
    expect([stat.uid, stat.mode & 0o777]).toEqual([ONEADMIN, 0o640]);
  });
});
