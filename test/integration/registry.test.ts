// The registry client against a real registry (Debian's docker-registry) and, for the Bearer-token flow
// that Docker Hub and GHCR use, against the stand-in replaying their challenge and token responses.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listTags, parseImageReference } from '../../actions/shared/src/registry.js';
import { startStandIn, type RecordedResponse, type StandIn } from '../support/http-stand-in.js';
import { startRegistry, type LocalRegistry } from '../support/oci-registry.js';

describe('listTags on a real registry', () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startRegistry();
    for (const tag of ['7.0.1', '7.2.0', '7.4.0', '7.4', 'latest'])
      await registry.pushTag('ci/opennebula', tag);
  });
  afterAll(async () => registry?.close());

  it('lists every tag, following Link pagination', async () => {
    const image = parseImageReference(`${registry.host}/ci/opennebula`);
    expect((await listTags(image, undefined, undefined, 2)).sort()).toEqual([
      '7.0.1',
      '7.2.0',
      '7.4',
      '7.4.0',
      'latest',
    ]);
  });

  it('treats an unknown repository as nothing published', async () => {
    expect(await listTags(parseImageReference(`${registry.host}/ci/never-pushed`))).toEqual([]);
  });
});

describe('listTags on a real registry with Basic auth', () => {
  let registry: LocalRegistry;
  beforeAll(async () => {
    registry = await startRegistry({ auth: true });
    await registry.pushTag('private/opennebula', '7.4.0');
  });
  afterAll(async () => registry?.close());

  it('answers the Basic challenge with the credentials', async () => {
    const image = parseImageReference(`${registry.host}/private/opennebula`);
    expect(await listTags(image, registry.credentials)).toEqual(['7.4.0']);
  });

  it('fails clearly without credentials', async () => {
    const image = parseImageReference(`${registry.host}/private/opennebula`);
    await expect(listTags(image)).rejects.toThrow(
      /requires authentication; set registry-username and registry-password/,
    );
  });

  it('fails clearly with wrong credentials instead of reporting nothing published', async () => {
    const image = parseImageReference(`${registry.host}/private/opennebula`);
    await expect(listTags(image, { username: 'ci-user', password: 'wrong' })).rejects.toThrow(/HTTP 401/);
  });
});

describe('listTags with a Bearer-token challenge (Docker Hub, GHCR)', () => {
  let hub: StandIn;
  beforeAll(async () => {
    hub = await startStandIn();
    const challenge = (base: string) => ({
      status: 401,
      headers: {
        'content-type': 'application/json',
        'www-authenticate': `Bearer realm="${base}/token",service="registry.docker.io",scope="repository:org/opennebula:pull"`,
      },
      body: '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":[{"Type":"repository","Class":"","Name":"org/opennebula","Action":"pull"}]}]}',
    });
    hub.route('/v2/org/opennebula/tags/list', (request, base): RecordedResponse => {
      if (request.headers.authorization !== 'Bearer hub-token') return challenge(base);
      if (request.url.includes('last=')) {
        return {
          status: 200,
          headers: { 'content-type': 'application/json' },
          body: '{"name":"org/opennebula","tags":["7.4.0","latest"]}',
        };
      }
      return {
        status: 200,
        headers: {
          'content-type': 'application/json',
          link: '</v2/org/opennebula/tags/list?last=7.2.0&n=1000>; rel="next"',
        },
        body: '{"name":"org/opennebula","tags":["7.0.1","7.2.0"]}',
      };
    });
    hub.route('/token', {
      status: 200,
      headers: { 'content-type': 'application/json' },
      body: '{"token":"hub-token","access_token":"hub-token","expires_in":300,"issued_at":"2026-11-24T10:00:00.000000000Z"}',
    });
  });
  afterAll(async () => hub?.close());

  // The stand-in is plain HTTP on 127.0.0.1, so the image name points at it the way a loopback registry would.
  const image = () => parseImageReference(`${new URL(hub.url).host}/org/opennebula`);

  it('fetches a token for the challenged scope and follows pagination with it', async () => {
    expect(await listTags(image())).toEqual(['7.0.1', '7.2.0', '7.4.0', 'latest']);
    const tokenRequest = hub.requests.find((r) => r.url.startsWith('/token'));
    expect(new URL(tokenRequest!.url, hub.url).searchParams.get('scope')).toBe(
      'repository:org/opennebula:pull',
    );
    expect(new URL(tokenRequest!.url, hub.url).searchParams.get('service')).toBe('registry.docker.io');
    expect(tokenRequest!.headers.authorization).toBeUndefined();
  });

  it('sends the credentials to the token endpoint only', async () => {
    hub.requests.length = 0;
    await listTags(image(), { username: 'bot', password: 's3cret' });
    const tokenRequest = hub.requests.find((r) => r.url.startsWith('/token'));
    expect(tokenRequest!.headers.authorization).toBe(`Basic ${Buffer.from('bot:s3cret').toString('base64')}`);
    const registryRequests = hub.requests.filter((r) => r.url.startsWith('/v2/'));
    expect(registryRequests.every((r) => !String(r.headers.authorization ?? '').startsWith('Basic'))).toBe(
      true,
    );
  });

  it('fails when the token endpoint refuses, naming the input', async () => {
    hub.route('/token', { status: 401, body: '{"details":"incorrect username or password"}' });
    await expect(listTags(image(), { username: 'bot', password: 'bad' })).rejects.toThrow(
      /token request to .* failed: HTTP 401 \(check registry-username and registry-password\)/,
    );
  });
});
