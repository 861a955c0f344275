// The image's config step against realistic OpenNebula 7.0, 7.2 and 7.4 config trees (and OpenNebula's
// real files when ../shared/upstream is present): what it writes, that it is idempotent, and that every
// bad value is refused with a message naming the variable.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  configTrees,
  makeRoot,
  removeRoot,
  runEntrypoint,
  VNM_CONF,
  type ConfigTree,
} from '../support/entrypoint.js';
import { parseTemplate, templateValue } from '../support/one-template.js';

const roots: string[] = [];
afterEach(() => roots.splice(0).forEach(removeRoot));

function rootFor(tree: ConfigTree): string {
  const root = makeRoot(tree);
  roots.push(root);
  return root;
}

const read = (root: string, file: string) => readFileSync(join(root, 'etc/one', file), 'utf8');
const yamlOf = (root: string, file: string) => parse(read(root, file)) as Record<string, unknown>;

const MYSQL_ENV = {
  DB_BACKEND: 'mysql',
  DB_HOST: 'opennebula-mariadb.one.svc.cluster.local',
  DB_PASSWORD: 'pa55:word!',
  HOSTNAME: 'opennebula-0.opennebula-headless.one.svc.cluster.local',
  MONITOR_ADDRESS: '192.0.2.10',
  MONITOR_PORT: '30124',
  ONEGATE_ENDPOINT: 'http://192.0.2.10:5030',
  ONED_ENDPOINT: 'http://127.0.0.1:2633/RPC2',
  ONEFLOW_ENDPOINT: 'http://127.0.0.1:2474',
  GUACD_HOST: '127.0.0.1',
  GUACD_PORT: '4823',
  TPROXY_REMOTE_ADDR: '192.0.2.10',
  TPROXY_REMOTE_PORT: '30530',
  TPROXY_NETWORKS: '0, public',
};

function snapshot(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[path.slice(root.length)] = readFileSync(path, 'utf8');
    }
  };
  walk(root);
  return out;
}

