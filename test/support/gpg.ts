// A GPG signing key made for a test with the real gpg, in its own GNUPGHOME: the armored secret key (what a
// repository secret holds), and the public keyring (binary, as `helm --verify --keyring` reads it and as the
// project publishes it on its Pages site). RSA by default: Helm's OpenPGP library reads RSA keys, not gpg's
// newer default ed25519 ones (`algorithm: 'default'` makes those: ed25519 with a cv25519 subkey).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GpgKey {
  /** The user ID, e.g. "Chart Signer <charts@example.org>" (helm --key takes a part of it). */
  name: string;
  passphrase: string;
  /** gpg --armor --export-secret-keys */
  armoredSecret: string;
  /** Path of the binary public keyring (gpg --export). */
  publicKeyring: string;
  /** gpg --armor --export, as published for users. */
  armoredPublic: string;
  /** The key's fingerprint, as gpg prints it (40 hex digits). */
  fingerprint: string;
  /** Runs gpg in the key's GNUPGHOME (e.g. to add a user ID); stdout. */
  gpg(...args: string[]): string;
  remove(): void;
}

export function generateGpgKey(
  passphrase = 'chart-passphrase',
  options: { name?: string; algorithm?: 'rsa3072' | 'default' } = {},
): GpgKey {
  const home = mkdtempSync(join(tmpdir(), 'gnupg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (...args: string[]) =>
    execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', passphrase, ...args], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const name = options.name ?? 'Chart Signer <charts@example.org>';
  const algorithm = options.algorithm ?? 'rsa3072';
  gpg('--quick-gen-key', name, algorithm, algorithm === 'default' ? 'default' : 'sign', 'never');
  const fingerprint = /^fpr:+([0-9A-F]{40}):/m.exec(gpg('--with-colons', '--fingerprint', name))![1]!;
  const publicKeyring = join(home, 'published.gpg');
  writeFileSync(publicKeyring, execFileSync('gpg', ['--batch', '--export', name], { env }));
  return {
    name,
    passphrase,
    armoredSecret: gpg('--armor', '--export-secret-keys', name),
    armoredPublic: gpg('--armor', '--export', name),
    publicKeyring,
    fingerprint,
    gpg,
    remove() {
      try {
        execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' });
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  };
}
