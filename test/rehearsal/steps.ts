// One step of a job, as the runner runs it: its `if:`, its env, fresh GITHUB_OUTPUT / GITHUB_ENV /
// GITHUB_PATH / GITHUB_STEP_SUMMARY files, then a `run:` script in bash, one of this repository's actions
// from its bundle with INPUT_* variables, or a third-party action's local equivalent.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { parse } from 'yaml';
import { parseOutputFile } from '../support/action-runner.js';
import { asText, evaluateIf, interpolate, type Contexts } from '../support/github-expressions.js';
import { localActionKey } from './local-actions.js';
import { fetchRemoteAction } from './remote-uses.js';
import { message, readText, type Result, type StepRecord, type WorkflowRunner } from './runner.js';
import type { Step } from './workflow.js';

export interface StepPlan {
  /** The job's env so far: workflow env, job env, then what steps wrote to GITHUB_ENV. */
  env: Record<string, string>;
  /** Directories steps added with GITHUB_PATH, newest first. */
  path: string[];
  workspace: string;
  job: string;
  /** The job's (else the workflow's) defaults.run. */
  runDefaults: { shell?: string; 'working-directory'?: string };
  /** The job's fresh machine: its own HOME, Docker config, tool cache and builder storage. */
  machine: Record<string, string>;
}

interface Execution {
  outcome: Result;
  outputs: Record<string, string>;
  log: string;
  errors: string[];
  warnings: string[];
  redirected: Record<string, string>;
}

const stepName = (step: Step) =>
  step.name ?? (step.uses ? `Run ${step.uses}` : `Run ${(step.run ?? '').trim().split('\n')[0]}`);

/** Workspace files relative to it (for hashFiles), without .git. */
export function workspaceFiles(root: string, dir = root): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    if (entry.name === '.git') return [];
    const path = join(dir, entry.name);
    return entry.isDirectory() ? workspaceFiles(root, path) : [relative(root, path)];
  });
}

export async function executeStep(
  runner: WorkflowRunner,
  step: Step,
  index: number,
  plan: StepPlan,
  contexts: Contexts,
  stepDir: string,
  jobStatus: Result,
): Promise<StepRecord> {
  const started = Date.now();
  const record: StepRecord = {
    job: plan.job,
    id: step.id ?? `__step${index + 1}`,
    name: stepName(step),
    ...(step.uses ? { uses: step.uses } : {}),
    outcome: 'skipped',
    conclusion: 'skipped',
    outputs: {},
    summary: '',
    errors: [],
    redirected: {},
    log: join(stepDir, 'log'),
    durationMs: 0,
  };
  const { options } = runner.settings;
  const status = jobStatus === 'skipped' ? 'success' : jobStatus;
  let runs: boolean;
  try {
    const files = /hashfiles/i.test(String(step.if ?? '')) ? workspaceFiles(plan.workspace) : [];
    runs = evaluateIf(step.if, contexts, { status, files });
  } catch (error) {
    record.outcome = record.conclusion = 'failure';
    record.errors.push(`if: ${message(error)}`);
    return record;
  }
  if (!runs) return record;
  options.onStep?.(record, 'start');
  mkdirSync(stepDir, { recursive: true });
  const files = {
    output: join(stepDir, 'output'),
    env: join(stepDir, 'env'),
    path: join(stepDir, 'path'),
    summary: join(stepDir, 'summary'),
  };
  for (const file of Object.values(files)) writeFileSync(file, '');
  let execution: Execution;
  try {
    const stepEnv = { ...plan.env };
    for (const [name, value] of Object.entries(step.env ?? {}))
      stepEnv[name] = asText(interpolate(value, contexts));
    const stepContexts = { ...contexts, env: stepEnv };
    const env = processEnv(runner, plan, stepEnv, files, record.id, stepDir);
    execution = await run(runner, step, stepContexts, env, plan, stepDir);
  } catch (error) {
    execution = {
      outcome: 'failure',
      outputs: {},
      log: '',
      errors: [message(error)],
      warnings: [],
      redirected: {},
    };
  }
  record.outcome = execution.outcome;
  record.errors.push(...execution.errors);
  record.redirected = execution.redirected;
  const continueOnError = asText(interpolate(step['continue-on-error'] ?? false, contexts)) === 'true';
  record.conclusion = record.outcome === 'failure' && continueOnError ? 'success' : record.outcome;
  record.outputs = { ...execution.outputs, ...parseOutputFile(readText(files.output)) };
  record.summary = runner.mask(readText(files.summary));
  Object.assign(plan.env, parseOutputFile(readText(files.env)));
  plan.path.unshift(
    ...readText(files.path)
      .split('\n')
      .map((line) => line.trim())
      .filter(Boolean)
      .reverse(),
  );
  const warnings = execution.warnings.map((warning) => `warning: ${warning}\n`).join('');
  const redirected = Object.entries(record.redirected)
    .map(([input, value]) => `rehearsal: input ${input} redirected to ${value}\n`)
    .join('');
  writeFileSync(record.log, runner.mask(redirected + warnings + execution.log));
  record.durationMs = Date.now() - started;
  options.onStep?.(record, 'end');
  return record;
}

