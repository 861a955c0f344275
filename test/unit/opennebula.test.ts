import { describe, expect, it } from 'vitest';
import {
  compareVersions,
  isPreRelease,
  newest,
  parseSeries,
  parseVersion,
  requireVersion,
  sortVersions,
  tagsFor,
  upstreamOfPackageVersion,
  type OneVersion,
} from '../../actions/shared/src/opennebula.js';

const v = (text: string): OneVersion => requireVersion(text, 'test');
const texts = (versions: OneVersion[]) => versions.map((version) => version.text);

describe('parseVersion', () => {
  it.each(['7.4.0', '6.10.0.1', '10.0.0', '7.0.12'])('accepts %s', (text) => {
    expect(parseVersion(text)?.text).toBe(text);
  });

  it('keeps the fourth component', () => {
    expect(parseVersion('6.10.0.1')).toMatchObject({
      major: 6,
      minor: 10,
      patch: 0,
      hotfix: 1,
      core: '6.10.0',
    });
    expect(parseVersion('7.4.0')?.hotfix).toBeUndefined();
  });

  it.each([
    '7.4',
    'v7.4.0',
    '7.4.0-1',
    'release-7.4.0',
    '7.2.0-fixup-ce',
    '07.4.0',
    '7.4.0.1.2',
    '',
    '7.4.x',
  ])('rejects %j', (text) => {
    expect(parseVersion(text)).toBeUndefined();
  });

  it('names the input in errors', () => {
    expect(() => requireVersion('7.4', 'min-version')).toThrow(
      /^min-version: "7.4" is not an OpenNebula version/,
    );
  });
});

describe('ordering', () => {
  it('orders per component, numerically, with the hotfix after its release', () => {
    const shuffled = [
      '7.4.1',
      '7.10.0',
      '7.4.0.1',
      '6.10.0.1',
      '7.4.0',
      '6.10.5',
      '6.10.0',
      '7.4.0.2',
      '7.2.0',
    ].map(v);
    expect(texts(sortVersions(shuffled))).toEqual([
      '6.10.0',
      '6.10.0.1',
      '6.10.5',
      '7.2.0',
      '7.4.0',
      '7.4.0.1',
      '7.4.0.2',
      '7.4.1',
      '7.10.0',
    ]);
  });

  it('compares 7.4.0 < 7.4.0.1 < 7.4.1', () => {
    expect(compareVersions(v('7.4.0'), v('7.4.0.1'))).toBeLessThan(0);
    expect(compareVersions(v('7.4.0.1'), v('7.4.1'))).toBeLessThan(0);
    expect(compareVersions(v('7.4.1'), v('7.4.1'))).toBe(0);
    expect(newest([v('7.4.0.1'), v('7.4.0'), v('6.99.90')])?.text).toBe('7.4.0.1');
  });
});

describe('pre-releases', () => {
  it.each(['7.3.80', '7.3.85', '7.3.90', '6.99.80', '6.99.0', '7.99.95'])(
    '%s is a development build',
    (text) => {
      expect(isPreRelease(v(text))).toBe(true);
    },
  );
  it.each(['7.4.0', '6.10.0.1', '7.0.79', '8.0.0'])('%s is a release', (text) => {
    expect(isPreRelease(v(text))).toBe(false);
  });
});

describe('package versions', () => {
  it.each([
    ['7.4.0-1', '7.4.0'],
    ['6.10.0.1-1', '6.10.0.1'],
    ['1:7.2.0-3ubuntu1', '7.2.0'],
    ['7.0.1-1~bpo', '7.0.1'],
  ])('%s carries upstream %s', (pkg, upstream) => {
    expect(upstreamOfPackageVersion(pkg)?.text).toBe(upstream);
  });
  it('returns undefined for non-OpenNebula versions', () => {
    expect(upstreamOfPackageVersion('2.4.52+dfsg-1')).toBeUndefined();
    expect(upstreamOfPackageVersion('20240101-1')).toBeUndefined();
  });
});

describe('parseSeries', () => {
  it('parses X.Y only', () => {
    expect(parseSeries('7.4')).toEqual({ major: 7, minor: 4, text: '7.4' });
    expect(parseSeries('7.4.0')).toBeUndefined();
    expect(parseSeries('latest')).toBeUndefined();
  });
});

describe('tagsFor', () => {
  const upstream = ['6.10.0', '6.10.0.1', '7.0.0', '7.0.1', '7.2.0', '7.4.0', '7.3.90', '8.99.80'].map(v);

  it('gives the newest of all every floating tag', () => {
    expect(tagsFor(v('7.4.0'), upstream)).toEqual(['7.4.0', '7.4', '7', 'latest']);
  });

  it('never moves latest or the major tag when rebuilding an old line', () => {
    expect(tagsFor(v('7.0.1'), upstream)).toEqual(['7.0.1', '7.0']);
    expect(tagsFor(v('7.2.0'), upstream)).toEqual(['7.2.0', '7.2']);
  });

  it('gives an older patch of a series only its own tag', () => {
    expect(tagsFor(v('7.0.0'), upstream)).toEqual(['7.0.0']);
  });

  it('treats a hotfix as the newest of its series and major', () => {
    expect(tagsFor(v('6.10.0.1'), upstream)).toEqual(['6.10.0.1', '6.10', '6']);
    expect(tagsFor(v('6.10.0'), upstream)).toEqual(['6.10.0']);
  });

  it('ignores pre-releases when deciding what is newest', () => {
    expect(tagsFor(v('7.4.0'), [...upstream, v('7.5.80')])).toContain('latest');
  });

  it('counts the version itself even if the list lacks it', () => {
    expect(tagsFor(v('8.0.0'), upstream)).toEqual(['8.0.0', '8.0', '8', 'latest']);
  });
});
