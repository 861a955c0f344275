// The actions' sources read as lists of steps over pure steps: no function over 80 lines, no file over 400.
// Measured with TypeScript's own parser (a function's lines run from its first token to its closing brace).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT, projectFiles } from '../support/tools.js';

const MAX_FUNCTION_LINES = 80;
const MAX_FILE_LINES = 400;

const sources = () => projectFiles('actions/*/src/*.ts', 'actions/*/src/**/*.ts');

function lineCount(text: string): number {
  return text.endsWith('\n') ? text.split('\n').length - 1 : text.split('\n').length;
}

/** Every function-like node longer than the limit, as `file:line name (N lines)`. */
export function longFunctions(file: string, text: string, limit = MAX_FUNCTION_LINES): string[] {
  const source = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
  const found: string[] = [];
  const visit = (node: ts.Node): void => {
    if (ts.isFunctionLike(node) && 'body' in node && node.body) {
      const first = source.getLineAndCharacterOfPosition(node.getStart(source)).line;
      const last = source.getLineAndCharacterOfPosition(node.getEnd()).line;
      const lines = last - first + 1;
      if (lines > limit) {
        const name = node.name && ts.isIdentifier(node.name) ? node.name.text : '(anonymous)';
        found.push(`${file}:${first + 1} ${name} (${lines} lines)`);
      }
    }
    ts.forEachChild(node, visit);
  };
  visit(source);
  return found;
}

describe('code shape of actions/*/src', () => {
  it('finds the sources', () => {
    expect(sources().length).toBeGreaterThan(20);
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines`, () => {
    const long = sources().flatMap((file) =>
      longFunctions(file, readFileSync(join(REPO_ROOT, file), 'utf8')),
    );
    expect(long).toEqual([]);
  });

  it(`has no source file over ${MAX_FILE_LINES} lines`, () => {
    const large = sources()
      .map((file) => ({ file, lines: lineCount(readFileSync(join(REPO_ROOT, file), 'utf8')) }))
      .filter(({ lines }) => lines > MAX_FILE_LINES)
      .map(({ file, lines }) => `${file} (${lines} lines)`);
    expect(large).toEqual([]);
  });

  it('measures a long function (the check can fail)', () => {
    const body = Array.from({ length: 90 }, (_, i) => `  const a${i} = ${i};`).join('\n');
    expect(longFunctions('x.ts', `function big() {\n${body}\n}\n`)).toEqual(['x.ts:1 big (92 lines)']);
    expect(longFunctions('x.ts', 'const f = () => {\n  return 1;\n};\n')).toEqual([]);
  });
});
