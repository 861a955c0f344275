// GitHub Actions expressions evaluated the way the runner evaluates them, on the maintained parser and
// evaluator of @actions/expressions (GitHub's own language-services package). Added here: the status functions
// (success, failure, always, cancelled) and hashFiles, which the runner supplies; the implicit `success() &&`
// of an `if:` without a status function; and `${{ }}` templates (a lone expression keeps its type, text around
// expressions makes a string). Below them, a walk of a workflow's jobs and steps that decides what runs the
// way the runner does (see runWorkflow).
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { data, Evaluator, Lexer, Parser } from '@actions/expressions';
import type { FunctionDefinition, FunctionInfo } from '@actions/expressions/funcs/info';
import { TokenType } from '@actions/expressions/lexer';
import { falsy } from '@actions/expressions/result';
import { parse as parseYaml } from 'yaml';
import { REPO_ROOT } from './tools.js';

export type Value = null | boolean | number | string | Value[] | { [key: string]: Value };
export type Contexts = Record<string, Value>;

export interface EvaluationOptions {
  /** Status so far: 'success' (nothing failed), 'failure', 'cancelled', or 'skipped' (a needed job skipped). */
  status?: 'success' | 'failure' | 'cancelled' | 'skipped';
  /** Files present in the workspace, for hashFiles(). */
  files?: string[];
}

const CONTEXT_NAMES = [
  'github',
  'inputs',
  'needs',
  'steps',
  'env',
  'vars',
  'secrets',
  'matrix',
  'strategy',
  'job',
  'jobs',
  'runner',
];
const STATUS_FUNCTIONS = ['success', 'failure', 'always', 'cancelled'];

function toData(value: Value): data.ExpressionData {
  return JSON.parse(JSON.stringify(value ?? null), data.reviver) as data.ExpressionData;
}

function toValue(result: data.ExpressionData): Value {
  return JSON.parse(JSON.stringify(result, data.replacer)) as Value;
}

/** A glob as hashFiles understands it, for the simple patterns workflows use (*, **, literal paths). */
function globToRegExp(pattern: string): RegExp {
  const parts = pattern.split('**').map((part) =>
    part
      .split('*')
      .map((literal) => literal.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]*'),
  );
  return new RegExp(`^${parts.join('.*')}$`);
}

function functionsFor(options: EvaluationOptions): Map<string, FunctionDefinition> {
  const status = options.status ?? 'success';
  const constant = (name: string, value: boolean): FunctionDefinition => ({
    name,
    minArgs: 0,
    maxArgs: 0,
    call: () => new data.BooleanData(value),
  });
  const functions = new Map<string, FunctionDefinition>([
    ['success', constant('success', status === 'success')],
    ['failure', constant('failure', status === 'failure')],
    ['always', constant('always', true)],
    ['cancelled', constant('cancelled', status === 'cancelled')],
  ]);
  functions.set('hashfiles', {
    name: 'hashFiles',
    minArgs: 1,
    maxArgs: 255,
    call: (...patterns) => {
      const matchers = patterns.map((pattern) => globToRegExp(pattern.coerceString()));
      const matched = (options.files ?? []).filter((file) => matchers.some((re) => re.test(file))).sort();
      return new data.StringData(matched.length === 0 ? '' : `hash(${matched.join(',')})`);
    },
  });
  return functions;
}

const EXTENSION_FUNCTIONS: FunctionInfo[] = [
  ...STATUS_FUNCTIONS.map((name) => ({ name, minArgs: 0, maxArgs: 0 })),
  { name: 'hashfiles', minArgs: 1, maxArgs: 255 },
];

function parse(expression: string) {
  const { tokens } = new Lexer(expression).lex();
  return { tokens, tree: new Parser(tokens, CONTEXT_NAMES, EXTENSION_FUNCTIONS).parse() };
}

