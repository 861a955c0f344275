// The leader-only services of an HA member run as their container's own process (the chart): the gate
// (ha-gate.sh) runs the daemon only while the local oned is the Raft leader. The local oned here answers
// one.zone.raftstatus as OpenNebula 7.4 does, in a state the test changes (or not at all); the daemon is a
// stand-in that records its start and its stop, run by the gate's own function, and the real entrypoint
// runs the real roles (whose daemons are not installed here: reaching their start is what it shows).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import {
  ENTRYPOINT,
  ENTRYPOINT_LIB,
  configTrees,
  makeRoot,
  removeRoot,
  runEntrypoint,
} from '../support/entrypoint.js';
import { REPO_ROOT, runTool } from '../support/tools.js';

/** The local oned's Raft state: 0 solo, 1 candidate, 2 follower, 3 leader, or down (no answer). */
let raftState: number | 'down' = 2;
let server: Server | undefined;
let dir: string;
const gates: ChildProcess[] = [];

async function startOned(): Promise<number> {
  server = createServer((request, response) => {
    if (raftState === 'down') {
      request.socket.destroy();
      return;
    }
    const raft = `<RAFT><SERVER_ID>1</SERVER_ID><STATE>${raftState}</STATE><TERM>7</TERM><VOTEDFOR>1</VOTEDFOR><COMMIT>12</COMMIT><LOG_INDEX>12</LOG_INDEX><LOG_TERM>7</LOG_TERM><FEDLOG_INDEX>-1</FEDLOG_INDEX></RAFT>`;
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const ok = body.includes('<methodName>one.zone.raftstatus</methodName>') && body.includes('oneadmin:');
      const value = ok
        ? raft.replace(/</g, '&lt;').replace(/>/g, '&gt;')
        : '[one.zone.raftstatus] User couldn&apos;t be authenticated';
      response.writeHead(200, { 'content-type': 'text/xml' });
      response.end(
        `<?xml version="1.0"?><methodResponse><params><param><value><array><data><value><boolean>${ok ? 1 : 0}</boolean></value><value><string>${value}</string></value><value><i4>0</i4></value></data></array></value></param></params></methodResponse>`,
      );
    });
  });
  server.keepAliveTimeout = 0;
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/** A stand-in daemon: records "started PID" and, on SIGTERM, "stopped" (or ignores SIGTERM when told). */
function standIn(ignoreTerm = false): string {
  const path = join(dir, 'daemon');
  writeFileSync(
    path,
    [
      '#!/bin/bash',
      `echo "started $$" >> "${dir}/daemon.log"`,
      ignoreTerm ? "trap '' TERM" : `trap 'echo stopped >> "${dir}/daemon.log"; exit 0' TERM`,
      'while true; do sleep 0.1; done',
    ].join('\n'),
    { mode: 0o755 },
  );
  return path;
}

const daemonLog = () =>
  existsSync(join(dir, 'daemon.log')) ? readFileSync(join(dir, 'daemon.log'), 'utf8') : '';

interface Gate {
  process: ChildProcess;
  stderr: () => string;
  exited: Promise<number | null>;
}

function track(child: ChildProcess): Gate {
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  gates.push(child);
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { process: child, stderr: () => stderr, exited };
}

const baseEnv = (port: number) => ({
  PATH: process.env.PATH ?? '/usr/bin:/bin',
  OPENNEBULA_CONTAINER_LIB: ENTRYPOINT_LIB,
  ONE_ROOT: dir,
  HA_RPC_PORT: String(port),
  HA_LEADER_POLL: '1',
  HA_LEADER_STOP_TIMEOUT: '2',
  ONEADMIN_PASSWORD: 'x',
});

/** The gate's own function over the stand-in daemon, as the entrypoint runs it over the role's daemon. */
function gate(port: number, daemon: string): Gate {
  const script =
    'source "$OPENNEBULA_CONTAINER_LIB/common.sh"; source "$OPENNEBULA_CONTAINER_LIB/ha.sh"; ha_gate_run oneflow exec "$@"';
  return track(spawn('bash', ['-euo', 'pipefail', '-c', script, 'gate', daemon], { env: baseEnv(port) }));
}

