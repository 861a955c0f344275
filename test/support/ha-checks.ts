// What the HA rig tests and the benchmark ask of a running cluster (test/support/ha-rig.ts): its one leader,
// its members in sync, and a watch on every process's command line for a secret.
import { readdirSync, readFileSync } from 'node:fs';
import { eventually } from './opennebula.js';
import type { HaRig, Pod } from './ha-rig.js';

/** The one pod whose oned leads, once exactly one does. */
export async function oneLeader(ha: HaRig, timeoutMs: number): Promise<Pod> {
  return eventually(
    async () => {
      const leaders = await ha.leaders();
      return leaders.length === 1 ? leaders[0] : undefined;
    },
    timeoutMs,
    () => 'exactly one leader',
  );
}

/** Every pod of PODS is a follower or the leader and has applied the leader's commit index. */
export async function inSync(pods: Pod[], timeoutMs = 120_000): Promise<void> {
  await eventually(
    async () => {
      const states = await Promise.all(pods.map((pod) => pod.raft()));
      const leader = states.find((s) => s?.state === 3);
      return (
        leader &&
        states.every(
          (s) => s !== undefined && (s.state === 2 || s.state === 3) && s.logIndex >= leader.commit,
        )
      );
    },
    timeoutMs,
    () => `${pods.map((p) => p.name).join(', ')} in sync`,
  );
}

/** How many elements one.POOL.info (all of them, every owner) lists on POD. */
export async function poolCount(pod: Pod, pool: string, element: string): Promise<number> {
  const params = pool === 'vmpool' ? [-2, -1, -1, -1] : pool === 'userpool' ? [] : [-2, -1, -1];
  const answer = await pod.rpc(`one.${pool}.info`, params);
  if (!answer.ok) throw new Error(`${pod.name}: one.${pool}.info failed: ${answer.value}`);
  return (answer.value.match(new RegExp(`<${element}>`, 'g')) ?? []).length;
}

/**
 * Reads every process's command line on the host (which sees every namespace's) every EVERY_MS until
 * stopped, and returns those that held SECRET (the way another user of a node sees them in /proc). The rig
 * hands each container's environment to its PID 1 as NAME=VALUE arguments (a container runtime does not):
 * those arguments do not count.
 */
export function watchCommandLines(secret: string, everyMs = 40): { stop(): string[] } {
  const seen = new Set<string>();
  const timer = setInterval(() => {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      let args: string[];
      try {
        args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      } catch {
        continue;
      }
      if (args.some((arg) => arg.includes(secret) && !/^[A-Z_]+=/.test(arg))) seen.add(args.join(' '));
    }
  }, everyMs);
  return {
    stop() {
      clearInterval(timer);
      return [...seen];
    },
  };
}
