// build-scan-push's pure parts: builder arguments, the base image, Trivy's report, the gate, layouts.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { baseImage, buildCommands, type BuildPlan } from '../../actions/build-scan-push/src/build.js';
import {
  MIN_TRIVY_VERSION,
  parseInputs,
  parseTrivyVersion,
} from '../../actions/build-scan-push/src/inputs.js';
import {
  countFindings,
  findingsOf,
  gateFailures,
  mostSevere,
} from '../../actions/build-scan-push/src/report.js';
import {
  combineSarif,
  locationUri,
  sbomPaths,
  stableReport,
  type SarifLog,
} from '../../actions/build-scan-push/src/sarif.js';
import { scanArgs, trivyAsset, trivyEnv } from '../../actions/build-scan-push/src/trivy.js';
import { blobPath, readLayout } from '../../actions/shared/src/oci-layout.js';
import { sha256Digest } from '../../actions/shared/src/registry.js';
import { actionDefaults } from '../support/action-runner.js';
import { LIMITS, validateSarifUpload } from '../support/code-scanning.js';
import { REPO_ROOT } from '../support/tools.js';

const plan = (overrides: Partial<BuildPlan> = {}): BuildPlan => ({
  builder: 'buildah',
  context: 'docker',
  file: 'docker/Dockerfile',
  platforms: ['linux/amd64', 'linux/arm64'],
  buildArgs: [['ONE_VERSION', '7.4.0']],
  labels: [['org.opencontainers.image.version', '7.4.0']],
  cacheFrom: [],
  cacheTo: [],
  sourceDateEpoch: 1767225600,
  layoutDir: '/w/layout',
  listName: 'list-1',
  archive: '/w/image.tar',
  ...overrides,
});

describe('buildCommands', () => {
  it('buildah and podman: a manifest list from one build, pushed as an OCI layout, timestamps fixed', () => {
    expect(buildCommands(plan())).toEqual([
      {
        command: 'buildah',
        args: [
          'build',
          '--manifest',
          'list-1',
          '--file',
          'docker/Dockerfile',
          '--platform',
          'linux/amd64,linux/arm64',
          '--build-arg',
          'ONE_VERSION=7.4.0',
          '--label',
          'org.opencontainers.image.version=7.4.0',
          '--timestamp',
          '1767225600',
          'docker',
        ],
      },
      {
        command: 'buildah',
        args: ['manifest', 'push', '--all', '--format', 'oci', 'list-1', 'oci:/w/layout'],
      },
    ]);
    expect(buildCommands(plan({ builder: 'podman', sourceDateEpoch: undefined }))[0]!.args).not.toContain(
      '--timestamp',
    );
  });
  it('docker: buildx straight to an OCI archive, with cache and SOURCE_DATE_EPOCH', () => {
    const [command] = buildCommands(
      plan({ builder: 'docker', cacheFrom: ['type=gha'], cacheTo: ['type=gha,mode=max'] }),
    );
    expect(command!.command).toBe('docker');
    expect(command!.args).toEqual(
      expect.arrayContaining([
        'buildx',
        'build',
        '--cache-from',
        'type=gha',
        '--cache-to',
        'type=gha,mode=max',
        '--provenance=false',
        '--output',
        'type=oci,dest=/w/image.tar,tar=true,rewrite-timestamp=true',
        'SOURCE_DATE_EPOCH=1767225600',
      ]),
    );
  });
});

