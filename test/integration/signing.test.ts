// build-scan-push's signatures and attestations, with the bundled action, real buildah, trivy and cosign and a
// real registry (Debian's docker-registry 2.8). That registry has no Referrers API, so cosign stores each
// signature and attestation as an OCI artifact whose subject is the image, listed under the referrers tag
// schema (tag sha256-<hex> of the image digest, an OCI index cosign keeps up to date): these tests run that
// path, and verify as a user would with `cosign verify` / `cosign verify-attestation`, offline (a key pair
// made for the test, no transparency log: --use-signing-config=false --tlog-upload=false when signing,
// --insecure-ignore-tlog=true when verifying; --allow-http-registry for the plain-HTTP loopback registry).
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, parseImageReference } from '../../actions/shared/src/registry.js';
import type { ActionRun } from '../support/action-runner.js';
import {
  COSIGN_TEST_VERSION,
  generateKeyPair,
  predicateOf,
  removeKeyPair,
  serveCosignDownloads,
  verifyAttestation,
  verifySignature,
  type KeyPair,
} from '../support/cosign.js';
import { startStandIn, type StandIn } from '../support/http-stand-in.js';
import { GITHUB_OIDC_ISSUER, serveIdTokens } from '../support/oidc-token.js';
import { startRegistry, type LocalRegistry } from '../support/oci-registry.js';
import { runBuildScanPush } from '../support/build-scan-push-run.js';
import { publishTrivyDb, serveTrivyDownloads } from '../support/trivy.js';

let site: StandIn;
let registry: LocalRegistry;
let keys: KeyPair;
let dbRef: string;
let work: string;
let downloads: { trivy: string; cosign: string };

beforeAll(async () => {
  site = await startStandIn();
  downloads = { trivy: serveTrivyDownloads(site), cosign: serveCosignDownloads(site) };
  registry = await startRegistry();
  dbRef = await publishTrivyDb(registry);
  keys = await generateKeyPair();
  work = mkdtempSync(join(tmpdir(), 'signing-test-'));
}, 120_000);
afterAll(async () => {
  await site?.close();
  await registry?.close();
  removeKeyPair(keys);
  rmSync(work, { recursive: true, force: true });
});

/** The inputs of a keyed, offline signature (no transparency log). */
const keyed = () => ({
  sign: 'key',
  'cosign-key': keys.privateKey,
  'cosign-password': keys.password,
  'transparency-log': 'false',
});

/** A run with the cosign download site and a GitHub runner's workflow variables (for the provenance). */
const buildScanPush = (
  context: string,
  image: string,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {},
) =>
  runBuildScanPush(
    { work, trivyDownloadUrl: downloads.trivy, trivyDb: dbRef },
    context,
    image,
    { 'cosign-version': COSIGN_TEST_VERSION, 'cosign-download-url': downloads.cosign, ...inputs },
    {
      GITHUB_SERVER_URL: 'https://github.com',
      GITHUB_REF: 'refs/heads/main',
      GITHUB_WORKFLOW_REF: 'example/opennebula-kubernetes/.github/workflows/release.yml@refs/heads/main',
      GITHUB_RUN_ID: '42',
      ...env,
    },
  );

const ok = (run: ActionRun) => expect(run.code, `${run.stdout}\n${run.stderr}`).toBe(0);

/** The predicate types of the referrers listed under the tag schema for `digest` (cosign's fallback index). */
async function referrersTag(repository: string, digest: string) {
  const client = new RegistryClient(parseImageReference(`${registry.host}/${repository}`));
  const index = await client.getManifest(digest.replace(':', '-'));
  if (!index) return [];
  const body = JSON.parse(index.body.toString()) as { manifests: Array<{ digest: string }> };
  const types = [];
  for (const descriptor of body.manifests) {
    const manifest = await client.getManifest(descriptor.digest);
    const annotations = (JSON.parse(manifest!.body.toString()) as { annotations: Record<string, string> })
      .annotations;
    types.push(annotations['dev.sigstore.bundle.predicateType']);
  }
  return types;
}

