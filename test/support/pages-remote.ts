// A bare git repository standing in for a GitHub Pages remote (gh-pages branch). Real git, local path
// URL: what the helm-release action pushes here is read back with git itself. serve() answers HTTP like
// GitHub Pages does from the branch's tip (for `helm repo add` and a browser); rejectPushes() makes the
// next pushes fail as a lost race would; refusePushes() refuses them as GitHub's branch protection (GH006) or
// a ruleset (GH013) does, with GitHub's messages; breakFetch() makes fetches fail while the branch is still
// listed.
import { execFile, execFileSync } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
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
  /** The branch tip's commit, or undefined. */
  tip(): string | undefined;
  /** Serves the branch tip over HTTP on 127.0.0.1 (/ is index.html), as GitHub Pages would. */
  serve(): Promise<PagesServer>;
  /** The next `count` pushes are refused by a pre-receive hook ("[remote rejected]"). */
  rejectPushes(count?: number): void;
  /**
   * Every push is refused as GitHub refuses an update of a protected branch ('branch-protection': GH006) or one
   * a ruleset forbids ('ruleset': GH013), printing GitHub's messages; returns the function that lifts the rule.
   */
  refusePushes(rule: 'branch-protection' | 'ruleset'): () => void;
  /** Pushes refused by refusePushes so far. */
  pushAttempts(): number;
  /** Fetches fail (objects missing) while ls-remote still lists the branch; returns the repair. */
  breakFetch(): () => void;
  close(): void;
}

export interface PagesServer {
  /** http://127.0.0.1:<port> */
  readonly url: string;
  /** Paths requested, in order. */
  readonly requests: string[];
  close(): Promise<void>;
}

const CONTENT_TYPES: Record<string, string> = {
  html: 'text/html; charset=utf-8',
  yaml: 'application/x-yaml',
  yml: 'application/x-yaml',
  tgz: 'application/gzip',
  json: 'application/json',
};

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
  const attempts = join(root, 'refused-pushes');
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
    tip() {
      return hasBranch() ? git(['rev-parse', `refs/heads/${branch}`], url).trim() : undefined;
    },
    async serve() {
      const requests: string[] = [];
      const server = createServer((req, res) => {
        const path = decodeURIComponent((req.url ?? '/').split('?')[0] ?? '/');
        requests.push(path);
        const file = path.endsWith('/') ? `${path.slice(1)}index.html` : path.slice(1);
        execFile(
          requireTool('git'),
          ['show', `refs/heads/${branch}:${file}`],
          { cwd: url, env: GIT_ENV, encoding: 'buffer', maxBuffer: 256 * 1024 * 1024 },
          (error, stdout) => {
            if (error || file.includes('..')) {
              res.writeHead(404, { 'content-type': 'text/plain' });
              res.end('404 Not Found\n');
              return;
            }
            const type = CONTENT_TYPES[file.split('.').pop() ?? ''] ?? 'application/octet-stream';
            res.writeHead(200, { 'content-type': type });
            res.end(req.method === 'HEAD' ? undefined : stdout);
          },
        );
      });
      server.keepAliveTimeout = 1000;
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return {
        url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
        requests,
        close: () =>
          new Promise<void>((resolve) => {
            server.closeAllConnections();
            server.close(() => resolve());
          }),
      };
    },
    rejectPushes(count = 1) {
      const counter = join(root, 'reject-count');
      writeFileSync(counter, String(count));
      const hook = join(url, 'hooks', 'pre-receive');
      writeFileSync(
        hook,
        [
          '#!/bin/sh',
          `counter='${counter}'`,
          '[ -f "$counter" ] || exit 0',
          'left=$(cat "$counter")',
          '[ "$left" -gt 0 ] || exit 0',
          'echo $((left - 1)) > "$counter"',
          'echo "stand-in: push refused (a concurrent publish won the race)" >&2',
          'exit 1',
          '',
        ].join('\n'),
      );
      chmodSync(hook, 0o755);
    },
    refusePushes(rule) {
      const hook = join(url, 'hooks', 'pre-receive');
      const messages =
        rule === 'ruleset'
          ? [
              'error: GH013: Repository rule violations found for $ref.',
              'Review all repository rules at https://github.com/example-org/charts/rules?ref=$encoded',
              '',
              '- Cannot update this protected ref.',
              '',
            ]
          : [
              'error: GH006: Protected branch update failed for $ref.',
              'error: Changes must be made through a pull request.',
            ];
      writeFileSync(
        hook,
        [
          '#!/bin/sh',
          `echo refused >> '${attempts}'`,
          'read -r old new ref',
          'encoded=$(printf %s "$ref" | sed "s|/|%2F|g")',
          ...messages.map((line) => `echo "${line}" >&2`),
          'exit 1',
          '',
        ].join('\n'),
      );
      chmodSync(hook, 0o755);
      return () => rmSync(hook, { force: true });
    },
    pushAttempts() {
      return existsSync(attempts) ? readFileSync(attempts, 'utf8').split('\n').filter(Boolean).length : 0;
    },
    breakFetch() {
      const objects = join(url, 'objects');
      const hidden = join(root, 'objects.hidden');
      renameSync(objects, hidden);
      mkdirSync(join(objects, 'info'), { recursive: true });
      mkdirSync(join(objects, 'pack'));
      return () => {
        if (!existsSync(hidden)) return;
        rmSync(objects, { recursive: true, force: true });
        renameSync(hidden, objects);
      };
    },
    close() {
      rmSync(root, { recursive: true, force: true });
    },
  };
}
