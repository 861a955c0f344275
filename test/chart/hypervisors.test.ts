// The hypervisor-facing endpoint, per exposure mode: the address and ports oned and monitord advertise
// (HOSTNAME, MONITOR_ADDRESS, MONITOR_PORT) must be the ones the Service (or the node, with host
// networking) really exposes, monitord must listen on the port it advertises, SSH must be reachable, and
// NOTES must say what to open where.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, requireTool, runTool } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');

type Port = { name: string; port: number; targetPort: number | string; nodePort?: number; protocol: string };
type Container = {
  name: string;
  env: { name: string; value?: string }[];
  ports?: { name: string; containerPort: number; hostPort?: number; protocol: string }[];
};
type Doc = {
  kind: string;
  metadata: { name: string };
  spec: {
    type?: string;
    ports?: Port[];
    template?: { spec: { hostNetwork?: boolean; dnsPolicy?: string; containers: Container[] } };
  };
};

function render(values: string[]): { docs: Doc[]; notes: string } {
  const args = ['template', 'one', CHART, '--namespace', 'cloud', ...values.flatMap((v) => ['--set', v])];
  const docs = parseAllDocuments(runTool('helm', args))
    .map((doc) => doc.toJS() as Doc | null)
    .filter((doc): doc is Doc => doc !== null);
  // helm template leaves NOTES out; a client-side dry-run install prints them after the manifests.
  const install = ['install', 'one', CHART, '--namespace', 'cloud', '--dry-run=client', ...values.flatMap((v) => ['--set', v])];
  const notes = runTool('helm', install).split('NOTES:').at(-1)!;
  return { docs, notes };
}

function advertised(docs: Doc[]) {
  const sts = docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'one-opennebula')!;
  const pod = sts.spec.template!.spec;
  const oned = pod.containers.find((c) => c.name === 'oned')!;
  const sshd = pod.containers.find((c) => c.name === 'sshd')!;
  const env = (name: string) => oned.env.find((e) => e.name === name)?.value;
  return {
    pod,
    hostname: env('HOSTNAME'),
    monitorAddress: env('MONITOR_ADDRESS'),
    monitorPort: Number(env('MONITOR_PORT')),
    monitordListens: oned.ports!.filter((p) => p.name.startsWith('monitord')),
    sshListens: sshd.ports!.find((p) => p.name === 'ssh')!,
    sshdEnvPort: Number(sshd.env.find((e) => e.name === 'SSHD_PORT')?.value),
  };
}

