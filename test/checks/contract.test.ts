// The contract between the workflows, the templates, the root action and the actions' action.yml files:
// every step that uses one of our actions passes only inputs its action.yml declares and every required one;
// the root action, which runs the bundles directly (the runner applies no defaults then), passes every input
// that has a default; every steps.<id>.outputs.<name>, needs.<job>.outputs.<name> and jobs.<job>.outputs.<name>
// reference resolves to a declared output; every reusable-workflow call passes only declared inputs and
// secrets and every required one; every inputs.<name> is declared; every third-party `uses:` is pinned by a
// full commit SHA. A mutated copy (any action's input or output renamed) shows each rule catches a break.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULTS as DETECT_DEFAULTS } from '../../actions/detect-opennebula-release/src/context.js';
import { DEFAULTS as HELM_RELEASE_DEFAULTS } from '../../actions/helm-release/src/inputs.js';
import { projectFiles, REPO_ROOT } from '../support/tools.js';

/** This project on GitHub, as the templates call it (`<owner>/<repo>/...@v1`). */
export const OWN_REPOSITORY = 'pablodelarco/opennebula-helm';

/**
 * Inputs whose defaults a bundle applies itself (its code's DEFAULTS) when the root action passes nothing.
 * They must equal action.yml's. build-scan-push has none: its defaults live in action.yml only.
 */
const BUNDLE_DEFAULTS: Record<string, Readonly<Record<string, string>>> = {
  'actions/detect-opennebula-release/action.yml': DETECT_DEFAULTS,
  'actions/helm-release/action.yml': HELM_RELEASE_DEFAULTS,
};

type Json = Record<string, unknown>;
type InputSpec = { required?: boolean; default?: unknown; type?: string };
type Step = { id?: string; uses?: string; run?: string; with?: Json; env?: Json; name?: string };
type Job = {
  uses?: string;
  with?: Json;
  secrets?: Json | string;
  steps?: Step[];
  outputs?: Json;
  needs?: unknown;
};
type Doc = {
  inputs?: Record<string, InputSpec>;
  outputs?: Record<string, unknown>;
  runs?: { using?: string; steps?: Step[] };
  on?: {
    workflow_call?: {
      inputs?: Record<string, InputSpec>;
      secrets?: Record<string, { required?: boolean }>;
      outputs?: Record<string, { value?: string }>;
    };
    workflow_dispatch?: { inputs?: Record<string, InputSpec> } | null;
  };
  jobs?: Record<string, Job>;
};

/** Every YAML file the contract covers, parsed: path → document. */
export type Model = Record<string, Doc>;

export function loadModel(): Model {
  const files = projectFiles(
    '.github/workflows/*.yml',
    'workflows-templates/*.yml',
    'action.yml',
    'actions/*/action.yml',
  );
  return Object.fromEntries(
    files.map((file) => [file, parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as Doc]),
  );
}

type Target = { kind: 'action' | 'workflow' | 'third-party' | 'unknown'; file?: string };

/** What a `uses:` names: one of our actions or reusable workflows (by path in this repository), or not. */
function resolve(uses: string): Target {
  const own = `${OWN_REPOSITORY}/`;
  let path: string | undefined;
  if (uses.startsWith('./')) path = uses.slice(2);
  else if (uses.startsWith('$/')) path = uses.slice(2);
  else if (uses.toLowerCase().startsWith(own.toLowerCase()))
    path = uses.slice(own.length).replace(/@[^@]*$/, '');
  else if (
    uses.toLowerCase() === OWN_REPOSITORY.toLowerCase() ||
    uses.toLowerCase().startsWith(`${OWN_REPOSITORY.toLowerCase()}@`)
  )
    path = '';
  if (path === undefined) return { kind: uses.startsWith('docker://') ? 'unknown' : 'third-party' };
  if (/^\.github\/workflows\/[^/]+\.ya?ml$/.test(path)) return { kind: 'workflow', file: path };
  return { kind: 'action', file: path === '' ? 'action.yml' : `${path.replace(/\/$/, '')}/action.yml` };
}

const SHA_PINNED = /^[\w.-]+\/[\w.-]+(?:\/[\w./-]+)?@[0-9a-f]{40}$/;
const STEP_OUTPUT = /steps\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g;
const NEEDS_OUTPUT = /needs\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g;
const JOBS_OUTPUT = /jobs\.([A-Za-z_][\w-]*)\.outputs\.([A-Za-z_][\w-]*)/g;
const INPUT_REF = /(?<![\w.-])inputs\.([A-Za-z_][\w-]*)/g;
const BUNDLE_RUN = /\$GITHUB_ACTION_PATH\/(actions\/[\w-]+)\/dist\/index\.js/;

