// The rehearsal's parts around the runner: the working-tree snapshot checkout copies, the step
// environment, --live's reachability check (and the CLI's answer without network), the images helm
// template names, and the summary page.
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { startStandIn } from '../support/http-stand-in.js';
import { freePort } from '../support/oci-registry.js';
import { REPO_ROOT, TOOLS_BIN } from '../support/tools.js';
import { baseEnvironment, snapshotWorkingTree } from './environment.js';
import { checkLiveReachability, liveUpstreams, registryEndpoint } from './live.js';
import { chartDefaultImage } from './main.js';
import { writeSummaryPage } from './report.js';
import type { RunRecord } from './runner.js';
import { renderedImages } from './user-check.js';

const scratch = mkdtempSync(join(tmpdir(), 'rehearsal-parts-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('the checkout snapshot', () => {
  it('is HEAD with the working tree on top: modified and untracked files in, deleted and ignored ones out', () => {
    const repo = join(scratch, 'repo');
    const git = (...args: string[]) =>
      execFileSync('git', args, {
        cwd: repo,
        encoding: 'utf8',
        env: { ...process.env, GIT_CONFIG_GLOBAL: '/dev/null', GIT_CONFIG_NOSYSTEM: '1' },
      });
    execFileSync('git', ['init', '--quiet', '--initial-branch', 'main', repo]);
    for (const name of ['modified', 'deleted', 'removed', 'kept'])
      writeFileSync(join(repo, name), `${name}\n`);
    writeFileSync(join(repo, '.gitignore'), 'ignored\n');
    git('add', '--all');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'base');
    writeFileSync(join(repo, 'modified'), 'changed, not committed\n');
    rmSync(join(repo, 'deleted'));
    git('rm', '--quiet', 'removed');
    writeFileSync(join(repo, 'untracked'), 'new\n');
    writeFileSync(join(repo, 'ignored'), 'local only\n');

    const snapshot = snapshotWorkingTree(join(scratch, 'snapshot'), repo);
    expect(snapshot.head).toBe(git('rev-parse', 'HEAD').trim());
    const read = (name: string) =>
      existsSync(join(snapshot.dir, name)) ? readFileSync(join(snapshot.dir, name), 'utf8') : undefined;
    expect(read('modified')).toBe('changed, not committed\n');
    expect(read('kept')).toBe('kept\n');
    expect(read('untracked')).toBe('new\n');
    expect(read('deleted')).toBeUndefined();
    expect(read('removed')).toBeUndefined();
    expect(read('ignored')).toBeUndefined();
    expect(execFileSync('git', ['log', '-1', '--format=%s'], { cwd: snapshot.dir, encoding: 'utf8' })).toBe(
      'base\n',
    );
  });
});

describe('the step environment', () => {
  it('gives buildah its sandbox settings unless chosen, and passes no secret from this process', () => {
    const saved = { ...process.env };
    try {
      process.env.GITHUB_TOKEN = 'ghp_from_the_caller';
      delete process.env.BUILDAH_ISOLATION;
      process.env.STORAGE_DRIVER = 'overlay';
      const env = baseEnvironment({
        home: join(scratch, 'home'),
        toolCache: '/tc',
        builder: 'buildah',
        live: false,
      });
      expect(env.BUILDAH_ISOLATION).toBe('chroot');
      expect(env.STORAGE_DRIVER).toBe('overlay');
      expect(env.GITHUB_TOKEN).toBeUndefined();
      expect(env.PATH!.split(':')[0]).toBe(TOOLS_BIN);
      const docker = baseEnvironment({
        home: join(scratch, 'home'),
        toolCache: '/tc',
        builder: 'docker',
        live: false,
      });
      expect(docker.BUILDAH_ISOLATION).toBeUndefined();
    } finally {
      process.env = saved;
    }
  });
});

