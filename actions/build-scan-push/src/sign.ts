// The signing step of build-scan-push, after the gate passed and the push completed: which signer (keyless
// with the job's OIDC token, a key from a secret, or none and why), then for each image the signature of the
// pushed digest (and of each platform manifest) and the attestations of exactly that digest: the CycloneDX
// SBOM and the Trivy vulnerability report of the scan, and SLSA provenance of the build.
import * as core from '@actions/core';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { credentialsFor } from '../../shared/src/docker-config.js';
import { installCosign, verifyCommands, type Signer } from '../../shared/src/cosign.js';
import { RegistryClient } from '../../shared/src/registry.js';
import { chooseSigner } from '../../shared/src/signer.js';
import {
  resignCommands,
  signAndAttest,
  type Attestation,
  type SigningResult,
} from '../../shared/src/signing.js';
import type { Layout } from '../../shared/src/oci-layout.js';
import type { Inputs } from './inputs.js';
import { provenance } from './provenance.js';
import type { PushResult } from './summary.js';

export interface SignStep {
  inputs: Inputs;
  layout: Layout;
  pushed: PushResult[];
  sboms: Record<string, string>;
  vulnReports: Record<string, string>;
  work: string;
}

/** The attestations of `digest`: each platform's SBOM and vulnerability report, and the provenance. */
function attestationsFor(step: SignStep, digest: string): Attestation[] {
  if (digest !== step.layout.top.digest) return []; // an earlier run's push, completed: not this build's
  const file = join(step.work, 'provenance.json');
  writeFileSync(file, JSON.stringify(provenance(step.inputs, step.layout, process.env), null, 2));
  const single = step.layout.images.length === 1;
  const platformDigest = (platform: string) =>
    single ? digest : step.layout.images.find((i) => i.platform === platform)!.descriptor.digest;
  const list: Attestation[] = [];
  for (const [platform, sbom] of Object.entries(step.sboms)) {
    list.push({ type: 'cyclonedx', file: sbom, digest: platformDigest(platform) });
    list.push({ type: 'vuln', file: step.vulnReports[platform]!, digest: platformDigest(platform) });
  }
  list.push({ type: 'slsaprovenance1', file, digest });
  return list;
}

/** Signs and attests every pushed image; throws, saying how to sign the same digest again, on failure. */
export async function signPushed(step: SignStep, signer: Signer): Promise<SigningResult> {
  const cosign = await core.group(`cosign ${step.inputs.signing.cosignVersion}`, () =>
    installCosign(step.inputs.signing.cosignVersion, step.inputs.signing.cosignDownloadUrl),
  );
  const total: SigningResult = { signatures: [], attestations: [], existing: [] };
  for (const [i, result] of step.pushed.entries()) {
    const image = step.inputs.images[i]!;
    const credentials = credentialsFor(image.registry);
    const client = new RegistryClient(image, { credentials });
    const digests = [result.digest];
    if (result.digest === step.layout.top.digest && step.layout.images.length > 1) {
      digests.push(...step.layout.images.map((platform) => platform.descriptor.digest));
    }
    try {
      const done = await core.group(`Sign ${image.input}@${result.digest}`, () =>
        signAndAttest({
          cosign,
          signer,
          client,
          digests,
          attestations: attestationsFor(step, result.digest),
        }),
      );
      total.signatures.push(...done.signatures);
      total.attestations.push(...done.attestations);
      total.existing.push(...done.existing);
    } catch (error) {
      throw new Error(
        `signing ${image.input}@${result.digest} failed after the push: ${(error as Error).message}\n` +
          'The pushed bytes stay as they are. Re-run this job: it finds every tag in place, moves nothing, ' +
          'and signs and attests what is there (what is already signed is not signed twice). By hand:\n' +
          resignCommands(image.input, digests, signer).join('\n'),
        { cause: error },
      );
    }
  }
  return total;
}

export interface SigningOutcome {
  /** Why nothing was signed ('' when something was). */
  note: string;
  result: SigningResult | undefined;
  /** The commands a user verifies the first image with. */
  verify: string[];
  error: Error | undefined;
}

/** The step as main runs it: never throws, so the summary is written before a failure is reported. */
export async function signStep(step: SignStep): Promise<SigningOutcome> {
  const outcome: SigningOutcome = { note: '', result: undefined, verify: [], error: undefined };
  if (step.pushed.length === 0) {
    outcome.note = step.inputs.push
      ? 'nothing was pushed: nothing to sign'
      : 'push is false: nothing was signed';
    return outcome;
  }
  try {
    const signer = await chooseSigner(step.inputs.signing, process.env);
    if (typeof signer === 'string') {
      outcome.note = signer;
      return outcome;
    }
    const identity = signer.mode === 'keyless' ? signer.identity : { publicKey: 'cosign.pub' };
    const first = step.pushed[0]!;
    outcome.verify = verifyCommands(`${first.image}@${first.digest}`, identity, [
      'cyclonedx',
      'vuln',
      'slsaprovenance1',
    ]);
    outcome.result = await signPushed(step, signer);
  } catch (error) {
    outcome.error = error as Error;
  }
  return outcome;
}
