// The Pages branch with real git: read its tip, write the new files on top, push without force. A push that
// loses a race is rejected by the remote; then the tip is fetched again and the change re-applied to it
// (bounded attempts, jittered waits), so concurrent publishers never overwrite each other. A branch that
// cannot be read is an error, never "empty": only a remote that answers and lists no such branch is a first
// publish. A push GitHub refuses by rule (branch protection GH006, a ruleset GH013) is no race: it fails at
// once with GitHub's reason. The token reaches git only as an http.extraheader through GIT_CONFIG_* variables.
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { CommandError, run } from './exec.js';

export interface PagesTarget {
  remote: string;
  branch: string;
  /** Server whose URLs get the token (https://github.com); other remotes never see it. */
  serverUrl: string;
  token: string;
}

export interface BranchState {
  /** The tip commit, or undefined when the branch does not exist yet. */
  tip: string | undefined;
  read(path: string): Promise<string | undefined>;
}

/** Files to write (path → content), computed from the branch as it is; undefined: nothing to change. */
export type Change = (
  branch: BranchState,
) => Promise<{ files: Record<string, string>; message: string } | undefined>;

export interface RetryOptions {
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  random?: () => number;
}

export const PUSH_RETRY: RetryOptions = { attempts: 12, baseDelayMs: 200, maxDelayMs: 5000 };

/** The wait before retry `n` (0-based): exponential, full jitter on the upper half, capped. */
export function retryDelay(n: number, options: RetryOptions): number {
  const exponential = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** n);
  return exponential / 2 + ((options.random ?? Math.random)() * exponential) / 2;
}

/** Whether git's push output says the remote refused the update because the branch moved (a lost race). */
export function isRejectedPush(stderr: string): boolean {
  return /\[rejected\]|\[remote rejected\]|non-fast-forward|fetch first|cannot lock ref|failed to update ref|stale info|incorrect old value/i.test(
    stderr,
  );
}

const RULE_CODE = /\bGH0(?:06|13):/;
const RULE_STATUS = /protected branch hook declined|push declined due to repository rule violations/;

/**
 * GitHub's reason when a push was refused by branch protection (GH006) or a ruleset (GH013): the remote's
 * lines from the code on, without GitHub's "Review all repository rules" link; undefined for anything else.
 */
export function protectionRefusal(output: string): string | undefined {
  const lines = output.split('\n');
  const start = lines.findIndex((line) => line.startsWith('remote:') && RULE_CODE.test(line));
  if (start < 0) return RULE_STATUS.exec(output)?.[0];
  const reason: string[] = [];
  for (const line of lines.slice(start)) {
    if (!line.startsWith('remote:')) break;
    const text = line
      .slice('remote:'.length)
      .trim()
      .replace(/^(?:error:|-)\s*/, '');
    if (text && !text.startsWith('Review all repository rules')) reason.push(text);
  }
  return reason.join(' ');
}

export class PagesRepository {
  private readonly work: string;
  private readonly env: Record<string, string>;

  constructor(
    private readonly target: PagesTarget,
    tempRoot: string,
  ) {
    mkdirSync(tempRoot, { recursive: true });
    this.work = mkdtempSync(join(tempRoot, 'pages-'));
    const config: [string, string][] = [
      ['commit.gpgsign', 'false'],
      ['init.defaultBranch', target.branch],
      ['core.hooksPath', '/dev/null'],
    ];
    if (target.token) {
      const basic = Buffer.from(`x-access-token:${target.token}`).toString('base64');
      config.push([`http.${target.serverUrl}/.extraheader`, `AUTHORIZATION: basic ${basic}`]);
    }
    const env: Record<string, string> = {};
    for (const [key, value] of Object.entries(process.env)) if (value !== undefined) env[key] = value;
    env.GIT_TERMINAL_PROMPT = '0';
    env.GIT_AUTHOR_NAME = 'github-actions[bot]';
    env.GIT_AUTHOR_EMAIL = '41898282+github-actions[bot]@users.noreply.github.com';
    env.GIT_COMMITTER_NAME = env.GIT_AUTHOR_NAME;
    env.GIT_COMMITTER_EMAIL = env.GIT_AUTHOR_EMAIL;
    env.GIT_CONFIG_COUNT = String(config.length);
    config.forEach(([key, value], i) => {
      env[`GIT_CONFIG_KEY_${i}`] = key;
      env[`GIT_CONFIG_VALUE_${i}`] = value;
    });
    this.env = env;
  }

  get branch(): string {
    return this.target.branch;
  }

  /** The basic-auth value git sends, for masking. */
  static authorizationValue(token: string): string {
    return Buffer.from(`x-access-token:${token}`).toString('base64');
  }

  private git(args: string[], okCodes?: number[]) {
    return run('git', args, { cwd: this.work, env: this.env, silent: true, okCodes });
  }