function processEnv(
  runner: WorkflowRunner,
  plan: StepPlan,
  stepEnv: Record<string, string>,
  files: Record<'output' | 'env' | 'path' | 'summary', string>,
  stepId: string,
  stepDir: string,
): Record<string, string> {
  const { options, github } = runner.settings;
  const base = options.baseEnv;
  return {
    ...base,
    ...plan.machine,
    CI: 'true',
    GITHUB_ACTIONS: 'true',
    GITHUB_WORKSPACE: plan.workspace,
    GITHUB_REPOSITORY: asText(github.repository ?? ''),
    GITHUB_REPOSITORY_OWNER: asText(github.repository_owner ?? ''),
    GITHUB_SHA: asText(github.sha ?? ''),
    GITHUB_REF: asText(github.ref ?? ''),
    GITHUB_REF_NAME: asText(github.ref_name ?? ''),
    GITHUB_EVENT_NAME: asText(github.event_name ?? ''),
    GITHUB_EVENT_PATH: join(options.runDir, 'event.json'),
    GITHUB_API_URL: asText(github.api_url ?? ''),
    GITHUB_SERVER_URL: asText(github.server_url ?? ''),
    GITHUB_GRAPHQL_URL: asText(github.graphql_url ?? ''),
    GITHUB_ACTOR: asText(github.actor ?? ''),
    GITHUB_RUN_ID: asText(github.run_id ?? ''),
    GITHUB_RUN_NUMBER: asText(github.run_number ?? ''),
    GITHUB_RUN_ATTEMPT: asText(github.run_attempt ?? ''),
    GITHUB_WORKFLOW: asText(github.workflow ?? ''),
    GITHUB_JOB: plan.job.split('/').at(-1)!,
    GITHUB_ACTION: stepId,
    RUNNER_OS: 'Linux',
    RUNNER_ARCH: process.arch === 'arm64' ? 'ARM64' : 'X64',
    RUNNER_NAME: 'rehearsal',
    RUNNER_TEMP: join(stepDir, 'tmp'),
    ...stepEnv,
    GITHUB_OUTPUT: files.output,
    GITHUB_ENV: files.env,
    GITHUB_PATH: files.path,
    GITHUB_STEP_SUMMARY: files.summary,
    PATH: [...plan.path, base.PATH ?? ''].filter(Boolean).join(':'),
  };
}

