import { describe, expect, it } from 'vitest';
import {
  decide,
  installableVersions,
  publishedEverywhere,
  type DecisionInput,
  type SeriesState,
} from '../../actions/detect-opennebula-release/src/decide.js';
import { compareDebianVersions } from '../../actions/detect-opennebula-release/src/dpkg-version.js';
import { parsePackages } from '../../actions/detect-opennebula-release/src/repository.js';
import { requireVersion } from '../../actions/shared/src/opennebula.js';
import {
  matrixEntry as entry,
  packagesIndex,
  REQUIRED_PACKAGES,
  type ArchIndex,
} from '../support/opennebula-repo.js';

const REQUIRED = REQUIRED_PACKAGES;
const index = (spec: ArchIndex, arch = 'amd64') => parsePackages(packagesIndex(spec, arch), 'Packages');
const v = (text: string) => requireVersion(text, 'test');

function states(spec: Record<string, string[]>): SeriesState[] {
  return Object.entries(spec).map(([series, versions]) => ({
    series,
    installable: installableVersions([index(versions)], REQUIRED, series),
  }));
}

function input(overrides: Partial<DecisionInput> = {}): DecisionInput {
  return {
    repositoryUrl: 'https://repo.example/repo',
    states: states({ '7.0': ['7.0.0-1', '7.0.1-1'], '7.2': ['7.2.0-1'], '7.4': ['7.4.0-1'] }),
    minVersion: v('7.0.0'),
    series: undefined,
    requested: undefined,
    images: ['docker.io/org/opennebula'],
    imageTags: [['7.0.0', '7.0.1', '7.0', '7.2.0', '7.2', 'latest']],
    force: false,
    ...overrides,
  };
}

describe('installableVersions', () => {
  it('needs every required package at the same upstream version', () => {
    const partial = index([
      '7.2.0-1',
      { version: '7.4.0-1', packages: ['opennebula', 'opennebula-tools', 'opennebula-fireedge'] },
    ]);
    expect(installableVersions([partial], REQUIRED, '7.4').map((i) => i.version.text)).toEqual([]);
    expect(installableVersions([index(['7.4.0-1'])], REQUIRED, '7.4')[0]).toMatchObject({
      packageVersion: '7.4.0-1',
    });
  });

  it('needs every architecture, and a missing index means not available yet', () => {
    const amd64 = index(['7.4.0-1'], 'amd64');
    expect(installableVersions([amd64, undefined], REQUIRED, '7.4')).toEqual([]);
    expect(installableVersions([amd64, index(['7.2.0-1'], 'arm64')], REQUIRED, '7.4')).toEqual([]);
    expect(installableVersions([amd64, index(['7.4.0-1'], 'arm64')], REQUIRED, '7.4')).toHaveLength(1);
  });

  it('requires one Debian revision present for every package, not just the same upstream version', () => {
    // opennebula was rebuilt as 7.4.0-2 but opennebula-tools is still 7.4.0-1: pinning 7.4.0-2 for every
    // package would fail in apt, so 7.4.0-1 (which all of them still have) is the installable one.
    const rebuilt = index([
      '7.4.0-1',
      { version: '7.4.0-2', packages: ['opennebula', 'opennebula-fireedge'] },
    ]);
    expect(installableVersions([rebuilt], REQUIRED, '7.4')[0]?.packageVersion).toBe('7.4.0-1');
    const onlyMixed = [
      ...index([{ version: '7.4.0-2', packages: ['opennebula'] }]),
      ...index([{ version: '7.4.0-1', packages: REQUIRED.filter((name) => name !== 'opennebula') }]),
    ];
    expect(installableVersions([onlyMixed], REQUIRED, '7.4')).toEqual([]);
  });

  it('picks the highest common revision in dpkg order, not the last stanza seen', () => {
    const both = index(['7.4.0-10', '7.4.0-9', '7.4.0-1ubuntu1']);
    expect(installableVersions([both], REQUIRED, '7.4')[0]?.packageVersion).toBe('7.4.0-10');
    const perArch = [index(['7.4.0-1', '7.4.0-2'], 'amd64'), index(['7.4.0-1'], 'arm64')];
    expect(installableVersions(perArch, REQUIRED, '7.4')[0]?.packageVersion).toBe('7.4.0-1');
  });

  it('keeps an older complete version when the newest is half-published', () => {
    const half = index(['7.0.0-1', { version: '7.0.1-1', packages: ['opennebula'] }]);
    expect(installableVersions([half], REQUIRED, '7.0').map((i) => i.version.text)).toEqual(['7.0.0']);
  });

  it('never counts pre-releases or versions of another series', () => {
    expect(installableVersions([index(['7.3.90-1', '7.2.0-1'])], REQUIRED, '7.3')).toEqual([]);
  });

  it('keeps hotfix versions with all four components', () => {
    const found = installableVersions([index(['6.10.0-1', '6.10.0.1-1'])], REQUIRED, '6.10');
    expect(found.map((i) => [i.version.text, i.packageVersion])).toEqual([
      ['6.10.0', '6.10.0-1'],
      ['6.10.0.1', '6.10.0.1-1'],
    ]);
  });
});

