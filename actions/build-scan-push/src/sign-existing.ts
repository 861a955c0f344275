// sign-only: the re-run of a job whose push completed but whose signature failed. Nothing is built, scanned or
// pushed: the digest the version tag points to on every image (the same on all, else an error) is signed, with
// its platform manifests, as it is there; what is already signed is not signed again. The attestations need
// the reports of the run that built those bytes, which this run does not have: the summary says so.
import * as core from '@actions/core';
import { credentialsFor } from '../../shared/src/docker-config.js';
import { installCosign, verifyCommands } from '../../shared/src/cosign.js';
import { OCI_INDEX } from '../../shared/src/oci-layout.js';
import { RegistryClient } from '../../shared/src/registry.js';
import { chooseSigner } from '../../shared/src/signer.js';
import { resignCommands, signAndAttest } from '../../shared/src/signing.js';
import { code, escapeHtml, writeSummary } from '../../shared/src/summary.js';
import type { Inputs } from './inputs.js';

const INDEX_TYPES = [OCI_INDEX, 'application/vnd.docker.distribution.manifest.list.v2+json'];

/** The digest `version` points to on every image, and its platform manifests; an error naming what differs. */
async function pushedDigests(inputs: Inputs, clients: RegistryClient[]): Promise<string[]> {
  if (!inputs.version) throw new Error('sign-only: needs version (the tag whose digest is signed)');
  const found = await Promise.all(clients.map((client) => client.manifestDigest(inputs.version)));
  const missing = clients
    .filter((_, i) => !found[i])
    .map((client) => `${client.image.input}:${inputs.version}`);
  if (missing.length > 0)
    throw new Error(`sign-only: ${missing.join(', ')} not in the registry: nothing to sign`);
  if (new Set(found).size > 1) {
    const listed = clients.map((client, i) => `${client.image.input}:${inputs.version} is ${found[i]}`);
    throw new Error(`sign-only: the images differ (${listed.join('; ')}); refusing to sign either`);
  }
  const manifest = (await clients[0]!.getManifest(found[0]!))!;
  const digests = [manifest.digest];
  if (INDEX_TYPES.includes(manifest.mediaType)) {
    const index = JSON.parse(manifest.body.toString('utf8')) as { manifests?: Array<{ digest: string }> };
    digests.push(...(index.manifests ?? []).map((m) => m.digest));
  }
  return digests;
}

export async function signExisting(inputs: Inputs): Promise<void> {
  const clients = inputs.images.map(
    (image) => new RegistryClient(image, { credentials: credentialsFor(image.registry) }),
  );
  const digests = await pushedDigests(inputs, clients);
  core.setOutput('digest', digests[0]);
  const signer = await chooseSigner(inputs.signing, process.env);
  const blocks = ['<h2>Build, scan and push: sign only</h2>'];
  if (typeof signer === 'string') {
    await writeSummary([...blocks, `<p>${escapeHtml(signer)}.</p>`]);
    return;
  }
  const cosign = await installCosign(inputs.signing.cosignVersion, inputs.signing.cosignDownloadUrl);
  const signatures: string[] = [];
  for (const client of clients) {
    const name = client.image.input;
    try {
      const result = await signAndAttest({ cosign, signer, client, digests, attestations: [] });
      signatures.push(...result.signatures);
    } catch (error) {
      throw new Error(
        `signing ${name}@${digests[0]} failed: ${(error as Error).message}\nBy hand:\n` +
          resignCommands(name, digests, signer).join('\n'),
        { cause: error },
      );
    }
  }
  core.setOutput('signatures', signatures.join('\n'));
  const identity = signer.mode === 'keyless' ? signer.identity : { publicKey: 'cosign.pub' };
  const verify = verifyCommands(`${clients[0]!.image.input}@${digests[0]}`, identity);
  await writeSummary([
    ...blocks,
    `<p>Signed ${code(digests[0]!)} as pushed (nothing rebuilt): ${signatures.map((s) => code(s)).join(' ')}.</p>`,
    '<p>The SBOM, vulnerability and provenance attestations need the reports of the run that built these ' +
      'bytes; they are attached when that run signs, not here.</p>',
    `<pre>${escapeHtml(verify.join('\n'))}</pre>`,
  ]);
}