async function run(
  runner: WorkflowRunner,
  step: Step,
  contexts: Contexts,
  env: Record<string, string>,
  plan: StepPlan,
  stepDir: string,
): Promise<Execution> {
  const { workspace } = plan;
  mkdirSync(env.RUNNER_TEMP!, { recursive: true });
  const timeoutMs = step['timeout-minutes'] ? step['timeout-minutes'] * 60_000 : undefined;
  if (step.run !== undefined) {
    const directory = step['working-directory'] ?? plan.runDefaults['working-directory'];
    const cwd = directory ? resolve(workspace, directory) : workspace;
    const script = join(stepDir, 'script.sh');
    writeFileSync(script, String(step.run));
    const [command, ...args] = shellCommand(step.shell ?? plan.runDefaults.shell, script);
    return spawnStep(runner, command!, args, { cwd, env, timeoutMs });
  }
  if (!step.uses) throw new Error('a step needs run: or uses:');
  const given: Record<string, string> = {};
  for (const [name, value] of Object.entries(step.with ?? {}))
    given[name] = asText(interpolate(value, contexts));
  if (step.uses.startsWith('./')) {
    const dir = resolve(workspace, step.uses);
    return runNodeAction(runner, step.uses, dir, given, contexts, env, workspace, timeoutMs);
  }
  if (step.uses.startsWith('docker://')) throw new Error(`${step.uses}: container actions are not rehearsed`);
  const { options } = runner.settings;
  // An action of a repository the rehearsal stands in for runs from that repository at its ref.
  const remote = fetchRemoteAction(step.uses, options.repositories, join(options.runDir, '_actions'));
  if (remote) return runNodeAction(runner, step.uses, remote, given, contexts, env, workspace, timeoutMs);
  return runLocalEquivalent(runner, step.uses, given, env, workspace);
}

/**
 * The runner's command for a `run:` step: without any `shell:` (step or defaults.run) `bash -e {0}`, which
 * has no pipefail; `shell: bash` written out adds --noprofile --norc and pipefail.
 */
function shellCommand(shell: string | undefined, script: string): string[] {
  if (shell === undefined) return ['bash', '-e', script];
  switch (shell) {
    case 'bash':
      return ['bash', '--noprofile', '--norc', '-eo', 'pipefail', script];
    case 'sh':
      return ['sh', '-e', script];
    case 'python':
      return ['python3', script];
    default: {
      if (!shell.includes('{0}'))
        throw new Error(`shell: ${shell} is not rehearsed (use bash, sh or python)`);
      return shell.split(/\s+/).map((part) => (part === '{0}' ? script : part));
    }
  }
}

interface ActionMetadata {
  inputs?: Record<string, { default?: unknown }>;
  runs?: { using?: string; main?: string; pre?: string; post?: string };
}

async function runNodeAction(
  runner: WorkflowRunner,
  uses: string,
  dir: string,
  given: Record<string, string>,
  contexts: Contexts,
  env: Record<string, string>,
  workspace: string,
  timeoutMs: number | undefined,
): Promise<Execution> {
  const file = ['action.yml', 'action.yaml'].map((name) => join(dir, name)).find((path) => existsSync(path));
  if (!file)
    throw new Error(`${uses}: no action.yml in the workspace (did the job check out the repository?)`);
  const metadata = (parse(readText(file)) ?? {}) as ActionMetadata;
  const using = metadata.runs?.using ?? '';
  if (!/^node\d+$/.test(using) || !metadata.runs?.main) {
    throw new Error(`${uses}: runs.using ${using || '(none)'} is not rehearsed (only node actions are)`);
  }
  const declared = metadata.inputs ?? {};
  const warnings: string[] = [];
  const unexpected = Object.keys(given).filter((name) => !(name in declared));
  if (unexpected.length) {
    warnings.push(
      `Unexpected input(s) '${unexpected.join("', '")}', valid inputs are ['${Object.keys(declared).join("', '")}']`,
    );
  }
  const name = uses.split('@')[0]!.replace(/\/+$/, '').split('/').at(-1)!;
  const overrides = runner.settings.options.inputOverrides?.[name] ?? {};
  const redirected: Record<string, string> = {};
  const inputEnv: Record<string, string> = {};
  for (const [input, spec] of Object.entries(declared)) {
    let value = input in given ? given[input]! : asText(interpolate(spec.default ?? '', contexts));
    if (input in overrides) {
      value = overrides[input]!;
      redirected[input] = value;
    }
    inputEnv[`INPUT_${input.replace(/ /g, '_').toUpperCase()}`] = value;
  }
  for (const input of Object.keys(overrides)) {
    if (!(input in declared)) {
      throw new Error(
        `the rehearsal redirects input "${input}" of ${uses}, which its action.yml does not declare`,
      );
    }
  }
  const main = join(dir, metadata.runs.main);
  if (!existsSync(main))
    throw new Error(`${uses}: ${metadata.runs.main} does not exist (bundle the action: npm run build)`);
  const execution = await spawnStep(runner, process.execPath, [main], {
    cwd: workspace,
    env: { ...env, ...inputEnv, GITHUB_ACTION_PATH: dir },
    timeoutMs,
  });
  return { ...execution, warnings: [...warnings, ...execution.warnings], redirected };
}

