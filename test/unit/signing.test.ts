// The pure parts of signing: the cosign version policy, the signing inputs, what cosign gets (arguments and
// environment) for each signer, the keyless identity a verifier names, and the provenance predicate.
import { describe, expect, it } from 'vitest';
import { parseInputs } from '../../actions/build-scan-push/src/inputs.js';
import { provenance } from '../../actions/build-scan-push/src/provenance.js';
import { chooseSigner, NO_TOKEN } from '../../actions/shared/src/signer.js';
import {
  attestArgs,
  cosignAsset,
  cosignEnv,
  keylessIdentity,
  parseCosignVersion,
  signArgs,
  verifyCommands,
} from '../../actions/shared/src/cosign.js';
import type { Layout } from '../../actions/shared/src/oci-layout.js';
import { actionDefaults } from '../support/action-runner.js';
import { REPO_ROOT } from '../support/tools.js';

const KEY =
  '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----\nabc\n-----END ENCRYPTED SIGSTORE PRIVATE KEY-----';
const get = (overrides: Record<string, string>) => (name: string) =>
  ({ ...actionDefaults('build-scan-push'), images: 'ghcr.io/o/one', tags: '7.4.0', ...overrides })[name] ??
  '';

describe('cosign version policy', () => {
  it('refuses v3.0.0 to v3.0.3 (GHSA-whqx-f9j3-ch6m) and anything before v3, naming the input', () => {
    for (const version of ['v3.0.0', '3.0.1', 'v3.0.2', 'v3.0.3']) {
      expect(() => parseCosignVersion(version)).toThrow(
        /^cosign-version: 3\.0\.\d is refused: .*GHSA-whqx-f9j3-ch6m/,
      );
    }
    expect(() => parseCosignVersion('v2.6.1')).toThrow('cosign-version: 2.6.1 is older than 3.0.0');
    expect(() => parseCosignVersion('latest')).toThrow('cosign-version: "latest" is not a version');
    expect(parseCosignVersion('v3.0.4')).toBe('3.0.4');
    expect(parseCosignVersion(actionDefaults('build-scan-push')['cosign-version']!)).toBe('3.1.3');
    expect([cosignAsset('x64'), cosignAsset('arm64')]).toEqual(['cosign-linux-amd64', 'cosign-linux-arm64']);
  });
});

describe('signing inputs', () => {
  it('defaults to auto; key needs a PEM key; keyless cannot skip the transparency log', () => {
    expect(parseInputs(get({}), REPO_ROOT, {}).signing).toMatchObject({
      sign: 'auto',
      key: '',
      transparencyLog: true,
    });
    expect(() => parseInputs(get({ sign: 'yes' }), REPO_ROOT, {})).toThrow(
      'sign: "yes" is not one of auto, keyless, key, false',
    );
    expect(() => parseInputs(get({ sign: 'key' }), REPO_ROOT, {})).toThrow('sign: key needs the private key');
    expect(() => parseInputs(get({ sign: 'key', 'cosign-key': 'hunter2' }), REPO_ROOT, {})).toThrow(
      'cosign-key: not a PEM private key',
    );
    expect(() => parseInputs(get({ sign: 'keyless', 'transparency-log': 'false' }), REPO_ROOT, {})).toThrow(
      /^transparency-log: keyless signatures are always recorded/,
    );
    // The key may come from the environment (a secret mapped to COSIGN_PRIVATE_KEY).
    const fromEnv = parseInputs(get({ sign: 'key' }), REPO_ROOT, {
      COSIGN_PRIVATE_KEY: KEY,
      COSIGN_PASSWORD: 'pw',
    });
    expect([fromEnv.signing.key, fromEnv.signing.password]).toEqual([KEY, 'pw']);
  });

  it('auto signs with a key when given, keyless with a token, else nothing and says why', async () => {
    const inputs = (overrides: Record<string, string>) => parseInputs(get(overrides), REPO_ROOT, {}).signing;
    expect(await chooseSigner(inputs({ 'cosign-key': KEY }), {})).toMatchObject({ mode: 'key', key: KEY });
    expect(await chooseSigner(inputs({}), {})).toBe(NO_TOKEN);
    expect(NO_TOKEN).toContain("a fork's pull request");
    expect(await chooseSigner(inputs({ sign: 'false', 'cosign-key': KEY }), {})).toMatch(/^sign is false/);
    await expect(chooseSigner(inputs({ sign: 'keyless' }), {})).rejects.toThrow(
      'sign: keyless, but no OIDC token',
    );
  });
});

