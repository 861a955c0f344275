// OCI distribution client, read and push, the way Docker and GHCR clients talk to registries: Bearer-token
// challenge from WWW-Authenticate (a token per scope, pull or pull+push), Basic for registries that ask for
// it, Link pagination for tags; manifests and blobs by tag or digest, monolithic blob uploads.
// `localhost` and 127.0.0.0/8 registries speak plain HTTP, as Docker assumes; every other one HTTPS.
import { createHash } from 'node:crypto';
import {
  HttpError,
  fetchWithRetry,
  type RetryPolicy,
  type RetryRequestInit,
  type RequestBody,
} from './http.js';

export interface ImageReference {
  /** As the user wrote it, for messages. */
  readonly input: string;
  /** Registry host[:port] as written (docker.io for Docker Hub). */
  readonly registry: string;
  /** Repository path inside the registry (library/ added for Docker Hub official images). */
  readonly repository: string;
  /** Base URL of the registry API, e.g. https://registry-1.docker.io */
  readonly apiBase: string;
}

export interface Credentials {
  username: string;
  password: string;
}

const COMPONENT = '[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*';
const REPOSITORY_RE = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const HOST_RE =
  /^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::\d{1,5})?$/;

export function isPlainHttpRegistry(host: string): boolean {
  const name = host.replace(/:\d+$/, '');
  return name === 'localhost' || /^127(?:\.\d{1,3}){3}$/.test(name);
}

/**
 * Parses an image name without tag or digest: `docker.io/org/name`, `ghcr.io/owner/name`,
 * `127.0.0.1:5000/name`. A name without a registry host means Docker Hub, as in Docker.
 */
export function parseImageReference(input: string, inputName = 'image'): ImageReference {
  const text = input.trim();
  const parts = text.split('/');
  if (text.includes('@') || (parts[parts.length - 1] ?? '').includes(':')) {
    throw new Error(
      `${inputName}: "${text}" must be an image name without tag or digest (e.g. ghcr.io/owner/opennebula)`,
    );
  }
  const first = parts[0] ?? '';
  const hasHost = parts.length > 1 && (first.includes('.') || first.includes(':') || first === 'localhost');
  let registry = hasHost ? first : 'docker.io';
  let repository = hasHost ? parts.slice(1).join('/') : text;
  if (!HOST_RE.test(registry) || !REPOSITORY_RE.test(repository)) {
    throw new Error(`${inputName}: "${text}" is not a valid image name (e.g. docker.io/org/opennebula)`);
  }
  registry = registry.toLowerCase();
  let apiBase = `${isPlainHttpRegistry(registry) ? 'http' : 'https'}://${registry}`;
  if (registry === 'docker.io' || registry === 'index.docker.io' || registry === 'registry-1.docker.io') {
    registry = 'docker.io';
    apiBase = 'https://registry-1.docker.io';
    if (!repository.includes('/')) repository = `library/${repository}`;
  }
  return { input: text, registry, repository, apiBase };
}

export interface Challenge {
  scheme: string;
  params: Record<string, string>;
}

/**
 * Parses a WWW-Authenticate header into its challenges, e.g.
 * `Bearer realm="https://auth",service="x",scope="y", Basic realm="r"` → [Bearer {…}, Basic {…}]. Quoted
 * values may hold commas and escaped quotes (RFC 9110 quoted-string).
 */
