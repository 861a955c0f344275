// A registry behind a token service, the way Docker Hub and GHCR are: the real Debian docker-registry with
// `auth: token` trusts only JWTs signed by this token service's key, and the token service decides, as the
// real ones do, what each caller may see. It knows its own accounts only, so credentials meant for another
// registry are refused there, as auth.docker.io and ghcr.io/token refuse them.
//
// What the real services answer, and so what this one answers:
// - Wrong credentials: Docker Hub's auth.docker.io 401 `{"details":"incorrect username or password"}`;
//   ghcr.io/token 403 `{"errors":[{"code":"DENIED","message":"denied"}]}` (skopeo "Requesting bearer token:
//   403 Forbidden", go-containerregistry "DENIED: denied" for a stale or wrong token).
// - No or valid credentials: a token is granted for the scope, holding only the access the caller has
//   (anonymous tokens too). A token without the access asked for is refused by the registry:
//   Docker Hub (and the real registry) 401 with `error="insufficient_scope"`, for a private repository and
//   for one never pushed alike; GHCR 403 `DENIED` "requested access to the resource is denied" to a read,
//   "permission_denied: write_package" to a push.
// - `docker login` checks credentials with a token request without scope.
// - An `identitytoken` (Azure ACR, `docker login` with an OAuth2 flow) is exchanged by a POST with
//   grant_type=refresh_token (distribution's token spec, "OAuth2 token"); an unknown one is refused (401).
import { execFileSync } from 'node:child_process';
import { X509Certificate, createPrivateKey, randomBytes, sign, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startRegistry, type LocalRegistry } from './oci-registry.js';

export type TokenServiceStyle = 'docker-hub' | 'ghcr';

export interface TokenRegistryOptions {
  style: TokenServiceStyle;
  /** Accounts the token service knows: username → password. */
  users: Record<string, string>;
  /** Private repositories → the users who may read (and push) them. Every other repository is public. */
  private?: Record<string, string[]>;
  /** Users who may read but never push (a workflow token with `packages: read` only). */
  readOnly?: string[];
  /** Identity (refresh) tokens the service accepts → the user each stands for. */
  identityTokens?: Record<string, string>;
}

export interface TokenRegistry extends LocalRegistry {
  /** The token service's base URL (its realm is `${tokenUrl}/token`). */
  readonly tokenUrl: string;
  /** Requests the token service received: method, path and query, and the username it was sent (if any). */
  readonly tokenRequests: { method: string; url: string; username: string | undefined }[];
}

interface Access {
  type: string;
  name: string;
  actions: string[];
}

const SERVICE = 'registry.test';
const ISSUER = 'token-service.test';

function base64url(data: Buffer | string): string {
  return Buffer.from(data).toString('base64url');
}

/** A self-signed P-256 certificate and key, the registry's `rootcertbundle` and the token signer. */
function signingKey(dir: string): { key: KeyObject; certDer: Buffer; certPath: string } {
  const certPath = join(dir, 'token-cert.pem');
  const keyPath = join(dir, 'token-key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-days',
      '1',
    ].concat(['-subj', `/CN=${ISSUER}`, '-keyout', keyPath, '-out', certPath]),
    { stdio: 'ignore', input: '' },
  );
  const certDer = new X509Certificate(readFileSync(certPath)).raw;
  return { key: createPrivateKey(readFileSync(keyPath)), certDer, certPath };
}

function jwt(key: KeyObject, certDer: Buffer, subject: string, access: Access[]): string {
  const now = Math.floor(Date.now() / 1000);
  const header = { typ: 'JWT', alg: 'ES256', x5c: [certDer.toString('base64')] };
  const claims = {
    iss: ISSUER,
    sub: subject,
    aud: SERVICE,
    exp: now + 300,
    nbf: now - 10,
    iat: now,
    jti: randomBytes(8).toString('hex'),
    access,
  };
  const input = `${base64url(JSON.stringify(header))}.${base64url(JSON.stringify(claims))}`;
  const signature = sign('sha256', Buffer.from(input), { key, dsaEncoding: 'ieee-p1363' });
  return `${input}.${base64url(signature)}`;
}

function basicUser(request: IncomingMessage): { username: string; password: string } | undefined {
  const header = request.headers.authorization ?? '';
  if (!header.startsWith('Basic ')) return undefined;
  const decoded = Buffer.from(header.slice(6), 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

const REFUSED: Record<TokenServiceStyle, { status: number; body: string }> = {
  'docker-hub': { status: 401, body: '{"details":"incorrect username or password"}\n' },
  ghcr: { status: 403, body: '{"errors":[{"code":"DENIED","message":"denied"}]}\n' },
};

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let body = '';
    request.on('data', (chunk) => (body += chunk));
    request.on('end', () => resolve(body));
  });
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

/**
 * The access a caller (undefined: anonymous) has to what `scope` asks for. Nobody may read a repository
 * that does not exist (there is no package to grant access to: Docker Hub and GHCR refuse it like a
 * private one); a known user may push to it, creating it.
 */
