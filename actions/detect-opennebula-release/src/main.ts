// Wiring only: inputs → concurrent look-ups → decide() → outputs and job summary.
import { tmpdir } from 'node:os';
import * as core from '@actions/core';
import { runMain } from '../../shared/src/action.js';
import { writeSummary } from '../../shared/src/summary.js';
import {
  compareVersions,
  isPreReleaseSeries,
  parseSeries,
  parseVersion,
  seriesOf,
  type OneVersion,
} from '../../shared/src/opennebula.js';
import { parseInputs, type Inputs } from './context.js';
import { decide, installableVersions, type Decision, type Installable, type SeriesState } from './decide.js';
import { fetchReleases, releaseTagFor, type ReleaseInfo } from './github.js';
import {
  readImageTags,
  registryLogins,
  visibilityNotes,
  type ImageTags,
  type RegistryLogin,
} from './registries.js';
import { fetchListing, fetchPackages, packagesUrl, type Listing } from './repository.js';
import { summaryBlocks } from './summary.js';
import { chartFacts, chartSentence, lookUpAppVersions, type ChartFacts } from './chart-index.js';

/** Series worth asking about: released lines at or above min-version's series. */
export function seriesToCheck(listed: string[], minVersion: OneVersion): string[] {
  const floor = parseVersion(`${minVersion.major}.${minVersion.minor}.0`)!;
  return listed.filter((name) => {
    const series = parseSeries(name);
    if (!series || isPreReleaseSeries(series)) return false;
    return compareVersions(parseVersion(`${series.major}.${series.minor}.0`)!, floor) >= 0;
  });
}

async function installableIn(inputs: Inputs, series: string, directory: string): Promise<Installable[]> {
  const indexes = await Promise.all(
    inputs.architectures.map((arch) =>
      fetchPackages(packagesUrl(inputs.repositoryUrl, directory, inputs.distribution, arch)),
    ),
  );
  return installableVersions(indexes, inputs.requiredPackages, series, directory);
}

async function seriesStates(inputs: Inputs, series: string[]): Promise<SeriesState[]> {
  return Promise.all(
    series.map(async (name) => ({ series: name, installable: await installableIn(inputs, name, name) })),
  );
}

/**
 * A requested version in its pinned directory (repository-url/X.Y.Z/), asked beside the series indexes so
 * it costs no extra round trip: the rolling index of a series keeps only its newest version, as apt
 * repositories do, so an older patch release may be installable only from there.
 */
async function pinnedRequest(inputs: Inputs, listing: Listing): Promise<Installable | undefined> {
  const requested = inputs.version;
  if (!requested || !listing.pinned.includes(requested.text)) return undefined;
  const found = await installableIn(inputs, seriesOf(requested), requested.text);
  return found.find((item) => item.version.text === requested.text);
}

async function releaseInfo(inputs: Inputs): Promise<Map<string, ReleaseInfo> | undefined> {
  const apiUrl = process.env.GITHUB_API_URL || 'https://api.github.com';
  try {
    return await fetchReleases(apiUrl, inputs.upstreamRepository, inputs.githubToken);
  } catch (error) {
    core.warning(
      `GitHub enrichment skipped (the decision does not depend on it): ${(error as Error).message}`,
    );
    return undefined;
  }
}

function setOutputs(decision: Decision): void {
  core.setOutput('version', decision.version);
  core.setOutput('series', decision.series);
  core.setOutput('package-version', decision.packageVersion);
  core.setOutput('is-new', decision.isNew ? 'true' : 'false');
  core.setOutput('tags', decision.tags.join('\n'));
  core.setOutput('published', JSON.stringify(decision.published));
  core.setOutput('reason', decision.reason);
  core.setOutput('matrix', JSON.stringify(decision.matrix));
  core.setOutput('new-versions', JSON.stringify(decision.newVersions));
  core.setOutput('other-new-versions', JSON.stringify(decision.otherNewVersions));
  core.setOutput('repository-dir', decision.repositoryDir);
}

