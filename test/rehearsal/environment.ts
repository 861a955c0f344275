// What the rehearsal needs from this machine: the tools it runs (checked, each missing one named with how
// to get it), the image builder that is present, the environment every step starts from, and the
// repository as actions/checkout would fetch it (HEAD plus the working tree's uncommitted changes).
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, TOOLS_BIN, requireTool } from '../support/tools.js';

export type Builder = 'docker' | 'podman' | 'buildah';

const works = (command: string, args: string[]) =>
  spawnSync(command, args, { stdio: 'ignore', timeout: 20_000 }).status === 0;

/** docker only with a reachable daemon and buildx; else podman; else buildah. Undefined when none works. */
export function findBuilder(): Builder | undefined {
  if (works('docker', ['buildx', 'version']) && works('docker', ['info'])) return 'docker';
  if (works('podman', ['--version'])) return 'podman';
  if (works('buildah', ['--version'])) return 'buildah';
  return undefined;
}

/** The tools a rehearsal runs itself or through the stand-ins; throws naming every missing one. */
export function requireTools(names: string[]): Record<string, string> {
  const found: Record<string, string> = {};
  const missing: string[] = [];
  for (const name of names) {
    try {
      found[name] = requireTool(name);
    } catch (error) {
      missing.push(`  - ${(error as Error).message}`);
    }
  }
  if (missing.length)
    throw new Error(`the rehearsal cannot start, tools are missing:\n${missing.join('\n')}`);
  return found;
}

/**
 * The environment every step starts from: PATH with the pinned tools first, an isolated HOME (its Docker
 * config is the run's own), and the builder's settings. buildah in an unprivileged sandbox needs chroot
 * isolation and the vfs storage driver: set here when the caller has not chosen otherwise. No secret and
 * nothing else from this process's environment is passed on, except proxies for --live.
 */
export function baseEnvironment(options: {
  home: string;
  toolCache: string;
  builder: Builder;
  live: boolean;
}): Record<string, string> {
  const env: Record<string, string> = {
    PATH: `${TOOLS_BIN}:${process.env.PATH ?? '/usr/bin:/bin'}`,
    HOME: options.home,
    LANG: 'C.UTF-8',
    RUNNER_TOOL_CACHE: options.toolCache,
  };
  if (options.builder === 'buildah') {
    env.BUILDAH_ISOLATION = process.env.BUILDAH_ISOLATION || 'chroot';
    env.STORAGE_DRIVER = process.env.STORAGE_DRIVER || 'vfs';
  }
  // How to reach the builder (rootless podman's runtime directory, a remote docker): settings, not secrets.
  for (const name of ['XDG_RUNTIME_DIR', 'DOCKER_HOST', 'CONTAINER_HOST']) {
    if (process.env[name]) env[name] = process.env[name]!;
  }
  if (options.live) {
    for (const name of ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy']) {
      if (process.env[name]) env[name] = process.env[name]!;
    }
  }
  mkdirSync(options.home, { recursive: true });
  return env;
}

const git = (args: string[], cwd: string) =>
  execFileSync('git', args, {
    cwd,
    encoding: 'utf8',
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    maxBuffer: 64 * 1024 * 1024,
  });

/**
 * The repository as checkout gives it to a job: a clone of HEAD (so `git log` and commit times work) with
 * the working tree's changes on top: modified and untracked files copied, deleted files removed. Ignored
 * files (node_modules, .tools) are left out, as they would be on a runner.
 */
export function snapshotWorkingTree(target: string, repo = REPO_ROOT): { dir: string; head: string } {
  rmSync(target, { recursive: true, force: true });
  const head = git(['rev-parse', 'HEAD'], repo).trim();
  git(['clone', '--quiet', '--shared', '--no-checkout', repo, target], repo);
  git(['checkout', '--quiet', '--detach', head], target);
  const listed = git(['ls-files', '-z', '--cached', '--others', '--exclude-standard'], repo)
    .split('\0')
    .filter(Boolean);
  const present = listed.filter((file) => existsSync(join(repo, file)));
  // Deleted in the working tree, staged or not: neither listed as present nor there.
  const inHead = git(['ls-tree', '-r', '-z', '--name-only', head], repo).split('\0').filter(Boolean);
  const deleted = [...new Set([...listed, ...inHead])].filter((file) => !existsSync(join(repo, file)));
  execFileSync('sh', ['-c', 'tar --null -T - -cf - | tar -xf - -C "$1"', 'sh', target], {
    cwd: repo,
    input: present.join('\0'),
    stdio: ['pipe', 'ignore', 'inherit'],
  });
  for (const file of deleted) rmSync(join(target, file), { force: true });
  return { dir: target, head };
}