/** Evaluates one expression (without `${{ }}`). Throws on a syntax error or an unknown function or context. */
export function evaluate(expression: string, contexts: Contexts, options: EvaluationOptions = {}): Value {
  const { tree } = parse(expression);
  const context = new data.Dictionary(
    ...CONTEXT_NAMES.map((key) => ({ key, value: toData(contexts[key] ?? {}) })),
  );
  return toValue(new Evaluator(tree, context, functionsFor(options)).evaluate());
}

/** True when the expression calls a status function (then GitHub adds no implicit success()). */
export function callsStatusFunction(expression: string): boolean {
  const { tokens } = parse(expression);
  return tokens.some(
    (token, i) =>
      token.type === TokenType.IDENTIFIER &&
      STATUS_FUNCTIONS.includes(token.lexeme.toLowerCase()) &&
      tokens[i + 1]?.type === TokenType.LEFT_PAREN,
  );
}

/** The expression of an `if:` as written in YAML: with or without its `${{ }}` wrapper. */
function unwrapCondition(condition: string): string {
  const match = /^\s*\$\{\{([\s\S]*)\}\}\s*$/.exec(condition);
  return match && !match[1]!.includes('}}') ? match[1]! : condition;
}

/**
 * Whether a job or step with this `if:` runs. No `if:` means success(); a condition without a status function
 * is `success() && (condition)`, as the runner does.
 */
export function evaluateIf(
  condition: string | boolean | undefined,
  contexts: Contexts,
  options: EvaluationOptions = {},
): boolean {
  const text = condition === undefined ? 'success()' : unwrapCondition(String(condition));
  const expression = callsStatusFunction(text) ? text : `success() && (${text})`;
  return !falsy(toData(evaluate(expression, contexts, options)));
}

/** The runner's text form of a value (what ends up in env variables and action inputs). */
export function asText(value: Value): string {
  if (value === null) return '';
  if (typeof value === 'object') return JSON.stringify(value);
  return String(value);
}

/**
 * A YAML value with `${{ }}` templates: a string that is exactly one expression keeps the expression's type
 * (as `with:` of a reusable workflow call and `strategy.matrix` do); text around expressions makes a string.
 * Non-strings are returned unchanged.
 */
export function interpolate(value: unknown, contexts: Contexts, options: EvaluationOptions = {}): Value {
  if (typeof value !== 'string') return (value ?? null) as Value;
  const lone = /^\s*\$\{\{((?:(?!\}\})[\s\S])*)\}\}\s*$/.exec(value);
  if (lone) return evaluate(lone[1]!, contexts, options);
  return value.replace(/\$\{\{((?:(?!\}\})[\s\S])*)\}\}/g, (_, expression: string) =>
    asText(evaluate(expression, contexts, options)),
  );
}

// ---------------------------------------------------------------------------------------------------------
// The runner's decisions over a whole workflow: every `if:`, job `env:`, `with:`, reusable-workflow call,
// matrix `include:` expression and output is evaluated with the functions above from the real YAML files.
// Only what the steps themselves do is supplied by the caller: each step's outcome and outputs (a step without
// a plan succeeds with no outputs).

export interface StepPlan {
  outcome?: 'success' | 'failure';
  outputs?: Record<string, string>;
}

export interface Scenario {
  github: Record<string, Value>;
  /** workflow_dispatch inputs (GitHub gives null for every input on other events). */
  inputs?: Record<string, Value>;
  vars?: Record<string, string>;
  secrets?: Record<string, string>;
  /**
   * Step plans by "<job id>.<step id>", or "<job id>[<matrix series>].<step id>" for one matrix leg (looked up
   * first). Job ids are those of the innermost workflow (e.g. "image" inside publish-opennebula.yml).
   */
  steps?: Record<string, StepPlan>;
  /** Files in the workspace after the steps ran, for hashFiles(). */
  files?: string[];
}

export interface StepRun {
  id: string | undefined;
  name: string;
  ran: boolean;
  outcome: 'success' | 'failure' | 'skipped';
  with: Record<string, string>;
  env: Record<string, string>;
}

