// What is OpenNebula-specific, kept apart from the generic shared code: its version numbers (Community
// releases are X.Y.Z; CE hotfixes add a fourth component, 6.10.0.1), which builds are pre-releases, and the
// image tag policy. semver handles the X.Y.Z core; the fourth component is kept beside it and compared
// after it, so 7.4.0 < 7.4.0.1 < 7.4.1.
import semver from 'semver';

export interface OneVersion {
  /** The X.Y.Z core as semver understands it. */
  readonly core: string;
  readonly major: number;
  readonly minor: number;
  readonly patch: number;
  /** Fourth (hotfix) component, or undefined for a plain X.Y.Z release. */
  readonly hotfix: number | undefined;
  /** Canonical text: X.Y.Z or X.Y.Z.W. */
  readonly text: string;
}

const VERSION_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)(?:\.(0|[1-9]\d*))?$/;
const SERIES_RE = /^(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** Parses X.Y.Z or X.Y.Z.W; returns undefined for anything else (tags, pre-release suffixes, v-prefixes). */
export function parseVersion(text: string): OneVersion | undefined {
  const match = VERSION_RE.exec(text.trim());
  if (!match) return undefined;
  const core = `${match[1]}.${match[2]}.${match[3]}`;
  const parsed = semver.parse(core);
  if (!parsed) return undefined;
  const hotfix = match[4] === undefined ? undefined : Number(match[4]);
  return {
    core,
    major: parsed.major,
    minor: parsed.minor,
    patch: parsed.patch,
    hotfix,
    text: hotfix === undefined ? core : `${core}.${hotfix}`,
  };
}

/** Like parseVersion, but throws an error naming the input when the text is not a version. */
export function requireVersion(text: string, inputName: string): OneVersion {
  const version = parseVersion(text);
  if (!version) {
    throw new Error(
      `${inputName}: "${text}" is not an OpenNebula version (expected X.Y.Z or X.Y.Z.W, e.g. 7.4.0)`,
    );
  }
  return version;
}

export function compareVersions(a: OneVersion, b: OneVersion): number {
  const byCore = semver.compare(a.core, b.core);
  if (byCore !== 0) return byCore;
  return (a.hotfix ?? -1) - (b.hotfix ?? -1);
}

export function seriesOf(version: OneVersion): string {
  return `${version.major}.${version.minor}`;
}

/** A series name X.Y, or undefined. */
export function parseSeries(text: string): { major: number; minor: number; text: string } | undefined {
  const match = SERIES_RE.exec(text.trim());
  if (!match) return undefined;
  const major = Number(match[1]);
  const minor = Number(match[2]);
  return { major, minor, text: `${major}.${minor}` };
}

/**
 * OpenNebula's development builds are never releases: patch 80 and above (7.3.80 beta, 7.3.90 RC) and
 * the X.99 series that precedes a major (6.99.x).
 */
export function isPreRelease(version: OneVersion): boolean {
  return version.patch >= 80 || isPreReleaseSeries(version);
}

export function isPreReleaseSeries(series: { minor: number }): boolean {
  return series.minor === 99;
}

/**
 * The upstream version inside a Debian package version: drops an epoch ("1:") and the Debian revision
 * (the part after the last hyphen), so "7.4.0-1" and "1:6.10.0.1-1ubuntu2" give 7.4.0 and 6.10.0.1.
 */
export function upstreamOfPackageVersion(packageVersion: string): OneVersion | undefined {
  let upstream = packageVersion.trim();
  const colon = upstream.indexOf(':');
  if (colon >= 0) upstream = upstream.slice(colon + 1);
  const hyphen = upstream.lastIndexOf('-');
  if (hyphen >= 0) upstream = upstream.slice(0, hyphen);
  return parseVersion(upstream);
}

export function sortVersions(versions: Iterable<OneVersion>): OneVersion[] {
  return [...versions].sort(compareVersions);
}

export function newest(versions: Iterable<OneVersion>): OneVersion | undefined {
  let best: OneVersion | undefined;
  for (const version of versions) if (!best || compareVersions(version, best) > 0) best = version;
  return best;
}

/**
 * Image tags for `version`, given every Community version upstream has (`all`): always the full version; X.Y when it is the newest of its series; X when it is the newest of
 * its major; `latest` when it is the newest of all. Derived only from upstream, so rebuilding an old line
 * never moves a tag that belongs to a newer one.
 */
export function tagsFor(version: OneVersion, all: readonly OneVersion[]): string[] {
  const stable = [...all, version].filter((v) => !isPreRelease(v));
  const tags = [version.text];
  const newestOf = (pool: OneVersion[]) => {
    const best = newest(pool);
    return best !== undefined && compareVersions(best, version) === 0;
  };
  if (newestOf(stable.filter((v) => v.major === version.major && v.minor === version.minor))) {
    tags.push(seriesOf(version));
  }
  if (newestOf(stable.filter((v) => v.major === version.major))) tags.push(String(version.major));
  if (newestOf(stable)) tags.push('latest');
  return tags;
}
