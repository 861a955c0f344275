// A fork's first publish: the repository was never pushed. Reads of it are refused, even its owner's (detect
// counts it as not published), but a push is what creates it: the token service grants the owner pull and
// push when push is asked for (the registry takes an upload only with both), so the push's own checks
// ("is this tag, this blob there?") answer "not yet" and the upload goes through.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, parseImageReference, sha256Digest } from '../../actions/shared/src/registry.js';
import { startTokenRegistry, type TokenRegistry } from '../support/token-registry.js';

const owner = { username: 'me', password: 'my-password' };
const registries: Record<string, TokenRegistry> = {};

beforeAll(async () => {
  registries['docker-hub'] = await startTokenRegistry({
    style: 'docker-hub',
    users: { [owner.username]: owner.password },
    private: { 'me/opennebula': [owner.username] },
  });
  registries.ghcr = await startTokenRegistry({ style: 'ghcr', users: { [owner.username]: owner.password } });
}, 60_000);
afterAll(async () => {
  for (const registry of Object.values(registries)) await registry.close();
});

describe.each(['docker-hub', 'ghcr'])('a never-pushed repository on a %s-style registry', (style) => {
  it('lets its owner push: no tag, no blob yet, and an upload is taken', async () => {
    const registry = registries[style]!;
    const client = new RegistryClient(parseImageReference(`${registry.host}/me/opennebula`), {
      credentials: owner,
    });
    expect(await client.manifestDigest('7.4.0', 'pull,push')).toBeUndefined();
    expect(await client.hasBlob(`sha256:${'0'.repeat(64)}`)).toBe(false);
    const blob = Buffer.from('first layer');
    expect(await client.pushBlob(sha256Digest(blob), blob.length, blob)).toBe('uploaded');
    expect(await client.hasBlob(sha256Digest(blob))).toBe(true);
  });

  it('still fails for credentials its token service refuses', async () => {
    const registry = registries[style]!;
    const client = new RegistryClient(parseImageReference(`${registry.host}/me/opennebula`), {
      credentials: { username: 'me', password: 'wrong' },
    });
    await expect(client.manifestDigest('7.4.0', 'pull,push')).rejects.toThrow();
  });
});