/** Every string inside a value (recursively), for reference scanning. */
function strings(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(strings);
  if (value && typeof value === 'object') return Object.values(value).flatMap(strings);
  return [];
}

const text = (value: unknown) => (value === undefined || value === null ? undefined : String(value));

/** A step id's declared outputs: from an action.yml, a run script's writes to GITHUB_OUTPUT, or unknown. */
type Outputs = { names: Set<string> | 'any'; from: string };

export function checkContract(model: Model): string[] {
  const problems: string[] = [];
  const problem = (where: string, message: string) => problems.push(`${where}: ${message}`);

  const actionOf = (file: string, where: string, uses: string): Doc | undefined => {
    const doc = model[file];
    if (!doc) problem(where, `uses ${uses}, but ${file} does not exist`);
    return doc;
  };

  /** Checks one step list (a job's or a composite action's); returns the outputs each step id declares. */
  const checkSteps = (where: string, file: string, steps: Step[]): Map<string, Outputs> => {
    const outputs = new Map<string, Outputs>();
    for (const [index, step] of steps.entries()) {
      const at = `${where} step ${step.id ?? step.name ?? index + 1}`;
      if (step.uses) {
        const target = resolve(step.uses);
        if (target.kind === 'third-party') {
          if (!SHA_PINNED.test(step.uses)) problem(at, `${step.uses} is not pinned by a full commit SHA`);
          if (step.id) outputs.set(step.id, { names: 'any', from: step.uses });
        } else if (target.kind === 'action') {
          if (
            !step.uses.startsWith('./') &&
            !step.uses.startsWith('$/') &&
            !file.startsWith('workflows-templates/')
          ) {
            problem(at, `${step.uses}: only the templates call this repository by name (others use ./)`);
          }
          const action = actionOf(target.file!, at, step.uses);
          if (action) {
            checkInputs(at, target.file!, action.inputs ?? {}, Object.keys(step.with ?? {}), false);
            if (step.id)
              outputs.set(step.id, { names: new Set(Object.keys(action.outputs ?? {})), from: target.file! });
          }
        } else {
          problem(at, `${step.uses} cannot be checked`);
        }
      } else if (step.run) {
        const bundle = BUNDLE_RUN.exec(step.run);
        if (bundle) {
          const actionFile = `${bundle[1]}/action.yml`;
          const action = actionOf(actionFile, at, bundle[1]!);
          const passed = Object.keys(step.env ?? {})
            .filter((key) => key.startsWith('INPUT_'))
            .map((key) => key.slice('INPUT_'.length).toLowerCase());
          if (action) {
            checkInputs(at, actionFile, action.inputs ?? {}, passed, true);
            checkDefaultsAgree(at, file, actionFile, action, step);
            if (step.id)
              outputs.set(step.id, { names: new Set(Object.keys(action.outputs ?? {})), from: actionFile });
          }
        } else if (step.id) {
          const written = new Set<string>();
          for (const match of step.run.matchAll(/([A-Za-z_][\w-]*)(?:=|<<)/g)) written.add(match[1]!);
          outputs.set(step.id, { names: written, from: 'its run script' });
        }
      }
    }
    return outputs;
  };

  const checkInputs = (
    at: string,
    actionFile: string,
    declared: Record<string, InputSpec>,
    passed: string[],
    bundle: boolean,
  ) => {
    for (const name of passed) {
      if (!(name in declared)) problem(at, `input "${name}" is not declared by ${actionFile}`);
    }
    const selfDefaults = Object.keys(BUNDLE_DEFAULTS[actionFile] ?? {});
    for (const [name, spec] of Object.entries(declared)) {
      if (passed.includes(name)) continue;
      const fallback = text(spec.default);
      if (spec.required && fallback === undefined) {
        problem(at, `required input "${name}" of ${actionFile} is not passed`);
      } else if (bundle && fallback !== undefined && fallback !== '' && !selfDefaults.includes(name)) {
        problem(
          at,
          `input "${name}" of ${actionFile} has default "${fallback}" that the runner does not apply here: pass it`,
        );
      }
    }
  };

  /** `INPUT_X: ${{ inputs.X }}` in the root action: its default must be the action's. */
  const checkDefaultsAgree = (at: string, file: string, actionFile: string, action: Doc, step: Step) => {
    const own = model[file]?.inputs ?? {};
    for (const [key, value] of Object.entries(step.env ?? {})) {
      const name = key.slice('INPUT_'.length).toLowerCase();
      const through = /^\$\{\{\s*inputs\.([\w-]+)\s*\}\}$/.exec(String(value));
      if (!key.startsWith('INPUT_') || !through) continue;
      const ours = text(own[through[1]!]?.default);
      const theirs = text(action.inputs?.[name]?.default);
      if (ours !== undefined && theirs !== undefined && ours !== theirs) {
        problem(at, `input "${name}": default "${ours}" here, "${theirs}" in ${actionFile}`);
      }
    }
  };

  const checkStepRefs = (at: string, values: unknown, outputs: Map<string, Outputs>) => {
    for (const value of strings(values)) {
      for (const [, id, name] of value.matchAll(STEP_OUTPUT)) {
        const declared = outputs.get(id!);
        if (!declared) problem(at, `steps.${id}.outputs.${name}: there is no step with id ${id} before it`);
        else if (declared.names !== 'any' && !declared.names.has(name!)) {
          problem(at, `steps.${id}.outputs.${name}: ${declared.from} declares no output "${name}"`);
        }
      }
    }
  };

  const checkInputRefs = (at: string, values: unknown, declared: Set<string>) => {
    for (const value of strings(values)) {
      for (const [, name] of value.matchAll(INPUT_REF)) {
        if (!declared.has(name!)) problem(at, `inputs.${name} is not a declared input`);
      }
    }
  };

  for (const [file, defaults] of Object.entries(BUNDLE_DEFAULTS)) {
    for (const [name, value] of Object.entries(defaults)) {
      const declared = text(model[file]?.inputs?.[name]?.default);
      if (model[file] && declared !== value) {
        problem(
          file,
          `input "${name}": the bundle's code defaults to "${value}", action.yml to "${declared}"`,
        );
      }
    }
  }

  for (const [file, doc] of Object.entries(model)) {
    if (doc.runs?.using === 'composite') {
      const outputs = checkSteps(file, file, doc.runs.steps ?? []);
      checkStepRefs(file, [doc.runs.steps, doc.outputs], outputs);
      checkInputRefs(file, [doc.runs.steps, doc.outputs], new Set(Object.keys(doc.inputs ?? {})));
    }
    if (!doc.jobs) continue;
    const declaredInputs = new Set([
      ...Object.keys(doc.on?.workflow_call?.inputs ?? {}),
      ...Object.keys(doc.on?.workflow_dispatch?.inputs ?? {}),
    ]);
    const jobOutputs = new Map<string, Set<string>>();
    for (const [name, job] of Object.entries(doc.jobs)) {
      if (job.uses) {
        const target = resolve(job.uses);
        if (target.kind === 'workflow') {
          const called = model[target.file!];
          jobOutputs.set(name, new Set(Object.keys(called?.on?.workflow_call?.outputs ?? {})));
        } else jobOutputs.set(name, new Set());
      } else jobOutputs.set(name, new Set(Object.keys(job.outputs ?? {})));
    }
    for (const [name, job] of Object.entries(doc.jobs)) {
      const at = `${file}: job ${name}`;
      const needs = new Set([job.needs ?? []].flat() as string[]);
      for (const value of strings(job)) {
        for (const [, need, output] of value.matchAll(NEEDS_OUTPUT)) {
          if (!needs.has(need!)) problem(at, `needs.${need}.outputs.${output}: ${need} is not in needs`);
          else if (!jobOutputs.get(need!)?.has(output!)) {
            problem(at, `needs.${need}.outputs.${output}: job ${need} declares no output "${output}"`);
          }
        }
      }
      checkInputRefs(at, job, declaredInputs);
      if (job.uses) {
        const target = resolve(job.uses);
        if (target.kind !== 'workflow') {
          problem(at, `${job.uses} is not a reusable workflow of this repository`);
          continue;
        }
        if (!job.uses.startsWith('./') && !file.startsWith('workflows-templates/')) {
          problem(at, `${job.uses}: only the templates call this repository by name (others use ./)`);
        }
        const called = model[target.file!];
        if (!called?.on?.workflow_call) {
          problem(at, `uses ${job.uses}, but ${target.file} is not a reusable workflow`);
          continue;
        }
        const inputs = called.on.workflow_call.inputs ?? {};
        for (const key of Object.keys(job.with ?? {})) {
          if (!(key in inputs)) problem(at, `input "${key}" is not declared by ${target.file}`);
        }
        for (const [key, spec] of Object.entries(inputs)) {
          if (spec.required && spec.default === undefined && !(key in (job.with ?? {}))) {
            problem(at, `required input "${key}" of ${target.file} is not passed`);
          }
        }
        if (job.secrets !== 'inherit') {
          const secrets = called.on.workflow_call.secrets ?? {};
          const given = Object.keys((job.secrets as Json | undefined) ?? {});
          for (const key of given) {
            if (!(key in secrets)) problem(at, `secret "${key}" is not declared by ${target.file}`);
          }
          for (const [key, spec] of Object.entries(secrets)) {
            if (spec.required && !given.includes(key)) problem(at, `required secret "${key}" is not passed`);
          }
        }
        continue;
      }
      const outputs = checkSteps(at, file, job.steps ?? []);
      checkStepRefs(at, [job.steps, job.outputs, job], outputs);
    }
    for (const [name, output] of Object.entries(doc.on?.workflow_call?.outputs ?? {})) {
      for (const [, job, value] of (output.value ?? '').matchAll(JOBS_OUTPUT)) {
        if (!jobOutputs.has(job!)) problem(`${file}: output ${name}`, `jobs.${job}: no such job`);
        else if (!jobOutputs.get(job!)!.has(value!)) {
          problem(
            `${file}: output ${name}`,
            `jobs.${job}.outputs.${value}: job ${job} declares no output "${value}"`,
          );
        }
      }
    }
  }
  return [...new Set(problems)];
}

