// helm-release, run as the runner runs it (the bundle, INPUT_* variables), with real helm and real git: the
// Pages remote is a bare repository, GitHub's releases API a stand-in with recorded shapes, get.helm.sh a
// local site serving the pinned helm and its .sha256sum. Published charts are read back with helm itself.
import { execFile, execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { promisify } from 'node:util';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { runAction, type ActionRun } from '../support/action-runner.js';
import { startGitHubApi, type GitHubStandIn } from '../support/github-api.js';
import { startHelmDownloadSite, type HelmDownloadSite } from '../support/helm-download.js';
import {
  COSIGN_TEST_VERSION,
  generateKeyPair,
  removeKeyPair,
  serveCosignDownloads,
  verifySignature,
  type KeyPair,
} from '../support/cosign.js';
import { generateGpgKey, type GpgKey } from '../support/gpg.js';
import { startStandIn, type StandIn } from '../support/http-stand-in.js';
import { serveIdTokens } from '../support/oidc-token.js';
import { Helm } from '../../actions/helm-release/src/helm.js';
import { startRegistry } from '../support/oci-registry.js';
import { createPagesRemote, type PagesRemote, type PagesServer } from '../support/pages-remote.js';
import { REPO_ROOT, requireTool } from '../support/tools.js';

const DEMO = join(REPO_ROOT, 'test/fixtures/helm-release/demo');
const scratch = mkdtempSync(join(tmpdir(), 'helm-release-test-'));
const toolCache = join(scratch, 'tool-cache');
let counter = 0;

// helm talks to servers in this process: it must run asynchronously, or nobody answers it.
const execFileAsync = promisify(execFile);
function helmIn(home: string) {
  return async (...args: string[]) =>
    (
      await execFileAsync(requireTool('helm'), args, {
        cwd: home,
        env: { ...process.env, HELM_CACHE_HOME: home, HELM_CONFIG_HOME: home, HELM_DATA_HOME: home },
        encoding: 'utf8',
      })
    ).stdout;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'dev',
  GIT_AUTHOR_EMAIL: 'dev@example.invalid',
  GIT_COMMITTER_NAME: 'dev',
  GIT_COMMITTER_EMAIL: 'dev@example.invalid',
  GIT_CONFIG_GLOBAL: '/dev/null',
  GIT_CONFIG_NOSYSTEM: '1',
};
const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', args, { cwd, env: GIT_ENV, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A project repository with the chart at chart/<name>, committed at a fixed time; returns its path. */
function projectRepo(chartSource = DEMO, name = 'demo'): string {
  const dir = join(scratch, `project-${(counter += 1)}`);
  mkdirSync(join(dir, 'chart'), { recursive: true });
  cpSync(chartSource, join(dir, 'chart', name), { recursive: true });
  git(dir, 'init', '--quiet', '--initial-branch', 'main');
  git(dir, 'add', '--all');
  execFileSync('git', ['commit', '--quiet', '-m', 'chart'], {
    cwd: dir,
    env: { ...GIT_ENV, GIT_AUTHOR_DATE: '2026-01-02T03:04:05Z', GIT_COMMITTER_DATE: '2026-01-02T03:04:05Z' },
  });
  return dir;
}

/** A fresh clone: new file modification times, same commit. */
function freshClone(repo: string): string {
  const dir = join(scratch, `clone-${(counter += 1)}`);
  git(scratch, 'clone', '--quiet', repo, dir);
  return dir;
}

interface Setup {
  remote: PagesRemote;
  github: GitHubStandIn;
  site: HelmDownloadSite;
}

function publish(
  setup: Setup,
  workspace: string,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<ActionRun> {
  return runAction(
    'helm-release',
    {
      chart: 'chart/demo',
      repository: setup.github.repository,
      'github-token': setup.github.token,
      'github-api-url': setup.github.url,
      'git-remote': setup.remote.url,
      'pages-url': 'https://example-org.github.io/charts',
      'helm-download-url': setup.site.url,
      'helm-version': setup.site.version,
      ...inputs,
    },
    {
      GITHUB_WORKSPACE: workspace,
      GITHUB_REPOSITORY: setup.github.repository,
      GITHUB_SHA: git(workspace, 'rev-parse', 'HEAD').trim(),
      RUNNER_TOOL_CACHE: toolCache,
      ...env,
    },
  );
}

function expectSuccess(run: ActionRun): void {
  expect(run.errors, `${run.stdout}\n${run.stderr}`).toEqual([]);
  expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);
}

interface Index {
  entries: Record<string, { version: string; digest: string; urls: string[]; appVersion?: string }[]>;
}
const readIndexFile = (remote: PagesRemote) => parse(remote.read('index.yaml') ?? '') as Index;
const versionsOf = (remote: PagesRemote, chart = 'demo') =>
  (readIndexFile(remote).entries[chart] ?? []).map((entry) => entry.version);

let site: HelmDownloadSite;
beforeAll(async () => {
  site = await startHelmDownloadSite();
});
afterAll(async () => {
  await site.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('helm-release: publishing', () => {
  let setup: Setup;
  let repo: string;
  let firstIndex: string;
  beforeAll(async () => {
    setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    repo = projectRepo();
  });
  afterAll(async () => {
    setup.remote.close();
    await setup.github.close();
  });

  it('first publish: creates the branch, the release (draft, asset, publish) and the index entry', async () => {
    const run = await publish(setup, repo);
    expectSuccess(run);
    expect(run.outputs['chart-version']).toBe('0.1.1');
    expect(run.outputs.released).toBe('true');
    expect(run.outputs['index-url']).toBe('https://example-org.github.io/charts/index.yaml');
    expect(setup.remote.log()).toEqual(['Publish demo 0.1.1']);
    const index = readIndexFile(setup.remote);
    const entry = index.entries.demo?.[0];
    expect(entry?.digest).toBe(run.outputs.digest);
    expect(entry?.appVersion).toBe('7.4.0');
    // The published (tagged) download URL, never a draft's untagged one.
    expect(entry?.urls).toEqual([setup.github.downloadUrl('demo-0.1.1', 'demo-0.1.1.tgz')]);
    const [release] = setup.github.releases;
    expect(release).toMatchObject({ tag_name: 'demo-0.1.1', draft: false });
    expect(release?.assets.map((a) => a.name)).toEqual(['demo-0.1.1.tgz']);
    // The order: created as a draft, the asset uploaded, then published.
    const writes = setup.github.requests.filter((r) => r.method !== 'GET').map((r) => r.method);
    expect(writes).toEqual(['POST', 'POST', 'PATCH']);
    expect(JSON.parse(setup.github.requests.find((r) => r.method === 'POST')!.body)).toMatchObject({
      draft: true,
    });
    expect(setup.remote.read('index.html')).toContain(
      'helm repo add charts https://example-org.github.io/charts',
    );
    expect(setup.remote.read('artifacthub-repo.yml')).toContain('repositoryID');
    expect(run.summary).toContain('Published demo 0.1.1');
    const log = run.stdout.replace(/^::add-mask::.*$/gm, '');
    for (const text of [log, run.stderr, run.summary, JSON.stringify(run.outputs)]) {
      expect(text).not.toContain(setup.github.token);
    }
    firstIndex = setup.remote.read('index.yaml')!;
  });

  it('second version: a new appVersion, the first entry kept byte for byte', async () => {
    const run = await publish(setup, repo, { 'app-version': '7.6.0', bump: 'minor' });
    expectSuccess(run);
    expect(run.outputs['chart-version']).toBe('0.2.0');
    expect(versionsOf(setup.remote)).toEqual(['0.2.0', '0.1.1']);
    const after = setup.remote.read('index.yaml')!;
    const kept = firstIndex.split('\n').filter((line) => !line.startsWith('generated:'));
    for (const line of kept) expect(after.split('\n')).toContain(line);
    const index = readIndexFile(setup.remote);
    expect(index.entries.demo?.map((e) => e.appVersion)).toEqual(['7.6.0', '7.4.0']);
  });

  it('a re-run from a fresh clone packages the same bytes and publishes nothing', async () => {
    const tip = setup.remote.tip();
    const releases = setup.github.releases.length;
    const run = await publish(setup, freshClone(repo), { 'app-version': '7.6.0', bump: 'minor' });
    expectSuccess(run);
    expect(run.outputs['chart-version']).toBe('0.2.0');
    expect(run.outputs.released).toBe('false');
    expect(run.outputs.digest).toBe(readIndexFile(setup.remote).entries.demo?.[0]?.digest);
    expect(setup.remote.tip()).toBe(tip);
    expect(setup.github.releases.length).toBe(releases);
  });

  it('the same version with other content is refused, naming both digests, and nothing is published', async () => {
    const clone = freshClone(repo);
    writeFileSync(join(clone, 'chart/demo/values.yaml'), '# -- A greeting.\ngreeting: changed\n');
    git(clone, 'commit', '--quiet', '-am', 'change');
    const tip = setup.remote.tip();
    const releases = JSON.stringify(setup.github.releases.map((r) => [r.tag_name, r.assets.length]));
    const run = await publish(setup, clone, { 'chart-version': '0.2.0', 'app-version': '7.6.0' });
    expect(run.code).toBe(1);
    const published = readIndexFile(setup.remote).entries.demo?.[0]?.digest ?? 'none';
    expect(run.errors.join('\n')).toContain(published);
    expect(run.errors.join('\n')).toMatch(/immutable/);
    expect(run.errors.join('\n')).toMatch(/digest [0-9a-f]{64}.*digest [0-9a-f]{64}/s);
    expect(setup.remote.tip()).toBe(tip);
    expect(JSON.stringify(setup.github.releases.map((r) => [r.tag_name, r.assets.length]))).toBe(releases);
  });

  it('a rejected push is fetched, re-merged and retried', async () => {
    setup.remote.rejectPushes(2);
    const run = await publish(setup, repo, { 'chart-version': '0.3.0' });
    expectSuccess(run);
    expect(run.stdout).toMatch(/rejected.*retrying/);
    expect(versionsOf(setup.remote)).toEqual(['0.3.0', '0.2.0', '0.1.1']);
  });

  it('a dry run computes and prints the index diff and leaves the remote and releases untouched', async () => {
    const tip = setup.remote.tip();
    const requests = setup.github.requests.length;
    const run = await publish(setup, repo, { 'dry-run': 'true', 'app-version': '7.8.0' });
    expectSuccess(run);
    expect(run.outputs['chart-version']).toBe('0.3.1');
    expect(run.outputs.released).toBe('false');
    expect(run.stdout).toMatch(/^\+ {2}- annotations:$/m);
    expect(run.stdout).toMatch(/^\+ {4}version: 0\.3\.1$/m);
    expect(run.summary).toContain('Dry run: demo 0.3.1');
    expect(setup.remote.tip()).toBe(tip);
    expect(setup.github.requests.slice(requests).every((r) => r.method === 'GET')).toBe(true);
  });

  it('a branch that cannot be fetched is an error, and the index stays as it was', async () => {
    const tip = setup.remote.tip();
    const before = setup.remote.read('index.yaml');
    const releases = setup.github.releases.length;
    const repair = setup.remote.breakFetch();
    let run: ActionRun;
    try {
      run = await publish(setup, repo, { 'chart-version': '0.4.0' });
    } finally {
      repair();
    }
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/pages: fetching gh-pages from .* failed/);
    expect(setup.remote.tip()).toBe(tip);
    expect(setup.remote.read('index.yaml')).toBe(before);
    expect(setup.github.releases.length).toBe(releases);
  });

  it('bad inputs fail naming the input, before anything is published', async () => {
    const tip = setup.remote.tip();
    for (const [inputs, message] of [
      [{ 'chart-version': '1.0' }, /^chart-version: "1.0" is not a semantic version/],
      [{ bump: 'huge' }, /^bump: "huge"/],
      [{ chart: 'chart/missing' }, /^chart: .*chart\/missing has no Chart.yaml/],
    ] as const) {
      const run = await publish(setup, repo, inputs);
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(message);
    }
    expect(setup.remote.tip()).toBe(tip);
  });
});

describe('helm-release: an existing Pages branch', () => {
  it('keeps the files already there, and never replaces an index it cannot read', async () => {
    const github = await startGitHubApi();
    const withSite = createPagesRemote({
      files: { 'README.md': 'docs\n', 'artifacthub-repo.yml': 'repositoryID: abc\n' },
    });
    const broken = createPagesRemote({ files: { 'index.yaml': 'apiVersion: v1\nentries: [unclosed\n' } });
    try {
      const repo = projectRepo();
      const run = await publish({ remote: withSite, github, site }, repo);
      expectSuccess(run);
      expect(withSite.read('README.md')).toBe('docs\n');
      expect(withSite.read('artifacthub-repo.yml')).toBe('repositoryID: abc\n');
      expect(versionsOf(withSite)).toEqual(['0.1.1']);
      const tip = broken.tip();
      const failed = await publish({ remote: broken, github, site }, repo, {
        'chart-version': '0.9.0',
      });
      expect(failed.code).toBe(1);
      expect(failed.errors.join('\n')).toMatch(/index.yaml is not valid YAML/);
      expect(broken.tip()).toBe(tip);
      expect(github.releases.map((r) => r.tag_name)).toEqual(['demo-0.1.1']);
    } finally {
      withSite.close();
      broken.close();
      await github.close();
    }
  });
});

describe('helm-release: concurrency and big indexes', () => {
  it('8 concurrent publishers of different versions all end up in the index, which helm reads', async () => {
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    let server: PagesServer | undefined;
    try {
      const repo = projectRepo();
      // Each runner job has its own tool cache; these 8 share one, so it is filled first.
      expectSuccess(await publish(setup, repo, { 'dry-run': 'true' }));
      const versions = Array.from({ length: 8 }, (_, i) => `1.0.${i}`);
      const runs = await Promise.all(
        versions.map((v) => publish(setup, freshClone(repo), { 'chart-version': v })),
      );
      for (const run of runs) expectSuccess(run);
      expect(versionsOf(setup.remote).sort()).toEqual(versions);
      expect(setup.remote.log()).toHaveLength(8);
      server = await setup.remote.serve();
      const helmHome = mkdtempSync(join(scratch, 'helm-home-'));
      const helm = helmIn(helmHome);
      await helm('repo', 'add', 'concurrent', server.url);
      const listed = JSON.parse(
        await helm('search', 'repo', 'concurrent/demo', '--versions', '-o', 'json'),
      ) as {
        version: string;
      }[];
      expect(listed.map((l) => l.version).sort()).toEqual(versions);
    } finally {
      await server?.close();
      setup.remote.close();
      await setup.github.close();
    }
  });

  it('an index with 200 existing versions of several charts keeps every one of them exactly', async () => {
    const charts = ['alpha', 'demo', 'zeta'];
    let seeded = 'apiVersion: v1\nentries:\n';
    for (const chart of charts) {
      seeded += `  ${chart}:\n`;
      for (let i = chart === 'demo' ? 66 : 67; i > 0; i -= 1) {
        seeded +=
          `  - apiVersion: v2\n    appVersion: 1.${i % 20}\n    created: "2025-01-01T00:00:${String(i % 60).padStart(2, '0')}Z"\n` +
          `    description: ${chart} version ${i}\n    digest: ${String(i).padStart(64, '0')}\n    name: ${chart}\n` +
          `    urls:\n    - https://example.org/${chart}-0.0.${i}.tgz\n    version: 0.0.${i}\n`;
      }
    }
    seeded += 'generated: "2025-01-01T00:00:00Z"\n';
    const setup: Setup = {
      remote: createPagesRemote({ files: { 'index.yaml': seeded } }),
      github: await startGitHubApi(),
      site,
    };
    try {
      const before = parse(seeded) as Index;
      expect(Object.values(before.entries).flat()).toHaveLength(200);
      const run = await publish(setup, projectRepo());
      expectSuccess(run);
      expect(run.outputs['chart-version']).toBe('0.1.1');
      const after = readIndexFile(setup.remote);
      for (const chart of charts) {
        for (const entry of before.entries[chart] ?? []) expect(after.entries[chart]).toContainEqual(entry);
      }
      expect(Object.values(after.entries).flat()).toHaveLength(201);
      // appVersion 1.10 was written unquoted: it is still 1.10 in the text, not 1.1.
      expect(setup.remote.read('index.yaml')).toContain('appVersion: 1.10\n');
      const page = setup.remote.read('index.html') ?? '';
      expect(page).toContain('id="alpha"');
      expect(page).toContain('>0.0.66<');
    } finally {
      setup.remote.close();
      await setup.github.close();
    }
  });
});

describe('helm-release: releases, downloads and registries', () => {
  it('works where releases are immutable: the asset goes up while the release is a draft', async () => {
    const setup: Setup = {
      remote: createPagesRemote(),
      github: await startGitHubApi({ immutableReleases: true }),
      site,
    };
    try {
      const repo = projectRepo();
      const run = await publish(setup, repo);
      expectSuccess(run);
      expect(setup.github.releases[0]).toMatchObject({ immutable: true, draft: false });
      expect(setup.github.releases[0]?.assets).toHaveLength(1);
      // Re-running against the immutable release is a no-op, not a failed upload.
      const again = await publish(setup, freshClone(repo), { 'chart-version': '0.1.1' });
      expectSuccess(again);
      expect(again.outputs.released).toBe('false');
    } finally {
      setup.remote.close();
      await setup.github.close();
    }
  });

  it('follows the releases listing to its last page, finding an older release of the same version', async () => {
    const setup: Setup = {
      remote: createPagesRemote(),
      github: await startGitHubApi({ maxPerPage: 10 }),
      site,
    };
    try {
      const repo = projectRepo();
      const first = await publish(setup, repo, { 'chart-version': '0.5.0' });
      expectSuccess(first);
      for (let i = 0; i < 25; i += 1) setup.github.addRelease(`other-${i}`);
      // The index is lost (e.g. a hand-made branch reset): the release is on page 3 and still found.
      const remote2 = createPagesRemote();
      try {
        const again = await publish({ ...setup, remote: remote2 }, repo, { 'chart-version': '0.5.0' });
        expectSuccess(again);
        expect(setup.github.releases.filter((r) => r.tag_name === 'demo-0.5.0')).toHaveLength(1);
        expect(setup.github.requests.some((r) => r.url.includes('page=3'))).toBe(true);
        expect(versionsOf(remote2)).toEqual(['0.5.0']);
      } finally {
        remote2.close();
      }
    } finally {
      setup.remote.close();
      await setup.github.close();
    }
  });

  it('finishes a draft an interrupted run left behind instead of creating a second release', async () => {
    const setup: Setup = {
      remote: createPagesRemote(),
      github: await startGitHubApi({ immutableReleases: true }),
      site,
    };
    try {
      const stale = setup.github.addRelease(
        'demo-0.1.1',
        { name: 'demo-0.1.1.tgz', data: Buffer.from('partial upload') },
        { draft: true },
      );
      const run = await publish(setup, projectRepo());
      expectSuccess(run);
      expect(setup.github.releases).toHaveLength(1);
      expect(stale).toMatchObject({ draft: false, immutable: true });
      expect(stale.assets).toHaveLength(1);
      expect(createHash('sha256').update(stale.assets[0]!.data).digest('hex')).toBe(run.outputs.digest);
    } finally {
      setup.remote.close();
      await setup.github.close();
    }
  });

  it('refuses a tampered helm download and publishes nothing', async () => {
    const tampered = await startHelmDownloadSite({ tampered: true });
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site: tampered };
    try {
      const run = await publish(
        setup,
        projectRepo(),
        {},
        { RUNNER_TOOL_CACHE: join(scratch, 'empty-cache') },
      );
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(
        /has SHA-256 [0-9a-f]{64}, but .* lists [0-9a-f]{64}; refusing to run it/,
      );
      expect(setup.remote.log()).toEqual([]);
      expect(setup.github.releases).toEqual([]);
    } finally {
      setup.remote.close();
      await setup.github.close();
      await tampered.close();
    }
  });

  it('pushes to an OCI registry, and skips the push when the same package is there', async () => {
    const registry = await startRegistry();
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    try {
      const repo = projectRepo();
      const oci = `oci://${registry.host}/charts`;
      const run = await publish(setup, repo, { 'oci-registry': oci });
      expectSuccess(run);
      expect(run.outputs['oci-ref']).toBe(`${oci}/demo:0.1.1`);
      expect(await registry.tags('charts/demo')).toEqual(['0.1.1']);
      const again = await publish(setup, freshClone(repo), { 'oci-registry': oci, 'chart-version': '0.1.1' });
      expectSuccess(again);
      expect(again.outputs.released).toBe('false');
      expect(again.stdout).toContain('already in the registry with this package');
    } finally {
      setup.remote.close();
      await setup.github.close();
      await registry.close();
    }
  });
});

describe('helm-release: a registry that needs a login', () => {
  it('logs helm in with the Docker config credentials (password on stdin, never printed) and pushes', async () => {
    const registry = await startRegistry({ auth: true });
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    try {
      const { username, password } = registry.credentials!;
      const dockerConfig = mkdtempSync(join(scratch, 'docker-config-'));
      const auth = Buffer.from(`${username}:${password}`).toString('base64');
      writeFileSync(
        join(dockerConfig, 'config.json'),
        JSON.stringify({ auths: { [registry.host]: { auth } } }),
      );
      const oci = `oci://${registry.host}/charts`;
      const run = await publish(
        setup,
        projectRepo(),
        { 'oci-registry': oci },
        { DOCKER_CONFIG: dockerConfig },
      );
      expectSuccess(run);
      const tags = await fetch(`${registry.url}/v2/charts/demo/tags/list`, {
        headers: { authorization: `Basic ${auth}` },
      });
      expect(((await tags.json()) as { tags: string[] }).tags).toEqual(['0.1.1']);
      expect(`${run.stdout}${run.stderr}`).not.toContain(password);
    } finally {
      setup.remote.close();
      await setup.github.close();
      await registry.close();
    }
  });
});

describe('helm-release: the published repository, read by helm and a browser', () => {
  let setup: Setup;
  let server: PagesServer;
  let pagesUrl: string;
  beforeAll(async () => {
    setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    server = await setup.remote.serve();
    pagesUrl = server.url;
    // The real chart, copied: never edited in place.
    const repo = projectRepo(join(REPO_ROOT, 'chart/opennebula'), 'opennebula');
    for (const appVersion of ['7.2.0', '7.4.0']) {
      const run = await publish(setup, repo, {
        chart: 'chart/opennebula',
        'app-version': appVersion,
        'pages-url': pagesUrl,
      });
      expectSuccess(run);
    }
  });
  afterAll(async () => {
    await server.close();
    setup.remote.close();
    await setup.github.close();
  });

  it('helm repo add, helm pull and helm template work against the served branch', async () => {
    const home = mkdtempSync(join(scratch, 'helm-home-'));
    const helm = helmIn(home);
    await helm('repo', 'add', 'published', pagesUrl);
    await helm('pull', 'published/opennebula', '--version', '0.1.2', '--destination', home);
    const rendered = await helm('template', 'one', join(home, 'opennebula-0.1.2.tgz'));
    expect(rendered).toContain('kind: StatefulSet');
    expect(rendered).toMatch(/image: "?[^\s"]*opennebula:7\.4\.0"?/);
    const older = await helm('show', 'chart', 'published/opennebula', '--version', '0.1.1');
    expect(older).toMatch(/appVersion: "?7\.2\.0"?/);
  });

  it('the landing page renders in chromium without console errors, listing every version and the right commands', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
    try {
      const page = await browser.newPage();
      const problems: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' || message.type() === 'warning') problems.push(message.text());
      });
      page.on('pageerror', (error) => problems.push(error.message));
      const response = await page.goto(`${pagesUrl}/`);
      expect(response?.status()).toBe(200);
      expect(await page.title()).toBe('opennebula Helm chart repository');
      const versions = await page.locator('#opennebula tbody tr td:first-child').allInnerTexts();
      expect(versions).toEqual(['0.1.2', '0.1.1']);
      const appVersions = await page.locator('#opennebula tbody tr td:nth-child(2)').allInnerTexts();
      expect(appVersions).toEqual(['7.4.0', '7.2.0']);
      const commands = (await page.locator('#opennebula pre code').first().innerText()).split('\n');
      expect(commands).toEqual([
        `helm repo add charts ${pagesUrl}`,
        'helm repo update',
        'helm install opennebula charts/opennebula --version 0.1.2',
      ]);
      const metadata = page.locator('a', { hasText: 'Artifact Hub metadata' });
      expect(await metadata.getAttribute('href')).toBe('artifacthub-repo.yml');
      const linked = await page.request.get(`${pagesUrl}/artifacthub-repo.yml`);
      expect(linked.status()).toBe(200);
      expect(problems).toEqual([]);
    } finally {
      await browser.close();
    }
  });
});