function failure(values: string[]): string {
  try {
    execFileSync(requireTool('helm'), ['template', 'one', CHART, ...values.flatMap((v) => ['--set', v])], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (error) {
    return String((error as { stderr?: string }).stderr);
  }
  throw new Error(`helm template ${values.join(' ')} succeeded but should have failed`);
}

const hypervisorService = (docs: Doc[]) => docs.find((d) => d.kind === 'Service' && d.metadata.name === 'one-opennebula-hypervisors');

describe('hypervisor endpoint', () => {
  it('LoadBalancer: monitord (TCP+UDP) and SSH on 22 on one Service, its address advertised', () => {
    const { docs, notes } = render(['hypervisors.exposure=LoadBalancer', 'hypervisors.address=192.0.2.40', 'hypervisors.loadBalancerSourceRanges={192.0.2.0/24}']);
    const a = advertised(docs);
    const service = hypervisorService(docs)!;
    expect(service.spec.type).toBe('LoadBalancer');
    expect(a.hostname).toBe('192.0.2.40');
    expect(a.monitorAddress).toBe('192.0.2.40');
    const monitord = service.spec.ports!.filter((p) => p.name.startsWith('monitord'));
    expect(monitord.map((p) => [p.protocol, p.port])).toEqual([
      ['TCP', a.monitorPort],
      ['UDP', a.monitorPort],
    ]);
    // monitord listens on the port it tells agents to send to, and the Service forwards to it.
    for (const p of monitord) {
      const listen = a.monitordListens.find((l) => l.name === p.targetPort)!;
      expect(listen.containerPort).toBe(a.monitorPort);
      expect(listen.protocol).toBe(p.protocol);
    }
    const ssh = service.spec.ports!.find((p) => p.name === 'ssh')!;
    expect(ssh.port).toBe(22);
    expect(ssh.targetPort).toBe('ssh');
    expect(a.sshListens.containerPort).toBe(a.sshdEnvPort);
    // No other Service exposes monitord or SSH.
    const others = docs.filter((d) => d.kind === 'Service' && d !== service).flatMap((d) => d.spec.ports!.map((p) => p.name));
    expect(others.filter((n) => n.startsWith('monitord') || n === 'ssh')).toEqual([]);
    expect(notes).toMatch(/192\.0\.2\.40: TCP and UDP 4124 \(monitord\), TCP 22 \(SSH\)/);
  });

  it('NodePort: monitord listens on and advertises its node port; SSH has a node port', () => {
    const { docs, notes } = render([
      'hypervisors.exposure=NodePort',
      'hypervisors.address=node1.example.org',
      'hypervisors.nodePorts.monitord=30124',
      'hypervisors.nodePorts.ssh=30022',
    ]);
    const a = advertised(docs);
    const service = hypervisorService(docs)!;
    expect(service.spec.type).toBe('NodePort');
    expect(a.hostname).toBe('node1.example.org');
    expect(a.monitorAddress).toBe('node1.example.org');
    expect(a.monitorPort).toBe(30124);
    const monitord = service.spec.ports!.filter((p) => p.name.startsWith('monitord'));
    expect(monitord.map((p) => [p.protocol, p.nodePort])).toEqual([
      ['TCP', 30124],
      ['UDP', 30124],
    ]);
    for (const listen of a.monitordListens) expect(listen.containerPort).toBe(30124);
    expect(service.spec.ports!.find((p) => p.name === 'ssh')!.nodePort).toBe(30022);
    expect(notes).toMatch(/node1\.example\.org: TCP and UDP 30124 \(monitord\), TCP 30022 \(SSH\)/);
    expect(notes).toMatch(/Port 30022/);
  });

  it('NodePort: refuses to guess node ports', () => {
    expect(failure(['hypervisors.exposure=NodePort', 'hypervisors.address=192.0.2.1'])).toMatch(
      /hypervisors\.nodePorts\.monitord is required with hypervisors\.exposure=NodePort/,
    );
    expect(failure(['hypervisors.exposure=NodePort', 'hypervisors.address=192.0.2.1', 'hypervisors.nodePorts.monitord=30124'])).toMatch(
      /hypervisors\.nodePorts\.ssh is required with hypervisors\.exposure=NodePort/,
    );
  });

  it('HostNetwork: monitord and sshd listen on the node itself, no Service', () => {
    const { docs, notes } = render(['hypervisors.exposure=HostNetwork', 'hypervisors.address=192.0.2.7']);
    const a = advertised(docs);
    expect(a.pod.hostNetwork).toBe(true);
    expect(a.pod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    expect(hypervisorService(docs)).toBeUndefined();
    expect(a.hostname).toBe('192.0.2.7');
    expect(a.monitorAddress).toBe('192.0.2.7');
    // On the node's network every containerPort is a port of the node.
    for (const listen of a.monitordListens) expect(listen.containerPort).toBe(a.monitorPort);
    expect(a.sshListens.containerPort).toBe(a.sshdEnvPort);
    expect(notes).toMatch(/192\.0\.2\.7: TCP and UDP 4124 \(monitord\), TCP 2222 \(SSH\)/);
  });

  it('without an address: renders, and NOTES says hypervisors cannot reach the front-end yet', () => {
    const { docs, notes } = render([]);
    const a = advertised(docs);
    expect(a.monitorAddress).toBe('auto');
    expect(a.hostname).toBe('one-opennebula-0.one-opennebula-headless.cloud.svc.cluster.local');
    expect(notes).toMatch(/no hypervisor outside the cluster reaches monitord or sshd yet/);
    const lb = render(['hypervisors.exposure=LoadBalancer', 'hypervisors.loadBalancerSourceRanges={192.0.2.0/24}']);
    expect(lb.notes).toMatch(/hypervisors\.address is not set/);
  });
});
