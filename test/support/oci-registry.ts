// A real OCI registry (Debian's docker-registry, CNCF distribution) on 127.0.0.1 with a free port and a
// throw-away storage directory; optionally behind htpasswd Basic auth, or behind a token service (Bearer
// tokens, as Docker Hub and GHCR: see token-registry.ts). Tests push tags with pushTag(),
// which speaks the distribution API itself (blob upload + manifest PUT), so nothing but the registry runs.
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { RegistryClient } from '../../actions/shared/src/registry.js';
import { requireTool, runTool } from './tools.js';

export interface LocalRegistry {
  /** host:port, as used in image names: 127.0.0.1:PORT */
  readonly host: string;
  /** http://127.0.0.1:PORT */
  readonly url: string;
  readonly credentials: { username: string; password: string } | undefined;
  /** Pushes a tiny image under repository:tag and returns the manifest digest. */
  pushTag(repository: string, tag: string): Promise<string>;
  /** Every tag the registry reports for a repository (empty if unknown). */
  tags(repository: string): Promise<string[]>;
  close(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

const sha256 = (data: Buffer | string) => `sha256:${createHash('sha256').update(data).digest('hex')}`;

async function waitUntilServing(url: string, process: ChildProcess, log: () => string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (Date.now() < deadline) {
    if (process.exitCode !== null) throw new Error(`docker-registry exited (${process.exitCode}):\n${log()}`);
    try {
      const response = await fetch(`${url}/v2/`);
      if (response.status === 200 || response.status === 401) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`docker-registry did not answer on ${url} within 20s:\n${log()}`);
}

/** The registry's `auth: token` settings, and how the test's own requests get a token for a repository. */
export interface TokenAuthSettings {
  realm: string;
  service: string;
  issuer: string;
  /** PEM file of the certificate whose key signs the tokens. */
  rootCertBundle: string;
  /** An Authorization header granting pull and push on `repository` (for pushTag and tags). */
  authorization(repository: string): string;
}

export async function startRegistry(
  options: { auth?: boolean; token?: TokenAuthSettings } = {},
): Promise<LocalRegistry> {
  const binary = requireTool('docker-registry');
  const dir = mkdtempSync(join(tmpdir(), 'oci-registry-'));
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const url = `http://${host}`;
  let credentials: LocalRegistry['credentials'];
  let authBlock = '';
  if (options.auth) {
    credentials = { username: 'ci-user', password: randomBytes(12).toString('hex') };
    const htpasswd = runTool('htpasswd', ['-nbB', credentials.username, credentials.password]);
    writeFileSync(join(dir, 'htpasswd'), htpasswd);
    authBlock = `auth:\n  htpasswd:\n    realm: test-registry\n    path: ${join(dir, 'htpasswd')}\n`;
  }
  const token = options.token;
  if (token) {
    authBlock = [
      'auth:',
      '  token:',
      `    realm: ${token.realm}`,
      `    service: ${token.service}`,
      `    issuer: ${token.issuer}`,
      `    rootcertbundle: ${token.rootCertBundle}`,
      '',
    ].join('\n');
  }
  writeFileSync(
    join(dir, 'config.yml'),
    [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'data')}`,
      '  delete:',
      '    enabled: true',
      'http:',
      `  addr: ${host}`,
      `  secret: ${randomBytes(16).toString('hex')}`,
      authBlock,
    ].join('\n'),
  );
  let output = '';
  const child = spawn(binary, ['serve', join(dir, 'config.yml')], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.on('data', (chunk) => (output += chunk));
  child.stderr?.on('data', (chunk) => (output += chunk));
  await waitUntilServing(url, child, () => output);

  const basic = credentials
    ? `Basic ${Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64')}`
    : undefined;
  const authHeaderFor = (repository: string): Record<string, string> => {
    const authorization = token ? token.authorization(repository) : basic;
    return authorization ? { authorization } : {};
  };

  const uploadBlob = async (repository: string, data: Buffer) => {
    const authHeader = authHeaderFor(repository);
    const digest = sha256(data);
    const start = await fetch(`${url}/v2/${repository}/blobs/uploads/`, {
      method: 'POST',
      headers: authHeader,
    });
    if (start.status !== 202)
      throw new Error(`blob upload start: HTTP ${start.status} ${await start.text()}`);
    const location = new URL(start.headers.get('location') ?? '', url);
    location.searchParams.set('digest', digest);
    const put = await fetch(location, {
      method: 'PUT',
      headers: { ...authHeader, 'content-type': 'application/octet-stream' },
      body: data,
    });
    if (put.status !== 201) throw new Error(`blob upload: HTTP ${put.status} ${await put.text()}`);
    return { digest, size: data.length };
  };

  return {
    host,
    url,
    credentials,
    async pushTag(repository, tag) {
      const config = Buffer.from(
        JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [] } }),
      );
      const configBlob = await uploadBlob(repository, config);
      const manifest = JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', ...configBlob },
        layers: [],
        annotations: { 'org.opencontainers.image.version': tag },
      });
      const response = await fetch(`${url}/v2/${repository}/manifests/${tag}`, {
        method: 'PUT',
        headers: {
          ...authHeaderFor(repository),
          'content-type': 'application/vnd.oci.image.manifest.v1+json',
        },
        body: manifest,
      });
      if (response.status !== 201)
        throw new Error(`manifest PUT ${tag}: HTTP ${response.status} ${await response.text()}`);
      return response.headers.get('docker-content-digest') ?? sha256(manifest);
    },
    async tags(repository) {
      const response = await fetch(`${url}/v2/${repository}/tags/list`, {
        headers: authHeaderFor(repository),
      });
      if (response.status === 404) return [];
      const body = (await response.json()) as { tags?: string[] | null };
      return body.tags ?? [];
    },
    close: async () => {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await exited;
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A blob of an artifact pushed with pushArtifact. */
export interface ArtifactBlob {
  mediaType: string;
  body: Buffer;
  annotations?: Record<string, string>;
}

/**
 * Pushes a one-manifest OCI artifact (an image or, e.g., Trivy's database) with the shared registry
 * client: its config and layers as blobs, then the manifest under `tag`. Returns the digest and manifest.
 */
export async function pushArtifact(
  client: RegistryClient,
  tag: string,
  artifact: { config: ArtifactBlob; layers: ArtifactBlob[]; artifactType?: string },
): Promise<{ digest: string; manifest: Buffer }> {
  const descriptor = (blob: ArtifactBlob) => ({
    mediaType: blob.mediaType,
    digest: sha256(blob.body),
    size: blob.body.length,
    ...(blob.annotations ? { annotations: blob.annotations } : {}),
  });
  for (const blob of [...artifact.layers, artifact.config]) {
    await client.pushBlob(sha256(blob.body), blob.body.length, () => new Uint8Array(blob.body));
  }
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      ...(artifact.artifactType ? { artifactType: artifact.artifactType } : {}),
      config: descriptor(artifact.config),
      layers: artifact.layers.map(descriptor),
    }),
  );
  const digest = await client.putManifest(tag, 'application/vnd.oci.image.manifest.v1+json', manifest);
  return { digest, manifest };
}