export function parseChallenges(header: string): Challenge[] {
  const challenges: Challenge[] = [];
  const token = /\s*([A-Za-z][A-Za-z0-9!#$%&'*+.^_`|~-]*)\s*(=)?\s*/y;
  const quoted = /"((?:[^"\\]|\\.)*)"\s*/y;
  const bare = /([^,\s]*)\s*/y;
  let i = 0;
  let current: Challenge | undefined;
  while (i < header.length) {
    if (header[i] === ',') {
      i += 1;
      continue;
    }
    token.lastIndex = i;
    const name = token.exec(header);
    if (!name) break; // not a token: stop rather than guess
    i = token.lastIndex;
    if (name[2] === '=' && current) {
      let value: string;
      quoted.lastIndex = i;
      const q = quoted.exec(header);
      if (q) {
        value = (q[1] ?? '').replace(/\\(.)/g, '$1');
        i = quoted.lastIndex;
      } else {
        bare.lastIndex = i;
        const m = bare.exec(header)!;
        value = m[1] ?? '';
        i = bare.lastIndex;
      }
      current.params[(name[1] ?? '').toLowerCase()] = value;
    } else {
      current = { scheme: (name[1] ?? '').toLowerCase(), params: {} };
      challenges.push(current);
    }
  }
  return challenges;
}

/** The first challenge of a WWW-Authenticate header (see parseChallenges). */
export function parseChallenge(header: string): Challenge | undefined {
  return parseChallenges(header)[0];
}

/** The next page from a Link header (`<...>; rel="next"`), resolved against the request URL. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (match && /rel\s*=\s*"?next"?/i.test(match[2] ?? '')) {
      try {
        return new URL(match[1] ?? '', base).toString();
      } catch {
        throw new Error(`${base}: the registry's Link header has a malformed next page "${match[1]}"`);
      }
    }
  }
  return undefined;
}

/** At most this many pages of tags are read (100,000 tags at the page size asked for). */
export const MAX_TAG_PAGES = 100;

/** Whether credentials may be sent to `url`: HTTPS, or plain HTTP only to a loopback registry. */
export function mayCarryCredentials(url: string): boolean {
  const parsed = new URL(url);
  return parsed.protocol === 'https:' || isPlainHttpRegistry(parsed.host);
}

/**
 * A registry's answer that a repository does not exist, as the big registries give it: 404 or
 * NAME_UNKNOWN (distribution, GHCR, Quay), or, once a token was granted, 401 with
 * `error="insufficient_scope"` (Docker Hub for a repository that was never pushed) or an UNAUTHORIZED /
 * DENIED error body (Quay, GHCR), the token service having granted a pull token for the name. Nothing is
 * published there: an answer, not a failure.
 */
export function isMissingRepositoryAnswer(
  status: number,
  authenticate: string,
  body: string,
  tokenGranted: boolean,
): boolean {
  if (status === 404 || /NAME_UNKNOWN/.test(body)) return true;
  // Without a granted token, a 401 is a plain "log in" (or wrong password): never read it as "missing".
  if (!tokenGranted || (status !== 401 && status !== 403)) return false;
  const challenge = parseChallenges(authenticate).find((c) => c.scheme === 'bearer');
  if (challenge?.params.error === 'insufficient_scope') return true;
  return /"code"\s*:\s*"(?:UNAUTHORIZED|DENIED)"/.test(body);
}

async function readJson<T>(response: Response, url: string, what: string): Promise<T> {
  const text = await response.text();
  try {
    return JSON.parse(text) as T;
  } catch {
    const type = response.headers.get('content-type') ?? 'no content type';
    throw new HttpError(
      `${url}: expected ${what} as JSON, got ${type}: ${text.slice(0, 120).replace(/\s+/g, ' ').trim()}` +
        ' (a proxy or login page in the way?)',
      url,
      response.status,
    );
  }
}

function basicAuth(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

/** An image reference with a tag or a digest: `ghcr.io/o/n:7.4.0`, `ghcr.io/o/n@sha256:…`. */
export interface TaggedReference {
  image: ImageReference;
  tag: string | undefined;
  digest: string | undefined;
}

const TAG_RE = /^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$/;
const DIGEST_RE = /^sha256:[0-9a-f]{64}$/;

export function isValidTag(tag: string): boolean {
  return TAG_RE.test(tag);
}

export function parseTaggedReference(input: string, inputName = 'image'): TaggedReference {
  let rest = input.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
    if (!DIGEST_RE.test(digest)) throw new Error(`${inputName}: "${input}" has an invalid digest`);
  }
  let tag: string | undefined;
  const lastSlash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  if (colon > lastSlash) {
    tag = rest.slice(colon + 1);
    rest = rest.slice(0, colon);
    if (!isValidTag(tag)) throw new Error(`${inputName}: "${input}" has an invalid tag "${tag}"`);
  }
  return { image: parseImageReference(rest, inputName), tag, digest };
}

