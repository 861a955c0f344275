// The chart's signatures: a provenance file (.prov, Helm's own `helm package --sign`: the chart's metadata and
// the archive's SHA-256, clearsigned with a GPG key) for the Pages release, uploaded beside the .tgz as
// chart-releaser does so `helm install --verify` finds it at <package URL>.prov; and a cosign signature of the
// OCI chart's manifest digest. The GPG key (a secret, armored or binary) is written to a keyring file in the
// action's private work directory for helm, with its passphrase, and removed right after packaging. Its public
// half is published on the Pages site as pubkey.asc, where users fetch it for `--verify --keyring`.
import * as core from '@actions/core';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { installCosign, verifyCommands, type Identity, type Signer } from '../../shared/src/cosign.js';
import { resignCommands, signAndAttest } from '../../shared/src/signing.js';
import type { OciTarget } from './oci.js';
import { publicKeyOf, type PublicKey } from './openpgp.js';

/** The public key's file on the Pages site, beside index.yaml. */
export const PUBLIC_KEY_FILE = 'pubkey.asc';

export interface GpgInputs {
  /** The secret key as OpenPGP packets (binary), as helm reads a keyring. */
  keyring: Buffer;
  /** Which key of the keyring signs (helm --key: a part of its user ID). */
  keyName: string;
  passphrase: string;
  /** The public half of the key gpg-key-name names (what helm signs with), published as pubkey.asc. */
  publicKey: PublicKey;
}

/** An ASCII-armored OpenPGP block → its binary packets (armor headers and the CRC line dropped). */
export function dearmor(text: string, input: string): Buffer {
  const match =
    /-----BEGIN PGP PRIVATE KEY BLOCK-----\r?\n([\s\S]*?)-----END PGP PRIVATE KEY BLOCK-----/.exec(text);
  if (!match)
    throw new Error(`${input}: not an armored PGP private key block (gpg --armor --export-secret-keys)`);
  const lines = match[1]!.split(/\r?\n/);
  const blank = lines.findIndex((line) => line.trim() === '');
  const body = (
    blank >= 0 && lines.slice(0, blank).every((l) => l.includes(':')) ? lines.slice(blank + 1) : lines
  )
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('='));
  return Buffer.from(body.join(''), 'base64');
}

/** gpg-private-key (armored, or base64 of `gpg --export-secret-keys`), gpg-key-name and gpg-passphrase. */
export function parseGpg(get: (name: string) => string): GpgInputs | undefined {
  const text = get('gpg-private-key').trim();
  if (!text) return undefined;
  const keyName = get('gpg-key-name').trim();
  if (!keyName) throw new Error("gpg-key-name: required with gpg-private-key (a part of the key's user ID)");
  const keyring = text.includes('-----BEGIN')
    ? dearmor(text, 'gpg-private-key')
    : Buffer.from(text, 'base64');
  // An OpenPGP secret-key packet: tag 5, old format (0x95/0x94) or new format (0xC5).
  if (keyring.length === 0 || ![0x94, 0x95, 0x96, 0x97, 0xc5].includes(keyring[0]!)) {
    throw new Error('gpg-private-key: not an OpenPGP secret key (export it with gpg --export-secret-keys)');
  }
  return { keyring, keyName, passphrase: get('gpg-passphrase'), publicKey: publicKeyOf(keyring, keyName) };
}

/** Masks the passphrase, and removes the inputs from the environment helm and git would inherit. */
export function guardGpg(gpg: GpgInputs | undefined, env: NodeJS.ProcessEnv): void {
  if (gpg?.passphrase) core.setSecret(gpg.passphrase);
  for (const name of ['INPUT_GPG-PRIVATE-KEY', 'INPUT_GPG-PASSPHRASE']) delete env[name];
}

/**
 * helm package's signing arguments, with the keyring and the passphrase written (mode 0600) into a directory
 * of `dir` that `remove` deletes: helm reads a passphrase from stdin only when stdin is a named pipe, which
 * a child's stdin from Node is not (a socket), so it gets a file, as chart-releaser gives it.
 */
export function packageSignArgs(gpg: GpgInputs, dir: string): { args: string[]; remove: () => void } {
  const keys = mkdtempSync(join(dir, 'gpg-'));
  const keyring = join(keys, 'secring.gpg');
  writeFileSync(keyring, gpg.keyring, { mode: 0o600 });
  const args = ['--sign', '--key', gpg.keyName, '--keyring', keyring];
  if (gpg.passphrase) {
    writeFileSync(join(keys, 'passphrase'), `${gpg.passphrase}\n`, { mode: 0o600 });
    args.push('--passphrase-file', join(keys, 'passphrase'));
  }
  return { args, remove: () => rmSync(keys, { recursive: true, force: true }) };
}

export interface OciSignature {
  /** name@digest of the signature; undefined when signing failed. */
  signature: string | undefined;
  /** What a user runs to verify the chart (the signer's identity: key, or the signing workflow's). */
  verify: string[];
  /** Why signing failed after the push, saying how to sign the same digest again. */
  error: Error | undefined;
}

/**
 * Signs the pushed OCI chart by digest (once: a signature already there is not added again). Never throws once
 * the digest is known, so the summary can say how to verify and, on failure, how to sign again.
 */
export async function signOciChart(
  target: OciTarget,
  version: string,
  signer: Signer,
  cosign: { version: string; downloadUrl: string },
): Promise<OciSignature> {
  const digest = await target.client.manifestDigest(version);
  if (!digest) throw new Error(`${target.ref} is not in the registry after the push`);
  const name = target.ref.slice('oci://'.length).replace(/:[^:/]+$/, '');
  const identity: Identity = signer.mode === 'keyless' ? signer.identity : { publicKey: 'cosign.pub' };
  const verify = verifyCommands(`${name}@${digest}`, identity);
  try {
    const executable = await installCosign(cosign.version, cosign.downloadUrl);
    const result = await core.group(`Sign ${name}@${digest}`, () =>
      signAndAttest({
        cosign: executable,
        signer,
        client: target.client,
        digests: [digest],
        attestations: [],
      }),
    );
    return { signature: result.signatures[0]!, verify, error: undefined };
  } catch (error) {
    const failed = new Error(
      `signing ${name}@${digest} failed after the push: ${(error as Error).message}\nThe chart stays as pushed; ` +
        're-run this job (the same package is not pushed again and is signed once), or by hand:\n' +
        resignCommands(name, [digest], signer).join('\n'),
      { cause: error },
    );
    return { signature: undefined, verify, error: failed };
  }
}
