// Which digest the tags of several registries end on (build-scan-push's push.ts chooseTarget).
import { describe, expect, it } from 'vitest';
import { chooseTarget } from '../../actions/build-scan-push/src/push.js';

const D = `sha256:${'d'.repeat(64)}`;
const X = `sha256:${'e'.repeat(64)}`;
const Y = `sha256:${'f'.repeat(64)}`;
const tags = ['1.0.0', 'latest'];
const on = (...digests: Array<Array<string | undefined>>) =>
  digests.map((d, i) => ({ image: `r${i}.example/one`, digests: d }));

describe('chooseTarget', () => {
  it('pushes the build where no version tag exists or it already points to the build', () => {
    expect(chooseTarget(D, tags, '1.0.0', false, on([undefined, X], [undefined, undefined]))).toEqual({
      kind: 'build',
    });
    expect(chooseTarget(D, tags, '1.0.0', false, on([D, D], [undefined, X]))).toEqual({ kind: 'build' });
  });

  it('resumes an earlier push that tagged some registries and not the others', () => {
    expect(chooseTarget(D, tags, '1.0.0', false, on([X, X], [undefined, undefined]))).toEqual({
      kind: 'resume',
      digest: X,
    });
  });

  it('refuses two different earlier digests, or one beside the build, unless overwrite', () => {
    const split = on([X, X], [Y, Y]);
    const result = chooseTarget(D, tags, '1.0.0', false, split);
    expect(result.kind).toBe('conflict');
    expect(result.kind === 'conflict' && result.conflicts).toEqual([
      `r0.example/one:1.0.0 already points to ${X}; this build is ${D}`,
      `r1.example/one:1.0.0 already points to ${Y}; this build is ${D}`,
    ]);
    expect(chooseTarget(D, tags, '1.0.0', false, on([D, D], [X, X])).kind).toBe('conflict');
    expect(chooseTarget(D, tags, '1.0.0', false, on([X, X])).kind).toBe('conflict');
    expect(chooseTarget(D, tags, '1.0.0', false, on([X, X], [X, undefined])).kind).toBe('conflict');
    expect(chooseTarget(D, tags, '1.0.0', true, split)).toEqual({ kind: 'build' });
  });

  it('never refuses without a version among the tags', () => {
    expect(chooseTarget(D, tags, '', false, on([X, X]))).toEqual({ kind: 'build' });
  });
});
