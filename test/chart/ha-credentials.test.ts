// The HA members' shared credentials (files/ha-credentials.sh, the `ha-credentials` init container), run
// with bash as the chart renders it for replicaCount 3. The members' SSH is a stand-in on PATH that refuses
// what sshd would (another key, an interactive login, a member that is not up) and otherwise runs the
// command in that member's home (a directory per member); sshd itself and the pods' network are the
// real-node rig's part.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, runCommand, runTool } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');

type Container = { name: string; args: string[]; env: { name: string; value?: string }[] };

/** The rendered init container: its script and its environment. */
function rendered(): { script: string; env: Record<string, string> } {
  const text = runTool('helm', [
    ...['template', 'one', CHART, '-n', 'cloud', '--kube-version', '1.36.3', '--show-only', 'templates/statefulset.yaml'],
    ...['--set', 'replicaCount=3', '--set', 'mariadb.replicaCount=3'],
  ]);
  const sts = parseAllDocuments(text)
    .map((doc) => doc.toJS() as { kind: string; spec: { template: { spec: { initContainers: Container[] } } } })
    .find((doc) => doc?.kind === 'StatefulSet')!;
  const container = sts.spec.template.spec.initContainers.find((c) => c.name === 'ha-credentials')!;
  return {
    script: container.args[0]!,
    env: Object.fromEntries(container.env.filter((e) => e.value !== undefined).map((e) => [e.name, e.value!])),
  };
}

// Stands in for `ssh -i KEY -p PORT -o ... oneadmin@HOST COMMAND` between members.
const SSH = `#!/bin/bash
key='' port='' batch=no target=''
while [ $# -gt 1 ]; do
	case $1 in
	-i) key=$2; shift 2 ;;
	-p) port=$2; shift 2 ;;
	-o) [ "$2" != BatchMode=yes ] || batch=yes; shift 2 ;;
	*) target=$1; shift ;;
	esac
done
echo "$target $port" >>"$MEMBERS/calls"
host=\${target#oneadmin@}
[ -d "$MEMBERS/$host" ] || { echo "ssh: connect to host $host port $port: Connection refused" >&2; exit 255; }
[ "$batch" = yes ] && cmp -s "$key" "$MEMBERS/authorized-key" || { echo "oneadmin@$host: Permission denied (publickey)." >&2; exit 255; }
cd "$MEMBERS/$host/var/lib/one" && exec bash -c "$1"
`;

const CREDENTIALS = ['one_key', 'one_auth', 'oneflow_auth', 'onegate_auth', 'fireedge_key'];

let work: string;
let script: string;
let env: Record<string, string>;
let hosts: string[];
let names: string[];

beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'ha-credentials-'));
  ({ script, env } = rendered());
  names = env.HA_PEERS!.split(' ').map((entry) => entry.split('=')[0]!);
  hosts = env.HA_PEERS!.split(' ').map((entry) => entry.split('=')[1]!);
  mkdirSync(join(work, 'bin'));
  writeFileSync(join(work, 'bin/ssh'), SSH);
  chmodSync(join(work, 'bin/ssh'), 0o755);
  mkdirSync(join(work, 'members'));
  mkdirSync(join(work, 'key'));
  writeFileSync(join(work, 'key/id_ed25519'), 'the members\' shared key\n');
  writeFileSync(join(work, 'members/authorized-key'), 'the members\' shared key\n');
});
afterEach(() => rmSync(work, { recursive: true, force: true }));

/** A member that is up (its sshd answers), with these files in ~oneadmin/.one. */
function memberUp(index: number, files: string[]): string {
  const dir = join(work, 'members', hosts[index]!, 'var/lib/one/.one');
  mkdirSync(dir, { recursive: true });
  for (const file of files) writeFileSync(join(dir, file), `${file} of the cluster\n`);
  return dir;
}

/** Runs the script as member INDEX, whose own volume is under work/self-INDEX. */
async function runAs(index: number, extra: Record<string, string> = {}) {
  const root = join(work, `self-${index}`);
  mkdirSync(join(root, 'tmp'), { recursive: true });
  const result = await runCommand('bash', ['-c', script], {
    env: {
      PATH: `${join(work, 'bin')}:${process.env.PATH}`,
      ...env,
      HA_SERVER_NAME: names[index]!,
      SSH_KEY_DIR: join(work, 'key'),
      ONE_ROOT: root,
      TMPDIR: join(root, 'tmp'),
      MEMBERS: join(work, 'members'),
      ...extra,
    },
  });
  return { ...result, own: join(root, 'var/lib/one/.one'), tmp: join(root, 'tmp') };
}

const calls = () => (existsSync(join(work, 'members/calls')) ? readFileSync(join(work, 'members/calls'), 'utf8') : '');

describe('ha-credentials (the HA init container)', () => {
  it('copies the complete set from a member that has it, over the shared key and the chart\'s SSH port', async () => {
    memberUp(0, CREDENTIALS);
    const run = await runAs(2);
    expect(run.stdout).toContain(`copied the cluster's credentials from ${names[0]}`);
    expect(run.code).toBe(0);
    for (const file of CREDENTIALS) expect(readFileSync(join(run.own, file), 'utf8')).toBe(`${file} of the cluster\n`);
    expect(statSync(run.own).mode & 0o777).toBe(0o700);
    expect(readdirSync(run.tmp)).toEqual([]);
    expect(calls()).toContain(`oneadmin@${hosts[0]} ${env.SSHD_PORT}`);
  });

  it('lets the first member go on to bootstrap when no member has credentials', async () => {
    const run = await runAs(0);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain(`${names[0]} is the first member`);
    expect(existsSync(run.own)).toBe(false);
  });

  it('never takes a set without FireEdge\'s key, and gives up after HA_JOIN_TIMEOUT naming it', async () => {
    memberUp(0, ['one_key', 'one_auth']);
    const run = await runAs(1, { HA_JOIN_TIMEOUT: '1' });
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain('within 1s (HA_JOIN_TIMEOUT)');
    expect(existsSync(run.own)).toBe(false);
  });

  it('takes nothing from a member whose SSH refuses the key', async () => {
    memberUp(0, CREDENTIALS);
    writeFileSync(join(work, 'members/authorized-key'), 'another key\n');
    const run = await runAs(1, { HA_JOIN_TIMEOUT: '1' });
    expect(run.code).not.toBe(0);
    expect(existsSync(run.own)).toBe(false);
  });

  it('keeps the credentials a member already has, asking no one', async () => {
    const own = join(work, 'self-1/var/lib/one/.one');
    mkdirSync(own, { recursive: true });
    for (const file of CREDENTIALS) writeFileSync(join(own, file), 'its own\n');
    memberUp(0, CREDENTIALS);
    const run = await runAs(1);
    expect(run.code).toBe(0);
    expect(readFileSync(join(own, 'one_key'), 'utf8')).toBe('its own\n');
    expect(calls()).toBe('');
  });

  it('refuses to start without the shared SSH key, naming where it looked', async () => {
    rmSync(join(work, 'key/id_ed25519'));
    const run = await runAs(1);
    expect(run.code).not.toBe(0);
    expect(run.stdout).toContain(`no SSH key in ${join(work, 'key')}`);
  });
});
