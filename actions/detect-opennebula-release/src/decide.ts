// The decision, as a pure function of what the repository and the registries said. No I/O here: every
// quirk of OpenNebula's release process is handled (and unit-tested) on plain data.
import {
  compareVersions,
  isPreRelease,
  newest,
  parseVersion,
  seriesOf,
  sortVersions,
  tagsFor,
  type OneVersion,
} from '../../shared/src/opennebula.js';
import { compareDebianVersions } from './dpkg-version.js';
import type { PackageEntry } from './repository.js';

export interface Installable {
  version: OneVersion;
  /** The Debian version every required package has, e.g. 7.4.0-1 (the image pins it for all of them). */
  packageVersion: string;
  /**
   * The directory under repository-url that apt installs it from: the rolling series (7.4) or, for an
   * older patch release the rolling index no longer lists, its pinned directory (7.0.0).
   */
  directory: string;
}

/**
 * Versions installable from one series directory: for every listed architecture, every required package
 * has the same Debian version (upstream version AND revision: the image pins that one string for all of
 * them, so `opennebula 7.4.0-2` beside `opennebula-tools 7.4.0-1` is not installable as 7.4.0-2). When
 * several revisions qualify, the highest in dpkg's ordering wins. A missing index (undefined) makes
 * nothing installable: the series is not available yet on that architecture. Pre-releases never count.
 */
export function installableVersions(
  indexes: ReadonlyArray<PackageEntry[] | undefined>,
  requiredPackages: readonly string[],
  series: string,
  directory: string = series,
): Installable[] {
  if (indexes.length === 0 || requiredPackages.length === 0) return [];
  if (indexes.some((index) => index === undefined)) return [];
  // Full Debian versions present for every (architecture, package) pair, keyed by upstream version.
  let common: Map<string, { version: OneVersion; packageVersions: Set<string> }> | undefined;
  for (const index of indexes as PackageEntry[][]) {
    for (const name of requiredPackages) {
      const here = new Map<string, { version: OneVersion; packageVersions: Set<string> }>();
      for (const entry of index) {
        if (entry.name !== name || entry.version === undefined) continue;
        const slot = here.get(entry.version.text) ?? { version: entry.version, packageVersions: new Set() };
        slot.packageVersions.add(entry.packageVersion);
        here.set(entry.version.text, slot);
      }
      if (common === undefined) {
        common = here;
        continue;
      }
      for (const [text, slot] of common) {
        const other = here.get(text);
        for (const packageVersion of slot.packageVersions) {
          if (!other?.packageVersions.has(packageVersion)) slot.packageVersions.delete(packageVersion);
        }
        if (slot.packageVersions.size === 0) common.delete(text);
      }
    }
  }
  return [...(common ?? new Map()).values()]
    .filter((slot) => !isPreRelease(slot.version) && seriesOf(slot.version) === series)
    .map((slot) => ({
      version: slot.version,
      packageVersion: [...slot.packageVersions].sort(compareDebianVersions).at(-1)!,
      directory,
    }))
    .sort((a, b) => compareVersions(a.version, b.version));
}

export interface SeriesState {
  series: string;
  /** Installable Community versions, oldest first; empty when the series is not available (yet). */
  installable: Installable[];
}

export interface DecisionInput {
  repositoryUrl: string;
  /** Every series at or above min-version's, whatever the `series` input says (tags need them all). */
  states: SeriesState[];
  minVersion: OneVersion;
  /** Follow only this series (X.Y), if set. */
  series: string | undefined;
  /** An explicitly requested version, if set. */
  requested: OneVersion | undefined;
  /**
   * The requested version as found in its pinned directory (repository-url/X.Y.Z/), for a patch release
   * the rolling series index no longer lists; undefined when not looked up or not there.
   */
  requestedPinned?: Installable | undefined;
  /** Image names, for messages. */
  images: string[];
  /** Tags per image, in the order of `images`. */
  imageTags: string[][];
  force: boolean;
}

export interface MatrixEntry {
  version: string;
  series: string;
  /** Newline-separated, like the `tags` output, so it can be passed straight to a `tags` input. */
  tags: string;
  'is-new': boolean;
  'package-version': string;
  'repository-dir': string;
}

