// cosign: the verified download (tool.ts), the version policy, and the command lines and environment it runs
// with. Secrets (the private key, its password, an OIDC token) reach cosign only through its own environment
// (`--key env://COSIGN_PRIVATE_KEY`, COSIGN_PASSWORD, SIGSTORE_ID_TOKEN), never on a command line, and the
// environment holds nothing else of the job's but what cosign needs to reach a registry.
import { installTool, parseToolVersion } from './tool.js';

/** cosign v3.0.0 to v3.0.3 accept a bundle whose Rekor entry is for another artifact (GHSA-whqx-f9j3-ch6m). */
export const REFUSED_COSIGN_VERSIONS = ['3.0.0', '3.0.1', '3.0.2', '3.0.3'];
/** The oldest cosign whose flags (--use-signing-config, bundles as OCI referrers by default) are used here. */
export const MIN_COSIGN_VERSION = '3.0.0';

export function parseCosignVersion(text: string, input = 'cosign-version'): string {
  return parseToolVersion(text, {
    input,
    tool: 'cosign',
    example: 'v3.1.3',
    refused: REFUSED_COSIGN_VERSIONS,
    refusedBecause: 'verify bundles whose Rekor entry names another artifact (GHSA-whqx-f9j3-ch6m)',
    min: MIN_COSIGN_VERSION,
    minBecause: 'it signs into OCI referrers with --use-signing-config',
  });
}

/** The release asset: cosign publishes bare executables, e.g. cosign-linux-amd64. */
export function cosignAsset(arch: string = process.arch): string {
  return `cosign-linux-${arch === 'arm64' ? 'arm64' : 'amd64'}`;
}

export async function installCosign(version: string, downloadUrl: string): Promise<string> {
  return installTool({
    name: 'cosign',
    version,
    url: `${downloadUrl}/v${version}/${cosignAsset()}`,
    checksumUrl: `${downloadUrl}/v${version}/cosign_checksums.txt`,
    executable: 'cosign',
    binary: true,
  });
}

/** How the pushed digests are signed: keyless (an OIDC token of the job) or with a private key. */
export type Signer =
  | { mode: 'keyless'; idToken: string; identity: Identity }
  | { mode: 'key'; key: string; password: string; transparencyLog: boolean };

export const PRIVATE_KEY_REF = 'env://COSIGN_PRIVATE_KEY';

/** What of the job's environment cosign sees: how to reach registries and proxies, nothing else. */
const PASSED_THROUGH =
  /^(PATH|HOME|TMPDIR|DOCKER_CONFIG|REGISTRY_AUTH_FILE|XDG_RUNTIME_DIR|SSL_CERT_FILE|SSL_CERT_DIR|TUF_ROOT|(HTTPS?|NO)_PROXY|(https?|no)_proxy)$/;

export function cosignEnv(env: NodeJS.ProcessEnv, signer?: Signer): Record<string, string> {
  const clean: Record<string, string> = {};
  for (const [name, value] of Object.entries(env)) {
    if (value !== undefined && PASSED_THROUGH.test(name)) clean[name] = value;
  }
  if (signer?.mode === 'key') {
    clean.COSIGN_PRIVATE_KEY = signer.key;
    clean.COSIGN_PASSWORD = signer.password;
  } else if (signer?.mode === 'keyless') {
    clean.SIGSTORE_ID_TOKEN = signer.idToken;
  }
  return clean;
}

/** Registries reached over plain HTTP (loopback, as the test and rehearsal registries) need the flag. */
export function registryArgs(apiBase: string): string[] {
  return apiBase.startsWith('http://') ? ['--allow-http-registry'] : [];
}

function signerArgs(signer: Signer): string[] {
  if (signer.mode === 'keyless') return [];
  const args = ['--key', PRIVATE_KEY_REF];
  if (!signer.transparencyLog) args.push('--use-signing-config=false', '--tlog-upload=false');
  return args;
}

export function signArgs(signer: Signer, reference: string, apiBase: string): string[] {
  return ['sign', '--yes', ...signerArgs(signer), ...registryArgs(apiBase), reference];
}

export function attestArgs(
  signer: Signer,
  reference: string,
  apiBase: string,
  predicate: { file: string; type: string },
): string[] {
  return [
    'attest',
    '--yes',
    ...signerArgs(signer),
    '--type',
    predicate.type,
    '--predicate',
    predicate.file,
    ...registryArgs(apiBase),
    reference,
  ];
}

/** The predicate types cosign records (annotation dev.sigstore.bundle.predicateType) per --type. */
export const PREDICATE_TYPES: Record<string, string> = {
  sign: 'https://sigstore.dev/cosign/sign/v1',
  cyclonedx: 'https://cyclonedx.org/bom',
  vuln: 'https://cosign.sigstore.dev/attestation/vuln/v1',
  slsaprovenance1: 'https://slsa.dev/provenance/v1',
};

/** Who signed, as a verifier names it: the certificate identity and issuer (keyless), or the public key. */
export type Identity = { identity: string; issuer: string } | { publicKey: string };

/**
 * The identity a keyless signature's certificate carries on GitHub: the job_workflow_ref claim of the OIDC
 * token (the reusable workflow that signs, at the ref it was called at) under the server's URL, and the
 * token's issuer. Read from the token's payload (its signature is Fulcio's to check).
 */
export function keylessIdentity(idToken: string, serverUrl = 'https://github.com'): Identity {
  const payload = idToken.split('.')[1];
  if (!payload) throw new Error('the OIDC token is not a JWT');
  const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as {
    iss?: string;
    job_workflow_ref?: string;
  };
  if (!claims.iss || !claims.job_workflow_ref) {
    throw new Error('the OIDC token has no iss or job_workflow_ref claim (not a GitHub Actions token)');
  }
  return { identity: `${serverUrl}/${claims.job_workflow_ref}`, issuer: claims.iss };
}

/** The commands a user runs to verify `reference` (name@digest) and its attestations. */
export function verifyCommands(reference: string, identity: Identity, types: string[] = []): string[] {
  const who =
    'publicKey' in identity
      ? `--key ${identity.publicKey}`
      : `--certificate-identity ${identity.identity} --certificate-oidc-issuer ${identity.issuer}`;
  return [
    `cosign verify ${who} ${reference}`,
    ...types.map((type) => `cosign verify-attestation ${who} --type ${type} ${reference}`),
  ];
}
