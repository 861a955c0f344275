// A real MariaDB server (Debian's mariadb-server: mariadbd, mariadb-install-db, the mariadb client) on
// 127.0.0.1 with a free port, a throw-away data directory and a Unix socket, run as the current user.
// start({ server: 'mariadb-11' }) runs Debian 13's MariaDB 11 instead (test/tools/install.d/mariadb11.sh).
// Usage:
//   const db = await mariadb.start({ rootPassword: 'secret' });
//   await db.sql('CREATE DATABASE opennebula');
//   ... connect to db.host:db.port (or db.socket) as root with db.rootPassword ...
//   await db.stop();
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { accessSync, constants, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { freePort } from './oci-registry.js';
import { TOOLS_DIR } from './tools.js';

export interface MariaDb {
  /** Always 127.0.0.1: the server listens on the loopback address only. */
  readonly host: string;
  readonly port: number;
  /** Path of the server's Unix socket. */
  readonly socket: string;
  readonly rootPassword: string;
  /** mysql://root:PASSWORD@127.0.0.1:PORT (password URL-encoded). */
  readonly url: string;
  /** A client option file ([client] user, password, host, port) for `mariadb --defaults-file=...`. */
  readonly clientConfig: string;
  readonly datadir: string;
  /** Runs SQL as root through the mariadb client; returns its tab-separated output without headers. */
  sql(query: string, options?: { database?: string }): Promise<string>;
  /** Shuts the server down and removes its directory. Safe to call twice. */
  stop(): Promise<void>;
}

export interface StartOptions {
  /** root's password (root@localhost and root@127.0.0.1); a random one when absent. */
  rootPassword?: string;
  /** The host's MariaDB (Debian 12: 10.11), or MariaDB 11 from the project's tools directory. */
  server?: 'system' | 'mariadb-11';
}

/** The programs of a MariaDB install, and the --basedir its server and mariadb-install-db need. */
interface Programs {
  installDb: string;
  mariadbd: string;
  client: string;
  basedir: string[];
}

function programs(server: StartOptions['server']): Programs {
  if (server !== 'mariadb-11') {
    return {
      installDb: mariadbTool('mariadb-install-db'),
      mariadbd: mariadbTool('mariadbd'),
      client: mariadbTool('mariadb'),
      basedir: [],
    };
  }
  const base = join(TOOLS_DIR, 'mariadb-11');
  try {
    accessSync(join(base, 'sbin', 'mariadbd'), constants.X_OK);
  } catch {
    throw new Error(
      `required tool "mariadb-11" is not installed in ${base}: run test/tools/install.sh --only mariadb-11`,
    );
  }
  return {
    installDb: join(base, 'bin', 'mariadb-install-db'),
    mariadbd: join(base, 'sbin', 'mariadbd'),
    client: join(base, 'bin', 'mariadb'),
    basedir: [`--basedir=${base}`],
  };
}

const SEARCH_DIRS = ['/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];

function mariadbTool(name: string): string {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), ...SEARCH_DIRS];
  for (const dir of dirs) {
    try {
      accessSync(join(dir, name), constants.X_OK);
      return join(dir, name);
    } catch {
      // next directory
    }
  }
  throw new Error(
    `required tool "${name}" is not installed: install the Debian package: apt-get install -y mariadb-server mariadb-client (or run test/tools/install.sh as root)`,
  );
}

function run(file: string, args: string[], input?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      file,
      args,
      { timeout: 120_000, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => {
        if (error)
          reject(new Error(`${file} ${args.join(' ')} failed: ${String(stderr).trim() || error.message}`));
        else resolve(String(stdout));
      },
    );
    if (input !== undefined) child.stdin?.end(input);
  });
}

