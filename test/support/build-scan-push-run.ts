// The bundled build-scan-push as the integration tests run it: buildah (chroot, vfs) building a context of
// test/fixtures/build-scan-push, the pinned trivy from a local download site and the test database, image
// tags 1.0.0/1.0/latest of version 1.0.0, a fixed SOURCE_DATE_EPOCH and a repository and commit to label.
import { join } from 'node:path';
import { runAction, type ActionRun } from './action-runner.js';
import { REPO_ROOT } from './tools.js';
import { TRIVY_TEST_VERSION } from './trivy.js';

export const BUILD_FIXTURES = join(REPO_ROOT, 'test/fixtures/build-scan-push');

export interface BuildScanPushSetup {
  /** Scratch directory: reports, tool cache and Trivy cache go under it. */
  work: string;
  trivyDownloadUrl: string;
  trivyDb: string;
}

let runs = 0;

export async function runBuildScanPush(
  setup: BuildScanPushSetup,
  context: string,
  image: string,
  inputs: Record<string, string> = {},
  env: Record<string, string> = {},
): Promise<ActionRun & { sarif: string; sbom: string }> {
  runs += 1;
  const sarif = join(setup.work, `run-${runs}.sarif`);
  const sbom = join(setup.work, `run-${runs}.cdx.json`);
  const run = await runAction(
    'build-scan-push',
    {
      context: join(BUILD_FIXTURES, context),
      images: image,
      tags: '1.0.0\n1.0\nlatest',
      version: '1.0.0',
      builder: 'buildah',
      'trivy-version': `v${TRIVY_TEST_VERSION}`,
      'trivy-download-url': setup.trivyDownloadUrl,
      'trivy-db-repositories': setup.trivyDb,
      'sarif-file': sarif,
      'sbom-file': sbom,
      ...inputs,
    },
    {
      BUILDAH_ISOLATION: 'chroot',
      STORAGE_DRIVER: 'vfs',
      RUNNER_TOOL_CACHE: join(setup.work, 'tool-cache'),
      TRIVY_CACHE_DIR: join(setup.work, 'trivy-cache'),
      SOURCE_DATE_EPOCH: '1767225600',
      GITHUB_REPOSITORY: 'example/opennebula-kubernetes',
      GITHUB_SHA: '0123456789abcdef0123456789abcdef01234567',
      ...env,
    },
  );
  return { ...run, sarif, sbom };
}
