// A GPG signing key made for a test with the real gpg, in its own GNUPGHOME: the armored secret key (what a
// repository secret holds), and the public keyring (binary, as `helm --verify --keyring` reads it and as the
// project publishes it on its Pages site). RSA: Helm's OpenPGP library reads RSA keys, not gpg's newer
// default ed25519 ones.
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
  remove(): void;
}

export function generateGpgKey(passphrase = 'chart-passphrase'): GpgKey {
  const home = mkdtempSync(join(tmpdir(), 'gnupg-'));
  const env = { ...process.env, GNUPGHOME: home };
  const gpg = (...args: string[]) =>
    execFileSync('gpg', ['--batch', '--pinentry-mode', 'loopback', '--passphrase', passphrase, ...args], {
      env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  const name = 'Chart Signer <charts@example.org>';
  gpg('--quick-gen-key', name, 'rsa3072', 'sign', 'never');
  const publicKeyring = join(home, 'published.gpg');
  writeFileSync(publicKeyring, execFileSync('gpg', ['--batch', '--export', name], { env }));
  return {
    name,
    passphrase,
    armoredSecret: gpg('--armor', '--export-secret-keys', name),
    armoredPublic: gpg('--armor', '--export', name),
    publicKeyring,
    remove() {
      try {
        execFileSync('gpgconf', ['--kill', 'gpg-agent'], { env, stdio: 'ignore' });
      } finally {
        rmSync(home, { recursive: true, force: true });
      }
    },
  };
}
