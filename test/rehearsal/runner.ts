// Runs a workflow file the way GitHub's runner does, on this machine: jobs in `needs` order (reusable
// workflows called with `uses: ./.github/workflows/...`, matrices expanded), each job in a fresh workspace,
// its steps with the merged env, `if:` conditions and `${{ }}` templates evaluated with
// test/support/github-expressions.ts, and per step fresh GITHUB_OUTPUT, GITHUB_ENV, GITHUB_PATH and
// GITHUB_STEP_SUMMARY files whose contents feed the `steps`, `env` and `needs` contexts. This repository's
// actions run from their bundles (`node actions/<name>/dist/index.js` with INPUT_* variables), and so do
// actions and reusable workflows of repositories the run stands in for (remote-uses.ts); other third-party
// actions run their local equivalents from local-actions.ts; `run:` steps run in `bash -e` (no pipefail)
// unless a shell is given. As strict as GitHub where a regression would otherwise pass: typed call inputs,
// an empty matrix or a bad concurrency group fails the job, an output holding a secret is dropped, and every
// job runs on a fresh machine (machine.ts).
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { asText, evaluateIf, interpolate, type Contexts, type Value } from '../support/github-expressions.js';
import { LOCAL_ACTIONS, type LocalAction } from './local-actions.js';
import { freshMachine } from './machine.js';
import { fetchRemoteWorkflow } from './remote-uses.js';
import { executeStep, type StepPlan } from './steps.js';
import {
  callOutputs,
  callSecrets,
  concurrencyGroup,
  declaresEvent,
  eventInputs,
  expandMatrix,
  jobOrder,
  loadWorkflow,
  needsOf,
  eventPayloadInputs,
  resolveNested,
  typedInputs,
  type Job,
  type Workflow,
} from './workflow.js';

export type Result = 'success' | 'failure' | 'cancelled' | 'skipped';

export interface StepRecord {
  job: string;
  id: string;
  name: string;
  uses?: string;
  outcome: Result;
  conclusion: Result;
  outputs: Record<string, string>;
  /** The step's GITHUB_STEP_SUMMARY (Markdown, possibly with HTML). */
  summary: string;
  /** ::error:: messages, and the reason the runner failed the step. */
  errors: string[];
  /** Inputs the rehearsal redirected to a stand-in: name → value. */
  redirected: Record<string, string>;
  /** Path of the step's log (stdout and stderr, secrets masked). */
  log: string;
  durationMs: number;
}

export interface JobRecord {
  /** The job's path: `publish/image`, `build (version=7.4.0)`. */
  id: string;
  name: string;
  result: Result;
  outputs: Record<string, string>;
  steps: StepRecord[];
  durationMs: number;
  /** Why it did not run, or that an earlier attempt's success was kept (re-run of failed jobs). */
  note?: string;
  /** The runner's warnings about the job itself (an output dropped because it may contain a secret). */
  warnings?: string[];
}

export interface RunRecord {
  workflow: string;
  attempt: number;
  result: Result;
  jobs: JobRecord[];
  durationMs: number;
}

export interface RunOptions {
  /** Directory holding the repository as checkout would fetch it; the workflow is read from there. */
  checkoutSource: string;
  /** Workflow path relative to the repository, e.g. .github/workflows/release.yml. */
  workflow: string;
  /** The repository's remote as git reaches it, for checkouts of its other branches (e.g. gh-pages). */
  repositoryRemote?: string;
  /**
   * Other GitHub repositories the run reaches (checkout's repository:, remote reusable workflows and actions):
   * owner/name → the local git repository standing in for it. Anything else fails, naming it.
   */
  repositories?: Record<string, string>;
  /** Where workspaces, step files, logs, artifacts and code-scanning uploads go. */
  runDir: string;
  event: { name: string; inputs?: Record<string, Value>; payload?: Record<string, Value> };
  /** github context beyond what the runner derives (repository, sha, ref, actor, token, api_url ...). */
  github?: Record<string, Value>;
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /** The environment every step starts from (PATH, HOME, builder settings); secrets never go here. */
  baseEnv: Record<string, string>;
  /** Inputs of this repository's actions the rehearsal points at its stand-ins: action name → inputs. */
  inputOverrides?: Record<string, Record<string, string>>;
  localActions?: Record<string, LocalAction>;
  /** Re-run of failed jobs: jobs that succeeded in this earlier attempt keep their result and outputs. */
  previous?: RunRecord;
  onJob?(job: JobRecord, phase: 'start' | 'end'): void;
  onStep?(step: StepRecord, phase: 'start' | 'end'): void;
}

