// cosign as the tests meet it: the pinned cosign (test/tools) served from a local download site laid out like
// its release page (v<ver>/cosign-linux-amd64 beside v<ver>/cosign_checksums.txt), key pairs generated with
// cosign itself, and the verifications a user runs, offline: keyed signatures with no transparency log
// (--insecure-ignore-tlog=true) against plain-HTTP loopback registries (--allow-http-registry).
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { StandIn } from './http-stand-in.js';
import { REPO_ROOT, requireTool, runCommand, type CommandResult } from './tools.js';

export const COSIGN_TEST_VERSION = (() => {
  const pins = readFileSync(join(REPO_ROOT, 'test/tools/versions.sh'), 'utf8');
  return /^COSIGN_VERSION=(v\S+)/m.exec(pins)![1]!;
})();

/** Serves the pinned cosign under `/v<ver>/`; returns the cosign-download-url. */
export function serveCosignDownloads(site: StandIn, options: { tamper?: boolean } = {}): string {
  const version = COSIGN_TEST_VERSION.replace(/^v/, '');
  const binary = readFileSync(requireTool('cosign'));
  const sha = createHash('sha256').update(binary).digest('hex');
  const served = options.tamper ? Buffer.concat([binary, Buffer.from('tampered')]) : binary;
  site.route(`/v${version}/cosign-linux-amd64`, { status: 200, body: served });
  site.route(`/v${version}/cosign_checksums.txt`, {
    status: 200,
    body: `${'0'.repeat(64)}  cosign-linux-arm64\n${sha}  cosign-linux-amd64\n`,
  });
  return site.url;
}

export interface KeyPair {
  dir: string;
  privateKey: string;
  password: string;
  /** Path of cosign.pub. */
  publicKey: string;
}

/** A cosign key pair made for a test (cosign generate-key-pair), with a password. */
export async function generateKeyPair(password = 'test-password'): Promise<KeyPair> {
  const dir = mkdtempSync(join(tmpdir(), 'cosign-keys-'));
  const result = await runCommand(
    requireTool('cosign'),
    ['generate-key-pair', '--output-key-prefix', join(dir, 'cosign')],
    {
      env: { PATH: process.env.PATH ?? '', HOME: dir, COSIGN_PASSWORD: password },
    },
  );
  if (result.code !== 0) throw new Error(`cosign generate-key-pair failed:\n${result.stderr}`);
  return {
    dir,
    privateKey: readFileSync(join(dir, 'cosign.key'), 'utf8'),
    password,
    publicKey: join(dir, 'cosign.pub'),
  };
}

export function removeKeyPair(keys: KeyPair | undefined): void {
  if (keys) rmSync(keys.dir, { recursive: true, force: true });
}

const OFFLINE_VERIFY = ['--insecure-ignore-tlog=true', '--allow-http-registry'];

/** `cosign verify` as a user runs it against the test registry (offline: no Rekor). */
export function verifySignature(reference: string, publicKey: string): Promise<CommandResult> {
  return runCommand(requireTool('cosign'), ['verify', '--key', publicKey, ...OFFLINE_VERIFY, reference], {
    env: { PATH: process.env.PATH ?? '', HOME: tmpdir() },
  });
}

/** `cosign verify-attestation --type <type>`; the statements come back on stdout, one JSON a line. */
export function verifyAttestation(
  reference: string,
  publicKey: string,
  type: string,
): Promise<CommandResult> {
  return runCommand(
    requireTool('cosign'),
    ['verify-attestation', '--key', publicKey, '--type', type, ...OFFLINE_VERIFY, reference],
    { env: { PATH: process.env.PATH ?? '', HOME: tmpdir() } },
  );
}

/** The predicate of the first attestation `cosign verify-attestation` printed. */
export function predicateOf(stdout: string): Record<string, unknown> {
  const line = stdout.split('\n').find((l) => l.trim().startsWith('{'));
  if (!line) throw new Error(`no attestation in:\n${stdout}`);
  const envelope = JSON.parse(line) as { payload: string };
  const statement = JSON.parse(Buffer.from(envelope.payload, 'base64').toString('utf8')) as {
    predicate: Record<string, unknown>;
    subject: Array<{ digest: { sha256: string } }>;
  };
  return { ...statement.predicate, __subject: statement.subject };
}