describe.each(configTrees())('config step on $label', (tree) => {
  const env = { ...MYSQL_ENV, ONE_VERSION: tree.version };

  it("points oned at MariaDB with the documented connection count, its log to a file and each VM's to the volume", async () => {
    const root = rootFor(tree);
    const run = await runEntrypoint(['configure', '--root', root], env);
    expect(run.code, run.stderr).toBe(0);
    const oned = read(root, 'oned.conf');
    expect(templateValue(oned, 'DB')).toEqual({
      BACKEND: 'mysql',
      SERVER: MYSQL_ENV.DB_HOST,
      PORT: '3306',
      USER: 'oneadmin',
      PASSWD: MYSQL_ENV.DB_PASSWORD,
      DB_NAME: 'opennebula',
      CONNECTIONS: '25',
      COMPARE_BINARY: 'no',
    });
    // oned's log is a file the oned role streams: with "std", no VM would have a log file (vm-logs.test.ts).
    expect(templateValue(oned, 'LOG')).toEqual({ SYSTEM: 'file', DEBUG_LEVEL: '3', USE_VMS_LOCATION: 'YES' });
    expect(templateValue(oned, 'HOSTNAME')).toBe(MYSQL_ENV.HOSTNAME);
    expect(templateValue(oned, 'ONEGATE_ENDPOINT')).toBe(MYSQL_ENV.ONEGATE_ENDPOINT);
    expect(statSync(join(root, 'etc/one/oned.conf')).mode & 0o777).toBe(0o640);
  });

  it('keeps the scheduler and every other driver that 7.x needs', async () => {
    const root = rootFor(tree);
    const before = parseTemplate(readFileSync(join(tree.etc, 'oned.conf'), 'utf8'));
    await runEntrypoint(['configure', '--root', root], env);
    const after = parseTemplate(read(root, 'oned.conf'));
    expect(after.get('SCHED_MAD')).toEqual(before.get('SCHED_MAD'));
    expect(after.get('SCHED_MAD')).toHaveLength(1);
    for (const key of [
      'IM_MAD',
      'VM_MAD',
      'TM_MAD',
      'DATASTORE_MAD',
      'HM_MAD',
      'AUTH_MAD',
      'PORT',
      'LISTEN_ADDRESS',
    ]) {
      expect(after.get(key), key).toEqual(before.get(key));
    }
    if (tree.version >= '7.2') expect(after.get('GRPC_PORT')).toEqual(['2634']);
  });

  it('sets monitord address, port, log and connections', async () => {
    const root = rootFor(tree);
    await runEntrypoint(['configure', '--root', root], env);
    const monitord = read(root, 'monitord.conf');
    expect(templateValue(monitord, 'NETWORK')).toMatchObject({
      ADDRESS: '::',
      MONITOR_ADDRESS: '192.0.2.10',
      PORT: '30124',
    });
    expect(templateValue(monitord, 'DB')).toEqual({ CONNECTIONS: '15' });
    // monitord's streams are closed by oned: it logs to its file, which the oned role streams.
    expect(templateValue(monitord, 'LOG')).toMatchObject({ SYSTEM: 'FILE' });
  });

  it('points FireEdge, OneFlow and OneGate at oned, OneFlow and guacd', async () => {
    const root = rootFor(tree);
    await runEntrypoint(['configure', '--root', root], env);
    expect(yamlOf(root, 'fireedge-server.conf')).toMatchObject({
      host: '0.0.0.0',
      one_xmlrpc: MYSQL_ENV.ONED_ENDPOINT,
      oneflow_server: MYSQL_ENV.ONEFLOW_ENDPOINT,
      guacd: { host: '127.0.0.1', port: 4823 },
      default_zone: { endpoint: MYSQL_ENV.ONED_ENDPOINT },
    });
    expect(yamlOf(root, 'oneflow-server.conf')).toMatchObject({
      ':one_xmlrpc': MYSQL_ENV.ONED_ENDPOINT,
      ':host': '0.0.0.0',
    });
    const onegate = yamlOf(root, 'onegate-server.conf');
    expect(onegate).toMatchObject({
      ':one_xmlrpc': MYSQL_ENV.ONED_ENDPOINT,
      ':oneflow_server': MYSQL_ENV.ONEFLOW_ENDPOINT,
    });
    if (tree.version >= '7.4') {
      expect(onegate[':server']).toEqual({ ':bind': '0.0.0.0', ':port': 5030 });
      expect(onegate[':host']).toBeUndefined();
    } else {
      expect(onegate[':host']).toBe('0.0.0.0');
      expect(onegate[':server']).toBeUndefined();
    }
  });

  it('configures the VNM transparent proxy, and removes it when unset', async () => {
    const root = rootFor(tree);
    await runEntrypoint(['configure', '--root', root], env);
    // The packages install it with the drivers (synced to the hypervisors), not in /etc/one.
    expect(parse(readFileSync(join(root, VNM_CONF), 'utf8'))[':tproxy']).toEqual([
      {
        ':service_port': 5030,
        ':remote_addr': '192.0.2.10',
        ':remote_port': 30530,
        ':networks': [0, 'public'],
      },
    ]);
    const { TPROXY_REMOTE_ADDR: _unset, ...without } = env;
    await runEntrypoint(['configure', '--root', root], without);
    expect(readFileSync(join(root, VNM_CONF), 'utf8')).toBe(
      readFileSync(join(tree.etc, 'OpenNebulaNetwork.conf'), 'utf8'),
    );
  });

  it('produces the same tree when run twice, and never creates the service credentials', async () => {
    const root = rootFor(tree);
    await runEntrypoint(['configure', '--root', root], env);
    const first = snapshot(root);
    const again = await runEntrypoint(['configure', '--root', root], env);
    expect(again.code).toBe(0);
    expect(snapshot(root)).toEqual(first);
    expect(Object.keys(first).filter((path) => /_auth$|one_key/.test(path))).toEqual([]);
  });

  it('defaults to SQLite for docker run, and can switch back from MySQL', async () => {
    const root = rootFor(tree);
    await runEntrypoint(['configure', '--root', root], env);
    const sqlite = await runEntrypoint(['configure', '--root', root], { ONE_VERSION: tree.version });
    expect(sqlite.code, sqlite.stderr).toBe(0);
    const oned = read(root, 'oned.conf');
    expect(templateValue(oned, 'DB')).toEqual({ BACKEND: 'sqlite', TIMEOUT: '2500' });
    expect(oned).not.toContain(MYSQL_ENV.DB_PASSWORD);
    expect(parseTemplate(oned).get('ONEGATE_ENDPOINT')).toBeUndefined();
  });
});