describe('build-scan-push signs and attests the pushed digest (cosign, referrers tag schema)', () => {
  it('signs, attests SBOM, vulnerabilities and provenance, each verifiable; a re-run adds nothing', async () => {
    const image = `${registry.host}/sign/clean`;
    const run = await buildScanPush('clean', image, keyed());
    ok(run);
    const digest = run.outputs.digest!;
    const reference = `${image}@${digest}`;
    // The registry has no Referrers API: cosign fell back to the tag schema.
    expect(await fetch(`${registry.url}/v2/sign/clean/referrers/${digest}`).then((r) => r.status)).toBe(404);
    expect(await registry.tags('sign/clean')).toContain(digest.replace(':', '-'));
    expect((await referrersTag('sign/clean', digest)).sort()).toEqual([
      'https://cosign.sigstore.dev/attestation/vuln/v1',
      'https://cyclonedx.org/bom',
      'https://sigstore.dev/cosign/sign/v1',
      'https://slsa.dev/provenance/v1',
    ]);
    expect(run.outputs.signatures).toMatch(new RegExp(`^${image}@sha256:[0-9a-f]{64}$`));
    expect(run.outputs.attestations!.split('\n').map((line) => line.split(' ')[0])).toEqual([
      'cyclonedx',
      'vuln',
      'slsaprovenance1',
    ]);
    const verified = await verifySignature(reference, keys.publicKey);
    expect(verified.code, verified.stderr).toBe(0);
    expect(verified.stdout).toContain(digest);
    const sbom = await verifyAttestation(reference, keys.publicKey, 'cyclonedx');
    expect(sbom.code, sbom.stderr).toBe(0);
    expect(JSON.stringify(predicateOf(sbom.stdout))).toContain('libssl3');
    const vuln = await verifyAttestation(reference, keys.publicKey, 'vuln');
    expect(vuln.code, vuln.stderr).toBe(0);
    expect(predicateOf(vuln.stdout)).toMatchObject({ scanner: { uri: expect.stringContaining('trivy') } });
    const slsa = await verifyAttestation(reference, keys.publicKey, 'slsaprovenance1');
    expect(slsa.code, slsa.stderr).toBe(0);
    const provenance = predicateOf(slsa.stdout);
    expect(provenance).toMatchObject({
      buildDefinition: {
        externalParameters: {
          workflow: {
            repository: 'https://github.com/example/opennebula-kubernetes',
            path: '.github/workflows/release.yml',
          },
          buildArgs: { ONE_VERSION: '1.0.0' },
        },
        resolvedDependencies: [{ digest: { gitCommit: '0123456789abcdef0123456789abcdef01234567' } }],
      },
      runDetails: {
        builder: {
          id: 'https://github.com/example/opennebula-kubernetes/.github/workflows/release.yml@refs/heads/main',
        },
      },
      __subject: [{ digest: { sha256: digest.replace('sha256:', '') } }],
    });
    // The summary prints the verify commands; the key and its password never reach the log.
    expect(run.summary).toContain(`cosign verify --key cosign.pub ${reference}`);
    for (const secret of [keys.password, keys.privateKey.split('\n')[1]!]) {
      expect(
        `${run.stdout}${run.stderr}`
          .split('\n')
          .filter((l) => l.includes(secret) && !l.startsWith('::add-mask::')),
      ).toEqual([]);
    }
    // A re-run signs what is there: nothing is added twice.
    const again = await buildScanPush('clean', image, keyed());
    ok(again);
    expect(again.outputs.digest).toBe(digest);
    expect(again.outputs.signatures).toBe(run.outputs.signatures);
    expect((await referrersTag('sign/clean', digest)).length).toBe(4);
    expect(again.summary).toContain('Already there (not added again)');
  });

  it('signs a two-platform index and each platform manifest; each verifies, tampered bytes do not', async () => {
    const image = `${registry.host}/sign/multi`;
    const run = await buildScanPush('clean', image, { ...keyed(), platforms: 'linux/amd64,linux/arm64' });
    ok(run);
    const index = run.outputs.digest!;
    const client = new RegistryClient(parseImageReference(image));
    const body = JSON.parse((await client.getManifest(index))!.body.toString()) as {
      manifests: Array<{ digest: string; platform: { architecture: string } }>;
    };
    const platforms = body.manifests.map((m) => [m.platform.architecture, m.digest] as const);
    expect(platforms.map(([arch]) => arch)).toEqual(['amd64', 'arm64']);
    // Three signatures: the index and each platform manifest, each a referrer of what it signs.
    expect(run.outputs.signatures!.split('\n')).toHaveLength(3);
    expect((await referrersTag('sign/multi', index)).sort()).toEqual([
      'https://sigstore.dev/cosign/sign/v1',
      'https://slsa.dev/provenance/v1',
    ]);
    for (const [, digest] of platforms) {
      expect((await referrersTag('sign/multi', digest)).sort()).toEqual([
        'https://cosign.sigstore.dev/attestation/vuln/v1',
        'https://cyclonedx.org/bom',
        'https://sigstore.dev/cosign/sign/v1',
      ]);
    }
    // A user verifies the index (what the tag names) and the manifest their node pulls.
    for (const digest of [index, ...platforms.map(([, d]) => d)]) {
      const verified = await verifySignature(`${image}@${digest}`, keys.publicKey);
      expect(verified.code, `${digest}: ${verified.stderr}`).toBe(0);
    }
    expect((await verifySignature(`${image}:1.0.0`, keys.publicKey)).code).toBe(0);
    for (const [arch, digest] of platforms) {
      const sbom = await verifyAttestation(`${image}@${digest}`, keys.publicKey, 'cyclonedx');
      expect(sbom.code, `${arch}: ${sbom.stderr}`).toBe(0);
    }
    const slsa = await verifyAttestation(`${image}@${index}`, keys.publicKey, 'slsaprovenance1');
    expect(slsa.code, slsa.stderr).toBe(0);
    // Tampered: the arm64 manifest with a byte more (same layers, another digest), and an index naming it
    // under the same tag. Neither was signed, so neither verifies.
    const [arm64] = body.manifests.filter((m) => m.platform.architecture === 'arm64');
    const original = await client.getManifest(arm64!.digest);
    const altered = JSON.parse(original!.body.toString()) as Record<string, unknown>;
    altered.annotations = { ...(altered.annotations as object), tampered: 'true' };
    const alteredBody = Buffer.from(JSON.stringify(altered));
    const alteredDigest = await client.putManifest(
      `sha256:${createHash('sha256').update(alteredBody).digest('hex')}`,
      original!.mediaType,
      alteredBody,
    );
    expect(alteredDigest).not.toBe(arm64!.digest);
    const badManifest = await verifySignature(`${image}@${alteredDigest}`, keys.publicKey);
    expect(badManifest.code).not.toBe(0);
    expect(badManifest.stderr).toMatch(/no signatures found|no matching signatures/i);
    const tamperedIndex = Buffer.from(
      JSON.stringify({
        ...body,
        manifests: body.manifests.map((m) =>
          m.digest === arm64!.digest ? { ...m, digest: alteredDigest, size: alteredBody.length } : m,
        ),
      }),
    );
    const indexMediaType = (await client.getManifest(index))!.mediaType;
    await client.putManifest('1.0.0', indexMediaType, tamperedIndex);
    const badIndex = await verifySignature(`${image}:1.0.0`, keys.publicKey);
    expect(badIndex.code).not.toBe(0);
    expect(badIndex.stderr).toMatch(/no signatures found|no matching signatures/i);
    // What was signed still verifies by digest.
    expect((await verifySignature(`${image}@${index}`, keys.publicKey)).code).toBe(0);
  });

  it('fails verification of a tag moved to other bytes', async () => {
    const image = `${registry.host}/sign/moved`;
    ok(await buildScanPush('clean', image, keyed()));
    expect((await verifySignature(`${image}:1.0.0`, keys.publicKey)).code).toBe(0);
    await registry.pushTag('sign/moved', '1.0.0'); // other bytes under the same tag
    const tampered = await verifySignature(`${image}:1.0.0`, keys.publicKey);
    expect(tampered.code).not.toBe(0);
    expect(tampered.stderr).toMatch(/no signatures found|no matching signatures/i);
  });

  it('signs nothing when the gate fails', async () => {
    const run = await buildScanPush('vulnerable', `${registry.host}/sign/vulnerable`, keyed());
    expect(run.code).not.toBe(0);
    expect(run.outputs.signatures).toBe('');
    expect(await registry.tags('sign/vulnerable')).toEqual([]);
    expect(run.stdout).not.toContain('cosign sign');
  });

  it("signs nothing without a key or an OIDC token (a fork's pull request), and the summary says so", async () => {
    const run = await buildScanPush('clean', `${registry.host}/sign/fork`);
    ok(run);
    expect(run.outputs.signatures).toBe('');
    expect(run.summary).toContain('no OIDC token');
    expect(await referrersTag('sign/fork', run.outputs.digest!)).toEqual([]);
  });

  it('fails the job after the push when signing fails, naming how to sign the same digest again', async () => {
    const image = `${registry.host}/sign/failing`;
    const run = await buildScanPush('clean', image, { ...keyed(), 'cosign-password': 'wrong password' });
    expect(run.code).not.toBe(0);
    const digest = run.outputs.digest!;
    expect((await registry.tags('sign/failing')).sort()).toEqual(['1.0', '1.0.0', 'latest']);
    const message = run.errors.join('\n');
    expect(message).toContain(`signing ${image}@${digest} failed after the push`);
    expect(message).toContain(`cosign sign --yes --key env://COSIGN_PRIVATE_KEY ${image}@${digest}`);
    expect(run.summary).toContain('Signing failed');
    // The re-run (sign-only, as the workflow's re-run does) builds nothing and signs that digest, once.
    const again = await buildScanPush('clean', image, { ...keyed(), 'sign-only': 'true' });
    ok(again);
    expect(again.stdout).not.toContain('::group::Build');
    expect(again.outputs.digest).toBe(digest);
    expect(again.outputs.signatures).toMatch(new RegExp(`^${image}@sha256:[0-9a-f]{64}$`));
    expect((await verifySignature(`${image}@${digest}`, keys.publicKey)).code).toBe(0);
    const third = await buildScanPush('clean', image, { ...keyed(), 'sign-only': 'true' });
    ok(third);
    expect(third.outputs.signatures).toBe(again.outputs.signatures);
    expect(await referrersTag('sign/failing', digest)).toEqual(['https://sigstore.dev/cosign/sign/v1']);
  });

  it('refuses a cosign download whose checksum does not match, and known-bad versions', async () => {
    const tampered = await startStandIn();
    try {
      const run = await buildScanPush(
        'clean',
        `${registry.host}/sign/tampered`,
        {
          ...keyed(),
          'cosign-download-url': serveCosignDownloads(tampered, { tamper: true }),
        },
        { RUNNER_TOOL_CACHE: join(work, 'empty-tool-cache') },
      );
      expect(run.code).not.toBe(0);
      expect(run.errors.join('\n')).toMatch(
        /cosign-linux-amd64 has SHA-256 [0-9a-f]{64}, but .* lists [0-9a-f]{64}; refusing to run it/,
      );
    } finally {
      await tampered.close();
    }
    const bad = await buildScanPush('clean', `${registry.host}/sign/bad`, {
      ...keyed(),
      'cosign-version': 'v3.0.2',
    });
    expect(bad.code).not.toBe(0);
    expect(bad.errors.join('\n')).toContain('cosign-version: 3.0.2 is refused');
    expect(await registry.tags('sign/bad')).toEqual([]);
  });

  // Keyless as far as it goes offline: the token request is the runner's (against a stand-in of its
  // endpoint) and cosign gets the token in SIGSTORE_ID_TOKEN with no key; Fulcio, Rekor and Sigstore's TUF
  // repository (tuf-repo-cdn.sigstore.dev) are not reachable here, so cosign stops there and the job fails,
  // after the push, saying how to sign that digest again.
  it('keyless: asks the runner for a sigstore token and hands it to cosign, which cannot reach Sigstore here', async () => {
    const tokens = await startStandIn();
    const jobWorkflowRef = 'example/opennebula-kubernetes/.github/workflows/build.yml@refs/tags/v1.2.3';
    const endpoint = serveIdTokens(tokens, {
      repository: 'example/opennebula-kubernetes',
      repository_owner: 'example',
      ref: 'refs/heads/main',
      sha: '0123456789abcdef0123456789abcdef01234567',
      job_workflow_ref: jobWorkflowRef,
    });
    try {
      const image = `${registry.host}/sign/keyless`;
      const run = await buildScanPush('clean', image, {}, { ...endpoint.env, TUF_ROOT: join(work, 'tuf') });
      expect(run.code).not.toBe(0);
      const digest = run.outputs.digest!;
      expect((await registry.tags('sign/keyless')).sort()).toEqual(['1.0', '1.0.0', 'latest']);
      // One request, as @actions/core's getIDToken makes it: the runner's URL plus &audience=sigstore, Bearer.
      const requests = endpoint.requests();
      expect(requests).toHaveLength(1);
      expect(requests[0]!.url).toMatch(/\?api-version=2\.0&audience=sigstore$/);
      expect(requests[0]!.headers.authorization).toBe(
        `Bearer ${endpoint.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN}`,
      );
      const token = endpoint.issued[0]!.token;
      // cosign ran keyless (no --key, no tlog flags) and failed on Sigstore's unreachable TUF repository.
      expect(run.stdout).toMatch(
        new RegExp(`cosign sign --yes --allow-http-registry ${image}@${digest}$`, 'm'),
      );
      expect(run.stdout).toContain('tuf-repo-cdn.sigstore.dev');
      expect(run.errors.join('\n')).toContain(`cosign sign --yes ${image}@${digest}`);
      // The token is masked and never printed.
      expect(run.stdout).toContain(`::add-mask::${token}`);
      expect(
        `${run.stdout}${run.stderr}`
          .split('\n')
          .filter((l) => l.includes(token) && !l.startsWith('::add-mask::')),
      ).toEqual([]);
      // The verify commands name the reusable workflow that signs and GitHub's issuer.
      expect(run.summary).toContain(
        `cosign verify --certificate-identity https://github.com/${jobWorkflowRef} ` +
          `--certificate-oidc-issuer ${GITHUB_OIDC_ISSUER} ${image}@${digest}`,
      );
      // Not the caller's workflow (GITHUB_WORKFLOW_REF): the certificate names the one the token was issued to.
      expect(run.summary).not.toContain(
        '--certificate-identity https://github.com/example/opennebula-kubernetes/.github/workflows/release.yml',
      );
      // sign: keyless without a token is an error (a job missing id-token: write), not a silent skip.
      const missing = await buildScanPush('clean', image, { sign: 'keyless' });
      expect(missing.code).not.toBe(0);
      expect(missing.errors.join('\n')).toContain('sign: keyless, but no OIDC token');
    } finally {
      await tokens.close();
    }
  });
});
