// Benchmark of OpenNebula 7.4's Raft on the image's roles (test/support/ha-rig.ts): failover time after
// kill -9 of the leader (several kills: median and worst), and VM allocations per second on a solo front-end
// and on a three-member cluster (through the leader and through a follower), measured in the same run.
// Prints figures; thresholds are not asserted.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { eventually } from '../support/opennebula.js';
import { createHaRig, type HaRig, type Pod } from '../support/ha-rig.js';
import { oneLeader } from '../support/ha-checks.js';

const KILLS = 3;
const ALLOCATIONS = 40;
let solo: HaRig;
let ha: HaRig;
const rows: string[][] = [['measure', 'value']];

beforeAll(async () => {
  solo = await createHaRig({ solo: true });
  ha = await createHaRig();
  await Promise.all([solo.start(), ha.start()]);
}, 1_200_000);
afterAll(async () => {
  console.log('\nOpenNebula 7.4.0 front-end HA (three members, each with its own MariaDB)\n');
  for (const row of rows) console.log(`${row[0]!.padEnd(56)} ${row[1]!.padStart(10)}`);
  await Promise.all([solo?.close(), ha?.close()]);
}, 180_000);

const leader = (timeoutMs = 120_000) => oneLeader(ha, timeoutMs);

async function allocationsPerSecond(pod: Pod, label: string): Promise<void> {
  const started = Date.now();
  for (let i = 0; i < ALLOCATIONS; i++) {
    const answer = await pod.rpc('one.vm.allocate', [`NAME="bench-${i}"\nCPU="0.1"\nMEMORY="32"`, true]);
    if (!answer.ok) throw new Error(`${label}: one.vm.allocate failed: ${answer.value}`);
  }
  const seconds = (Date.now() - started) / 1000;
  rows.push([`VM allocations/s, ${label} (${ALLOCATIONS} in sequence)`, (ALLOCATIONS / seconds).toFixed(1)]);
}

it('VM allocations per second: solo vs HA', async () => {
  await allocationsPerSecond(solo.pods[0]!, 'solo');
  const current = await leader();
  await allocationsPerSecond(current, 'HA, to the leader');
  await allocationsPerSecond(
    ha.pods.find((pod) => pod !== current)!,
    'HA, to a follower (forwarded)',
  );
  expect(rows.length).toBe(4);
});

it(`failover after kill -9 of the leader (${KILLS} kills)`, async () => {
  const times: number[] = [];
  for (let kill = 0; kill < KILLS; kill++) {
    const old = await leader();
    const killedAt = Date.now();
    old.signalOned('SIGKILL');
    const others = ha.pods.filter((pod) => pod !== old);
    await eventually(
      async () => (await Promise.all(others.map((pod) => pod.raft()))).some((s) => s?.state === 3),
      120_000,
      'a new leader',
    );
    times.push(Date.now() - killedAt);
    await old.oned!.exited;
    old.start();
    await eventually(async () => (await old.raft())?.state === 2, 180_000, `${old.name} back as follower`);
  }
  const sorted = [...times].sort((a, b) => a - b);
  rows.push([`failover ms, median of ${KILLS} (election timeout 5000 ms)`, String(sorted[KILLS >> 1])]);
  rows.push([`failover ms, worst of ${KILLS}`, String(sorted[KILLS - 1])]);
  rows.push(['failover ms, each', times.join(' ')]);
  expect(times).toHaveLength(KILLS);
}, 900_000);
