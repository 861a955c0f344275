// Image references as Docker reads them: `docker.io/org/name`, `ghcr.io/owner/name:tag`,
// `127.0.0.1:5000/name@sha256:…`; which registries speak plain HTTP; content digests.
import { createHash } from 'node:crypto';

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

export function sha256Digest(data: Buffer | Uint8Array | string): string {
  return `sha256:${createHash('sha256').update(data).digest('hex')}`;
}
