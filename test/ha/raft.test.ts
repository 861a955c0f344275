// OpenNebula's Raft on the image's roles: three members, each in its own network namespace with its own
// real MariaDB (reached at its HA_DB_HOSTS address) and real oned 7.4.0 (test/support/ha-rig.ts). Runs
// alone with `npx vitest run test/ha/raft.test.ts`.
// The members share one cluster for the whole file, in order: bootstrap, a forwarded write, a leader killed
// with SIGKILL, a minority stopped with SIGSTOP, a follower left behind past LOG_RETENTION.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../support/opennebula.js';
import { startCluster } from '../support/cluster.js';
import { createHaRig, DB_PASSWORD, zoneServers, type HaRig, type Pod } from '../support/ha-rig.js';
import * as checks from '../support/ha-checks.js';
import { startLabelRig, type LabelRig } from '../support/ha-label.js';

// Small on purpose: the last test leaves a follower behind by more records than this.
const LOG_RETENTION = 10;
const VM = (name: string) => `NAME="${name}"\nCPU="0.1"\nMEMORY="32"`;

let ha: HaRig;
let label: LabelRig;
let commandLines: { stop(): string[] };

async function allocate(pod: Pod, name: string): Promise<number> {
  const answer = await pod.rpc('one.vm.allocate', [VM(name), true]);
  if (!answer.ok) throw new Error(`${pod.name}: one.vm.allocate ${name} failed: ${answer.value}`);
  return Number(answer.value);
}

const vmCount = (pod: Pod) => checks.poolCount(pod, 'vmpool', 'VM');
const inSync = checks.inSync;
const oneLeader = (timeoutMs: number) => checks.oneLeader(ha, timeoutMs);

/** The label loops label LEADER's pod alone "leader", and the leader Service's endpoints follow. */
async function labelFollows(leader: Pod): Promise<void> {
  let seen = '';
  await eventually(
    async () => {
      const labels = await label.labels();
      const endpoints = await label.leaderEndpoints();
      seen = `labels ${JSON.stringify(labels)}, endpoints [${endpoints.join()}]`;
      return (
        ha.pods.every((pod) => labels[pod.name] === (pod === leader ? 'leader' : 'follower')) &&
        endpoints.join() === leader.name
      );
    },
    30_000,
    () => `the leader label on ${leader.name} alone (${seen})`,
  );
}

beforeAll(async () => {
  // Each member's database answers at its HA_DB_HOSTS address alone (the chart's MariaDB StatefulSet).
  ha = await createHaRig({
    dbHosts: true,
    env: { HA_LOG_RETENTION: String(LOG_RETENTION), HA_LOG_PURGE_TIMEOUT: '2' },
  });
  const cluster = startCluster({ nodes: 1 });
  // Awaited after the members start; a failure is reported there, not as an unhandled rejection.
  cluster.catch(() => undefined);
  commandLines = checks.watchCommandLines(DB_PASSWORD);
  await ha.start((what) => console.log(what));
  label = await startLabelRig(ha, await cluster);
}, 900_000);

afterAll(async () => {
  commandLines?.stop();
  await label?.close();
  await label?.cluster.stop();
  await ha?.close();
}, 180_000);

