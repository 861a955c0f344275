// Is the chart for the decided version published, and should that version move the chart at all? The registries
// say whether an image exists; only the Helm repository index on the Pages branch (the one helm-release
// writes) says whether its chart does. Without this a version whose image was pushed by the security rebuild,
// or whose chart job failed, would never get its chart: the next run sees is-new false and stops.
//
// Only the newest release of the newest followed series moves the chart; an older version (a dispatched
// 7.0.2 while 7.4 is current, a hotfix of an older series) is image only.
//
// The decision is pure (chartFacts); readPublishedIndex reads the branch with helm-release's own reader, so an
// absent branch (a brand-new fork) is "nothing published" and an unreadable remote is an error, never "empty".
import * as core from '@actions/core';
import { readIndex } from '../../shared/src/index-yaml.js';
import { PagesRepository } from '../../shared/src/pages.js';
import { compareVersions, parseVersion } from '../../shared/src/opennebula.js';
import type { MatrixEntry } from './decide.js';

export interface ChartFacts {
  /** Whether `version` is the newest release of the newest followed series (the one the chart follows). */
  movesChart: boolean;
  /** That newest release (undefined when nothing is installable). */
  newest: string | undefined;
  /** Whether the index lists a chart with appVersion `version`; undefined when the index was not consulted. */
  published: boolean | undefined;
}

/** The newest version of the matrix (the newest of every followed series), by OpenNebula version order. */
export function newestOf(matrix: Pick<MatrixEntry, 'version'>[]): string | undefined {
  const versions = matrix.map((entry) => parseVersion(entry.version)).filter((v) => v !== undefined);
  return versions.sort(compareVersions).at(-1)?.text;
}

/** The appVersions of `chart` in an index.yaml text (absent index or chart: none), quotes removed. */
export function publishedAppVersions(indexText: string | undefined, chart: string): string[] {
  const versions = readIndex(indexText).get(chart) ?? [];
  return versions
    .map((entry) => entry.appVersion?.trim().replace(/^(["'])(.*)\1$/, '$2'))
    .filter((v): v is string => Boolean(v));
}

/** The pure decision: appVersions undefined means the index was not consulted (chart-name empty). */
export function chartFacts(
  version: string,
  matrix: Pick<MatrixEntry, 'version'>[],
  appVersions: string[] | undefined,
): ChartFacts {
  const newest = newestOf(matrix);
  return {
    movesChart: newest === version,
    newest,
    published: appVersions === undefined ? undefined : appVersions.includes(version),
  };
}

/** One sentence for the reason and the summary; empty when there is nothing to say about the chart. */
export function chartSentence(version: string, isNew: boolean, facts: ChartFacts): string {
  if (!facts.movesChart) {
    return (
      `${version} is not the newest release of the newest followed series` +
      `${facts.newest ? ` (${facts.newest})` : ''}: its image only, the chart is not moved.`
    );
  }
  if (facts.published === false && !isNew) {
    return `The image of ${version} is published but its chart is not: the release workflow publishes the chart.`;
  }
  if (facts.published === false) return `No chart for ${version} is published yet.`;
  if (facts.published) return `A chart with appVersion ${version} is published.`;
  return '';
}

export interface IndexSource {
  /** Git URL of the repository holding the Pages branch. */
  remote: string;
  branch: string;
  serverUrl: string;
  token: string;
}

/** The Pages branch's index.yaml (undefined when the branch or the file does not exist). */
export async function readPublishedIndex(source: IndexSource, tempRoot: string): Promise<string | undefined> {
  const pages = new PagesRepository(source, tempRoot);
  try {
    await pages.init();
    const state = await pages.fetch();
    return await state.read('index.yaml');
  } finally {
    pages.close();
  }
}

/** The appVersions the index lists for the chart (undefined: not consulted), for main's concurrent look-ups. */
export async function lookUpAppVersions(
  chartIndex: { chart: string; pagesBranch: string; gitRemote: string } | undefined,
  token: string,
  env: NodeJS.ProcessEnv,
  tempRoot: string,
): Promise<string[] | undefined> {
  if (!chartIndex) return undefined;
  const serverUrl = (env.GITHUB_SERVER_URL || 'https://github.com').replace(/\/+$/, '');
  const repository = env.GITHUB_REPOSITORY;
  if (!chartIndex.gitRemote && !repository) {
    throw new Error(
      'git-remote: empty and GITHUB_REPOSITORY is not set, so the Pages branch cannot be found',
    );
  }
  const remote = chartIndex.gitRemote || `${serverUrl}/${repository}.git`;
  if (token) core.setSecret(PagesRepository.authorizationValue(token));
  const text = await readPublishedIndex(
    { remote, branch: chartIndex.pagesBranch, serverUrl, token },
    tempRoot,
  );
  return publishedAppVersions(text, chartIndex.chart);
}
