// Users of `uses:` run dist/, not src/: the committed bundles must be exactly what the sources build to
// (as actions/typescript-action's check-dist does), and must start on this machine's Node.
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { REPO_ROOT } from '../support/tools.js';

const actions = readdirSync(join(REPO_ROOT, 'actions')).filter((name) => {
  try {
    return statSync(join(REPO_ROOT, 'actions', name, 'action.yml')).isFile();
  } catch {
    return false;
  }
});

function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((path) => statSync(join(dir, path)).isFile())
    .sort();
}

describe('bundles', () => {
  let built: string;
  beforeAll(() => {
    built = mkdtempSync(join(tmpdir(), 'dist-check-'));
    execFileSync(process.execPath, [join(REPO_ROOT, 'test/build-actions.mjs'), '--out', built], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
  }, 300_000);
  afterAll(() => rmSync(built, { recursive: true, force: true }));

  it('there is at least one action to check', () => {
    expect(actions).toContain('detect-opennebula-release');
  });

  it.each(actions)('actions/%s/dist is what its sources build to (run `npm run build`)', (name) => {
    const committed = join(REPO_ROOT, 'actions', name, 'dist');
    const fresh = join(built, name, 'dist');
    expect(filesUnder(committed), `files in actions/${name}/dist`).toEqual(filesUnder(fresh));
    for (const file of filesUnder(fresh)) {
      const same = readFileSync(join(committed, file)).equals(readFileSync(join(fresh, file)));
      expect(
        same,
        `actions/${name}/dist/${relative(fresh, join(fresh, file))} is stale: run npm run build`,
      ).toBe(true);
    }
  });

  it.each(actions)('actions/%s runs on node24 from dist/index.js and stays under 1.5 MB', (name) => {
    const metadata = parse(readFileSync(join(REPO_ROOT, 'actions', name, 'action.yml'), 'utf8')) as {
      runs: { using: string; main: string };
    };
    expect(metadata.runs).toEqual({ using: 'node24', main: 'dist/index.js' });
    expect(statSync(join(REPO_ROOT, 'actions', name, 'dist', 'index.js')).size).toBeLessThan(
      1.5 * 1024 * 1024,
    );
  });

  it.each(actions)('actions/%s starts on this Node and fails cleanly without inputs', (name) => {
    const result = spawnSync(process.execPath, [join(REPO_ROOT, 'actions', name, 'dist', 'index.js')], {
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
    });
    expect(result.status).toBe(1);
    expect(result.stdout).toMatch(/^::error::/m);
    expect(result.stderr).not.toMatch(/SyntaxError|ERR_REQUIRE_ESM|Cannot find module/);
  });
});

describe('source maps', () => {
  it('a failing bundle names the TypeScript line that threw, with step debug on', () => {
    const result = spawnSync(
      process.execPath,
      [join(REPO_ROOT, 'actions', 'detect-opennebula-release', 'dist', 'index.js')],
      {
        env: {
          PATH: process.env.PATH,
          RUNNER_DEBUG: '1',
          INPUT_IMAGE: 'ghcr.io/o/n',
          INPUT_VERSION: '7.3.90',
        },
        encoding: 'utf8',
      },
    );
    expect(result.status).toBe(1);
    const frame =
      /at parseInputs \(file:\/\/(\S+\/actions\/detect-opennebula-release\/src\/context\.ts):(\d+):\d+\)/.exec(
        result.stdout.replace(/%0A/g, '\n'),
      );
    expect(frame, result.stdout).not.toBeNull();
    const line = readFileSync(frame![1]!, 'utf8').split('\n')[Number(frame![2]) - 1];
    expect(line).toMatch(/throw new Error\(/);
  });

  it('bundles are marked generated for GitHub (diffs and language statistics)', () => {
    expect(readFileSync(join(REPO_ROOT, '.gitattributes'), 'utf8')).toMatch(
      /^actions\/\*\/dist\/\*\* linguist-generated=true$/m,
    );
  });
});
