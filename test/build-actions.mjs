#!/usr/bin/env node
// Bundles every action (actions/<name>/src/index.ts → actions/<name>/dist/index.js) with @vercel/ncc.
// The sources are ESM and so are the @actions/* packages; ncc emits one ESM file per action, which
// `runs.using: node24` loads because dist/ carries a package.json with "type": "module".
//
// Usage: node test/build-actions.mjs [--out DIR] [NAME...]   (DIR/<name>/dist/..., for the freshness check;
//        NAME... bundles only those actions)
import ncc from '@vercel/ncc';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const outIndex = process.argv.indexOf('--out');
const outRoot = outIndex >= 0 ? resolve(process.argv[outIndex + 1]) : join(repo, 'actions');

export function actionNames() {
  return readdirSync(join(repo, 'actions'), { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && existsSync(join(repo, 'actions', entry.name, 'action.yml')))
    .map((entry) => entry.name)
    .sort();
}

const args = process.argv.slice(2).filter((arg, i, all) => arg !== '--out' && all[i - 1] !== '--out');
for (const name of args) {
  if (!actionNames().includes(name)) {
    console.error(`no action named ${name} (with an action.yml) under actions/`);
    process.exit(2);
  }
}
for (const name of args.length > 0 ? args : actionNames()) {
  const input = join(repo, 'actions', name, 'src', 'index.ts');
  const dist = join(outRoot, name, 'dist');
  let bundle;
  try {
    bundle = await ncc(input, {
      cache: false,
      minify: true,
      sourceMap: false,
      license: 'licenses.txt',
      quiet: true,
      target: 'es2022',
    });
  } catch (error) {
    // ncc's errors carry webpack's whole state; the first lines are what a developer needs.
    console.error(
      `bundling ${name} failed:\n${String(error?.message ?? error)
        .split('\n')
        .slice(0, 12)
        .join('\n')}`,
    );
    process.exit(1);
  }
  const { code, assets } = bundle;
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  writeFileSync(join(dist, 'index.js'), code);
  for (const [file, asset] of Object.entries(assets ?? {})) {
    mkdirSync(dirname(join(dist, file)), { recursive: true });
    writeFileSync(join(dist, file), asset.source);
  }
  writeFileSync(join(dist, 'package.json'), '{ "type": "module" }\n');
  console.error(`bundled ${name}: ${(Buffer.byteLength(code) / 1024).toFixed(0)} KiB`);
}
