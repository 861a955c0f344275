// A front-end's life into and through HA, on the Raft rig (test/support/ha-rig.ts), with members whose
// databases answer at their oned's address (no HA_DB_HOSTS): a solo OpenNebula 7.0 front-end with data
// becomes member 0 of three (1 -> 3), a member started with the 7.4 image while the 7.0 cluster runs waits
// in init, and with every member stopped (member 0 lagging behind the others' committed writes) the 7.4
// images upgrade: the member with the most up-to-date Raft log its database, the others restore a copy of it. Runs alone with `npx vitest run test/ha/lifecycle.test.ts`.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/opennebula.js';
import { createHaRig, DB_PASSWORD, zoneServers, type HaRig, type Pod } from '../support/ha-rig.js';
import * as checks from '../support/ha-checks.js';

const OLD = '7.0.0';
const NEW = '7.4.0';
const SOLO = { HA_PEERS: '', HA_SERVER_NAME: '' };
const TEMPLATES = ['web', 'db', 'cache'];
const USERS = ['alice', 'bob'];
const LAGGED = ['lagged-1', 'lagged-2', 'lagged-3', 'lagged-4', 'lagged-5'];

let ha: HaRig;
let commandLines: { stop(): string[] };

beforeAll(async () => {
  ha = await createHaRig({ version: OLD });
  commandLines = checks.watchCommandLines(DB_PASSWORD);
}, 300_000);

afterAll(async () => {
  commandLines?.stop();
  await ha?.close();
}, 180_000);

async function answers(pod: Pod): Promise<void> {
  await eventually(
    async () => (await pod.rpc('one.system.version').catch(() => undefined))?.ok,
    180_000,
    () => `${pod.name}'s oned answering:\n${pod.oned?.output().slice(-3000)}`,
  );
}

/** The solo front-end's data, as every member must read it. */
async function expectData(pod: Pod): Promise<void> {
  const templates = await pod.rpc('one.templatepool.info', [-2, -1, -1]);
  expect(templates.ok, `${pod.name}: ${templates.value}`).toBe(true);
  for (const name of TEMPLATES) expect(templates.value, pod.name).toContain(`<NAME>${name}</NAME>`);
  const users = await pod.rpc('one.userpool.info', []);
  for (const name of USERS) expect(users.value, pod.name).toContain(`<NAME>${name}</NAME>`);
}

async function expectCluster(version: string): Promise<void> {
  await checks.oneLeader(ha, 120_000);
  await checks.inSync(ha.pods, 180_000);
  for (const pod of ha.pods) {
    // A member that has just started is a follower in sync before the leader's first heartbeat names the
    // leader to it; until then it answers 'no leader found'.
    let answer = '';
    await eventually(
      async () => !/no leader found/.test((answer = (await pod.rpc('one.system.version')).value)),
      30_000,
      () => `${pod.name} knowing its leader: ${answer}`,
    );
    expect(answer, pod.name).toBe(version);
    expect(await zoneServers(pod), pod.name).toEqual(['one-0', 'one-1', 'one-2']);
    await expectData(pod);
  }
}