describe("helm-release: GitHub's rules and content it did not write", () => {
  const homepage =
    '<!DOCTYPE html>\n<html><head><title>Project docs</title></head><body>Docs</body></html>\n';

  it('never replaces an index.html it did not write, unless landing-page: always asks; then keeps it current', async () => {
    const setup: Setup = {
      remote: createPagesRemote({ files: { 'index.html': homepage } }),
      github: await startGitHubApi(),
      site,
    };
    try {
      const repo = projectRepo();
      const run = await publish(setup, repo);
      expectSuccess(run);
      expect(setup.remote.read('index.html')).toBe(homepage);
      expect(versionsOf(setup.remote)).toEqual(['0.1.1']);
      expect(run.summary).toMatch(/index\.html .* not written by this action/);
      const always = await publish(setup, repo, { 'landing-page': 'always', 'chart-version': '0.2.0' });
      expectSuccess(always);
      expect(setup.remote.read('index.html')).toMatch(/<meta name="generator" content="[^"]*helm-release/);
      // Ours now: the next publish keeps it current without being asked.
      expectSuccess(await publish(setup, repo, { 'chart-version': '0.3.0' }));
      expect(setup.remote.read('index.html')).toContain('>0.3.0<');
      expectSuccess(await publish(setup, repo, { 'chart-version': '0.4.0', 'landing-page': 'never' }));
      expect(setup.remote.read('index.html')).not.toContain('>0.4.0<');
    } finally {
      setup.remote.close();
      await setup.github.close();
    }
  });

  it('does not mark the chart release "Latest" (make_latest "false") unless make-latest says so', async () => {
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    try {
      const app = setup.github.addRelease('v7.4.0', undefined, { latest: true });
      const repo = projectRepo();
      expectSuccess(await publish(setup, repo));
      const writes = setup.github.requests.filter((r) => r.method === 'POST' || r.method === 'PATCH');
      const bodies = writes
        .filter((r) => !r.body.startsWith('<'))
        .map((r) => JSON.parse(r.body) as { make_latest?: unknown });
      expect(bodies.map((b) => b.make_latest)).toEqual(['false', 'false']);
      expect(app.latest).toBe(true);
      expect(setup.github.releases.find((r) => r.tag_name === 'demo-0.1.1')?.latest).toBe(false);
      expectSuccess(await publish(setup, repo, { 'make-latest': 'true', 'chart-version': '0.2.0' }));
      expect(setup.github.releases.find((r) => r.tag_name === 'demo-0.2.0')?.latest).toBe(true);
      expect(app.latest).toBe(false);
    } finally {
      setup.remote.close();
      await setup.github.close();
    }
  });

  it.each([
    ['branch-protection', /GH006: Protected branch update failed for refs\/heads\/gh-pages/],
    ['ruleset', /GH013: Repository rule violations found for refs\/heads\/gh-pages/],
  ] as const)(
    'a push refused by %s fails at once with its reason; the re-run once allowed completes',
    async (rule, reason) => {
      const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
      try {
        const repo = projectRepo();
        const allow = setup.remote.refusePushes(rule);
        const run = await publish(setup, repo);
        expect(run.code).toBe(1);
        expect(run.errors.join('\n')).toMatch(reason);
        expect(run.errors.join('\n')).toMatch(/branch protection or a ruleset/);
        expect(run.stdout).not.toMatch(/retrying/);
        expect(setup.remote.pushAttempts()).toBe(1);
        expect(setup.remote.tip()).toBeUndefined();
        allow();
        const again = await publish(setup, freshClone(repo), { 'chart-version': '0.1.1' });
        expectSuccess(again);
        expect(versionsOf(setup.remote)).toEqual(['0.1.1']);
        expect(setup.github.releases.filter((r) => r.tag_name === 'demo-0.1.1')).toHaveLength(1);
      } finally {
        setup.remote.close();
        await setup.github.close();
      }
    },
  );

  it('builds dependencies that are not vendored (a local file:// chart, a chart repository), reproducibly, leaving the checkout as it was', async () => {
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    const source = mkdtempSync(join(scratch, 'with-deps-'));
    // A chart repository (not added with helm repo add) serving remote-lib 0.3.0.
    mkdirSync(join(source, 'remote-lib', 'templates'), { recursive: true });
    writeFileSync(
      join(source, 'remote-lib/Chart.yaml'),
      'apiVersion: v2\nname: remote-lib\nversion: 0.3.0\ntype: library\n',
    );
    writeFileSync(join(source, 'remote-lib/templates/_x.tpl'), '{{- define "remote-lib.x" -}}x{{- end -}}\n');
    execFileSync(requireTool('helm'), ['package', join(source, 'remote-lib'), '-d', join(source, 'repo')]);
    execFileSync(requireTool('helm'), ['repo', 'index', join(source, 'repo')]);
    const chartRepo = await startStandIn({
      routes: {
        '/index.yaml': { body: readFileSync(join(source, 'repo/index.yaml')) },
        '/remote-lib-0.3.0.tgz': { body: readFileSync(join(source, 'repo/remote-lib-0.3.0.tgz')) },
      },
    });
    try {
      cpSync(DEMO, join(source, 'demo'), { recursive: true });
      const chartYaml = join(source, 'demo', 'Chart.yaml');
      writeFileSync(
        chartYaml,
        `${readFileSync(chartYaml, 'utf8')}dependencies:\n- name: common\n  version: 0.2.0\n  repository: file://../common\n` +
          `- name: remote-lib\n  version: 0.3.0\n  repository: ${chartRepo.url}\n`,
      );
      const repo = projectRepo(join(source, 'demo'));
      mkdirSync(join(repo, 'chart', 'common', 'templates'), { recursive: true });
      writeFileSync(
        join(repo, 'chart/common/Chart.yaml'),
        'apiVersion: v2\nname: common\nversion: 0.2.0\ntype: library\n',
      );
      writeFileSync(
        join(repo, 'chart/common/templates/_name.tpl'),
        '{{- define "common.name" -}}common{{- end -}}\n',
      );
      git(repo, 'add', '--all');
      git(repo, 'commit', '--quiet', '-m', 'common');
      const run = await publish(setup, repo);
      expectSuccess(run);
      const archive = join(source, 'published.tgz');
      writeFileSync(archive, setup.github.releases[0]!.assets[0]!.data);
      const files = execFileSync('tar', ['-tzf', archive], { encoding: 'utf8' }).split('\n');
      // helm packages a dependency unpacked, under charts/<name>/.
      expect(files).toContain('demo/charts/common/Chart.yaml');
      expect(files).toContain('demo/charts/remote-lib/Chart.yaml');
      expect(files).not.toContain('demo/Chart.lock');
      expect(git(repo, 'status', '--porcelain')).toBe('');
      const again = await publish(setup, freshClone(repo));
      expectSuccess(again);
      expect(again.outputs.digest).toBe(run.outputs.digest);
      expect(again.outputs.released).toBe('false');
    } finally {
      setup.remote.close();
      await setup.github.close();
      await chartRepo.close();
    }
  });

  it('packages a chart with several subcharts to the same bytes every time, subcharts in name order', async () => {
    // helm writes subcharts in Go map order, which Go randomises: eight packages would not agree.
    const dir = mkdtempSync(join(scratch, 'subcharts-'));
    cpSync(DEMO, join(dir, 'demo'), { recursive: true });
    const names = ['alpha', 'bravo', 'charlie', 'delta', 'echo'];
    let dependencies = 'dependencies:\n';
    for (const name of names) {
      mkdirSync(join(dir, name, 'templates'), { recursive: true });
      writeFileSync(
        join(dir, name, 'Chart.yaml'),
        `apiVersion: v2\nname: ${name}\nversion: 1.0.0\ntype: library\n`,
      );
      writeFileSync(join(dir, name, 'templates/_x.tpl'), `{{- define "${name}.x" -}}x{{- end -}}\n`);
      execFileSync(requireTool('helm'), ['package', join(dir, name), '-d', join(dir, 'demo', 'charts')]);
      dependencies += `- name: ${name}\n  version: 1.0.0\n  repository: file://../${name}\n`;
    }
    writeFileSync(
      join(dir, 'demo/Chart.yaml'),
      `${readFileSync(join(dir, 'demo/Chart.yaml'), 'utf8')}${dependencies}`,
    );
    execFileSync('find', [dir, '-exec', 'touch', '-d', '@1700000000', '{}', '+']);
    const helm = new Helm(requireTool('helm'), {
      PATH: process.env.PATH ?? '',
      HOME: dir,
      HELM_CACHE_HOME: join(dir, 'home'),
      HELM_CONFIG_HOME: join(dir, 'home'),
      HELM_DATA_HOME: join(dir, 'home'),
    });
    const digests = new Set<string>();
    let last = '';
    for (let i = 0; i < 8; i += 1) {
      const packaged = await helm.package(join(dir, 'demo'), join(dir, `out-${i}`));
      digests.add(packaged.digest);
      last = packaged.path;
    }
    expect(digests.size).toBe(1);
    const order = execFileSync('tar', ['-tzf', last], { encoding: 'utf8' })
      .split('\n')
      .filter((entry) => entry.endsWith('/Chart.yaml') && entry.includes('/charts/'))
      .map((entry) => entry.split('/')[2]);
    expect(order).toEqual(names);
    // helm still reads it: the package lints and renders.
    execFileSync(requireTool('helm'), ['template', 'x', last], { env: { ...process.env, HOME: dir } });
  });

  it('refuses Helm 3 (it dates archives by the clock, so a re-run packages other bytes), before publishing', async () => {
    const helm3 = await startHelmDownloadSite({ tool: 'helm3' });
    const labelled = await startHelmDownloadSite({ tool: 'helm3', version: '4.2.4' });
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site: helm3 };
    try {
      expect(helm3.version).toMatch(/^3\./);
      // Why: Helm 3 dates archive entries by the clock, whatever the files' times (helm 4 takes the files').
      const dated = mkdtempSync(join(scratch, 'helm3-dated-'));
      cpSync(DEMO, join(dated, 'demo'), { recursive: true });
      execFileSync('find', [join(dated, 'demo'), '-exec', 'touch', '-d', '@1700000000', '{}', '+']);
      const digests: string[] = [];
      for (const out of ['a', 'b']) {
        if (out === 'b') await new Promise((resolve) => setTimeout(resolve, 1100));
        execFileSync(requireTool('helm3'), ['package', join(dated, 'demo'), '-d', join(dated, out)]);
        const data = readFileSync(join(dated, out, 'demo-0.1.0.tgz'));
        digests.push(createHash('sha256').update(data).digest('hex'));
      }
      expect(digests[0]).not.toBe(digests[1]);
      const run = await publish(
        setup,
        projectRepo(),
        {},
        { RUNNER_TOOL_CACHE: join(scratch, 'helm3-cache') },
      );
      expect(run.code).toBe(1);
      expect(run.errors.join('\n')).toMatch(/^helm-version: "3\.[0-9.]+" is Helm 3/);
      // A download site that serves Helm 3 under a Helm 4 version is refused by the binary's own version.
      const mislabelled = await publish(
        { ...setup, site: labelled },
        projectRepo(),
        {},
        { RUNNER_TOOL_CACHE: join(scratch, 'helm3-labelled-cache') },
      );
      expect(mislabelled.code).toBe(1);
      expect(mislabelled.errors.join('\n')).toMatch(/is helm v3\.[0-9.]+, not 4\.2\.4/);
      expect(setup.remote.log()).toEqual([]);
      expect(setup.github.releases).toEqual([]);
    } finally {
      setup.remote.close();
      await setup.github.close();
      await helm3.close();
      await labelled.close();
    }
  });
});

