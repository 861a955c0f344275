// `uses: OWNER/REPO/PATH@REF` of a reusable workflow or an action that lives in a GitHub repository the
// rehearsal stands in for with a local git repository (RunOptions.repositories): the file or the action's
// directory as it is at REF, read with git, as the runner downloads them. A repository the rehearsal has no
// stand-in for, or a ref it does not hold, fails naming it, as GitHub fails the run or the step.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';

export interface RemoteReference {
  /** owner/name as written. */
  repository: string;
  /** Path inside the repository ('' for an action at its root). */
  path: string;
  ref: string;
}

/** `owner/repo[/path]@ref` → its parts; undefined for ./local, docker:// or a reference without @ref. */
export function parseRemote(uses: string): RemoteReference | undefined {
  const match = /^([\w.-]+\/[\w.-]+)((?:\/[^@]+)?)@(.+)$/.exec(uses);
  if (!match) return undefined;
  return { repository: match[1]!, path: match[2]!.replace(/^\/+|\/+$/g, ''), ref: match[3]! };
}

/** The local repository standing in for `repository`, if any (owner/name compared without case). */
export function standIn(repositories: Record<string, string> | undefined, repository: string) {
  const wanted = repository.toLowerCase();
  return Object.entries(repositories ?? {}).find(([name]) => name.toLowerCase() === wanted)?.[1];
}

const git = (dir: string, args: string[], input?: string) =>
  execFileSync('git', ['-C', dir, ...args], {
    encoding: 'utf8',
    stdio: ['pipe', 'pipe', 'pipe'],
    env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
    maxBuffer: 256 * 1024 * 1024,
    ...(input === undefined ? {} : { input }),
  });

function commitOf(dir: string, reference: RemoteReference, uses: string): string {
  try {
    return git(dir, ['rev-parse', '--verify', '--quiet', `${reference.ref}^{commit}`]).trim();
  } catch {
    throw new Error(
      `Unable to resolve ${uses}: ${reference.repository} has no branch, tag or commit ${reference.ref}`,
    );
  }
}

/**
 * A remote reusable workflow's file at its ref, written under `cacheDir`; returns its path and commit.
 * Throws when the repository is not stood in for, the ref is unknown, or the file is not there.
 */
export function fetchRemoteWorkflow(
  uses: string,
  repositories: Record<string, string> | undefined,
  cacheDir: string,
): { file: string; commit: string; reference: RemoteReference } {
  const reference = parseRemote(uses);
  if (!reference || !/^\.github\/workflows\/[^/]+\.ya?ml$/.test(reference.path)) {
    throw new Error(`${uses}: not a reusable workflow reference (OWNER/REPO/.github/workflows/FILE@REF)`);
  }
  const dir = standIn(repositories, reference.repository);
  if (!dir) {
    throw new Error(`${uses}: the rehearsal has no repository standing in for ${reference.repository}`);
  }
  const commit = commitOf(dir, reference, uses);
  let text: string;
  try {
    text = git(dir, ['show', `${commit}:${reference.path}`]);
  } catch {
    throw new Error(`${uses}: workflow was not found (no ${reference.path} at ${reference.ref})`);
  }
  const file = join(cacheDir, reference.repository, commit, reference.path);
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, text);
  return { file, commit, reference };
}

/**
 * A remote action's directory at its ref (the whole repository tree at that commit, as the runner downloads
 * it), under `cacheDir`; returns the action's directory. Undefined when no repository stands in for it (the
 * caller then looks for a local equivalent).
 */
export function fetchRemoteAction(
  uses: string,
  repositories: Record<string, string> | undefined,
  cacheDir: string,
): string | undefined {
  const reference = parseRemote(uses);
  if (!reference) return undefined;
  const dir = standIn(repositories, reference.repository);
  if (!dir) return undefined;
  const commit = commitOf(dir, reference, uses);
  const root = join(cacheDir, reference.repository, commit);
  if (!existsSync(root)) {
    mkdirSync(root, { recursive: true });
    execFileSync(
      'sh',
      ['-c', 'git -C "$1" archive --format=tar "$2" | tar -x -C "$3"', 'sh', dir, commit, root],
      {
        env: { ...process.env, GIT_CONFIG_NOSYSTEM: '1', GIT_CONFIG_GLOBAL: '/dev/null' },
      },
    );
  }
  const action = join(root, reference.path);
  if (!['action.yml', 'action.yaml'].some((name) => existsSync(join(action, name)))) {
    throw new Error(
      `${uses}: no action.yml at ${reference.path || 'the root'} of ${reference.repository}@${reference.ref}`,
    );
  }
  return action;
}
