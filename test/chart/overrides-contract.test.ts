// The contract between the chart and the image: the overrides directory the chart renders (its edits
// ConfigMap, projected at /etc/one-overrides with the StatefulSet's item paths) must apply with the image's
// own config step on OpenNebula's real /etc/one, laid out as its packages install it (the source builds of
// the oldest and newest pinned series, test/tools/opennebula/build.sh): a path or key the real tree does not
// have would stop every container of the pod.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { removeRoot, runEntrypoint } from '../support/entrypoint.js';
import { seededRoot } from '../support/etc-one.js';
import { templateValue } from '../support/one-template.js';
import { REPO_ROOT, runTool } from '../support/tools.js';

const CHART = join(REPO_ROOT, 'chart/opennebula');
const BUILD_SCRIPT = join(REPO_ROOT, 'test/tools/opennebula/build.sh');

interface Manifest {
  kind: string;
  metadata: { name: string };
  data?: Record<string, string>;
  spec?: { template?: { spec?: { volumes?: Volume[] } } };
}
interface Volume {
  name: string;
  projected?: { sources: { configMap?: { name: string; items: { key: string; path: string }[] } }[] };
}

/** The real /etc/one of OpenNebula VERSION's build, or why it is missing. */
function builtEtc(version: string): string | { missing: string } {
  const root = execFileSync('bash', [BUILD_SCRIPT, '--path', version], { encoding: 'utf8' }).trim();
  const etc = join(root, 'etc/one');
  return existsSync(join(etc, 'oned.conf'))
    ? etc
    : { missing: `OpenNebula ${version} is not built: run bash test/tools/install.sh (or ${BUILD_SCRIPT} ${version})` };
}

/** Writes the overrides directory the StatefulSet projects from the chart's own ConfigMap. */
function renderOverrides(dir: string, set: string[]): void {
  const docs = parseAllDocuments(
    runTool('helm', ['template', 'one', CHART, ...set.flatMap((value) => ['--set', value])]),
  )
    .map((doc) => doc.toJSON() as Manifest | null)
    .filter((doc): doc is Manifest => doc !== null);
  const configMaps = new Map(docs.filter((d) => d.kind === 'ConfigMap').map((d) => [d.metadata.name, d]));
  const statefulSet = docs.find((d) => d.kind === 'StatefulSet' && d.metadata.name === 'one-opennebula')!;
  const volume = statefulSet.spec!.template!.spec!.volumes!.find((v) => v.name === 'overrides');
  expect(volume, 'the StatefulSet projects an overrides volume').toBeDefined();
  for (const source of volume!.projected!.sources) {
    if (!source.configMap) continue;
    const configMap = configMaps.get(source.configMap.name);
    expect(configMap, `ConfigMap ${source.configMap.name} is rendered`).toBeDefined();
    for (const item of source.configMap.items) {
      mkdirSync(dirname(join(dir, item.path)), { recursive: true });
      writeFileSync(join(dir, item.path), configMap!.data![item.key]!);
    }
  }
}

const roots: string[] = [];
afterAll(() => roots.forEach(removeRoot));

describe.each(['7.0.0', '7.4.0'])("the chart's overrides on OpenNebula %s's real /etc/one", (version) => {
  const etc = builtEtc(version);

  it.skipIf(typeof etc !== 'string')(
    `apply with the image's config step (${typeof etc === 'string' ? etc : etc.missing})`,
    async () => {
      const root = seededRoot({ label: version, version, etc: etc as string });
      roots.push(root);
      const overrides = mkdtempSync(join(tmpdir(), 'chart-overrides-'));
      try {
        renderOverrides(overrides, [
          'uploads.sizeLimit=5Gi',
          'opennebula.config.oned\\.conf.DEFAULT_AUTH="ldap"',
        ]);
        const run = await runEntrypoint(['configure', '--root', root], {
          ONE_VERSION: version,
          ONE_OVERRIDES_DIR: overrides,
          HOSTNAME: 'one-opennebula-0.one-opennebula-headless.cloud.svc.cluster.local',
          MONITOR_ADDRESS: '192.0.2.10',
        });
        expect(run.code, run.stderr).toBe(0);
        const sunstone = readFileSync(join(root, 'etc/one/fireedge/sunstone/sunstone-server.conf'), 'utf8');
        expect(sunstone).toMatch(/^max_upload_file_size: 5368709120\b/m);
        const monitord = readFileSync(join(root, 'etc/one/monitord.conf'), 'utf8');
        expect(templateValue(monitord, 'NETWORK')).toMatchObject({
          PUBKEY: '/run/secrets/opennebula-monitord/pubkey.pem',
          PRIKEY: '/run/secrets/opennebula-monitord/prikey.pem',
        });
        expect(templateValue(readFileSync(join(root, 'etc/one/oned.conf'), 'utf8'), 'DEFAULT_AUTH')).toBe('ldap');
      } finally {
        rmSync(overrides, { recursive: true, force: true });
      }
    },
  );
});
