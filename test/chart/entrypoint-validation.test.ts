// Every setting the image's entrypoint validates (require_* and `[[ $X =~ ... ]] || one_die` in
// docker/rootfs) that the chart renders from a value is refused by the chart's schema first, naming the
// value: a bad value fails `helm install` at once instead of crash-looping a container. The validated names
// are read from the scripts, so a new check in the image without a schema case here fails this test.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { REPO_ROOT, requireTool, runTool } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
const LIB = join(REPO_ROOT, 'docker/rootfs/usr/local/lib/opennebula-container');
// Every part of the entrypoint: its library (whatever files it has) and the entrypoint itself.
const SCRIPTS = [
  ...readdirSync(LIB)
    .filter((name) => name.endsWith('.sh'))
    .map((name) => join(LIB, name)),
  join(REPO_ROOT, 'docker/rootfs/usr/local/bin/opennebula-entrypoint'),
];
const SOURCE = SCRIPTS.map((file) => readFileSync(file, 'utf8')).join('\n');

/** NAME -> how the image checks it: a require_* function, or an inline regular expression. */
function imageChecks(): Map<string, { fn?: string; regex?: string }> {
  const checks = new Map<string, { fn?: string; regex?: string }>();
  for (const m of SOURCE.matchAll(/\brequire_(port|bool|uint|url|host|template_string) ([A-Z][A-Z0-9_]*) /g)) checks.set(m[2]!, { fn: `require_${m[1]}` });
  for (const m of SOURCE.matchAll(/\[\[ (?:-z \$\w+ \|\| )?\$([A-Z][A-Z0-9_]*) =~ (.+?) \]\][^\n]*\n?[^\n]*one_die/g)) checks.set(m[1]!, { regex: m[2]! });
  for (const m of SOURCE.matchAll(/\$\{?([A-Z][A-Z0-9_]*)\}? in\n((?:\t+[^\n]*\n)*?)\t*\*\) one_die "\1:/g)) checks.set(m[1]!, { regex: `^(${m[2]!.match(/^\s*([^)]*)\) ;;/m)![1]!.replace(/ \| /g, '|')})$` });
  return checks;
}

/** Runs the image's own check of NAME on VALUE: true when the image accepts it. */
function imageAccepts(check: { fn?: string; regex?: string }, name: string, value: string): boolean {
  const script = check.fn ? `source "${join(LIB, 'common.sh')}"; ${check.fn} ${name} "$1"` : `[[ $1 =~ ${check.regex!} ]]`;
  try {
    execFileSync(requireTool('bash'), ['--norc', '-c', script, 'check', value], { stdio: ['ignore', 'pipe', 'pipe'] });
    return true;
  } catch {
    return false;
  }
}

type Rule = { constant: string } | { values: [string, string][] };

// How the chart sets each validated setting: a constant (checked against the image's rule), or values, each
// with a value the image refuses (so the case is real) that the schema must refuse too.
const RULES: Record<string, Rule> = {
  DB_BACKEND: { constant: 'always mysql' },
  DB_HOST: { values: [['externalDatabase.host', 'db host'], ['clusterDomain', 'cluster/local']] },
  DB_PORT: { values: [['externalDatabase.port', '0'], ['externalDatabase.port', '65536']] },
  DB_NAME: { values: [['externalDatabase.name', 'one-db'], ['mariadb.database', 'one db']] },
  DB_USER: { values: [['externalDatabase.user', 'one"admin'], ['mariadb.username', 'one"db']] },
  ONE_LOG_LEVEL: { values: [['opennebula.logLevel', '4']] },
  HOSTNAME: { values: [['hypervisors.address', 'front end'], ['clusterDomain', 'cluster local']] },
  FRONTEND_SSH_ADDRESS: { constant: "the pod's loopback" },
  MONITOR_ADDRESS: { values: [['hypervisors.address', 'front/end']] },
  MONITOR_PORT: { values: [['hypervisors.monitordPort', '0'], ['hypervisors.monitordPort', '65536']] },
  ONEGATE_ENDPOINT: { values: [['opennebula.onegate.endpoint', 'onegate:5030']] },
  TPROXY_REMOTE_ADDR: { values: [['opennebula.tproxy.remoteAddress', 'gate way']] },
  TPROXY_REMOTE_PORT: { values: [['opennebula.tproxy.remotePort', '0']] },
  TPROXY_SERVICE_PORT: { values: [['opennebula.tproxy.servicePort', '65536']] },
  TPROXY_NETWORKS: { values: [['opennebula.tproxy.networks[0]', 'my net']] },
  SSHD_PORT: { values: [['opennebula.ssh.port', '65536']] },
  ONEDB_AUTO_UPGRADE: { values: [['database.autoUpgrade', 'maybe']] },
  GUACD_BIND: { constant: "the pod's loopback (guacd has no authentication)" },
  ONED_ENDPOINT: { values: [['clusterDomain', 'cluster local']] },
  ONE_AUTH_WAIT_TIMEOUT: { values: [['showback.waitSeconds', '-1']] },
};

const EVERYTHING_ON = [
  'hypervisors.address=192.0.2.10',
  'opennebula.onegate.endpoint=http://169.254.16.9:5030',
  'opennebula.tproxy.enabled=true',
  'opennebula.tproxy.remoteAddress=192.0.2.41',
  'opennebula.tproxy.networks={public,0}',
  'backup.enabled=true',
];
const EXTERNAL_DB = ['mariadb.enabled=false', 'externalDatabase.host=db.example.org', 'externalDatabase.existingSecret=db'];

type Env = { name: string; value?: string };
type PodSpec = { containers?: { env?: Env[] }[]; initContainers?: { env?: Env[] }[] };

/** Every environment variable (name -> rendered values) of every pod the chart renders. */
function renderedEnv(set: string[]): Map<string, Set<string>> {
  const text = runTool('helm', ['template', 'one', CHART, '--namespace', 'cloud', ...set.flatMap((s) => ['--set', s])]);
  const env = new Map<string, Set<string>>();
  for (const doc of parseAllDocuments(text).map((d) => d.toJS() as { spec?: Record<string, unknown> } | null)) {
    const spec = doc?.spec as { template?: { spec: PodSpec }; jobTemplate?: { spec: { template: { spec: PodSpec } } } } & PodSpec | undefined;
    const pod = spec?.template?.spec ?? spec?.jobTemplate?.spec.template.spec ?? spec;
    for (const container of [...(pod?.containers ?? []), ...(pod?.initContainers ?? [])]) {
      for (const e of container.env ?? []) {
        if (!env.has(e.name)) env.set(e.name, new Set());
        if (e.value !== undefined) env.get(e.name)!.add(e.value);
      }
    }
  }
  return env;
}

function refusal(key: string, value: string): string {
  try {
    execFileSync(requireTool('helm'), ['template', 'one', CHART, '--set-string', `${key}=${value}`, ...(key.startsWith('externalDatabase') ? EXTERNAL_DB.flatMap((s) => ['--set', s]) : []), ...(key.startsWith('opennebula.tproxy') ? ['--set', 'opennebula.tproxy.enabled=true', '--set', 'opennebula.tproxy.remoteAddress=192.0.2.41'] : [])], { stdio: ['ignore', 'pipe', 'pipe'], encoding: 'utf8' });
  } catch (error) {
    return String((error as { stderr?: string }).stderr);
  }
  return '';
}

const checks = imageChecks();
const env = new Map([...renderedEnv(EVERYTHING_ON), ...renderedEnv([...EVERYTHING_ON, ...EXTERNAL_DB])]);
const validatedAndRendered = [...checks.keys()].filter((name) => env.has(name)).sort();

describe('settings the image validates', () => {
  it('are read from the scripts (the image checks ports, hosts, URLs, booleans and more)', () => {
    expect(checks.get('MONITOR_PORT')).toEqual({ fn: 'require_port' });
    expect(checks.get('DB_NAME')?.regex).toBe('^[A-Za-z0-9_$]+$');
    expect(checks.get('DB_BACKEND')?.regex).toBe('^(sqlite|mysql)$');
    expect(checks.get('TPROXY_NETWORKS')?.regex).toBe('^[A-Za-z0-9_.-]+(,[ ]*[A-Za-z0-9_.-]+)*$');
    expect(validatedAndRendered.length).toBeGreaterThan(12);
  });

  it('each rendered one has a schema case here', () => {
    expect(validatedAndRendered.filter((name) => !(name in RULES)), 'validated by the image, rendered by the chart, no schema case').toEqual([]);
  });

  it.each(validatedAndRendered.filter((name) => name in RULES))('%s', (name) => {
    const check = checks.get(name)!;
    const rule = RULES[name]!;
    if ('constant' in rule) {
      for (const value of env.get(name)!) expect(imageAccepts(check, name, value), `${name}=${value}`).toBe(true);
      return;
    }
    for (const value of env.get(name)!) expect(imageAccepts(check, name, value), `rendered ${name}=${value}`).toBe(true);
    for (const [key, bad] of rule.values) {
      const rendered = key === 'clusterDomain' ? `x.svc.${bad}` : bad;
      expect(imageAccepts(check, name, rendered), `the image accepts ${name}=${rendered}: not a bad value`).toBe(false);
      // The subchart's values are named relative to it, under its name.
      const [chart, path] = key.startsWith('mariadb.') ? ['mariadb:[\\s\\S]*', key.slice('mariadb.'.length)] : ['', key];
      const pointer = '/' + path.replace(/\[(\d+)\]/g, '.$1').split('.').join('/');
      expect(refusal(key, bad), `${key}=${bad}`).toMatch(new RegExp(`values don't meet the specifications of the schema[\\s\\S]*${chart}${pointer}\\b`));
    }
  });
});
