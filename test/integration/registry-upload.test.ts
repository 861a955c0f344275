// Blob uploads over links as real ones are: a real registry (Debian docker-registry) behind a proxy that
// reads uploads slowly, stalls, breaks connections or refuses chunked uploads. A layer of tens of MB over a
// slow link takes longer than any whole-request deadline and must still go up; a stalled one fails naming
// the blob and the registry; a broken try is retried in a new upload session.
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient, parseImageReference, sha256Digest } from '../../actions/shared/src/registry.js';
import { startRegistry, type LocalRegistry } from '../support/oci-registry.js';
import { startThrottledProxy, type ProxyOptions, type ThrottledProxy } from '../support/throttled-proxy.js';

const MiB = 1024 * 1024;
const FAST_POLICY = { attempts: 2, baseDelayMs: 10, maxDelayMs: 100, timeoutMs: 30_000, deadlineMs: 60_000 };

let registry: LocalRegistry;
let proxy: ThrottledProxy | undefined;
beforeAll(async () => {
  registry = await startRegistry();
});
afterAll(() => registry.close());
afterEach(async () => {
  await proxy?.close();
  proxy = undefined;
});

/** Distinct bytes per call, so no blob is already in the registry. */
let blobs = 0;
function blob(size: number): Buffer {
  blobs += 1;
  const data = Buffer.alloc(size);
  const seed = createHash('sha256').update(`blob ${blobs} ${Date.now()}`).digest();
  for (let i = 0; i < size; i += seed.length) seed.copy(data, i);
  data.writeUInt32BE(blobs, 0);
  return data;
}

async function through(
  options: ProxyOptions,
  clientOptions: ConstructorParameters<typeof RegistryClient>[1] = {},
) {
  proxy = await startThrottledProxy(registry.url, options);
  return new RegistryClient(parseImageReference(`${proxy.host}/upload/test`), {
    policy: FAST_POLICY,
    ...clientOptions,
  });
}

/** The blob as the registry serves it, hashed. */
async function storedDigest(digest: string): Promise<string> {
  const response = await fetch(`${registry.url}/v2/upload/test/blobs/${digest}`);
  return sha256Digest(Buffer.from(await response.arrayBuffer()));
}

const calls = (p: ThrottledProxy) =>
  p.requests.filter((r) => r.url.includes('/blobs/uploads/')).map((r) => `${r.method} ${r.status ?? '-'}`);

describe('blob uploads', () => {
  it('sends a large blob in PATCH chunks with Content-Range, closed by an empty PUT', async () => {
    const data = blob(5 * MiB + 123);
    const client = await through({}, { upload: { chunkBytes: MiB } });
    expect(await client.pushBlob(sha256Digest(data), data.length, data)).toBe('uploaded');
    expect(calls(proxy!)).toEqual(['POST 202', ...Array(6).fill('PATCH 202'), 'PUT 201']);
    expect(await storedDigest(sha256Digest(data))).toBe(sha256Digest(data));
  });

  it('falls back to one PUT in a new session when the registry refuses chunks', async () => {
    const data = blob(3 * MiB);
    const client = await through(
      { refuse: (req) => (req.method === 'PATCH' ? { status: 405, body: '{"errors":[]}' } : undefined) },
      { upload: { chunkBytes: MiB } },
    );
    expect(await client.pushBlob(sha256Digest(data), data.length, data)).toBe('uploaded');
    expect(calls(proxy!)).toEqual(['POST 202', 'PATCH 405', 'POST 202', 'PUT 201']);
    expect(await storedDigest(sha256Digest(data))).toBe(sha256Digest(data));
  });

  it('retries a broken upload in a new upload session, never at the broken one', async () => {
    const data = blob(8 * MiB);
    const client = await through({ breakUploads: { count: 1, bytes: MiB } });
    expect(await client.pushBlob(sha256Digest(data), data.length, data)).toBe('uploaded');
    expect(calls(proxy!)).toEqual(['POST 202', 'PUT -', 'POST 202', 'PUT 201']);
    const puts = proxy!.requests.filter((r) => r.method === 'PUT').map((r) => r.url.split('?')[0]);
    expect(new Set(puts).size).toBe(2);
    expect(await storedDigest(sha256Digest(data))).toBe(sha256Digest(data));
  });

  it('fails a stalled upload naming the blob and the registry', async () => {
    const data = blob(64 * MiB);
    const client = await through(
      { stallAfterBytes: MiB },
      { upload: { stallMs: 2000, chunkBytes: 128 * MiB } },
    );
    const digest = sha256Digest(data);
    const error = await client.pushBlob(digest, data.length, data).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(error?.message).toContain(`uploading blob ${digest} (64.0 MB) to ${proxy!.host} failed`);
    expect(error?.message).toMatch(
      /\(2 tries, each in a new upload session\): PUT \S+ failed: stalled: no bytes moved for 2s$/,
    );
    expect(calls(proxy!).filter((c) => c.startsWith('POST'))).toHaveLength(2);
  }, 60_000);

  it('pushes a 40 MB blob over a link slow enough that one request takes well over 30 s', async () => {
    const data = blob(40 * MiB);
    const client = await through({ bytesPerSecond: 0.8 * MiB });
    const started = Date.now();
    expect(await client.pushBlob(sha256Digest(data), data.length, data)).toBe('uploaded');
    const longest = Math.max(...proxy!.requests.map((r) => r.ms));
    console.log(`40 MiB at 0.8 MiB/s: ${Date.now() - started} ms, longest request ${longest} ms`);
    expect(longest).toBeGreaterThan(30_000);
    expect(await storedDigest(sha256Digest(data))).toBe(sha256Digest(data));
  }, 180_000);
});
