// Benchmark of helm-release's index merge (issue #11): one entry merged into an index of 5,000 entries and
// written, in a child process of its own (time and peak RSS), beside `helm repo index --merge` doing the same
// in the same run. Targets: under 1 s, at least 3x faster than helm, under 100 MB. The merged index must
// still load in helm: it is served over HTTP and read with `helm repo add` and `helm search repo`.
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import ts from 'typescript';
import { afterAll, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT, requireTool } from '../support/tools.js';

const run = promisify(execFile);
const ENTRIES = 5000;
const dir = mkdtempSync(join(tmpdir(), 'helm-release-bench-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** An entry as helm writes it for this project's chart (annotations, dependencies, folded description). */
function entryText(version: string): string {
  return `  - annotations:
      artifacthub.io/images: |
        - name: opennebula
          image: docker.io/example/opennebula:7.4.0
      artifacthub.io/license: Apache-2.0
    apiVersion: v2
    appVersion: 7.4.0
    created: "2026-01-01T00:00:00.123456789Z"
    dependencies:
    - condition: mariadb.enabled
      name: mariadb
      repository: ""
      version: 0.1.0
    description: OpenNebula Community Edition control plane (oned, FireEdge, OneFlow,
      OneGate) with a bundled MariaDB
    digest: ${version.replace(/\./g, '').padStart(64, '0')}
    home: https://opennebula.io
    keywords:
    - opennebula
    - cloud
    kubeVersion: '>=1.29.0-0'
    name: opennebula
    type: application
    urls:
    - https://github.com/example/charts/releases/download/opennebula-${version}/opennebula-${version}.tgz
    version: ${version}
`;
}

/** The merge module (and its scanner) compiled on their own, so a child process runs nothing else. */
function compiledMerge(): string {
  const out = join(REPO_ROOT, 'node_modules', '.cache', 'helm-release-bench');
  mkdirSync(out, { recursive: true });
  // index-yaml.ts and the scanner it imports, each compiled to .mjs with the import renamed to match.
  for (const name of ['index-yaml', 'index-scan']) {
    const source = readFileSync(join(REPO_ROOT, `actions/shared/src/${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: {
        module: ts.ModuleKind.ESNext,
        target: ts.ScriptTarget.ES2022,
        esModuleInterop: true,
      },
    });
    writeFileSync(
      join(out, `${name}.mjs`),
      outputText.replace(/'\.\/index-scan\.js'/g, "'./index-scan.mjs'"),
    );
  }
  const driver = join(out, 'merge.mjs');
  writeFileSync(
    driver,
    `import { readFileSync, writeFileSync } from 'node:fs';
import { mergeIndex, readIndex } from './index-yaml.mjs';
const [input, output, entryFile] = process.argv.slice(2);
const started = performance.now();
const merged = mergeIndex(readFileSync(input, 'utf8'), JSON.parse(readFileSync(entryFile, 'utf8')), new Date().toISOString());
writeFileSync(output, merged.text);
const ms = performance.now() - started;
const maxRssKiB = process.resourceUsage().maxRSS;
// What the landing page is rendered from: every version's summary fields, read once more after the merge.
const readStarted = performance.now();
const listed = [...readIndex(merged.text).values()].reduce((n, versions) => n + versions.length, 0);
const readMs = performance.now() - readStarted;
console.log(JSON.stringify({ ms, maxRssKiB, readMs, listed, readMaxRssKiB: process.resourceUsage().maxRSS }));
`,
  );
  return driver;
}

it(`merges one entry into a ${ENTRIES}-entry index, beside helm repo index --merge`, async () => {
  const versions = Array.from(
    { length: ENTRIES },
    (_, i) => `0.${Math.floor((ENTRIES - i) / 100)}.${(ENTRIES - i) % 100}`,
  );
  const index = `apiVersion: v1\nentries:\n  opennebula:\n${versions.map(entryText).join('')}generated: "2026-01-01T00:00:00Z"\n`;
  const input = join(dir, 'index.yaml');
  writeFileSync(input, index);

  // The entry to add: the real chart packaged, as the action adds it.
  const charts = join(dir, 'charts');
  mkdirSync(charts);
  const helm = requireTool('helm');
  await run(
    helm,
    ['package', join(REPO_ROOT, 'chart/opennebula'), '--version', '9.9.9', '--destination', charts],
    {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(dir, 'h'),
        HELM_CONFIG_HOME: join(dir, 'h'),
        HELM_DATA_HOME: join(dir, 'h'),
      },
    },
  );
  const chartYaml = (
    await run('tar', ['-xzOf', join(charts, 'opennebula-9.9.9.tgz'), 'opennebula/Chart.yaml'])
  ).stdout;
  const entry = {
    ...(parse(chartYaml) as Record<string, unknown>),
    urls: ['https://github.com/example/charts/releases/download/opennebula-9.9.9/opennebula-9.9.9.tgz'],
    created: new Date().toISOString(),
    digest: 'f'.repeat(64),
  };
  const entryFile = join(dir, 'entry.json');
  writeFileSync(entryFile, JSON.stringify(entry));

  const driver = compiledMerge();
  const output = join(dir, 'merged.yaml');
  const wallStart = performance.now();
  const ours = JSON.parse((await run(process.execPath, [driver, input, output, entryFile])).stdout) as {
    ms: number;
    maxRssKiB: number;
    readMs: number;
    listed: number;
    readMaxRssKiB: number;
  };
  const oursWall = performance.now() - wallStart;

  // helm does the same: reads the 5,000 entries, adds the one package, writes the index.
  const helmStart = performance.now();
  const timed = await run(
    '/usr/bin/time',
    ['-f', '%M', helm, 'repo', 'index', charts, '--merge', input, '--url', 'https://example.org'],
    {
      env: {
        ...process.env,
        HELM_CACHE_HOME: join(dir, 'h'),
        HELM_CONFIG_HOME: join(dir, 'h'),
        HELM_DATA_HOME: join(dir, 'h'),
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  const helmMs = performance.now() - helmStart;
  const helmRssKiB = Number(timed.stderr.trim().split('\n').pop());

  // The merged index still loads in helm: served over HTTP, added, searched.
  const server = createServer((req, res) => {
    if (req.url === '/index.yaml') {
      res.writeHead(200, { 'content-type': 'application/x-yaml' });
      res.end(readFileSync(output));
    } else {
      res.writeHead(404);
      res.end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const home = join(dir, 'home');
  const helmEnv = { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home };
  let found: { version: string }[];
  try {
    await run(helm, ['repo', 'add', 'bench', `http://127.0.0.1:${(server.address() as AddressInfo).port}`], {
      env: helmEnv,
    });
    found = JSON.parse(
      (
        await run(helm, ['search', 'repo', 'bench/opennebula', '--versions', '-o', 'json'], {
          env: helmEnv,
          maxBuffer: 64 * 1024 * 1024,
        })
      ).stdout,
    ) as { version: string }[];
  } finally {
    server.closeAllConnections();
    server.close();
  }

  const mb = (kib: number) => (kib / 1024).toFixed(0);
  console.log(
    [
      `index: ${ENTRIES} entries, ${(index.length / 1024 / 1024).toFixed(1)} MB`,
      `helm-release merge: ${ours.ms.toFixed(0)} ms in-process (${(oursWall - ours.readMs).toFixed(0)} ms with node start-up), peak RSS ${mb(ours.maxRssKiB)} MB (whole node process)`,
      `landing-page data (readIndex of the merged index): ${ours.readMs.toFixed(0)} ms for ${ours.listed} versions, peak RSS after it ${mb(ours.readMaxRssKiB)} MB`,
      `helm repo index --merge: ${helmMs.toFixed(0)} ms, peak RSS ${mb(helmRssKiB)} MB`,
      `speed-up: ${(helmMs / ours.ms).toFixed(1)}x (merge), ${(helmMs / (oursWall - ours.readMs)).toFixed(1)}x (with node start-up, against helm's whole run)`,
      `helm search repo on the merged index: ${found.length} versions`,
    ].join('\n'),
  );
  expect(found).toHaveLength(ENTRIES + 1);
  expect(ours.listed).toBe(ENTRIES + 1);
  expect(found[0]?.version).toBe('9.9.9');
});
