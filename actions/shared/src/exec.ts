// Running tools from an action: one wrapper over @actions/exec so every action reports a failed command the
// same way (the command, its exit code and the end of its output) and never puts a secret on a command line
// (@actions/exec echoes command lines into the log). Secrets go through the environment or standard input.
import * as exec from '@actions/exec';

export interface RunOptions {
  cwd?: string;
  /** The whole environment of the child (default: this process's). */
  env?: Record<string, string>;
  /** Written to the child's standard input. */
  input?: string | Buffer;
  /** Do not echo the command's output into the log (it is still returned). */
  silent?: boolean;
  /** Exit codes that are answers rather than failures (default: only 0). */
  okCodes?: number[];
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class CommandError extends Error {
  constructor(
    message: string,
    readonly command: string,
    readonly exitCode: number,
    readonly stderr: string,
  ) {
    super(message);
    this.name = 'CommandError';
  }
}

/** The last `lines` non-empty lines of a tool's output, for error messages. */
export function tail(text: string, lines = 20): string {
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .slice(-lines)
    .join('\n');
}

/** Runs `command args…`; resolves with its output, or throws a CommandError naming it and its exit code. */
export async function run(command: string, args: string[], options: RunOptions = {}): Promise<RunResult> {
  const input = typeof options.input === 'string' ? Buffer.from(options.input) : options.input;
  let result: exec.ExecOutput;
  try {
    result = await exec.getExecOutput(command, args, {
      cwd: options.cwd,
      env: options.env,
      input,
      silent: options.silent,
      ignoreReturnCode: true,
    });
  } catch (error) {
    // @actions/exec throws when the program cannot be started at all (not found, not executable).
    throw new CommandError(`${command} could not be started: ${(error as Error).message}`, command, -1, '');
  }
  const ok = options.okCodes ?? [0];
  if (!ok.includes(result.exitCode)) {
    const output = tail(`${result.stderr}\n${result.stdout}`.trim());
    throw new CommandError(
      `${command} ${args[0] ?? ''} exited with code ${result.exitCode}${output ? `:\n${output}` : ''}`.trim(),
      command,
      result.exitCode,
      result.stderr,
    );
  }
  return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
}