function setChartOutputs(chart: ChartFacts): void {
  core.setOutput('moves-chart', chart.movesChart ? 'true' : 'false');
  core.setOutput('chart-published', chart.published === undefined ? '' : String(chart.published));
}

export function run(): Promise<void> {
  return runMain(main);
}

/** Masks every password and token this run may print by accident (the inputs' and the Docker config's). */
function maskSecrets(inputs: Inputs, logins: readonly RegistryLogin[]): void {
  if (inputs.githubToken) core.setSecret(inputs.githubToken);
  if (inputs.credentials) core.setSecret(inputs.credentials.password);
  for (const { credentials } of logins) {
    if (credentials?.password && credentials !== inputs.credentials) core.setSecret(credentials.password);
    if (credentials?.identityToken) core.setSecret(credentials.identityToken);
  }
}

/** The listing, then every Packages index at once (with the registries' answers awaited beside them). */
async function lookUpAndDecide(inputs: Inputs, tagsPromise: Promise<ImageTags[]>): Promise<Decision> {
  const listing = await fetchListing(inputs.repositoryUrl);
  const series = seriesToCheck(listing.series, inputs.minVersion);
  core.info(`Series at or above ${inputs.minVersion.text}: ${series.join(', ') || 'none'}`);
  const [states, listings, requestedPinned] = await Promise.all([
    seriesStates(inputs, series),
    tagsPromise,
    pinnedRequest(inputs, listing),
  ]);
  if (requestedPinned) core.info(`${requestedPinned.version.text}: in ${requestedPinned.directory}/`);
  for (const state of states) {
    const found = state.installable.map((item) => item.version.text).join(', ');
    core.info(`${state.series}: ${found || 'not available yet'}`);
  }
  for (const { image, tags, hidden } of listings) {
    core.info(`${image.input}: ${hidden ? 'not shown to this login' : `${tags.length} tags`}`);
  }
  return decide({
    repositoryUrl: inputs.repositoryUrl,
    states,
    minVersion: inputs.minVersion,
    series: inputs.series,
    requested: inputs.version,
    requestedPinned,
    images: inputs.images.map((image) => image.input),
    imageTags: listings.map((listing) => listing.tags),
    force: inputs.force,
  });
}

async function main(): Promise<void> {
  const inputs = parseInputs((name) => core.getInput(name));
  const logins = registryLogins(inputs.images, inputs.credentials);
  maskSecrets(inputs, logins);

  // Everything that does not depend on the listing starts now, so the "nothing new" path costs two
  // round trips: the listing (with registries and GitHub beside it), then every Packages index at once.
  const tagsPromise = readImageTags(logins);
  const releasesPromise = releaseInfo(inputs);
  tagsPromise.catch(() => undefined); // awaited below; avoids an unhandled rejection while we wait
  const tempRoot = process.env.RUNNER_TEMP || tmpdir();
  const chartPromise = lookUpAppVersions(inputs.chartIndex, inputs.githubToken, process.env, tempRoot);
  chartPromise.catch(() => undefined); // awaited below, like tagsPromise

  const decision = await core.group('Look up the Community repository and the registries', () =>
    lookUpAndDecide(inputs, tagsPromise),
  );
  const notes = visibilityNotes(await tagsPromise);
  notes.forEach((note) => core.info(note));

  const release = (await releasesPromise)?.get(releaseTagFor(decision.version));
  core.info(decision.reason);
  const chart = chartFacts(decision.version, decision.matrix, await chartPromise);
  setOutputs(decision);
  setChartOutputs(chart);
  const chartNote = chartSentence(decision.version, decision.isNew, chart);
  if (chartNote) core.info(chartNote);
  const images = inputs.images.map((image) => image.input);
  await writeSummary(summaryBlocks(decision, images, release, notes, chartNote));
}