describe('baseImage (org.opencontainers.image.base.*)', () => {
  it('resolves an ARG default pinned by digest, and a build-arg that overrides it', () => {
    const dockerfile =
      'ARG UBUNTU_IMAGE=ubuntu:24.04@sha256:' + 'a'.repeat(64) + '\nFROM ${UBUNTU_IMAGE}\nRUN true\n';
    expect(baseImage(dockerfile, [])).toEqual({
      name: 'docker.io/library/ubuntu:24.04',
      digest: `sha256:${'a'.repeat(64)}`,
    });
    expect(baseImage(dockerfile, [['UBUNTU_IMAGE', 'ghcr.io/o/base:1']])).toEqual({
      name: 'ghcr.io/o/base:1',
      digest: undefined,
    });
  });
  it('has none for scratch or a previous stage', () => {
    expect(baseImage('FROM scratch\nCOPY a /\n', [])).toBeUndefined();
    expect(baseImage('FROM debian:12 AS build\nFROM build\n', [])).toBeUndefined();
  });
  it('reads the real Dockerfile', async () => {
    const { readFileSync } = await import('node:fs');
    const base = baseImage(readFileSync(join(REPO_ROOT, 'docker/Dockerfile'), 'utf8'), [
      ['ONE_VERSION', '7.4.0'],
    ]);
    expect(base?.name).toBe('docker.io/library/ubuntu:24.04');
    expect(base?.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
  });
});

const REPORT = JSON.stringify({
  SchemaVersion: 2,
  ArtifactName: 'layout',
  ArtifactType: 'container_image',
  Results: [
    {
      Target: '/tmp/x (debian 12.8)',
      Class: 'os-pkgs',
      Type: 'debian',
      Vulnerabilities: [
        {
          VulnerabilityID: 'CVE-1',
          PkgName: 'libssl3',
          InstalledVersion: '1',
          FixedVersion: '2',
          Status: 'fixed',
          Severity: 'HIGH',
          PrimaryURL: 'https://avd/CVE-1',
        },
        {
          VulnerabilityID: 'CVE-2',
          PkgName: 'zlib1g',
          InstalledVersion: '1',
          Status: 'affected',
          Severity: 'CRITICAL',
        },
        {
          VulnerabilityID: 'CVE-3',
          PkgName: 'expat',
          InstalledVersion: '1',
          FixedVersion: '2',
          Status: 'fixed',
          Severity: 'LOW',
        },
        {
          VulnerabilityID: 'CVE-4',
          PkgName: 'odd',
          InstalledVersion: '1',
          Status: 'will_not_fix',
          Severity: 'NEGLIGIBLE',
        },
      ],
    },
    { Target: 'Python', Class: 'lang-pkgs', Type: 'python-pkg', Vulnerabilities: null },
  ],
});

describe('Trivy report and gate', () => {
  const findings = findingsOf(REPORT, 'linux/amd64', 'report.json');
  it('reads findings, fixable only when a fixed version exists', () => {
    expect(findings.map((f) => [f.id, f.severity, f.fixed, f.where])).toEqual([
      ['CVE-1', 'HIGH', '2', 'linux/amd64 (debian)'],
      ['CVE-2', 'CRITICAL', undefined, 'linux/amd64 (debian)'],
      ['CVE-3', 'LOW', '2', 'linux/amd64 (debian)'],
      ['CVE-4', 'UNKNOWN', undefined, 'linux/amd64 (debian)'],
    ]);
    expect(countFindings(findings)).toMatchObject({
      CRITICAL: { fixable: 0, unfixed: 1 },
      HIGH: { fixable: 1, unfixed: 0 },
      UNKNOWN: { fixable: 0, unfixed: 1 },
    });
  });
  it('fails on what the threshold and ignore-unfixed say', () => {
    expect(gateFailures(findings, ['CRITICAL', 'HIGH'], true).map((f) => f.id)).toEqual(['CVE-1']);
    expect(gateFailures(findings, ['CRITICAL', 'HIGH'], false).map((f) => f.id)).toEqual(['CVE-1', 'CVE-2']);
    expect(gateFailures(findings, ['CRITICAL'], true)).toEqual([]);
    expect(mostSevere(findings, 2).map((f) => f.id)).toEqual(['CVE-2', 'CVE-1']);
  });
  it('names a file that is not a Trivy report', () => {
    expect(() => findingsOf('<html>', 'p', 'r.json')).toThrow(/^r\.json is not a Trivy JSON report/);
    expect(() => findingsOf('{"a":1}', 'p', 'r.json')).toThrow(
      'r.json is not a Trivy JSON report (no SchemaVersion)',
    );
  });
});

describe('Trivy arguments', () => {
  it('picks the release asset for the runner and always names the ignore file and every mirror', () => {
    expect(trivyAsset('0.74.0', 'x64')).toBe('trivy_0.74.0_Linux-64bit.tar.gz');
    expect(trivyAsset('0.74.0', 'arm64')).toBe('trivy_0.74.0_Linux-ARM64.tar.gz');
    const args = scanArgs({
      layoutDir: '/l',
      report: '/r.json',
      cacheDir: '/c',
      dbRepositories: ['a/db:2', 'b/db:2'],
      ignoreFile: '/i',
      timeout: '15m',
    });
    expect(args.join(' ')).toContain('--db-repository a/db:2 --db-repository b/db:2 --ignorefile /i');
    expect(args).toContain('--skip-version-check');
    // Every setting the job's TRIVY_* variables could change is a flag.
    expect(args.join(' ')).toContain(
      '--severity UNKNOWN,LOW,MEDIUM,HIGH,CRITICAL --exit-code 0 --timeout 15m',
    );
  });
  it("runs Trivy without the job's TRIVY_* variables", () => {
    const env = {
      PATH: '/bin',
      TRIVY_SEVERITY: 'CRITICAL',
      TRIVY_EXIT_CODE: '1',
      trivy_quiet: 'x',
      HOME: '/h',
    };
    expect(trivyEnv(env)).toEqual({ PATH: '/bin', HOME: '/h' });
  });
  it('refuses the known-malicious versions by name, and versions older than the oldest supported', () => {
    for (const version of ['0.69.4', 'v0.69.5', '0.69.6'])
      expect(() => parseTrivyVersion(version)).toThrow(/is refused/);
    expect(parseTrivyVersion('v0.74.0')).toBe('0.74.0');
    expect(parseTrivyVersion(`v${MIN_TRIVY_VERSION}`)).toBe(MIN_TRIVY_VERSION);
    expect(() => parseTrivyVersion('v0.55.2')).toThrow(
      `trivy-version: 0.55.2 is older than ${MIN_TRIVY_VERSION}, the oldest Trivy this action supports`,
    );
    expect(() => parseTrivyVersion('0.9.10')).toThrow(/is older than/);
  });
});

// A run as `trivy convert --format sarif` writes it for an image scan: the OS package findings are located
// at the scanned target.
const trivySarif = (target: string): SarifLog =>
  JSON.parse(
    JSON.stringify({
      version: '2.1.0',
      $schema: 'https://json.schemastore.org/sarif-2.1.0.json',
      runs: [
        {
          tool: {
            driver: {
              fullName: 'Trivy Vulnerability Scanner',
              informationUri: 'https://github.com/aquasecurity/trivy',
              name: 'Trivy',
              rules: [
                {
                  id: 'CVE-1',
                  name: 'OsPackageVulnerability',
                  shortDescription: { text: 'x' },
                  defaultConfiguration: { level: 'error' },
                  properties: { tags: ['vulnerability', 'security', 'HIGH'], 'security-severity': '7.5' },
                },
              ],
              version: '0.74.0',
            },
          },
          results: [
            {
              ruleId: 'CVE-1',
              ruleIndex: 0,
              level: 'error',
              message: { text: `Package: libssl3\nArtifact: ${target}` },
              locations: [
                {
                  physicalLocation: {
                    artifactLocation: { uri: target, uriBaseId: 'ROOTPATH' },
                    region: { startLine: 1, startColumn: 1, endLine: 1, endColumn: 1 },
                  },
                  message: { text: `${target}: libssl3@3.0.0` },
                },
              ],
            },
          ],
          columnKind: 'utf16CodeUnits',
          originalUriBaseIds: { ROOTPATH: { uri: 'file:///' } },
        },
      ],
    }),
  ) as SarifLog;

describe('SARIF for code scanning', () => {
  const platforms = ['linux/amd64', 'linux/arm64'];
  it('gives each platform its own category, so upload-sarif takes the log', () => {
    const logs = platforms.map((platform) => ({ platform, log: trivySarif('ghcr.io/o/one') }));
    const naive = { ...logs[0]!.log, runs: logs.flatMap((l) => l.log.runs) };
    expect(() => validateSarifUpload(JSON.stringify(naive), { category: 'trivy-7.4' })).toThrow(
      'The CodeQL Action does not support uploading multiple SARIF runs with the same category',
    );
    const combined = combineSarif(logs, undefined);
    const upload = validateSarifUpload(JSON.stringify(combined), { category: 'trivy-7.4' });
    expect(upload.categories).toEqual(['trivy/linux-amd64/', 'trivy/linux-arm64/']);
    expect(upload.results).toBe(2);
    expect(combineSarif(logs, 'trivy-7.4').runs.map((r) => r.automationDetails?.id)).toEqual([
      'trivy-7.4/linux-amd64/',
      'trivy-7.4/linux-arm64/',
    ]);
    // One platform, no category: the upload's category applies, as before.
    const single = combineSarif(logs.slice(0, 1), undefined);
    expect(single.runs[0]!.automationDetails).toBeUndefined();
    expect(validateSarifUpload(JSON.stringify(single), { category: 'trivy-7.4' }).categories).toEqual([
      'trivy-7.4/',
    ]);
  });
  it('names the image, never the temporary path, and keeps location URIs relative', () => {
    const scanned = '/tmp/build-scan-push-Ab12/scan-linux-amd64';
    const report = JSON.stringify({
      ArtifactName: scanned,
      Results: [{ Target: `${scanned} (debian 12.8)` }],
    });
    expect(JSON.parse(stableReport(report, `${scanned}/`, 'ghcr.io/o/one'))).toEqual({
      ArtifactName: 'ghcr.io/o/one',
      Results: [{ Target: 'ghcr.io/o/one (debian 12.8)' }],
    });
    expect(locationUri('localhost:5000/o/one')).toBe('localhost%3A5000/o/one');
    expect(locationUri('ghcr.io/o/one')).toBe('ghcr.io/o/one');
    const log = combineSarif(
      [{ platform: 'linux/amd64', log: trivySarif('127.0.0.1:5000/o/one') }],
      undefined,
    );
    expect(log.runs[0]!.results![0]!.locations![0]!.physicalLocation!.artifactLocation!.uri).toBe(
      '127.0.0.1%3A5000/o/one',
    );
  });
  it("puts every platform's SBOM beside the first", () => {
    expect(sbomPaths('out/sbom.cdx.json', platforms)).toEqual({
      'linux/amd64': 'out/sbom.cdx.json',
      'linux/arm64': 'out/sbom-linux-arm64.cdx.json',
    });
  });
});

describe('the code scanning stand-in refuses what upload-sarif refuses', () => {
  const valid = () => trivySarif('ghcr.io/o/one');
  it('invalid SARIF, naming each schema error', () => {
    expect(() => validateSarifUpload('{', { file: 'x.sarif' })).toThrow(/^Invalid SARIF\. JSON syntax error/);
    const log = valid() as unknown as { version: string; runs: Array<Record<string, unknown>> };
    log.version = '2.0.0';
    delete (log.runs[0]!.tool as { driver: Record<string, unknown> }).driver.name;
    (log.runs[0]!.results as Array<Record<string, unknown>>)[0]!.level = 'high';
    log.runs[0]!.extra = true;
    expect(() => validateSarifUpload(JSON.stringify(log), { file: 'x.sarif' })).toThrow(
      'Unable to upload "x.sarif" as it is not valid SARIF:\n' +
        '- instance.version is not one of enum values: 2.1.0\n' +
        '- instance.runs[0].tool.driver requires property "name"\n' +
        '- instance.runs[0].results[0].level is not one of enum values: none,note,warning,error\n' +
        '- instance.runs[0] is not allowed to have the additional property "extra"',
    );
    const noResults = valid() as unknown as { runs: Array<Record<string, unknown>> };
    delete noResults.runs[0]!.results;
    expect(() => validateSarifUpload(JSON.stringify(noResults))).toThrow(
      "Invalid SARIF. Missing 'results' array in run.",
    );
  });
  it('a second upload of one tool and category in a job', () => {
    const job = new Set<string>();
    validateSarifUpload(JSON.stringify(valid()), { category: 'a', job });
    validateSarifUpload(JSON.stringify(valid()), { category: 'b', job });
    expect(() => validateSarifUpload(JSON.stringify(valid()), { category: 'a', job })).toThrow(
      /^Aborting upload: only one run .* Category: \(a\/\) Tool: \(Trivy\)/,
    );
  });
  it("more than code scanning's hard limits", () => {
    const many = valid();
    many.runs = Array.from({ length: LIMITS.runsPerFile + 1 }, (_, i) => ({
      ...valid().runs[0]!,
      automationDetails: { id: `c${i}/` },
    }));
    expect(() => validateSarifUpload(JSON.stringify(many))).toThrow(
      'rejecting SARIF, as there are more runs than allowed (21 > 20)',
    );
    const big = valid();
    const result = big.runs[0]!.results![0]!;
    big.runs[0]!.results = Array.from({ length: LIMITS.resultsPerRun + 1 }, () => result);
    expect(() => validateSarifUpload(JSON.stringify(big))).toThrow(/more results per run than allowed/);
    // 10 MB after gzip: incompressible text in the messages.
    const huge = valid();
    huge.runs[0]!.results = Array.from({ length: 16 }, () => ({
      ...result,
      message: { text: randomBytes(768 * 1024).toString('base64') },
    }));
    expect(() => validateSarifUpload(JSON.stringify(huge))).toThrow(
      /^SARIF upload is rejected \(bigger than allowed size for zip archive\)/,
    );
  });
});

describe('parseInputs', () => {
  const get = (overrides: Record<string, string>) => (name: string) =>
    ({ ...actionDefaults('build-scan-push'), images: 'ghcr.io/o/one', tags: '7.4.0', ...overrides })[name] ??
    '';
  it('takes its defaults from action.yml only', () => {
    const inputs = parseInputs(get({}), REPO_ROOT);
    expect([inputs.builder, inputs.platforms, inputs.severity, inputs.push, inputs.file]).toEqual([
      'docker',
      ['linux/amd64'],
      ['CRITICAL', 'HIGH'],
      true,
      'docker/Dockerfile',
    ]);
    expect(inputs.trivyignore).toBe('docker/.trivyignore');
    expect([inputs.trivyTimeout, inputs.trivyCacheDir, inputs.sarifCategory]).toEqual([
      '15m',
      undefined,
      undefined,
    ]);
    expect(() => parseInputs(get({ builder: '' }), REPO_ROOT)).toThrow('builder: must not be empty');
  });
  it('names a malformed trivy-timeout and a Trivy older than the oldest supported', () => {
    expect(parseInputs(get({ 'trivy-timeout': '1h30m' }), REPO_ROOT).trivyTimeout).toBe('1h30m');
    for (const timeout of ['15', 'fifteen minutes', '0s', '-5m']) {
      expect(() => parseInputs(get({ 'trivy-timeout': timeout }), REPO_ROOT)).toThrow(
        `trivy-timeout: "${timeout}" is not a duration such as 15m or 1h30m`,
      );
    }
    expect(() => parseInputs(get({ 'trivy-version': 'v0.50.0' }), REPO_ROOT)).toThrow(
      /^trivy-version: 0\.50\.0 is older than/,
    );
  });
  it('names malformed build-args and labels', () => {
    expect(() => parseInputs(get({ 'build-args': 'A=1\nnot a pair' }), REPO_ROOT)).toThrow(
      'build-args: "not a pair" is not KEY=VALUE',
    );
    expect(() => parseInputs(get({ context: 'nowhere' }), REPO_ROOT)).toThrow(
      'context: nowhere does not exist',
    );
  });
});

describe('readLayout', () => {
  const dir = mkdtempSync(join(tmpdir(), 'layout-test-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const blob = (content: string) => {
    const body = Buffer.from(content);
    const digest = sha256Digest(body);
    mkdirSync(join(dir, 'blobs', 'sha256'), { recursive: true });
    writeFileSync(blobPath(dir, digest), body);
    return { digest, size: body.length };
  };
  const image = (arch: string) => {
    const config = blob(JSON.stringify({ os: 'linux', architecture: arch }));
    const manifest = blob(
      JSON.stringify({
        schemaVersion: 2,
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...config },
        layers: [],
      }),
    );
    return {
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...manifest,
      platform: { os: 'linux', architecture: arch },
    };
  };
  it('orders images as the platforms were asked, whatever order the builder wrote', () => {
    const amd64 = image('amd64');
    const arm64 = image('arm64');
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [arm64, amd64] }));
    const first = readLayout(dir, ['linux/amd64', 'linux/arm64']);
    writeFileSync(join(dir, 'index.json'), JSON.stringify({ schemaVersion: 2, manifests: [amd64, arm64] }));
    const second = readLayout(dir, ['linux/amd64', 'linux/arm64']);
    expect(first.images.map((i) => i.platform)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(first.top.digest).toBe(second.top.digest);
    expect(() => readLayout(dir, ['linux/amd64'])).toThrow(
      'the build wrote images for linux/amd64, linux/arm64, but linux/amd64 were asked for',
    );
  });
});
