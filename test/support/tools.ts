// Where the tests find the tools that test/tools/install.sh provisions. A missing tool is a failure that
// says how to get it, never a silent skip.
import { execFileSync, spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const TOOLS_DIR = process.env.TOOLS_DIR ? resolve(process.env.TOOLS_DIR) : join(REPO_ROOT, '.tools');
export const TOOLS_BIN = join(TOOLS_DIR, 'bin');
export const K8S_SCHEMA_DIR = join(TOOLS_DIR, 'kubernetes-json-schema');

const DEBIAN_TOOLS: Record<string, string> = {
  shellcheck: 'shellcheck',
  bats: 'bats',
  git: 'git',
  'docker-registry': 'docker-registry',
  buildah: 'buildah',
  htpasswd: 'apache2-utils',
};

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Absolute path of `name`: the project-local bin directory first, then PATH. Throws with an install hint. */
export function requireTool(name: string): string {
  if (name.includes('/')) {
    if (executable(name)) return name;
    throw new Error(`required tool ${name} is missing: run npm ci`);
  }
  const candidates = [TOOLS_BIN, ...(process.env.PATH ?? '').split(delimiter).filter(Boolean)];
  for (const dir of candidates) {
    const path = join(dir, name);
    if (executable(path)) return path;
  }
  const debian = DEBIAN_TOOLS[name];
  const hint = debian
    ? `install the Debian package: sudo apt-get install -y ${debian} (or run test/tools/install.sh as root)`
    : 'run test/tools/install.sh (pins in test/tools/versions.sh)';
  throw new Error(`required tool "${name}" is not installed: ${hint}`);
}

/** What a finished command gave: its exit status (1 when killed or not started), stdout and stderr. */
export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs a command to its end without throwing: the status and output, for tests to assert on. */
export function runCommand(
  file: string,
  args: string[],
  options: { env?: NodeJS.ProcessEnv; input?: string; timeoutMs?: number } = {},
): Promise<CommandResult> {
  return new Promise((resolve) => {
    // Standard input is /dev/null unless there is input: bash started with a socket as standard input (a
    // Node pipe is one) takes itself for rshd's child and sources ~/.bashrc, whatever that holds here.
    const child = spawn(file, args, {
      env: options.env,
      stdio: [options.input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout?.on('data', (chunk: Buffer) => out.push(chunk));
    child.stderr?.on('data', (chunk: Buffer) => err.push(chunk));
    const timer = setTimeout(() => child.kill('SIGTERM'), options.timeoutMs ?? 300_000);
    const finish = (code: number) => {
      clearTimeout(timer);
      resolve({
        code,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
      });
    };
    child.on('error', (error) => {
      err.push(Buffer.from(String(error.message)));
      finish(1);
    });
    child.on('close', (code) => finish(code ?? 1));
    if (options.input !== undefined) child.stdin?.end(options.input);
  });
}

/** Runs a tool and returns stdout; throws with its output when it exits non-zero. */
export function runTool(
  name: string,
  args: string[],
  options: { cwd?: string; input?: string } = {},
): string {
  const path = requireTool(name);
  try {
    return execFileSync(path, args, {
      cwd: options.cwd ?? REPO_ROOT,
      input: options.input,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
    });
  } catch (error) {
    const failure = error as { status?: number; stdout?: string; stderr?: string };
    throw new Error(
      `${name} ${args.join(' ')} exited ${failure.status}:\n${failure.stdout ?? ''}${failure.stderr ?? ''}`.trim(),
      { cause: error },
    );
  }
}

/** Tracked and untracked-but-not-ignored files matching a git pathspec (e.g. '*.sh'). */
export function projectFiles(...pathspecs: string[]): string[] {
  const out = execFileSync(
    'git',
    ['ls-files', '--cached', '--others', '--exclude-standard', '--', ...pathspecs],
    {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    },
  );
  return out
    .split('\n')
    .filter(Boolean)
    .filter((file) => {
      try {
        accessSync(join(REPO_ROOT, file));
        return true;
      } catch {
        return false; // deleted in the work tree
      }
    });
}
