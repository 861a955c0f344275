// The registry client against a real registry (Debian's docker-registry) and, for the Bearer-token flow
// that Docker Hub and GHCR use, against the stand-in replaying their challenge and token responses.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  KNOWN_TOKEN_SERVICES,
  MAX_TAG_PAGES,
  RegistryClient,
  listTags,
  parseImageReference,
  sha256Digest,
} from '../../actions/shared/src/registry.js';
import { startTokenRegistry } from '../support/token-registry.js';
import {
  sequentialDepth,
  startStandIn,
  type RecordedResponse,
  type StandIn,
} from '../support/http-stand-in.js';
import { startRegistry, type LocalRegistry } from '../support/oci-registry.js';
import { REPO_ROOT } from '../support/tools.js';

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

  it("asks a known registry's token service before its challenge: one round trip less (Docker Hub, GHCR)", async () => {
    hub.requests.length = 0;
    const tokenServices = {
      [image().registry]: { realm: `${hub.url}/token`, service: 'registry.docker.io' },
    };
    const client = new RegistryClient(image(), { tokenServices });
    expect(await client.listTags()).toEqual(['7.0.1', '7.2.0', '7.4.0', 'latest']);
    expect(hub.requests.map((r) => r.url.split('?')[0])).toEqual([
      '/token',
      '/v2/org/opennebula/tags/list',
      '/v2/org/opennebula/tags/list',
    ]);
    expect(sequentialDepth(hub.requests)).toBe(3); // token, then the two pages: no challenge first
    expect(Object.keys(KNOWN_TOKEN_SERVICES).sort()).toEqual(['docker.io', 'ghcr.io']);
  });

  it('takes insufficient_scope to a granted token as final: a never-pushed repository costs two round trips', async () => {
    const hubLike = await startTokenRegistry({ style: 'docker-hub', users: {} });
    try {
      const image = parseImageReference(`${hubLike.host}/me/never-pushed`);
      const tokenServices = {
        [image.registry]: { realm: `${hubLike.tokenUrl}/token`, service: 'registry.test' },
      };
      const client = new RegistryClient(image, { tokenServices });
      expect(await client.readTags()).toEqual({ tags: [], hidden: true });
      expect(hubLike.tokenRequests).toHaveLength(1);
    } finally {
      await hubLike.close();
    }
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
      /the token service .*\/token refused the credentials \(check registry-username and registry-password\): HTTP 401: \{"details":"incorrect username or password"\}/,
    );
  });
});

