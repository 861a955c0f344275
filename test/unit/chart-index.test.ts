// detect's second source of truth: is the chart of the decided version published (the Pages branch's
// index.yaml, read with real git), and does that version move the chart at all (only the newest release of
// the newest followed series does)?
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  chartFacts,
  chartSentence,
  lookUpAppVersions,
  newestOf,
  publishedAppVersions,
} from '../../actions/detect-opennebula-release/src/chart-index.js';
import { parseInputs } from '../../actions/detect-opennebula-release/src/context.js';

const MATRIX = [{ version: '7.0.2' }, { version: '7.2.0.1' }, { version: '7.4.1' }];
const INDEX = `apiVersion: v1
entries:
  opennebula:
  - apiVersion: v2
    appVersion: "7.4.0"
    digest: aa
    name: opennebula
    version: 0.2.0
  - apiVersion: v2
    appVersion: 7.2.0.1
    digest: bb
    name: opennebula
    version: 0.1.0
  other:
  - appVersion: 7.4.1
    name: other
    version: 1.0.0
generated: "2026-01-01T00:00:00Z"
`;

describe('the chart decision', () => {
  it('the newest of the matrix is the newest release of the newest followed series', () => {
    expect(newestOf(MATRIX)).toBe('7.4.1');
    expect(newestOf([{ version: '7.10.0' }, { version: '7.9.3' }])).toBe('7.10.0');
    expect(newestOf([])).toBeUndefined();
  });

  it('reads the appVersions of one chart, quoted or not, and nothing from an absent index', () => {
    expect(publishedAppVersions(INDEX, 'opennebula')).toEqual(['7.4.0', '7.2.0.1']);
    expect(publishedAppVersions(undefined, 'opennebula')).toEqual([]);
    expect(publishedAppVersions('apiVersion: v1\nentries: {}\n', 'opennebula')).toEqual([]);
  });

  it('a newest version whose image is out but whose chart is not: published false, moves the chart', () => {
    const facts = chartFacts('7.4.1', MATRIX, publishedAppVersions(INDEX, 'opennebula'));
    expect(facts).toEqual({ movesChart: true, newest: '7.4.1', published: false });
    expect(chartSentence('7.4.1', false, facts)).toMatch(
      /image of 7\.4\.1 is published but its chart is not/,
    );
  });

  it('the chart of the newest version is published', () => {
    const facts = chartFacts('7.4.0', [{ version: '7.4.0' }], ['7.4.0']);
    expect(facts).toEqual({ movesChart: true, newest: '7.4.0', published: true });
  });

  it('an older version (a dispatched 7.0.2 while 7.4 is current) does not move the chart, and says so', () => {
    const facts = chartFacts('7.0.2', MATRIX, []);
    expect(facts.movesChart).toBe(false);
    expect(chartSentence('7.0.2', true, facts)).toBe(
      '7.0.2 is not the newest release of the newest followed series (7.4.1): its image only, the chart is not moved.',
    );
    expect(chartFacts('7.4.0', MATRIX, []).movesChart).toBe(false); // an older patch of the newest series
  });

  it('not consulted: published is undefined', () => {
    expect(chartFacts('7.4.1', MATRIX, undefined).published).toBeUndefined();
  });
});

describe('the chart inputs', () => {
  const parse = (values: Record<string, string>) =>
    parseInputs((name) => ({ image: 'ghcr.io/o/opennebula', ...values })[name] ?? '').chartIndex;
  it('are off by default and default the branch to gh-pages', () => {
    expect(parse({})).toBeUndefined();
    expect(parse({ 'chart-name': 'opennebula' })).toEqual({
      chart: 'opennebula',
      pagesBranch: 'gh-pages',
      gitRemote: '',
    });
  });
  it('refuse a bad chart or branch name, naming the input', () => {
    expect(() => parse({ 'chart-name': 'Open Nebula' })).toThrow(
      /^chart-name: "Open Nebula" is not a Helm chart name/,
    );
    expect(() => parse({ 'chart-name': 'opennebula', 'index-branch': '../x' })).toThrow(/^index-branch: /);
  });
});

describe('reading the Pages branch with real git', () => {
  const root = mkdtempSync(join(tmpdir(), 'chart-index-'));
  afterAll(() => rmSync(root, { recursive: true, force: true }));
  const git = (cwd: string, ...args: string[]) =>
    execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      env: {
        ...process.env,
        GIT_AUTHOR_NAME: 't',
        GIT_AUTHOR_EMAIL: 't@example.invalid',
        GIT_COMMITTER_NAME: 't',
        GIT_COMMITTER_EMAIL: 't@example.invalid',
      },
    });
  const bare = join(root, 'remote.git');
  git(root, 'init', '--quiet', '--bare', bare);
  const look = (remote: string) =>
    lookUpAppVersions(
      { chart: 'opennebula', pagesBranch: 'gh-pages', gitRemote: remote },
      '',
      {},
      join(root, 'tmp'),
    );

  it('a brand-new fork (no Pages branch): nothing published, no error', async () => {
    await expect(look(bare)).resolves.toEqual([]);
  });

  it('a Pages branch with an index: its appVersions', async () => {
    const work = join(root, 'work');
    git(root, 'init', '--quiet', '-b', 'gh-pages', work);
    writeFileSync(join(work, 'index.yaml'), INDEX);
    git(work, 'add', 'index.yaml');
    git(work, 'commit', '--quiet', '-m', 'index');
    git(work, 'push', '--quiet', bare, 'gh-pages');
    await expect(look(bare)).resolves.toEqual(['7.4.0', '7.2.0.1']);
  });

  it('an unreadable remote is an error, never "nothing published"', async () => {
    await expect(look(join(root, 'no-such.git'))).rejects.toThrow(/pages: cannot read/);
  });

  it('not consulted without a chart; without a remote it needs GITHUB_REPOSITORY', async () => {
    await expect(lookUpAppVersions(undefined, '', {}, root)).resolves.toBeUndefined();
    await expect(
      lookUpAppVersions({ chart: 'opennebula', pagesBranch: 'gh-pages', gitRemote: '' }, '', {}, root),
    ).rejects.toThrow(/^git-remote: empty and GITHUB_REPOSITORY is not set/);
  });
});