async function runLocalEquivalent(
  runner: WorkflowRunner,
  uses: string,
  given: Record<string, string>,
  env: Record<string, string>,
  workspace: string,
): Promise<Execution> {
  const key = localActionKey(uses);
  const action = runner.settings.localActions[key];
  if (!action) {
    throw new Error(`${uses}: no local equivalent of ${key} (add one to test/rehearsal/local-actions.ts)`);
  }
  const lines = [`${key}: rehearsed by ${action.description}`];
  const { options } = runner.settings;
  const outputs =
    (await action.run({
      inputs: given,
      workspace,
      checkoutSource: options.checkoutSource,
      ...(options.repositoryRemote ? { repositoryRemote: options.repositoryRemote } : {}),
      repositories: Object.fromEntries(
        Object.entries(options.repositories ?? {}).map(([name, dir]) => [name.toLowerCase(), dir]),
      ),
      repository: asText(runner.settings.github.repository ?? ''),
      ref: asText(runner.settings.github.ref ?? ''),
      outputDir: options.runDir,
      env,
      log: (line) => lines.push(line),
    })) ?? {};
  return {
    outcome: 'success',
    outputs,
    log: `${lines.join('\n')}\n`,
    errors: [],
    warnings: [],
    redirected: {},
  };
}

/** Process groups of the steps running now (each step runs in its own group, so a timeout stops all of it). */
const running = new Set<number>();

/** Stops every running step's processes (on Ctrl-C: a builder must not outlive the rehearsal). */
export function stopRunningSteps(signal: NodeJS.Signals = 'SIGTERM'): void {
  for (const pid of running) {
    try {
      process.kill(-pid, signal);
    } catch {
      // already gone
    }
  }
}

function spawnStep(
  runner: WorkflowRunner,
  command: string,
  args: string[],
  options: { cwd: string; env: Record<string, string>; timeoutMs: number | undefined },
): Promise<Execution> {
  return new Promise((resolveStep) => {
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: options.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    if (child.pid) running.add(child.pid);
    let log = '';
    const errors: string[] = [];
    const warnings: string[] = [];
    let pending = '';
    const onStdout = (chunk: Buffer) => {
      const text = chunk.toString('utf8');
      log += text;
      pending += text;
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) workflowCommand(runner, line, errors, warnings);
    };
    child.stdout.on('data', onStdout);
    child.stderr.on('data', (chunk: Buffer) => (log += chunk.toString('utf8')));
    const timer =
      options.timeoutMs === undefined
        ? undefined
        : setTimeout(() => {
            errors.push(`timed out after ${options.timeoutMs! / 60_000} minutes`);
            if (child.pid) process.kill(-child.pid, 'SIGTERM');
          }, options.timeoutMs);
    child.on('error', (error) => errors.push(`${command}: ${error.message}`));
    child.on('close', (code, signal) => {
      if (child.pid) running.delete(child.pid);
      if (timer) clearTimeout(timer);
      if (pending) workflowCommand(runner, pending, errors, warnings);
      if (code !== 0 && errors.length === 0) {
        errors.push(signal ? `killed by ${signal}` : `exited with code ${code}`);
      }
      resolveStep({
        outcome: code === 0 ? 'success' : 'failure',
        outputs: {},
        log,
        errors,
        warnings,
        redirected: {},
      });
    });
  });
}

/** The workflow commands the rehearsal honours from a step's stdout: add-mask, error and warning. */
function workflowCommand(runner: WorkflowRunner, line: string, errors: string[], warnings: string[]): void {
  const command = /^::([a-z-]+)(?: [^:]*)?::(.*)$/.exec(line.trimEnd());
  if (!command) return;
  const [, name, value = ''] = command;
  const text = value.replace(/%0A/gi, '\n').replace(/%0D/gi, '\r').replace(/%25/g, '%');
  if (name === 'add-mask') runner.addMask(text);
  else if (name === 'error') errors.push(runner.mask(text));
  else if (name === 'warning') warnings.push(runner.mask(text));
}
