// Blob uploads to an OCI registry (distribution spec, "Pushing blobs"): POST opens an upload session; a
// small blob goes up in one PUT ?digest=; a large one in PATCH chunks (Content-Range, in order, each answer
// naming the next location) closed by an empty PUT ?digest=, where the registry takes chunks, else in one
// PUT. No request has a whole-request deadline: a slow link may take minutes for a layer of several hundred
// MB; a request fails when its body stops moving (stallMs). A failed try never re-sends to the same
// session: the retry opens a new one, as a session's state after a broken request is unknown.
import { HttpError, backoffMs, sleep, type RequestBody, type RetryPolicy } from './http.js';
import type { RegistryClient } from './registry.js';

/**
 * A blob's bytes: in memory, or a function that opens bytes [start, end) anew for every request (a file
 * stream can be read only once).
 */
export type BlobBody = Uint8Array | ((start: number, end: number) => RequestBody);

export interface UploadOptions {
  /** Blobs larger than this go up in PATCH chunks of this size (raised to the registry's minimum). */
  chunkBytes: number;
  /** A request fails when its body has not moved for this long. */
  stallMs: number;
}

export const DEFAULT_UPLOAD_OPTIONS: UploadOptions = {
  chunkBytes: 32 * 1024 * 1024,
  stallMs: 60_000,
};

/** Registries (by API base) that refused a PATCH chunk: they get monolithic uploads from then on. */
const monolithicOnly = new Set<string>();

function slice(body: BlobBody, start: number, end: number): RequestBody {
  return body instanceof Uint8Array ? body.subarray(start, end) : body(start, end);
}

const mb = (bytes: number) => `${(bytes / 1024 / 1024).toFixed(1)} MB`;

/** A failure a new try may get past: a network error or stall, a 408, 429 or 5xx answer. */
function isTransient(error: unknown): boolean {
  if (!(error instanceof HttpError)) return false;
  const status = error.status;
  return status === undefined || status === 408 || status === 429 || status >= 500;
}

/**
 * Uploads a blob unless the registry has it already, with up to `policy.attempts` tries, each in a new
 * upload session. Fails with a message naming the blob, its size and the registry.
 */
export async function pushBlob(
  client: RegistryClient,
  digest: string,
  size: number,
  body: BlobBody,
  options: UploadOptions,
  policy: RetryPolicy,
): Promise<'exists' | 'uploaded'> {
  if (await client.hasBlob(digest)) return 'exists';
  let lastError: unknown;
  for (let attempt = 0; attempt < policy.attempts; attempt += 1) {
    if (attempt > 0) await sleep(backoffMs(attempt - 1, policy));
    try {
      await uploadOnce(client, digest, size, body, options);
      return 'uploaded';
    } catch (error) {
      if (!isTransient(error)) throw error; // e.g. 400 DIGEST_INVALID: a new session would not help
      lastError = error;
    }
  }
  // Upload locations carry long opaque state in their query: the path is enough to read.
  const problem = (lastError instanceof Error ? lastError.message : String(lastError)).replace(/\?\S*/g, '');
  throw new HttpError(
    `${client.image.input}: uploading blob ${digest} (${mb(size)}) to ${client.image.registry} failed ` +
      `(${policy.attempts} tries, each in a new upload session): ${problem}`,
    client.url('/blobs/uploads/'),
    lastError instanceof HttpError ? lastError.status : undefined,
  );
}

interface Session {
  location: URL;
  /** OCI-Chunk-Min-Length: the smallest chunk the registry takes (but for the last). */
  minChunk: number;
}

async function openSession(client: RegistryClient, digest: string): Promise<Session> {
  const start = await client.request(
    client.url('/blobs/uploads/'),
    { method: 'POST', headers: { 'content-length': '0' }, retryUnsafe: true },
    'pull,push',
  );
  if (start.status !== 202) return client.fail(start, `starting the upload of blob ${digest}`);
  await start.body?.cancel();
  return {
    location: new URL(start.headers.get('location') ?? '', client.url('/blobs/uploads/')),
    minChunk: Number(start.headers.get('oci-chunk-min-length')) || 0,
  };
}

async function uploadOnce(
  client: RegistryClient,
  digest: string,
  size: number,
  body: BlobBody,
  options: UploadOptions,
): Promise<void> {
  const session = await openSession(client, digest);
  const chunk = Math.max(options.chunkBytes, session.minChunk);
  if (size > chunk && !monolithicOnly.has(client.image.apiBase)) {
    const location = await sendChunks(client, digest, size, body, chunk, session.location, options.stallMs);
    if (location) return finish(client, digest, location, 0, undefined, options.stallMs);
    monolithicOnly.add(client.image.apiBase); // the registry refused the first chunk: one PUT instead
    return uploadOnce(client, digest, size, body, options);
  }
  return finish(client, digest, session.location, size, () => slice(body, 0, size), options.stallMs);
}

/**
 * PATCHes [0, size) in chunks; returns the location to close the upload at, or undefined when the registry
 * refused the first chunk in a way that says it takes no chunks (400, 404, 405, 415, 416, 501).
 */
async function sendChunks(
  client: RegistryClient,
  digest: string,
  size: number,
  body: BlobBody,
  chunk: number,
  location: URL,
  stallMs: number,
): Promise<URL | undefined> {
  for (let start = 0; start < size; start += chunk) {
    const end = Math.min(size, start + chunk);
    const response = await client.request(
      location.toString(),
      {
        method: 'PATCH',
        headers: {
          'content-type': 'application/octet-stream',
          'content-length': String(end - start),
          'content-range': `${start}-${end - 1}`,
        },
        body: () => slice(body, start, end),
        once: true,
        stallTimeoutMs: stallMs,
      },
      'pull,push',
    );
    if (response.status !== 202) {
      if (start === 0 && [400, 404, 405, 415, 416, 501].includes(response.status)) {
        await response.body?.cancel();
        return undefined;
      }
      return client.fail(response, `uploading bytes ${start}-${end - 1} of blob ${digest}`);
    }
    await response.body?.cancel();
    location = new URL(response.headers.get('location') ?? location.toString(), location);
  }
  return location;
}

/** PUT ?digest=, with the whole blob (monolithic) or nothing (after the chunks). */
async function finish(
  client: RegistryClient,
  digest: string,
  location: URL,
  length: number,
  body: (() => RequestBody) | undefined,
  stallMs: number,
): Promise<void> {
  const url = new URL(location);
  url.searchParams.set('digest', digest);
  const put = await client.request(
    url.toString(),
    {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(length) },
      ...(body ? { body, stallTimeoutMs: stallMs } : {}),
      once: true,
    },
    'pull,push',
  );
  if (put.status !== 201) return client.fail(put, `uploading blob ${digest}`);
  await put.body?.cancel();
}