  async init(): Promise<void> {
    await this.git(['init', '--quiet']);
  }

  /** Fetches the branch tip (shallow). Throws when the remote cannot be read. */
  async fetch(): Promise<BranchState> {
    const { remote, branch } = this.target;
    let listed;
    try {
      listed = await this.git(['ls-remote', '--exit-code', remote, `refs/heads/${branch}`], [0, 2]);
    } catch (error) {
      throw new Error(`pages: cannot read ${remote}: ${(error as Error).message}`, { cause: error });
    }
    if (listed.exitCode === 2 || listed.stdout.trim() === '')
      return { tip: undefined, read: async () => undefined };
    try {
      await this.git([
        'fetch',
        '--quiet',
        '--no-tags',
        '--depth',
        '1',
        remote,
        `+refs/heads/${branch}:refs/remotes/pages/${branch}`,
      ]);
    } catch (error) {
      throw new Error(`pages: fetching ${branch} from ${remote} failed: ${(error as Error).message}`, {
        cause: error,
      });
    }
    const tip = (await this.git(['rev-parse', `refs/remotes/pages/${branch}`])).stdout.trim();
    return {
      tip,
      read: async (path: string) => {
        const found = await this.git(['cat-file', '-e', `${tip}:${path}`], [0, 128]);
        if (found.exitCode !== 0) return undefined;
        return (await this.git(['cat-file', 'blob', `${tip}:${path}`])).stdout;
      },
    };
  }

  /** Writes the files as a commit on top of `tip` (a root commit without one); returns the commit. */
  private async commit(
    tip: string | undefined,
    files: Record<string, string>,
    message: string,
  ): Promise<string> {
    const index = join(this.work, '.git', 'publish-index');
    rmSync(index, { force: true });
    const env = { ...this.env, GIT_INDEX_FILE: index };
    const git = (args: string[], input?: string) =>
      run('git', args, { cwd: this.work, env, silent: true, input });
    if (tip) await git(['read-tree', tip]);
    for (const [path, content] of Object.entries(files)) {
      const blob = (await git(['hash-object', '-w', '--stdin'], content)).stdout.trim();
      await git(['update-index', '--add', '--cacheinfo', `100644,${blob},${path}`]);
    }
    const tree = (await git(['write-tree'])).stdout.trim();
    const args = ['commit-tree', tree, '-m', message];
    if (tip) args.push('-p', tip);
    return (await git(args)).stdout.trim();
  }

  /**
   * Applies `change` to the branch and pushes, re-fetching and re-applying when the push loses a race.
   * Returns the pushed commit, or undefined when `change` found nothing to do.
   */
  async publish(
    change: Change,
    retry: RetryOptions = PUSH_RETRY,
    log: (m: string) => void = () => {},
  ): Promise<string | undefined> {
    let lastError = '';
    for (let attempt = 0; attempt < retry.attempts; attempt += 1) {
      const state = await this.fetch();
      const wanted = await change(state);
      if (!wanted) return undefined;
      const commit = await this.commit(state.tip, wanted.files, wanted.message);
      try {
        await this.git([
          'push',
          '--quiet',
          '--porcelain',
          this.target.remote,
          `${commit}:refs/heads/${this.target.branch}`,
        ]);
        return commit;
      } catch (error) {
        const stderr = error instanceof CommandError ? `${error.stderr}\n${error.message}` : String(error);
        const refusal = protectionRefusal(stderr);
        if (refusal) throw this.refused(refusal, error);
        if (!isRejectedPush(stderr))
          throw new Error(`pages: push to ${this.target.remote} failed: ${(error as Error).message}`, {
            cause: error,
          });
        lastError = (error as Error).message;
        const wait = retryDelay(attempt, retry);
        log(
          `The push of ${this.target.branch} was rejected (another publish got there first); retrying in ${Math.round(wait)} ms`,
        );
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
    throw new Error(
      `pages: ${this.target.branch} was still rejected after ${retry.attempts} attempts: ${lastError}`,
    );
  }

  private refused(reason: string, cause: unknown): Error {
    const { remote, branch } = this.target;
    return new Error(
      `pages: ${remote} refused the push to ${branch} by branch protection or a ruleset ` +
        `(${reason.replace(/\.$/, '')}). Let this workflow's token push to ${branch} (a bypass for GitHub ` +
        'Actions in the rule), or serve the Helm repository from a branch without those rules (pages-branch); ' +
        'a re-run then completes the publish',
      { cause },
    );
  }

  close(): void {
    rmSync(this.work, { recursive: true, force: true });
  }
}

/** Writes `files` under `dir` (for a local preview of the branch). */
export function writeFiles(dir: string, files: Record<string, string>): void {
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, path)), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
}