interface Scope {
  path: string;
  workflow: Workflow;
  inputs: Record<string, Value>;
  secrets: Record<string, string>;
}

interface JobState {
  result: Result;
  outputs: Record<string, string>;
  /** A job this one needs, directly or not, failed (for failure()). */
  failedAncestor: boolean;
}

export class WorkflowRunner {
  private readonly jobs: JobRecord[] = [];
  private readonly masks = new Set<string>();
  private readonly github: Record<string, Value>;
  private stepCount = 0;

  constructor(private readonly options: RunOptions) {
    for (const secret of Object.values(options.secrets ?? {})) if (secret) this.masks.add(secret);
    const github = options.github ?? {};
    if (typeof github.token === 'string' && github.token) this.masks.add(github.token);
    const repository = String(github.repository ?? 'example/opennebula-kubernetes');
    this.github = {
      repository,
      repository_owner: repository.split('/')[0]!,
      actor: repository.split('/')[0]!,
      ref: 'refs/heads/main',
      ref_name: 'main',
      sha: '0'.repeat(40),
      api_url: 'https://api.github.com',
      server_url: 'https://github.com',
      graphql_url: 'https://api.github.com/graphql',
      run_id: String(Date.now()),
      run_number: '1',
      token: '',
      ...github,
      run_attempt: String((options.previous?.attempt ?? 0) + 1),
      event_name: options.event.name,
      event: { ...options.event.payload },
    };
  }

  async run(): Promise<RunRecord> {
    const started = Date.now();
    const { options } = this;
    const workflow = loadWorkflow(join(options.checkoutSource, options.workflow));
    if (!declaresEvent(workflow, options.event.name)) {
      throw new Error(`${options.workflow} does not run on ${options.event.name}`);
    }
    this.github.workflow = workflow.name ?? options.workflow;
    const inputs =
      options.event.name === 'workflow_dispatch'
        ? typedInputs(
            eventInputs(workflow, 'workflow_dispatch'),
            options.event.inputs ?? {},
            options.workflow,
          )
        : {};
    // The event payload carries a dispatch's inputs as text; only the inputs context is typed.
    if (options.event.name === 'workflow_dispatch') {
      this.github.event = { ...(this.github.event as object), inputs: eventPayloadInputs(inputs) };
    }
    mkdirSync(options.runDir, { recursive: true });
    writeFileSync(join(options.runDir, 'event.json'), JSON.stringify(this.github.event));
    // GITHUB_TOKEN is a secret every workflow has, called ones included.
    const secrets = { GITHUB_TOKEN: asText(this.github.token ?? ''), ...options.secrets };
    const states = await this.runJobs({ path: '', workflow, inputs, secrets });
    return {
      workflow: options.workflow,
      attempt: Number(this.github.run_attempt),
      result: overall(Object.values(states).map((state) => state.result)),
      jobs: this.jobs,
      durationMs: Date.now() - started,
    };
  }

  mask(text: string): string {
    let masked = text;
    for (const secret of this.masks) if (secret.length >= 3) masked = masked.split(secret).join('***');
    return masked;
  }

  addMask(value: string): void {
    if (value) this.masks.add(value);
  }