/**
 * What a followed series needs: `new` (its newest version is not published: never built), `forced`
 * (published, rebuilt because force is set), `up-to-date`, or `not-available` (no installable version).
 */
export type SeriesStatus = 'new' | 'forced' | 'up-to-date' | 'not-available';

export interface SeriesRow {
  series: string;
  newest: string | undefined;
  published: boolean;
  status: SeriesStatus;
  /** Whether this row is the version the single-version outputs (version, tags, is-new) describe. */
  target: boolean;
}

export interface Decision {
  version: string;
  series: string;
  packageVersion: string;
  isNew: boolean;
  tags: string[];
  published: string[];
  /** The directory under repository-url to install from (see Installable.directory). */
  repositoryDir: string;
  reason: string;
  /** The newest version of every followed series. */
  matrix: MatrixEntry[];
  /** The matrix entries that are new (or forced): every version the release workflow must build. */
  newVersions: MatrixEntry[];
  /** newVersions without `version`: older series' releases and hotfixes, built beside it (no chart). */
  otherNewVersions: MatrixEntry[];
  rows: SeriesRow[];
}

/** Tags present in every image (a version is published only if all of them have it). */
export function publishedEverywhere(imageTags: string[][]): Set<string> {
  const [first, ...rest] = imageTags;
  if (!first) return new Set();
  const sets = rest.map((tags) => new Set(tags));
  return new Set(first.filter((tag) => sets.every((set) => set.has(tag))));
}

/** Versions at or above min-version published in every image (release tags only), oldest first. */
function publishedVersions(everywhere: Set<string>, atLeastMin: (v: OneVersion) => boolean): string[] {
  return sortVersions(
    [...everywhere]
      .map((tag) => parseVersion(tag))
      .filter((v): v is OneVersion => v !== undefined && !isPreRelease(v) && atLeastMin(v)),
  ).map((v) => v.text);
}

/** The explicitly requested version, validated against min-version, the followed series and the repository. */
function requestedTarget(input: DecisionInput, requested: OneVersion, states: SeriesState[]): Installable {
  if (isPreRelease(requested)) {
    throw new Error(
      `version: ${requested.text} is a development build (patch >= 80 or an X.99 series), not a release`,
    );
  }
  if (compareVersions(requested, input.minVersion) < 0) {
    throw new Error(`version: ${requested.text} is older than min-version ${input.minVersion.text}`);
  }
  if (input.series !== undefined && seriesOf(requested) !== input.series) {
    throw new Error(`version: ${requested.text} is not in the followed series ${input.series}`);
  }
  const state = states.find((s) => s.series === seriesOf(requested));
  const pinned = input.requestedPinned;
  const found =
    state?.installable.find((item) => compareVersions(item.version, requested) === 0) ??
    (pinned && compareVersions(pinned.version, requested) === 0 ? pinned : undefined);
  if (found) return found;
  const newestThere = newest(state?.installable.map((item) => item.version) ?? []);
  throw new Error(
    `version: ${requested.text} is not installable from the Community repository ` +
      `${input.repositoryUrl}/${seriesOf(requested)}/ or ${input.repositoryUrl}/${requested.text}/` +
      (newestThere
        ? ` (newest installable in ${seriesOf(requested)}: ${newestThere.text})`
        : ' (no installable version in that series)'),
  );
}

/** The newest installable version of the followed series. */
function newestTarget(input: DecisionInput, followed: SeriesState[]): Installable {
  const candidates = followed.flatMap((state) => state.installable);
  const best = candidates.sort((a, b) => compareVersions(a.version, b.version)).at(-1);
  if (best) return best;
  throw new Error(
    `no Community version at or above min-version ${input.minVersion.text} is installable from ` +
      `${input.repositoryUrl} (series checked: ${followed.map((s) => s.series).join(', ')}); ` +
      'check repository-url, distribution, architectures and required-packages',
  );
}

