// The rehearsal `npm run main` performs, as an integration test: .github/workflows/release.yml run with the
// real bundled actions, real buildah/helm/git/trivy and the stand-ins of test/support, then checked the way
// a user would see it. Beside the full rehearsal: a failed gate (nothing published), a new upstream release
// between two runs (exactly it is published), and a Pages push that is refused (the re-run of the failed
// job completes the release).
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CURRENT_SITE } from '../support/opennebula-repo.js';
import { REPO_ROOT } from '../support/tools.js';
import {
  actionSteps,
  closeSession,
  openSession,
  publishedTags,
  runPipeline,
  type Session,
} from '../rehearsal/rehearse.js';
import { runFacts } from '../rehearsal/report.js';
import type { RunRecord } from '../rehearsal/runner.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/build-scan-push');

/** What the rehearsal runs; an action not written yet makes these tests todo (named), not failures. */
const PIECES = [
  '.github/workflows/release.yml',
  'actions/detect-opennebula-release/dist/index.js',
  'actions/build-scan-push/dist/index.js',
  'actions/helm-release/dist/index.js',
];
const absent = PIECES.filter((piece) => !existsSync(join(REPO_ROOT, piece)));
const rehearsed = absent.length ? describe.skip : describe;
if (absent.length) it.todo(`the rehearsal needs ${absent.join(', ')}, not in the repository yet`);

const scratch = mkdtempSync(join(tmpdir(), 'rehearsal-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

interface IndexEntry {
  version: string;
  appVersion: string;
  digest: string;
}
const chartIndex = (session: Session): Record<string, IndexEntry[]> =>
  (
    parse(session.standIns!.pages.read('index.yaml') ?? 'entries: {}') as {
      entries: Record<string, IndexEntry[]>;
    }
  ).entries;

/** The command `npm run main` runs (test/run-main.sh hands over to it), as a user runs it. */
function runMainCommand(outDir: string): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      'bash',
      [join(REPO_ROOT, 'test/rehearsal/rehearse.sh'), '--out', outDir],
      { env: { PATH: process.env.PATH, HOME: process.env.HOME }, maxBuffer: 64 * 1024 * 1024 },
      (error, stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stdout, stderr }),
    );
  });
}

