// The bundled build-scan-push action run as the runner runs it, with real tools: buildah builds the tiny
// COPY-only contexts in test/fixtures/build-scan-push, a real trivy (served from a local download site with
// its checksums file) scans them with a vulnerability database the tests generate and serve from a real
// registry as the mirrors do, and the images go to a real registry (Debian's docker-registry).
import { createHash } from 'node:crypto';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, parseImageReference } from '../../actions/shared/src/registry.js';
import type { ActionRun } from '../support/action-runner.js';
import { startStandIn, type StandIn } from '../support/http-stand-in.js';
import { startRegistry, type LocalRegistry } from '../support/oci-registry.js';
import { startThrottledProxy } from '../support/throttled-proxy.js';
import { REPO_ROOT } from '../support/tools.js';
import { runBuildScanPush } from '../support/build-scan-push-run.js';
import { publishTrivyDb, serveTrivyDownloads } from '../support/trivy.js';
import { validateSarifUpload } from '../support/code-scanning.js';
import { fakeDocker } from '../support/docker-cli.js';

const FIXTURES = join(REPO_ROOT, 'test/fixtures/build-scan-push');
let site: StandIn;
let registry: LocalRegistry;
let dbRef: string;
let downloads: string;
let work: string;
let trivyCache: string;

beforeAll(async () => {
  site = await startStandIn();
  downloads = serveTrivyDownloads(site);
  registry = await startRegistry();
  dbRef = await publishTrivyDb(registry);
  work = mkdtempSync(join(tmpdir(), 'build-scan-push-test-'));
  trivyCache = join(work, 'trivy-cache');
}, 120_000);
afterAll(async () => {
  await site?.close();
  await registry?.close();
  rmSync(work, { recursive: true, force: true });
});

const buildScanPush = (
  context: string,
  image: string,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {},
) => runBuildScanPush({ work, trivyDownloadUrl: downloads, trivyDb: dbRef }, context, image, inputs, env);

const ok = (run: ActionRun) => expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);

