// A bare git repository standing in for a GitHub Pages remote (gh-pages branch). Real git, local path
// URL: what the helm-release action pushes here is read back with git itself.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { requireTool } from './tools.js';

export interface PagesRemote {
  /** Bare repository path, usable as a git remote URL. */
  readonly url: string;
  readonly branch: string;
  /** Contents of a file on the branch's tip, or undefined if absent. */
  read(path: string): string | undefined;
  /** Commit subjects on the branch, newest first (empty if the branch does not exist). */
  log(): string[];
  close(): void;
}

const GIT_ENV = {
  ...process.env,
  GIT_AUTHOR_NAME: 'stand-in',
  GIT_AUTHOR_EMAIL: 'stand-in@example.invalid',
  GIT_COMMITTER_NAME: 'stand-in',
  GIT_COMMITTER_EMAIL: 'stand-in@example.invalid',
  GIT_CONFIG_NOSYSTEM: '1',
  GIT_CONFIG_GLOBAL: '/dev/null',
};

function git(args: string[], cwd?: string): string {
  return execFileSync(requireTool('git'), args, {
    cwd,
    env: GIT_ENV,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/**
 * Creates the remote. With `files`, the branch starts with one commit holding them (an existing Pages
 * site); without, the branch does not exist yet (a first publish).
 */
export function createPagesRemote(
  options: { branch?: string; files?: Record<string, string> } = {},
): PagesRemote {
  const branch = options.branch ?? 'gh-pages';
  const root = mkdtempSync(join(tmpdir(), 'pages-remote-'));
  const url = join(root, 'remote.git');
  git(['init', '--quiet', '--bare', '--initial-branch', 'main', url]);
  if (options.files) {
    const work = join(root, 'seed');
    git(['init', '--quiet', '--initial-branch', branch, work]);
    for (const [path, content] of Object.entries(options.files)) {
      mkdirSync(dirname(join(work, path)), { recursive: true });
      writeFileSync(join(work, path), content);
    }
    git(['add', '--all'], work);
    git(['commit', '--quiet', '-m', 'Seed Pages site'], work);
    git(['push', '--quiet', url, `HEAD:refs/heads/${branch}`], work);
    rmSync(work, { recursive: true, force: true });
  }
  const hasBranch = () => {
    try {
      git(['rev-parse', '--verify', '--quiet', `refs/heads/${branch}`], url);
      return true;
    } catch {
      return false;
    }
  };
  return {
    url,
    branch,
    read(path) {
      try {
        return git(['show', `refs/heads/${branch}:${path}`], url);
      } catch {
        return undefined;
      }
    },
    log() {
      if (!hasBranch()) return [];
      return git(['log', '--format=%s', `refs/heads/${branch}`], url)
        .split('\n')
        .filter(Boolean);
    },
    close() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
