// The restore Job against a real API server (kwok nodes): it waits until no front-end pod is left before
// it touches the database, with the ServiceAccount and Role the chart renders (kwok runs no containers, so
// the Job's script runs here with a token of that ServiceAccount, as test/cluster/credentials-job.ts does).
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCluster, type Cluster } from '../support/cluster.js';
import { freePort } from '../support/oci-registry.js';
import { REPO_ROOT } from '../support/tools.js';
import { documents, runJobScript } from './credentials-job.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
const BACKUP = 'opennebula-20250101T031700Z';

let cluster: Cluster;
let work: string;

beforeAll(async () => {
  cluster = await startCluster({ nodes: 1 });
  work = mkdtempSync(join(tmpdir(), 'restore-'));
  mkdirSync(join(work, 'backups'));
  writeFileSync(
    join(work, 'backups', `${BACKUP}.sql.gz`),
    gzipSync('CREATE TABLE pool_control (x INT);\n-- Dump completed on 2025-01-01\n'),
  );
  writeFileSync(join(work, 'password'), 'unused');
}, 180_000);
afterAll(async () => {
  await cluster?.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

/** A running front-end pod as the StatefulSet makes it (kwok marks it Running). */
async function frontEndPod(ns: string) {
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'one-opennebula-0',
      labels: {
        'app.kubernetes.io/name': 'opennebula',
        'app.kubernetes.io/instance': 'one',
        'app.kubernetes.io/component': 'frontend',
      },
    },
    spec: { containers: [{ name: 'oned', image: 'opennebula' }] },
  };
  await cluster.must('kubectl', ['-n', ns, 'apply', '-f', '-'], JSON.stringify(pod));
}

describe('restore Job', () => {
  let ns: string;
  let restore: (env: Record<string, string>) => ReturnType<typeof runJobScript>;

  beforeAll(async () => {
    ns = 'restore';
    await cluster.must('kubectl', ['create', 'namespace', ns]);
    const rendered = documents(
      await cluster.must('helm', [
        'template',
        'one',
        CHART,
        '-n',
        ns,
        '--set',
        'restore.enabled=true',
        '--set',
        `restore.backup=${BACKUP}`,
        '--set',
        'persistence.enabled=false',
      ]),
    );
    // A closed port: once the front-end is gone, the script's next step (reaching the database) fails, which
    // shows how far it got without a database here.
    const closed = String(await freePort());
    restore = (env) =>
      runJobScript(cluster, ns, rendered, (name) => name.includes('-restore-'), {
        DB_HOST: '127.0.0.1',
        DB_PORT: closed,
        DB_PASSWORD_FILE: join(work, 'password'),
        BACKUP_DIR: join(work, 'backups'),
        ...env,
      });
  });

  it('refuses to start while a front-end pod runs, naming it, within restore.waitSeconds', async () => {
    await frontEndPod(ns);
    const run = await restore({ RESTORE_WAIT_SECONDS: '3' });
    expect(run.code).not.toBe(0);
    expect(run.stderr).toMatch(
      /restore FAILED: front-end pod\(s\) one-opennebula-0 still exist in restore after 3 s: /,
    );
    expect(run.stderr).not.toMatch(/cannot reach database/);
  }, 60_000);

  it('goes on once the front-end pod is gone', async () => {
    await frontEndPod(ns);
    // Deleted well after the script started (its ServiceAccount's token and RBAC take a few kubectl calls).
    const deleting = (async () => {
      await new Promise((resolve) => setTimeout(resolve, 15_000));
      await cluster.must('kubectl', ['-n', ns, 'delete', 'pod', 'one-opennebula-0', '--wait=true']);
    })();
    const run = await restore({ RESTORE_WAIT_SECONDS: '120' });
    await deleting;
    expect(run.stdout).toMatch(/waiting for front-end pod\(s\) one-opennebula-0 to stop/);
    expect(run.stderr).toMatch(/restore FAILED: cannot reach database opennebula on 127\.0\.0\.1:\d+/);
  }, 150_000);

  it("may only list pods: the Job's Role", async () => {
    const can = async (verb: string, resource: string) =>
      (
        await cluster.run('kubectl', [
          'auth',
          'can-i',
          verb,
          resource,
          '-n',
          ns,
          `--as=system:serviceaccount:${ns}:one-opennebula-restore`,
        ])
      ).stdout.trim();
    expect(await can('list', 'pods')).toBe('yes');
    expect(await can('delete', 'pods')).toBe('no');
    expect(await can('get', 'secrets')).toBe('no');
  });
});