/** The media types a manifest GET or HEAD accepts: OCI and Docker v2, single images and indexes. */
export const MANIFEST_MEDIA_TYPES = [
  'application/vnd.oci.image.index.v1+json',
  'application/vnd.oci.image.manifest.v1+json',
  'application/vnd.docker.distribution.manifest.list.v2+json',
  'application/vnd.docker.distribution.manifest.v2+json',
];

export interface Manifest {
  mediaType: string;
  digest: string;
  body: Buffer;
}

export type Scope = 'pull' | 'pull,push';

export interface RegistryClientOptions {
  credentials?: Credentials;
  policy?: RetryPolicy;
  /** Added to "requires authentication" errors, e.g. which inputs to set. */
  credentialsHint?: string;
}

/** One image repository on one registry, with its authorization cached per scope. */
export class RegistryClient {
  private readonly authorization = new Map<Scope, string>();

  constructor(
    readonly image: ImageReference,
    private readonly options: RegistryClientOptions = {},
  ) {}

  private get credentials(): Credentials | undefined {
    return this.options.credentials;
  }

  /** `${apiBase}/v2/${repository}${path}` */
  url(path: string): string {
    return `${this.image.apiBase}/v2/${this.image.repository}${path}`;
  }

  /**
   * A request with authorization for `scope`, answering the registry's challenge once if it asks. Returns
   * the response whatever its status (other than an unanswerable 401), for the caller to interpret.
   */
  async request(url: string, init: RetryRequestInit = {}, scope: Scope = 'pull'): Promise<Response> {
    for (let round = 0; round < 2; round += 1) {
      const headers = new Headers(init.headers);
      const authorization = this.authorization.get(scope);
      if (authorization) headers.set('authorization', authorization);
      const response = await fetchWithRetry(url, { ...init, headers }, this.options.policy);
      if (response.status !== 401 || round === 1) return response;
      const challenges = parseChallenges(response.headers.get('www-authenticate') ?? '');
      const bearer = challenges.find((c) => c.scheme === 'bearer');
      const basic = challenges.find((c) => c.scheme === 'basic');
      await response.body?.cancel();
      if (bearer) {
        this.authorization.set(scope, `Bearer ${await this.bearerToken(bearer, scope)}`);
      } else if (basic && this.credentials) {
        if (!mayCarryCredentials(url)) {
          throw new HttpError(
            `${this.image.input}: ${url} asks for a password over plain HTTP; refusing to send it`,
            url,
            401,
          );
        }
        this.authorization.set(scope, basicAuth(this.credentials));
      } else {
        const hint = this.credentials
          ? ''
          : this.options.credentialsHint
            ? `; set ${this.options.credentialsHint}`
            : '';
        throw new HttpError(`${this.image.input}: ${url} requires authentication${hint}`, url, 401);
      }
    }
    throw new Error('unreachable');
  }