export interface JobRun {
  ran: boolean;
  result: 'success' | 'failure' | 'skipped';
  outputs: Record<string, string>;
  matrix?: Record<string, Value>;
  steps: StepRun[];
  /** For a reusable-workflow call: the called workflow's inputs and jobs. */
  with?: Record<string, Value>;
  jobs?: Record<string, JobRun[]>;
  concurrency?: { group: string; cancelInProgress: boolean };
  env: Record<string, string>;
}

type Json = Record<string, unknown>;
type Step = {
  id?: string;
  name?: string;
  uses?: string;
  run?: string;
  if?: string;
  with?: Json;
  env?: Json;
  'continue-on-error'?: boolean | string;
};
type Job = {
  if?: string;
  needs?: string | string[];
  uses?: string;
  with?: Json;
  secrets?: Json | 'inherit';
  env?: Json;
  outputs?: Record<string, string>;
  steps?: Step[];
  strategy?: { matrix?: Json | string };
  concurrency?: { group?: string; 'cancel-in-progress'?: unknown } | string;
};
export type WorkflowDoc = {
  on?: { workflow_call?: { inputs?: Record<string, { default?: Value; type?: string }>; outputs?: Json } };
  env?: Json;
  jobs: Record<string, Job>;
};

export const loadYaml = <T = WorkflowDoc>(path: string): T =>
  parseYaml(readFileSync(resolve(REPO_ROOT, path), 'utf8')) as T;

const needsOf = (job: Job) => (job.needs === undefined ? [] : [job.needs].flat());

function textMap(values: Json | undefined, contexts: Contexts, files?: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [key, value] of Object.entries(values ?? {})) {
    out[key] = asText(interpolate(value, contexts, { files }));
  }
  return out;
}

/** Runs the steps of one job (or composite action) and returns them with the job's result. */
export function runSteps(
  steps: Step[],
  contexts: Contexts,
  plan: (id: string | undefined) => StepPlan | undefined,
  files?: string[],
): { steps: StepRun[]; stepsContext: Record<string, Value>; failed: boolean } {
  const stepsContext: Record<string, Value> = {};
  const runs: StepRun[] = [];
  let failed = false;
  for (const step of steps) {
    const ctx = { ...contexts, steps: stepsContext };
    const ran = evaluateIf(step.if, ctx, { status: failed ? 'failure' : 'success', files });
    const name = step.name ?? step.id ?? step.uses ?? step.run?.split('\n')[0] ?? '?';
    let outcome: StepRun['outcome'] = 'skipped';
    let outputs: Record<string, string> = {};
    let withValues: Record<string, string> = {};
    let env: Record<string, string> = {};
    if (ran) {
      const stepPlan = plan(step.id);
      outcome = stepPlan?.outcome ?? 'success';
      outputs = stepPlan?.outputs ?? {};
      withValues = textMap(step.with, ctx, files);
      env = textMap(step.env, ctx, files);
    }
    // continue-on-error: the outcome stays 'failure', the conclusion (and the job's status) is success.
    const tolerated =
      outcome === 'failure' && interpolate(step['continue-on-error'] ?? false, ctx, { files }) === true;
    if (outcome === 'failure' && !tolerated) failed = true;
    const conclusion = tolerated ? 'success' : outcome;
    if (step.id) stepsContext[step.id] = { outputs, outcome, conclusion };
    runs.push({ id: step.id, name, ran, outcome, with: withValues, env });
  }
  return { steps: runs, stepsContext, failed };
}

