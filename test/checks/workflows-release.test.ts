// `npm run release -- X.Y.Z` (test/release.sh) on a real clone of this repository with real git: it refuses a bad version, a
// dirty tree, an existing or lower tag, failing tests and a stale dist/ (tagging nothing), and otherwise tags
// vX.Y.Z and moves the major tag, pushing both to a bare remote with --push.
import { execFileSync, spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/tools.js';

const OWN_REPOSITORY = 'pablodelarco/opennebula-helm';
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'Release Test',
  GIT_AUTHOR_EMAIL: 'release@example.invalid',
  GIT_COMMITTER_NAME: 'Release Test',
  GIT_COMMITTER_EMAIL: 'release@example.invalid',
};

describe('npm run release', () => {
  let root: string;
  let clone: string;
  let remote: string;

  const git = (...args: string[]) =>
    execFileSync('git', args, { cwd: clone, encoding: 'utf8', env: { ...process.env, ...GIT_ENV } }).trim();
  const tags = () => git('tag', '--list').split('\n').filter(Boolean).sort();
  const release = (args: string[], testCommand = 'true', repository = OWN_REPOSITORY) =>
    spawnSync('bash', ['test/release.sh', ...args], {
      cwd: clone,
      encoding: 'utf8',
      env: {
        ...process.env,
        ...GIT_ENV,
        RELEASE_TEST_COMMAND: testCommand,
        RELEASE_REMOTE: remote,
        RELEASE_REPOSITORY: repository,
      },
    });

  beforeAll(() => {
    root = mkdtempSync(join(tmpdir(), 'release-'));
    clone = join(root, 'clone');
    remote = join(root, 'remote.git');
    execFileSync('git', ['clone', '--quiet', '--no-local', REPO_ROOT, clone]);
    execFileSync('git', ['init', '--quiet', '--bare', remote]);
    symlinkSync(join(REPO_ROOT, 'node_modules'), join(clone, 'node_modules'));
    // .gitignore's `node_modules/` matches directories only, not this symlink.
    appendFileSync(join(clone, '.git/info/exclude'), 'node_modules\n');
    // The committed bundles may lag the committed sources while work is in progress: start from a commit
    // whose dist/ is fresh, so each refusal below has exactly one cause.
    execFileSync(process.execPath, ['test/build-actions.mjs'], { cwd: clone, stdio: 'ignore' });
    git('add', '--all');
    git('commit', '--quiet', '--allow-empty', '-m', 'fresh bundles');
  }, 300_000);
  afterAll(() => rmSync(root, { recursive: true, force: true }));

  it('is what npm run release runs', () => {
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(pkg.scripts.release).toBe('bash test/release.sh');
  });

  it('refuses a version that is not X.Y.Z, naming it', () => {
    for (const bad of ['', '1.2', 'v1.2.3', '1.2.3-rc1', '01.2.3']) {
      const result = release(bad ? [bad] : []);
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(`version: "${bad}" is not X.Y.Z`);
    }
    expect(tags()).toEqual([]);
  });

  it('refuses a dirty work tree', () => {
    writeFileSync(join(clone, 'stray.txt'), 'not committed\n');
    const result = release(['1.0.0']);
    rmSync(join(clone, 'stray.txt'));
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('uncommitted or untracked changes');
    expect(tags()).toEqual([]);
  });

  it('refuses without a GitHub repository to pin the actions to, naming RELEASE_REPOSITORY', () => {
    // The clone's origin is a local path, not github.com.
    const result = release(['1.0.0'], 'true', '');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('RELEASE_REPOSITORY: "" is not owner/name');
    expect(release(['1.0.0'], 'true', 'not a repository').stderr).toContain(
      'RELEASE_REPOSITORY: "not a repository" is not owner/name',
    );
    expect(tags()).toEqual([]);
  });

  it('refuses when the tests fail', () => {
    const result = release(['1.0.0'], 'exit 3');
    expect(result.status).not.toBe(0);
    expect(result.stderr).toContain('the tests failed: nothing tagged');
    expect(tags()).toEqual([]);
  });

  it('tags v1.0.0, moves v1, pushes both; then refuses the same or a lower version', () => {
    // Without RELEASE_REPOSITORY the repository comes from a GitHub origin (the push goes to RELEASE_REMOTE).
    git('remote', 'set-url', 'origin', `git@github.com:${OWN_REPOSITORY}.git`);
    const first = release(['1.0.0', '--push'], 'true', '');
    expect(first.stderr + first.stdout).toContain('tagged v1.0.0 and moved v1');
    expect(first.status).toBe(0);
    const head = git('rev-parse', 'HEAD');
    expect(tags()).toEqual(['v1', 'v1.0.0']);
    // The tags name a release commit on top of the tested one, changed only in .github/workflows/.
    expect(git('rev-parse', 'v1.0.0^{commit}^')).toBe(head);
    expect(git('rev-parse', 'v1^{commit}')).toBe(git('rev-parse', 'v1.0.0^{commit}'));
    expect(git('status', '--porcelain')).toBe('');
    const changed = git('diff', '--name-only', head, 'v1.0.0').split('\n');
    expect(changed.length).toBeGreaterThan(0);
    for (const file of changed) expect(file).toMatch(/^\.github\/workflows\/[^/]+\.yml$/);
    expect(
      git('grep', '-c', '-E', 'uses:[[:space:]]*\\./actions/', head, '--', '.github/workflows/'),
    ).not.toBe('');
    const remoteTags = execFileSync('git', ['ls-remote', '--tags', remote], { encoding: 'utf8' });
    expect(remoteTags).toContain('refs/tags/v1.0.0');
    expect(remoteTags).toContain('refs/tags/v1\n');

    // No workspace-relative action is left on the tag; each names this repository at the tested commit, where
    // the action exists.
    const grep = spawnSync(
      'git',
      ['grep', '-n', '-E', 'uses:[[:space:]]*\\./actions/', 'v1.0.0', '--', '.github/workflows/'],
      {
        cwd: clone,
        encoding: 'utf8',
      },
    );
    expect(grep.stdout).toBe('');
    const published = git('show', 'v1.0.0:.github/workflows/publish-opennebula.yml');
    const pinned = [...published.matchAll(/uses: (\S+)\/actions\/([\w.-]+)@([0-9a-f]{40})/g)];
    // build-scan-push twice: the build and the re-run path that only signs what an earlier attempt pushed.
    expect([...new Set(pinned.map(([, repository, name]) => `${repository}/${name}`))].sort()).toEqual([
      `${OWN_REPOSITORY}/build-scan-push`,
      `${OWN_REPOSITORY}/detect-opennebula-release`,
      `${OWN_REPOSITORY}/helm-release`,
    ]);
    for (const [, , name, sha] of pinned) {
      expect(sha).toBe(head);
      expect(git('cat-file', '-t', `${sha}:actions/${name}/action.yml`)).toBe('blob');
    }
    expect(git('show', 'v1.0.0:.github/workflows/detect-opennebula-release.yml')).toContain(
      `uses: ${OWN_REPOSITORY}/actions/detect-opennebula-release@${head}`,
    );

    expect(release(['1.0.0']).stderr).toContain('tag v1.0.0 exists already');
    expect(release(['0.9.0']).stderr).toContain('0.9.0 is not above the latest release v1.0.0');
  }, 300_000);

  it('refuses a stale dist/ and tags nothing; after a fix, v1 moves to the new release', () => {
    const source = join(clone, 'actions/detect-opennebula-release/src/index.ts');
    appendFileSync(source, "\nconsole.log('a change the bundle does not have');\n");
    git('commit', '--quiet', '-am', 'source change without rebuilding');
    const stale = release(['1.1.0']);
    expect(stale.status).not.toBe(0);
    expect(stale.stderr).toContain('stale bundles: actions/detect-opennebula-release/dist');
    expect(tags()).toEqual(['v1', 'v1.0.0']);

    git('revert', '--no-edit', 'HEAD');
    const fixed = release(['1.1.0']);
    expect(fixed.status).toBe(0);
    expect(git('rev-parse', 'v1^{commit}^')).toBe(git('rev-parse', 'HEAD'));
    expect(git('rev-parse', 'v1.0.0^{commit}^')).not.toBe(git('rev-parse', 'HEAD'));
  }, 600_000);
});
