// Benchmark of build-scan-push: the bundle run as the runner runs it (real buildah, trivy and registry, the
// generated vulnerability database), printing how many builds it made (must be 1) and its wall time split
// into build, scan and push; then the gate's evaluation of a 20 MB Trivy JSON report beside JSON.parse
// alone on the same text (targets: under 1 s, under 2x JSON.parse).
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, it } from 'vitest';
import { countFindings, findingsOf, gateFailures } from '../../actions/build-scan-push/src/report.js';
import { runAction } from '../support/action-runner.js';
import { startStandIn, type StandIn } from '../support/http-stand-in.js';
import { startRegistry, type LocalRegistry } from '../support/oci-registry.js';
import { REPO_ROOT } from '../support/tools.js';
import { TRIVY_TEST_VERSION, publishTrivyDb, serveTrivyDownloads } from '../support/trivy.js';

let site: StandIn;
let registry: LocalRegistry;
let work: string;

beforeAll(async () => {
  site = await startStandIn();
  registry = await startRegistry();
  work = mkdtempSync(join(tmpdir(), 'bench-build-scan-push-'));
}, 120_000);
afterAll(async () => {
  await site?.close();
  await registry?.close();
  rmSync(work, { recursive: true, force: true });
});

it('one build, and where the time goes', async () => {
  const run = await runAction(
    'build-scan-push',
    {
      context: join(REPO_ROOT, 'test/fixtures/build-scan-push/clean'),
      images: `${registry.host}/bench/one`,
      tags: '1.0.0\n1.0\nlatest',
      version: '1.0.0',
      builder: 'buildah',
      platforms: 'linux/amd64,linux/arm64',
      'trivy-version': `v${TRIVY_TEST_VERSION}`,
      'trivy-download-url': serveTrivyDownloads(site),
      'trivy-db-repositories': await publishTrivyDb(registry),
      'sarif-file': join(work, 'r.sarif'),
      'sbom-file': join(work, 'sbom.cdx.json'),
    },
    {
      BUILDAH_ISOLATION: 'chroot',
      STORAGE_DRIVER: 'vfs',
      RUNNER_TOOL_CACHE: join(work, 'tools'),
      TRIVY_CACHE_DIR: join(work, 'trivy'),
    },
  );
  if (run.code !== 0) throw new Error(run.stdout + run.stderr);
  const builds = (run.stdout.match(/^::group::Build /gm) ?? []).length;
  const timings = /^Timings: (.*)$/m.exec(run.stdout)?.[1];
  console.log(`build-scan-push, 2 platforms: builds ${builds}; ${timings}; total ${run.durationMs} ms`);
});

it('evaluates the gate on a 20 MB Trivy report', () => {
  const vulnerability = (i: number) => ({
    VulnerabilityID: `CVE-2099-${i}`,
    PkgName: `package-${i % 500}`,
    InstalledVersion: '1.0-1',
    ...(i % 3 === 0 ? {} : { FixedVersion: '1.0-2' }),
    Status: i % 3 === 0 ? 'affected' : 'fixed',
    Severity: ['LOW', 'MEDIUM', 'HIGH', 'CRITICAL', 'UNKNOWN'][i % 5],
    Title: `A generated finding number ${i} with a title of realistic length for the benchmark`,
    Description: 'x'.repeat(300),
    PrimaryURL: `https://avd.aquasec.com/nvd/cve-2099-${i}`,
    References: [`https://example.invalid/${i}`],
  });
  const vulnerabilities = [];
  let size = 0;
  for (let i = 0; size < 20 * 1024 * 1024; i += 1) {
    const item = vulnerability(i);
    size += JSON.stringify(item).length;
    vulnerabilities.push(item);
  }
  const text = JSON.stringify({
    SchemaVersion: 2,
    Results: [{ Target: 'image', Class: 'os-pkgs', Type: 'debian', Vulnerabilities: vulnerabilities }],
  });
  const best = (fn: () => void) => {
    let min = Infinity;
    for (let i = 0; i < 5; i += 1) {
      const started = performance.now();
      fn();
      min = Math.min(min, performance.now() - started);
    }
    return min;
  };
  const parseOnly = best(() => JSON.parse(text));
  const gate = best(() => {
    const findings = findingsOf(text, 'linux/amd64', 'bench.json');
    countFindings(findings);
    gateFailures(findings, ['CRITICAL', 'HIGH'], true);
  });
  console.log(
    `gate on ${(text.length / 1024 / 1024).toFixed(1)} MB (${vulnerabilities.length} findings): ` +
      `${gate.toFixed(0)} ms; JSON.parse alone ${parseOnly.toFixed(0)} ms; ratio ${(gate / parseOnly).toFixed(2)}x`,
  );
});