describe('config step input validation', () => {
  const tree = configTrees().find((t) => t.label === 'fixture 7.4')!;

  it.each([
    [{ DB_BACKEND: 'postgres' }, /DB_BACKEND: "postgres" is not a database backend/],
    [{ DB_BACKEND: 'mysql', DB_PASSWORD: 'x' }, /DB_HOST is required when DB_BACKEND=mysql/],
    [{ DB_BACKEND: 'mysql', DB_HOST: 'db' }, /DB_PASSWORD \(or DB_PASSWORD_FILE\) is required/],
    [
      { DB_BACKEND: 'mysql', DB_HOST: 'db', DB_PASSWORD: 'x', DB_PORT: '33o6' },
      /DB_PORT: "33o6" is not a TCP\/UDP port/,
    ],
    [
      { DB_BACKEND: 'mysql', DB_HOST: 'db', DB_PASSWORD: 'a\\b' },
      /DB_PASSWORD must not contain backslashes or newlines \(oned\.conf cannot carry them so that both oned and onedb read them\)/,
    ],
    [
      { DB_BACKEND: 'mysql', DB_HOST: 'db', DB_PASSWORD: 'x', DB_USER: 'one\\admin' },
      /DB_USER must not contain backslashes/,
    ],
    [
      { DB_BACKEND: 'mysql', DB_HOST: 'db', DB_PASSWORD: 'a\nb' },
      /DB_PASSWORD must not contain backslashes or newlines/,
    ],
    [{ DB_BACKEND: 'mysql', DB_HOST: 'db host', DB_PASSWORD: 'x' }, /DB_HOST: "db host" is not a host name/],
    [{ DB_CONNECTIONS: 'many' }, /DB_CONNECTIONS: "many" is not a non-negative integer/],
    [{ MONITOR_PORT: '70000' }, /MONITOR_PORT: "70000" is not a TCP\/UDP port/],
    [{ MONITOR_ADDRESS: 'a b' }, /MONITOR_ADDRESS: "a b" is not a host name/],
    [{ ONEGATE_ENDPOINT: 'onegate:5030' }, /ONEGATE_ENDPOINT: "onegate:5030" is not a URL/],
    [{ ONED_ENDPOINT: 'localhost' }, /ONED_ENDPOINT: "localhost" is not a URL/],
    [{ ONE_LOG_LEVEL: '9' }, /ONE_LOG_LEVEL: "9" is not a log level/],
    [
      { TPROXY_REMOTE_ADDR: '10.0.0.1', TPROXY_REMOTE_PORT: 'x' },
      /TPROXY_REMOTE_PORT: "x" is not a TCP\/UDP port/,
    ],
    [{ SSHD_PORT: '0' }, /SSHD_PORT: "0" is not a TCP\/UDP port/],
    [{ ONE_VERSION: 'latest' }, /ONE_VERSION: "latest" is not an OpenNebula version/],
    [
      { DB_PASSWORD: 'a', DB_PASSWORD_FILE: '/etc/hostname' },
      /both DB_PASSWORD and DB_PASSWORD_FILE are set/,
    ],
    [{ DB_PASSWORD_FILE: '/nonexistent/secret' }, /DB_PASSWORD_FILE: cannot read \/nonexistent\/secret/],
  ])('%j is refused', async (values, message) => {
    const root = rootFor(tree);
    const run = await runEntrypoint(['configure', '--root', root], { ONE_VERSION: '7.4.0', ...values });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
  });

  it('reads DB_PASSWORD from DB_PASSWORD_FILE', async () => {
    const root = rootFor(tree);
    const secret = join(root, 'db-password');
    (await import('node:fs')).writeFileSync(secret, 'from-a-file');
    const run = await runEntrypoint(['configure', '--root', root], {
      ONE_VERSION: '7.4.0',
      DB_BACKEND: 'mysql',
      DB_HOST: 'db',
      DB_PASSWORD_FILE: secret,
    });
    expect(run.code, run.stderr).toBe(0);
    expect(templateValue(read(root, 'oned.conf'), 'DB')).toMatchObject({ PASSWD: 'from-a-file' });
  });

  it('refuses a --root that is not a directory, and a tree without oned.conf', async () => {
    expect((await runEntrypoint(['configure', '--root', '/nonexistent'])).stderr).toMatch(
      /"\/nonexistent" is not a directory/,
    );
    const root = rootFor(tree);
    (await import('node:fs')).rmSync(join(root, 'etc/one/oned.conf'));
    const run = await runEntrypoint(['configure', '--root', root], { ONE_VERSION: '7.4.0' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/oned\.conf not found/);
  });
});

// oned reads a quoted string to the next " not escaped as \" (src/parsers/template_parser.l); onedb reads
// the same DB block through Augeas (share/augeas/oned.aug), drops backslashes, and connects through a URL
// (mysql2://USER:CGI-escaped-PASSWORD@..., src/onedb/onedb_backend.rb). Every character that survives all
// of them must come back as it was given, on the first run and on every run after it; the others are
// refused up front, naming the variable. (test/docker/vm-logs.test.ts has real oned and onedb use them.)
describe('database user and password: every character MariaDB allows works or is refused', () => {
  const tree =
    configTrees().find((t) => t.label === 'upstream 7.4.0') ??
    configTrees().find((t) => t.label === 'fixture 7.4')!;

  async function threeRuns(env: Record<string, string>) {
    const root = rootFor(tree);
    const runs: string[] = [];
    for (let i = 0; i < 3; i++) {
      const run = await runEntrypoint(['configure', '--root', root], env);
      expect(run.code, run.stderr).toBe(0);
      const oned = read(root, 'oned.conf');
      expect(templateValue(oned, 'DB')).toMatchObject({
        USER: env.DB_USER,
        PASSWD: env.DB_PASSWORD,
        DB_NAME: 'opennebula',
      });
      runs.push(oned);
    }
    expect(runs[1]).toBe(runs[0]);
    expect(runs[2]).toBe(runs[0]);
    // Nothing after the DB block was swallowed or duplicated.
    const before = parseTemplate(readFileSync(join(tree.etc, 'oned.conf'), 'utf8'));
    const after = parseTemplate(runs[0]!);
    expect([...after.keys()].sort()).toEqual(
      [...new Set([...before.keys(), 'HOSTNAME', 'ONEGATE_ENDPOINT'])].sort(),
    );
    for (const [key, values] of after) expect(values.length, key).toBe(before.get(key)?.length ?? 1);
  }

  const env = { ...MYSQL_ENV, ONE_VERSION: tree.version, DB_USER: 'oneadmin' };
  it.each([']', '[', '"', "'", '$', ',', '=', '#', `]#[,="'$`])('DB_PASSWORD with %j', (c) =>
    threeRuns({ ...env, DB_PASSWORD: `${c}pa${c}ss${c}` }),
  );
  it.each(["'", '$', ',', '='])('DB_USER with %j', (c) => threeRuns({ ...env, DB_USER: `one${c}admin` }));

  it.each([
    [
      'DB_PASSWORD',
      'pa ss',
      /DB_PASSWORD must not contain spaces \(onedb, which init runs, passes it in a connection URL/,
    ],
    ['DB_PASSWORD', 'pa\\ss', /DB_PASSWORD must not contain backslashes or newlines/],
    ...[']', '[', '"', '#', ' ', '\\'].map((c) => [
      'DB_USER',
      `one${c}admin`,
      c === '\\'
        ? /DB_USER must not contain backslashes/
        : /DB_USER: ".*" must hold only letters, digits and/,
    ]),
  ] as [string, string, RegExp][])('%s=%j is refused up front', async (name, value, message) => {
    const root = rootFor(tree);
    const run = await runEntrypoint(['configure', '--root', root], { ...env, [name]: value });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(message);
    expect(readFileSync(join(root, 'etc/one/oned.conf'), 'utf8')).toBe(
      readFileSync(join(tree.etc, 'oned.conf'), 'utf8'),
    );
  });
});
