// What every action run pays before and after its work: a normal run prints no process warning (also on a
// runner behind a proxy) and never reads the bundle's source map; a failure maps its stack to src/*.ts
// lines only when step debug logging is on (the runner shows ::debug:: lines only then).
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runAction } from '../support/action-runner.js';
import { startStandIn, type StandIn } from '../support/http-stand-in.js';
import { CURRENT_SITE, siteRoutesFor } from '../support/opennebula-repo.js';

let upstream: StandIn;
let traceDir: string;
let preload: string;

beforeAll(async () => {
  upstream = await startStandIn();
  for (const [path, route] of Object.entries(siteRoutesFor(CURRENT_SITE))) upstream.route(path, route);
  upstream.route('/repos/OpenNebula/one/releases', { status: 200, body: '[]' });
  upstream.route('/v2/me/opennebula/tags/list', {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'me/opennebula', tags: ['7.4.0', '7.4', '7', 'latest'] }),
  });
  traceDir = mkdtempSync(join(tmpdir(), 'startup-'));
  // Records every file the process reads whose name ends in .map (source-map support reads it with fs).
  preload = join(traceDir, 'trace-maps.cjs');
  writeFileSync(
    preload,
    `const fs = require('node:fs');
const read = fs.readFileSync;
fs.readFileSync = function (path, ...rest) {
  if (String(path).endsWith('.map')) fs.appendFileSync(process.env.MAP_READS, String(path) + '\\n');
  return read.call(this, path, ...rest);
};
`,
  );
});
afterAll(async () => {
  await upstream?.close();
});

function mapReads(name: string): string[] {
  try {
    return readFileSync(join(traceDir, name), 'utf8').split('\n').filter(Boolean);
  } catch {
    return [];
  }
}

const detectInputs = () => ({
  'repository-url': `${upstream.url}/repo`,
  image: `${new URL(upstream.url).host}/me/opennebula`,
});

describe('a normal run', () => {
  it('prints no process warning and reads no source map, also with a proxy configured', async () => {
    const run = await runAction('detect-opennebula-release', detectInputs(), {
      GITHUB_API_URL: upstream.url,
      // A self-hosted runner behind a proxy that exempts the local upstream.
      HTTP_PROXY: 'http://127.0.0.1:9',
      HTTPS_PROXY: 'http://127.0.0.1:9',
      NO_PROXY: '127.0.0.1,localhost',
      NODE_OPTIONS: `--require ${preload}`,
      MAP_READS: join(traceDir, 'normal'),
    });
    expect(run.code, run.stdout + run.stderr).toBe(0);
    expect(run.stderr).not.toMatch(/Warning|experimental/i);
    expect(mapReads('normal')).toEqual([]);
  });
});

describe('a failed run', () => {
  const failing = { image: 'ghcr.io/o/n', version: '7.3.90' };

  it('says what failed without reading the source map when step debug is off', async () => {
    const run = await runAction('detect-opennebula-release', failing, {
      NODE_OPTIONS: `--require ${preload}`,
      MAP_READS: join(traceDir, 'failed'),
    });
    expect(run.code).toBe(1);
    expect(run.errors.join('\n')).toMatch(/version/);
    expect(mapReads('failed')).toEqual([]);
  });

  it('maps its stack to the TypeScript sources when step debug is on', async () => {
    const run = await runAction('detect-opennebula-release', failing, {
      RUNNER_DEBUG: '1',
      NODE_OPTIONS: `--require ${preload}`,
      MAP_READS: join(traceDir, 'debug'),
    });
    expect(run.code).toBe(1);
    expect(run.stdout.replace(/%0A/g, '\n')).toMatch(/at parseInputs \(\S+\/src\/context\.ts:\d+:\d+\)/);
    expect(mapReads('debug').some((path) => path.endsWith('index.js.map'))).toBe(true);
  });
});
