// Trivy as the tests serve it: a download site laid out like Trivy's release page (the pinned trivy binary
// from test/tools, packed as trivy_<ver>_Linux-64bit.tar.gz beside trivy_<ver>_checksums.txt), and a
// vulnerability database generated from a JSON fixture by test/tools/trivy-db and pushed to a real registry
// as the OCI artifact the real mirrors serve (config application/vnd.aquasec.trivy.config.v1+json, one
// layer application/vnd.aquasec.trivy.db.layer.v1.tar+gzip holding trivy.db and metadata.json).
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RegistryClient, parseImageReference } from '../../actions/shared/src/registry.js';
import type { StandIn } from './http-stand-in.js';
import { pushArtifact, type LocalRegistry } from './oci-registry.js';
import { REPO_ROOT, requireTool, runTool } from './tools.js';

export const TRIVY_TEST_VERSION = (() => {
  const pins = readFileSync(join(REPO_ROOT, 'test/tools/versions.sh'), 'utf8');
  return /^TRIVY_VERSION=v(\S+)/m.exec(pins)![1]!;
})();

/** The pinned trivy packed as its release archive, once per process (it is large: pack it fast, once). */
let packed: { asset: string; archive: Buffer; sha: string } | undefined;
function trivyArchive() {
  if (!packed) {
    const version = TRIVY_TEST_VERSION;
    const dir = mkdtempSync(join(tmpdir(), 'trivy-download-'));
    try {
      execFileSync('cp', [requireTool('trivy'), join(dir, 'trivy')]);
      const asset = `trivy_${version}_Linux-64bit.tar.gz`;
      execFileSync('sh', ['-c', `tar -cf - -C "$1" trivy | gzip -1 > "$1/$2"`, 'pack', dir, asset]);
      const archive = readFileSync(join(dir, asset));
      packed = { asset, archive, sha: createHash('sha256').update(archive).digest('hex') };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
  return packed;
}

/** Serves the pinned trivy under `/v<ver>/` on the stand-in; returns the trivy-download-url. */
export function serveTrivyDownloads(site: StandIn, options: { tamper?: boolean } = {}): string {
  const version = TRIVY_TEST_VERSION;
  const { asset, archive, sha } = trivyArchive();
  const served = options.tamper ? Buffer.concat([archive, Buffer.from('tampered')]) : archive;
  site.route(`/v${version}/${asset}`, {
    status: 200,
    headers: { 'content-type': 'application/gzip' },
    body: served,
  });
  site.route(`/v${version}/trivy_${version}_checksums.txt`, {
    status: 200,
    body: `${'0'.repeat(64)}  trivy_${version}_Linux-ARM64.tar.gz\n${sha}  ${asset}\n`,
  });
  return site.url;
}

/** Generates the database from `fixture` and pushes it as <registry>/<repository>:2; returns the reference. */
export async function publishTrivyDb(
  registry: LocalRegistry,
  fixture = join(REPO_ROOT, 'test/fixtures/build-scan-push/vulnerability-db.json'),
  repository = 'aquasecurity/trivy-db',
): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'trivy-db-'));
  try {
    runTool('trivy-db', [fixture, join(dir, 'db')]);
    execFileSync('tar', ['-czf', join(dir, 'db.tar.gz'), '-C', join(dir, 'db'), 'trivy.db', 'metadata.json']);
    const layer = readFileSync(join(dir, 'db.tar.gz'));
    const config = Buffer.from('{}');
    const client = new RegistryClient(parseImageReference(`${registry.host}/${repository}`), {
      credentials: registry.credentials,
    });
    await pushArtifact(client, '2', {
      artifactType: 'application/vnd.aquasec.trivy.config.v1+json',
      config: { mediaType: 'application/vnd.aquasec.trivy.config.v1+json', body: config },
      layers: [
        {
          mediaType: 'application/vnd.aquasec.trivy.db.layer.v1.tar+gzip',
          body: layer,
          annotations: { 'org.opencontainers.image.title': 'db.tar.gz' },
        },
      ],
    });
    return `${registry.host}/${repository}:2`;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