async function grant(
  options: TokenRegistryOptions,
  user: string | undefined,
  scope: string | null,
  exists: (name: string) => Promise<boolean>,
): Promise<Access[]> {
  const match = /^repository:([^:]+):(.+)$/.exec(scope ?? '');
  if (!match) return [];
  const [, name, asked] = match as unknown as [string, string, string];
  const readers = options.private?.[name];
  const mayPush =
    user !== undefined && !options.readOnly?.includes(user) && (readers ? readers.includes(user) : true);
  // A never-pushed repository is hidden from reads, even its owner's; a push creates it, and the registry
  // takes an upload only with pull and push (distribution's rule), so one who may push gets both.
  const pushing = asked.split(',').includes('push') && mayPush;
  const mayRead =
    (readers ? user !== undefined && readers.includes(user) : true) && (pushing || (await exists(name)));
  const actions = asked
    .split(',')
    .filter((action) => (action === 'pull' ? mayRead : action === 'push' ? mayPush : false));
  return actions.length > 0 ? [{ type: 'repository', name, actions }] : [];
}

/**
 * GHCR's registry answers a token without the access asked for with 403 DENIED, where the real registry
 * (like Docker Hub) answers 401 insufficient_scope: a front that forwards everything else unchanged.
 */
async function ghcrFront(registryUrl: string): Promise<{ server: Server; url: string }> {
  const target = new URL(registryUrl);
  const server = createServer((request, response) => {
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: request.method,
        path: request.url,
        headers: request.headers,
      },
      (answer) => {
        const challenge = String(answer.headers['www-authenticate'] ?? '');
        if (answer.statusCode === 401 && challenge.includes('error="insufficient_scope"')) {
          answer.resume();
          const write = request.method !== 'GET' && request.method !== 'HEAD';
          const message = write
            ? 'permission_denied: write_package'
            : 'requested access to the resource is denied';
          response.writeHead(403, { 'content-type': 'application/json' });
          response.end(JSON.stringify({ errors: [{ code: 'DENIED', message }] }) + '\n');
          return;
        }
        response.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(response);
      },
    );
    upstream.on('error', () => response.destroy());
    request.pipe(upstream);
  });
  return { server, url: await listen(server) };
}

export async function startTokenRegistry(options: TokenRegistryOptions): Promise<TokenRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'token-service-'));
  const { key, certDer, certPath } = signingKey(dir);
  const tokenRequests: TokenRegistry['tokenRequests'] = [];

  const admin = (repository: string) =>
    `Bearer ${jwt(key, certDer, 'admin', [{ type: 'repository', name: repository, actions: ['pull', 'push'] }])}`;
  let registryUrl = '';
  const exists = async (name: string) =>
    (await fetch(`${registryUrl}/v2/${name}/tags/list`, { headers: { authorization: admin(name) } })).ok;
  const issue = async (user: string | undefined, scope: string | null) =>
    jwt(key, certDer, user ?? '', await grant(options, user, scope, exists));

  const tokenServer = createServer(async (request, response) => {
    const url = new URL(request.url ?? '/', 'http://token.test');
    const body = await readBody(request);
    const basic = basicUser(request);
    tokenRequests.push({
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      username: basic?.username,
    });
    const answer = (status: number, text: string) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(text);
    };
    if (url.pathname !== '/token') return answer(404, '{"details":"not found"}\n');
    if (request.method === 'POST') {
      const form = new URLSearchParams(body);
      const user = options.identityTokens?.[form.get('refresh_token') ?? ''];
      if (form.get('grant_type') !== 'refresh_token' || !user)
        return answer(401, '{"error":"invalid_grant"}\n');
      const token = await issue(user, form.get('scope'));
      return answer(200, JSON.stringify({ access_token: token, expires_in: 300 }));
    }
    if (basic && options.users[basic.username] !== basic.password) {
      const refused = REFUSED[options.style];
      return answer(refused.status, refused.body);
    }
    const token = await issue(basic?.username, url.searchParams.get('scope'));
    return answer(200, JSON.stringify({ token, expires_in: 300 }));
  });
  const tokenUrl = await listen(tokenServer);

  const registry = await startRegistry({
    token: {
      // By name, as real registries name their token service (auth.docker.io, ghcr.io): go-containerregistry
      // (cosign, crane) refuses a realm at a private or loopback IP literal other than the registry's own.
      realm: `${tokenUrl.replace('//127.0.0.1:', '//localhost:')}/token`,
      service: SERVICE,
      issuer: ISSUER,
      rootCertBundle: certPath,
      authorization: admin,
    },
  });
  registryUrl = registry.url;
  const front = options.style === 'ghcr' ? await ghcrFront(registry.url) : undefined;
  const [username, password] = Object.entries(options.users)[0] ?? [];

  return {
    ...registry,
    host: front ? new URL(front.url).host : registry.host,
    url: front?.url ?? registry.url,
    credentials: username !== undefined ? { username, password: password! } : undefined,
    tokenUrl,
    tokenRequests,
    close: async () => {
      await registry.close();
      front?.server.closeAllConnections();
      await new Promise((resolve) => front?.server.close(resolve) ?? resolve(undefined));
      tokenServer.closeAllConnections();
      await new Promise((resolve) => tokenServer.close(resolve));
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
