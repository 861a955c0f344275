// The bundled action (dist/index.js) run as the runner runs it, against the recorded-format download
// site and GitHub API on the stand-in and a real OCI registry holding the published tags.
import { load } from 'cheerio';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runAction, type ActionRun } from '../support/action-runner.js';
import { sequentialDepth, startStandIn, type Route, type StandIn } from '../support/http-stand-in.js';
import { startRegistry, type LocalRegistry } from '../support/oci-registry.js';
import {
  CURRENT_SITE,
  LISTING_HTML,
  matrixEntry as entry,
  packagesPath,
  siteRoutesFor,
  type SiteSpec,
} from '../support/opennebula-repo.js';
import { startTokenRegistry, type TokenRegistry } from '../support/token-registry.js';
import { REPO_ROOT } from '../support/tools.js';

const RELEASES = readFileSync(join(REPO_ROOT, 'test/fixtures/github/opennebula-one-releases.json'), 'utf8');

let upstream: StandIn;
let registry: LocalRegistry;

function serveSite(spec: SiteSpec, listing = LISTING_HTML) {
  for (const [path, route] of Object.entries(siteRoutesFor(spec, '/repo', listing)))
    upstream.route(path, route);
}

function reset(spec: SiteSpec = CURRENT_SITE) {
  for (const path of Object.keys(
    siteRoutesFor({ ...CURRENT_SITE, '7.6': { amd64: [], arm64: [] }, '8.0': { amd64: [] } }),
  )) {
    upstream.unroute(path);
  }
  upstream.unroute('/repo/');
  serveSite(spec);
  upstream.route('/repos/OpenNebula/one/releases', {
    status: 200,
    headers: { 'content-type': 'application/json; charset=utf-8' },
    body: RELEASES,
  });
  upstream.requests.length = 0;
}

async function detect(inputs: Record<string, string> = {}): Promise<ActionRun> {
  return runAction(
    'detect-opennebula-release',
    {
      'repository-url': `${upstream.url}/repo`,
      image: `${registry.host}/ci/opennebula`,
      'github-token': 'ghs_test',
      ...inputs,
    },
    { GITHUB_API_URL: upstream.url },
  );
}

const expectFailure = (run: ActionRun, message: RegExp) => {
  expect(run.code, run.stdout + run.stderr).not.toBe(0);
  expect(run.errors.join('\n')).toMatch(message);
  expect(run.outputs['is-new']).toBeUndefined();
};

beforeAll(async () => {
  upstream = await startStandIn();
  registry = await startRegistry();
  for (const tag of ['7.0.0', '7.0.1', '7.0', '7.2.0', '7.2', '7', 'latest'])
    await registry.pushTag('ci/opennebula', tag);
});
afterAll(async () => {
  await upstream?.close();
  await registry?.close();
});
afterEach(() => reset());
beforeAll(() => reset());

