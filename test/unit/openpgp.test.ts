// The public key helm-release publishes beside index.yaml, derived from the secret key it signs with, checked
// against the real gpg: the packets `gpg --export` writes (RSA, and ed25519 with a cv25519 subkey), armor
// gpg reads back, no secret material, the key helm picks by gpg-key-name, and the merge with a published one.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dearmor } from '../../actions/helm-release/src/chart-signing.js';
import {
  armorPublicKey,
  dearmorPublicKey,
  mergePublicKey,
  publicKeyOf,
  readPackets,
} from '../../actions/helm-release/src/openpgp.js';
import { generateGpgKey, type GpgKey } from '../support/gpg.js';

let rsa: GpgKey;
let ed25519: GpgKey;
let other: GpgKey;
beforeAll(() => {
  rsa = generateGpgKey();
  ed25519 = generateGpgKey('ed-passphrase', { name: 'Ed Signer <ed@example.org>', algorithm: 'default' });
  other = generateGpgKey('other', { name: 'Chart Signer Two <charts-two@example.org>' });
});
afterAll(() => {
  for (const key of [rsa, ed25519, other]) key?.remove();
});

const secretOf = (key: GpgKey) => dearmor(key.armoredSecret, 'gpg-private-key');

/** What a fresh gpg makes of an armored text: `gpg --show-keys --with-colons` lines. */
function gpgShow(armored: string): string {
  const home = mkdtempSync(join(tmpdir(), 'gnupg-show-'));
  try {
    return execFileSync('gpg', ['--batch', '--show-keys', '--with-colons'], {
      env: { ...process.env, GNUPGHOME: home },
      input: armored,
      encoding: 'utf8',
      stdio: ['pipe', 'pipe', 'pipe'],
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

describe('the public half of the chart-signing key', () => {
  it('is the packets gpg --export writes, for RSA and for ed25519 with a cv25519 subkey', () => {
    for (const key of [rsa, ed25519]) {
      const email = /<(.*)>/.exec(key.name)![1]!;
      const derived = publicKeyOf(secretOf(key), email);
      // Packet by packet (gpg frames some with old-format headers, this writes new-format ones).
      const packets = (data: Buffer) =>
        readPackets(data, 'test').map((p) => `${p.tag}:${p.body.toString('hex')}`);
      expect(packets(derived.packets)).toEqual(packets(readFileSync(key.publicKeyring)));
      expect(derived.fingerprint).toBe(key.fingerprint);
      expect(derived.userIds).toEqual([key.name]);
    }
  });

  it('is armored as gpg reads it, with no secret key in it', () => {
    const derived = publicKeyOf(secretOf(ed25519), 'ed@example.org');
    const armored = armorPublicKey(derived.packets);
    expect(armored).toMatch(
      /^-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n[A-Za-z0-9+/=\n]+\n=[A-Za-z0-9+/]{4}\n/,
    );
    const shown = gpgShow(armored);
    expect(shown).toMatch(new RegExp(`^fpr:+${ed25519.fingerprint}:`, 'm'));
    expect(shown).toMatch(/^sub:/m);
    expect(shown).not.toMatch(/^(sec|ssb):/m);
    expect(dearmorPublicKey(armored, 'pubkey.asc').equals(derived.packets)).toBe(true);
    // A secret key block is not a public key block.
    expect(() => dearmorPublicKey(ed25519.armoredSecret, 'pubkey.asc')).toThrow(
      'pubkey.asc is not an armored OpenPGP public key block',
    );
  });

  it('is the key helm signs with: a user ID equal to gpg-key-name, else the only one containing it', () => {
    const both = Buffer.concat([secretOf(rsa), secretOf(other)]);
    expect(publicKeyOf(both, 'charts-two@example.org').fingerprint).toBe(other.fingerprint);
    expect(publicKeyOf(both, rsa.name).fingerprint).toBe(rsa.fingerprint);
    expect(() => publicKeyOf(both, 'Chart Signer')).toThrow(
      /^gpg-key-name: several keys of gpg-private-key have a user ID containing "Chart Signer"/,
    );
    expect(() => publicKeyOf(both, 'nobody@example.org')).toThrow(
      /^gpg-key-name: no key of gpg-private-key has a user ID containing "nobody@example.org" \(user IDs: Chart Signer <charts@example\.org>, /,
    );
    // A public key export is no secret key: nothing to sign with, nothing published.
    expect(() => publicKeyOf(readFileSync(rsa.publicKeyring), 'charts@example.org')).toThrow(
      /^gpg-key-name: no key of gpg-private-key has a user ID containing .*\(user IDs: none\)/,
    );
    // Cut short: the header, or the key material.
    expect(() => publicKeyOf(Buffer.from([0xc5, 0xff, 0x00]), 'x')).toThrow(
      'gpg-private-key: not OpenPGP packets (a truncated header)',
    );
    const fields = readPackets(secretOf(rsa), 'test')[0]!.body.subarray(0, 8); // version … the first MPI's size
    const userId = Buffer.from('Chart Signer <charts@example.org>');
    const truncated = Buffer.concat([
      Buffer.from([0xc5, 8]),
      fields,
      Buffer.from([0xcd, userId.length]),
      userId,
    ]);
    expect(() => publicKeyOf(truncated, 'charts')).toThrow('gpg-private-key: a truncated OpenPGP key packet');
    expect(() => publicKeyOf(Buffer.from('not a key'), 'x')).toThrow(
      /^gpg-private-key: not OpenPGP packets \(no packet header at byte 0\)/,
    );
  });

  it('merges into the published pubkey.asc: other keys kept, the same key replaced in place', () => {
    const first = publicKeyOf(secretOf(rsa), 'charts@example.org');
    const second = publicKeyOf(secretOf(other), 'charts-two@example.org');
    const published = mergePublicKey(undefined, first)!;
    expect(mergePublicKey(published, first)).toBeUndefined();
    const rotated = mergePublicKey(published, second)!;
    const fingerprints = [...gpgShow(rotated).matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1]);
    expect(fingerprints).toEqual([rsa.fingerprint, other.fingerprint]);
    // The first key again, with a new user ID: replaced where it was, the other key kept.
    rsa.gpg('--quick-add-uid', rsa.name, 'Chart Signer <releases@example.org>');
    const secret = dearmor(rsa.gpg('--armor', '--export-secret-keys', rsa.name), 'gpg-private-key');
    const updated = mergePublicKey(rotated, publicKeyOf(secret, 'charts@example.org'))!;
    const shown = gpgShow(updated);
    expect([...shown.matchAll(/^fpr:+([0-9A-F]{40}):/gm)].map((m) => m[1])).toEqual([
      rsa.fingerprint,
      other.fingerprint,
    ]);
    expect(shown).toContain('releases@example.org');
    expect(() => mergePublicKey('<html>not a key</html>', first)).toThrow(
      'pubkey.asc is not an armored OpenPGP public key block',
    );
  });
});