/** Every (action file, input) some workflow or the root action passes, and every (action file, output) read. */
export function usages(model: Model): { inputs: Array<[string, string]>; outputs: Array<[string, string]> } {
  const inputs = new Map<string, [string, string]>();
  const outputs = new Map<string, [string, string]>();
  for (const doc of Object.values(model)) {
    const jobs = [...Object.values(doc.jobs ?? {}).map((job) => job.steps ?? []), doc.runs?.steps ?? []];
    for (const steps of jobs) {
      const ids = new Map<string, string>();
      for (const step of steps) {
        let actionFile: string | undefined;
        let passed: string[] = [];
        if (step.uses && resolve(step.uses).kind === 'action') {
          actionFile = resolve(step.uses).file!;
          passed = Object.keys(step.with ?? {});
        } else if (step.run && BUNDLE_RUN.test(step.run)) {
          actionFile = `${BUNDLE_RUN.exec(step.run)![1]}/action.yml`;
          passed = Object.keys(step.env ?? {})
            .filter((key) => key.startsWith('INPUT_'))
            .map((key) => key.slice(6).toLowerCase());
        }
        if (!actionFile || !model[actionFile]) continue;
        for (const name of passed) inputs.set(`${actionFile}:${name}`, [actionFile, name]);
        if (step.id) ids.set(step.id, actionFile);
      }
      for (const value of strings([steps, doc.outputs, doc.jobs])) {
        for (const [, id, name] of value.matchAll(STEP_OUTPUT)) {
          const actionFile = ids.get(id!);
          if (actionFile && name! in (model[actionFile]!.outputs ?? {})) {
            outputs.set(`${actionFile}:${name}`, [actionFile, name!]);
          }
        }
      }
    }
  }
  return { inputs: [...inputs.values()], outputs: [...outputs.values()] };
}

