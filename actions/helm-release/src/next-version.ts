// Which chart version to publish. Pure: the published versions and Chart.yaml's version in, one version out.
import semver from 'semver';
import type { Bump } from './inputs.js';

/** The highest valid semantic version among `versions`, or undefined. */
export function highestVersion(versions: Iterable<string>): string | undefined {
  let best: string | undefined;
  for (const version of versions) {
    if (semver.valid(version) === null) continue;
    if (best === undefined || semver.gt(version, best)) best = version;
  }
  return best;
}

/**
 * The version after the highest of the published versions and Chart.yaml's, by `bump` (a pre-release
 * bumps to its release, as semver does: 1.0.0-rc.1 + patch = 1.0.0).
 */
export function nextVersion(published: Iterable<string>, chartYamlVersion: string, bump: Bump): string {
  const highest = highestVersion([...published, chartYamlVersion]);
  if (highest === undefined) {
    throw new Error(
      `Chart.yaml: version "${chartYamlVersion}" is not a semantic version, and none is published`,
    );
  }
  const next = semver.inc(highest, bump);
  if (next === null) throw new Error(`cannot bump ${highest} by ${bump}`);
  return next;
}
