// The chart's showback CronJob (templates/showback.yaml) as a pod would run it, against real OpenNebula
// 7.4.0 (test/support/opennebula.ts's rig, in a network namespace of its own: test/support/isolated-rig.ts):
// the container's arguments and environment exactly as rendered, oneadmin's password as the Secret's file
// at the rendered path, the API Service's name resolving to the front-end (the cluster's DNS), and no
// front-end volume (a fresh one: nothing of oned's). oned's showback table fills from the run.
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { database, isolate, runningDummyVm, sql, type Netns } from '../support/isolated-rig.js';
import * as mariadb from '../support/mariadb.js';
import {
  addDummyDrivers,
  createRig,
  ONEADMIN_UID,
  tmpDir,
  type Rig,
  type Running,
} from '../support/opennebula.js';
import { REPO_ROOT, runTool } from '../support/tools.js';

const VERSION = '7.4.0';
const PASSWORD = 'showback-Pass_word';
let work: string;
let ns: Netns | undefined;
let db: mariadb.MariaDb;
let frontEnd: Rig;
let oned: Running | undefined;
let env: Record<string, string>;

type Container = {
  args: string[];
  env: { name: string; value: string }[];
  volumeMounts: { name: string; mountPath: string }[];
};

/** The showback CronJob's container as the chart renders it in namespace cloud. */
function renderedContainer(): Container {
  const text = runTool('helm', [
    'template',
    'one',
    join(REPO_ROOT, 'chart/opennebula'),
    '-n',
    'cloud',
    '-s',
    'templates/showback.yaml',
  ]);
  const cronJob = parseAllDocuments(text)
    .map(
      (doc) =>
        doc.toJS() as {
          kind?: string;
          spec: { jobTemplate: { spec: { template: { spec: { containers: Container[] } } } } };
        },
    )
    .find((doc) => doc?.kind === 'CronJob')!;
  return cronJob.spec.jobTemplate.spec.template.spec.containers[0]!;
}

/** A rig for the CronJob's pod: the Secret's file at its mount path, the Service's name in /etc/hosts. */
function showbackPod(container: Container, password: string): Rig {
  const endpoint = new URL(container.env.find((e) => e.name === 'ONED_ENDPOINT')!.value);
  const passwordFile = container.env.find((e) => e.name === 'ONEADMIN_PASSWORD_FILE')!.value;
  return createRig(VERSION, {
    editImage(layer) {
      // The rig copies the layer's /run into each container's /run (a tmpfs), as the kubelet mounts Secrets.
      const file = join(layer, passwordFile);
      mkdirSync(dirname(file), { recursive: true });
      writeFileSync(file, password);
      chownSync(file, 0, ONEADMIN_UID); // the Secret's defaultMode 0440 with the pod's fsGroup
      chmodSync(file, 0o440);
      writeFileSync(
        join(layer, 'etc/hosts'),
        `${readFileSync('/etc/hosts', 'utf8')}127.0.0.1 ${endpoint.hostname}\n`,
      );
    },
  });
}

beforeAll(async () => {
  work = tmpDir('showback-chart-');
  ns = isolate(work);
  db = await mariadb.start();
  env = { ...database(db, 'showback'), HOSTNAME: 'localhost', ONEADMIN_PASSWORD: PASSWORD };
  frontEnd = createRig(VERSION, { editEtc: addDummyDrivers });
  const init = await frontEnd.run(['init'], { env });
  if (init.code !== 0) throw new Error(`init failed:\n${init.output}`);
  oned = frontEnd.start(['oned'], { env });
  await runningDummyVm(frontEnd, env);
}, 1_800_000);

afterAll(async () => {
  await oned?.stop(30_000);
  await frontEnd?.close();
  await db?.stop();
  ns?.close();
  if (work) rmSync(work, { recursive: true, force: true });
}, 120_000);

describe(`the chart's showback CronJob against OpenNebula ${VERSION}`, () => {
  const container = renderedContainer();
  const run = async (password: string) => {
    const pod = showbackPod(container, password);
    try {
      const renderedEnv = Object.fromEntries(container.env.map((e) => [e.name, e.value]));
      const result = await pod.run(container.args, { env: { ...renderedEnv, ONE_AUTH_WAIT_TIMEOUT: '30' } });
      // The pod has no volume at /var/lib/one (oneadmin's home, read-only in the image): nothing goes there.
      return { ...result, wroteHome: readdirSync(pod.volume) };
    } finally {
      await pod.close();
    }
  };
  const records = () => Number(sql(db, 'SELECT COUNT(*) FROM vm_showback', 'showback'));

  it('refuses with a wrong password in the Secret, and records nothing', async () => {
    const refused = await run('not-the-password');
    expect(refused.code, refused.output).not.toBe(0);
    expect(refused.output).toMatch(/couldn't be authenticated/);
    expect(records()).toBe(0);
  }, 120_000);

  it("calculates once with the Secret's password through the API Service, and oned holds the VM's records", async () => {
    const done = await run(PASSWORD);
    expect(done.code, done.output).toBe(0);
    expect(records()).toBeGreaterThan(0);
    expect(sql(db, 'SELECT vmid FROM vm_showback', 'showback')).toMatch(/^0$/m);
    expect(done.wroteHome).toEqual([]);
  }, 120_000);
});
