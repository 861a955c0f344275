// Blob uploads to an OCI registry: POST opens an upload session, PUT with ?digest= closes it.
import type { RequestBody } from './http.js';
import type { RegistryClient } from './registry.js';

/**
 * Uploads a blob in one request (POST to open the session, PUT with the digest), unless the registry has
 * it already. `body` is called once per try, so a file stream can be re-opened for a retry.
 */
export async function pushBlob(
  client: RegistryClient,
  digest: string,
  size: number,
  body: () => RequestBody,
): Promise<'exists' | 'uploaded'> {
  if (await client.hasBlob(digest)) return 'exists';
  const start = await client.request(
    client.url('/blobs/uploads/'),
    { method: 'POST', headers: { 'content-length': '0' }, retryUnsafe: true },
    'pull,push',
  );
  if (start.status !== 202) return client.fail(start, `starting the upload of blob ${digest}`);
  await start.body?.cancel();
  const location = new URL(start.headers.get('location') ?? '', client.url('/blobs/uploads/'));
  location.searchParams.set('digest', digest);
  const put = await client.request(
    location.toString(),
    {
      method: 'PUT',
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body,
    },
    'pull,push',
  );
  if (put.status !== 201) return client.fail(put, `uploading blob ${digest}`);
  await put.body?.cancel();
  return 'uploaded';
}