/** Every job of a workflow file, in dependency order, given the event and the plans of the steps. */
export function runWorkflow(
  path: string,
  scenario: Scenario,
  calledWith?: Record<string, Value>,
  calledSecrets?: Record<string, string>,
): Record<string, JobRun[]> {
  const doc = loadYaml(path);
  const inputs: Record<string, Value> = calledWith ?? scenario.inputs ?? {};
  const secrets = calledSecrets ?? scenario.secrets ?? {};
  const base: Contexts = { github: scenario.github, inputs, vars: scenario.vars ?? {}, secrets };
  const results: Record<string, JobRun[]> = {};
  const pending = Object.keys(doc.jobs);
  while (pending.length > 0) {
    const index = pending.findIndex((name) => needsOf(doc.jobs[name]!).every((need) => need in results));
    if (index < 0) throw new Error(`${path}: jobs with unresolvable needs: ${pending.join(', ')}`);
    const [name] = pending.splice(index, 1) as [string];
    results[name] = runJob(path, name, doc.jobs[name]!, base, results, scenario);
  }
  return results;
}

/**
 * A `with:` value of a reusable-workflow call, checked against the input's type as GitHub checks it when it
 * evaluates the call (the run fails before the called jobs start): a boolean or number input given text
 * fails with "Unexpected value 'false'", given null with "Unexpected type of value ''".
 */
export function callInputValue(value: Value, type: string, what: string): Value {
  const expected = type === 'boolean' ? 'Boolean' : type === 'number' ? 'Number' : 'String';
  // A string input takes null as '' (`${{ inputs.version }}` on a schedule run, where inputs are null).
  if (value === null && type === 'string') return '';
  if (value === null || typeof value === 'object') {
    const shown = value === null ? '' : JSON.stringify(value);
    throw new Error(`${what}: Unexpected type of value '${shown}', expected type: ${expected}.`);
  }
  if (type === 'boolean' && typeof value !== 'boolean')
    throw new Error(`${what}: Unexpected value '${value}'`);
  if (type === 'number' && typeof value !== 'number') throw new Error(`${what}: Unexpected value '${value}'`);
  return type === 'string' ? String(value) : value;
}

/**
 * The inputs a reusable workflow (a path under the repository, or absolute) receives for these `with:` values:
 * checked as GitHub checks them (callInputValue: a boolean input given text or null fails the call), with
 * the declared defaults for what is not given.
 */
export function callInputs(path: string, given: Record<string, Value>): Record<string, Value> {
  const declared = loadYaml(path).on?.workflow_call?.inputs ?? {};
  const inputs: Record<string, Value> = {};
  for (const [input, spec] of Object.entries(declared)) {
    if (input in given) {
      inputs[input] = callInputValue(given[input]!, spec.type ?? 'string', `${path}: input "${input}"`);
      continue;
    }
    const value = spec.default ?? null;
    inputs[input] =
      spec.type === 'boolean'
        ? value === true || value === 'true'
        : spec.type === 'number'
          ? Number(value)
          : asText(value);
  }
  return inputs;
}

function aggregate(runs: JobRun[]): { result: JobRun['result']; outputs: Record<string, string> } {
  if (runs.some((run) => run.result === 'failure'))
    return { result: 'failure', outputs: runs.at(-1)!.outputs };
  if (runs.every((run) => run.result === 'skipped')) return { result: 'skipped', outputs: {} };
  return { result: 'success', outputs: runs.at(-1)!.outputs };
}