describe('--live', () => {
  it("asks the actions' own default upstreams", () => {
    const defaults = (action: string) =>
      (
        parse(readFileSync(join(REPO_ROOT, 'actions', action, 'action.yml'), 'utf8')) as {
          inputs: Record<string, { default: string }>;
        }
      ).inputs;
    const upstreams = Object.values(liveUpstreams('docker.io/example/opennebula'));
    expect(upstreams).toContain(`${defaults('detect-opennebula-release')['repository-url']!.default}/`);
    expect(upstreams).toContain(`${defaults('build-scan-push')['trivy-download-url']!.default}/`);
    expect(upstreams).toContain('https://registry-1.docker.io/v2/');
    expect(registryEndpoint('ghcr.io/owner/opennebula')).toBe('https://ghcr.io/v2/');
    expect(registryEndpoint('localhost:5000/opennebula')).toBe('https://localhost:5000/v2/');
    expect(registryEndpoint('library/opennebula')).toBe('https://registry-1.docker.io/v2/');
  });

  it('names every upstream that does not answer, and why; any HTTP answer counts as reachable', async () => {
    const site = await startStandIn();
    try {
      const closed = await freePort();
      const unreachable = await checkLiveReachability({
        answering: `${site.url}/missing`,
        refused: `http://127.0.0.1:${closed}/`,
        unresolvable: 'http://upstream.rehearsal.invalid/',
      });
      expect(unreachable).toEqual([
        `refused: http://127.0.0.1:${closed}/ (connection refused)`,
        'unresolvable: http://upstream.rehearsal.invalid/ (its host name does not resolve: no DNS or no network)',
      ]);
    } finally {
      await site.close();
    }
  });

  it('without network, npm run main -- --live says what it could not reach and exits 2', async (context) => {
    const unreachable = await checkLiveReachability(liveUpstreams(chartDefaultImage()), 5000);
    if (unreachable.length === 0) context.skip(); // this machine has network: --live would really run
    const result = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [
          '--import',
          './test/rehearsal/register.mjs',
          'test/rehearsal/main.ts',
          '--live',
          '--out',
          join(scratch, 'live'),
        ],
        { cwd: REPO_ROOT, env: { PATH: process.env.PATH, HOME: scratch } },
        (error, _stdout, stderr) => resolve({ code: error ? Number(error.code) : 0, stderr }),
      );
    });
    expect(result.code).toBe(2);
    expect(result.stderr).toContain(
      '--live rehearses against the real upstreams, and these cannot be reached:',
    );
    for (const line of unreachable) expect(result.stderr).toContain(line.split(' (')[0]);
    expect(result.stderr).toContain('Without network, run the offline rehearsal: npm run main');
    expect(existsSync(join(scratch, 'live', 'run-1'))).toBe(false);
  });
});

describe('the user check and the summary page', () => {
  it('finds every image helm template renders, in any workload', () => {
    const manifests = [
      'kind: StatefulSet\nspec:\n  template:\n    spec:\n      initContainers:\n        - image: r/one:7.4.0\n      containers:\n        - image: r/one:7.4.0\n        - image: mariadb:11.8',
      'kind: CronJob\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - image: r/one@sha256:abc',
      'kind: ConfigMap\ndata:\n  note: "image: not-an-image"',
    ].join('\n---\n');
    expect(renderedImages(manifests)).toEqual(['mariadb:11.8', 'r/one:7.4.0', 'r/one@sha256:abc']);
  });

  it("renders every step's summary (Markdown and HTML) under its job, names escaped", () => {
    const step = (name: string, summary: string) => ({
      job: 'publish/image',
      id: name,
      name,
      outcome: 'success' as const,
      conclusion: 'success' as const,
      outputs: {},
      summary,
      errors: [],
      redirected: {},
      log: '',
      durationMs: 1,
    });
    const record: RunRecord = {
      workflow: 'release.yml',
      attempt: 1,
      result: 'success',
      durationMs: 1,
      jobs: [
        {
          id: 'publish/image',
          name: 'image',
          result: 'success',
          outputs: {},
          durationMs: 1,
          steps: [
            step('Summary <of> image', '### Image\n\n| tag | digest |\n|-|-|\n| 7.4.0 | sha256:1 |\n'),
            step('silent', ''),
            step('html', '<table><tr><td>raw</td></tr></table>\n'),
          ],
        },
      ],
    };
    const file = writeSummaryPage(join(scratch, 'page.html'), 'report <text>', [{ label: 'Run 1', record }]);
    const page = readFileSync(file, 'utf8');
    expect(page).toContain('<pre>report &lt;text&gt;</pre>');
    expect(page).toContain('<h4>Summary &lt;of&gt; image</h4><h3>Image</h3>');
    expect(page).toMatch(/<td>7\.4\.0<\/td>\s*<td>sha256:1<\/td>/);
    expect(page).toContain('<td>raw</td>');
    expect(page).not.toContain('<h4>silent</h4>');
  });
});