async function until(what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'leader-gate-'));
  raftState = 2;
});

afterEach(async () => {
  // A gate still running stops its daemon on SIGTERM; any stand-in still alive after that is killed.
  for (const child of gates.splice(0)) {
    if (child.exitCode !== null || child.signalCode !== null) continue;
    const exited = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGTERM');
    await Promise.race([exited, sleep(5000)]);
    child.kill('SIGKILL');
  }
  for (const match of daemonLog().matchAll(/started (\d+)/g)) {
    try {
      process.kill(Number(match[1]), 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  server = undefined;
  rmSync(dir, { recursive: true, force: true });
});

describe('the leader gate', () => {
  it('does not start the daemon on a follower, and says why once', async () => {
    const run = gate(await startOned(), standIn());
    await sleep(3500);
    expect(daemonLog()).toBe('');
    expect(run.stderr().match(/this member is not the leader \(follower\): oneflow waits/g)).toHaveLength(1);
    expect(readFileSync(join(dir, 'run/one/ha-gate.oneflow'), 'utf8')).toMatch(/^standby \d+ \d+\n$/);
  });

  it('starts the daemon on the leader and stops it when leadership moves', async () => {
    const run = gate(await startOned(), standIn());
    await until('the standby message', () => run.stderr().includes('oneflow waits'));
    raftState = 3;
    await until('the daemon to start', () => daemonLog().startsWith('started'));
    expect(run.stderr()).toMatch(/this member leads \(term 7\): starting oneflow: \S*\/daemon$/m);
    expect(readFileSync(join(dir, 'run/one/ha-gate.oneflow'), 'utf8')).toMatch(/^running /);
    raftState = 2;
    await until('the daemon to stop', () => daemonLog().includes('stopped'));
    expect(run.stderr()).toMatch(/no longer the leader \(follower, term 7\): stopping oneflow/);
    await until('the standby record', () =>
      readFileSync(join(dir, 'run/one/ha-gate.oneflow'), 'utf8').startsWith('standby'),
    );
    // Leader again: started again, once.
    raftState = 3;
    await until('the second start', () => daemonLog().match(/started/g)?.length === 2);
    await sleep(2500);
    expect(daemonLog().match(/started/g)).toHaveLength(2);
    expect(run.process.exitCode).toBeNull();
  });

  it('stops the daemon when oned stops answering, after a few polls', async () => {
    raftState = 3;
    const run = gate(await startOned(), standIn());
    await until('the daemon to start', () => daemonLog().startsWith('started'));
    raftState = 'down';
    await until('the daemon to stop', () => daemonLog().includes('stopped'));
    expect(run.stderr()).toMatch(/oned has not answered 3 polls in a row: stopping oneflow/);
  });

  it('forwards SIGTERM to the daemon and ends', async () => {
    raftState = 3;
    const run = gate(await startOned(), standIn());
    await until('the daemon to start', () => daemonLog().startsWith('started'));
    run.process.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(daemonLog()).toContain('stopped');
    expect(run.stderr()).toMatch(/SIGTERM: stopping oneflow/);
    expect(existsSync(join(dir, 'run/one/ha-gate.oneflow'))).toBe(false);
  });

  it('kills a daemon that ignores SIGTERM after HA_LEADER_STOP_TIMEOUT', async () => {
    raftState = 3;
    const run = gate(await startOned(), standIn(true));
    await until('the daemon to start', () => daemonLog().startsWith('started'));
    const pid = Number(/started (\d+)/.exec(daemonLog())![1]);
    run.process.kill('SIGINT');
    expect(await run.exited).toBe(0);
    expect(run.stderr()).toMatch(/oneflow did not stop within 2s \(HA_LEADER_STOP_TIMEOUT\): SIGKILL/);
    expect(() => process.kill(pid, 0)).toThrow();
  });

  it('ends with the status of a daemon that ends by itself', async () => {
    raftState = 3;
    writeFileSync(join(dir, 'daemon'), '#!/bin/bash\nexit 3\n', { mode: 0o755 });
    const run = gate(await startOned(), join(dir, 'daemon'));
    expect(await run.exited).toBe(3);
    expect(run.stderr()).toMatch(/oneflow ended by itself \(status 3\)/);
  });

  it('refuses a bad HA_LEADER_POLL, naming it', async () => {
    const run = track(
      spawn(
        'bash',
        [
          '-c',
          'source "$OPENNEBULA_CONTAINER_LIB/common.sh"; source "$OPENNEBULA_CONTAINER_LIB/ha.sh"; ha_gate_run oneflow exec true',
        ],
        {
          env: { ...baseEnv(await startOned()), HA_LEADER_POLL: '0' },
        },
      ),
    );
    expect(await run.exited).not.toBe(0);
    expect(run.stderr()).toMatch(/HA_LEADER_POLL: "0" must be at least 1/);
  });
});

describe('the entrypoint with the gate', () => {
  let root: string;
  beforeEach(() => {
    root = makeRoot(configTrees().find((tree) => tree.version === '7.4.0')!);
    mkdirSync(join(root, 'var/lib/one/.one'), { recursive: true });
    writeFileSync(join(root, 'var/lib/one/.one/oneflow_auth'), 'serveradmin:x\n');
    writeFileSync(join(root, 'var/lib/one/.one/one_auth'), 'oneadmin:x\n');
  });
  afterEach(() => removeRoot(root));

  const roleEnv = (port: number, extra: Record<string, string> = {}) => ({
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    OPENNEBULA_CONTAINER_LIB: ENTRYPOINT_LIB,
    ONE_ROOT: root,
    ONE_VERSION: '7.4.0',
    ONE_AUTH_WAIT_TIMEOUT: '2',
    HA_PEERS: 'one-0=127.0.0.1 one-1=127.0.0.2 one-2=127.0.0.3',
    HA_SERVER_NAME: 'one-0',
    HA_RPC_PORT: String(port),
    HA_LEADER_POLL: '1',
    ...extra,
  });

  it('holds oneflow back on a follower (its probe passing as standby) and ends on SIGTERM', async () => {
    const port = await startOned();
    const run = track(spawn('bash', [ENTRYPOINT, 'oneflow'], { env: roleEnv(port) }));
    await until('the standby message', () => run.stderr().includes('oneflow waits'));
    const probe = await runEntrypoint(['probe', 'oneflow'], { ONE_ROOT: root });
    expect(probe.code, probe.stderr).toBe(0);
    expect(probe.stdout).toMatch(/oneflow: standby, this member is not the Raft leader/);
    run.process.kill('SIGTERM');
    expect(await run.exited).toBe(0);
    expect(run.stderr()).not.toContain('starting oneflow');
    // The gate gone, the probe checks the daemon again.
    expect((await runEntrypoint(['probe', 'oneflow'], { ONE_ROOT: root })).code).not.toBe(0);
  });

  it('starts oneflow with its usual command on the leader', async () => {
    raftState = 3;
    const run = track(spawn('bash', [ENTRYPOINT, 'oneflow'], { env: roleEnv(await startOned()) }));
    // The server is not installed here: it ends at once, and the gate with its status.
    expect(await run.exited).not.toBe(0);
    expect(run.stderr()).toMatch(
      /this member leads \(term 7\): starting oneflow: \/usr\/bin\/ruby \/usr\/lib\/one\/oneflow\/oneflow-server\.rb/,
    );
    expect(run.stderr()).toMatch(/oneflow ended by itself/);
  });

  it('gates hem too: held back on a follower, started under its ssh-agent on the leader', async () => {
    const port = await startOned();
    const env = roleEnv(port, { ONED_ENDPOINT: `http://127.0.0.1:${port}/RPC2` });
    const run = track(spawn('bash', [ENTRYPOINT, 'hem'], { env }));
    await until('the standby message', () => run.stderr().includes('hem waits'));
    expect(run.stderr()).not.toContain('starting hem');
    raftState = 3;
    // hem's server is not installed here: it ends at once, and the gate with its status.
    expect(await run.exited).not.toBe(0);
    expect(run.stderr()).toMatch(
      /starting hem: ssh-agent -a \S+ .*\/usr\/bin\/ruby \/usr\/lib\/one\/onehem\/onehem-server\.rb/,
    );
  });

  it.each([
    ['without HA_PEERS', { HA_PEERS: '' }],
    ['under supervisord (the all role: ha-hook gates it)', { SUPERVISOR_ENABLED: '1' }],
    ['for a role that is not leader-only', { HA_LEADER_SERVICES: 'onegate hem' }],
  ])('execs oneflow as before %s', async (_, extra) => {
    const run = await runEntrypoint(['oneflow'], roleEnv(await startOned(), extra));
    expect(run.stderr).toContain('starting oneflow: /usr/bin/ruby /usr/lib/one/oneflow/oneflow-server.rb');
    expect(run.stderr).not.toMatch(/Raft leader only|oneflow waits/);
  });
});

type Probe = { exec?: { command: string[] }; tcpSocket?: unknown };
type Container = { name: string; startupProbe?: Probe; readinessProbe?: Probe; livenessProbe?: Probe };

/** The front-end's containers as the chart renders them with REPLICAS members. */
function frontEndContainers(replicas: number): Container[] {
  const members = ['replicaCount', 'mariadb.replicaCount'].flatMap((key) => ['--set', `${key}=${replicas}`]);
  const text = runTool('helm', [
    'template',
    'one',
    join(REPO_ROOT, 'chart/opennebula'),
    '-n',
    'cloud',
    ...members,
  ]);
  type Doc = {
    kind: string;
    metadata: { name: string };
    spec: { template: { spec: { containers: Container[] } } };
  };
  const docs = parseAllDocuments(text).map((doc) => doc.toJS() as Doc | null);
  const sts = docs.find((doc) => doc?.kind === 'StatefulSet' && doc.metadata.name === 'one-opennebula')!;
  return sts.spec.template.spec.containers;
}

describe("the chart's probes of the leader-only services", () => {
  it("a gate's record left by a process that is gone (same PID, another start) does not pass the probe", async () => {
    mkdirSync(join(dir, 'run/one'), { recursive: true });
    writeFileSync(join(dir, 'run/one/ha-gate.oneflow'), `standby ${process.pid} 1\n`);
    const run = await runEntrypoint(['probe', 'oneflow', '127.0.0.1', '1'], { ONE_ROOT: dir });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/probe oneflow: nothing listens on 127\.0\.0\.1:1/);
  });

  it('the entrypoint probes OneForm on its port (13013) when no gate holds it back', async () => {
    const run = await runEntrypoint(['probe', 'oneform', '127.0.0.1', '1'], { ONE_ROOT: dir });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(/probe oneform: nothing listens on 127\.0\.0\.1:1/);
  });

  it.each(['oneflow', 'onegate', 'oneform', 'hem'])(
    'in HA, %s is probed through the entrypoint, which passes while the gate holds it back',
    (role) => {
      const container = frontEndContainers(3).find((c) => c.name === role)!;
      const probes = [container.startupProbe, container.readinessProbe, container.livenessProbe].filter(
        (probe): probe is Probe => probe !== undefined,
      );
      expect(probes.length).toBeGreaterThan(0);
      for (const probe of probes) {
        expect(probe.tcpSocket).toBeUndefined();
        expect(probe.exec?.command.slice(0, 3)).toEqual([
          '/usr/local/bin/opennebula-entrypoint',
          'probe',
          role,
        ]);
      }
    },
  );
});
