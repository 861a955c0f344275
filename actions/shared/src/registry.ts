// OCI distribution client, read and push, the way Docker and GHCR clients talk to registries: authorization
// per scope (registry-auth.ts), Link pagination for tags; manifests and blobs by tag or digest, blob uploads
// (registry-upload.ts). `localhost` and 127.0.0.0/8 registries speak plain HTTP, as Docker assumes; every
// other one HTTPS. Image references live in registry-reference.ts; every name is re-exported here.
import {
  DEFAULT_RETRY_POLICY,
  HttpError,
  fetchWithRetry,
  readJson,
  type RetryPolicy,
  type RetryRequestInit,
} from './http.js';
import {
  RegistryAuthorizer,
  TokenRefusedError,
  isMissingRepositoryAnswer,
  refusalHint,
  type AuthorizerOptions,
  type Credentials,
  type Scope,
} from './registry-auth.js';
import { sha256Digest, type ImageReference } from './registry-reference.js';
import { DEFAULT_UPLOAD_OPTIONS, pushBlob, type BlobBody, type UploadOptions } from './registry-upload.js';

export {
  isPlainHttpRegistry,
  isValidTag,
  parseImageReference,
  parseTaggedReference,
  sha256Digest,
  type ImageReference,
  type TaggedReference,
} from './registry-reference.js';
export {
  KNOWN_TOKEN_SERVICES,
  RegistryAuthorizer,
  TokenRefusedError,
  isMissingRepositoryAnswer,
  refusalHint,
  mayCarryCredentials,
  parseChallenge,
  parseChallenges,
  type Challenge,
  type Credentials,
  type Scope,
} from './registry-auth.js';
export { DEFAULT_UPLOAD_OPTIONS, type BlobBody, type UploadOptions } from './registry-upload.js';

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

/** What a registry showed of a repository's tags: `hidden` when it refused to show the repository at all. */
export interface TagListing {
  tags: string[];
  hidden: boolean;
}

/** Thrown inside readTags when the registry hides the repository (never escapes it). */
class HiddenRepository extends Error {}

/** Credentials, retry policy, the hint for "requires authentication" errors, and blob upload settings. */
export interface RegistryClientOptions extends AuthorizerOptions {
  upload?: Partial<UploadOptions>;
}

/** One image repository on one registry, with its authorization cached per scope. */
export class RegistryClient {
  private readonly authorizer: RegistryAuthorizer;

  constructor(
    readonly image: ImageReference,
    private readonly options: RegistryClientOptions = {},
  ) {
    this.authorizer = new RegistryAuthorizer(image, options);
  }

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
    await this.authorizer.prepare(scope);
    for (let round = 0; round < 2; round += 1) {
      const headers = new Headers(init.headers);
      const authorization = this.authorizer.header(scope);
      if (authorization) headers.set('authorization', authorization);
      const response = await fetchWithRetry(url, { ...init, headers }, this.options.policy);
      if (response.status !== 401 || round === 1 || this.authorizer.isFinal(response, scope)) return response;
      await this.authorizer.answer(response, url, scope);
    }
    throw new Error('unreachable');
  }

  /** Throws an HttpError naming the image, `what` failed and the registry's answer. */
  async fail(response: Response, what: string): Promise<never> {
    const text = await response.text().catch(() => '');
    throw new HttpError(
      `${this.image.input}: ${what} failed: HTTP ${response.status}${text ? `: ${text.slice(0, 300).trim()}` : ''}` +
        refusalHint(response.status, text),
      response.url,
      response.status,
    );
  }

  /** Every tag (see readTags). */
  async listTags(pageSize = 1000): Promise<string[]> {
    return (await this.readTags(pageSize)).tags;
  }

  /**
   * Every tag, following pagination (same origin only, at most MAX_TAG_PAGES pages, each page a new URL).
   * A repository the registry says does not exist (see isMissingRepositoryAnswer) has no tags: that is an
   * answer, not a failure; `hidden` says the registry refused to show it (401/403, or a token service
   * refusing an anonymous caller) rather than said it does not exist. Anything else that is not a 2xx throws.
   */
  async readTags(pageSize = 1000): Promise<TagListing> {
    try {
      return { tags: await this.tagPages(pageSize), hidden: false };
    } catch (error) {
      if (error instanceof HiddenRepository) return { tags: [], hidden: true };
      if (error instanceof TokenRefusedError && !error.withCredentials && error.status !== 429) {
        return { tags: [], hidden: true };
      }
      throw error;
    }
  }

  private async tagPages(pageSize: number): Promise<string[]> {
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
        const tokenGranted = this.authorizer.tokenGranted('pull');
        const authenticate = response.headers.get('www-authenticate') ?? '';
        if (isMissingRepositoryAnswer(response.status, authenticate, text, tokenGranted)) {
          if (response.status === 404 || /NAME_UNKNOWN/.test(text)) return [];
          throw new HiddenRepository();
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
          `${this.image.input}: GET ${url} failed: HTTP ${response.status}${hint}${text ? `: ${text.slice(0, 200).trim()}` : ''}` +
            refusalHint(response.status, text),
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

  /** Uploads a blob unless the registry has it (see registry-upload.ts). */
  pushBlob(digest: string, size: number, body: BlobBody): Promise<'exists' | 'uploaded'> {
    const options = { ...DEFAULT_UPLOAD_OPTIONS, ...this.options.upload };
    return pushBlob(this, digest, size, body, options, this.options.policy ?? DEFAULT_RETRY_POLICY);
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