  private async bearerToken(challenge: Challenge, scope: Scope): Promise<string> {
    const realm = challenge.params.realm;
    if (!realm) throw new Error(`${this.image.input}: the registry's Bearer challenge names no realm`);
    let url: URL;
    try {
      url = new URL(realm);
    } catch {
      throw new Error(`${this.image.input}: the registry's Bearer realm "${realm}" is not a URL`);
    }
    if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
    url.searchParams.set('scope', `repository:${this.image.repository}:${scope}`);
    const headers: Record<string, string> = {};
    if (this.credentials) {
      if (!mayCarryCredentials(url.toString())) {
        throw new HttpError(
          `${this.image.input}: the token service ${url.origin} is plain HTTP; refusing to send the password`,
          url.toString(),
          undefined,
        );
      }
      headers.authorization = basicAuth(this.credentials);
    }
    const response = await fetchWithRetry(url.toString(), { headers }, this.options.policy);
    if (!response.ok) {
      await response.body?.cancel();
      const hint = this.options.credentialsHint ? ` (check ${this.options.credentialsHint})` : '';
      throw new HttpError(
        `${this.image.input}: token request to ${url.origin}${url.pathname} failed: HTTP ${response.status}` +
          (this.credentials ? hint : ''),
        url.toString(),
        response.status,
      );
    }
    const body = await readJson<{ token?: string; access_token?: string }>(
      response,
      `${url.origin}${url.pathname}`,
      'a token',
    );
    const token = body.token ?? body.access_token;
    if (!token) throw new Error(`${this.image.input}: token response from ${url.origin} carries no token`);
    return token;
  }

  private async fail(response: Response, what: string): Promise<never> {
    const text = await response.text().catch(() => '');
    throw new HttpError(
      `${this.image.input}: ${what} failed: HTTP ${response.status}${text ? `: ${text.slice(0, 300).trim()}` : ''}`,
      response.url,
      response.status,
    );
  }

  /**
   * Every tag, following pagination (same origin only, at most MAX_TAG_PAGES pages, each page a new URL).
   * A repository the registry says does not exist (see isMissingRepositoryAnswer) has no tags: that is an
   * answer, not a failure. Anything else that is not a 2xx throws.
   */
  async listTags(pageSize = 1000): Promise<string[]> {
    const tags: string[] = [];
    const first = this.url(`/tags/list?n=${pageSize}`);
    const origin = new URL(first).origin;
    const seen = new Set<string>();
    let url: string | undefined = first;
    while (url) {
      if (seen.size >= MAX_TAG_PAGES) {
        throw new HttpError(
          `${this.image.input}: more than ${MAX_TAG_PAGES} pages of tags; stopping at ${url}`,
          url,
          undefined,
        );
      }
      seen.add(url);
      const response = await this.request(url, { headers: { accept: 'application/json' } });
      if (!response.ok) {
        const text = await response.text();
        const tokenGranted = this.authorization.get('pull')?.startsWith('Bearer ') ?? false;
        const authenticate = response.headers.get('www-authenticate') ?? '';
        if (isMissingRepositoryAnswer(response.status, authenticate, text, tokenGranted)) {
          return [];
        }
        const hint =
          response.status === 401 || response.status === 403
            ? this.credentials
              ? ` (the credentials were refused${this.options.credentialsHint ? `: check ${this.options.credentialsHint}` : ''})`
              : this.options.credentialsHint
                ? ` (set ${this.options.credentialsHint})`
                : ''
            : '';
        throw new HttpError(
          `${this.image.input}: GET ${url} failed: HTTP ${response.status}${hint}${text ? `: ${text.slice(0, 200).trim()}` : ''}`,
          url,
          response.status,
        );
      }
      const body = await readJson<{ tags?: unknown }>(response, url, 'a tag list');
      if (body.tags !== null && body.tags !== undefined && !Array.isArray(body.tags)) {
        throw new HttpError(`${url}: "tags" is not a list`, url, response.status);
      }
      tags.push(...((body.tags as string[] | null | undefined) ?? []));
      const next = nextLink(response.headers.get('link'), url);
      if (next === undefined) break;
      if (new URL(next).origin !== origin) {
        throw new HttpError(
          `${this.image.input}: the next page of tags is on another origin (${new URL(next).origin}); ` +
            'not following it with these credentials',
          next,
          undefined,
        );
      }
      if (seen.has(next)) break; // a Link that does not advance: the list is complete
      url = next;
    }
    return tags;
  }