describe('publishedEverywhere', () => {
  it('keeps only tags every image has', () => {
    expect([...publishedEverywhere([['7.4.0', '7.2.0'], ['7.2.0']])]).toEqual(['7.2.0']);
    expect(publishedEverywhere([]).size).toBe(0);
  });
});

describe('decide', () => {
  it('picks the newest installable release and builds it when unpublished', () => {
    const decision = decide(input());
    expect(decision).toMatchObject({
      version: '7.4.0',
      series: '7.4',
      packageVersion: '7.4.0-1',
      isNew: true,
      tags: ['7.4.0', '7.4', '7', 'latest'],
      published: ['7.0.0', '7.0.1', '7.2.0'],
    });
    expect(decision.reason).toBe(
      '7.4.0, the newest installable Community release, is not yet published in docker.io/org/opennebula.',
    );
  });

  it('says nothing is new once every image has the tag', () => {
    const decision = decide(input({ imageTags: [['7.4.0', '7.2.0']] }));
    expect(decision.isNew).toBe(false);
    expect(decision.reason).toMatch(/already published in every image; nothing to do/);
  });

  it('counts a version as published only if every image has it', () => {
    const decision = decide(input({ images: ['a/x', 'b/x'], imageTags: [['7.4.0'], ['7.2.0']] }));
    expect(decision.isNew).toBe(true);
    expect(decision.reason).toMatch(/not yet published in b\/x\.$/);
    expect(decision.published).toEqual([]);
  });

  it('rebuilds a published version when forced', () => {
    const decision = decide(input({ imageTags: [['7.4.0']], force: true }));
    expect(decision.isNew).toBe(true);
    expect(decision.reason).toMatch(/force is set/);
  });

  it('follows one series without moving the tags of newer lines', () => {
    const decision = decide(input({ series: '7.2' }));
    expect(decision).toMatchObject({ version: '7.2.0', tags: ['7.2.0', '7.2'], isNew: false });
    expect(decision.matrix.map((m) => m.series)).toEqual(['7.2']);
  });

  it('uses an explicitly requested older version with only its own tags', () => {
    const decision = decide(input({ requested: v('7.0.0') }));
    expect(decision).toMatchObject({ version: '7.0.0', tags: ['7.0.0'], isNew: false });
    expect(decision.reason).toMatch(/^7\.0\.0 \(requested\) is already published/);
  });

  it('fails clearly when the requested version is not installable', () => {
    expect(() => decide(input({ requested: v('7.0.2') }))).toThrow(
      'version: 7.0.2 is not installable from the Community repository https://repo.example/repo/7.0/ or https://repo.example/repo/7.0.2/ (newest installable in 7.0: 7.0.1)',
    );
    expect(() => decide(input({ requested: v('7.6.0') }))).toThrow(/no installable version in that series/);
    expect(() => decide(input({ requested: v('6.10.0') }))).toThrow(
      'version: 6.10.0 is older than min-version 7.0.0',
    );
    expect(() => decide(input({ requested: v('7.3.90') }))).toThrow(/development build/);
  });

  it('ignores versions older than min-version', () => {
    const decision = decide(input({ minVersion: v('7.0.1') }));
    expect(decision.published).toEqual(['7.0.1', '7.2.0']);
  });

  it('treats a series that is not available yet as such, not as an error', () => {
    const withNew: SeriesState[] = [...input().states, { series: '7.6', installable: [] }];
    const decision = decide(input({ states: withNew }));
    expect(decision.version).toBe('7.4.0');
    expect(decision.rows.at(-1)).toEqual({
      series: '7.6',
      newest: undefined,
      published: false,
      status: 'not-available',
      target: false,
    });
  });

  it('fails when nothing at all is installable rather than reporting nothing new', () => {
    const empty = [{ series: '7.4', installable: [] }];
    expect(() => decide(input({ states: empty }))).toThrow(
      /no Community version at or above min-version 7.0.0 is installable/,
    );
  });

  it('fails when the followed series does not exist', () => {
    expect(() => decide(input({ series: '7.8' }))).toThrow(
      /^series: 7.8 is not a series of https:\/\/repo.example\/repo\//,
    );
  });

  it('lists the newest version of every series in the matrix, with independent tags', () => {
    const decision = decide(input());
    expect(decision.matrix).toEqual([
      entry('7.0.1', '7.0', '7.0.1\n7.0', false),
      entry('7.2.0', '7.2', '7.2.0\n7.2', false),
      entry('7.4.0', '7.4', '7.4.0\n7.4\n7\nlatest', true),
    ]);
    expect(decision.rows.map((r) => [r.status, r.target])).toEqual([
      ['up-to-date', false],
      ['up-to-date', false],
      ['new', true],
    ]);
    expect(decision.newVersions).toEqual([decision.matrix[2]]);
    expect(decision.otherNewVersions).toEqual([]);
  });

  it('reports every new version of every followed series, not only the newest overall', () => {
    // 7.4.0 is published; a 7.0.1.1 hotfix is installable but was never built.
    const decision = decide(
      input({
        states: states({ '7.0': ['7.0.1-1', '7.0.1.1-1'], '7.4': ['7.4.0-1'] }),
        imageTags: [['7.0.1', '7.4.0', '7.4', '7', 'latest']],
      }),
    );
    expect(decision.version).toBe('7.4.0');
    expect(decision.isNew).toBe(false);
    expect(decision.newVersions.map((entry) => entry.version)).toEqual(['7.0.1.1']);
    expect(decision.newVersions[0]?.tags).toBe('7.0.1.1\n7.0');
    // Besides `version`: what a pipeline builds without moving the chart.
    expect(decision.otherNewVersions).toEqual(decision.newVersions);
    expect(decision.rows.find((row) => row.series === '7.0')?.status).toBe('new');
    expect(decision.reason).toMatch(/New in other followed series, not yet built: 7\.0\.1\.1 \(7\.0\)/);
    // Following one series only, the other one is not reported.
    expect(
      decide(
        input({
          ...decision,
          series: '7.4',
          states: states({ '7.0': ['7.0.1.1-1'], '7.4': ['7.4.0-1'] }),
          imageTags: [['7.4.0']],
        }),
      ).newVersions,
    ).toEqual([]);
  });

  it('resolves a requested patch release from its pinned directory when the rolling index dropped it', () => {
    const only701 = states({ '7.0': ['7.0.1-1'], '7.4': ['7.4.0-1'] });
    expect(() => decide(input({ states: only701, requested: v('7.0.0') }))).toThrow(
      /version: 7\.0\.0 is not installable .*\/7\.0\/ or .*\/7\.0\.0\//,
    );
    const pinned = installableVersions([index(['7.0.0-1'])], REQUIRED, '7.0', '7.0.0')[0];
    const decision = decide(input({ states: only701, requested: v('7.0.0'), requestedPinned: pinned }));
    expect([decision.version, decision.packageVersion, decision.repositoryDir]).toEqual([
      '7.0.0',
      '7.0.0-1',
      '7.0.0',
    ]);
    expect(decision.tags).toEqual(['7.0.0']);
  });

  it('orders series numerically (7.10 after 7.4)', () => {
    const decision = decide(input({ states: states({ '7.10': ['7.10.0-1'], '7.4': ['7.4.0-1'] }) }));
    expect(decision.version).toBe('7.10.0');
    expect(decision.matrix.map((m) => m.series)).toEqual(['7.4', '7.10']);
  });

  it('moves to a new major without keeping the old major tag', () => {
    const decision = decide(input({ states: states({ '7.4': ['7.4.0-1'], '8.0': ['8.0.0-1'] }) }));
    expect(decision.tags).toEqual(['8.0.0', '8.0', '8', 'latest']);
    expect(decision.matrix[0]?.tags).toBe('7.4.0\n7.4\n7');
  });
});

describe('compareDebianVersions (dpkg ordering)', () => {
  it.each([
    ['7.4.0-1', '7.4.0-2', -1],
    ['7.4.0-9', '7.4.0-10', -1],
    ['7.4.0-1', '1:7.0.0-1', -1],
    ['7.4.0~rc1-1', '7.4.0-1', -1],
    ['7.4.0-1', '7.4.0-1ubuntu1', -1],
    ['7.4.0-1+b1', '7.4.0-1.1', -1],
    ['7.4.0-1', '7.4.0-1', 0],
    ['6.10.0.1-1', '6.10.0-5', 1],
  ])('%s vs %s', (a, b, sign) => {
    expect(Math.sign(compareDebianVersions(a, b))).toBe(sign);
    expect(Math.sign(compareDebianVersions(b, a)) || 0).toBe(-sign || 0);
  });
});
