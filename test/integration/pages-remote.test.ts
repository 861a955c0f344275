// The Pages remote stand-in behaves like a GitHub Pages branch to real git: a first publish creates the
// branch, later pushes add commits, and what was pushed reads back.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createPagesRemote, type PagesRemote } from '../support/pages-remote.js';

const git = (cwd: string, ...args: string[]) =>
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], {
    cwd,
    encoding: 'utf8',
  });

let remote: PagesRemote | undefined;
let work: string;
beforeEach(() => {
  work = mkdtempSync(join(tmpdir(), 'pages-work-'));
});
afterEach(() => {
  remote?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('Pages remote stand-in', () => {
  it('starts without the branch, and a first push creates it', () => {
    remote = createPagesRemote();
    expect(remote.log()).toEqual([]);
    expect(remote.read('index.yaml')).toBeUndefined();
    const clone = join(work, 'first');
    git(work, 'init', '--quiet', '--initial-branch', 'gh-pages', clone);
    writeFileSync(join(clone, 'index.yaml'), 'apiVersion: v1\nentries: {}\n');
    git(clone, 'add', 'index.yaml');
    git(clone, 'commit', '--quiet', '-m', 'Publish index');
    git(clone, 'push', '--quiet', remote.url, 'HEAD:refs/heads/gh-pages');
    expect(remote.log()).toEqual(['Publish index']);
    expect(remote.read('index.yaml')).toBe('apiVersion: v1\nentries: {}\n');
  });

  it('seeds an existing site that clones and accepts further commits', () => {
    remote = createPagesRemote({ files: { 'index.yaml': 'apiVersion: v1\n', 'charts/a-0.1.0.tgz': 'x' } });
    const clone = join(work, 'seeded');
    git(work, 'clone', '--quiet', '--branch', 'gh-pages', remote.url, clone);
    writeFileSync(join(clone, 'index.yaml'), 'apiVersion: v1\ngenerated: now\n');
    git(clone, 'commit', '--quiet', '-am', 'Update index');
    git(clone, 'push', '--quiet', 'origin', 'gh-pages');
    expect(remote.log()).toEqual(['Update index', 'Seed Pages site']);
    expect(remote.read('charts/a-0.1.0.tgz')).toBe('x');
  });
});
