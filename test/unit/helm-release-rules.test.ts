// helm-release under GitHub's real rules, the pure parts: whose index.html it is, "Latest" releases, pushes
// refused by branch protection or rulesets, charts whose dependencies are not vendored, Helm 3.
import { describe, expect, it } from 'vitest';
import { missingDependencies, stagingLayout } from '../../actions/helm-release/src/dependencies.js';
import { parseInputs } from '../../actions/helm-release/src/inputs.js';
import {
  isOurLandingPage,
  landingPageToWrite,
  renderLandingPage,
} from '../../actions/helm-release/src/landing.js';
import { isRejectedPush, protectionRefusal } from '../../actions/shared/src/pages.js';

function inputs(values: Record<string, string>) {
  const all: Record<string, string> = { repository: 'Owner/charts-repo', 'github-token': 't', ...values };
  return parseInputs((name) => all[name] ?? '', { GITHUB_WORKSPACE: '/w' });
}

describe('inputs', () => {
  it('defaults: the landing page only where it is ours, releases not marked Latest', () => {
    expect(inputs({}).landingPage).toBe('auto');
    expect(inputs({}).makeLatest).toBe('false');
    expect(inputs({ 'landing-page': 'Always' }).landingPage).toBe('always');
    expect(inputs({ 'make-latest': 'legacy' }).makeLatest).toBe('legacy');
    expect(inputs({ 'make-latest': 'TRUE' }).makeLatest).toBe('true');
  });

  it.each([
    [{ 'landing-page': 'yes' }, /^landing-page: "yes" is not one of auto, always, never/],
    [{ 'make-latest': 'maybe' }, /^make-latest: "maybe" is not one of true, false, legacy/],
    [{ 'helm-version': '3.21.4' }, /^helm-version: "3.21.4" is Helm 3, which writes the packaging time/],
    [{ 'helm-version': 'v3.14.0' }, /^helm-version: "v3.14.0" is Helm 3/],
  ])('rejects %o naming the input', (values, message) => {
    expect(() => inputs(values)).toThrow(message);
  });
});

describe('landing page ownership', () => {
  const ours = renderLandingPage(new Map([['demo', [{ version: '1.0.0' }]]]), {
    pagesUrl: 'https://o.github.io/r',
    repoName: 'r',
  });
  const homepage = '<!DOCTYPE html>\n<html><head><title>Our project</title></head><body>Docs</body></html>\n';

  it('marks the page it writes, and knows pages it did not write', () => {
    expect(ours).toMatch(/<meta name="generator" content="[^"]*helm-release[^"]*">/);
    expect(isOurLandingPage(ours)).toBe(true);
    expect(isOurLandingPage(homepage)).toBe(false);
    // A homepage that merely mentions the action is still not ours.
    expect(isOurLandingPage(`${homepage}<p>Published with helm-release.</p>`)).toBe(false);
    // A page this action wrote before it was marked is still its own.
    expect(isOurLandingPage(ours.replace(/<meta name="generator"[^>]*>\n/, ''))).toBe(true);
    expect(ours.replace(/<meta name="generator"[^>]*>\n/, '')).not.toContain('generator');
  });

  it('writes it where there is none or ours, replaces another only when asked, never when told not to', () => {
    const next = ours.replace('1.0.0', '1.1.0');
    expect(landingPageToWrite(undefined, next, 'auto')).toBe(next);
    expect(landingPageToWrite(ours, next, 'auto')).toBe(next);
    expect(landingPageToWrite(next, next, 'auto')).toBeUndefined();
    expect(landingPageToWrite(homepage, next, 'auto')).toBeUndefined();
    expect(landingPageToWrite(homepage, next, 'always')).toBe(next);
    expect(landingPageToWrite(undefined, next, 'never')).toBeUndefined();
    expect(landingPageToWrite(ours, next, 'never')).toBeUndefined();
  });
});

describe('pushes refused by GitHub rules', () => {
  // What git prints for GitHub's refusals (porcelain status on stdout, the remote's lines on stderr).
  const protectedBranch = [
    'remote: error: GH006: Protected branch update failed for refs/heads/gh-pages.',
    'remote: error: Changes must be made through a pull request.',
    'To https://github.com/o/r.git',
    '!\tabc:refs/heads/gh-pages\t[remote rejected] (protected branch hook declined)',
    'Done',
    "error: failed to push some refs to 'https://github.com/o/r.git'",
  ].join('\n');
  const ruleset = [
    'remote: error: GH013: Repository rule violations found for refs/heads/gh-pages.',
    'remote: Review all repository rules at https://github.com/o/r/rules?ref=refs%2Fheads%2Fgh-pages',
    'remote: ',
    'remote: - Cannot update this protected ref.',
    'remote: ',
    '!\tabc:refs/heads/gh-pages\t[remote rejected] (push declined due to repository rule violations)',
  ].join('\n');

  it("names GitHub's reason for branch protection and rulesets", () => {
    expect(protectionRefusal(protectedBranch)).toBe(
      'GH006: Protected branch update failed for refs/heads/gh-pages. Changes must be made through a pull request.',
    );
    expect(protectionRefusal(ruleset)).toBe(
      'GH013: Repository rule violations found for refs/heads/gh-pages. Cannot update this protected ref.',
    );
    expect(
      protectionRefusal(' ! [remote rejected] gh-pages -> gh-pages (protected branch hook declined)'),
    ).toBe('protected branch hook declined');
  });

  it('is not a lost race, and a lost race is not a refusal', () => {
    const race = ' ! [rejected]        HEAD -> gh-pages (fetch first)';
    expect(protectionRefusal(race)).toBeUndefined();
    expect(isRejectedPush(race)).toBe(true);
    expect(protectionRefusal('remote: stand-in: push refused (a concurrent publish won the race)')).toBe(
      undefined,
    );
  });
});

describe('chart dependencies', () => {
  const chart = (deps: string) => `apiVersion: v2\nname: app\nversion: 1.0.0\n${deps}`;
  const two =
    'dependencies:\n- name: common\n  version: 0.2.0\n  repository: file://../common\n' +
    '- name: redis\n  version: ~19.0.0\n  repository: https://charts.example.org\n  alias: cache\n';

  it('lists the dependencies charts/ does not hold (archive or directory)', () => {
    expect(missingDependencies(chart(''), [])).toEqual([]);
    expect(missingDependencies(chart(two), [])).toEqual(['common', 'redis']);
    expect(missingDependencies(chart(two), ['common-0.2.0.tgz', 'redis'])).toEqual([]);
    expect(missingDependencies(chart(two), ['redis-19.0.3.tgz'])).toEqual(['common']);
    // common-lib-1.0.0.tgz is another chart, not common.
    expect(missingDependencies(chart(two), ['common-lib-1.0.0.tgz', 'redis-19.0.3.tgz'])).toEqual(['common']);
  });

  it('stages relative file:// dependencies where the staged chart finds them', () => {
    expect(stagingLayout(chart(''))).toEqual({ depth: 0, local: [] });
    expect(stagingLayout(chart(two))).toEqual({ depth: 0, local: ['../common'] });
    const deep = 'dependencies:\n- name: lib\n  version: 1.0.0\n  repository: file://../../libs/lib\n';
    expect(stagingLayout(chart(deep))).toEqual({ depth: 1, local: ['../../libs/lib'] });
    const inside = 'dependencies:\n- name: sub\n  version: 1.0.0\n  repository: file://sub\n';
    expect(stagingLayout(chart(inside))).toEqual({ depth: 0, local: [] });
  });
});