function renamed<T extends object>(record: T | undefined, from: string, to: string): T {
  return Object.fromEntries(
    Object.entries(record ?? {}).map(([key, value]) => [key === from ? to : key, value]),
  ) as T;
}

describe('the contract between workflows, templates, the root action and action.yml files', () => {
  const model = loadModel();

  it('covers every workflow, template and action', () => {
    const files = Object.keys(model);
    expect(files).toEqual(
      expect.arrayContaining([
        'action.yml',
        '.github/workflows/release.yml',
        '.github/workflows/security-rebuild.yml',
        '.github/workflows/detect-opennebula-release.yml',
        '.github/workflows/publish-opennebula.yml',
        '.github/workflows/rebuild-opennebula.yml',
        'actions/detect-opennebula-release/action.yml',
      ]),
    );
    expect(files.filter((file) => file.startsWith('workflows-templates/')).length).toBeGreaterThan(0);
  });

  it('gives every starter template its GitHub metadata (name, description, iconName, categories)', () => {
    const templates = Object.keys(model).filter((file) => file.startsWith('workflows-templates/'));
    expect(templates.length).toBeGreaterThanOrEqual(3);
    const metadata = projectFiles('workflows-templates/*.properties.json');
    expect(metadata.sort()).toEqual(
      templates.map((file) => file.replace(/\.yml$/, '.properties.json')).sort(),
    );
    for (const file of metadata) {
      const properties = JSON.parse(readFileSync(join(REPO_ROOT, file), 'utf8')) as Record<string, unknown>;
      for (const key of ['name', 'description', 'iconName']) {
        expect(typeof properties[key] === 'string' && properties[key] !== '', `${file}: ${key}`).toBe(true);
      }
      expect(
        Array.isArray(properties.categories) && properties.categories.length > 0,
        `${file}: categories`,
      ).toBe(true);
    }
  });

  it('holds: no undeclared or missing input, no unresolved output, every third-party action SHA-pinned', () => {
    expect(checkContract(model)).toEqual([]);
  });

  it('catches a renamed input of any action that is passed somewhere (mutated copies)', () => {
    const { inputs } = usages(model);
    expect(inputs.length).toBeGreaterThan(10);
    for (const [file, name] of inputs) {
      const copy = structuredClone(model);
      copy[file]!.inputs = renamed(copy[file]!.inputs, name, `${name}-renamed`);
      const found = checkContract(copy);
      expect(
        found.some((p) => p.includes(`"${name}"`)),
        `${file}: renaming input ${name} went unnoticed`,
      ).toBe(true);
    }
  });

  it('catches a renamed output of any action that is read somewhere (mutated copies)', () => {
    const { outputs } = usages(model);
    expect(outputs.length).toBeGreaterThan(5);
    for (const [file, name] of outputs) {
      const copy = structuredClone(model);
      copy[file]!.outputs = renamed(copy[file]!.outputs, name, `${name}-renamed`);
      const found = checkContract(copy);
      expect(
        found.some((p) => p.includes(`outputs.${name}:`)),
        `${file}: renaming output ${name} went unnoticed`,
      ).toBe(true);
    }
  });

  it('catches a new required input, a renamed reusable-workflow input, secret or output, and an unpinned action', () => {
    const required = structuredClone(model);
    required['actions/detect-opennebula-release/action.yml']!.inputs!['new-one'] = { required: true };
    expect(checkContract(required)).toContain(
      '.github/workflows/detect-opennebula-release.yml: job detect step detect: required input "new-one" of actions/detect-opennebula-release/action.yml is not passed',
    );

    const input = structuredClone(model);
    const publishCall = input['.github/workflows/publish-opennebula.yml']!.on!.workflow_call!;
    publishCall.inputs = renamed(publishCall.inputs, 'tags', 'image-tags');
    expect(checkContract(input)).toEqual(
      expect.arrayContaining([
        '.github/workflows/release.yml: job publish: input "tags" is not declared by .github/workflows/publish-opennebula.yml',
        '.github/workflows/release.yml: job publish: required input "image-tags" of .github/workflows/publish-opennebula.yml is not passed',
        '.github/workflows/publish-opennebula.yml: job image: inputs.tags is not a declared input',
      ]),
    );

    const secret = structuredClone(model);
    const detectCall = secret['.github/workflows/detect-opennebula-release.yml']!.on!.workflow_call!;
    detectCall.secrets = renamed(detectCall.secrets, 'registry-password', 'password');
    expect(checkContract(secret)).toContain(
      '.github/workflows/security-rebuild.yml: job detect: secret "registry-password" is not declared by .github/workflows/detect-opennebula-release.yml',
    );

    const output = structuredClone(model);
    detectCall.outputs = renamed(detectCall.outputs, 'is-new', 'new');
    output['.github/workflows/detect-opennebula-release.yml']!.on!.workflow_call!.outputs = renamed(
      output['.github/workflows/detect-opennebula-release.yml']!.on!.workflow_call!.outputs,
      'is-new',
      'new',
    );
    expect(checkContract(output)).toContain(
      '.github/workflows/release.yml: job publish: needs.detect.outputs.is-new: job detect declares no output "is-new"',
    );

    const jobOutput = structuredClone(model);
    const image = jobOutput['.github/workflows/publish-opennebula.yml']!.jobs!.image!;
    image.outputs = renamed(image.outputs, 'pushed', 'done');
    expect(checkContract(jobOutput)).toEqual(
      expect.arrayContaining([
        '.github/workflows/publish-opennebula.yml: job chart: needs.image.outputs.pushed: job image declares no output "pushed"',
        '.github/workflows/publish-opennebula.yml: output pushed: jobs.image.outputs.pushed: job image declares no output "pushed"',
      ]),
    );

    const unpinned = structuredClone(model);
    const checkout = unpinned['.github/workflows/publish-opennebula.yml']!.jobs!.image!.steps![0]!;
    checkout.uses = 'actions/checkout@v7';
    expect(checkContract(unpinned)).toContain(
      '.github/workflows/publish-opennebula.yml: job image step 1: actions/checkout@v7 is not pinned by a full commit SHA',
    );
  });
});