/** The sentence explaining the decision about `target`. */
function reasonFor(input: DecisionInput, target: Installable, targetPublished: boolean): string {
  const missingFrom = input.images.filter(
    (_, i) => !(input.imageTags[i] ?? []).includes(target.version.text),
  );
  const what = input.requested
    ? `${target.version.text} (requested)`
    : `${target.version.text}, the newest installable Community release${input.series ? ` of ${input.series}` : ''},`;
  if (!targetPublished) return `${what} is not yet published in ${missingFrom.join(', ')}.`;
  if (input.force) return `${what} is already published in every image; force is set, so it is built again.`;
  return `${what} is already published in every image; nothing to do.`;
}

/** The matrix entry and summary row of every followed series, oldest series first. */
function seriesMatrix(
  followed: SeriesState[],
  all: OneVersion[],
  target: Installable,
  isPublished: (v: OneVersion) => boolean,
  force: boolean,
): { matrix: MatrixEntry[]; rows: SeriesRow[] } {
  const matrix: MatrixEntry[] = [];
  const rows: SeriesRow[] = [];
  for (const state of sortSeries(followed)) {
    const best = state.installable.at(-1);
    if (!best) {
      rows.push({
        series: state.series,
        newest: undefined,
        published: false,
        status: 'not-available',
        target: false,
      });
      continue;
    }
    const seriesPublished = isPublished(best.version);
    matrix.push({
      version: best.version.text,
      series: state.series,
      tags: tagsFor(best.version, all).join('\n'),
      'is-new': force || !seriesPublished,
      'package-version': best.packageVersion,
      'repository-dir': best.directory,
    });
    rows.push({
      series: state.series,
      newest: best.version.text,
      published: seriesPublished,
      status: !seriesPublished ? 'new' : force ? 'forced' : 'up-to-date',
      target: compareVersions(best.version, target.version) === 0,
    });
  }
  return { matrix, rows };
}

export function decide(input: DecisionInput): Decision {
  const atLeastMin = (v: OneVersion) => compareVersions(v, input.minVersion) >= 0;
  const states = input.states.map((state) => ({
    series: state.series,
    installable: state.installable.filter((item) => atLeastMin(item.version)),
  }));
  const all = states.flatMap((state) => state.installable.map((item) => item.version));
  const everywhere = publishedEverywhere(input.imageTags);
  const isPublished = (v: OneVersion) => everywhere.has(v.text);

  const followed = states.filter((state) => input.series === undefined || state.series === input.series);
  if (input.series !== undefined && followed.length === 0) {
    throw new Error(
      `series: ${input.series} is not a series of ${input.repositoryUrl}/ at or above min-version ` +
        `${input.minVersion.text} (found: ${states.map((s) => s.series).join(', ') || 'none'})`,
    );
  }
  const target = input.requested
    ? requestedTarget(input, input.requested, states)
    : newestTarget(input, followed);
  const targetPublished = isPublished(target.version);
  const isNew = input.force || !targetPublished;
  const { matrix, rows } = seriesMatrix(followed, all, target, isPublished, input.force);

  const newVersions = matrix.filter((entry) => entry['is-new']);
  const elsewhere = newVersions.filter((entry) => entry.version !== target.version.text);
  let reason = reasonFor(input, target, targetPublished);
  if (!isNew && elsewhere.length > 0) {
    reason +=
      ' New in other followed series, not yet built: ' +
      elsewhere.map((entry) => `${entry.version} (${entry.series})`).join(', ') +
      ' (see the new-versions output).';
  }

  return {
    version: target.version.text,
    series: seriesOf(target.version),
    packageVersion: target.packageVersion,
    isNew,
    tags: tagsFor(target.version, all),
    published: publishedVersions(everywhere, atLeastMin),
    repositoryDir: target.directory,
    reason,
    matrix,
    newVersions,
    otherNewVersions: elsewhere,
    rows,
  };
}

function sortSeries(states: SeriesState[]): SeriesState[] {
  const key = (s: string) => s.split('.').map(Number) as [number, number];
  return [...states].sort((a, b) => {
    const [am, an] = key(a.series);
    const [bm, bn] = key(b.series);
    return am - bm || an - bn;
  });
}