  /** The digest a tag (or digest) resolves to, or undefined when the registry has no such manifest. */
  async manifestDigest(reference: string, scope: Scope = 'pull'): Promise<string | undefined> {
    const response = await this.request(
      this.url(`/manifests/${reference}`),
      { method: 'HEAD', headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') } },
      scope,
    );
    if (response.status === 404) return undefined;
    if (!response.ok) return this.fail(response, `HEAD manifest ${reference}`);
    const digest = response.headers.get('docker-content-digest');
    if (digest) return digest;
    // Some registries leave the header off HEAD answers: the GET body's digest is authoritative.
    return (await this.getManifest(reference, scope))?.digest;
  }

  async getManifest(reference: string, scope: Scope = 'pull'): Promise<Manifest | undefined> {
    const response = await this.request(
      this.url(`/manifests/${reference}`),
      { headers: { accept: MANIFEST_MEDIA_TYPES.join(', ') } },
      scope,
    );
    if (response.status === 404) {
      await response.body?.cancel();
      return undefined;
    }
    if (!response.ok) return this.fail(response, `GET manifest ${reference}`);
    const body = Buffer.from(await response.arrayBuffer());
    const mediaType =
      response.headers.get('content-type')?.split(';')[0]?.trim() ||
      ((JSON.parse(body.toString('utf8')) as { mediaType?: string }).mediaType ?? '');
    return { mediaType, digest: sha256Digest(body), body };
  }

  async hasBlob(digest: string): Promise<boolean> {
    const response = await this.request(this.url(`/blobs/${digest}`), { method: 'HEAD' }, 'pull,push');
    if (response.status === 404) return false;
    if (response.ok) return true;
    return this.fail(response, `HEAD blob ${digest}`);
  }

  /**
   * Uploads a blob in one request (POST to open the session, PUT with the digest), unless the registry has
   * it already. `body` is called once per try, so a file stream can be re-opened for a retry.
   */
  async pushBlob(digest: string, size: number, body: () => RequestBody): Promise<'exists' | 'uploaded'> {
    if (await this.hasBlob(digest)) return 'exists';
    const start = await this.request(
      this.url('/blobs/uploads/'),
      { method: 'POST', headers: { 'content-length': '0' }, retryUnsafe: true },
      'pull,push',
    );
    if (start.status !== 202) return this.fail(start, `starting the upload of blob ${digest}`);
    await start.body?.cancel();
    const location = new URL(start.headers.get('location') ?? '', this.url('/blobs/uploads/'));
    location.searchParams.set('digest', digest);
    const put = await this.request(
      location.toString(),
      {
        method: 'PUT',
        headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
        body,
      },
      'pull,push',
    );
    if (put.status !== 201) return this.fail(put, `uploading blob ${digest}`);
    await put.body?.cancel();
    return 'uploaded';
  }

  /** Puts a manifest under a tag or its digest; returns the digest the registry computed. */
  async putManifest(reference: string, mediaType: string, body: Buffer): Promise<string> {
    const response = await this.request(
      this.url(`/manifests/${reference}`),
      { method: 'PUT', headers: { 'content-type': mediaType }, body: () => new Uint8Array(body) },
      'pull,push',
    );
    if (response.status !== 201) return this.fail(response, `PUT manifest ${reference}`);
    await response.body?.cancel();
    const expected = sha256Digest(body);
    const digest = response.headers.get('docker-content-digest') ?? expected;
    if (digest !== expected) {
      throw new Error(`${this.image.input}: the registry stored ${reference} as ${digest}, not ${expected}`);
    }
    return digest;
  }
}

export function sha256Digest(data: Buffer | Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}

/** Every tag of `image` (see RegistryClient.listTags). */
export async function listTags(
  image: ImageReference,
  credentials?: Credentials,
  policy?: RetryPolicy,
  pageSize = 1000,
): Promise<string[]> {
  const client = new RegistryClient(image, {
    credentials,
    policy,
    credentialsHint: 'registry-username and registry-password',
  });
  return client.listTags(pageSize);
}