describe('build-scan-push (bundled, real buildah, trivy and registry)', () => {
  it('builds once, scans, and pushes exactly the scanned digest under every tag', async () => {
    const run = await buildScanPush('clean', `${registry.host}/one/clean`);
    ok(run);
    expect(run.outputs.gate).toBe('passed');
    const digest = run.outputs.digest!;
    expect(digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(run.outputs['image-refs']).toBe(`${registry.host}/one/clean@${digest}`);
    expect(run.outputs['tags-pushed']!.split('\n').sort()).toEqual(
      ['1.0', '1.0.0', 'latest'].map((tag) => `${registry.host}/one/clean:${tag}`),
    );
    const client = new RegistryClient(parseImageReference(`${registry.host}/one/clean`));
    for (const tag of ['1.0.0', '1.0', 'latest']) expect(await client.manifestDigest(tag)).toBe(digest);
    expect((run.stdout.match(/::group::Build /g) ?? []).length).toBe(1);
    // Reports: SARIF for code scanning and a CycloneDX SBOM of the scanned image.
    const sarif = JSON.parse(readFileSync(run.sarif, 'utf8')) as { version: string; runs: unknown[] };
    expect([sarif.version, sarif.runs.length]).toEqual(['2.1.0', 1]);
    const sbom = JSON.parse(readFileSync(run.sbom, 'utf8')) as {
      bomFormat: string;
      components?: Array<{ name: string }>;
    };
    expect(sbom.bomFormat).toBe('CycloneDX');
    expect(JSON.stringify(sbom)).toContain('libssl3');
    // OCI labels on the pushed image's config.
    const manifest = JSON.parse((await client.getManifest(digest))!.body.toString()) as {
      config: { digest: string };
    };
    const config = (await (
      await fetch(`${registry.url}/v2/one/clean/blobs/${manifest.config.digest}`)
    ).json()) as {
      config: { Labels: Record<string, string> };
    };
    expect(config.config.Labels).toMatchObject({
      'org.opencontainers.image.version': '1.0.0',
      'org.opencontainers.image.revision': '0123456789abcdef0123456789abcdef01234567',
      'org.opencontainers.image.source': 'https://github.com/example/opennebula-kubernetes',
      'org.opencontainers.image.created': '2026-01-01T00:00:00.000Z',
    });
    // The re-run builds the same bytes (SOURCE_DATE_EPOCH) and finds every tag in place: a no-op.
    const again = await buildScanPush('clean', `${registry.host}/one/clean`);
    ok(again);
    expect(again.outputs.digest).toBe(digest);
    expect(again.outputs['tags-pushed']).toBe('');
    expect(again.summary).toContain('every tag was already there (no-op)');
  });

  it('fails the gate on a fixable HIGH finding and pushes nothing', async () => {
    const run = await buildScanPush('vulnerable', `${registry.host}/one/vulnerable`);
    expect(run.code).not.toBe(0);
    expect(run.outputs.gate).toBe('failed');
    // digest is what was built, scanned and pushed: nothing.
    expect(run.outputs.digest).toBe('');
    expect(run.errors.join('\n')).toMatch(
      /the Trivy gate failed: 1 finding\(s\) at CRITICAL\/HIGH with a fix available \(e\.g\. CVE-2099-0001 in libssl3 3\.0\.11-1~deb12u1, linux\/amd64 \(debian\)\); nothing was pushed$/,
    );
    expect(await registry.tags('one/vulnerable')).toEqual([]);
    const counts = JSON.parse(run.outputs.vulnerabilities!) as Record<
      string,
      { fixable: number; unfixed: number }
    >;
    expect(counts.HIGH).toEqual({ fixable: 1, unfixed: 0 });
    expect(run.summary).toContain('Gate: failed');
    // The SARIF file still has the finding (code scanning sees why).
    expect(readFileSync(run.sarif, 'utf8')).toContain('CVE-2099-0001');
  });

  it('honours the ignore file', async () => {
    const run = await buildScanPush('vulnerable', `${registry.host}/one/accepted`, {
      trivyignore: join(FIXTURES, 'vulnerable/.trivyignore-accept'),
      push: 'false',
    });
    ok(run);
    expect(run.outputs.gate).toBe('passed');
    expect(readFileSync(run.sarif, 'utf8')).not.toContain('CVE-2099-0001');
    expect(await registry.tags('one/accepted')).toEqual([]);
  });

  it('lets an unfixed CRITICAL pass with ignore-unfixed and fail without; SARIF keeps every severity', async () => {
    const passing = await buildScanPush('unfixed', `${registry.host}/one/unfixed`, { push: 'false' });
    ok(passing);
    const counts = JSON.parse(passing.outputs.vulnerabilities!) as Record<
      string,
      { fixable: number; unfixed: number }
    >;
    expect(counts.CRITICAL).toEqual({ fixable: 0, unfixed: 1 });
    expect(counts.LOW).toEqual({ fixable: 1, unfixed: 0 });
    const sarif = readFileSync(passing.sarif, 'utf8');
    expect(sarif).toContain('CVE-2099-0002');
    expect(sarif).toContain('CVE-2099-0003');
    const failing = await buildScanPush('unfixed', `${registry.host}/one/unfixed`, {
      'ignore-unfixed': 'false',
      push: 'false',
    });
    expect(failing.code).not.toBe(0);
    expect(failing.errors.join('\n')).toMatch(
      /1 finding\(s\) at CRITICAL\/HIGH \(e\.g\. CVE-2099-0002 in zlib1g/,
    );
  });

  it('never moves an existing version tag to other bytes unless overwrite is set', async () => {
    const first = await buildScanPush('clean', `${registry.host}/one/conflict`);
    ok(first);
    const other = await buildScanPush('unfixed', `${registry.host}/one/conflict`);
    expect(other.code).not.toBe(0);
    expect(other.errors.join('\n')).toContain(
      `${registry.host}/one/conflict:1.0.0 already points to ${first.outputs.digest}; this build is ${other.outputs.digest}`,
    );
    const client = new RegistryClient(parseImageReference(`${registry.host}/one/conflict`));
    expect(await client.manifestDigest('latest')).toBe(first.outputs.digest);
    const overwritten = await buildScanPush('unfixed', `${registry.host}/one/conflict`, {
      overwrite: 'true',
    });
    ok(overwritten);
    expect(await client.manifestDigest('1.0.0')).toBe(overwritten.outputs.digest);
  });

  it('builds and scans two platforms, and pushes one index', async () => {
    const run = await buildScanPush('clean', `${registry.host}/one/multi`, {
      platforms: 'linux/amd64,linux/arm64',
    });
    ok(run);
    expect((run.stdout.match(/::group::Scan linux\/(amd64|arm64)/g) ?? []).sort()).toEqual([
      '::group::Scan linux/amd64',
      '::group::Scan linux/arm64',
    ]);
    const client = new RegistryClient(parseImageReference(`${registry.host}/one/multi`));
    const index = await client.getManifest('1.0.0');
    expect(index?.digest).toBe(run.outputs.digest);
    const platforms = (
      JSON.parse(index!.body.toString()) as { manifests: Array<{ platform: { architecture: string } }> }
    ).manifests.map((m) => m.platform.architecture);
    expect(platforms).toEqual(['amd64', 'arm64']);
  });

  it('writes SARIF that code scanning takes for two platforms, with stable locations, and every SBOM', async () => {
    const image = `${registry.host}/one/multi-sarif`;
    const run = await buildScanPush('vulnerable', image, { platforms: 'linux/amd64,linux/arm64' });
    expect(run.outputs.gate).toBe('failed');
    // What the publish workflow's upload-sarif step does with it (its category input is the fallback).
    const upload = validateSarifUpload(readFileSync(run.sarif, 'utf8'), {
      category: 'trivy-1.0',
      file: run.sarif,
    });
    expect(upload.categories).toEqual(['trivy/linux-amd64/', 'trivy/linux-arm64/']);
    expect(upload.results).toBe(2);
    // Every location names the image, never the temporary directory Trivy scanned.
    const uris = upload.sarif.runs.flatMap((r) =>
      r.results.flatMap((result) =>
        (result.locations as Array<{ physicalLocation: { artifactLocation: { uri: string } } }>).map(
          (location) => location.physicalLocation.artifactLocation.uri,
        ),
      ),
    );
    // (Trivy names an image's OS packages after its repository path.)
    expect(new Set(uris)).toEqual(new Set(['one/multi-sarif']));
    const sarifText = readFileSync(run.sarif, 'utf8');
    expect(sarifText).not.toMatch(/build-scan-push-|scan-linux-/);
    const sboms = JSON.parse(run.outputs.sboms!) as Record<string, string>;
    expect(Object.keys(sboms)).toEqual(['linux/amd64', 'linux/arm64']);
    expect(sboms['linux/amd64']).toBe(run.sbom);
    for (const path of Object.values(sboms)) {
      const sbom = readFileSync(path, 'utf8');
      expect(JSON.parse(sbom)).toMatchObject({
        bomFormat: 'CycloneDX',
        metadata: { component: { name: image } },
      });
      expect(sbom).not.toMatch(/build-scan-push-|scan-linux-/);
    }
    // The database the scan used, for the cache key.
    expect(run.outputs['trivy-db-digest']).toBe(
      `sha256:${createHash('sha256')
        .update(readFileSync(join(trivyCache, 'db', 'trivy.db')))
        .digest('hex')}`,
    );
    expect(run.stdout).toContain('--timeout 15m');
  });

  it("is not swayed by the job's TRIVY_* variables: gate, SARIF and SBOM as without them", async () => {
    const plain = await buildScanPush('vulnerable', `${registry.host}/one/env`, { push: 'false' });
    const env = { TRIVY_SEVERITY: 'CRITICAL', TRIVY_EXIT_CODE: '1', TRIVY_IGNORE_UNFIXED: 'true' };
    const swayed = await buildScanPush('vulnerable', `${registry.host}/one/env`, { push: 'false' }, env);
    expect([swayed.outputs.gate, swayed.outputs.vulnerabilities]).toEqual([
      plain.outputs.gate,
      plain.outputs.vulnerabilities,
    ]);
    expect(swayed.errors).toEqual(plain.errors);
    expect(readFileSync(swayed.sarif, 'utf8')).toBe(readFileSync(plain.sarif, 'utf8'));
    // The packages, without Trivy's random bom-ref of the OS component.
    const components = (path: string) =>
      (
        JSON.parse(readFileSync(path, 'utf8')) as { components: Array<Record<string, unknown>> }
      ).components.map(({ 'bom-ref': ref, ...component }): Record<string, unknown> => ({
        ...component,
        ref: /^[0-9a-f-]{36}$/.test(String(ref)) || ref,
      }));
    expect(components(plain.sbom).some((c) => c.name === 'libssl3')).toBe(true);
    expect(components(swayed.sbom)).toEqual(components(plain.sbom));
    // An unfixed CRITICAL passes the gate with ignore-unfixed; TRIVY_EXIT_CODE does not fail the step.
    ok(await buildScanPush('unfixed', `${registry.host}/one/env`, { push: 'false' }, env));
  });

  it('with push false, builds and scans only', async () => {
    const run = await buildScanPush('clean', `${registry.host}/one/dry`, { push: 'false' });
    ok(run);
    expect(run.outputs['tags-pushed']).toBe('');
    expect(await registry.tags('one/dry')).toEqual([]);
  });

  it('pushes with the Docker config file credentials and never prints the password', async () => {
    const locked = await startRegistry({ auth: true });
    const config = mkdtempSync(join(work, 'docker-config-'));
    try {
      const { username, password } = locked.credentials!;
      writeFileSync(
        join(config, 'config.json'),
        JSON.stringify({
          auths: { [locked.host]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } },
        }),
      );
      const run = await buildScanPush('clean', `${locked.host}/one/private`, {}, { DOCKER_CONFIG: config });
      ok(run);
      expect((await locked.tags('one/private')).sort()).toEqual(['1.0', '1.0.0', 'latest']);
      expect(run.stdout).toContain(`::add-mask::${password}`);
      expect(run.stdout.split('\n').filter((line) => line.includes(password))).toHaveLength(1);
      const anonymous = await buildScanPush('clean', `${locked.host}/one/anonymous`);
      expect(anonymous.code).not.toBe(0);
      expect(anonymous.errors.join('\n')).toMatch(
        /requires authentication; set log in to 127\.0\.0\.1:\d+ \(docker\/login-action\)/,
      );
    } finally {
      await locked.close();
    }
  });

  it('retries a registry that answers 503 once', async () => {
    let failed = 0;
    const proxy: Server = createServer((req, res) => {
      if (req.method === 'PUT' && req.url?.includes('/manifests/') && failed === 0) {
        failed += 1;
        req.resume();
        res.writeHead(503, { 'retry-after': '0' }).end();
        return;
      }
      const upstream = httpRequest(
        `${registry.url}${req.url}`,
        { method: req.method, headers: { ...req.headers, host: new URL(registry.url).host } },
        (answer) => {
          res.writeHead(answer.statusCode ?? 502, answer.headers);
          answer.pipe(res);
        },
      );
      req.pipe(upstream);
    });
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
    try {
      const host = `127.0.0.1:${(proxy.address() as AddressInfo).port}`;
      const run = await buildScanPush('clean', `${host}/one/flaky`);
      ok(run);
      expect(failed).toBe(1);
      expect((await registry.tags('one/flaky')).sort()).toEqual(['1.0', '1.0.0', 'latest']);
    } finally {
      await new Promise((resolve) => proxy.close(resolve));
    }
  });

  it('pushes to several registries with one outcome: tags move only once every registry has the bytes', async () => {
    const second = await startRegistry();
    const denied = { status: 403, body: '{"errors":[{"code":"DENIED","message":"denied"}]}' };
    const proxy = await startThrottledProxy(second.url, {
      refuse: (req) => (req.method === 'PUT' && req.url?.includes('/manifests/') ? denied : undefined),
    });
    const images = `${registry.host}/one/several\n${proxy.host}/one/several`;
    const tagsOn = async (client: RegistryClient) =>
      Promise.all(['1.0.0', '1.0', 'latest'].map((tag) => client.manifestDigest(tag)));
    const first = new RegistryClient(parseImageReference(`${registry.host}/one/several`));
    const other = new RegistryClient(parseImageReference(`${proxy.host}/one/several`));
    try {
      // The second registry refuses every manifest: the first has the bytes by digest, and no tag.
      const refused = await buildScanPush('clean', images);
      expect(refused.code).not.toBe(0);
      expect(refused.errors.join('\n')).toContain(`${proxy.host}/one/several`);
      expect(await first.manifestDigest(refused.outputs.digest!)).toBe(refused.outputs.digest);
      expect(await tagsOn(first)).toEqual([undefined, undefined, undefined]);
      // A rebuild on another day (other bytes); the second registry now takes manifests by digest but
      // refuses tags: the first registry's tags moved before the second refused.
      proxy.set({
        refuse: (req) =>
          req.method === 'PUT' && /\/manifests\/(?!sha256:)/.test(req.url ?? '') ? denied : undefined,
      });
      const halfway = await buildScanPush('clean', images, {}, { SOURCE_DATE_EPOCH: '1767312000' });
      expect(halfway.code).not.toBe(0);
      const earlier = halfway.outputs.digest!;
      expect(earlier).not.toBe(refused.outputs.digest);
      expect(await tagsOn(first)).toEqual([earlier, earlier, earlier]);
      expect(await other.manifestDigest(earlier)).toBe(earlier);
      // The re-run, other bytes again and no overwrite, completes the earlier push: both on one digest.
      proxy.set({});
      const rerun = await buildScanPush('clean', images, {}, { SOURCE_DATE_EPOCH: '1767398400' });
      ok(rerun);
      expect(rerun.outputs.digest).toBe(earlier);
      expect(await tagsOn(first)).toEqual([earlier, earlier, earlier]);
      expect(await tagsOn(other)).toEqual([earlier, earlier, earlier]);
      expect(rerun.outputs['image-refs']!.split('\n')).toEqual([
        `${registry.host}/one/several@${earlier}`,
        `${proxy.host}/one/several@${earlier}`,
      ]);
    } finally {
      await proxy.close();
      await second.close();
    }
  });

  it('falls back to the next database mirror when the first answers 429', async () => {
    for (const path of ['/v2/', '/v2/ratelimited/trivy-db/manifests/2']) {
      site.route(path, {
        status: 429,
        headers: { 'retry-after': '0' },
        body: '{"errors":[{"code":"TOOMANYREQUESTS"}]}',
      });
    }
    const run = await buildScanPush(
      'clean',
      `${registry.host}/one/mirror`,
      {
        'trivy-db-repositories': `${new URL(site.url).host}/ratelimited/trivy-db:2\n${dbRef}`,
        push: 'false',
      },
      { TRIVY_CACHE_DIR: join(work, 'fresh-trivy-cache') },
    );
    ok(run);
    expect(site.requests.some((r) => r.url.startsWith('/v2/'))).toBe(true);
  });
});

describe('build-scan-push with builder docker on a stock runner (Docker without the containerd store)', () => {
  it('builds on a docker-container builder it creates, not on the docker driver that refuses OCI', async () => {
    const docker = fakeDocker(join(work, 'docker-stock'));
    const run = await buildScanPush(
      'clean',
      `${registry.host}/one/docker`,
      { builder: 'docker', push: 'false' },
      { PATH: `${docker.bin}:${process.env.PATH}` },
    );
    ok(run);
    expect(docker.calls()).toContainEqual(
      expect.stringMatching(/^buildx create --name build-scan-push --driver docker-container/),
    );
    expect(docker.calls()).toContainEqual(expect.stringMatching(/^buildx build --builder build-scan-push /));
    expect(run.outputs.digest).toMatch(/^sha256:/);
  });
  it('fails before building, naming docker/setup-buildx-action, when no such builder can be created', async () => {
    const docker = fakeDocker(join(work, 'docker-offline'), { createFails: true });
    const run = await buildScanPush(
      'clean',
      `${registry.host}/one/docker-offline`,
      { builder: 'docker' },
      { PATH: `${docker.bin}:${process.env.PATH}` },
    );
    expect(run.code).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(
      /^builder: buildx builder "default" uses the docker driver, .*add docker\/setup-buildx-action before this step/s,
    );
    expect(run.stdout).not.toContain('::group::Build');
    expect(docker.calls()).not.toContainEqual(expect.stringMatching(/^buildx build/));
  });
});

describe('build-scan-push: refusals before anything is built or pushed', () => {
  it('refuses a Trivy download whose checksum does not match', async () => {
    const tampered = await startStandIn();
    try {
      const run = await buildScanPush(
        'clean',
        `${registry.host}/one/tampered`,
        { 'trivy-download-url': serveTrivyDownloads(tampered, { tamper: true }) },
        { RUNNER_TOOL_CACHE: join(work, 'empty-tool-cache') },
      );
      expect(run.code).not.toBe(0);
      expect(run.errors.join('\n')).toMatch(
        /trivy_.*_Linux-64bit\.tar\.gz has SHA-256 [0-9a-f]{64}, but .* lists [0-9a-f]{64}; refusing to run it/,
      );
      expect(await registry.tags('one/tampered')).toEqual([]);
      expect(existsSync(join(work, 'empty-tool-cache', 'trivy'))).toBe(false);
    } finally {
      await tampered.close();
    }
  });

  it.each([
    [{ 'trivy-version': 'v0.69.5' }, /^trivy-version: 0\.69\.5 is refused/],
    [{ 'trivy-version': 'v0.50.0' }, /^trivy-version: 0\.50\.0 is older than 0\.56\.0, the oldest/],
    [{ 'trivy-timeout': 'soon' }, /^trivy-timeout: "soon" is not a duration/],
    [{ severity: 'HIGH,SEVERE' }, /^severity: "SEVERE" is not one of/],
    [{ tags: '' }, /^tags: must not be empty|^tags: at least one tag/],
    [{ images: 'Ghcr.io/Owner/One' }, /^images: "Ghcr\.io\/Owner\/One" must be lowercase/],
    [{ images: 'ghcr.io/owner/one:tag' }, /^images: .* must be an image name without tag/],
    [{ builder: 'kaniko' }, /^builder: "kaniko" is not one of docker, podman, buildah/],
    [{ platforms: 'amd64' }, /^platforms: "amd64" is not os\/arch/],
  ])('rejects %o naming the input', async (inputs, message) => {
    const requests = site.requests.length;
    const run = await buildScanPush(
      'clean',
      `${registry.host}/one/invalid`,
      inputs as Record<string, string>,
    );
    expect(run.code).not.toBe(0);
    expect(run.errors.join('\n')).toMatch(message);
    expect(run.stdout).not.toContain('::group::Build');
    expect(site.requests.length).toBe(requests);
  });
});
