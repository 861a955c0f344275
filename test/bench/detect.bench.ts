// Benchmark of detect-opennebula-release: the bundle run as the runner runs it against stand-ins that add
// 200 ms to every response, as a distant upstream would. Prints wall time, request count, round trips (wall
// time over the latency, start-up included; and the network's own depth, the longest chain of requests
// each sent after the previous one was answered) and bundle size. Targets (issue #3): the "nothing new" path under 3 round trips plus start-up, start-up under
// 300 ms, bundle under 1.5 MB.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { runAction } from '../support/action-runner.js';
import { sequentialDepth, startStandIn, type StandIn } from '../support/http-stand-in.js';
import { CURRENT_SITE, siteRoutesFor } from '../support/opennebula-repo.js';
import { REPO_ROOT } from '../support/tools.js';

const LATENCY_MS = 200;
const RUNS = 5;
const BUNDLE = join(REPO_ROOT, 'actions/detect-opennebula-release/dist/index.js');
const PUBLISHED = ['7.0.0', '7.0.1', '7.0', '7.2.0', '7.2', '7.4.0', '7.4', '7', 'latest'];

let upstream: StandIn;
let dockerConfig: string;
const rows: string[][] = [];
const LOGIN = `Basic ${Buffer.from('bench:secret').toString('base64')}`;

beforeAll(async () => {
  upstream = await startStandIn({ latencyMs: LATENCY_MS });
  for (const [path, route] of Object.entries(siteRoutesFor(CURRENT_SITE))) upstream.route(path, route);
  upstream.route('/repos/OpenNebula/one/releases', { status: 200, body: '[]' });
  const tags = {
    status: 200,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'x', tags: PUBLISHED }),
  };
  // An open registry (one round trip) and one behind a Bearer challenge like Docker Hub (three).
  upstream.route('/v2/open/opennebula/tags/list', tags);
  upstream.route('/v2/hub/opennebula/tags/list', (request, base) =>
    request.headers.authorization === 'Bearer t'
      ? tags
      : { status: 401, headers: { 'www-authenticate': `Bearer realm="${base}/token",service="bench"` } },
  );
  upstream.route('/token', { status: 200, body: '{"token":"t"}' });
  // A private repository: its token service wants the login the Docker config holds (docker/login-action).
  upstream.route('/v2/private/opennebula/tags/list', (request, base) =>
    request.headers.authorization === 'Bearer p'
      ? tags
      : {
          status: 401,
          headers: { 'www-authenticate': `Bearer realm="${base}/private-token",service="bench"` },
        },
  );
  upstream.route('/private-token', (request) =>
    request.headers.authorization === LOGIN
      ? { status: 200, body: '{"token":"p"}' }
      : { status: 401, body: '{"details":"incorrect username or password"}' },
  );
  dockerConfig = mkdtempSync(join(tmpdir(), 'bench-docker-config-'));
  const auth = Buffer.from('bench:secret').toString('base64');
  writeFileSync(
    join(dockerConfig, 'config.json'),
    JSON.stringify({ auths: { [new URL(upstream.url).host]: { auth } } }),
  );
});
afterAll(async () => {
  await upstream?.close();
  rmSync(dockerConfig, { recursive: true, force: true });
  console.log(`\ndetect-opennebula-release, ${LATENCY_MS} ms added per response, median of ${RUNS} runs\n`);
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  for (const row of rows) console.log(row.map((cell, i) => cell.padEnd(widths[i]!)).join('  '));
});

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

it('start-up and bundle size', () => {
  const times: number[] = [];
  for (let i = 0; i < RUNS; i += 1) {
    const started = process.hrtime.bigint();
    spawnSync(process.execPath, [BUNDLE], { env: { PATH: process.env.PATH } });
    times.push(Number(process.hrtime.bigint() - started) / 1e6);
  }
  const size = statSync(BUNDLE).size;
  rows.push(['scenario', 'wall ms', 'requests', 'round trips', 'network depth', 'notes']);
  rows.push(['start-up (exit on missing input)', median(times).toFixed(0), '0', '0', '0', `target < 300 ms`]);
  rows.push(['bundle size', (size / 1024).toFixed(0) + ' KiB', '', '', '', `target < 1536 KiB`]);
  expect(size).toBeGreaterThan(0);
});

it.each([
  ['nothing new, open registry', 'open', {}],
  ['nothing new, Bearer registry', 'hub', {}],
  ['nothing new, private Bearer registry, Docker config login', 'private', {}],
  ['new release (forced), open registry', 'open', { force: 'true' }],
])('%s', async (label, repository, extra) => {
  const walls: number[] = [];
  let requests = 0;
  let depth = 0;
  for (let i = 0; i < RUNS; i += 1) {
    upstream.requests.length = 0;
    const run = await runAction(
      'detect-opennebula-release',
      {
        'repository-url': `${upstream.url}/repo`,
        image: `${new URL(upstream.url).host}/${repository}/opennebula`,
        ...extra,
      },
      { GITHUB_API_URL: upstream.url, DOCKER_CONFIG: dockerConfig },
    );
    expect(run.code, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.published!)).toContain('7.4.0');
    walls.push(run.durationMs);
    requests = upstream.requests.length;
    depth = sequentialDepth(upstream.requests);
  }
  const wall = median(walls);
  const trips = (wall / LATENCY_MS).toFixed(1);
  rows.push([
    label,
    wall.toFixed(0),
    String(requests),
    trips,
    String(depth),
    label.startsWith('nothing new') ? 'includes start-up; target <= 3' : 'includes start-up',
  ]);
});