describe('what cosign gets', () => {
  const env = {
    PATH: '/bin',
    HOME: '/home/runner',
    DOCKER_CONFIG: '/home/runner/.docker',
    GITHUB_TOKEN: 'ghs_secret',
    ACTIONS_ID_TOKEN_REQUEST_TOKEN: 'runner-secret',
    ACTIONS_ID_TOKEN_REQUEST_URL: 'https://example/idtoken',
    TRIVY_USERNAME: 'x',
    HTTPS_PROXY: 'http://proxy:3128',
  };
  it('with a key: the key and its password in its own environment only, the key named by env://', () => {
    const signer = { mode: 'key' as const, key: KEY, password: 'pw', transparencyLog: false };
    expect(cosignEnv(env, signer)).toEqual({
      PATH: '/bin',
      HOME: '/home/runner',
      DOCKER_CONFIG: '/home/runner/.docker',
      HTTPS_PROXY: 'http://proxy:3128',
      COSIGN_PRIVATE_KEY: KEY,
      COSIGN_PASSWORD: 'pw',
    });
    const args = signArgs(signer, 'r.example/one@sha256:1', 'https://r.example');
    expect(args).toEqual([
      'sign',
      '--yes',
      '--key',
      'env://COSIGN_PRIVATE_KEY',
      '--use-signing-config=false',
      '--tlog-upload=false',
      'r.example/one@sha256:1',
    ]);
    expect(args.join(' ')).not.toContain('pw');
    expect(
      attestArgs(signer, 'h/one@sha256:1', 'http://127.0.0.1:5000', { file: 'sbom.json', type: 'cyclonedx' }),
    ).toContain('--allow-http-registry');
  });
  it("keyless: the job's token as SIGSTORE_ID_TOKEN, not the runner's request credentials, and no key", () => {
    const identity = { identity: 'i', issuer: 'iss' };
    const signer = { mode: 'keyless' as const, idToken: 'a.b.c', identity };
    const cosign = cosignEnv(env, signer);
    expect(cosign.SIGSTORE_ID_TOKEN).toBe('a.b.c');
    expect(Object.keys(cosign).filter((name) => /ACTIONS_|GITHUB_|COSIGN_/.test(name))).toEqual([]);
    expect(signArgs(signer, 'r.example/one@sha256:1', 'https://r.example')).toEqual([
      'sign',
      '--yes',
      'r.example/one@sha256:1',
    ]);
  });
  it('names the reusable workflow of the token as the identity to verify', () => {
    const payload = Buffer.from(
      JSON.stringify({
        iss: 'https://token.actions.githubusercontent.com',
        job_workflow_ref: 'o/r/.github/workflows/build.yml@refs/tags/v1',
      }),
    ).toString('base64url');
    const identity = keylessIdentity(`h.${payload}.s`);
    expect(verifyCommands('g/o/one@sha256:1', identity, ['cyclonedx'])).toEqual([
      'cosign verify --certificate-identity https://github.com/o/r/.github/workflows/build.yml@refs/tags/v1 ' +
        '--certificate-oidc-issuer https://token.actions.githubusercontent.com g/o/one@sha256:1',
      'cosign verify-attestation --certificate-identity https://github.com/o/r/.github/workflows/build.yml@refs/tags/v1 ' +
        '--certificate-oidc-issuer https://token.actions.githubusercontent.com --type cyclonedx g/o/one@sha256:1',
    ]);
    expect(() => keylessIdentity('not-a-jwt')).toThrow('not a JWT');
  });
});

describe('provenance', () => {
  it('names the builder, the source at its revision, the workflow and the build arguments', () => {
    const inputs = parseInputs(get({ 'build-args': 'A=1', version: '7.4.0' }), REPO_ROOT, {});
    const layout = {
      images: [{ platform: 'linux/amd64', descriptor: { digest: 'sha256:ab' } }],
    } as unknown as Layout;
    const predicate = provenance(inputs, layout, {
      GITHUB_REPOSITORY: 'o/r',
      GITHUB_SHA: 'f00',
      GITHUB_REF: 'refs/tags/v1',
      GITHUB_WORKFLOW_REF: 'o/r/.github/workflows/release.yml@refs/tags/v1',
      GITHUB_RUN_ID: '7',
    });
    expect(predicate.buildDefinition.externalParameters).toMatchObject({
      workflow: {
        ref: 'refs/tags/v1',
        repository: 'https://github.com/o/r',
        path: '.github/workflows/release.yml',
      },
      buildArgs: { ONE_VERSION: '7.4.0', A: '1' },
    });
    expect(predicate.buildDefinition.resolvedDependencies).toEqual([
      { uri: 'git+https://github.com/o/r@refs/tags/v1', digest: { gitCommit: 'f00' } },
    ]);
    expect(predicate.runDetails.builder.id).toBe(
      'https://github.com/o/r/.github/workflows/release.yml@refs/tags/v1',
    );
    expect(predicate.runDetails.metadata.invocationId).toBe(
      'https://github.com/o/r/actions/runs/7/attempts/1',
    );
  });
});
