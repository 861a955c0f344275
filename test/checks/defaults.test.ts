// One source of truth for detect-opennebula-release's defaults: action.yml. The parsing code's DEFAULTS,
// the root action.yml, every workflow and template that declares an input of the same name, and
// `npm run main` (the rehearsal of release.yml) must agree with it, or, for npm run main, not repeat it.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { DEFAULTS } from '../../actions/detect-opennebula-release/src/context.js';
import { projectFiles, REPO_ROOT } from '../support/tools.js';

type Inputs = Record<string, { default?: unknown }>;
const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');
const DETECT = 'actions/detect-opennebula-release/action.yml';

/** An input default as the runner passes it: strings as they are, booleans and numbers as text. */
const text = (value: unknown) => (value === undefined ? undefined : String(value));

function declaredInputs(yamlText: string): Inputs {
  const document = parse(yamlText) as {
    inputs?: Inputs;
    on?: { workflow_call?: { inputs?: Inputs }; workflow_dispatch?: { inputs?: Inputs } };
  };
  return {
    ...(document.on?.workflow_dispatch?.inputs ?? {}),
    ...(document.on?.workflow_call?.inputs ?? {}),
    ...(document.inputs ?? {}),
  };
}

/** Every place whose default for a detect input differs from action.yml's: "file: input: theirs ≠ ours". */
export function disagreements(detectYaml: string, others: Record<string, string>): string[] {
  const truth = declaredInputs(detectYaml);
  const found: string[] = [];
  for (const [name, value] of Object.entries(DEFAULTS)) {
    if (text(truth[name]?.default) !== value) {
      found.push(`context.ts DEFAULTS: ${name}: ${value} ≠ ${text(truth[name]?.default)}`);
    }
  }
  for (const [name, input] of Object.entries(truth)) {
    const value = text(input.default);
    if (value && value !== 'false' && !value.includes('${{') && !(name in DEFAULTS)) {
      found.push(`context.ts DEFAULTS: ${name}: missing (action.yml says ${value})`);
    }
  }
  for (const [file, content] of Object.entries(others)) {
    for (const [name, input] of Object.entries(declaredInputs(content))) {
      const theirs = text(input.default);
      const ours = text(truth[name]?.default);
      if (!(name in truth) || theirs === undefined || ours === undefined) continue;
      if (ours.includes('${{') || theirs.includes('${{')) continue;
      const normalise = (v: string) => (v === '' ? 'false' : v);
      if (
        theirs !== ours &&
        !(['true', 'false', ''].includes(ours) && normalise(theirs) === normalise(ours))
      ) {
        found.push(`${file}: ${name}: ${theirs} ≠ ${ours}`);
      }
    }
  }
  return found;
}

const callers = () => {
  const files = ['action.yml', ...projectFiles('.github/workflows/*.yml', 'workflows-templates/*.yml')];
  return Object.fromEntries(files.map((file) => [file, read(file)]));
};

describe('detect-opennebula-release defaults', () => {
  it('agree between action.yml, the parsing code, the root action and every workflow', () => {
    expect(disagreements(read(DETECT), callers())).toEqual([]);
  });

  it('are caught when any one place changes (a mutated copy)', () => {
    const mutatedAction = read(DETECT).replace('default: 7.0.0', 'default: 7.2.0');
    expect(disagreements(mutatedAction, {})).toEqual(['context.ts DEFAULTS: min-version: 7.0.0 ≠ 7.2.0']);
    const workflow = [
      'on:',
      '  workflow_call:',
      '    inputs:',
      '      architectures: { type: string, default: "amd64, arm64" }',
      '      min-version: { type: string, default: 7.0.0 }',
      '      force: { type: boolean, default: false }',
    ].join('\n');
    expect(disagreements(read(DETECT), { 'fork.yml': workflow })).toEqual([
      'fork.yml: architectures: amd64, arm64 ≠ amd64',
    ]);
  });

  it('are not repeated by npm run main (the rehearsal runs release.yml, which passes them)', () => {
    const script = [
      read('test/run-main.sh'),
      ...projectFiles('test/rehearsal/*.ts', 'test/rehearsal/*.sh')
        .filter((file) => !file.endsWith('.test.ts'))
        .map(read),
    ].join('\n');
    for (const [name, value] of Object.entries(DEFAULTS)) {
      const escaped = value.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
      expect(script, `npm run main repeats the ${name} default`).not.toMatch(
        new RegExp(`(^|[^\\w./])${escaped}($|[^\\w.])`),
      );
    }
    for (const name of [...Object.keys(DEFAULTS), 'series', 'version', 'force']) {
      expect(script).not.toMatch(new RegExp(`INPUT_${name.toUpperCase()}=\\$\\{[A-Z_]+:-[^}]`));
    }
  });
});
