// The shared registry client's push side against a real registry (Debian docker-registry), with and
// without htpasswd: blobs and manifests go up with their digests preserved, and read back the same.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, parseImageReference, sha256Digest } from '../../actions/shared/src/registry.js';
import { pushArtifact, startRegistry, type LocalRegistry } from '../support/oci-registry.js';

function pushImage(client: RegistryClient, tag: string, payload: string) {
  const layer = Buffer.from(payload);
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      rootfs: { type: 'layers', diff_ids: [sha256Digest(layer)] },
    }),
  );
  return pushArtifact(client, tag, {
    config: { mediaType: 'application/vnd.oci.image.config.v1+json', body: config },
    layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar', body: layer }],
  });
}

describe.each([false, true])('RegistryClient push (htpasswd: %s)', (auth) => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth });
  });
  afterAll(() => registry.close());

  const client = () =>
    new RegistryClient(parseImageReference(`${registry.host}/push/test`), {
      credentials: registry.credentials,
    });

  it('pushes blobs and a manifest, and reads the same digest back by tag', async () => {
    const { digest, manifest } = await pushImage(client(), '1.0.0', 'layer one');
    expect(digest).toBe(sha256Digest(manifest));
    expect(await client().manifestDigest('1.0.0')).toBe(digest);
    const read = await client().getManifest(digest);
    expect(read?.body.equals(manifest)).toBe(true);
    expect(read?.mediaType).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(await registry.tags('push/test')).toContain('1.0.0');
  });

  it('skips a blob the registry already has and answers undefined for an unknown tag', async () => {
    const blob = Buffer.from('layer one');
    expect(await client().pushBlob(sha256Digest(blob), blob.length, blob)).toBe('exists');
    expect(await client().manifestDigest('no-such-tag')).toBeUndefined();
  });

  it('refuses a blob whose bytes do not match its digest', async () => {
    const blob = Buffer.from('the real bytes');
    await expect(client().pushBlob(sha256Digest('other bytes'), blob.length, blob)).rejects.toThrow(
      /uploading blob sha256:[0-9a-f]{64} failed: HTTP 400/,
    );
  });
});

describe('RegistryClient without the credentials a registry asks for', () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: true });
  });
  afterAll(() => registry.close());

  it('names the image and the hint', async () => {
    const anonymous = new RegistryClient(parseImageReference(`${registry.host}/push/test`), {
      credentialsHint: 'log in with docker/login-action',
    });
    await expect(anonymous.manifestDigest('1.0.0')).rejects.toThrow(
      /push\/test: .* requires authentication; set log in with docker\/login-action/,
    );
  });
});
