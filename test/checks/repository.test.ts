// The promises the repository makes to a newcomer: the README's first lines are the two commands, CI
// runs exactly the documented test command, and the layout is the documented one.
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/tools.js';

const read = (path: string) => readFileSync(join(REPO_ROOT, path), 'utf8');

function readmeCommands(): string[] {
  const lines = read('README.md').split('\n');
  expect(lines[0]).toBe('```sh');
  const end = lines.indexOf('```', 1);
  return lines.slice(1, end).map((line) => line.replace(/#.*$/, '').trim());
}

describe('README and CI contract', () => {
  it('opens with exactly two commands: the main job, then every test', () => {
    expect(readmeCommands()).toEqual(['npm run main', 'npm test']);
  });

  it('the commands exist as npm scripts backed by scripts in the repository', () => {
    const scripts = (JSON.parse(read('package.json')) as { scripts: Record<string, string> }).scripts;
    expect(scripts.main).toBe('bash test/run-main.sh');
    expect(scripts.test).toBe('bash test/run-tests.sh');
    expect(existsSync(join(REPO_ROOT, 'test/run-main.sh'))).toBe(true);
    expect(existsSync(join(REPO_ROOT, 'test/run-tests.sh'))).toBe(true);
  });

  it('.ci/run ends by running the README test command', () => {
    const commands = read('.ci/run')
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !line.startsWith('#'));
    expect(commands.at(-1)).toBe(readmeCommands()[1]);
  });

  it('keeps the documented top-level layout', () => {
    for (const path of [
      'actions',
      'chart',
      'docker',
      'workflows-templates',
      'test',
      '.github',
      'package.json',
      'tsconfig.json',
      'action.yml',
      'README.md',
      '.ci/run',
    ]) {
      expect(existsSync(join(REPO_ROOT, path)), path).toBe(true);
    }
  });

  it('is an ES module project with a strict TypeScript configuration', () => {
    expect((JSON.parse(read('package.json')) as { type: string }).type).toBe('module');
    const tsconfig = JSON.parse(read('tsconfig.json')) as { compilerOptions: { strict: boolean } };
    expect(tsconfig.compilerOptions.strict).toBe(true);
  });
});