  private async runJobs(scope: Scope): Promise<Record<string, JobState>> {
    const states: Record<string, JobState> = {};
    for (const id of jobOrder(scope.workflow.jobs)) {
      const job = scope.workflow.jobs[id]!;
      const needs = Object.fromEntries(
        needsOf(job).map((need) => [need, { result: states[need]!.result, outputs: states[need]!.outputs }]),
      );
      const failedAncestor = needsOf(job).some(
        (need) => states[need]!.failedAncestor || ['failure', 'cancelled'].includes(states[need]!.result),
      );
      const path = scope.path ? `${scope.path}/${id}` : id;
      const contexts: Contexts = this.contexts(scope, { needs });
      let runs: boolean;
      try {
        runs = this.jobCondition(job, contexts, needs, failedAncestor);
      } catch (error) {
        states[id] = { result: 'failure', outputs: {}, failedAncestor };
        this.record({ id: path, name: job.name ?? id, result: 'failure', note: `if: ${message(error)}` });
        continue;
      }
      if (!runs) {
        states[id] = { result: 'skipped', outputs: {}, failedAncestor };
        this.record({
          id: path,
          name: job.name ?? id,
          result: 'skipped',
          note: 'its if: condition is false',
        });
        continue;
      }
      const state = await this.runMatrix(job, path, scope, contexts);
      states[id] = { ...state, failedAncestor };
    }
    return states;
  }

