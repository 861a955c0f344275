#!/usr/bin/env node
// Bundles every action (actions/<name>/src/index.ts → actions/<name>/dist/index.js) with @vercel/ncc.
// The sources are ESM and so are the @actions/* packages; ncc emits one ESM file per action, which
// `runs.using: node24` loads because dist/ carries a package.json with "type": "module".
//
// Usage: node test/build-actions.mjs [--out DIR] [NAME...]   (DIR/<name>/dist/..., for the freshness check;
//        NAME... bundles only those actions)
import ncc from '@vercel/ncc';
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
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
// The source map lets a failure's stack name src/*.ts lines (ncc's sourcemap-register.cjs installs it).
// Its sources are made relative to the committed dist/ directory, wherever this build writes, and carry no
// source text (the sources are in the repository), which keeps the map small.
function sourceMap(text, name) {
  const parsed = JSON.parse(text);
  const canonical = join(repo, 'actions', name, 'dist');
  parsed.sources = parsed.sources.map((source) => relative(canonical, resolve(repo, 'actions', source)));
  delete parsed.sourcesContent;
  return `${JSON.stringify(parsed)}\n`;
}

for (const name of args.length > 0 ? args : actionNames()) {
  const input = join(repo, 'actions', name, 'src', 'index.ts');
  const dist = join(outRoot, name, 'dist');
  let bundle;
  try {
    bundle = await ncc(input, {
      cache: false,
      minify: true,
      sourceMap: true,
      sourceMapRegister: true,
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
  const { assets, map } = bundle;
  // ncc's register (source-map-support) would be imported first thing and hook every stack; the bundle
  // loads it only when it reports a failure with step debug on (actions/shared/src/action.ts).
  const register = "import './sourcemap-register.cjs';";
  if (!bundle.code.startsWith(register) || !assets?.['sourcemap-register.cjs']) {
    console.error(
      `bundling ${name}: ncc no longer starts the bundle with ${register}; update build-actions.mjs`,
    );
    process.exit(1);
  }
  const code = bundle.code.slice(register.length);
  rmSync(dist, { recursive: true, force: true });
  mkdirSync(dist, { recursive: true });
  writeFileSync(join(dist, 'index.js'), code);
  for (const [file, asset] of Object.entries(assets ?? {})) {
    mkdirSync(dirname(join(dist, file)), { recursive: true });
    writeFileSync(join(dist, file), asset.source);
  }
  writeFileSync(join(dist, 'index.js.map'), sourceMap(map ?? assets['index.js.map'].source.toString(), name));
  writeFileSync(join(dist, 'package.json'), '{ "type": "module" }\n');
  console.error(`bundled ${name}: ${(Buffer.byteLength(code) / 1024).toFixed(0)} KiB`);
}