function runJob(
  path: string,
  name: string,
  job: Job,
  base: Contexts,
  done: Record<string, JobRun[]>,
  scenario: Scenario,
): JobRun[] {
  const needs: Record<string, Value> = {};
  for (const need of needsOf(job)) needs[need] = aggregate(done[need]!);
  const results = needsOf(job).map((need) => aggregate(done[need]!).result);
  const status = results.some((r) => r === 'failure')
    ? 'failure'
    : results.every((r) => r === 'success')
      ? 'success'
      : 'skipped';
  const ctx: Contexts = { ...base, needs };
  const skipped: JobRun = { ran: false, result: 'skipped', outputs: {}, steps: [], env: {} };
  if (!evaluateIf(job.if, ctx, { status })) return [skipped];

  const concurrencyOf = (legCtx: Contexts) =>
    typeof job.concurrency === 'object'
      ? {
          group: asText(interpolate(job.concurrency.group, legCtx)),
          cancelInProgress: interpolate(job.concurrency['cancel-in-progress'], legCtx) === true,
        }
      : undefined;

  const matrixSpec = job.strategy?.matrix;
  let legs: Array<Record<string, Value>> = [{}];
  if (matrixSpec !== undefined) {
    const spec = typeof matrixSpec === 'string' ? interpolate(matrixSpec, ctx) : matrixSpec;
    const include = interpolate((spec as Json).include, ctx);
    if (!Array.isArray(include) || include.length === 0) {
      throw new Error(`${path}: ${name}: the matrix has no entries (GitHub fails such a job)`);
    }
    legs = include as Array<Record<string, Value>>;
  }
  if (job.uses) {
    // `owner/repo/.github/workflows/x.yml@ref` (the starter templates): this repository's copy of x.yml, which
    // is what the ref names once released.
    const byName = /^[\w.-]+\/[\w.-]+\/(\.github\/workflows\/[^@/]+)@[\w./-]+$/.exec(job.uses);
    const called = job.uses.startsWith('./') ? job.uses.slice(2) : byName?.[1];
    if (!called) throw new Error(`${path}: ${name}: cannot simulate ${job.uses}`);
    // One call per matrix leg (a job without a matrix is one leg with an empty matrix).
    return legs.map((matrix) => {
      const legCtx: Contexts = { ...ctx, matrix };
      const given: Record<string, Value> = {};
      for (const [input, value] of Object.entries(job.with ?? {})) given[input] = interpolate(value, legCtx);
      const withValues = callInputs(called, given);
      const secrets =
        job.secrets === 'inherit' ? (base.secrets as Record<string, string>) : textMap(job.secrets, legCtx);
      const jobs = runWorkflow(called, scenario, withValues, secrets);
      const jobsContext: Record<string, Value> = {};
      for (const [calledJob, runs] of Object.entries(jobs)) jobsContext[calledJob] = aggregate(runs);
      const outputs: Record<string, string> = {};
      for (const [key, value] of Object.entries(loadYaml(called).on?.workflow_call?.outputs ?? {})) {
        outputs[key] = asText(
          interpolate((value as { value: string }).value, { ...legCtx, jobs: jobsContext }),
        );
      }
      const failed = Object.values(jobs).some((runs) => aggregate(runs).result === 'failure');
      return {
        ran: true,
        result: failed ? 'failure' : 'success',
        outputs,
        matrix,
        steps: [],
        with: withValues,
        jobs,
        concurrency: concurrencyOf(legCtx),
        env: {},
      } satisfies JobRun;
    });
  }

  return legs.map((matrix) => {
    const legCtx: Contexts = { ...ctx, matrix };
    const env = { ...textMap(loadYaml(path).env, legCtx), ...textMap(job.env, legCtx) };
    const leg = matrix.series === undefined ? undefined : asText(matrix.series);
    const plan = (id: string | undefined) =>
      id === undefined
        ? undefined
        : ((leg !== undefined ? scenario.steps?.[`${name}[${leg}].${id}`] : undefined) ??
          scenario.steps?.[`${name}.${id}`]);
    const run = runSteps(job.steps ?? [], { ...legCtx, env }, plan, scenario.files);
    const outputs = textMap(job.outputs, { ...legCtx, env, steps: run.stepsContext });
    return {
      ran: true,
      result: run.failed ? 'failure' : 'success',
      outputs,
      matrix,
      steps: run.steps,
      concurrency: concurrencyOf(legCtx),
      env,
    } satisfies JobRun;
  });
}

/** The step of a job run with this id (or name), failing loudly when the workflow has no such step. */
export function stepOf(run: JobRun, idOrName: string): StepRun {
  const step = run.steps.find((s) => s.id === idOrName || s.name === idOrName);
  if (!step) throw new Error(`no step ${idOrName} in [${run.steps.map((s) => s.id ?? s.name).join(', ')}]`);
  return step;
}