rehearsed('npm run main: the offline rehearsal', () => {
  it('publishes the newest release as a user finds it, and a second run right after publishes nothing', async () => {
    const outDir = join(scratch, 'main');
    const result = await runMainCommand(outDir);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const report = readFileSync(join(outDir, 'report.txt'), 'utf8');
    expect(result.stdout).toContain(report.trim());
    expect(report).not.toContain('PROBLEM');
    const runs = JSON.parse(readFileSync(join(outDir, 'runs.json'), 'utf8')) as RunRecord[];
    expect(runs).toHaveLength(3);
    const [first, second, fork] = runs as [RunRecord, RunRecord, RunRecord];
    expect(first.result).toBe('success');
    const facts = runFacts('run 1', first);
    expect(facts.detected).toMatchObject({
      version: '7.4.0',
      isNew: 'true',
      tags: ['7.4.0', '7.4', '7', 'latest'],
    });
    expect(facts.image?.gate).toBe('passed');
    // Both registries ("Docker Hub", private, then "GHCR"), each with every tag.
    const pushedTo = new Map<string, string[]>();
    for (const ref of facts.image?.tagsPushed ?? []) {
      const image = ref.slice(0, ref.lastIndexOf(':'));
      pushedTo.set(image, [...(pushedTo.get(image) ?? []), ref.slice(ref.lastIndexOf(':') + 1)]);
    }
    expect([...pushedTo.values()]).toEqual([
      ['7.4.0', '7.4', '7', 'latest'],
      ['7.4.0', '7.4', '7', 'latest'],
    ]);
    expect(facts.image?.tagsPushed).toHaveLength(8);
    expect(facts.chart).toMatchObject({ version: '0.1.1', released: 'true' });
    // Nothing was published yet: the other followed series' newest versions are built too, without a chart.
    expect(facts.others.map((other) => other.tagsPushed.map((ref) => ref.split(':').at(-1)))).toEqual([
      ['7.0.1', '7.0', '7.0.1', '7.0'],
      ['7.2.0', '7.2', '7.2.0', '7.2'],
    ]);
    expect(report).toMatch(
      /also {7}other-series \(7\.0\.1, .*\): pushed sha256:[0-9a-f]{64}: 7\.0\.1, 7\.0, 7\.0\.1, 7\.0\n/,
    );
    // The report states what the registry and helm saw, not only what the actions said.
    expect(report).toMatch(/detected {3}7\.4\.0 — new: true/);
    expect(report).toMatch(/gate {7}passed/);
    expect(report).toMatch(new RegExp(`opennebula:7\\.4\\.0 → ${facts.image!.digest}`));
    expect(report).toMatch(
      /chart {6}0\.1\.1 \(released: true\) — index http:\/\/127\.0\.0\.1:\d+\/index\.yaml/,
    );
    expect(report).toMatch(/helm search repo: rehearsal\/opennebula 0\.1\.1 \(app 7\.4\.0\)/);
    expect(report).toMatch(/helm template .*: 127\.0\.0\.1:\d+\/rehearsal\/opennebula:7\.4\.0\n/);
    expect(report).toMatch(/in the registry: the pushed image/);
    // The user verifies before installing, with the keys made for the run: the chart's .prov, the image's
    // signature and its SBOM attestation.
    // The chart's key comes from the Pages site, as a user gets it, not from the run's own keyring.
    expect(report).toMatch(/GET \S+\/pubkey\.asc, gpg --dearmor: public key [0-9A-F]{40}$/m);
    expect(report).toMatch(
      /helm pull --verify --keyring \(pubkey\.asc from Pages\): \.prov verified, signed by Chart Signer .* with key [0-9A-F]{40}$/m,
    );
    expect(report).toMatch(/cosign verify \S+@sha256:[0-9a-f]{64}: signature verified/);
    expect(report).toMatch(
      /cosign verify-attestation --type cyclonedx \S+@sha256:[0-9a-f]{64}: SBOM attestation verified/,
    );
    expect(report).toMatch(
      /stages: prepare [\d.]+s, stand-ins [\d.]+s, run-1 [\d.]+s, user check [\d.]+s, run-2 [\d.]+s, fork: release v1 [\d.]+s, fork: stand-ins [\d.]+s, fork-run-1/,
    );
    // The second run: detection says published, nothing built, nothing changed.
    const again = runFacts('run 2', second);
    expect(again.detected?.isNew).toBe('false');
    expect(again.image).toBeUndefined();
    expect(again.others).toEqual([]);
    expect(second.jobs.find((job) => job.id === 'publish')?.result).toBe('skipped');
    expect(report).toMatch(/registry {3}unchanged: true; Pages branch unchanged: true/);
    // What the run exercised: the registries, the credentials by name, the platforms in the registry.
    expect(report).toMatch(
      /^ {2}registry {3}127\.0\.0\.1:\d+\/rehearsal\/opennebula \(private "Docker Hub"/m,
    );
    expect(report).toMatch(/^ {2}registry {3}127\.0\.0\.1:\d+\/rehearsal\/opennebula \("GHCR"/m);
    expect(report).toMatch(
      /^ {2}secrets {4}GITHUB_TOKEN, REGISTRY_PASSWORD, COSIGN_PRIVATE_KEY, COSIGN_PASSWORD, CHART_GPG_PRIVATE_KEY/m,
    );
    expect(report).toMatch(/^ {2}logins {5}.*publish\/image › Log in to the registries \(docker login ×2\)/m);
    expect(report).toMatch(/^ {2}platforms {2}\S+:7\.4\.0: linux\/amd64, linux\/arm64$/m);
    // A fork with only docker/, chart/ and the starter workflow, calling the reusable workflows @v1 of this
    // repository released by test/release.sh: its actions come from the tag, at the tested commit.
    expect(fork.result).toBe('success');
    const forked = runFacts('fork', fork);
    expect(forked.detected).toMatchObject({ version: '7.4.0', isNew: 'true' });
    expect(forked.image?.tagsPushed.length).toBeGreaterThan(0);
    expect(forked.chart).toMatchObject({ released: 'true' });
    const forkUses = fork.jobs.flatMap((job) => job.steps.map((step) => step.uses ?? ''));
    expect(forkUses.filter((uses) => uses.startsWith('./actions/'))).toEqual([]);
    expect(forkUses).toContainEqual(
      expect.stringMatching(/^rehearsal\/opennebula-kubernetes\/actions\/build-scan-push@[0-9a-f]{40}$/),
    );
    expect(report).toMatch(
      /^fork run 1 \(rehearsal-fork\/opennebula: docker\/, chart\/, .*\): workflow success$/m,
    );
    // Progress: a line per stage and per job.
    expect(result.stderr).toMatch(/^\[rehearsal\] install: \d+s$/m);
    expect(result.stderr).toMatch(/^\[rehearsal\] stand-ins: [\d.]+s$/m);
    expect(result.stderr).toMatch(/^\[rehearsal\] {3}job publish\/chart: success/m);
    // One page with every step's job summary.
    const page = readFileSync(join(outDir, 'summary.html'), 'utf8');
    expect(result.stdout).toContain(`Job summaries: ${join(outDir, 'summary.html')}`);
    const escape = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
    for (const step of first.jobs.flatMap((job) => job.steps).filter((s) => s.summary.trim())) {
      expect(page).toContain(`<h4>${escape(step.name)}</h4>`);
    }
    expect(page).toMatch(/Gate passed; pushed:/);
    // The SARIF went to code scanning's stand-in, the SBOM and SARIF to the artifact.
    expect(readdirSync(join(outDir, 'run-1', 'code-scanning')).sort()).toEqual([
      'trivy-7.0',
      'trivy-7.2',
      'trivy-7.4',
    ]);
    for (const version of ['7.0.1', '7.2.0', '7.4.0']) {
      expect(readdirSync(join(outDir, 'run-1', 'artifacts', `scan-${version}`)).sort()).toEqual([
        'sbom.cdx.json',
        'trivy-results.sarif',
      ]);
    }
  }, 1_200_000); // npm run main also releases the working tree in a clone and runs a fork's pipeline
});

rehearsed('rehearsals of what goes wrong, and of what comes next', () => {
  let session: Session;
  let image: string;
  beforeAll(async () => {
    session = await openSession({ outDir: join(scratch, 'scenarios'), log: () => undefined });
    image = session.standIns!.image;
  }, 180_000);
  afterAll(async () => {
    if (session) await closeSession(session);
  });

  it('a failed gate publishes no image and no chart', async () => {
    const run = await runPipeline(session, 'gate-failure', { context: join(FIXTURES, 'vulnerable') });
    expect(run.record.result).toBe('failure');
    const build = actionSteps(run.record, 'build-scan-push').find((step) => step.id === 'build')!;
    expect(build.outcome).toBe('failure');
    expect(build.outputs.gate).toBe('failed');
    expect(runFacts('gate', run.record).image?.vulnerabilities.HIGH?.fixable).toBeGreaterThan(0);
    expect(await publishedTags(image)).toEqual({});
    expect(run.record.jobs.find((job) => job.id === 'publish/chart')?.result).toBe('skipped');
    expect(session.standIns!.pages.log()).toEqual([]);
    expect(session.standIns!.github.releases).toEqual([]);
    // The findings still reach code scanning (always()), as the workflow promises.
    expect(existsSync(join(run.runDir, 'code-scanning', 'trivy-7.4', 'trivy-results.sarif'))).toBe(true);
  });

  it('a new upstream release between two runs: the second run publishes exactly it', async () => {
    const first = await runPipeline(session, 'before-new-release');
    expect(first.record.result).toBe('success');
    const before = await publishedTags(image);
    // The release's tags (cosign's signatures and attestations are sha256-<digest> tags beside them).
    expect(
      Object.keys(before)
        .filter((tag) => !/^sha256-[0-9a-f]{64}/.test(tag))
        .sort(),
    ).toEqual(['7', '7.0', '7.0.1', '7.2', '7.2.0', '7.4', '7.4.0', 'latest']);

    session.standIns!.setSite({ ...CURRENT_SITE, '7.4': { amd64: ['7.4.0-1', '7.4.1-1'] } });
    const second = await runPipeline(session, 'new-release');
    expect(second.record.result).toBe('success');
    const facts = runFacts('new', second.record);
    expect(facts.detected).toMatchObject({ version: '7.4.1', isNew: 'true' });
    expect(facts.image?.tagsPushed.filter((ref) => ref.startsWith(`${image}:`))).toEqual(
      ['7.4.1', '7.4', '7', 'latest'].map((tag) => `${image}:${tag}`),
    );
    expect(facts.others).toEqual([]);
    const after = await publishedTags(image);
    for (const tag of ['7.4.0', '7.2.0', '7.2', '7.0.1', '7.0']) expect(after[tag]).toBe(before[tag]);
    for (const tag of ['7.4.1', '7.4', '7', 'latest']) expect(after[tag]).toBe(facts.image!.digest);
    expect(facts.image!.digest).not.toBe(before['7.4.0']);
    const entries = chartIndex(session).opennebula!.map((entry) => [entry.version, entry.appVersion]);
    expect(entries.sort()).toEqual([
      ['0.1.1', '7.4.0'],
      ['0.1.2', '7.4.1'],
    ]);
  });

  it('a refused Pages push fails the run after the image is pushed; re-running the failed job completes it', async () => {
    const { pages, github } = session.standIns!;
    session.standIns!.setSite({ ...CURRENT_SITE, '7.4': { amd64: ['7.4.0-1', '7.4.1-1', '7.4.2-1'] } });
    const tipBefore = pages.tip();
    pages.rejectPushes(1000);
    const failed = await runPipeline(session, 'pages-refused');
    expect(failed.record.result).toBe('failure');
    expect(failed.record.jobs.find((job) => job.id === 'publish/image')?.result).toBe('success');
    expect(failed.record.jobs.find((job) => job.id === 'publish/chart')?.result).toBe('failure');
    expect(pages.tip()).toBe(tipBefore);
    expect((await publishedTags(image))['7.4.2']).toBe(runFacts('refused', failed.record).image!.digest);

    pages.rejectPushes(0);
    const rerun = await runPipeline(session, 'pages-rerun', { previous: failed.record });
    expect(rerun.record.attempt).toBe(2);
    expect(rerun.record.result).toBe('success');
    expect(rerun.record.jobs.find((job) => job.id === 'publish/image')?.note).toBe('kept from attempt 1');
    const release = actionSteps(rerun.record, 'helm-release').at(-1)!;
    expect(release.outputs['chart-version']).toBe('0.1.3');
    expect(
      chartIndex(session)
        .opennebula!.map((entry) => entry.version)
        .sort(),
    ).toEqual(['0.1.1', '0.1.2', '0.1.3']);
    expect(chartIndex(session).opennebula!.find((entry) => entry.version === '0.1.3')?.appVersion).toBe(
      '7.4.2',
    );
    expect(github.releases.filter((r) => r.tag_name === 'opennebula-0.1.3' && !r.draft)).toHaveLength(1);
  });
});
