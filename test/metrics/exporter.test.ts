// The exporter role (OpenNebula 7.4's own exporter, docker/rootfs/.../exporter.sh) against real oned,
// monitord, OneFlow, OneGate and hem built from source, a real MariaDB, a dummy host and a VM running on it
// (see test/support/opennebula.ts); then a real Prometheus (Debian's) scrapes it with the chart's rendered
// scrape settings and evaluates the chart's rendered rules.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as mariadb from '../support/mariadb.js';
import {
  addDummyDrivers,
  createRig,
  eventually,
  xmlrpc,
  type Rig,
  type Running,
} from '../support/opennebula.js';
import { dashboards, unknownMetrics } from './dashboards.js';
import { startPrometheus, type Prometheus } from './prometheus.js';
import { addPrometheusClient, exporterGemMissing, portTaken, sample, scrape } from './rig.js';

const VERSION = '7.4.0';
const PASSWORD = 'metrics-Pass_word';
const missing = exporterGemMissing();
if (missing) console.warn(`test/metrics/exporter.test.ts skipped: ${missing}`);

describe.skipIf(missing !== undefined)(
  `OpenNebula ${VERSION}'s exporter in the exporter role${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let db: mariadb.MariaDb;
    let rig: Rig;
    let env: Record<string, string>;
    const roles = new Map<string, Running>();
    let prometheus: Prometheus | undefined;
    let vm = -1;
    const session = `oneadmin:${PASSWORD}`;
    const call = async (method: string, ...params: (string | number | boolean)[]) => {
      const answer = await xmlrpc(2633, method, [session, ...params]);
      if (!answer.ok) throw new Error(`${method} failed: ${answer.body}`);
      return answer.value;
    };
    const role = (name: string) => roles.get(name)!;

    beforeAll(async () => {
      // The rig's daemons listen on the host's fixed ports: another rig on this machine must finish first.
      const ports = [2633, 4124, 2474, 5030, 2101, 9925];
      await eventually(
        async () => (await Promise.all(ports.map(portTaken))).every((taken) => !taken),
        1_800_000,
        `ports ${ports.join(', ')} free (another OpenNebula rig is running on this machine)`,
      );
      db = await mariadb.start();
      await db.sql(
        "CREATE DATABASE metrics; CREATE USER 'u_metrics'@'%' IDENTIFIED BY 'db-metrics-pw'; GRANT ALL PRIVILEGES ON metrics.* TO 'u_metrics'@'%';",
      );
      rig = createRig(VERSION, {
        // OpenNebula's dummy drivers, as its packaged files show them.
        editEtc: addDummyDrivers,
        editImage: addPrometheusClient,
      });
      env = {
        DB_BACKEND: 'mysql',
        DB_HOST: '127.0.0.1',
        DB_PORT: String(db.port),
        DB_NAME: 'metrics',
        DB_USER: 'u_metrics',
        DB_PASSWORD: 'db-metrics-pw',
        HOSTNAME: 'localhost',
        DB_WAIT_TIMEOUT: '20',
        ONEADMIN_PASSWORD: PASSWORD,
      };
      const init = await rig.run(['init'], { env });
      expect(init.code, init.output).toBe(0);
      roles.set('oned', rig.start(['oned'], { env }));
      await eventually(
        async () => (await xmlrpc(2633, 'one.user.info', [session, -1]).catch(() => undefined))?.ok,
        120_000,
        () => `oned answering:\n${role('oned').output().slice(-3000)}`,
      );
      for (const name of ['hem', 'oneflow', 'onegate']) roles.set(name, rig.start([name], { env }));
      // The exporter as the chart runs it: its own container, the credentials from ONEADMIN_PASSWORD.
      roles.set('exporter', rig.start(['exporter'], { env: { ONEADMIN_PASSWORD: PASSWORD } }));
    }, 3_600_000);
    afterAll(async () => {
      await prometheus?.stop();
      for (const handle of [...roles.values()].reverse()) await handle.stop(30_000);
      await rig?.close();
      await db?.stop();
    });

    it('reports the dummy host MONITORED, the running VM and the datastores from real oned', async () => {
      for (const ds of [0, 1]) await call('one.datastore.update', ds, 'TM_MAD="dummy"', 1);
      const host = Number(await call('one.host.allocate', 'dummy-host', 'dummy', 'dummy', -1));
      vm = Number(await call('one.vm.allocate', 'NAME="t"\nCPU="0.1"\nMEMORY="64"', false));
      let info = '';
      await eventually(
        async () => {
          info = await call('one.vm.info', vm, false);
          return /<STATE>3<\/STATE>/.test(info) && /<LCM_STATE>3<\/LCM_STATE>/.test(info);
        },
        240_000,
        () =>
          `VM ${vm} RUNNING (${/<STATE>\d+<\/STATE>/.exec(info)?.[0]} ${/<LCM_STATE>\d+<\/LCM_STATE>/.exec(info)?.[0]}):\n${role(
            'oned',
          )
            .output()
            .split('\n')
            .filter((line) => /\[E\]|LCM|DiM|VMM/.test(line))
            .slice(-30)
            .join('\n')}`,
      );
      const metrics = await eventually(
        async () => {
          const samples = await scrape();
          return samples.some((s) => s.name === 'opennebula_vm_state') ? samples : undefined;
        },
        120_000,
        () => `the exporter serving the VM:\n${role('exporter').output().slice(-3000)}`,
      );
      const id = (n: number) => String(n);
      expect(sample(metrics, 'opennebula_host_total')).toBe(1);
      expect(sample(metrics, 'opennebula_host_state', { one_host_id: id(host) })).toBe(2); // MONITORED
      expect(sample(metrics, 'opennebula_host_vms', { one_host_id: id(host) })).toBe(1);
      expect(sample(metrics, 'opennebula_vm_total')).toBe(1);
      expect(sample(metrics, 'opennebula_vm_state', { one_vm_id: id(vm) })).toBe(3); // ACTIVE
      expect(sample(metrics, 'opennebula_vm_lcm_state', { one_vm_id: id(vm) })).toBe(3); // RUNNING
      expect(sample(metrics, 'opennebula_vm_host_id', { one_vm_id: id(vm) })).toBe(host);
      // The system and image datastores' sizes, as oned reports them (one.datastore.info).
      for (const ds of [0, 1]) {
        const info = await call('one.datastore.info', ds, false);
        const mb = (tag: string) => Number(new RegExp(`<${tag}>(\\d+)</${tag}>`).exec(info)?.[1]);
        const labels = { one_datastore_id: id(ds) };
        expect(sample(metrics, 'opennebula_datastore_total_bytes', labels)).toBe(mb('TOTAL_MB') * 1024 ** 2);
        expect(sample(metrics, 'opennebula_datastore_free_bytes', labels)).toBe(mb('FREE_MB') * 1024 ** 2);
      }
      expect(sample(metrics, 'opennebula_datastore_total')).toBeGreaterThanOrEqual(3);
      // The chart's dashboards read only metrics this exporter emits.
      expect(unknownMetrics(dashboards(), new Set(metrics.map((s) => s.name)))).toEqual([]);
      // Not HA: the one zone server is this oned, follower-less.
      expect(metrics.filter((s) => s.name === 'opennebula_ha_is_leader').map((s) => s.value)).not.toContain(
        Number.NaN,
      );
    });

    it('reads the service states from the roles (1 while they run), not from systemd', async () => {
      const states = await scrape();
      for (const name of ['oned', 'scheduler', 'flow', 'gate', 'hem']) {
        expect(sample(states, `opennebula_${name}_state`), name).toBe(1);
      }
      // No FireEdge on the rig: its state is 0.
      expect(sample(states, 'opennebula_fireedge_state')).toBe(0);
      const probe = await role('exporter').exec(['probe', 'exporter']);
      expect(probe.code, probe.output).toBe(0);
      // Where the processes are visible (the all role's one PID namespace): oned's scheduler driver, and hem
      // by its probe.
      for (const [container, service] of [
        ['oned', 'scheduler'],
        ['hem', 'hem'],
      ] as const) {
        const seen = await role(container).exec(['service-state', service]);
        expect(seen.code, `${service} in ${container}'s container: ${seen.output}`).toBe(0);
      }
      const closed = await role('exporter').exec(['probe', 'exporter', '127.0.0.1', '9']);
      expect(closed.code).not.toBe(0);
      expect(closed.stderr).toContain('probe exporter: nothing listens on 127.0.0.1:9');
      const unknown = await role('exporter').exec(['service-state', 'sunstone']);
      expect(unknown.code).not.toBe(0);
      expect(unknown.stderr).toContain('service-state: unknown service "sunstone"');
    });

    it('a real Prometheus scrapes it with the chart settings: the VM count, and OneFlowDown fires when OneFlow stops', async () => {
      prometheus = await startPrometheus('127.0.0.1:9925');
      const count = await eventually(
        async () => (await prometheus!.query('count(opennebula_vm_state)'))[0]?.value[1],
        120_000,
        () => `the VM count in Prometheus:\n${prometheus!.output().slice(-3000)}`,
      );
      expect(count).toBe('1');
      expect(await prometheus.firing()).not.toContain('OpenNebulaOneFlowDown');

      expect(await role('oneflow').stop(30_000)).toBeGreaterThanOrEqual(0);
      roles.delete('oneflow');
      await eventually(
        async () => sample(await scrape(), 'opennebula_flow_state') === 0,
        60_000,
        'opennebula_flow_state 0 after OneFlow stopped',
      );
      // Other services stay up.
      expect(sample(await scrape(), 'opennebula_oned_state')).toBe(1);
      await eventually(
        async () => (await prometheus!.firing()).includes('OpenNebulaOneFlowDown'),
        180_000,
        () => `OpenNebulaOneFlowDown firing:\n${JSON.stringify(prometheus!.lastAlerts())}`,
      );
      expect(await prometheus.firing()).not.toContain('OpenNebulaOnedDown');
    });

    it('reads 0 for hem, then for oned and its scheduler, once each stops', async () => {
      const state = async (name: string) => sample(await scrape(), `opennebula_${name}_state`);
      expect(await state('hem')).toBe(1);
      await role('hem').stop(30_000);
      roles.delete('hem');
      await eventually(
        async () => (await state('hem')) === 0,
        60_000,
        'opennebula_hem_state 0 after hem stopped',
      );
      expect(await state('oned')).toBe(1);
      await role('oned').stop(60_000);
      roles.delete('oned');
      await eventually(
        async () => (await state('oned')) === 0,
        60_000,
        'opennebula_oned_state 0 after oned stopped',
      );
      expect(await state('scheduler')).toBe(0);
      expect(await state('gate')).toBe(1);
    });
  },
);