describe('OpenNebula 7.4 Raft across three members', () => {
  it('bootstraps exactly one leader, and every member lists the three servers', async () => {
    await oneLeader(120_000);
    await inSync(ha.pods);
    for (const pod of ha.pods) {
      expect(await zoneServers(pod), pod.name).toEqual(['one-0', 'one-1', 'one-2']);
    }
    const records = ha.pods.map((pod) => pod.hookRecord()?.split(' ')[0]);
    expect(records.filter((r) => r === 'leader')).toHaveLength(1);
    expect(records.filter((r) => r === 'follower')).toHaveLength(2);
    // The joiners copied the leader's database from its HA_DB_HOSTS address, and no process's command line
    // showed the database password meanwhile (as onedb backup and onedb restore would).
    expect(commandLines.stop()).toEqual([]);
    const leader = (await ha.leaders())[0]!;
    await labelFollows(leader);
    // Readiness: the probe inside each member's container reads its own oned's Raft state.
    for (const pod of ha.pods) {
      const probe = await pod.oned!.exec(['probe', 'raft']);
      expect(probe.code, probe.output).toBe(0);
      expect(probe.stdout).toMatch(
        pod === leader ? /^raft: leader \(term \d+\)/ : /^raft: follower \(term \d+\)/,
      );
    }
  });

  it("the label loop's ServiceAccount patches only the raft-role label of the set's pods, and a wrong label is corrected", async () => {
    const leader = await oneLeader(60_000);
    const other = await label.asLoop(['label', 'pod', leader.name, 'tampered=yes']);
    expect(other.code, other.output).not.toBe(0);
    expect(other.output).toMatch(/may change only the opennebula.io\/raft-role label/);
    const list = await label.asLoop(['get', 'pods']);
    expect(list.code, list.output).not.toBe(0);
    expect(list.output).toMatch(/forbidden/);
    // A lost hook, or an operator's mistake: the loop puts the label back.
    const wrong = await label.asLoop([
      'label',
      '--overwrite',
      'pod',
      leader.name,
      'opennebula.io/raft-role=follower',
    ]);
    expect(wrong.code, wrong.output).toBe(0);
    await labelFollows(leader);
  });

  it('a write sent to a follower is forwarded to the leader, and every member reads it', async () => {
    const leader = await oneLeader(60_000);
    const follower = ha.pods.find((pod) => pod !== leader)!;
    const id = await allocate(follower, 'via-follower');
    await inSync(ha.pods);
    for (const pod of ha.pods) {
      const info = await pod.rpc('one.vm.info', [id]);
      expect(info.ok, `${pod.name}: ${info.value}`).toBe(true);
      expect(info.value).toContain('<NAME>via-follower</NAME>');
    }
  });

  it('kill -9 of the leader: a new leader within the bound, no committed write lost, the old leader rejoins as follower', async () => {
    const leader = await oneLeader(60_000);
    for (let i = 0; i < 10; i++) await allocate(leader, `before-kill-${i}`);
    const before = await vmCount(leader);
    const oldOned = leader.oned!;
    const killedAt = Date.now();
    leader.signalOned('SIGKILL');
    const others = ha.pods.filter((pod) => pod !== leader);
    const successor = await eventually(
      async () => {
        const states = await Promise.all(others.map((pod) => pod.raft()));
        return others.find((_, i) => states[i]?.state === 3);
      },
      // OpenNebula's election timeout is 5 s (plus its random part); 2 loaded cores get three times that.
      30_000,
      'a new leader',
    );
    const failoverMs = Date.now() - killedAt;
    console.log(`failover: ${successor.name} leads ${failoverMs} ms after kill -9 of ${leader.name}`);
    expect(await vmCount(successor)).toBe(before);
    // ha-oned ran the follower clean-up when the killed oned ended; the new leader's hook ran too.
    expect(await oldOned.exited).not.toBe(0);
    expect(leader.hookRecord()).toMatch(/^follower .* ha-oned-cleanup$/);
    await eventually(async () => successor.hookRecord()?.startsWith('leader'), 20_000, 'leader hook');
    await labelFollows(successor);
    await allocate(successor, 'after-kill');
    leader.start();
    await inSync(ha.pods, 180_000);
    expect((await leader.raft())?.state).toBe(2);
    expect(await vmCount(leader)).toBe(before + 1);
  });

  it('a minority (two members stopped) cannot commit; the cluster recovers when they continue', async () => {
    const leader = await oneLeader(60_000);
    const followers = ha.pods.filter((pod) => pod !== leader);
    for (const pod of followers) pod.signalOned('SIGSTOP');
    try {
      const write = await leader
        .rpc('one.vm.allocate', [VM('minority'), true])
        .then((answer) => (answer.ok ? 'committed' : `refused: ${answer.value}`))
        .catch((error: Error) => `no answer: ${error.message}`);
      expect(write).not.toBe('committed');
    } finally {
      for (const pod of followers) pod.signalOned('SIGCONT');
    }
    const after = await oneLeader(60_000);
    await eventually(
      async () => (await after.rpc('one.vm.allocate', [VM('after-minority'), true])).ok,
      60_000,
      'a write after SIGCONT',
    );
    await inSync(ha.pods);
  });

  it('a follower left behind past LOG_RETENTION rejoins through server-reset', async () => {
    const leader = await oneLeader(60_000);
    const behind = ha.pods.find((pod) => pod !== leader)!;
    await behind.oned!.stop(30_000);
    expect(behind.hookRecord()).toMatch(/^follower /);
    for (let i = 0; i < 3 * LOG_RETENTION; i++) await allocate(leader, `while-down-${i}`);
    // The leader purges all but the last LOG_RETENTION applied records every LOG_PURGE_TIMEOUT (2 s).
    await new Promise((resolve) => setTimeout(resolve, 5_000));
    const init = await behind.init();
    expect(init.code, init.output).toBe(0);
    expect(init.output).toMatch(/past LOG_RETENTION.*: reset/);
    behind.start();
    await inSync(ha.pods, 180_000);
    expect(await vmCount(behind)).toBe(await vmCount(leader));
  });
});
