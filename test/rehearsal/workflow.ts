// The parts of a GitHub Actions workflow file the rehearsal runs, and the pure rules the runner applies to
// them: job order from `needs`, matrix expansion and typed `workflow_call`/`workflow_dispatch` inputs.
// Expressions are evaluated by test/support/github-expressions.ts.
import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import {
  asText,
  callInputValue,
  interpolate,
  type Contexts,
  type Value,
} from '../support/github-expressions.js';

export interface Step {
  id?: string;
  name?: string;
  if?: string | boolean;
  uses?: string;
  run?: string;
  shell?: string;
  with?: Record<string, unknown>;
  env?: Record<string, unknown>;
  'working-directory'?: string;
  'continue-on-error'?: boolean | string;
  'timeout-minutes'?: number;
}

/** `defaults.run` of a workflow or job: the shell and working directory of its `run:` steps. */
export interface RunDefaults {
  run?: { shell?: string; 'working-directory'?: string };
}

export interface Job {
  name?: string;
  defaults?: RunDefaults;
  needs?: string | string[];
  if?: string | boolean;
  uses?: string;
  with?: Record<string, unknown>;
  secrets?: 'inherit' | Record<string, unknown>;
  env?: Record<string, unknown>;
  outputs?: Record<string, string>;
  strategy?: { matrix?: unknown; 'fail-fast'?: boolean };
  concurrency?: string | { group?: string; 'cancel-in-progress'?: boolean | string };
  steps?: Step[];
  'continue-on-error'?: boolean | string;
  'timeout-minutes'?: number;
}

export interface InputSpec {
  type?: 'string' | 'boolean' | 'number' | 'choice' | 'environment';
  default?: unknown;
  required?: boolean;
}

export interface Workflow {
  name?: string;
  on?: unknown;
  defaults?: RunDefaults;
  env?: Record<string, unknown>;
  jobs: Record<string, Job>;
}

export function loadWorkflow(path: string): Workflow {
  const workflow = parse(readFileSync(path, 'utf8')) as Workflow | null;
  if (!workflow || typeof workflow !== 'object' || !workflow.jobs || typeof workflow.jobs !== 'object') {
    throw new Error(`${path}: not a workflow (no jobs:)`);
  }
  return workflow;
}

export const needsOf = (job: Job): string[] =>
  job.needs === undefined ? [] : Array.isArray(job.needs) ? job.needs : [job.needs];

/** Job ids in an order where every job comes after the jobs it needs (file order among equals). */
export function jobOrder(jobs: Record<string, Job>): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (id: string, path: string[]) => {
    if (state.get(id) === 'done') return;
    if (!(id in jobs)) throw new Error(`job ${path.at(-1)} needs ${id}, which the workflow does not define`);
    if (state.get(id) === 'visiting')
      throw new Error(`jobs need each other in a cycle: ${[...path, id].join(' → ')}`);
    state.set(id, 'visiting');
    for (const need of needsOf(jobs[id]!)) visit(need, [...path, id]);
    state.set(id, 'done');
    order.push(id);
  };
  for (const id of Object.keys(jobs)) visit(id, []);
  return order;
}

/** The `on:` section's inputs for an event (workflow_dispatch or workflow_call). */
export function eventInputs(workflow: Workflow, event: string): Record<string, InputSpec> {
  const on = workflow.on;
  if (!on || typeof on !== 'object' || Array.isArray(on)) return {};
  const trigger = (on as Record<string, unknown>)[event];
  if (!trigger || typeof trigger !== 'object') return {};
  return ((trigger as { inputs?: Record<string, InputSpec> }).inputs ?? {}) as Record<string, InputSpec>;
}

export function declaresEvent(workflow: Workflow, event: string): boolean {
  const on = workflow.on;
  if (typeof on === 'string') return on === event;
  if (Array.isArray(on)) return on.includes(event);
  return !!on && typeof on === 'object' && event in on;
}

/**
 * The `inputs` context: given values typed by their declaration, defaults filled in, undeclared or missing
 * required inputs refused (as GitHub refuses the call). `from` says where the values come from: a
 * workflow_dispatch (text from the form or the API: 'true'/'false' make a boolean) or a reusable-workflow
 * call, whose `with:` values must already have the declared type, as GitHub checks them when it evaluates the
 * call ("Unexpected value 'false'" for a string given to a boolean, "Unexpected type of value ''" for null).
 */
export function typedInputs(
  specs: Record<string, InputSpec>,
  given: Record<string, Value>,
  where: string,
  from: 'workflow_dispatch' | 'workflow_call' = 'workflow_dispatch',
): Record<string, Value> {
  for (const name of Object.keys(given)) {
    if (!(name in specs)) throw new Error(`${where}: input "${name}" is not declared by the workflow`);
  }
  const inputs: Record<string, Value> = {};
  for (const [name, spec] of Object.entries(specs)) {
    const type = spec.type ?? 'string';
    const what = `${where}: input "${name}"`;
    if (!(name in given)) {
      if (spec.required) throw new Error(`${where}: required input "${name}" was not given`);
      inputs[name] = coerceInput((spec.default ?? null) as Value, type, what);
    } else if (from === 'workflow_call') {
      inputs[name] = callInputValue(given[name]!, type, what);
    } else {
      inputs[name] = coerceInput(given[name]!, type, what);
    }
  }
  return inputs;
}

