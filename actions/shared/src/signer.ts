// Which signer an action uses, from its inputs (sign, cosign-key, cosign-password, transparency-log,
// cosign-version, cosign-download-url, the same in every action that signs): keyless with the job's OIDC
// token, a key from a secret, or none and why. The secrets are masked and removed from the process's
// environment at once, so no other tool the action runs inherits them.
import * as core from '@actions/core';
import { keylessIdentity, parseCosignVersion, type Signer } from './cosign.js';
import { parseBaseUrl, parseBoolean } from './inputs.js';

export const SIGN_MODES = ['auto', 'keyless', 'key', 'false'] as const;
export type SignMode = (typeof SIGN_MODES)[number];

export interface SigningInputs {
  sign: SignMode;
  cosignVersion: string;
  cosignDownloadUrl: string;
  /** The private key (PEM) from cosign-key or COSIGN_PRIVATE_KEY; '' when none. */
  key: string;
  password: string;
  transparencyLog: boolean;
}

/** The signing inputs; the key may come from the environment (COSIGN_PRIVATE_KEY, COSIGN_PASSWORD). */
export function parseSigning(get: (name: string) => string, env: NodeJS.ProcessEnv): SigningInputs {
  const word = get('sign').trim().toLowerCase();
  if (!(SIGN_MODES as readonly string[]).includes(word)) {
    throw new Error(`sign: "${word}" is not one of ${SIGN_MODES.join(', ')}`);
  }
  const sign = word as SignMode;
  const key = get('cosign-key').trim() || env.COSIGN_PRIVATE_KEY?.trim() || '';
  const password = get('cosign-password') || env.COSIGN_PASSWORD || '';
  if (sign === 'key' && !key) {
    throw new Error('sign: key needs the private key in cosign-key (or COSIGN_PRIVATE_KEY), from a secret');
  }
  if (key && !/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(key)) {
    throw new Error('cosign-key: not a PEM private key (cosign generate-key-pair writes one)');
  }
  const transparencyLog = parseBoolean(get('transparency-log').trim(), 'transparency-log');
  if (!transparencyLog && sign === 'keyless') {
    throw new Error(
      'transparency-log: keyless signatures are always recorded in Rekor; false needs sign: key',
    );
  }
  return {
    sign,
    cosignVersion: parseCosignVersion(get('cosign-version')),
    cosignDownloadUrl: parseBaseUrl(get('cosign-download-url').trim(), 'cosign-download-url'),
    key,
    password,
    transparencyLog,
  };
}

/** Masks the secrets and removes them from this process's environment, so no other tool inherits them. */
export function guardSecrets(signing: SigningInputs, env: NodeJS.ProcessEnv): void {
  // The runner masks a secret's lines only as a whole value: each line of the PEM key is masked on its own.
  for (const line of signing.key.split('\n')) if (line.trim().length > 8) core.setSecret(line.trim());
  if (signing.password) core.setSecret(signing.password);
  for (const name of ['INPUT_COSIGN-KEY', 'INPUT_COSIGN-PASSWORD', 'COSIGN_PRIVATE_KEY', 'COSIGN_PASSWORD']) {
    delete env[name];
  }
}

export const NO_TOKEN =
  'no OIDC token (ACTIONS_ID_TOKEN_REQUEST_URL is not set: the job lacks permissions: id-token: write, ' +
  "or runs for a fork's pull request, which never gets one): nothing was signed";

/** Which signer, or why none. Keyless asks the runner for a token with audience sigstore. */
export async function chooseSigner(s: SigningInputs, env: NodeJS.ProcessEnv): Promise<Signer | string> {
  if (s.sign === 'false') return 'sign is false: nothing was signed';
  if (s.sign === 'key' || (s.sign === 'auto' && s.key)) {
    return { mode: 'key', key: s.key, password: s.password, transparencyLog: s.transparencyLog };
  }
  if (!env.ACTIONS_ID_TOKEN_REQUEST_URL) {
    if (s.sign === 'auto') return NO_TOKEN;
    throw new Error(`sign: keyless, but ${NO_TOKEN.replace(': nothing was signed', '')}`);
  }
  const idToken = await core.getIDToken('sigstore');
  core.setSecret(idToken);
  return { mode: 'keyless', idToken, identity: keylessIdentity(idToken, env.GITHUB_SERVER_URL || undefined) };
}
