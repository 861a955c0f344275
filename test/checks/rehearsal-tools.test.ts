// `npm run main` on a fresh machine: rehearse.sh installs the pinned tools before the rehearsal starts, so
// every pinned tool the rehearsal's code (and the stand-ins it imports) requires must be in its list, or a
// newcomer's first command fails halfway ("required tool ... is not installed").
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../support/tools.js';

/** The TypeScript files main.ts reaches through relative imports. */
function reached(entry: string): string[] {
  const seen = new Set<string>();
  const visit = (file: string): void => {
    if (seen.has(file) || !existsSync(file)) return;
    seen.add(file);
    for (const m of readFileSync(file, 'utf8').matchAll(/from '(\.{1,2}\/[^']+)\.js'/g)) {
      visit(resolve(dirname(file), `${m[1]!}.ts`));
    }
  };
  visit(entry);
  return [...seen];
}

/** The tools those files require by name (requireTool / runTool of a bare name). */
function requiredTools(files: string[]): string[] {
  const names = new Set<string>();
  for (const file of files) {
    for (const m of readFileSync(file, 'utf8').matchAll(/\b(?:requireTool|runTool)\('([a-z0-9-]+)'/g))
      names.add(m[1]!);
  }
  return [...names].sort();
}

const REHEARSE = readFileSync(join(REPO_ROOT, 'test/rehearsal/rehearse.sh'), 'utf8');
const installed = /^needed=\(([^)]*)\)/m.exec(REHEARSE)![1]!.split(/\s+/).filter(Boolean);
const TOOLS = join(REPO_ROOT, 'test/tools');
const pinned = [
  join(TOOLS, 'install.sh'),
  ...readdirSync(join(TOOLS, 'install.d'))
    .filter((f) => f.endsWith('.sh'))
    .map((f) => join(TOOLS, 'install.d', f)),
]
  .map((file) => readFileSync(file, 'utf8'))
  .join('\n');

describe('npm run main on a fresh machine', () => {
  const tools = requiredTools(reached(join(REPO_ROOT, 'test/rehearsal/main.ts')));

  it('finds what the rehearsal requires', () => {
    expect(tools).toEqual(expect.arrayContaining(['helm', 'trivy', 'git']));
  });

  it('installs every pinned tool the rehearsal requires before it starts', () => {
    // A pinned tool: one install.sh installs by name (install_step NAME) rather than a Debian command.
    const isPinned = (tool: string) => new RegExp(`install_step ${tool} `).test(pinned);
    expect(tools.filter((tool) => isPinned(tool) && !installed.includes(tool))).toEqual([]);
  });
});
