// Signing what was pushed, by digest: a cosign signature on each digest and attestations (SBOM, vulnerability
// report, provenance) on the digests they describe. Idempotent: what a registry already holds for a digest (a
// signature, an attestation of a predicate type) is looked up first among the digest's referrers, so a
// re-run adds no second signature. Referrers come from the Referrers API when the registry has one, else
// from the referrers tag schema (tag sha256-<hex>: an OCI index cosign keeps up to date), as cosign itself
// falls back; the older sha256-<hex>.sig tag counts as a signature too.
import * as core from '@actions/core';
import type { RegistryClient } from './registry.js';
import { run as exec } from './exec.js';
import { PREDICATE_TYPES, attestArgs, cosignEnv, signArgs, type Signer } from './cosign.js';

const PREDICATE_ANNOTATION = 'dev.sigstore.bundle.predicateType';

export interface Referrer {
  digest: string;
  predicateType: string | undefined;
}

interface ReferrersIndex {
  manifests?: Array<{ digest: string; annotations?: Record<string, string> }>;
}

/**
 * The referrers an index lists. The Referrers API copies each manifest's annotations into its descriptor; the
 * tag schema's index (as go-containerregistry writes it for cosign) does not, so those are read from the
 * manifest itself.
 */
async function referrersOf(client: RegistryClient, body: string): Promise<Referrer[]> {
  const index = JSON.parse(body) as ReferrersIndex;
  return Promise.all(
    (index.manifests ?? []).map(async (m) => {
      let annotations = m.annotations;
      if (!annotations?.[PREDICATE_ANNOTATION]) {
        const manifest = await client.getManifest(m.digest);
        annotations = manifest
          ? (JSON.parse(manifest.body.toString('utf8')) as { annotations?: Record<string, string> })
              .annotations
          : undefined;
      }
      return { digest: m.digest, predicateType: annotations?.[PREDICATE_ANNOTATION] };
    }),
  );
}

/** The referrers of `digest` in the client's repository (Referrers API, else the tag schema). */
export async function referrers(client: RegistryClient, digest: string): Promise<Referrer[]> {
  const response = await client.request(client.url(`/referrers/${digest}`), {
    headers: { accept: 'application/vnd.oci.image.index.v1+json' },
  });
  const type = response.headers.get('content-type') ?? '';
  if (response.ok && type.startsWith('application/vnd.oci.image.index.v1+json')) {
    return referrersOf(client, await response.text());
  }
  await response.body?.cancel();
  const tag = digest.replace(':', '-');
  const index = await client.getManifest(tag);
  const found = index ? await referrersOf(client, index.body.toString('utf8')) : [];
  const legacy = await client.manifestDigest(`${tag}.sig`);
  if (legacy) found.push({ digest: legacy, predicateType: PREDICATE_TYPES.sign });
  return found;
}

export interface Attestation {
  /** cosign's --type: cyclonedx, vuln or slsaprovenance1. */
  type: string;
  /** The predicate file. */
  file: string;
  /** The digest it is about. */
  digest: string;
}

export interface SigningPlan {
  cosign: string;
  signer: Signer;
  client: RegistryClient;
  /** Digests to sign (the index and each platform manifest). */
  digests: string[];
  attestations: Attestation[];
}

export interface SigningResult {
  /** name@digest of each signature (a referrer of the signed digest). */
  signatures: string[];
  /** `<type> name@digest` of each attestation. */
  attestations: string[];
  /** What was already there (a re-run): `sign name@digest`, `<type> name@digest`. */
  existing: string[];
}

async function referrerOf(client: RegistryClient, digest: string, predicateType: string) {
  return (await referrers(client, digest)).find((r) => r.predicateType === predicateType)?.digest;
}

/** One signature or attestation, unless the digest has one of that kind already. */
async function once(
  plan: SigningPlan,
  digest: string,
  kind: string,
  args: string[],
  result: SigningResult,
): Promise<void> {
  const name = plan.client.image.input;
  const predicateType = PREDICATE_TYPES[kind]!;
  const existing = await referrerOf(plan.client, digest, predicateType);
  if (existing) {
    core.info(`${name}@${digest}: ${kind} already there (${existing}); not added again`);
    result.existing.push(`${kind} ${name}@${digest}`);
  } else {
    await exec(plan.cosign, args, { env: cosignEnv(process.env, plan.signer) });
  }
  const reference = existing ?? (await referrerOf(plan.client, digest, predicateType));
  if (!reference) throw new Error(`cosign reported success but ${name}@${digest} has no ${kind} referrer`);
  if (kind === 'sign') result.signatures.push(`${name}@${reference}`);
  else result.attestations.push(`${kind} ${name}@${reference}`);
}

/** Signs every digest, then attaches every attestation; throws on the first failure. */
export async function signAndAttest(plan: SigningPlan): Promise<SigningResult> {
  const result: SigningResult = { signatures: [], attestations: [], existing: [] };
  const { client, signer } = plan;
  const name = client.image.input;
  const apiBase = client.image.apiBase;
  for (const digest of plan.digests) {
    await once(plan, digest, 'sign', signArgs(signer, `${name}@${digest}`, apiBase), result);
  }
  for (const attestation of plan.attestations) {
    const reference = `${name}@${attestation.digest}`;
    const args = attestArgs(signer, reference, apiBase, attestation);
    await once(plan, attestation.digest, attestation.type, args, result);
  }
  return result;
}

/** The commands that sign `digests` again by hand (no rebuild), for a failed signature's message. */
export function resignCommands(name: string, digests: string[], signer: Signer): string[] {
  const key = signer.mode === 'key' ? ' --key env://COSIGN_PRIVATE_KEY' : '';
  return digests.map((digest) => `cosign sign --yes${key} ${name}@${digest}`);
}
