// The optional OCI copy of the chart (`helm push`). A version already in the registry is compared by its
// chart layer (the .tgz itself; the manifest around it carries a creation time and differs per push): the
// same package is skipped, another one is an error, as for the GitHub release.
import { credentialsFor } from '../../shared/src/docker-config.js';
import { isPlainHttpRegistry, parseImageReference, RegistryClient } from '../../shared/src/registry.js';
import type { Helm } from './helm.js';

export const CHART_LAYER_MEDIA_TYPE = 'application/vnd.cncf.helm.chart.content.v1.tar+gzip';

export interface OciTarget {
  /** oci://host/path */
  registry: string;
  host: string;
  /** oci://host/path/chart:version */
  ref: string;
  client: RegistryClient;
}

export function ociTarget(registry: string, chart: string, version: string): OciTarget {
  const path = registry.slice('oci://'.length);
  const image = parseImageReference(`${path}/${chart}`, 'oci-registry');
  const credentials = credentialsFor(image.registry);
  return {
    registry,
    host: image.registry,
    ref: `${registry}/${chart}:${version}`,
    client: new RegistryClient(image, { credentials, credentialsHint: 'a docker login to the registry' }),
  };
}

/** The chart layer digest (sha256:…) of `version` in the registry, or undefined when it is not there. */
export async function publishedLayer(target: OciTarget, version: string): Promise<string | undefined> {
  const manifest = await target.client.getManifest(version);
  if (!manifest) return undefined;
  const body = JSON.parse(manifest.body.toString('utf8')) as {
    layers?: { mediaType?: string; digest?: string }[];
  };
  const layer = body.layers?.find((l) => l.mediaType === CHART_LAYER_MEDIA_TYPE);
  if (!layer?.digest) {
    throw new Error(`${target.ref} exists but is not a Helm chart (no ${CHART_LAYER_MEDIA_TYPE} layer)`);
  }
  return layer.digest;
}

/** Pushes unless the same package is there; returns whether it pushed. */
export async function pushChart(
  helm: Helm,
  target: OciTarget,
  version: string,
  packagePath: string,
  digest: string,
  log: (message: string) => void,
): Promise<boolean> {
  const existing = await publishedLayer(target, version);
  if (existing === `sha256:${digest}`) {
    log(`${target.ref} is already in the registry with this package; not pushed again`);
    return false;
  }
  if (existing) {
    throw new Error(
      `${target.ref} is already in the registry with chart digest ${existing}, but this package has ` +
        `sha256:${digest}; published chart versions are immutable`,
    );
  }
  const plainHttp = isPlainHttpRegistry(target.host);
  const credentials = credentialsFor(target.host);
  if (credentials) await helm.login(target.host, credentials.username, credentials.password, plainHttp);
  await helm.push(packagePath, target.registry, plainHttp);
  log(`Pushed ${target.ref}`);
  return true;
}