describe('HA lifecycle: 1 -> 3, then an upgrade across OpenNebula versions', () => {
  it('a solo front-end with data becomes server 0 of three, keeping its data; the others join by copy', async () => {
    const [first] = ha.pods;
    const solo = await first!.init(600_000, SOLO);
    expect(solo.code, solo.output).toBe(0);
    first!.start(SOLO);
    await answers(first!);
    for (const name of TEMPLATES) {
      const made = await first!.rpc('one.template.allocate', [`NAME="${name}"\nCPU="1"\nMEMORY="64"`]);
      expect(made.ok, made.value).toBe(true);
    }
    for (const name of USERS) {
      const made = await first!.rpc('one.user.allocate', [name, `${name}-Pass`, '']);
      expect(made.ok, made.value).toBe(true);
    }
    expect((await first!.rpc('one.zone.raftstatus')).value).toMatch(/<STATE>0<\/STATE>/);
    await first!.oned!.stop(30_000);

    await ha.start((what) => console.log(what));
    await expectCluster(OLD);
    const zone = await first!.rpc('one.zone.info', [0]);
    const server0 = zone.value.split('<SERVER>').find((block) => /<NAME>(<!\[CDATA\[)?one-0\b/.test(block));
    expect(server0).toMatch(/<ID>(<!\[CDATA\[)?0(\]\]>)?<\/ID>/);
    // The joiners copied one-0's database without the password on any process's command line.
    expect(commandLines.stop()).toEqual([]);
  });

  it(`a member started with the ${NEW} image while the ${OLD} cluster runs waits in init, not ready, saying what to do`, async () => {
    const leader = await checks.oneLeader(ha, 60_000);
    const member = ha.pods.find((pod) => pod !== leader && pod !== ha.pods[0])!;
    await member.oned!.stop(30_000);
    await member.useVersion(NEW);
    const started = Date.now();
    const init = await member.init(120_000, { HA_JOIN_TIMEOUT: '20' });
    expect(init.code, init.output).not.toBe(0);
    expect(Date.now() - started).toBeGreaterThanOrEqual(20_000);
    expect(init.output).toMatch(
      new RegExp(`the leader one-\\d runs OpenNebula ${OLD}, this image ${NEW}: waiting, not ready`),
    );
    expect(init.output).toMatch(/kubectl scale statefulset <sts> --replicas 0/);
    expect(init.output).not.toMatch(/upgrading|copying the database/);
    // Its database is untouched: the old image rejoins with it.
    await member.useVersion(OLD);
    const back = await member.init();
    expect(back.code, back.output).toBe(0);
    expect(back.output).toMatch(/rejoining as server/);
    member.start();
    await expectCluster(OLD);
  });

  it(`with every member stopped, the ${NEW} images upgrade the most up-to-date member's database (not a lagging member 0's) and the others restore a copy`, async () => {
    // Member 0 lags: its oned stopped (SIGSTOP) while the others commit writes it never receives.
    const [first, ...others] = ha.pods;
    first!.signalOned('SIGSTOP');
    const leader = await eventually(
      async () =>
        (
          await Promise.all(others.map(async (pod) => ((await pod.raft())?.state === 3 ? pod : undefined)))
        ).find(Boolean),
      120_000,
      () => `a leader among ${others.map((pod) => pod.name).join(', ')}`,
    );
    for (const name of LAGGED) {
      const made = await leader.rpc('one.template.allocate', [`NAME="${name}"\nCPU="1"\nMEMORY="64"`]);
      expect(made.ok, made.value).toBe(true);
    }
    await checks.inSync(others);
    await Promise.all(others.map((pod) => pod.oned!.stop(30_000)));
    first!.signalOned('SIGCONT');
    await first!.oned!.stop(30_000);
    for (const pod of ha.pods) await pod.useVersion(NEW);
    // As the StatefulSet's Parallel pods: every member's init at once, each oned as soon as its init ends.
    const outputs = await Promise.all(
      ha.pods.map(async (pod) => {
        const init = await pod.init();
        expect(init.code, `${pod.name}:\n${init.output}`).toBe(0);
        pod.start();
        return init.output;
      }),
    );
    await expectCluster(NEW);
    for (const pod of ha.pods) {
      const templates = await pod.rpc('one.templatepool.info', [-2, -1, -1]);
      for (const name of LAGGED)
        expect(templates.value, `${pod.name} lost ${name}`).toContain(`<NAME>${name}</NAME>`);
    }
    const upgraded = outputs.filter((output) => /upgrading/.test(output));
    expect(upgraded, outputs.join('\n----\n')).toHaveLength(1);
    expect(outputs[0]).not.toMatch(/upgrading/);
    expect(outputs[0]).toMatch(/restored the database one-[12] upgraded|older than OpenNebula .*: reset/);
    const made = await (
      await checks.oneLeader(ha, 60_000)
    ).rpc('one.template.allocate', ['NAME="after-upgrade"\nCPU="1"\nMEMORY="64"']);
    expect(made.ok, made.value).toBe(true);
  });
});
