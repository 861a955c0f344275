// Read-only OCI distribution client: lists the tags of an image repository the way Docker and GHCR clients
// do (Bearer-token challenge from WWW-Authenticate, Basic for registries that ask for it, Link pagination).
// `localhost` and 127.0.0.0/8 registries speak plain HTTP, as Docker assumes; every other one HTTPS.
import { HttpError, fetchWithRetry, type RetryPolicy } from './http.js';

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

/** Parses a WWW-Authenticate header such as `Bearer realm="https://auth",service="x",scope="y"`. */
export function parseChallenge(header: string): Challenge | undefined {
  const match = /^\s*([A-Za-z]+)\s*(.*)$/.exec(header);
  if (!match) return undefined;
  const params: Record<string, string> = {};
  const paramRe = /([A-Za-z_]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^,\s]*))/g;
  for (const part of (match[2] ?? '').matchAll(paramRe)) {
    params[(part[1] ?? '').toLowerCase()] = (part[2] ?? part[3] ?? '').replace(/\\(.)/g, '$1');
  }
  return { scheme: (match[1] ?? '').toLowerCase(), params };
}

/** The next page from a Link header (`<...>; rel="next"`), resolved against the request URL. */
export function nextLink(header: string | null, base: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(',')) {
    const match = /<([^>]*)>\s*;(.*)$/.exec(part.trim());
    if (match && /rel\s*=\s*"?next"?/i.test(match[2] ?? '')) return new URL(match[1] ?? '', base).toString();
  }
  return undefined;
}

function basicAuth(credentials: Credentials): string {
  return `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`;
}

async function bearerToken(
  challenge: Challenge,
  image: ImageReference,
  credentials: Credentials | undefined,
  policy: RetryPolicy | undefined,
): Promise<string> {
  const realm = challenge.params.realm;
  if (!realm) throw new Error(`${image.input}: the registry's Bearer challenge names no realm`);
  const url = new URL(realm);
  if (challenge.params.service) url.searchParams.set('service', challenge.params.service);
  url.searchParams.set('scope', challenge.params.scope ?? `repository:${image.repository}:pull`);
  const headers: Record<string, string> = {};
  if (credentials) headers.authorization = basicAuth(credentials);
  const response = await fetchWithRetry(url.toString(), { headers }, policy);
  if (!response.ok) {
    await response.body?.cancel();
    throw new HttpError(
      `${image.input}: token request to ${url.origin}${url.pathname} failed: HTTP ${response.status}` +
        (credentials ? ' (check registry-username and registry-password)' : ''),
      url.toString(),
      response.status,
    );
  }
  const body = (await response.json()) as { token?: string; access_token?: string };
  const token = body.token ?? body.access_token;
  if (!token) throw new Error(`${image.input}: token response from ${url.origin} carries no token`);
  return token;
}

/**
 * Every tag of `image`, following pagination. A repository the registry does not know (404 or
 * NAME_UNKNOWN) has no tags: that is an answer, not a failure. Anything else that is not a 2xx throws.
 */
export async function listTags(
  image: ImageReference,
  credentials?: Credentials,
  policy?: RetryPolicy,
  pageSize = 1000,
): Promise<string[]> {
  const tags: string[] = [];
  let url: string | undefined = `${image.apiBase}/v2/${image.repository}/tags/list?n=${pageSize}`;
  let authorization: string | undefined;
  let challenged = false;
  while (url) {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (authorization) headers.authorization = authorization;
    const response = await fetchWithRetry(url, { headers }, policy);
    if (response.status === 401 && !challenged) {
      challenged = true;
      const challenge = parseChallenge(response.headers.get('www-authenticate') ?? '');
      await response.body?.cancel();
      if (challenge?.scheme === 'bearer') {
        authorization = `Bearer ${await bearerToken(challenge, image, credentials, policy)}`;
      } else if (challenge?.scheme === 'basic' && credentials) {
        authorization = basicAuth(credentials);
      } else {
        throw new HttpError(
          `${image.input}: ${url} requires authentication` +
            (credentials ? '' : '; set registry-username and registry-password'),
          url,
          401,
        );
      }
      continue;
    }
    if (response.status === 404) {
      await response.body?.cancel();
      return [];
    }
    if (!response.ok) {
      const text = await response.text();
      if (/NAME_UNKNOWN/.test(text)) return [];
      throw new HttpError(
        `${image.input}: GET ${url} failed: HTTP ${response.status}${text ? `: ${text.slice(0, 200).trim()}` : ''}`,
        url,
        response.status,
      );
    }
    const body = (await response.json()) as { tags?: string[] | null };
    tags.push(...(body.tags ?? []));
    url = nextLink(response.headers.get('link'), url);
  }
  return tags;
}