const sqlString = (value: string) => `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;

async function waitForServer(
  client: string,
  args: string[],
  server: ChildProcess,
  log: () => string,
): Promise<void> {
  const deadline = Date.now() + 60_000;
  let last = '';
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`mariadbd exited (${server.exitCode}):\n${log()}`);
    try {
      await run(client, [...args, '-e', 'SELECT 1']);
      return;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`mariadbd did not accept connections within 60s (${last}):\n${log()}`);
}

export async function start(options: StartOptions = {}): Promise<MariaDb> {
  const { installDb, mariadbd, client, basedir } = programs(options.server);
  const rootPassword = options.rootPassword ?? randomBytes(12).toString('hex');
  const dir = mkdtempSync(join(tmpdir(), 'mariadb-'));
  const datadir = join(dir, 'data');
  const socket = join(dir, 'mysqld.sock');
  const errorLog = join(dir, 'error.log');
  const user = userInfo().username;
  mkdirSync(join(dir, 'tmp'));
  const port = await freePort();
  // --no-defaults everywhere: the host's /etc/mysql configuration (datadir, socket, bind-address) is not ours.
  await run(installDb, [
    '--no-defaults',
    ...basedir,
    `--datadir=${datadir}`,
    `--user=${user}`,
    '--auth-root-authentication-method=normal',
    '--skip-test-db',
    '--skip-name-resolve',
  ]);
  const server = spawn(
    mariadbd,
    [
      '--no-defaults',
      ...basedir,
      `--datadir=${datadir}`,
      `--socket=${socket}`,
      `--pid-file=${join(dir, 'mariadbd.pid')}`,
      `--tmpdir=${join(dir, 'tmp')}`,
      `--log-error=${errorLog}`,
      `--user=${user}`,
      '--bind-address=127.0.0.1',
      `--port=${port}`,
      '--skip-name-resolve',
      '--innodb-buffer-pool-size=16M',
      '--innodb-log-file-size=8M',
    ],
    { stdio: 'ignore' },
  );
  const log = () => {
    try {
      return readFileSync(errorLog, 'utf8').slice(-4000);
    } catch {
      return '(no error log)';
    }
  };
  let stopped = false;
  const stop = async () => {
    if (stopped) return;
    stopped = true;
    if (server.exitCode === null && server.signalCode === null) {
      const exited = new Promise((resolve) => server.once('exit', resolve));
      server.kill('SIGTERM');
      await exited;
    }
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    // A fresh datadir has password-less root accounts; root@localhost (socket) and root@127.0.0.1 (TCP)
    // get the password, so both ways in authenticate alike.
    await waitForServer(client, ['--no-defaults', `--socket=${socket}`, '-uroot'], server, log);
    const password = sqlString(rootPassword);
    await run(
      client,
      ['--no-defaults', `--socket=${socket}`, '-uroot'],
      [
        // Only these two root accounts and no anonymous ones: exactly what a client can log in as.
        "DELETE FROM mysql.global_priv WHERE User = '' OR (User = 'root' AND Host NOT IN ('localhost', '127.0.0.1'));",
        'FLUSH PRIVILEGES;',
        `CREATE USER IF NOT EXISTS 'root'@'127.0.0.1' IDENTIFIED BY ${password};`,
        `ALTER USER 'root'@'localhost', 'root'@'127.0.0.1' IDENTIFIED BY ${password};`,
        `GRANT ALL PRIVILEGES ON *.* TO 'root'@'127.0.0.1' WITH GRANT OPTION;`,
      ].join('\n'),
    );
  } catch (error) {
    await stop();
    throw error;
  }
  const clientConfig = join(dir, 'client.cnf');
  writeFileSync(
    clientConfig,
    `[client]\nuser=root\npassword="${rootPassword.replace(/\\/g, '\\\\').replace(/"/g, '\\"')}"\nhost=127.0.0.1\nport=${port}\n`,
    { mode: 0o600 },
  );
  const sql = async (query: string, sqlOptions: { database?: string } = {}) =>
    run(
      client,
      [
        `--defaults-file=${clientConfig}`,
        '--batch',
        '--skip-column-names',
        ...(sqlOptions.database ? [`--database=${sqlOptions.database}`] : []),
      ],
      query,
    );
  return {
    host: '127.0.0.1',
    port,
    socket,
    rootPassword,
    url: `mysql://root:${encodeURIComponent(rootPassword)}@127.0.0.1:${port}`,
    clientConfig,
    datadir,
    sql,
    stop,
  };
}