describe('listTags: registries saying a repository does not exist (recorded formats)', () => {
  let site: StandIn;
  beforeAll(async () => {
    site = await startStandIn();
  });
  afterAll(async () => site?.close());

  const answers = (file: string, name: string) => {
    const text = readFileSync(join(REPO_ROOT, 'test/fixtures/registries', file), 'utf8')
      .replaceAll('{base}', site.url)
      .replaceAll('{name}', name);
    return JSON.parse(text) as Record<'challenge' | 'token' | 'answer', RecordedResponse>;
  };
  const serve = (file: string, name: string, tokenPath: string) => {
    const recorded = answers(file, name);
    site.route(`/v2/${name}/tags/list`, (request) =>
      request.headers.authorization?.startsWith('Bearer ') ? recorded.answer : recorded.challenge,
    );
    site.route(tokenPath, recorded.token);
  };
  const image = (name: string) => parseImageReference(`${new URL(site.url).host}/${name}`);

  it.each([
    ['dockerhub-missing.json', 'org/never-pushed', '/token'],
    ['ghcr-missing.json', 'owner/never-pushed', '/token'],
    ['quay-missing.json', 'quayorg/never-pushed', '/v2/auth'],
  ])('%s: nothing published, anonymously and with credentials', async (file, name, tokenPath) => {
    serve(file, name, tokenPath);
    expect(await listTags(image(name))).toEqual([]);
    expect(await listTags(image(name), { username: 'bot', password: 'pw' })).toEqual([]);
  });

  it('keeps any other 401 after a token an error that says which credentials to set', async () => {
    const recorded = answers('dockerhub-missing.json', 'org/locked');
    site.route('/v2/org/locked/tags/list', (request) =>
      request.headers.authorization?.startsWith('Bearer ')
        ? { status: 401, headers: { 'content-type': 'text/plain' }, body: 'token expired' }
        : recorded.challenge,
    );
    site.route('/token', recorded.token);
    await expect(listTags(image('org/locked'))).rejects.toThrow(
      /GET .*\/v2\/org\/locked\/tags\/list\?n=1000 failed: HTTP 401 \(set registry-username and registry-password\)/,
    );
  });

  it('answers the Bearer challenge among several, with escaped quotes in its parameters', async () => {
    site.route('/v2/multi/one/tags/list', (request, base) =>
      request.headers.authorization === 'Bearer multi'
        ? { status: 200, body: '{"name":"multi/one","tags":["7.4.0"]}' }
        : {
            status: 401,
            headers: {
              'www-authenticate': `Basic realm="registry, \\"main\\"", Bearer realm="${base}/multi-token",service="x \\"y\\""`,
            },
          },
    );
    site.route('/multi-token', { status: 200, body: '{"token":"multi"}' });
    expect(await listTags(image('multi/one'))).toEqual(['7.4.0']);
    const tokenRequest = site.requests.filter((r) => r.url.startsWith('/multi-token')).at(-1)!;
    expect(new URL(tokenRequest.url, site.url).searchParams.get('service')).toBe('x "y"');
  });

  it('names the URL when a 200 is not JSON (a proxy login page)', async () => {
    site.route('/v2/proxy/page/tags/list', {
      status: 200,
      headers: { 'content-type': 'text/html' },
      body: '<html><body>Please log in to the corporate proxy</body></html>',
    });
    await expect(listTags(image('proxy/page'))).rejects.toThrow(
      /\/v2\/proxy\/page\/tags\/list\?n=1000: expected a tag list as JSON, got text\/html: <html><body>Please log in/,
    );
  });

  it('stops at a Link that does not advance, and caps the number of pages', async () => {
    site.route('/v2/loop/same/tags/list', {
      status: 200,
      headers: { link: '</v2/loop/same/tags/list?n=1000>; rel="next"' },
      body: '{"tags":["7.4.0"]}',
    });
    expect(await listTags(image('loop/same'))).toEqual(['7.4.0']);
    let page = 0;
    site.route('/v2/loop/endless/tags/list', () => {
      page += 1;
      return {
        status: 200,
        headers: { link: `</v2/loop/endless/tags/list?last=t${page}&n=1>; rel="next"` },
        body: `{"tags":["t${page}"]}`,
      };
    });
    await expect(listTags(image('loop/endless'), undefined, undefined, 1)).rejects.toThrow(
      `more than ${MAX_TAG_PAGES} pages of tags`,
    );
    expect(page).toBe(MAX_TAG_PAGES);
  });

  it('never follows a next page to another origin', async () => {
    site.route('/v2/cross/origin/tags/list', {
      status: 200,
      headers: { link: '<http://127.0.0.2:9/v2/cross/origin/tags/list?last=a>; rel="next"' },
      body: '{"tags":["7.4.0"]}',
    });
    await expect(listTags(image('cross/origin'), { username: 'bot', password: 'pw' })).rejects.toThrow(
      /next page of tags is on another origin \(http:\/\/127\.0\.0\.2:9\)/,
    );
  });

  it('never sends a password to a token service over plain HTTP on the network', async () => {
    // The realm is a documentation address (RFC 5737): refused before any request is made to it.
    site.route('/v2/plain/realm/tags/list', {
      status: 401,
      headers: { 'www-authenticate': 'Bearer realm="http://192.0.2.10/token",service="x"' },
    });
    await expect(listTags(image('plain/realm'), { username: 'bot', password: 'pw' })).rejects.toThrow(
      /token service http:\/\/192\.0\.2\.10 is plain HTTP; refusing to send the password/,
    );
  });
});

describe('a registry behind a token service (GHCR style) refusing a push', () => {
  it("shows the registry's error and the permission to grant", async () => {
    const ghcr = await startTokenRegistry({
      style: 'ghcr',
      users: { 'gh-user': 'ghs_token' },
      readOnly: ['gh-user'],
    });
    try {
      await ghcr.pushTag('me/opennebula', '7.4.0');
      const client = new RegistryClient(parseImageReference(`${ghcr.host}/me/opennebula`), {
        credentials: ghcr.credentials,
      });
      const blob = Buffer.from('layer');
      await expect(
        client.pushBlob(sha256Digest(blob), blob.length, () => new Uint8Array(blob)),
      ).rejects.toThrow(/HTTP 403: .*permission_denied: write_package.*permissions: packages: write/s);
    } finally {
      await ghcr.close();
    }
  });
});
