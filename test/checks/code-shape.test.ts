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

// The image's and the chart's shell scripts: the same limits, a function running from `name() {` at the
// start of a line to the first `}` that closes a line at the start (how every script here is written).
const scripts = () =>
  projectFiles(
    'docker/rootfs/usr/local/bin/*',
    'docker/rootfs/usr/local/lib/opennebula-container/*.sh',
    'docker/rootfs/usr/local/lib/opennebula-container/ha-hook',
    'docker/rootfs/usr/local/lib/opennebula-container/ha-oned',
    'chart/opennebula/files/*.sh',
  );

/** Every shell function longer than the limit, as `file:line name (N lines)`. */
export function longShellFunctions(file: string, text: string, limit = MAX_FUNCTION_LINES): string[] {
  const found: string[] = [];
  let start: { line: number; name: string } | undefined;
  text.split('\n').forEach((line, index) => {
    const opening = /^([A-Za-z_][A-Za-z0-9_]*)\(\) \{/.exec(line);
    if (opening) start = { line: index, name: opening[1]! };
    else if (start && line.startsWith('}')) {
      const lines = index - start.line + 1;
      if (lines > limit) found.push(`${file}:${start.line + 1} ${start.name} (${lines} lines)`);
      start = undefined;
    }
  });
  return found;
}

describe("code shape of the image's and the chart's shell scripts", () => {
  it('finds the scripts', () => {
    expect(scripts()).toContain('docker/rootfs/usr/local/bin/opennebula-entrypoint');
    expect(scripts().length).toBeGreaterThan(10);
  });

  it(`has no function over ${MAX_FUNCTION_LINES} lines`, () => {
    expect(
      scripts().flatMap((file) => longShellFunctions(file, readFileSync(join(REPO_ROOT, file), 'utf8'))),
    ).toEqual([]);
  });

  it(`has no script over ${MAX_FILE_LINES} lines`, () => {
    const large = scripts()
      .map((file) => ({ file, lines: lineCount(readFileSync(join(REPO_ROOT, file), 'utf8')) }))
      .filter(({ lines }) => lines > MAX_FILE_LINES)
      .map(({ file, lines }) => `${file} (${lines} lines)`);
    expect(large).toEqual([]);
  });

  it('measures a long shell function (the check can fail)', () => {
    const body = Array.from({ length: 90 }, (_, i) => `\tlocal a${i}=${i}`).join('\n');
    expect(longShellFunctions('x.sh', `big() {\n${body}\n}\nsmall() {\n\ttrue\n}\n`)).toEqual([
      'x.sh:1 big (92 lines)',
    ]);
  });
});