// The chart's signatures: Helm's own provenance (.prov, `helm package --sign` with a GPG key made here)
// uploaded beside the package as chart-releaser does, verified with `helm pull --verify` as a user would
// against the served Pages branch and the public key; and the OCI chart signed with cosign by digest,
// offline (a cosign key pair, no transparency log, the referrers tag schema of the local registry).
describe('helm-release: signed charts', () => {
  let gpg: GpgKey;
  let cosignKeys: KeyPair;
  let downloads: StandIn;
  beforeAll(async () => {
    gpg = generateGpgKey();
    cosignKeys = await generateKeyPair();
    downloads = await startStandIn();
  });
  afterAll(async () => {
    gpg?.remove();
    removeKeyPair(cosignKeys);
    await downloads?.close();
  });

  it('uploads <package>.prov beside the .tgz; helm pull --verify checks it against the public key', async () => {
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    const server = await setup.remote.serve();
    try {
      const repo = projectRepo();
      const signed = {
        'pages-url': server.url,
        'gpg-private-key': gpg.armoredSecret,
        'gpg-key-name': 'charts@example.org',
        'gpg-passphrase': gpg.passphrase,
      };
      const run = await publish(setup, repo, signed);
      expectSuccess(run);
      expect(run.outputs['provenance-file']).toMatch(/demo-0\.1\.1\.tgz\.prov$/);
      const assets = setup.github.releases
        .find((r) => r.tag_name === 'demo-0.1.1')!
        .assets.map((a) => a.name);
      expect(assets.sort()).toEqual(['demo-0.1.1.tgz', 'demo-0.1.1.tgz.prov']);
      const logged = `${run.stdout}${run.stderr}`.split('\n');
      expect(logged.filter((l) => l.includes(gpg.passphrase) && !l.startsWith('::add-mask::'))).toEqual([]);
      const home = mkdtempSync(join(scratch, 'helm-verify-'));
      const helm = helmIn(home);
      await helm('repo', 'add', 'signed', server.url);
      const pullVerified = (keyring: string) =>
        helm(
          'pull',
          'signed/demo',
          '--version',
          '0.1.1',
          '--verify',
          '--keyring',
          keyring,
          '--destination',
          mkdtempSync(join(scratch, 'helm-verify-')),
        );
      // The public key is on the Pages site beside index.yaml, as the user fetches it: armored, public only.
      expect(run.outputs['public-key-url']).toBe(`${server.url}/pubkey.asc`);
      const published = await fetch(`${server.url}/pubkey.asc`);
      expect(published.status).toBe(200);
      const armored = await published.text();
      expect(armored).toMatch(/^-----BEGIN PGP PUBLIC KEY BLOCK-----\n/);
      expect(armored).not.toContain('PRIVATE KEY');
      const keyring = join(mkdtempSync(join(scratch, 'pages-key-')), 'opennebula-charts.gpg');
      const gpgHome = mkdtempSync(join(scratch, 'gnupg-'));
      execFileSync('gpg', ['--batch', '--dearmor', '--output', keyring], {
        input: armored,
        env: { ...process.env, GNUPGHOME: gpgHome },
      });
      const shown = execFileSync('gpg', ['--batch', '--show-keys', '--with-colons', keyring], {
        env: { ...process.env, GNUPGHOME: gpgHome },
        encoding: 'utf8',
      });
      expect(shown).toMatch(new RegExp(`^fpr:+${gpg.fingerprint}:`, 'm'));
      expect(shown).not.toMatch(/^sec:/m);
      const verified = await pullVerified(keyring);
      expect(verified).toMatch(/Signed by: Chart Signer <charts@example\.org>/);
      expect((await pullVerified(gpg.publicKeyring)).length).toBeGreaterThan(0);
      // The summary says how to verify, with the key's fingerprint to compare.
      expect(run.summary).toContain(`curl -fsSL ${server.url}/pubkey.asc | gpg --dearmor`);
      expect(run.summary).toMatch(/helm pull \S+\/demo --version 0\.1\.1 --verify --keyring /);
      expect(run.summary).toContain(gpg.fingerprint);
      // So does the landing page, which links the key.
      expect(setup.remote.read('index.html')).toContain(`<a href="pubkey.asc">pubkey.asc</a>`);
      expect(setup.remote.read('index.html')).toContain(gpg.fingerprint);
      // Another key does not verify it.
      const stranger = generateGpgKey();
      try {
        await expect(pullVerified(stranger.publicKeyring)).rejects.toThrow(
          /openpgp: signature made by unknown entity|no signature|unknown entity/,
        );
      } finally {
        stranger.remove();
      }
      // A re-run publishes nothing and adds no second .prov; pubkey.asc stays as it is.
      const commits = setup.remote.log();
      const again = await publish(setup, freshClone(repo), { ...signed, 'chart-version': '0.1.1' });
      expectSuccess(again);
      expect(setup.github.releases.find((r) => r.tag_name === 'demo-0.1.1')!.assets).toHaveLength(2);
      expect(setup.remote.log()).toEqual(commits);
      expect(setup.remote.read('pubkey.asc')).toBe(armored);
    } finally {
      await server.close();
      setup.remote.close();
      await setup.github.close();
    }
  });

  it('refuses a GPG key without its name, or that is not a key, before publishing anything', async () => {
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    try {
      const repo = projectRepo();
      const unnamed = await publish(setup, repo, { 'gpg-private-key': gpg.armoredSecret });
      expect(unnamed.code).not.toBe(0);
      expect(unnamed.errors.join('\n')).toContain('gpg-key-name: required with gpg-private-key');
      const garbage = await publish(setup, repo, { 'gpg-private-key': 'bm90IGEga2V5', 'gpg-key-name': 'x' });
      expect(garbage.errors.join('\n')).toContain('gpg-private-key: not an OpenPGP secret key');
      const wrong = await publish(setup, repo, {
        'gpg-private-key': gpg.armoredSecret,
        'gpg-key-name': 'charts@example.org',
        'gpg-passphrase': 'not the passphrase',
      });
      expect(wrong.code).not.toBe(0);
      const nameless = await publish(setup, repo, {
        'gpg-private-key': gpg.armoredSecret,
        'gpg-key-name': 'nobody@example.org',
      });
      expect(nameless.code).not.toBe(0);
      expect(nameless.errors.join('\n')).toContain(
        'gpg-key-name: no key of gpg-private-key has a user ID containing "nobody@example.org"',
      );
      // A public key where the secret key belongs: nothing to sign with, nothing published.
      const publicOnly = await publish(setup, repo, {
        'gpg-private-key': gpg.armoredPublic,
        'gpg-key-name': 'charts@example.org',
      });
      expect(publicOnly.errors.join('\n')).toContain('gpg-private-key: not an armored PGP private key block');
      expect(setup.github.releases).toEqual([]);
      expect(setup.remote.log()).toEqual([]);
    } finally {
      setup.remote.close();
      await setup.github.close();
    }
  });

  it('keeps the keys pubkey.asc already holds, and refuses a pubkey.asc that is no public key', async () => {
    const previous = generateGpgKey('previous', { name: 'Old Signer <old@example.org>' });
    const foreign = { remote: createPagesRemote({ files: { 'pubkey.asc': 'see keys.openpgp.org\n' } }) };
    const rotated = { remote: createPagesRemote({ files: { 'pubkey.asc': previous.armoredPublic } }) };
    const signed = {
      'gpg-private-key': gpg.armoredSecret,
      'gpg-key-name': 'charts@example.org',
      'gpg-passphrase': gpg.passphrase,
    };
    const github = await startGitHubApi();
    try {
      const refused = await publish({ ...foreign, github, site }, projectRepo(), signed);
      expect(refused.code).not.toBe(0);
      expect(refused.errors.join('\n')).toContain('pubkey.asc is not an armored OpenPGP public key block');
      expect(github.releases).toEqual([]);
      expect(foreign.remote.log()).toEqual(['Seed Pages site']);
      const run = await publish({ ...rotated, github, site }, projectRepo(), signed);
      expectSuccess(run);
      const shown = execFileSync('gpg', ['--batch', '--show-keys', '--with-colons'], {
        input: rotated.remote.read('pubkey.asc'),
        env: { ...process.env, GNUPGHOME: mkdtempSync(join(scratch, 'gnupg-')) },
        encoding: 'utf8',
      });
      expect([...shown.matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1])).toEqual([
        previous.fingerprint,
        gpg.fingerprint,
      ]);
    } finally {
      previous.remove();
      foreign.remote.close();
      rotated.remote.close();
      await github.close();
    }
  });

  it('signs the OCI chart by digest with cosign, once', async () => {
    const registry = await startRegistry();
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    try {
      const repo = projectRepo();
      const oci = `oci://${registry.host}/charts`;
      const signing = {
        'oci-registry': oci,
        sign: 'key',
        'cosign-key': cosignKeys.privateKey,
        'cosign-password': cosignKeys.password,
        'transparency-log': 'false',
        'cosign-version': COSIGN_TEST_VERSION,
        'cosign-download-url': serveCosignDownloads(downloads),
      };
      const run = await publish(setup, repo, signing);
      expectSuccess(run);
      const digest = (await fetch(`${registry.url}/v2/charts/demo/manifests/0.1.1`, {
        method: 'HEAD',
        headers: { accept: 'application/vnd.oci.image.manifest.v1+json' },
      }).then((r) => r.headers.get('docker-content-digest')))!;
      expect(run.outputs['oci-signature']).toMatch(new RegExp(`^${registry.host}/charts/demo@sha256:`));
      const verified = await verifySignature(`${registry.host}/charts/demo@${digest}`, cosignKeys.publicKey);
      expect(verified.code, verified.stderr).toBe(0);
      expect(await registry.tags('charts/demo')).toContain(digest.replace(':', '-'));
      expect(run.summary).toContain(`cosign verify --key cosign.pub ${registry.host}/charts/demo@${digest}`);
      const again = await publish(setup, freshClone(repo), { ...signing, 'chart-version': '0.1.1' });
      expectSuccess(again);
      expect(again.outputs['oci-signature']).toBe(run.outputs['oci-signature']);
      // Without a key or an OIDC token, nothing is signed and the summary says so.
      const unsigned = await publish(setup, freshClone(repo), {
        'oci-registry': oci,
        'chart-version': '0.1.1',
      });
      expectSuccess(unsigned);
      expect(unsigned.summary).toContain('no OIDC token');
    } finally {
      setup.remote.close();
      await setup.github.close();
      await registry.close();
    }
  });

  // Keyless as far as it goes offline: the runner's token (a stand-in of its endpoint) goes to cosign, which
  // cannot reach Sigstore here (Fulcio, Rekor, its TUF repository), so the job fails after the push; the
  // summary still says what to run to verify, naming the reusable workflow that signs (the token's
  // job_workflow_ref), not the caller's workflow, and GitHub's issuer.
  it("keyless: the summary's verify command names the signing workflow's identity, even when signing fails", async () => {
    const registry = await startRegistry();
    const tokens = await startStandIn();
    const setup: Setup = { remote: createPagesRemote(), github: await startGitHubApi(), site };
    const signer = 'example/opennebula-kubernetes/.github/workflows/publish-opennebula.yml@refs/tags/v1';
    const endpoint = serveIdTokens(tokens, {
      repository: 'a-fork/opennebula-kubernetes',
      repository_owner: 'a-fork',
      workflow_ref: 'a-fork/opennebula-kubernetes/.github/workflows/release.yml@refs/heads/main',
      job_workflow_ref: signer,
    });
    try {
      const run = await publish(
        setup,
        projectRepo(),
        {
          'oci-registry': `oci://${registry.host}/charts`,
          sign: 'keyless',
          'cosign-version': COSIGN_TEST_VERSION,
          'cosign-download-url': serveCosignDownloads(downloads),
        },
        {
          ...endpoint.env,
          GITHUB_WORKFLOW_REF: 'a-fork/opennebula-kubernetes/.github/workflows/release.yml@refs/heads/main',
          TUF_ROOT: join(scratch, 'tuf'),
        },
      );
      expect(run.code).not.toBe(0);
      expect(endpoint.requests()).toHaveLength(1);
      expect(endpoint.requests()[0]!.url).toMatch(/&audience=sigstore$/);
      expect(run.errors.join('\n')).toMatch(
        /signing \S+\/charts\/demo@sha256:[0-9a-f]{64} failed after the push/,
      );
      expect(run.summary).toMatch(
        new RegExp(
          `cosign verify --certificate-identity https://github\\.com/${signer.replace(/[.]/g, '\\.')} ` +
            `--certificate-oidc-issuer https://token\\.actions\\.githubusercontent\\.com \\S+/charts/demo@sha256:[0-9a-f]{64}`,
        ),
      );
      expect(run.summary).not.toContain('a-fork/opennebula-kubernetes/.github/workflows/release.yml');
      expect(run.summary).toContain('Signing failed');
      // The chart itself was published before: a re-run signs it (see the keyed case above).
      expect(versionsOf(setup.remote)).toEqual(['0.1.1']);
    } finally {
      setup.remote.close();
      await setup.github.close();
      await registry.close();
      await tokens.close();
    }
  });
});