/** github.event.inputs of a workflow_dispatch: every input as text, as the event payload carries them. */
export function eventPayloadInputs(inputs: Record<string, Value>): Record<string, string> {
  return Object.fromEntries(
    Object.entries(inputs).map(([name, value]) => [
      name,
      value === null ? '' : typeof value === 'object' ? JSON.stringify(value) : String(value),
    ]),
  );
}

function coerceInput(value: Value, type: string, what: string): Value {
  if (value === null) return type === 'boolean' ? false : type === 'number' ? 0 : '';
  if (type === 'boolean') {
    if (typeof value === 'boolean') return value;
    if (value === 'true' || value === 'false') return value === 'true';
    throw new Error(`${what} must be a boolean, got ${JSON.stringify(value)}`);
  }
  if (type === 'number') {
    const number = Number(value);
    if (Number.isNaN(number)) throw new Error(`${what} must be a number, got ${JSON.stringify(value)}`);
    return number;
  }
  return typeof value === 'string'
    ? value
    : typeof value === 'object'
      ? JSON.stringify(value)
      : String(value);
}

/** Matrix combinations of `strategy.matrix` (already evaluated): the cross product, then exclude, include. */
export function expandMatrix(matrix: Value | undefined): Array<Record<string, Value>> {
  if (matrix === undefined || matrix === null) return [{}];
  if (typeof matrix !== 'object' || Array.isArray(matrix)) {
    throw new Error(`strategy.matrix must be a mapping, got ${JSON.stringify(matrix)}`);
  }
  const { include, exclude, ...axes } = matrix;
  let combinations: Array<Record<string, Value>> = [{}];
  for (const [key, values] of Object.entries(axes)) {
    if (!Array.isArray(values)) throw new Error(`strategy.matrix.${key} must be a list`);
    if (values.length === 0) throw new Error(`Matrix vector '${key}' does not contain any values`);
    combinations = combinations.flatMap((combination) =>
      values.map((value) => ({ ...combination, [key]: value })),
    );
  }
  if (Object.keys(axes).length === 0) combinations = [];
  const excluded = Array.isArray(exclude) ? exclude : [];
  combinations = combinations.filter(
    (combination) =>
      !excluded.some(
        (rule) =>
          !!rule &&
          typeof rule === 'object' &&
          Object.entries(rule).every(
            ([key, value]) => JSON.stringify(combination[key]) === JSON.stringify(value),
          ),
      ),
  );
  const included = Array.isArray(include) ? include : [];
  if (Object.keys(axes).length === 0 && included.length === 0) {
    throw new Error('Matrix must define at least one vector');
  }
  for (const extra of included) {
    if (!extra || typeof extra !== 'object' || Array.isArray(extra)) continue;
    const originalKeys = Object.keys(axes);
    let merged = false;
    for (const combination of combinations) {
      const fits = originalKeys.every(
        (key) => !(key in extra) || JSON.stringify(extra[key]) === JSON.stringify(combination[key]),
      );
      if (fits && originalKeys.length > 0) {
        Object.assign(combination, extra);
        merged = true;
      }
    }
    if (!merged) combinations.push({ ...extra });
  }
  if (combinations.length === 0) throw new Error('Matrix must define at least one vector');
  return combinations;
}

/** A job's concurrency group (`concurrency: name` or `concurrency.group`), evaluated; '' without one. */
export function concurrencyGroup(job: Job, contexts: Contexts): string {
  const spec = job.concurrency;
  if (spec === undefined) return '';
  const group = typeof spec === 'object' && spec !== null ? spec.group : spec;
  return asText(interpolate(group ?? '', contexts));
}

export function callOutputs(workflow: Workflow): Record<string, { value?: string }> {
  const on = workflow.on as Record<string, { outputs?: Record<string, { value?: string }> }> | undefined;
  return on?.workflow_call?.outputs ?? {};
}

export function callSecrets(workflow: Workflow): Record<string, unknown> {
  const on = workflow.on as Record<string, { secrets?: Record<string, unknown> }> | undefined;
  return on?.workflow_call?.secrets ?? {};
}

/** Matrix values written as `${{ fromJSON(...) }}` inside a mapping (include: ${{ ... }}). */
export function resolveNested(value: Value, contexts: Contexts): Value {
  if (typeof value === 'string') return interpolate(value, contexts);
  if (Array.isArray(value)) return value.map((item) => resolveNested(item, contexts));
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, resolveNested(item, contexts)]),
    );
  }
  return value;
}