  private jobCondition(
    job: Job,
    contexts: Contexts,
    needs: Record<string, { result: Result }>,
    failedAncestor: boolean,
  ): boolean {
    const results = Object.values(needs).map((need) => need.result);
    const status = results.includes('cancelled') ? 'cancelled' : failedAncestor ? 'failure' : 'success';
    // A skipped need makes success() false without making failure() true, which the evaluator's single
    // status cannot say: a condition that relies on success() (written or implied) does not run then.
    if (status === 'success' && results.includes('skipped')) {
      const text = job.if === undefined ? '' : String(job.if);
      if (!/\b(always|failure|cancelled)\s*\(/i.test(text) || /\bsuccess\s*\(/i.test(text)) return false;
    }
    return evaluateIf(job.if, contexts, { status });
  }

  private contexts(scope: Scope, extra: Contexts): Contexts {
    return {
      github: this.github,
      inputs: scope.inputs,
      vars: this.options.vars ?? {},
      secrets: scope.secrets,
      env: {},
      ...extra,
    };
  }

  private record(job: Partial<JobRecord> & Pick<JobRecord, 'id' | 'name' | 'result'>): JobRecord {
    const record: JobRecord = { outputs: {}, steps: [], durationMs: 0, ...job };
    this.jobs.push(record);
    this.options.onJob?.(record, 'end');
    return record;
  }

  private async runReusable(job: Job, path: string, scope: Scope, contexts: Contexts): Promise<JobState> {
    const started = Date.now();
    const uses = job.uses!;
    const file = uses.split('@')[0]!;
    let called: Workflow;
    let inputs: Record<string, Value>;
    let secrets: Record<string, string>;
    try {
      // What GitHub checks before the call starts: the file, its declared inputs and secrets. `./` is the
      // run's own repository at the run's commit, also inside a workflow called from another repository.
      called = uses.startsWith('./')
        ? loadWorkflow(join(this.options.checkoutSource, file))
        : loadWorkflow(
            fetchRemoteWorkflow(uses, this.options.repositories, join(this.options.runDir, '_workflows'))
              .file,
          );
      const given = Object.fromEntries(
        Object.entries(job.with ?? {}).map(([name, value]) => [name, interpolate(value, contexts)]),
      );
      inputs = typedInputs(eventInputs(called, 'workflow_call'), given, `${path} (${file})`, 'workflow_call');
      secrets = this.passedSecrets(job, called, scope, contexts, `${path} (${file})`);
    } catch (error) {
      this.record({ id: path, name: job.name ?? path, result: 'failure', note: message(error) });
      return { result: 'failure', outputs: {}, failedAncestor: false };
    }
    const inner = await this.runJobs({ path, workflow: called, inputs, secrets });
    const jobsContext: Record<string, Value> = {};
    for (const [id, state] of Object.entries(inner))
      jobsContext[id] = { result: state.result, outputs: state.outputs };
    const declared = callOutputs(called);
    const outputs: Record<string, string> = {};
    const outputContexts = this.contexts({ path, workflow: called, inputs, secrets }, { jobs: jobsContext });
    for (const [name, spec] of Object.entries(declared)) {
      outputs[name] = asText(interpolate(spec.value ?? '', outputContexts));
    }
    const result = overall(Object.values(inner).map((state) => state.result));
    this.record({
      id: path,
      name: job.name ?? path,
      result,
      outputs,
      durationMs: Date.now() - started,
      note: `calls ${file}`,
    });
    return { result, outputs, failedAncestor: false };
  }

  private passedSecrets(
    job: Job,
    called: Workflow,
    scope: Scope,
    contexts: Contexts,
    where: string,
  ): Record<string, string> {
    if (job.secrets === 'inherit') return { ...scope.secrets };
    const declared = callSecrets(called);
    const secrets: Record<string, string> = {};
    for (const [name, value] of Object.entries(job.secrets ?? {})) {
      if (!(name in declared)) throw new Error(`${where}: secret "${name}" is not declared by the workflow`);
      secrets[name] = asText(interpolate(value, contexts));
    }
    for (const [name, spec] of Object.entries(declared)) {
      if ((spec as { required?: boolean } | null)?.required && !(name in secrets)) {
        throw new Error(`${where}: Secret ${name} is required, but not provided while calling.`);
      }
    }
    return { GITHUB_TOKEN: scope.secrets.GITHUB_TOKEN ?? '', ...secrets };
  }

  private async runMatrix(job: Job, path: string, scope: Scope, contexts: Contexts): Promise<JobState> {
    let combinations: Array<Record<string, Value>>;
    try {
      const matrix =
        job.strategy?.matrix === undefined ? undefined : interpolate(job.strategy.matrix, contexts);
      combinations = matrix === undefined ? [{}] : expandMatrix(resolveNested(matrix, contexts));
    } catch (error) {
      // GitHub fails the job before any of it runs (an empty matrix included).
      const id = path.split('/').at(-1)!;
      const note = `Error when evaluating 'strategy' for job '${id}'. ${message(error)}`;
      this.record({ id: path, name: job.name ?? path, result: 'failure', note });
      return { result: 'failure', outputs: {}, failedAncestor: false };
    }
    const failFast = job.strategy?.['fail-fast'] !== false;
    const results: Result[] = [];
    let outputs: Record<string, string> = {};
    for (const [index, combination] of combinations.entries()) {
      const label = Object.keys(combination).length
        ? `${path} (${Object.values(combination)
            .map((value) => asText(value).replace(/\s+/g, ' '))
            .join(', ')})`
        : path;
      if (failFast && results.includes('failure')) {
        this.record({
          id: label,
          name: label,
          result: 'cancelled',
          note: 'fail-fast: another combination failed',
        });
        results.push('cancelled');
        continue;
      }
      const strategy = { 'fail-fast': failFast, 'job-index': index, 'job-total': combinations.length };
      const legContexts = { ...contexts, matrix: combination, strategy };
      // The concurrency group is evaluated before the job starts: an error there fails the job.
      try {
        concurrencyGroup(job, legContexts);
      } catch (error) {
        this.record({ id: label, name: label, result: 'failure', note: `concurrency: ${message(error)}` });
        results.push('failure');
        continue;
      }
      // A reusable-workflow call runs once per combination too.
      const record = job.uses
        ? await this.runReusable(job, label, scope, legContexts)
        : await this.runJob(job, label, scope, legContexts);
      results.push(record.result);
      outputs = { ...outputs, ...record.outputs };
    }
    return { result: overall(results), outputs, failedAncestor: false };
  }

  private async runJob(job: Job, id: string, scope: Scope, contexts: Contexts): Promise<JobRecord> {
    const kept = this.options.previous?.jobs.find(
      (earlier) => earlier.id === id && earlier.result === 'success',
    );
    if (kept) {
      return this.record({
        ...kept,
        note: `kept from attempt ${this.options.previous!.attempt}`,
        durationMs: 0,
      });
    }
    const record: JobRecord = {
      id,
      name: job.name ?? id,
      result: 'success',
      outputs: {},
      steps: [],
      durationMs: 0,
    };
    this.options.onJob?.(record, 'start');
    const started = Date.now();
    const safe = id.replace(/[^\w.-]+/g, '_');
    const workspace = mkdtempSync(join(this.options.runDir, `work-${safe}-`));
    const jobGithub = { ...this.github, job: id.split('/').at(-1)!, workspace };
    let jobContexts: Contexts = { ...contexts, github: jobGithub, steps: {}, job: { status: 'success' } };
    const env: Record<string, string> = {};
    for (const [name, value] of Object.entries(scope.workflow.env ?? {}))
      env[name] = asText(interpolate(value, jobContexts));
    for (const [name, value] of Object.entries(job.env ?? {}))
      env[name] = asText(interpolate(value, jobContexts));
    const runDefaults = { ...scope.workflow.defaults?.run, ...job.defaults?.run };
    const machine = freshMachine(workspace.replace(/work-([^/]*)$/, 'machine-$1'), this.options.baseEnv);
    const plan: StepPlan = { env, path: [], workspace, job: id, runDefaults, machine };
    for (const [index, step] of (job.steps ?? []).entries()) {
      this.stepCount += 1;
      const stepDir = join(
        this.options.runDir,
        'steps',
        `${String(this.stepCount).padStart(3, '0')}-${safe}`,
      );
      jobContexts = { ...jobContexts, env: { ...plan.env }, job: { status: record.result } };
      const stepRecord = await executeStep(this, step, index, plan, jobContexts, stepDir, record.result);
      record.steps.push(stepRecord);
      (jobContexts.steps as Record<string, Value>)[stepRecord.id] = {
        outcome: stepRecord.outcome,
        conclusion: stepRecord.conclusion,
        outputs: stepRecord.outputs,
      };
      if (stepRecord.conclusion === 'failure') record.result = 'failure';
    }
    this.jobOutputs(job, record, jobContexts);
    record.durationMs = Date.now() - started;
    this.jobs.push(record);
    this.options.onJob?.(record, 'end');
    return record;
  }

  /** The job's outputs, as the runner sets them: one that may contain a secret is dropped, with a warning. */
  private jobOutputs(job: Job, record: JobRecord, contexts: Contexts): void {
    for (const [name, value] of Object.entries(job.outputs ?? {})) {
      let text: string;
      try {
        text = asText(interpolate(value, contexts));
      } catch (error) {
        record.result = 'failure';
        record.note = `outputs.${name}: ${message(error)}`;
        continue;
      }
      if (this.mask(text) !== text) {
        (record.warnings ??= []).push(`Skip output '${name}' since it may contain secret.`);
        continue;
      }
      record.outputs[name] = text;
    }
  }

  /** What executeStep needs from the run. */
  get settings() {
    return {
      options: this.options,
      github: this.github,
      localActions: this.options.localActions ?? LOCAL_ACTIONS,
    };
  }
}

/** A job's or run's result from its parts: any failure fails it; all skipped is skipped. */
export function overall(results: Result[]): Result {
  if (results.includes('failure')) return 'failure';
  if (results.includes('cancelled')) return 'cancelled';
  if (results.length > 0 && results.every((result) => result === 'skipped')) return 'skipped';
  return 'success';
}

export function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

export function readText(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}