describe('detect-opennebula-release (bundled)', () => {
  it('finds the new release, its tags and the rebuild matrix', async () => {
    const run = await detect();
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({
      version: '7.4.0',
      series: '7.4',
      'package-version': '7.4.0-1',
      'is-new': 'true',
      tags: '7.4.0\n7.4\n7\nlatest',
      reason: `7.4.0, the newest installable Community release, is not yet published in ${registry.host}/ci/opennebula.`,
    });
    expect(JSON.parse(run.outputs.published!)).toEqual(['7.0.0', '7.0.1', '7.2.0']);
    expect(JSON.parse(run.outputs.matrix!)).toEqual([
      entry('7.0.1', '7.0', '7.0.1\n7.0', false),
      entry('7.2.0', '7.2', '7.2.0\n7.2', false),
      entry('7.4.0', '7.4', '7.4.0\n7.4\n7\nlatest', true),
    ]);
    expect(JSON.parse(run.outputs['new-versions']!)).toEqual([
      entry('7.4.0', '7.4', '7.4.0\n7.4\n7\nlatest', true),
    ]);
    expect(JSON.parse(run.outputs['other-new-versions']!)).toEqual([]);
    expect(run.outputs['repository-dir']).toBe('7.4');
  });

  it('reports a new hotfix of an older series even when the newest release is already published', async () => {
    for (const tag of ['7.0.1', '7.2.0', '7.4.0', '7.4', '7', 'latest'])
      await registry.pushTag('hotfix/opennebula', tag);
    reset({ ...CURRENT_SITE, '7.0': { amd64: ['7.0.1-1', '7.0.1.1-1'] } });
    const run = await detect({ image: `${registry.host}/hotfix/opennebula` });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({ version: '7.4.0', 'is-new': 'false' });
    const fresh = JSON.parse(run.outputs['new-versions']!) as Array<{ version: string; tags: string }>;
    expect(fresh.map((item) => [item.version, item.tags])).toEqual([['7.0.1.1', '7.0.1.1\n7.0']]);
    expect(JSON.parse(run.outputs['other-new-versions']!)).toEqual(fresh);
    const $ = load(run.summary);
    expect($('table tr').eq(1).find('td').last().text()).toBe('new, not yet built');
    expect(run.outputs.reason).toContain('not yet built: 7.0.1.1 (7.0)');
  });

  it('resolves an older patch release from its pinned directory when the series index lists only the newest', async () => {
    // Rolling 7.0/ lists only 7.0.1 (as apt repositories do); 7.0.0/ still holds 7.0.0.
    reset({ ...CURRENT_SITE, '7.0': { amd64: ['7.0.1-1'] }, '7.0.0': { amd64: ['7.0.0-1'] } });
    const run = await detect({ version: '7.0.0', force: 'true' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({
      version: '7.0.0',
      'package-version': '7.0.0-1',
      'repository-dir': '7.0.0',
      tags: '7.0.0',
    });
    expect(upstream.requests.map((r) => r.url)).toContain(`/repo${packagesPath('7.0.0', 'amd64')}`);
  });

  it('writes a job summary table an HTML parser can read', async () => {
    const run = await detect();
    const $ = load(run.summary);
    const rows = $('table tr')
      .toArray()
      .map((tr) =>
        $(tr)
          .find('th, td')
          .toArray()
          .map((cell) => $(cell).text()),
      );
    expect(rows).toEqual([
      ['Series', 'Newest CE version', 'Published', 'Status'],
      ['7.0', '7.0.1', 'yes', 'up to date'],
      ['7.2', '7.2.0', 'yes', 'up to date'],
      ['7.4', '7.4.0', 'no', 'new, not yet built (version, tags, is-new)'],
    ]);
    expect($('a').attr('href')).toBe('https://github.com/OpenNebula/one/releases/tag/release-7.4.0');
    expect(run.summary).toContain('on 2026-07-15');
  });

  it('needs two sequential round trips to upstream when nothing is new, however many series', async () => {
    // Every answer takes 150 ms: a client that waited for one index before asking the next would show a
    // depth of 4 (listing, 7.0, 7.2, 7.4); the listing first, then everything at once, is 2.
    const slow = await startStandIn({ latencyMs: 150 });
    try {
      for (const [path, route] of Object.entries(siteRoutesFor(CURRENT_SITE))) slow.route(path, route);
      slow.route('/repos/OpenNebula/one/releases', { status: 200, body: RELEASES });
      for (const tag of ['7.0.1', '7.2.0', '7.4.0', 'latest'])
        await registry.pushTag('depth/opennebula', tag);
      const run = await runAction(
        'detect-opennebula-release',
        {
          'repository-url': `${slow.url}/repo`,
          image: `${registry.host}/depth/opennebula`,
          'github-token': 'x',
        },
        { GITHUB_API_URL: slow.url },
      );
      expect(run.code, run.stdout).toBe(0);
      expect(run.outputs['is-new']).toBe('false');
      expect(slow.requests).toHaveLength(5);
      expect(sequentialDepth(slow.requests)).toBe(2);
    } finally {
      await slow.close();
    }
  });

  it('says nothing is new once the release is published, asking only the series it follows', async () => {
    for (const tag of ['7.0.1', '7.2.0', '7.4.0', 'latest'])
      await registry.pushTag('complete/opennebula', tag);
    const run = await detect({ image: `${registry.host}/complete/opennebula` });
    expect(run.code).toBe(0);
    expect(run.outputs['is-new']).toBe('false');
    expect(run.outputs.reason).toMatch(/already published in every image; nothing to do/);
    // One listing, one Packages per series >= 7.0 (6.10 and the 6.99 pre-release series are never asked).
    const paths = upstream.requests.map((r) => r.url.split('?')[0]).sort();
    expect(paths).toEqual([
      '/repo/',
      '/repo/7.0/Ubuntu/24.04/dists/stable/opennebula/binary-amd64/Packages',
      '/repo/7.2/Ubuntu/24.04/dists/stable/opennebula/binary-amd64/Packages',
      '/repo/7.4/Ubuntu/24.04/dists/stable/opennebula/binary-amd64/Packages',
      '/repos/OpenNebula/one/releases',
    ]);
  });

  it('ignores git tags and GitHub releases that have no Community packages (7.4.1, 7.0.2)', async () => {
    // The releases fixture has release-7.4.1 and release-7.0.2 (Enterprise-only): they must neither be
    // decided on nor appear in any output or in the summary's upstream link.
    const releases = JSON.parse(RELEASES) as Array<{ tag_name: string }>;
    expect(releases.map((r) => r.tag_name)).toEqual(
      expect.arrayContaining(['release-7.4.1', 'release-7.0.2']),
    );
    const run = await detect();
    expect(run.outputs.version).toBe('7.4.0');
    const everything = JSON.stringify(run.outputs);
    expect(everything).not.toMatch(/7\.4\.1|7\.0\.2/);
    expect(load(run.summary)('a').attr('href')).toMatch(/release-7\.4\.0$/);
  });

  it('treats a new series that is missing or half-populated as not available yet', async () => {
    const listing = LISTING_HTML.replace(
      '<a href="7.4.0/">',
      '<a href="7.6/">7.6/</a>\n<a href="8.0/">8.0/</a>\n<a href="7.4.0/">',
    );
    reset();
    serveSite(
      {
        ...CURRENT_SITE,
        '7.6': { amd64: [{ version: '7.6.0-1', packages: ['opennebula', 'opennebula-tools'] }] },
      },
      listing,
    );
    const run = await detect();
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.version).toBe('7.4.0');
    expect(run.outputs.tags).toBe('7.4.0\n7.4\n7\nlatest');
    const $ = load(run.summary);
    const cells = $('table tr')
      .toArray()
      .map((tr) => $(tr).find('td').first().next().next().next().text());
    expect(cells.slice(-2)).toEqual(['not available yet', 'not available yet']);
  });

  it('requires every architecture to carry the version', async () => {
    const run = await detect({ architectures: 'amd64, arm64' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.version).toBe('7.0.1');
  });

  it('handles four-component hotfixes and never treats 6.99 as a release', async () => {
    const run = await detect({ 'min-version': '6.10.0', series: '6.10' });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs).toMatchObject({
      version: '6.10.0.1',
      series: '6.10',
      'package-version': '6.10.0.1-1',
      tags: '6.10.0.1\n6.10\n6',
    });
    expect(upstream.requests.some((r) => r.url.startsWith('/repo/6.99/'))).toBe(false);
  });

  it('builds an explicitly requested version, and rebuilds a published one only with force', async () => {
    const requested = await detect({ version: '7.0.1' });
    expect(requested.outputs).toMatchObject({ version: '7.0.1', 'is-new': 'false', tags: '7.0.1\n7.0' });
    const forced = await detect({ version: '7.0.1', force: 'true' });
    expect(forced.outputs).toMatchObject({ version: '7.0.1', 'is-new': 'true', tags: '7.0.1\n7.0' });
  });

  it('fails clearly for a requested version without Community packages', async () => {
    expectFailure(
      await detect({ version: '7.0.2' }),
      /^version: 7\.0\.2 is not installable from the Community repository .*\/repo\/7\.0\/ or .*\/repo\/7\.0\.2\/ \(newest installable in 7\.0: 7\.0\.1\)$/,
    );
  });

  it('counts a version as published only if every image has it', async () => {
    await registry.pushTag('mirror/opennebula', '7.2.0');
    const run = await detect({
      image: `${registry.host}/ci/opennebula\n${registry.host}/mirror/opennebula`,
      series: '7.2',
    });
    expect(run.outputs).toMatchObject({ version: '7.2.0', 'is-new': 'false' });
    const other = await detect({
      image: `${registry.host}/ci/opennebula, ${registry.host}/nowhere/opennebula`,
      series: '7.2',
    });
    expect(other.outputs).toMatchObject({ version: '7.2.0', 'is-new': 'true' });
    expect(other.outputs.reason).toContain(`not yet published in ${registry.host}/nowhere/opennebula`);
  });

  it('retries transient upstream failures and still decides', async () => {
    const path = `/repo${packagesPath('7.4', 'amd64')}`;
    const good = siteRoutesFor(CURRENT_SITE)[path] as Route & { body: string };
    upstream.route(path, [{ status: 503, headers: { 'retry-after': '0' } }, { status: 502 }, good]);
    const run = await detect();
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs.version).toBe('7.4.0');
    expect(upstream.requests.filter((r) => r.url === path)).toHaveLength(3);
  });

  it('fails, never deciding from partial data, when a Packages index keeps failing', async () => {
    const path = `/repo${packagesPath('7.2', 'amd64')}`;
    upstream.route(path, { status: 500, headers: { 'retry-after': '0' } });
    expectFailure(await detect(), new RegExp(`GET ${upstream.url}${path} failed after retries: HTTP 500`));
  });

  it('fails when the registry cannot be asked, rather than guessing what is published', async () => {
    const run = await detect({ image: '127.0.0.1:9/ci/opennebula' });
    expectFailure(
      run,
      /GET http:\/\/127\.0\.0\.1:9\/v2\/ci\/opennebula\/tags\/list\?n=1000 failed after retries: fetch failed/,
    );
  });

  it('does not let a GitHub failure change the decision', async () => {
    upstream.route('/repos/OpenNebula/one/releases', { status: 500 });
    const run = await detect();
    expect(run.code).toBe(0);
    expect(run.outputs.version).toBe('7.4.0');
    expect(run.warnings.join('\n')).toMatch(/GitHub enrichment skipped/);
  });

  it('rejects a listing that is not a directory listing', async () => {
    upstream.route('/repo/', { status: 200, body: '<html><body><h1>Maintenance</h1></body></html>' });
    expectFailure(await detect(), /^repository-url: .*\/repo\/ is not a directory listing/);
  });

  it('rejects bad inputs with a message naming the input and no outputs', async () => {
    expectFailure(
      await detect({ 'min-version': 'seven' }),
      /^min-version: "seven" is not an OpenNebula version/,
    );
    expectFailure(await detect({ series: '7.x' }), /^series: "7.x" is not a series/);
    expect(upstream.requests).toHaveLength(0);
  });

  it('uses the registry credentials and masks the password in the log', async () => {
    const locked = await startRegistry({ auth: true });
    try {
      await locked.pushTag('ci/opennebula', '7.4.0');
      const { username, password } = locked.credentials!;
      const run = await detect({
        image: `${locked.host}/ci/opennebula`,
        'registry-username': username,
        'registry-password': password,
      });
      expect(run.code, run.stdout).toBe(0);
      // The registry asks for credentials, so the published 7.4.0 is seen only if they were sent.
      expect(JSON.parse(run.outputs.published!)).toEqual(['7.4.0']);
      expect(run.stdout).toContain(`::add-mask::${password}`);
      expect(run.stdout.split('\n').filter((line) => line.includes(password))).toHaveLength(1);
      const anonymous = await detect({ image: `${locked.host}/ci/opennebula` });
      expectFailure(anonymous, /requires authentication; set registry-username and registry-password/);
    } finally {
      await locked.close();
    }
  });

  it('knows whether the chart of the newest version is published, and that an older one does not move it', async () => {
    const root = mkdtempSync(join(tmpdir(), 'detect-pages-'));
    try {
      const bare = join(root, 'pages.git');
      const git = (cwd: string, ...args: string[]) =>
        execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', ...args], { cwd });
      git(root, 'init', '--quiet', '--bare', bare);
      const chart = { 'chart-name': 'opennebula', 'git-remote': bare };
      // A brand-new fork: no Pages branch yet. Not published, no error.
      const first = await detect(chart);
      expect(first.code, first.stdout + first.stderr).toBe(0);
      expect(first.outputs).toMatchObject({
        version: '7.4.0',
        'moves-chart': 'true',
        'chart-published': 'false',
      });
      const work = join(root, 'work');
      git(root, 'init', '--quiet', '-b', 'gh-pages', work);
      writeFileSync(
        join(work, 'index.yaml'),
        'apiVersion: v1\nentries:\n  opennebula:\n  - appVersion: 7.4.0\n    name: opennebula\n    version: 0.1.0\n',
      );
      git(work, 'add', 'index.yaml');
      git(work, 'commit', '--quiet', '-m', 'index');
      git(work, 'push', '--quiet', bare, 'gh-pages');
      const published = await detect(chart);
      expect(published.outputs).toMatchObject({ 'moves-chart': 'true', 'chart-published': 'true' });
      const older = await detect({ ...chart, version: '7.0.1' });
      expect(older.outputs).toMatchObject({
        version: '7.0.1',
        'moves-chart': 'false',
        'chart-published': 'false',
      });
      expect(older.summary).toContain(
        '7.0.1 is not the newest release of the newest followed series (7.4.0)',
      );
      const unread = await detect({ ...chart, 'git-remote': join(root, 'missing.git') });
      expectFailure(unread, /pages: cannot read/);
      const off = await detect();
      expect(off.outputs['chart-published']).toBe('');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});

describe('detect-opennebula-release: each registry with its own credentials (token services)', () => {
  // Docker Hub and GHCR stand-ins: each token service knows only its own account, and each holds the
  // image privately (GHCR's default for organisation and private repositories).
  let hub: TokenRegistry;
  let ghcr: TokenRegistry;
  let configDir: string;
  const PUBLISHED = ['7.0.1', '7.2.0', '7.4.0'];
  beforeAll(async () => {
    hub = await startTokenRegistry({
      style: 'docker-hub',
      users: { 'hub-user': 'hub-password' },
      private: { 'me/opennebula': ['hub-user'] },
    });
    ghcr = await startTokenRegistry({
      style: 'ghcr',
      users: { 'gh-user': 'ghs_token' },
      private: { 'me/opennebula': ['gh-user'], 'me/azure': ['acr-user'] },
      identityTokens: { 'acr-refresh-token': 'acr-user' },
    });
    for (const tag of PUBLISHED) {
      await hub.pushTag('me/opennebula', tag);
      await ghcr.pushTag('me/opennebula', tag);
      await ghcr.pushTag('me/azure', tag);
    }
  });
  afterAll(async () => {
    await hub?.close();
    await ghcr?.close();
  });
  beforeEach(() => {
    configDir = mkdtempSync(join(tmpdir(), 'docker-config-'));
    hub.tokenRequests.length = 0;
    ghcr.tokenRequests.length = 0;
  });
  afterEach(() => rmSync(configDir, { recursive: true, force: true }));

  const auth = (user: string, password: string) => Buffer.from(`${user}:${password}`).toString('base64');
  const writeConfig = (config: object) =>
    writeFileSync(join(configDir, 'config.json'), JSON.stringify(config, null, 2));
  const images = (...names: string[]) => names.join('\n');
  const detectWith = (inputs: Record<string, string>, env: Record<string, string> = {}) =>
    runAction(
      'detect-opennebula-release',
      { 'repository-url': `${upstream.url}/repo`, 'github-token': 'ghs_test', ...inputs },
      { GITHUB_API_URL: upstream.url, DOCKER_CONFIG: configDir, ...env },
    );
  const usersSeen = (registry: TokenRegistry) => [...new Set(registry.tokenRequests.map((r) => r.username))];

  it('reads both registries with the Docker config docker/login-action wrote, each its own login', async () => {
    writeConfig({
      auths: {
        [hub.host]: { auth: auth('hub-user', 'hub-password') },
        [ghcr.host]: { auth: auth('gh-user', 'ghs_token') },
      },
    });
    const run = await detectWith({
      image: images(`${hub.host}/me/opennebula`, `${ghcr.host}/me/opennebula`),
    });
    expect(run.code, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.published!)).toEqual(PUBLISHED);
    expect(run.outputs['is-new']).toBe('false');
    expect(usersSeen(hub)).toEqual(['hub-user']);
    expect(usersSeen(ghcr)).toEqual(['gh-user']);
    expect(run.stdout).toContain('::add-mask::ghs_token');
  });

  it("sends registry-username/password to the first image's registry only, the config's login to the second", async () => {
    writeConfig({ auths: { [ghcr.host]: { auth: auth('gh-user', 'ghs_token') } } });
    const run = await detectWith({
      image: images(`${hub.host}/me/opennebula`, `${ghcr.host}/me/opennebula`),
      'registry-username': 'hub-user',
      'registry-password': 'hub-password',
    });
    expect(run.code, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.published!)).toEqual(PUBLISHED);
    expect(usersSeen(hub)).toEqual(['hub-user']);
    expect(usersSeen(ghcr)).toEqual(['gh-user']);
  });

  it('sees a private package the configured login may read, which answers DENIED to anonymous reads', async () => {
    const anonymous = await detectWith({ image: `${ghcr.host}/me/opennebula` });
    expect(anonymous.code, anonymous.stdout).toBe(0);
    expect(anonymous.outputs['is-new']).toBe('true');
    expect(anonymous.summary).toMatch(/anonymous/);
    writeConfig({ auths: { [ghcr.host]: { auth: auth('gh-user', 'ghs_token') } } });
    const run = await detectWith({ image: `${ghcr.host}/me/opennebula` });
    expect(run.code, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.published!)).toEqual(PUBLISHED);
  });

  it('fails naming the registry when its token service refuses the credentials, never "not published"', async () => {
    writeConfig({
      auths: {
        [hub.host]: { auth: auth('hub-user', 'hub-password') },
        [ghcr.host]: { auth: auth('gh-user', 'expired') },
      },
    });
    const run = await detectWith({
      image: images(`${hub.host}/me/opennebula`, `${ghcr.host}/me/opennebula`),
    });
    expectFailure(
      run,
      new RegExp(`${ghcr.host}/me/opennebula: the token service .* refused the credentials`),
    );
    expect(run.errors.join('\n')).toMatch(/Docker config/);
    // The Docker Hub password never went to the other token service, whatever the inputs say.
    const inputs = await detectWith({
      image: images(`${ghcr.host}/me/opennebula`),
      'registry-username': 'hub-user',
      'registry-password': 'hub-password',
    });
    expectFailure(inputs, /refused the credentials .*registry-username and registry-password/);
  });

  it('reads a repository the login cannot see as not published yet, and says which permission to check', async () => {
    writeConfig({ auths: { [ghcr.host]: { auth: auth('gh-user', 'ghs_token') } } });
    const run = await detectWith({ image: `${ghcr.host}/me/never-pushed` });
    expect(run.code, run.stdout).toBe(0);
    expect(run.outputs['is-new']).toBe('true');
    expect(run.summary).toContain('packages: read');
    expect(run.summary).toContain(`${ghcr.host}/me/never-pushed`);
  });

  it('uses an identitytoken entry (Azure ACR) through the refresh-token exchange', async () => {
    writeConfig({
      auths: {
        [ghcr.host]: {
          auth: auth('00000000-0000-0000-0000-000000000000', ''),
          identitytoken: 'acr-refresh-token',
        },
      },
    });
    const run = await detectWith({ image: `${ghcr.host}/me/azure` });
    expect(run.code, run.stdout).toBe(0);
    expect(JSON.parse(run.outputs.published!)).toEqual(PUBLISHED);
    expect(ghcr.tokenRequests.some((r) => r.method === 'POST')).toBe(true);
  });

  it('fails naming the helper and the registry when a Docker credential helper fails', async () => {
    const bin = mkdtempSync(join(tmpdir(), 'helper-bin-'));
    try {
      const helper = join(bin, 'docker-credential-broken');
      writeFileSync(
        helper,
        '#!/bin/sh\necho "error getting credentials - the keychain is locked" >&2\nexit 1\n',
      );
      chmodSync(helper, 0o755);
      writeConfig({ auths: {}, credHelpers: { [ghcr.host]: 'broken' } });
      const run = await detectWith(
        { image: `${ghcr.host}/me/opennebula` },
        { PATH: `${bin}:${process.env.PATH ?? ''}` },
      );
      expectFailure(
        run,
        new RegExp(`docker-credential-broken.*${ghcr.host}|${ghcr.host}.*docker-credential-broken`),
      );
      expect(run.errors.join('\n'), run.stdout).toContain('keychain is locked');
    } finally {
      rmSync(bin, { recursive: true, force: true });
    }
  });
});
